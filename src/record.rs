//! The flow record: one owned struct that the Rust API, the JSON lines and the Lua `flow.*`
//! functions all read; JSON and Lua names come from its serde form.

use std::fmt;
use std::net::IpAddr;

#[cfg(feature = "serde")]
use serde::Serialize;

use crate::{CipherWeakness, Confidence, Flow, Name, ProtocolId, Risks, Text};

/// Everything known about one flow, owned and compact. It is filled by the flow tracker from
/// its counters and, once detection is final, from nDPI's metadata (after which the nDPI flow
/// state is freed).
///
/// This one type is the schema of every output: the Rust API reads its fields, serde writes it
/// as one flat JSON object (the `tuple` fields inline; `http`, `dns`, `ssh` and `tls_quic` only
/// for flows of that protocol), and flowlua builds Lua's `flow_info` and L7 tables from that
/// serde form. A new field is added here, once: its JSON and Lua names come from its name or its
/// `serde` rename.
///
/// New fields may be added in minor releases (`#[non_exhaustive]`): build records from
/// [`FlowRecord::default`] and set the fields you need.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub struct FlowRecord {
    /// The flow's L4 protocol, endpoints and VLAN.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub tuple: FlowTuple,
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
    /// nDPI master protocol (e.g. TLS in `TLS.Google`), unknown when there is none.
    pub l7_master_proto: ProtocolId,
    /// nDPI application protocol (e.g. Google in `TLS.Google`).
    pub l7_proto: ProtocolId,
    /// The protocol nDPI associates with the server's address (e.g. Google for a Google
    /// address, whatever the traffic; unknown when the address is nobody's). nDPI 4.10;
    /// `None` with 4.2.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub l7_proto_by_ip: Option<ProtocolId>,
    /// nDPI's protocol name, "TLS.Google" style; "Unknown" until classification is final.
    /// Custom protocols' names live in the [`Detector`](crate::Detector), which makes each
    /// name once: the records share it (a [`Name`] reads and serializes as the string).
    pub l7_proto_name: Name,
    /// nDPI category name (e.g. "Web"), shared in the same way; custom categories live in the
    /// detector too.
    pub category: Name,
    /// How the classification was obtained; serialized as nDPI's name ("DPI", ...).
    pub confidence: Confidence,
    /// Whether the protocol was guessed when nDPI gave up, rather than detected.
    pub guessed: bool,
    /// The flow risks nDPI raised, plus the URL risk nDPI's validator finds in an HTTP request
    /// (as nDPI's reader reports it); serialized as a list of risk names.
    pub risks: Risks,
    /// nDPI's total risk score for those risks.
    pub risk_score: u32,
    /// What nDPI wrote about the risks it found, joined with " / " as its reader prints it
    /// ("No server to client traffic / TCP connection with unidirectional traffic"). nDPI 4.10;
    /// `None` with 4.2.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub risk_info: Option<String>,
    /// nDPI's host name for the flow (HTTP Host, TLS/QUIC SNI, DNS query, ...), whichever
    /// protocol filled it.
    pub host_server_name: Option<String>,
    /// Locality of the endpoints against the configured local networks.
    pub direction: Direction,
    /// HTTP metadata, for HTTP flows (including `HTTP.X` sub-protocols).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub http: Option<Box<HttpInfo>>,
    /// DNS metadata, for DNS flows.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub dns: Option<Box<DnsInfo>>,
    /// SSH metadata, for SSH flows.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub ssh: Option<Box<SshInfo>>,
    /// TLS or QUIC metadata, for TLS, QUIC, DTLS and TLS-wrapped mail flows.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub tls_quic: Option<Box<TlsQuicInfo>>,
    /// Why the record was emitted; `None` while the flow is still active.
    pub end_reason: Option<EndReason>,
}

impl FlowRecord {
    /// A flow first seen at `first_seen_ms`, not classified yet: no packets counted, protocol
    /// "Unknown", category "Unspecified".
    pub fn new(tuple: FlowTuple, first_seen_ms: u64) -> Self {
        FlowRecord {
            tuple,
            first_seen_ms,
            last_seen_ms: first_seen_ms,
            l7_proto_name: Name::UNKNOWN,
            category: Name::UNSPECIFIED,
            ..FlowRecord::default()
        }
    }

