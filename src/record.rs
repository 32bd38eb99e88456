//! The flow record: one owned struct that the Rust API, the JSON lines and the Lua `flow.*`
//! functions all read, with the same field names.

use std::net::IpAddr;

use serde::Serialize;

use crate::{CipherWeakness, Flow, Risk, Risks, Text};

/// Everything known about one flow, owned and compact. It is filled by the flow tracker from
/// its counters and, once detection is final, from nDPI's metadata (after which the nDPI flow
/// state is freed).
///
/// Serialized with serde as one JSON object; the optional protocol objects (`http`, `dns`,
/// `ssh`, `tls_quic`) appear only for flows of that protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowRecord {
    /// IANA L4 protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...).
    pub l4_proto: u8,
    /// Client address: the sender of the flow's first packet.
    pub cli_ip: IpAddr,
    /// Client port (0 for protocols without ports).
    pub cli_port: u16,
    /// Server address.
    pub srv_ip: IpAddr,
    /// Server port (0 for protocols without ports).
    pub srv_port: u16,
    /// Innermost 802.1Q VLAN ID, 0 when untagged.
    pub vlan_id: u16,
    /// Packets from client to server.
    pub cli2srv_packets: u64,
    /// Packets from server to client.
    pub srv2cli_packets: u64,
    /// Bytes from client to server: frame lengths on the wire (pcap's `len`).
    pub cli2srv_bytes: u64,
    /// Bytes from server to client: frame lengths on the wire (pcap's `len`).
    pub srv2cli_bytes: u64,
    /// Timestamp of the first packet, in milliseconds since the Unix epoch.
    pub first_seen_ms: u64,
    /// Timestamp of the last packet, in milliseconds since the Unix epoch.
    pub last_seen_ms: u64,
    /// nDPI master protocol ID (e.g. 91 for TLS in `TLS.Google`), 0 when there is none.
    pub l7_master_proto: u16,
    /// nDPI application protocol ID (e.g. 126 for Google in `TLS.Google`).
    pub l7_proto: u16,
    /// nDPI's protocol name, "TLS.Google" style; "Unknown" until classification is final.
    pub l7_proto_name: String,
    /// nDPI category name (e.g. "Web").
    pub category: String,
    /// nDPI classification confidence name (e.g. "DPI", "Match by port").
    pub confidence: String,
    /// Whether the protocol was guessed when nDPI gave up, rather than detected.
    pub guessed: bool,
    /// Names of the flow risks nDPI raised, plus the URL risk nDPI's validator finds in an
    /// HTTP request (as nDPI's reader reports it).
    pub risks: Vec<String>,
    /// nDPI's total risk score for those risks.
    pub risk_score: u32,
    /// nDPI's host name for the flow (HTTP Host, TLS/QUIC SNI, DNS query, ...), whichever
    /// protocol filled it.
    pub host_server_name: Option<String>,
    /// Locality of the endpoints against the configured local networks.
    pub direction: Direction,
    /// HTTP metadata, for HTTP flows (including `HTTP.X` sub-protocols).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Box<HttpInfo>>,
    /// DNS metadata, for DNS flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<Box<DnsInfo>>,
    /// SSH metadata, for SSH flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<Box<SshInfo>>,
    /// TLS or QUIC metadata, for TLS, QUIC, DTLS and TLS-wrapped mail flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_quic: Option<Box<TlsQuicInfo>>,
    /// Why the record was emitted; `None` while the flow is still active.
    pub end_reason: Option<EndReason>,
}

impl FlowRecord {
    /// Bytes in both directions (saturating: records can be built by hand).
    pub fn bytes(&self) -> u64 {
        self.cli2srv_bytes.saturating_add(self.srv2cli_bytes)
    }

    /// Packets in both directions (saturating: records can be built by hand).
    pub fn packets(&self) -> u64 {
        self.cli2srv_packets.saturating_add(self.srv2cli_packets)
    }

    /// Packets were seen, and one direction has none.
    pub fn is_oneway(&self) -> bool {
        self.packets() > 0 && (self.cli2srv_packets == 0 || self.srv2cli_packets == 0)
    }

