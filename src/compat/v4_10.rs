//! nDPI 4.10.

use std::ffi::{c_char, CStr};
use std::ptr::{self, NonNull};

use crate::protocol::{Category, Protocol, ProtocolId, Risk};
use crate::sys;

/// The release series these calls are written for.
pub(crate) const RELEASE: &str = "4.10";

/// 4.10's global context (`ndpi_global_init`): caches that modules created with it may share
/// (each cache's `scope` setting says whether it does; by default none is shared).
#[derive(Debug)]
pub(crate) struct GlobalContext(NonNull<sys::ndpi_global_context>);

// SAFETY: nDPI guards what modules share through the context with its own locks
// (USE_GLOBAL_CONTEXT builds it with pthread mutexes); the handle itself is only created and
// destroyed by its owner.
unsafe impl Send for GlobalContext {}
// SAFETY: as above: modules on several threads use it at once by design.
unsafe impl Sync for GlobalContext {}

impl GlobalContext {
    pub(crate) fn new() -> Option<GlobalContext> {
        // SAFETY: plain constructor; NULL when out of memory.
        NonNull::new(unsafe { sys::ndpi_global_init() }).map(GlobalContext)
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::ndpi_global_context {
        self.0.as_ptr()
    }
}

impl Drop for GlobalContext {
    fn drop(&mut self) {
        // SAFETY: we own the context, and every module created with it is gone (they borrow it).
        unsafe { sys::ndpi_global_deinit(self.0.as_ptr()) }
    }
}

/// A new module, sharing `global`'s caches where configured.
///
/// # Safety
/// `global`, when given, outlives the module; the caller owns the module (NULL when out of
/// memory).
pub(crate) unsafe fn init_module(
    global: Option<&GlobalContext>,
) -> *mut sys::ndpi_detection_module_struct {
    let global = global.map_or(ptr::null_mut(), GlobalContext::as_ptr);
    // SAFETY: see the function's contract.
    unsafe { sys::ndpi_init_detection_module(global) }
}

/// The settings nDPI's reader makes on top of the library's defaults, as `(proto, param,
/// value)`: it always enables the TCP ACK payload heuristic.
pub(crate) const READER_SETTINGS: &[(Option<&str>, &str, &str)] =
    &[(None, "tcp_ack_payload_heuristic", "enable")];

/// `ndpi_set_config`; when refused, why (the reader's words for nDPI's `ndpi_cfg_error`).
///
/// # Safety
/// The module is initialized and not finalized.
pub(crate) unsafe fn set_config(
    module: *mut sys::ndpi_detection_module_struct,
    proto: Option<&CStr>,
    param: &CStr,
    value: &CStr,
) -> Result<(), String> {
    let proto = proto.map_or(ptr::null(), CStr::as_ptr);
    // SAFETY: see the function's contract; the strings are NUL-terminated and nDPI copies them.
    let rc = unsafe { sys::ndpi_set_config(module, proto, param.as_ptr(), value.as_ptr()) };
    let reason = match rc {
        sys::NDPI_CFG_OK => return Ok(()),
        sys::NDPI_CFG_INVALID_CONTEXT => "invalid context",
        sys::NDPI_CFG_NOT_FOUND => "no such setting",
        sys::NDPI_CFG_INVALID_PARAM => "invalid value",
        sys::NDPI_CFG_CONTEXT_ALREADY_INITIALIZED => "the module is already initialized",
        sys::NDPI_CFG_CALLBACK_ERROR => "nDPI could not apply it",
        _ => "unknown error",
    };
    Err(format!("{reason} (nDPI's code {rc})"))
}

/// `ndpi_load_categories_dir`: every `*.list` file of `dir` (`ndpiReader -G`). Returns how
/// many files nDPI loaded, or minus how many it could not.
///
/// # Safety
/// The module is initialized and not finalized; `dir` is NUL-terminated.
pub(crate) unsafe fn load_categories_dir(
    module: *mut sys::ndpi_detection_module_struct,
    dir: &CStr,
) -> Result<i32, String> {
    // SAFETY: see the function's contract; nDPI does not write through the path.
    Ok(unsafe { sys::ndpi_load_categories_dir(module, dir.as_ptr().cast_mut()) })
}

/// `ndpi_load_categories_file` (no user data).
///
/// # Safety
/// The module is initialized and not finalized; `path` is NUL-terminated.
pub(crate) unsafe extern "C" fn load_categories_file(
    module: *mut sys::ndpi_detection_module_struct,
    path: *const c_char,
) -> i32 {
    // SAFETY: see the function's contract.
    unsafe { sys::ndpi_load_categories_file(module, path, ptr::null_mut()) }
}

/// `ndpi_detection_process_packet`, telling nDPI nothing about direction or flow start (as
/// nDPI's reader does).
///
/// # Safety
/// Module and flow are valid; `l3` holds `len` readable bytes.
pub(crate) unsafe fn process_packet(
    module: *mut sys::ndpi_detection_module_struct,
    flow: *mut sys::ndpi_flow_struct,
    l3: *const u8,
    len: u16,
    time_ms: u64,
) -> sys::ndpi_protocol {
    let input = sys::ndpi_flow_input_info {
        in_pkt_dir: sys::NDPI_IN_PKT_DIR_UNKNOWN as u8,
        seen_flow_beginning: sys::NDPI_FLOW_BEGINNING_UNKNOWN as u8,
    };
    // SAFETY: see the function's contract; nDPI only reads `input` during the call.
    unsafe { sys::ndpi_detection_process_packet(module, flow, l3, len, time_ms, &input) }
}

/// `ndpi_detection_giveup` (4.10 always guesses).
///
/// # Safety
/// Module and flow are valid.
pub(crate) unsafe fn give_up(
    module: *mut sys::ndpi_detection_module_struct,
    flow: *mut sys::ndpi_flow_struct,
    guessed: &mut u8,
) -> sys::ndpi_protocol {
    // SAFETY: see the function's contract; `guessed` is a valid out-pointer.
    unsafe { sys::ndpi_detection_giveup(module, flow, guessed) }
}

pub(crate) fn protocol_from_raw(raw: sys::ndpi_protocol) -> Protocol {
    Protocol {
        master: ProtocolId(raw.master_protocol),
        app: ProtocolId(raw.app_protocol),
        by_ip: Some(ProtocolId(raw.protocol_by_ip)),
        category: Category(raw.category),
    }
}

pub(crate) fn protocol_to_raw(protocol: Protocol) -> sys::ndpi_protocol {
    sys::ndpi_protocol {
        master_protocol: protocol.master.0,
        app_protocol: protocol.app.0,
        protocol_by_ip: protocol.by_ip.map_or(0, |id| id.0),
        category: protocol.category.0,
        custom_category_userdata: ptr::null_mut(),
    }
}

/// 4.10 allocates and frees every rule's memory through its own hooks.
pub(crate) fn protocols_file_mixes_allocators(_path: &std::path::Path) -> bool {
    false
}

/// The protocols whose flows carry HTTP metadata (`flow->http`), as nDPI's reader reads it.
pub(crate) const HTTP_PROTOCOLS: [ProtocolId; 3] = [
    ProtocolId::HTTP,
    ProtocolId(sys::NDPI_PROTOCOL_HTTP_PROXY as u16),
    ProtocolId(sys::NDPI_PROTOCOL_HTTP_CONNECT as u16),
];

/// The risk nDPI's reader clears once the server answers after detection (it was raised
/// while the flow had no server packet yet).
pub(crate) const UNIDIRECTIONAL_TRAFFIC: Option<Risk> =
    Some(Risk(sys::NDPI_UNIDIRECTIONAL_TRAFFIC));

/// 4.10 records the User-Agent of any protocol that carries one (SSDP, ...), and its reader
/// prints it for every flow.
pub(crate) const USER_AGENT_OF_ANY_PROTOCOL: bool = true;

/// The protocols whose flows carry `protos.tls_quic` (the list nDPI frees it for).
pub(crate) const TLS_QUIC_PROTOCOLS: [ProtocolId; 7] = [
    ProtocolId::TLS,
    ProtocolId::QUIC,
    ProtocolId::DTLS,
    ProtocolId::MAIL_SMTPS,
    ProtocolId::MAIL_POPS,
    ProtocolId::MAIL_IMAPS,
    ProtocolId(sys::NDPI_PROTOCOL_FTPS as u16),
];

/// Whether the server certificate's SHA-1 was recorded.
///
/// # Safety
/// The flow's protocol owns `protos.tls_quic`.
pub(crate) unsafe fn tls_fingerprint_set(flow: &sys::ndpi_flow_struct) -> bool {
    // SAFETY: see the function's contract.
    unsafe { flow.protos.tls_quic.fingerprint_set() != 0 }
}

/// The ALPNs the client offered.
///
/// # Safety
/// The flow's protocol owns `protos.tls_quic`.
pub(crate) unsafe fn advertised_alpns(flow: &sys::ndpi_flow_struct) -> *const c_char {
    // SAFETY: see the function's contract.
    unsafe { flow.protos.tls_quic.advertised_alpns }
}

/// The ALPN the server chose.
///
/// # Safety
/// The flow's protocol owns `protos.tls_quic`.
pub(crate) unsafe fn negotiated_alpn(flow: &sys::ndpi_flow_struct) -> *const c_char {
    // SAFETY: see the function's contract.
    unsafe { flow.protos.tls_quic.negotiated_alpn }
}

/// The JA4 client fingerprint.
///
/// # Safety
/// The flow's protocol owns `protos.tls_quic`.
pub(crate) unsafe fn ja4_client(flow: &sys::ndpi_flow_struct) -> Option<&[c_char]> {
    // SAFETY: see the function's contract.
    Some(unsafe { &flow.protos.tls_quic.ja4_client })
}

/// The HTTP Server header.
pub(crate) fn http_server(flow: &sys::ndpi_flow_struct) -> *const c_char {
    flow.http.server
}

/// Whether the last DNS message nDPI parsed was a query.
///
/// # Safety
/// The flow is DNS (`protos.dns` is the active member).
pub(crate) unsafe fn dns_is_query(flow: &sys::ndpi_flow_struct) -> bool {
    // SAFETY: see the function's contract.
    unsafe { flow.protos.dns.is_query() != 0 }
}

/// The text nDPI recorded about its risks, in the order it found them.
pub(crate) fn risk_infos(
    flow: &sys::ndpi_flow_struct,
) -> impl Iterator<Item = (Risk, *const c_char)> + '_ {
    let count = usize::from(flow.num_risk_infos).min(flow.risk_infos.len());
    flow.risk_infos[..count]
        .iter()
        .map(|info| (Risk(info.id), info.info.cast_const()))
}

