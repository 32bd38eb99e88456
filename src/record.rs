//! The flow record: one owned struct that the Rust API, the JSON lines and the Lua `flow.*`
//! functions all read, with the same field names.

use std::net::IpAddr;

use serde::Serialize;

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
    /// Names of the flow risks nDPI raised.
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
    pub http: Option<HttpInfo>,
    /// DNS metadata, for DNS flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsInfo>,
    /// SSH metadata, for SSH flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshInfo>,
    /// TLS or QUIC metadata, for TLS, QUIC, DTLS and TLS-wrapped mail flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_quic: Option<TlsQuicInfo>,
    /// Why the record was emitted; `None` while the flow is still active.
    pub end_reason: Option<EndReason>,
}

impl FlowRecord {
    /// Bytes in both directions.
    pub fn bytes(&self) -> u64 {
        self.cli2srv_bytes + self.srv2cli_bytes
    }

    /// Packets in both directions.
    pub fn packets(&self) -> u64 {
        self.cli2srv_packets + self.srv2cli_packets
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
}
