//! Smoke test against the linked nDPI, whichever mode built it: init, enable everything,
//! finalize, look up well-known protocols, exit. `scripts/test.sh` also runs this binary under
//! valgrind to show that init/exit leaks nothing.

use std::ffi::CStr;

use ndpi_sys as sys;

/// The protocols the release implements (`NDPI_LAST_IMPLEMENTED_PROTOCOL` in its
/// `ndpi_protocol_ids.h`) and its `NDPI_API_VERSION` (Debian's for 4.2, the build script's for 4.10).
#[cfg(not(ndpi410))]
const RELEASE: (u32, u32) = (282, 8668);
#[cfg(ndpi410)]
const RELEASE: (u32, u32) = (422, 33614);

/// A new detection module: 4.10 takes a global context (none here), 4.2 preferences.
///
/// # Safety
/// The caller frees the module with `ndpi_exit_detection_module`.
unsafe fn init() -> *mut sys::ndpi_detection_module_struct {
    // SAFETY: a plain constructor; NULL (no global context) is allowed.
    #[cfg(ndpi410)]
    let module = unsafe { sys::ndpi_init_detection_module(std::ptr::null_mut()) };
    // SAFETY: a plain constructor with nDPI's default preferences.
    #[cfg(not(ndpi410))]
    let module = unsafe { sys::ndpi_init_detection_module(0) };
    module
}

#[test]
fn init_finalize_lookup_exit() {
    // SAFETY: the module pointer is checked for null, used only between init and exit, and
    // every C string returned by nDPI points into the module, which outlives these reads.
    unsafe {
        let module = init();
        assert!(
            !module.is_null(),
            "ndpi_init_detection_module returned NULL"
        );
        let mut all = sys::NDPI_PROTOCOL_BITMASK::default();
        sys::bitmask_set_all(&mut all);
        sys::ndpi_set_protocol_detection_bitmask2(module, &all);
        sys::ndpi_finalize_initialization(module);

        for (id, expected) in [
            (7, "HTTP"),
            (5, "DNS"),
            (91, "TLS"),
            (188, "QUIC"),
            (92, "SSH"),
        ] {
            let name = CStr::from_ptr(sys::ndpi_get_proto_name(module, id));
            assert_eq!(name.to_str(), Ok(expected), "name of protocol {id}");
        }
        assert_eq!(sys::ndpi_get_num_supported_protocols(module), RELEASE.0);
        assert_eq!(
            sys::NDPI_LAST_IMPLEMENTED_PROTOCOL,
            RELEASE.0,
            "headers and library disagree"
        );

        sys::ndpi_exit_detection_module(module);
    }
}

#[test]
fn flow_struct_layout_matches_the_library() {
    // SAFETY: a pure query of a size compiled into the library.
    let c_size = unsafe { sys::ndpi_detection_get_sizeof_ndpi_flow_struct() };
    assert_eq!(std::mem::size_of::<sys::ndpi_flow_struct>() as u32, c_size);
}

#[test]
fn library_is_the_release_of_its_headers() {
    // SAFETY: ndpi_revision returns a static string.
    let revision = unsafe { CStr::from_ptr(sys::ndpi_revision()) };
    let revision = revision.to_str().expect("ASCII revision");
    // The headers bindgen read and the library that is linked are the same release.
    let series = format!("{}.{}", sys::NDPI_MAJOR, sys::NDPI_MINOR);
    assert!(
        revision.starts_with(&series),
        "linked nDPI says it is {revision}, its headers {series}"
    );
    assert_eq!(sys::NDPI_API_VERSION, RELEASE.1);
}
