//! The detection module: the owner of nDPI's `ndpi_detection_module_struct`.

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, PoisonError};

use rustc_hash::FxHashMap;

use crate::flow::FlowPool;
use crate::protocol::{static_str, Breed, Category, Protocol, ProtocolId};
use crate::{compat, sys, Error, Name};

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
    /// Whether dropping the detector exits nDPI's module. Not when the module holds memory
    /// that nDPI would free with the wrong allocator (see [`crate::use_rust_allocator`]): it
    /// is then left to the end of the process.
    exit_on_drop: bool,
    /// The memory of its flows' nDPI state (see [`FlowPool`]).
    pub(crate) flows: RefCell<FlowPool>,
    /// Each classification's name and each category's, made once (see [`Name`]).
    names: RefCell<FxHashMap<(ProtocolId, ProtocolId), Name>>,
    categories: RefCell<FxHashMap<Category, Name>>,
    /// Kept alive for as long as the module uses it (fields drop after `Drop::drop`).
    _global: Option<Arc<GlobalContext>>,
}

/// Caches that several [`Detector`]s may share (nDPI 4.10's global context): give one to each
/// module's [`DetectorBuilder::global_context`]. Which caches are shared is nDPI's per-cache
/// `scope` setting (`lru.NAME.scope` = 1 through [`DetectorBuilder::set`]); by default none is.
/// nDPI 4.2 has no global context: there it changes nothing.
///
/// It is `Send` and `Sync`: modules on several threads use it at once by design, and nDPI
/// locks what they share.
#[derive(Debug)]
pub struct GlobalContext(compat::GlobalContext);

impl GlobalContext {
    /// A new context, shared by reference counting.
    pub fn new() -> Result<Arc<GlobalContext>, Error> {
        crate::alloc::settle();
        compat::GlobalContext::new()
            .map(|context| Arc::new(GlobalContext(context)))
            .ok_or(Error::OutOfMemory("a global context"))
    }
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

