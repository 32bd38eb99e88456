//! nDPI 4.2.

use std::ffi::{c_char, CStr};
use std::ptr;

use crate::protocol::{Category, Protocol, ProtocolId, Risk};
use crate::sys;

/// The release series these calls are written for.
pub(crate) const RELEASE: &str = "4.2";

/// 4.2 has no global context: every module keeps its own caches.
#[derive(Debug)]
pub(crate) struct GlobalContext;

impl GlobalContext {
    pub(crate) fn new() -> Option<GlobalContext> {
        Some(GlobalContext)
    }
}

/// A new module, with nDPI's default preferences.
///
/// # Safety
/// Plain constructor; the caller owns the module (NULL when out of memory).
pub(crate) unsafe fn init_module(
    _global: Option<&GlobalContext>,
) -> *mut sys::ndpi_detection_module_struct {
    // SAFETY: see the function's contract.
    unsafe { sys::ndpi_init_detection_module(sys::ndpi_no_prefs) }
}

/// 4.2's reader makes no settings beyond the library's defaults.
pub(crate) const READER_SETTINGS: &[(Option<&str>, &str, &str)] = &[];

/// 4.2 has no configuration API: every setting is refused.
///
/// # Safety
/// No requirement; nothing is called.
pub(crate) unsafe fn set_config(
    _module: *mut sys::ndpi_detection_module_struct,
    _proto: Option<&CStr>,
    _param: &CStr,
    _value: &CStr,
) -> Result<(), String> {
    Err("nDPI 4.2 has no configuration API (ndpi_set_config is newer)".to_owned())
}

/// 4.2 cannot load a directory of category lists.
///
/// # Safety
/// No requirement; nothing is called.
pub(crate) unsafe fn load_categories_dir(
    _module: *mut sys::ndpi_detection_module_struct,
    _dir: &CStr,
) -> Result<i32, String> {
    Err("nDPI 4.2 cannot load a directory of category lists".to_owned())
}

/// `ndpi_load_categories_file`.
///
/// # Safety
/// The module is initialized and not finalized; `path` is NUL-terminated.
pub(crate) unsafe extern "C" fn load_categories_file(
    module: *mut sys::ndpi_detection_module_struct,
    path: *const c_char,
) -> i32 {
    // SAFETY: see the function's contract.
    unsafe { sys::ndpi_load_categories_file(module, path) }
}

/// `ndpi_detection_process_packet`.
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
    // SAFETY: see the function's contract.
    unsafe { sys::ndpi_detection_process_packet(module, flow, l3, len, time_ms) }
}

/// `ndpi_detection_giveup`, with guessing on.
///
/// # Safety
/// Module and flow are valid.
pub(crate) unsafe fn give_up(
    module: *mut sys::ndpi_detection_module_struct,
    flow: *mut sys::ndpi_flow_struct,
    guessed: &mut u8,
) -> sys::ndpi_protocol {
    // SAFETY: see the function's contract; `guessed` is a valid out-pointer.
    unsafe { sys::ndpi_detection_giveup(module, flow, 1, guessed) }
}

pub(crate) fn protocol_from_raw(raw: sys::ndpi_protocol) -> Protocol {
    Protocol {
        master: ProtocolId(raw.master_protocol),
        app: ProtocolId(raw.app_protocol),
        by_ip: None,
        category: Category(raw.category),
    }
}

pub(crate) fn protocol_to_raw(protocol: Protocol) -> sys::ndpi_protocol {
    sys::ndpi_protocol {
        master_protocol: protocol.master.0,
        app_protocol: protocol.app.0,
        category: protocol.category.0,
    }
}