/// `ndpi_protocol2id`: "91.126" style.
///
/// # Safety
/// nDPI writes at most `len` bytes (NUL included) to `buf`.
pub(crate) unsafe fn protocol2id(
    _module: *mut sys::ndpi_detection_module_struct,
    protocol: sys::ndpi_protocol,
    buf: *mut c_char,
    len: u32,
) {
    // SAFETY: see the function's contract.
    unsafe { sys::ndpi_protocol2id(protocol, buf, len) };
}

/// nDPI's name of a TLS cipher suite.
pub(crate) fn cipher_name(cipher: u16) -> Option<String> {
    let mut unknown = [0 as c_char; 8];
    // SAFETY: nDPI returns a literal, or writes the unknown value's text (at most 8 bytes,
    // NUL included) into `unknown` and returns it; both outlive the copy below.
    let name = unsafe { sys::ndpi_cipher2str(cipher.into(), unknown.as_mut_ptr()) };
    (!name.is_null()).then(|| {
        // SAFETY: as above.
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned()
    })
}

/// `ndpi_get_proto_breed_name` (4.10 needs no module for it).
pub(crate) fn breed_name(
    _module: *mut sys::ndpi_detection_module_struct,
    breed: sys::ndpi_protocol_breed_t,
) -> *const c_char {
    // SAFETY: nDPI bounds-checks the breed and returns a static string.
    unsafe { sys::ndpi_get_proto_breed_name(breed) }
}