    /// The release series the crate was built for and links: "4.10" or "4.2".
    pub fn release() -> &'static str {
        compat::RELEASE
    }

    /// The release of the linked nDPI, e.g. "4.10.0".
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
        // SAFETY: nDPI maps and bounds-checks the ID (unknown ones get "Unknown"); the name
        // lives in the module, which `&self` keeps alive.
        let name = unsafe { borrowed_str(sys::ndpi_get_proto_name(self.as_ptr(), id.0)) }?;
        (id.is_unknown() || name != "Unknown").then_some(name)
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

    /// [`protocol_name`](Detector::protocol_name), made once per master/application pair and
    /// shared by the records of that classification.
    pub(crate) fn shared_protocol_name(&self, protocol: Protocol) -> Name {
        let key = (protocol.master, protocol.app);
        made_once(&self.names, key, || {
            Name::from(self.protocol_name(protocol))
        })
    }

    /// [`category_name`](Detector::category_name) ("Unspecified" for none), made once per
    /// category.
    pub(crate) fn shared_category_name(&self, category: Category) -> Name {
        made_once(&self.categories, category, || {
            self.category_name(category)
                .map_or(Name::UNSPECIFIED, Name::from)
        })
    }

    /// nDPI's numeric form of a classification: "91.126", "5".
    pub fn protocol_id_string(&self, protocol: Protocol) -> String {
        let mut buf = [0 as c_char; 32];
        // SAFETY: as for protocol_name.
        unsafe {
            compat::protocol2id(
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
        unsafe { borrowed_str(compat::breed_name(self.as_ptr(), breed.0)) }
    }

    /// Whether nDPI considers the classification an encrypted protocol.
    pub fn is_encrypted(&self, protocol: Protocol) -> bool {
        // SAFETY: a read of the initialized module; nDPI bounds-checks the IDs.
        unsafe { sys::ndpi_is_encrypted_proto(self.as_ptr(), protocol.to_raw()) != 0 }
    }
}

impl Drop for Detector {
    fn drop(&mut self) {
        if !self.exit_on_drop {
            return;
        }
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
    categories_dir: Option<PathBuf>,
    settings: Vec<Setting>,
    global: Option<Arc<GlobalContext>>,
}

/// One `ndpi_set_config` call: protocol (or none), parameter, value.
#[derive(Debug, Clone)]
struct Setting {
    proto: Option<String>,
    param: String,
    value: String,
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

    /// Every `*.list` file of a directory of domain and IP lists, each naming its category
    /// (`ndpiReader -G`, nDPI's `lists/` directory). nDPI 4.10; 4.2 refuses it.
    pub fn categories_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.categories_dir = Some(dir.into());
        self
    }

    /// One of nDPI's settings (`ndpi_set_config`; nDPI 4.10's `doc/configuration_parameters.md`
    /// lists them): `proto` is the protocol it belongs to ("tls"), or `None` for a global one.
    /// Settings apply in the order given, after the custom files; `param` "filename.config"
    /// loads a file of `proto,param,value` lines (`ndpiReader --cfg`). nDPI 4.2 has no settings:
    /// [`build`](DetectorBuilder::build) then fails with [`Error::Config`].
    ///
    /// ```
    /// # fn main() -> Result<(), ndpi::Error> {
    /// let builder = ndpi::Detector::builder().set(Some("tls"), "metadata.sha1_fingerprint", "1");
    /// # if ndpi::Detector::release() != "4.2" { builder.build()?; }
    /// # Ok(()) }
    /// ```
    pub fn set(mut self, proto: Option<&str>, param: &str, value: &str) -> Self {
        self.settings.push(Setting {
            proto: proto.map(str::to_owned),
            param: param.to_owned(),
            value: value.to_owned(),
        });
        self
    }

    /// The settings nDPI's own reader (`ndpiReader`) makes on top of the library's defaults,
    /// so that classification matches it: 4.10's reader enables the TCP ACK payload
    /// heuristic; 4.2's makes none.
    pub fn reader_settings(mut self) -> Self {
        for (proto, param, value) in compat::READER_SETTINGS {
            self = self.set(*proto, param, value);
        }
        self
    }

    /// Attach the module to `global` (see [`GlobalContext`]); which caches it shares is up to
    /// the `lru.NAME.scope` settings, or [`share_caches`](DetectorBuilder::share_caches).
    pub fn global_context(mut self, global: &Arc<GlobalContext>) -> Self {
        self.global = Some(Arc::clone(global));
        self
    }

    /// Share every one of nDPI's caches (4.10: ookla, bittorrent, stun, tls_cert, mining,
    /// msteams, fpc_dns) with the other modules built with `global`: what one module learns
    /// (an Ookla client, a BitTorrent peer, a DNS answer) the others find. Several modules then
    /// classify as one would, whichever of them sees a flow. A no-op with nDPI 4.2, which has
    /// no global context (its modules' caches are their own).
    pub fn share_caches(mut self, global: &Arc<GlobalContext>) -> Self {
        self = self.global_context(global);
        for cache in compat::LRU_CACHES {
            self = self.set(None, &format!("lru.{cache}.scope"), "1");
        }
        self
    }

    /// Initializes and finalizes the module, in the order nDPI's reader does.
    pub fn build(self) -> Result<Detector, Error> {
        let allocator = crate::alloc::settle();
        // nDPI 4.2 frees libc memory of some protocols-file rules with ndpi_free.
        let mixed = self
            .protocols_file
            .as_deref()
            .is_some_and(compat::protocols_file_mixes_allocators);
        let raw = {
            let _one_at_a_time = INIT.lock().unwrap_or_else(PoisonError::into_inner);
            compat::init_process_statics();
            let global = self.global.as_deref().map(|g| &g.0);
            // SAFETY: plain constructor (NULL is handled below); the module keeps an Arc of
            // the context, so the context outlives it.
            unsafe { compat::init_module(global) }
        };
        let detector = Detector {
            raw: NonNull::new(raw).ok_or(Error::OutOfMemory("a detection module"))?,
            exit_on_drop: !(mixed && allocator == crate::alloc::NdpiAllocator::Rust),
            flows: RefCell::new(FlowPool::default()),
            names: RefCell::default(),
            categories: RefCell::default(),
            _global: self.global.clone(),
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
                compat::load_categories_file,
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
        if let Some(dir) = &self.categories_dir {
            load_dir(&detector, dir)?;
        }
        for setting in &self.settings {
            apply(&detector, setting)?;
        }

        let _one_at_a_time = INIT.lock().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: the module is initialized; finalizing it once is required before use.
        // 4.10's finalize fails only when an allocation (an automaton, a list) fails.
        unsafe { compat::finalize(detector.as_ptr()) }
            .map_err(|_| Error::OutOfMemory("a detection module's automata"))?;
        Ok(detector)
    }
}

/// The name `names` holds for `key`, made by `make` the first time.
fn made_once<K: std::hash::Hash + Eq>(
    names: &RefCell<FxHashMap<K, Name>>,
    key: K,
    make: impl FnOnce() -> Name,
) -> Name {
    if let Some(name) = names.borrow().get(&key) {
        return name.clone();
    }
    let name = make();
    names.borrow_mut().insert(key, name.clone());
    name
}

/// nDPI initializes libgcrypt while it makes a module (4.2: in `ndpi_init_detection_module`;
/// 4.10: in `ndpi_finalize_initialization`), and libgcrypt's first initialization is not
/// thread-safe: two threads doing it at once abort the process (`_gcry_initialize_fips_mode`).
/// So modules start and finish one at a time, and nDPI's other lazily made process-wide state
/// is made then too (`compat::init_process_statics`); loading files and settings runs in
/// parallel.
static INIT: Mutex<()> = Mutex::new(());

type Loader = unsafe extern "C" fn(*mut sys::ndpi_detection_module_struct, *const c_char) -> i32;

fn load_dir(detector: &Detector, dir: &Path) -> Result<(), Error> {
    let kind = "category lists";
    let error = |source: std::io::Error| Error::CustomFile {
        kind,
        path: dir.to_owned(),
        source,
    };
    std::fs::read_dir(dir).map_err(error)?;
    let c_dir = CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|nul| error(std::io::Error::new(std::io::ErrorKind::InvalidInput, nul)))?;
    // SAFETY: the module is initialized and not finalized; c_dir is NUL-terminated and
    // outlives the call.
    let loaded = unsafe { compat::load_categories_dir(detector.as_ptr(), &c_dir) }
        .map_err(|reason| error(std::io::Error::new(std::io::ErrorKind::Unsupported, reason)))?;
    if loaded < 0 {
        return Err(Error::CustomFileRejected {
            kind,
            path: dir.to_owned(),
            code: loaded,
        });
    }
    Ok(())
}

fn apply(detector: &Detector, setting: &Setting) -> Result<(), Error> {
    let refused = |reason: String| Error::Config {
        proto: setting.proto.clone(),
        param: setting.param.clone(),
        value: setting.value.clone(),
        reason,
    };
    let c = |text: &str| CString::new(text).map_err(|_| refused("contains a NUL byte".into()));
    let proto = setting.proto.as_deref().map(c).transpose()?;
    let (param, value) = (c(&setting.param)?, c(&setting.value)?);
    // SAFETY: the module is initialized and not finalized; the strings outlive the call.
    unsafe { compat::set_config(detector.as_ptr(), proto.as_deref(), &param, &value) }
        .map_err(refused)
}

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
