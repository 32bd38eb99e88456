//! Typed, borrowed views of the metadata nDPI 4.2 records for HTTP, DNS, SSH and TLS/QUIC.
//!
//! nDPI keeps most of this in a union (`protos`) whose meaning depends on the detected
//! protocol. Every reader here checks the protocol first and returns `None` otherwise, so a
//! DNS flow asked for TLS data gets `None`, never bytes of another protocol's state.

use std::borrow::Cow;
use std::ffi::CStr;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::raw::c_char;

use crate::protocol::{static_str, ProtocolId, Risk};
use crate::{sys, Flow};

/// Text nDPI extracted from packets, borrowed from the flow. It is usually ASCII but is not
/// guaranteed to be UTF-8, so the bytes are kept as they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Text<'f>(pub &'f [u8]);

impl<'f> Text<'f> {
    /// The bytes, as nDPI stored them.
    pub fn as_bytes(&self) -> &'f [u8] {
        self.0
    }

    /// The text, if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&'f str> {
        std::str::from_utf8(self.0).ok()
    }

    /// The text with invalid UTF-8 replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> Cow<'f, str> {
        String::from_utf8_lossy(self.0)
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// HTTP metadata (`flow->http` and the flow's host name), for HTTP flows (4.10: HTTP_Proxy
/// and HTTP_Connect too, as nDPI's reader reads them; and for other flows with a User-Agent,
/// that alone).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Http<'f> {
    /// Request method ("GET", ...).
    pub method: Option<&'static str>,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1, as nDPI records it.
    pub request_version: u8,
    /// Request URL as nDPI builds it: host followed by the path.
    pub url: Option<Text<'f>>,
    /// The Host header.
    pub host: Option<Text<'f>>,
    /// Response Content-Type.
    pub content_type: Option<Text<'f>>,
    /// Request Content-Type (e.g. of a POST).
    pub request_content_type: Option<Text<'f>>,
    /// User-Agent.
    pub user_agent: Option<Text<'f>>,
    /// Response status code.
    pub response_code: Option<u16>,
    /// Operating system nDPI derived from the User-Agent.
    pub detected_os: Option<Text<'f>>,
    /// X-Forwarded-For address.
    pub nat_ip: Option<Text<'f>>,
    /// The response's Server header (nDPI 4.10; `None` with 4.2).
    pub server: Option<Text<'f>>,
    /// The file name of a Content-Disposition (nDPI 4.10; `None` with 4.2).
    pub filename: Option<Text<'f>>,
}

impl<'f> Http<'f> {
    pub(crate) fn read(flow: &'f Flow<'_>) -> Option<Self> {
        use crate::compat;
        let protocol = flow.protocol();
        // `http` is a plain struct outside the union, filled by HTTP-like dissectors.
        let http = &flow.raw().http;
        if !compat::HTTP_PROTOCOLS.iter().any(|id| protocol.is(*id)) {
            return Self::user_agent_only(flow);
        }
        let method = if http.method == sys::NDPI_HTTP_METHOD_UNKNOWN {
            None
        } else {
            // SAFETY: ndpi_http_method2str returns static strings.
            unsafe { static_str(sys::ndpi_http_method2str(http.method)) }
        };
        // SAFETY: the c_str calls read nDPI's strings, NUL-terminated heap copies owned by the
        // flow, which `'f` keeps alive and unmodified.
        unsafe {
            Some(Http {
                method,
                request_version: http.request_version,
                url: c_str(http.url),
                host: flow.host_server_name().map(Text),
                content_type: c_str(http.content_type),
                request_content_type: c_str(http.request_content_type),
                user_agent: c_str(http.user_agent),
                response_code: (http.response_status_code != 0)
                    .then_some(http.response_status_code),
                detected_os: c_str(http.detected_os),
                nat_ip: c_str(http.nat_ip),
                server: c_str(compat::http_server(flow.raw())),
                filename: c_str(compat::http_filename(flow.raw())),
            })
        }
    }