    /// Neither endpoint is a broadcast or multicast address.
    pub fn is_unicast(&self) -> bool {
        fn unicast(ip: &IpAddr) -> bool {
            match ip {
                IpAddr::V4(v4) => !(v4.is_multicast() || v4.is_broadcast()),
                IpAddr::V6(v6) => !v6.is_multicast(),
            }
        }
        unicast(&self.cli_ip) && unicast(&self.srv_ip)
    }
}

/// Which endpoints of a flow are local, per the configured local networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Direction {
    /// Both endpoints are local.
    #[serde(rename = "local@local")]
    LocalToLocal,
    /// Client local, server remote.
    #[serde(rename = "local@remote")]
    LocalToRemote,
    /// Client remote, server local.
    #[serde(rename = "remote@local")]
    RemoteToLocal,
    /// Neither endpoint is local.
    #[serde(rename = "remote2remote")]
    RemoteToRemote,
    /// No local networks are configured.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Direction {
    /// The string the spec and ntopng use ("local@remote", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::LocalToLocal => "local@local",
            Direction::LocalToRemote => "local@remote",
            Direction::RemoteToLocal => "remote@local",
            Direction::RemoteToRemote => "remote2remote",
            Direction::Unknown => "unknown",
        }
    }
}

/// Why a flow record was emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// No packet for longer than the idle timeout (packet time).
    Idle,
    /// Both sides sent a TCP FIN.
    Fin,
    /// A TCP RST was seen.
    Rst,
    /// Pushed out of a full flow table.
    Evicted,
    /// The capture ended (end of file, count/duration reached, or interrupted).
    CaptureEnd,
}

impl EndReason {
    /// The JSON spelling ("idle", "capture_end", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Idle => "idle",
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::Evicted => "evicted",
            EndReason::CaptureEnd => "capture_end",
        }
    }
}

/// HTTP metadata, under the spec's short keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpInfo {
    /// Request method ("GET", "POST", ...).
    pub method: Option<String>,
    /// Request URL as nDPI records it (host + path).
    pub url: Option<String>,
    /// Response Content-Type.
    pub content_type: Option<String>,
    /// Request Content-Type (e.g. of a POST).
    pub request_content_type: Option<String>,
    /// Response status code.
    pub return_code: Option<u16>,
    /// The Host header (nDPI's host name for the flow).
    pub server_name: Option<String>,
    /// Request User-Agent.
    pub user_agent: Option<String>,
}

/// DNS metadata, under the spec's short keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DnsInfo {
    /// The queried name.
    pub last_query: Option<String>,
    /// Query type (1 A, 28 AAAA, 5 CNAME, ...).
    pub last_query_type: u16,
    /// Query class (1 IN).
    pub query_class: u16,
    /// Response code (0 NOERROR, 3 NXDOMAIN, ...), when a response was seen.
    pub last_return_code: Option<u8>,
    /// The reply addresses nDPI kept, comma-separated (nDPI 4.2 keeps the first answer only).
    pub replies_as_string: Option<String>,
    /// The query contains characters not valid in a host name.
    pub invalid_chars_in_query: bool,
    /// Number of queries in the message.
    pub num_queries: u8,
    /// Number of answers in the response.
    pub num_answers: u8,
}

/// SSH metadata, under the spec's short keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SshInfo {
    /// Client version string.
    pub client_signature: Option<String>,
    /// Server version string.
    pub server_signature: Option<String>,
    /// HASSH of the client.
    pub hassh_client: Option<String>,
    /// HASSH of the server.
    pub hassh_server: Option<String>,
}