/// Whether nDPI would free memory of this protocols file's rules with the wrong allocator: 4.2
/// copies the DN of a `trusted_issuer_dn` rule with libc's `strdup` (`ndpi_add_trusted_issuer_dn`)
/// and frees it with `ndpi_free` when the module exits. A rule is one line, not a `#` comment,
/// without `@`, whose first `:`-separated word is `trusted_issuer_dn` (as `ndpi_handle_rule`
/// reads it). A file that cannot be read has none (its loading fails anyway).
pub(crate) fn protocols_file_mixes_allocators(path: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read(path) else {
        return false;
    };
    text.split(|b| *b == b'\n').any(|line| {
        let rule_type = line.split(|b| *b == b':').find(|word| !word.is_empty());
        !line.starts_with(b"#")
            && !line.contains(&b'@')
            && rule_type == Some(&b"trusted_issuer_dn"[..])
    })
}

/// The protocols whose flows carry HTTP metadata (`flow->http`), as nDPI's reader reads it.
pub(crate) const HTTP_PROTOCOLS: [ProtocolId; 1] = [ProtocolId::HTTP];

/// 4.2 has no unidirectional-traffic risk.
pub(crate) const UNIDIRECTIONAL_TRAFFIC: Option<Risk> = None;

/// 4.2 records a User-Agent for HTTP and QUIC flows only.
pub(crate) const USER_AGENT_OF_ANY_PROTOCOL: bool = false;

/// The protocols whose flows carry `protos.tls_quic` (the list nDPI frees it for).
pub(crate) const TLS_QUIC_PROTOCOLS: [ProtocolId; 6] = [
    ProtocolId::TLS,
    ProtocolId::QUIC,
    ProtocolId::DTLS,
    ProtocolId::MAIL_SMTPS,
    ProtocolId::MAIL_POPS,
    ProtocolId::MAIL_IMAPS,
];

/// Whether the server certificate's SHA-1 was recorded. 4.2 keeps the flag in the TCP state.
///
/// # Safety
/// No requirement (the signature matches 4.10's).
pub(crate) unsafe fn tls_fingerprint_set(flow: &sys::ndpi_flow_struct) -> bool {
    // SAFETY: for a TCP flow, `l4.tcp` is the active member of the `l4` union.
    flow.l4_proto == 6 && unsafe { flow.l4.tcp.tls.fingerprint_set() } != 0
}

/// The ALPNs the client offered.
///
/// # Safety
/// The flow's protocol owns `protos.tls_quic`.
pub(crate) unsafe fn advertised_alpns(flow: &sys::ndpi_flow_struct) -> *const c_char {
    // SAFETY: see the function's contract.
    unsafe { flow.protos.tls_quic.alpn }
}

/// 4.2 does not record the negotiated ALPN.
///
/// # Safety
/// No requirement.
pub(crate) unsafe fn negotiated_alpn(_flow: &sys::ndpi_flow_struct) -> *const c_char {
    ptr::null()
}

/// 4.2 has no JA4.
///
/// # Safety
/// No requirement.
pub(crate) unsafe fn ja4_client(_flow: &sys::ndpi_flow_struct) -> Option<&[c_char]> {
    None
}

/// 4.2 does not record the HTTP Server header.
pub(crate) fn http_server(_flow: &sys::ndpi_flow_struct) -> *const c_char {
    ptr::null()
}

/// Whether the last DNS message nDPI parsed was a query.
///
/// # Safety
/// The flow is DNS (`protos.dns` is the active member).
pub(crate) unsafe fn dns_is_query(flow: &sys::ndpi_flow_struct) -> bool {
    // SAFETY: see the function's contract.
    unsafe { flow.protos.dns.is_query != 0 }
}

/// 4.2 records no text about its risks.
pub(crate) fn risk_infos(
    _flow: &sys::ndpi_flow_struct,
) -> impl Iterator<Item = (Risk, *const c_char)> + '_ {
    std::iter::empty()
}

/// `ndpi_protocol2id`: "91.126" style.
///
/// # Safety
/// The module is initialized; nDPI writes at most `len` bytes (NUL included) to `buf`.
pub(crate) unsafe fn protocol2id(
    module: *mut sys::ndpi_detection_module_struct,
    protocol: sys::ndpi_protocol,
    buf: *mut c_char,
    len: u32,
) {
    // SAFETY: see the function's contract.
    unsafe { sys::ndpi_protocol2id(module, protocol, buf, len) };
}