    /// Flows of other protocols whose dissectors record a User-Agent (4.10: SSDP, ...), which
    /// nDPI's 4.10 reader prints for any flow: a view with only that. TLS/QUIC flows have it
    /// in [`TlsQuic::user_agent`]; 4.2 has none.
    fn user_agent_only(flow: &'f Flow<'_>) -> Option<Self> {
        let protocol = flow.protocol();
        let tls = crate::compat::TLS_QUIC_PROTOCOLS
            .iter()
            .any(|id| protocol.is(*id));
        if !crate::compat::USER_AGENT_OF_ANY_PROTOCOL || tls {
            return None;
        }
        // SAFETY: as in `read`.
        let user_agent = unsafe { c_str(flow.raw().http.user_agent) }?;
        Some(Http {
            method: None,
            request_version: 0,
            url: None,
            host: None,
            content_type: None,
            request_content_type: None,
            user_agent: Some(user_agent),
            response_code: None,
            detected_os: None,
            nat_ip: None,
            server: None,
            filename: None,
        })
    }
}

impl Http<'_> {
    /// The risk nDPI's URL validator (`ndpi_validate_url`) finds in the URL's query string:
    /// possible XSS, SQL injection or RCE. nDPI 4.2 runs it only on request (its reader does
    /// so for every HTTP flow it prints); [`FlowRecord`](crate::FlowRecord) includes it.
    pub fn url_risk(&self) -> Option<Risk> {
        let url = std::ffi::CString::new(self.url?.as_bytes()).ok()?;
        // SAFETY: nDPI reads the NUL-terminated URL and works on its own copy of the query.
        let risk = unsafe { sys::ndpi_validate_url(url.as_ptr().cast_mut()) };
        (risk != sys::NDPI_NO_RISK).then_some(Risk(risk))
    }
}

/// DNS metadata (`protos.dns` and the flow's host name).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Dns<'f> {
    /// The queried name.
    pub query: Option<Text<'f>>,
    /// Query type (1 A, 28 AAAA, ...).
    pub query_type: u16,
    /// Query class (1 IN).
    pub query_class: u16,
    /// Response code, when a response was seen (0 NOERROR, 3 NXDOMAIN, ...).
    pub reply_code: Option<u8>,
    /// Whether the last message nDPI parsed was a query rather than a response.
    pub is_query: bool,
    /// Number of queries in the message.
    pub num_queries: u8,
    /// Number of answers in the response.
    pub num_answers: u8,
    /// Type of the first answer record nDPI kept.
    pub answer_type: u16,
    /// The first A or AAAA answer.
    pub answer: Option<IpAddr>,
}

impl<'f> Dns<'f> {
    pub(crate) fn read(flow: &'f Flow<'_>) -> Option<Self> {
        if !flow.protocol().is(ProtocolId::DNS) {
            return None;
        }
        // SAFETY: the flow is DNS, so nDPI's DNS dissector owns `protos.dns`.
        let dns = unsafe { &flow.raw().protos.dns };
        // SAFETY: as above.
        let is_query = unsafe { crate::compat::dns_is_query(flow.raw()) };
        let answer = match dns.rsp_type {
            // SAFETY: nDPI copies an A record's 4 bytes (network order) into `ipv4`.
            1 => Some(IpAddr::V4(Ipv4Addr::from(
                unsafe { dns.rsp_addr.ipv4 }.to_ne_bytes(),
            ))),
            // SAFETY: nDPI copies an AAAA record's 16 bytes into `ipv6`.
            28 => Some(IpAddr::V6(Ipv6Addr::from(unsafe {
                dns.rsp_addr.ipv6.u6_addr.u6_addr8
            }))),
            _ => None,
        };
        Some(Dns {
            query: flow.host_server_name().map(Text),
            query_type: dns.query_type,
            query_class: dns.query_class,
            reply_code: (!is_query).then_some(dns.reply_code),
            is_query,
            num_queries: dns.num_queries,
            num_answers: dns.num_answers,
            answer_type: dns.rsp_type,
            answer,
        })
    }
}