/// TLS/QUIC metadata, under the spec's short keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[allow(non_snake_case)]
pub struct TlsQuicInfo {
    /// SNI from the ClientHello.
    pub client_requested_server_name: Option<String>,
    /// Names from the server certificate (subject alternative names), comma-separated.
    pub server_names: Option<String>,
    /// Certificate issuer DN.
    pub issuerDN: Option<String>,
    /// Certificate subject DN.
    pub subjectDN: Option<String>,
    /// JA3 client fingerprint.
    pub ja3_client: Option<String>,
    /// JA3S server fingerprint.
    pub ja3_server: Option<String>,
    /// Certificate validity start, Unix seconds.
    pub notBefore: Option<u32>,
    /// Certificate validity end, Unix seconds.
    pub notAfter: Option<u32>,
    /// The negotiated cipher is weak or insecure.
    pub unsafe_cipher: bool,
    /// How nDPI rates the negotiated cipher: "safe", "weak" or "insecure".
    pub cipher_weakness: CipherWeakness,
    /// Negotiated cipher suite ID.
    pub server_cipher: Option<u16>,
    /// Negotiated cipher suite name as nDPI spells it.
    pub server_cipher_name: Option<String>,
    /// TLS version ID (e.g. 0x0303).
    pub tls_version: Option<u16>,
    /// TLS version name as nDPI spells it (e.g. "TLSv1.2").
    pub tls_version_name: Option<String>,
    /// ALPN offered by the client, comma-separated.
    pub alpn: Option<String>,
    /// Supported versions offered by the client, comma-separated.
    pub tls_supported_versions: Option<String>,
    /// SHA-1 fingerprint of the server certificate, "AA:BB:..." uppercase.
    pub sha1_cert_fingerprint: Option<String>,
    /// User-Agent carried in QUIC transport parameters.
    pub user_agent: Option<String>,
}

impl FlowRecord {
    /// Copies the final classification and metadata out of nDPI's flow state.
    pub(crate) fn take_classification(&mut self, flow: &Flow<'_>) {
        let detector = flow.detector();
        let protocol = flow.protocol();
        let url_risk = flow.http().and_then(|h| h.url_risk());
        let risks = Risks(flow.risks().0 | url_risk.map_or(0, |r| 1 << r.0));
        self.l7_master_proto = protocol.master.0;
        self.l7_proto = protocol.app.0;
        self.l7_proto_name = detector.protocol_name(protocol);
        self.category = detector
            .category_name(protocol.category)
            .unwrap_or("Unspecified")
            .to_owned();
        self.confidence = flow.confidence().name().to_owned();
        self.guessed = flow.was_guessed();
        self.risks = risks.iter().map(Risk::name).collect();
        self.risk_score = risks.score();
        self.host_server_name = flow.host_server_name().map(lossy);
        self.http = flow.http().map(|h| {
            Box::new(HttpInfo {
                method: h.method.map(str::to_owned),
                url: text(h.url),
                content_type: text(h.content_type),
                request_content_type: text(h.request_content_type),
                return_code: h.response_code,
                server_name: text(h.host),
                user_agent: text(h.user_agent),
            })
        });
        self.dns = flow.dns().map(|d| {
            Box::new(DnsInfo {
                invalid_chars_in_query: d
                    .query
                    .is_some_and(|q| q.as_bytes().iter().any(|b| !b.is_ascii_graphic())),
                last_query: text(d.query),
                last_query_type: d.query_type,
                query_class: d.query_class,
                last_return_code: d.reply_code,
                replies_as_string: d.answer.map(|a| a.to_string()),
                num_queries: d.num_queries,
                num_answers: d.num_answers,
            })
        });
        self.ssh = flow.ssh().map(|s| {
            Box::new(SshInfo {
                client_signature: text(s.client_signature),
                server_signature: text(s.server_signature),
                hassh_client: text(s.hassh_client),
                hassh_server: text(s.hassh_server),
            })
        });
        self.tls_quic = flow.tls_quic().map(|t| {
            Box::new(TlsQuicInfo {
                client_requested_server_name: text(t.sni),
                server_names: text(t.server_names),
                issuerDN: text(t.issuer_dn),
                subjectDN: text(t.subject_dn),
                ja3_client: text(t.ja3_client),
                ja3_server: text(t.ja3_server),
                notBefore: t.not_before,
                notAfter: t.not_after,
                unsafe_cipher: t.cipher_weakness != CipherWeakness::Safe,
                cipher_weakness: t.cipher_weakness,
                server_cipher: t.server_cipher,
                server_cipher_name: t.server_cipher_name(),
                tls_version: t.version,
                tls_version_name: t.version_name(),
                alpn: text(t.alpn),
                tls_supported_versions: text(t.supported_versions),
                sha1_cert_fingerprint: t.cert_sha1.map(|sha| {
                    sha.iter()
                        .map(|b| format!("{b:02X}"))
                        .collect::<Vec<_>>()
                        .join(":")
                }),
                user_agent: text(t.user_agent),
            })
        });
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn text(t: Option<Text<'_>>) -> Option<String> {
    t.map(|t| t.to_string_lossy().into_owned())
}
