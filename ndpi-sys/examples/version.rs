//! Prints the linked nDPI's release and how many protocols it knows.
use std::ffi::CStr;

use ndpi_sys as sys;

fn main() {
    // SAFETY: the module is initialized, finalized, queried and freed in order; the revision
    // string is static.
    unsafe {
        #[cfg(ndpi410)] // 4.10 takes a global context (caches shared between modules): none.
        let module = sys::ndpi_init_detection_module(std::ptr::null_mut());
        #[cfg(not(ndpi410))] // 4.2 takes preferences.
        let module = sys::ndpi_init_detection_module(0);
        assert!(
            !module.is_null(),
            "nDPI could not allocate its detection module"
        );
        let mut all = sys::NDPI_PROTOCOL_BITMASK::default();
        sys::bitmask_set_all(&mut all);
        sys::ndpi_set_protocol_detection_bitmask2(module, &all);
        sys::ndpi_finalize_initialization(module);
        let revision = CStr::from_ptr(sys::ndpi_revision()).to_string_lossy();
        println!(
            "nDPI {revision}: {} protocols",
            sys::ndpi_get_num_supported_protocols(module)
        );
        sys::ndpi_exit_detection_module(module);
    }
}