/// SSH metadata (`protos.ssh`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Ssh<'f> {
    /// Client version string ("SSH-2.0-OpenSSH_8.4").
    pub client_signature: Option<Text<'f>>,
    /// Server version string.
    pub server_signature: Option<Text<'f>>,
    /// HASSH of the client's key exchange offer.
    pub hassh_client: Option<Text<'f>>,
    /// HASSH of the server's key exchange offer.
    pub hassh_server: Option<Text<'f>>,
}

impl<'f> Ssh<'f> {
    pub(crate) fn read(flow: &'f Flow<'_>) -> Option<Self> {
        if !flow.protocol().is(ProtocolId::SSH) {
            return None;
        }
        // SAFETY: the flow is SSH, so nDPI's SSH dissector owns `protos.ssh`.
        let ssh = unsafe { &flow.raw().protos.ssh };
        Some(Ssh {
            client_signature: c_array(&ssh.client_signature).map(Text),
            server_signature: c_array(&ssh.server_signature).map(Text),
            hassh_client: c_array(&ssh.hassh_client).map(Text),
            hassh_server: c_array(&ssh.hassh_server).map(Text),
        })
    }
}

/// TLS/QUIC metadata (`protos.tls_quic`, the flow's host name and, for TCP, the certificate
/// fingerprint).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct TlsQuic<'f> {
    /// SNI from the ClientHello.
    pub sni: Option<Text<'f>>,
    /// Names from the server certificate, comma-separated.
    pub server_names: Option<Text<'f>>,
    /// ALPNs offered by the client, comma-separated.
    pub alpn: Option<Text<'f>>,
    /// The ALPN the server chose (nDPI 4.10; `None` with 4.2).
    pub negotiated_alpn: Option<Text<'f>>,
    /// Supported versions offered by the client, comma-separated.
    pub supported_versions: Option<Text<'f>>,
    /// Certificate issuer DN.
    pub issuer_dn: Option<Text<'f>>,
    /// Certificate subject DN.
    pub subject_dn: Option<Text<'f>>,
    /// Certificate validity start, Unix seconds.
    pub not_before: Option<u32>,
    /// Certificate validity end, Unix seconds.
    pub not_after: Option<u32>,
    /// JA3 fingerprint of the client.
    pub ja3_client: Option<Text<'f>>,
    /// JA4 fingerprint of the client (nDPI 4.10; `None` with 4.2).
    pub ja4_client: Option<Text<'f>>,
    /// JA3S fingerprint of the server.
    pub ja3_server: Option<Text<'f>>,
    /// Negotiated cipher suite ID.
    pub server_cipher: Option<u16>,
    /// TLS version (0x0303 for TLS 1.2).
    pub version: Option<u16>,
    /// How nDPI rates the negotiated cipher.
    pub cipher_weakness: CipherWeakness,
    /// SHA-1 of the server certificate.
    pub cert_sha1: Option<[u8; 20]>,
    /// User-Agent from QUIC transport parameters (Google QUIC and some IETF clients).
    pub user_agent: Option<Text<'f>>,
    /// The QUIC version of a QUIC flow (nDPI 4.10; `None` with 4.2 and for TLS).
    pub quic_version: Option<u32>,
}