/// The IP protocols 4.10's reader prints by name (`ndpi_get_ip_proto_name`).
pub(crate) const L4_NAMES: &[(u8, &str)] = &[
    (6, "TCP"),
    (17, "UDP"),
    (50, "ESP"),
    (51, "AH"),
    (47, "GRE"),
    (1, "ICMP"),
    (2, "IGMP"),
    (8, "EGP"),
    (132, "SCTP"),
    (113, "PGM"),
    (89, "OSPF"),
    (4, "IPIP"),
    (58, "ICMPV6"),
    (103, "PIM"),
    (112, "VRRP"),
];

/// 4.10's reader decapsulates CAPWAP data packets that carry 802.11 data frames only.
pub(crate) const CAPWAP_DATA_FRAMES_ONLY: bool = true;

/// 4.10's reader takes an IPv4 total length of 0 as a packet captured before TCP segmentation
/// offload, and uses the captured length.
pub(crate) const IPV4_ZERO_LENGTH_IS_TSO: bool = true;

/// The LRU caches whose `lru.NAME.scope` can make them global.
pub(crate) const LRU_CACHES: &[&str] = &[
    "ookla",
    "bittorrent",
    "stun",
    "tls_cert",
    "mining",
    "msteams",
    "fpc_dns",
];

/// 4.10 compiles its RCE-injection regexes (PCRE2) into process-wide statics the first time
/// `ndpi_validate_url` needs them, without a lock: two threads doing it at once crash. Runs
/// that first call once, while modules are built one at a time.
pub(crate) fn init_process_statics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // A query value that is neither XSS nor SQL injection reaches the RCE check.
        let mut url = *b"/?a=b\0";
        // SAFETY: a NUL-terminated URL; nDPI reads it and works on its own copy of the query.
        unsafe { sys::ndpi_validate_url(url.as_mut_ptr().cast()) };
    });
}