    /// A server packet came after detection: the "no server to client traffic" risk nDPI
    /// raised while it had none no longer holds (nDPI's reader clears it the same way).
    pub(crate) fn server_answered(&mut self) {
        if let Some(risk) = crate::compat::UNIDIRECTIONAL_TRAFFIC {
            if self.risks.contains(risk) {
                self.risks = Risks(self.risks.0 & !(1 << risk.0));
                self.risk_score = self.risks.score();
            }
        }
    }

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
        unicast(&self.tuple.cli_ip) && unicast(&self.tuple.srv_ip)
    }

    /// The most specific protocol: the application, else the master (how nDPI's reader counts
    /// flows per protocol).
    pub fn most_specific_proto(&self) -> ProtocolId {
        match self.l7_proto.is_unknown() {
            true => self.l7_master_proto,
            false => self.l7_proto,
        }
    }
}

/// What identifies a flow on the wire: its L4 protocol, client and server endpoints (the client
/// sent the first packet) and VLAN. [`FlowRecord`] and flowlua's alerts embed it; it serializes
/// inline (`l4_proto`, `cli_ip`, `cli_port`, `srv_ip`, `srv_port`, `vlan_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FlowTuple {
    /// IANA L4 protocol.
    pub l4_proto: L4Proto,
    /// Client address.
    pub cli_ip: IpAddr,
    /// Client port (0 for protocols without ports).
    pub cli_port: u16,
    /// Server address.
    pub srv_ip: IpAddr,
    /// Server port (0 for protocols without ports).
    pub srv_port: u16,
    /// Innermost 802.1Q VLAN ID, 0 when untagged.
    pub vlan_id: u16,
}

impl Default for FlowTuple {
    /// Unspecified IPv4 addresses, ports 0, L4 protocol 0, untagged.
    fn default() -> Self {
        let any = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        FlowTuple {
            l4_proto: L4Proto::default(),
            cli_ip: any,
            cli_port: 0,
            srv_ip: any,
            srv_port: 0,
            vlan_id: 0,
        }
    }
}

/// An IANA protocol number as carried in IPv4's protocol and IPv6's next-header field
/// (6 TCP, 17 UDP, ...). Serializes as the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct L4Proto(pub u8);

impl L4Proto {
    /// ICMP.
    pub const ICMP: L4Proto = L4Proto(1);
    /// TCP.
    pub const TCP: L4Proto = L4Proto(6);
    /// UDP.
    pub const UDP: L4Proto = L4Proto(17);
    /// ICMPv6.
    pub const ICMPV6: L4Proto = L4Proto(58);
    /// IGMP.
    pub const IGMP: L4Proto = L4Proto(2);
    /// VRRP.
    pub const VRRP: L4Proto = L4Proto(112);

    /// The protocol's name as the linked nDPI's reader prints it ("TCP", "UDP", "ICMP",
    /// "ICMPV6", "IGMP", "VRRP"; 4.10 also "ESP", "AH", "GRE", "SCTP", "OSPF", ...); other
    /// numbers as digits.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match crate::compat::L4_NAMES
            .iter()
            .find(|(number, _)| *number == self.0)
        {
            Some((_, name)) => (*name).into(),
            None => self.0.to_string().into(),
        }
    }
}

impl fmt::Display for L4Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Which endpoints of a flow are local, per the configured local networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Direction {
    /// Both endpoints are local.
    #[cfg_attr(feature = "serde", serde(rename = "local@local"))]
    LocalToLocal,
    /// Client local, server remote.
    #[cfg_attr(feature = "serde", serde(rename = "local@remote"))]
    LocalToRemote,
    /// Client remote, server local.
    #[cfg_attr(feature = "serde", serde(rename = "remote@local"))]
    RemoteToLocal,
    /// Neither endpoint is local.
    #[cfg_attr(feature = "serde", serde(rename = "remote2remote"))]
    RemoteToRemote,
    /// No local networks are configured.
    #[default]
    #[cfg_attr(feature = "serde", serde(rename = "unknown"))]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
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
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
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
    /// The response's Server header (nDPI 4.10; `None` with 4.2).
    pub server: Option<String>,
    /// The file name of a Content-Disposition (nDPI 4.10; `None` with 4.2).
    pub filename: Option<String>,
}

/// DNS metadata, under the spec's short keys.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
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
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
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