impl<'f> TlsQuic<'f> {
    pub(crate) fn read(flow: &'f Flow<'_>) -> Option<Self> {
        use crate::compat;
        let protocol = flow.protocol();
        if !compat::TLS_QUIC_PROTOCOLS.iter().any(|id| protocol.is(*id)) {
            return None;
        }
        let raw = flow.raw();
        // SAFETY: the flow is one of the protocols whose dissectors own `protos.tls_quic`
        // (here and in the compat reads below).
        let tls = unsafe { &raw.protos.tls_quic };
        // SAFETY: as above.
        let fingerprint_set = unsafe { compat::tls_fingerprint_set(raw) };
        let cert_sha1 = fingerprint_set.then_some(tls.sha1_certificate_fingerprint);
        let nonzero = |v: u32| (v != 0).then_some(v);
        // SAFETY: the c_str calls read nDPI's strings, NUL-terminated heap copies owned by the
        // flow, which `'f` keeps alive and unmodified.
        unsafe {
            Some(TlsQuic {
                sni: flow.host_server_name().map(Text),
                server_names: c_str(tls.server_names),
                alpn: c_str(compat::advertised_alpns(raw)),
                negotiated_alpn: c_str(compat::negotiated_alpn(raw)),
                supported_versions: c_str(tls.tls_supported_versions),
                issuer_dn: c_str(tls.issuerDN),
                subject_dn: c_str(tls.subjectDN),
                not_before: nonzero(tls.notBefore),
                not_after: nonzero(tls.notAfter),
                ja3_client: c_array(&tls.ja3_client).map(Text),
                ja4_client: compat::ja4_client(raw).and_then(c_array).map(Text),
                ja3_server: c_array(&tls.ja3_server).map(Text),
                server_cipher: (tls.server_cipher != 0).then_some(tls.server_cipher),
                version: (tls.ssl_version != 0).then_some(tls.ssl_version),
                cipher_weakness: CipherWeakness::from_raw(tls.server_unsafe_cipher),
                cert_sha1,
                user_agent: c_str(raw.http.user_agent),
                quic_version: compat::quic_version(raw),
            })
        }
    }

    /// nDPI's name of the negotiated cipher ("TLS_AES_128_GCM_SHA256").
    pub fn server_cipher_name(&self) -> Option<String> {
        crate::compat::cipher_name(self.server_cipher?)
    }

    /// nDPI's name of the QUIC version ("V-1", "Draft-29"; nDPI 4.10).
    pub fn quic_version_name(&self) -> Option<String> {
        crate::compat::quic_version_name(self.quic_version?)
    }

    /// nDPI's name of the TLS version ("TLSv1.2").
    pub fn version_name(&self) -> Option<String> {
        let version = self.version?;
        let mut buf = [0 as c_char; 32];
        let mut unknown = 0u8;
        // SAFETY: nDPI writes at most buf.len() bytes, NUL included, and returns buf.
        let name = unsafe {
            sys::ndpi_ssl_version2str(buf.as_mut_ptr(), buf.len() as i32, version, &mut unknown);
            CStr::from_ptr(buf.as_ptr())
        };
        Some(name.to_string_lossy().into_owned())
    }
}

/// nDPI's rating of a negotiated TLS cipher (`ndpi_cipher_weakness`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum CipherWeakness {
    /// Not known to be weak (or no cipher negotiated yet).
    #[default]
    Safe,
    /// Weak.
    Weak,
    /// Insecure.
    Insecure,
}

impl CipherWeakness {
    fn from_raw(raw: sys::ndpi_cipher_weakness) -> Self {
        match raw {
            sys::ndpi_cipher_weak => CipherWeakness::Weak,
            sys::ndpi_cipher_insecure => CipherWeakness::Insecure,
            _ => CipherWeakness::Safe,
        }
    }

    /// "safe", "weak" or "insecure", as ntopng spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            CipherWeakness::Safe => "safe",
            CipherWeakness::Weak => "weak",
            CipherWeakness::Insecure => "insecure",
        }
    }
}

/// The bytes before the first NUL of a fixed-size C char array; `None` when empty.
pub(crate) fn c_array(array: &[c_char]) -> Option<&[u8]> {
    // SAFETY: c_char and u8 have the same size and alignment.
    let bytes = unsafe { std::slice::from_raw_parts(array.as_ptr().cast::<u8>(), array.len()) };
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    (end > 0).then(|| &bytes[..end])
}

/// A heap C string owned by the flow; `None` for NULL or empty.
///
/// # Safety
/// `ptr` must be NULL or a NUL-terminated string valid for `'f`.
pub(crate) unsafe fn c_str<'f>(ptr: *const c_char) -> Option<Text<'f>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    (!bytes.is_empty()).then_some(Text(bytes))
}