/// `ndpi_finalize_initialization`; `Err` with nDPI's code when it fails. 4.10 initializes
/// libgcrypt here (4.2 did in `ndpi_init_detection_module`).
///
/// # Safety
/// The module is initialized and not finalized.
pub(crate) unsafe fn finalize(module: *mut sys::ndpi_detection_module_struct) -> Result<(), i32> {
    // SAFETY: see the function's contract.
    match unsafe { sys::ndpi_finalize_initialization(module) } {
        0 => Ok(()),
        code => Err(code),
    }
}

/// The QUIC version of a QUIC flow (0 for TLS).
///
/// # Safety
/// The flow's protocol owns `protos.tls_quic`.
pub(crate) unsafe fn quic_version(flow: &sys::ndpi_flow_struct) -> Option<u32> {
    // SAFETY: see the function's contract.
    let version = unsafe { flow.protos.tls_quic.quic_version };
    (version != 0).then_some(version)
}

/// nDPI's name of a QUIC version ("V-1", "Draft-29", ...).
pub(crate) fn quic_version_name(version: u32) -> Option<String> {
    let mut buf = [0 as c_char; 32];
    // SAFETY: nDPI writes at most buf.len() bytes, NUL included, and returns buf.
    let name = unsafe { sys::ndpi_quic_version2str(buf.as_mut_ptr(), buf.len() as i32, version) };
    (!name.is_null()).then(|| {
        // SAFETY: as above; `buf` outlives the copy.
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned()
    })
}

/// The file name of an HTTP Content-Disposition.
pub(crate) fn http_filename(flow: &sys::ndpi_flow_struct) -> *const c_char {
    flow.http.filename
}
