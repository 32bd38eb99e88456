//! The detection module: the owner of nDPI's `ndpi_detection_module_struct`.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::{Mutex, PoisonError};

use crate::protocol::{static_str, Breed, Category, Protocol, ProtocolId};
use crate::{sys, Error};

/// An initialized nDPI detection module, ready to classify flows.
///
/// Build one with [`Detector::builder`] (or [`Detector::new`] for every protocol and no custom
/// files). Flows borrow it ([`Flow::new`](crate::Flow::new)), so a flow can neither outlive its
/// module nor be handed to another one.
///
/// `Detector` is `Send`: nDPI keeps no thread-local state, so a module may move to another
/// thread. It is not `Sync`: classifying a packet writes to the module (caches, automata
/// state, statistics) without locking, so two threads must never use one module at once.
/// For parallelism, give each thread its own module (nDPI's own reader does the same).
pub struct Detector {
    raw: NonNull<sys::ndpi_detection_module_struct>,
}

// SAFETY: see the type's documentation: nDPI's module has no thread affinity, and `Detector`
// is not `Sync`, so it is only ever used from one thread at a time.
unsafe impl Send for Detector {}

impl Detector {
    /// A module with every protocol enabled and no custom files.
    pub fn new() -> Result<Self, Error> {
        DetectorBuilder::default().build()
    }

    /// A builder to choose protocols and load nDPI's custom files.
    pub fn builder() -> DetectorBuilder {
        DetectorBuilder::default()
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::ndpi_detection_module_struct {
        self.raw.as_ptr()
    }

    /// The release of the linked nDPI, e.g. "4.2.0".
    pub fn revision() -> &'static str {
        // SAFETY: ndpi_revision returns a static string.
        unsafe { static_str(sys::ndpi_revision()) }.unwrap_or("")
    }

    /// How many protocols this module knows (built-in plus custom).
    pub fn protocol_count(&self) -> u32 {
        // SAFETY: a read of the initialized module.
        unsafe { sys::ndpi_get_num_supported_protocols(self.as_ptr()) }
    }

    /// The name of one protocol ID ("HTTP"), `None` for IDs this module does not know.
    pub fn protocol_id_name(&self, id: ProtocolId) -> Option<&str> {
        if u32::from(id.0) >= self.protocol_count() {
            return None;
        }
        // SAFETY: the ID is in range; the name lives in the module, which `&self` keeps alive.
        unsafe { borrowed_str(sys::ndpi_get_proto_name(self.as_ptr(), id.0)) }
    }

    /// nDPI's name for a classification: "TLS.Google", "DNS", or "Unknown".
    pub fn protocol_name(&self, protocol: Protocol) -> String {
        let mut buf = [0 as c_char; 64];
        // SAFETY: nDPI writes at most buf.len() bytes including the NUL and returns buf.
        unsafe {
            sys::ndpi_protocol2name(
                self.as_ptr(),
                protocol.to_raw(),
                buf.as_mut_ptr(),
                buf.len() as u32,
            );
            CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
        }
    }

    /// nDPI's numeric form of a classification: "91.126", "5".
    pub fn protocol_id_string(&self, protocol: Protocol) -> String {
        let mut buf = [0 as c_char; 32];
        // SAFETY: as for protocol_name.
        unsafe {
            sys::ndpi_protocol2id(
                self.as_ptr(),
                protocol.to_raw(),
                buf.as_mut_ptr(),
                buf.len() as u32,
            );
            CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
        }
    }

    /// The protocol ID for a name ("HTTP", case-insensitive as nDPI compares), if known.
    pub fn protocol_by_name(&self, name: &str) -> Option<ProtocolId> {
        let name = CString::new(name).ok()?;
        // SAFETY: the module is initialized and `name` is NUL-terminated.
        let id = unsafe { sys::ndpi_get_proto_by_name(self.as_ptr(), name.as_ptr()) };
        (id != sys::NDPI_PROTOCOL_UNKNOWN as u16).then_some(ProtocolId(id))
    }

    /// The name of a category ("Web"), `None` for values nDPI does not know.
    pub fn category_name(&self, category: Category) -> Option<&str> {
        // SAFETY: ndpi_category_get_name bounds-checks the ID and returns a string owned by
        // the module (custom category labels) or a static one.
        unsafe { borrowed_str(sys::ndpi_category_get_name(self.as_ptr(), category.0)) }
    }

    /// The breed (Safe, Fun, Dangerous, ...) nDPI gives a protocol.
    pub fn breed(&self, id: ProtocolId) -> Breed {
        // SAFETY: nDPI bounds-checks the ID (unknown IDs get the unrated breed).
        Breed(unsafe { sys::ndpi_get_proto_breed(self.as_ptr(), id.0) })
    }

    /// The name of a breed ("Safe").
    pub fn breed_name(&self, breed: Breed) -> Option<&str> {
        // SAFETY: ndpi_get_proto_breed_name returns static strings.
        unsafe { borrowed_str(sys::ndpi_get_proto_breed_name(self.as_ptr(), breed.0)) }
    }

    /// Whether nDPI considers the classification an encrypted protocol.
    pub fn is_encrypted(&self, protocol: Protocol) -> bool {
        // SAFETY: a read of the initialized module; nDPI bounds-checks the IDs.
        unsafe { sys::ndpi_is_encrypted_proto(self.as_ptr(), protocol.to_raw()) != 0 }
    }
}

impl Drop for Detector {
    fn drop(&mut self) {
        // SAFETY: we own the module, and no flow can outlive it (they borrow it).
        unsafe { sys::ndpi_exit_detection_module(self.as_ptr()) }
    }
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("protocols", &self.protocol_count())
            .finish()
    }
}