/// TLS/QUIC metadata, under the spec's short keys (the certificate's fields under ntopng's
/// spellings: `issuerDN`, `subjectDN`, `notBefore`, `notAfter`).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub struct TlsQuicInfo {
    /// SNI from the ClientHello.
    pub client_requested_server_name: Option<String>,
    /// Names from the server certificate (subject alternative names), comma-separated.
    pub server_names: Option<String>,
    /// Certificate issuer DN.
    #[cfg_attr(feature = "serde", serde(rename = "issuerDN"))]
    pub issuer_dn: Option<String>,
    /// Certificate subject DN.
    #[cfg_attr(feature = "serde", serde(rename = "subjectDN"))]
    pub subject_dn: Option<String>,
    /// JA3 client fingerprint.
    pub ja3_client: Option<String>,
    /// JA4 client fingerprint (nDPI 4.10; `None` with 4.2).
    pub ja4_client: Option<String>,
    /// JA3S server fingerprint.
    pub ja3_server: Option<String>,
    /// Certificate validity start, Unix seconds.
    #[cfg_attr(feature = "serde", serde(rename = "notBefore"))]
    pub not_before: Option<u32>,
    /// Certificate validity end, Unix seconds.
    #[cfg_attr(feature = "serde", serde(rename = "notAfter"))]
    pub not_after: Option<u32>,
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
    /// ALPNs offered by the client, comma-separated.
    pub alpn: Option<String>,
    /// The ALPN the server chose (nDPI 4.10; `None` with 4.2).
    pub negotiated_alpn: Option<String>,
    /// Supported versions offered by the client, comma-separated.
    pub tls_supported_versions: Option<String>,
    /// SHA-1 fingerprint of the server certificate, "AA:BB:..." uppercase.
    pub sha1_cert_fingerprint: Option<String>,
    /// User-Agent carried in QUIC transport parameters.
    pub user_agent: Option<String>,
    /// QUIC version ID (nDPI 4.10; `None` with 4.2 and for TLS).
    pub quic_version: Option<u32>,
    /// QUIC version name as nDPI spells it (e.g. "V-1"; nDPI 4.10).
    pub quic_version_name: Option<String>,
}

impl FlowRecord {
    /// Copies the final classification and metadata out of nDPI's flow state.
    pub(crate) fn take_classification(&mut self, flow: &Flow<'_>) {
        let detector = flow.detector();
        let protocol = flow.protocol();
        let url_risk = flow.http().and_then(|h| h.url_risk());
        let risks = Risks(flow.risks().0 | url_risk.map_or(0, |r| 1 << r.0));
        self.l7_master_proto = protocol.master;
        self.l7_proto = protocol.app;
        self.l7_proto_by_ip = protocol.by_ip;
        self.l7_proto_name = detector.shared_protocol_name(protocol);
        self.category = detector.shared_category_name(protocol.category);
        self.confidence = flow.confidence();
        self.guessed = flow.was_guessed();
        self.risks = risks;
        self.risk_score = risks.score();
        let infos: Vec<String> = flow
            .risk_infos()
            .map(|(_, info)| info.to_string_lossy().into_owned())
            .collect();
        self.risk_info = (!infos.is_empty()).then(|| infos.join(" / "));
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
                server: text(h.server),
                filename: text(h.filename),
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
                issuer_dn: text(t.issuer_dn),
                subject_dn: text(t.subject_dn),
                ja3_client: text(t.ja3_client),
                ja4_client: text(t.ja4_client),
                ja3_server: text(t.ja3_server),
                not_before: t.not_before,
                not_after: t.not_after,
                unsafe_cipher: t.cipher_weakness != CipherWeakness::Safe,
                cipher_weakness: t.cipher_weakness,
                server_cipher: t.server_cipher,
                server_cipher_name: t.server_cipher_name(),
                tls_version: t.version,
                tls_version_name: t.version_name(),
                alpn: text(t.alpn),
                negotiated_alpn: text(t.negotiated_alpn),
                tls_supported_versions: text(t.supported_versions),
                sha1_cert_fingerprint: t.cert_sha1.map(|sha| {
                    sha.iter()
                        .map(|b| format!("{b:02X}"))
                        .collect::<Vec<_>>()
                        .join(":")
                }),
                user_agent: text(t.user_agent),
                quic_version: t.quic_version,
                quic_version_name: t.quic_version_name(),
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