/// nDPI's name of a TLS cipher suite.
pub(crate) fn cipher_name(cipher: u16) -> Option<String> {
    // SAFETY: ndpi_cipher2str returns a literal, or for unknown values a static buffer that
    // `shared_buffer_string` serializes access to.
    unsafe { crate::protocol::shared_buffer_string(|| sys::ndpi_cipher2str(cipher.into())) }
}

/// `ndpi_get_proto_breed_name`.
pub(crate) fn breed_name(
    module: *mut sys::ndpi_detection_module_struct,
    breed: sys::ndpi_protocol_breed_t,
) -> *const c_char {
    // SAFETY: nDPI bounds-checks the breed and returns a static string.
    unsafe { sys::ndpi_get_proto_breed_name(module, breed) }
}

/// The IP protocols 4.2's reader prints by name (`ipProto2Name`).
pub(crate) const L4_NAMES: &[(u8, &str)] = &[
    (6, "TCP"),
    (17, "UDP"),
    (1, "ICMP"),
    (58, "ICMPV6"),
    (112, "VRRP"),
    (2, "IGMP"),
];

/// 4.2's reader decapsulates every CAPWAP data packet.
pub(crate) const CAPWAP_DATA_FRAMES_ONLY: bool = false;

/// 4.2's reader drops IPv4 packets whose total length is 0.
pub(crate) const IPV4_ZERO_LENGTH_IS_TSO: bool = false;

/// 4.2's caches belong to their module: none can be shared.
pub(crate) const LRU_CACHES: &[&str] = &[];

/// Nothing in 4.2 initializes itself lazily on the packet path.
pub(crate) fn init_process_statics() {}

/// `ndpi_finalize_initialization` (4.2's cannot fail).
///
/// # Safety
/// The module is initialized and not finalized.
pub(crate) unsafe fn finalize(module: *mut sys::ndpi_detection_module_struct) -> Result<(), i32> {
    // SAFETY: see the function's contract.
    unsafe { sys::ndpi_finalize_initialization(module) };
    Ok(())
}

/// 4.2 does not record the QUIC version.
///
/// # Safety
/// No requirement.
pub(crate) unsafe fn quic_version(_flow: &sys::ndpi_flow_struct) -> Option<u32> {
    None
}

/// 4.2 has no name for QUIC versions.
pub(crate) fn quic_version_name(_version: u32) -> Option<String> {
    None
}

/// 4.2 does not record the file name of an HTTP Content-Disposition.
pub(crate) fn http_filename(_flow: &sys::ndpi_flow_struct) -> *const c_char {
    ptr::null()
}

#[cfg(test)]
mod tests {
    use super::protocols_file_mixes_allocators;

    #[test]
    fn trusted_issuer_rules_are_found_as_ndpi_reads_them() {
        let dir = std::env::temp_dir().join(format!("ndpi-protos-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases: [(&str, bool); 5] = [
            ("tcp:81@HTTP_81\ntrusted_issuer_dn:\"CN=x, O=y\"\n", true),
            (":trusted_issuer_dn:CN=x\n", true),
            ("# trusted_issuer_dn:CN=x\nhost:\"a.b\"@AB\n", false),
            ("trusted_issuer_dn:E=a@b.c\n", false),
            ("ip_risk_mask:192.168.1.0/24=0\n", false),
        ];
        for (i, (text, mixes)) in cases.into_iter().enumerate() {
            let path = dir.join(format!("protos-{i}.txt"));
            std::fs::write(&path, text).unwrap();
            assert_eq!(protocols_file_mixes_allocators(&path), mixes, "{text:?}");
        }
        assert!(!protocols_file_mixes_allocators(&dir.join("missing.txt")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