/// Reads a C string owned by nDPI for as long as `'a`.
///
/// # Safety
/// `ptr` must be NULL or a NUL-terminated string valid for `'a`.
unsafe fn borrowed_str<'a>(ptr: *const c_char) -> Option<&'a str> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(ptr) }.to_str().ok()
}

/// Which protocols a [`Detector`] looks for.
#[derive(Debug, Clone, Default)]
enum Selection {
    #[default]
    All,
    Only(Vec<ProtocolId>),
}

/// Configures a [`Detector`]: the protocols to enable and nDPI's custom files, the same five
/// that nDPI's own tests load (`ndpiReader -p -c -r -j -S`).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct DetectorBuilder {
    selection: Selection,
    protocols_file: Option<PathBuf>,
    categories_file: Option<PathBuf>,
    risky_domains_file: Option<PathBuf>,
    ja3_file: Option<PathBuf>,
    sha1_file: Option<PathBuf>,
}

impl DetectorBuilder {
    /// Enable only these protocols (the default is all of them).
    pub fn protocols(mut self, ids: impl IntoIterator<Item = ProtocolId>) -> Self {
        self.selection = Selection::Only(ids.into_iter().collect());
        self
    }

    /// Custom protocol definitions (`protos.txt`, `ndpiReader -p`).
    pub fn protocols_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.protocols_file = Some(path.into());
        self
    }

    /// Custom host/IP categories (`categories.txt`, `ndpiReader -c`).
    pub fn categories_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.categories_file = Some(path.into());
        self
    }

    /// Risky domains (`risky_domains.txt`, `ndpiReader -r`).
    pub fn risky_domains_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.risky_domains_file = Some(path.into());
        self
    }

    /// Malicious JA3 fingerprints (`ja3_fingerprints.csv`, `ndpiReader -j`).
    pub fn ja3_fingerprints_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ja3_file = Some(path.into());
        self
    }

    /// Malicious certificate SHA-1 fingerprints (`sha1_fingerprints.csv`, `ndpiReader -S`).
    pub fn sha1_fingerprints_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.sha1_file = Some(path.into());
        self
    }

    /// Initializes and finalizes the module, in the order nDPI's reader does.
    pub fn build(self) -> Result<Detector, Error> {
        let raw = {
            let _one_at_a_time = INIT.lock().unwrap_or_else(PoisonError::into_inner);
            // SAFETY: plain constructor; NULL is handled below.
            unsafe { sys::ndpi_init_detection_module(sys::ndpi_no_prefs) }
        };
        let detector = Detector {
            raw: NonNull::new(raw).ok_or(Error::OutOfMemory("a detection module"))?,
        };

        let mut mask = sys::NDPI_PROTOCOL_BITMASK::default();
        match &self.selection {
            Selection::All => sys::bitmask_set_all(&mut mask),
            Selection::Only(ids) => {
                for id in ids {
                    if u32::from(id.0) >= sys::NDPI_LAST_IMPLEMENTED_PROTOCOL {
                        return Err(Error::UnknownProtocolId(*id));
                    }
                    sys::bitmask_add(&mut mask, id.0.into());
                }
            }
        }
        // SAFETY: the module is initialized and not yet finalized; the mask is copied.
        unsafe { sys::ndpi_set_protocol_detection_bitmask2(detector.as_ptr(), &mask) };

        let loaders: [(&'static str, &Option<PathBuf>, Loader); 5] = [
            (
                "protocols",
                &self.protocols_file,
                sys::ndpi_load_protocols_file,
            ),
            (
                "categories",
                &self.categories_file,
                sys::ndpi_load_categories_file,
            ),
            (
                "risky domains",
                &self.risky_domains_file,
                sys::ndpi_load_risk_domain_file,
            ),
            (
                "JA3 fingerprints",
                &self.ja3_file,
                sys::ndpi_load_malicious_ja3_file,
            ),
            (
                "SHA-1 fingerprints",
                &self.sha1_file,
                sys::ndpi_load_malicious_sha1_file,
            ),
        ];
        for (kind, path, loader) in loaders {
            if let Some(path) = path {
                load_file(&detector, kind, path, loader)?;
            }
        }

        // SAFETY: the module is initialized; finalizing it once is required before use.
        unsafe { sys::ndpi_finalize_initialization(detector.as_ptr()) };
        Ok(detector)
    }
}

/// nDPI initializes libgcrypt inside `ndpi_init_detection_module` until it is initialized, and
/// libgcrypt's first initialization is not thread-safe: two threads doing it at once abort the
/// process (`_gcry_initialize_fips_mode`). So modules start one at a time; the rest of `build`
/// runs in parallel.
static INIT: Mutex<()> = Mutex::new(());

type Loader = unsafe extern "C" fn(*mut sys::ndpi_detection_module_struct, *const c_char) -> i32;

fn load_file(
    detector: &Detector,
    kind: &'static str,
    path: &Path,
    loader: Loader,
) -> Result<(), Error> {
    let error = |source: std::io::Error| Error::CustomFile {
        kind,
        path: path.to_owned(),
        source,
    };
    // nDPI reports a missing file and a malformed one alike; check readability first so the
    // error can say which.
    std::fs::File::open(path).map_err(error)?;
    let c_path = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|nul| error(std::io::Error::new(std::io::ErrorKind::InvalidInput, nul)))?;
    // SAFETY: the module is initialized and not finalized; c_path is NUL-terminated and
    // outlives the call.
    let rc = unsafe { loader(detector.as_ptr(), c_path.as_ptr()) };
    if rc < 0 {
        return Err(Error::CustomFileRejected {
            kind,
            path: path.to_owned(),
            code: rc,
        });
    }
    Ok(())
}
