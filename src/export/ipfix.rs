//! The IPFIX (RFC 7011) encoding of flow records: message and set headers, the templates, data
//! records, and a small decoder (for tests, and to check what a collector receives).
//!
//! # Layout (RFC 7011 §3)
//! A message is a 16-byte header (version 10, total length, export time in Unix seconds,
//! sequence number, observation domain ID) followed by sets. Each set starts with a 4-byte
//! header (set ID, length including the header): set ID 2 carries templates, IDs ≥ 256 carry
//! data records of that template. A data set is padded with zero bytes to a multiple of 4
//! octets (the padding is counted in the set length and shorter than any record, §3.3.1).
//! All numbers are in network byte order. The sequence number is the count, modulo 2³², of
//! data records sent in the observation domain before this message (§3.1).
//!
//! # One record per flow: RFC 5103 biflows
//! Each flow is one record: the forward (client → server) counters are the standard
//! `octetDeltaCount` (1) and `packetDeltaCount` (2); the reverse direction's are RFC 5103's
//! reverse elements, the same element IDs under the reverse PEN 29305. Source is the client
//! (the endpoint that sent the first packet), destination the server.
//!
//! # Templates
//! Ten templates: IPv4 or IPv6, times the L7 metadata the flow has (none, HTTP, DNS, SSH,
//! TLS/QUIC). See [`TemplateKind`] and the element constants in [`ie`].
//!
//! # Application ID (RFC 6759)
//! `applicationId` (95) is 7 octets: classification engine ID 20 (PANA-L7-PEN), then ntop's
//! private enterprise number 35632 (4 octets), then the nDPI protocol ID as a 2-octet
//! selector: the application protocol, else the master (as nDPI's reader counts flows). nDPI's
//! protocol IDs are defined by ntop, so ntop's PEN is their naming authority, which is what
//! engine 20 is for; nProbe reports the same numbers.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::{EndReason, FlowRecord};

/// IPFIX's version number in the message header.
pub const VERSION: u16 = 10;
/// Octets of the message header.
pub const MESSAGE_HEADER_LEN: usize = 16;
/// Octets of a set header.
pub const SET_HEADER_LEN: usize = 4;
/// The set ID of template sets.
pub const TEMPLATE_SET_ID: u16 = 2;
/// The smallest template (and data set) ID.
pub const FIRST_TEMPLATE_ID: u16 = 256;
/// A field length of 65535 in a template: variable length (RFC 7011 §7).
pub const VARIABLE_LENGTH: u16 = 65535;
/// ntop's IANA private enterprise number: the naming authority of nDPI's protocol IDs, and the
/// PEN of this crate's L7 metadata elements.
pub const NTOP_PEN: u32 = 35632;
/// RFC 5103's reverse information element PEN.
pub const REVERSE_PEN: u32 = 29305;
/// RFC 6759 classification engine ID: PANA-L7-PEN (a PEN, then a selector defined by it).
pub const ENGINE_PANA_L7_PEN: u8 = 20;

/// A template field: an information element, its length in the records (or
/// [`VARIABLE_LENGTH`]) and its enterprise number (`None`: IANA's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field {
    /// The element ID (15 bits).
    pub id: u16,
    /// Octets in each record, or [`VARIABLE_LENGTH`].
    pub length: u16,
    /// The private enterprise number of an enterprise-specific element.
    pub enterprise: Option<u32>,
}

impl Field {
    const fn iana(id: u16, length: u16) -> Field {
        Field {
            id,
            length,
            enterprise: None,
        }
    }

    const fn ntop(id: u16, length: u16) -> Field {
        Field {
            id,
            length,
            enterprise: Some(NTOP_PEN),
        }
    }

    const fn reverse(id: u16, length: u16) -> Field {
        Field {
            id,
            length,
            enterprise: Some(REVERSE_PEN),
        }
    }
}

/// The information elements of the templates.
pub mod ie {
    use super::{Field, VARIABLE_LENGTH as V};

    /// `octetDeltaCount`: client → server bytes since the previous record of the flow.
    pub const OCTET_DELTA_COUNT: Field = Field::iana(1, 8);
    /// `packetDeltaCount`: client → server packets since the previous record of the flow.
    pub const PACKET_DELTA_COUNT: Field = Field::iana(2, 8);
    /// `protocolIdentifier`: the L4 protocol.
    pub const PROTOCOL_IDENTIFIER: Field = Field::iana(4, 1);
    /// `sourceTransportPort`: the client's port.
    pub const SOURCE_TRANSPORT_PORT: Field = Field::iana(7, 2);
    /// `sourceIPv4Address`: the client.
    pub const SOURCE_IPV4_ADDRESS: Field = Field::iana(8, 4);
    /// `destinationTransportPort`: the server's port.
    pub const DESTINATION_TRANSPORT_PORT: Field = Field::iana(11, 2);
    /// `destinationIPv4Address`: the server.
    pub const DESTINATION_IPV4_ADDRESS: Field = Field::iana(12, 4);
    /// `sourceIPv6Address`: the client.
    pub const SOURCE_IPV6_ADDRESS: Field = Field::iana(27, 16);
    /// `destinationIPv6Address`: the server.
    pub const DESTINATION_IPV6_ADDRESS: Field = Field::iana(28, 16);
    /// `vlanId`: the innermost VLAN, 0 untagged.
    pub const VLAN_ID: Field = Field::iana(58, 2);
    /// `applicationId` (RFC 6759): engine 20, ntop's PEN, the nDPI protocol ID.
    pub const APPLICATION_ID: Field = Field::iana(95, 7);
    /// `flowEndReason`: 1 idle, 2 active timeout, 3 end of flow, 4 forced end, 5 lack of
    /// resources.
    pub const FLOW_END_REASON: Field = Field::iana(136, 1);
    /// `flowStartMilliseconds`: the flow's first packet.
    pub const FLOW_START_MILLISECONDS: Field = Field::iana(152, 8);
    /// `flowEndMilliseconds`: the flow's last packet so far.
    pub const FLOW_END_MILLISECONDS: Field = Field::iana(153, 8);
    /// `reverseOctetDeltaCount` (RFC 5103): server → client bytes.
    pub const REVERSE_OCTET_DELTA_COUNT: Field = Field::reverse(1, 8);
    /// `reversePacketDeltaCount` (RFC 5103): server → client packets.
    pub const REVERSE_PACKET_DELTA_COUNT: Field = Field::reverse(2, 8);

    /// nDPI master protocol ID (unsigned16).
    pub const NDPI_MASTER_PROTOCOL: Field = Field::ntop(30001, 2);
    /// nDPI application protocol ID (unsigned16).
    pub const NDPI_APP_PROTOCOL: Field = Field::ntop(30002, 2);
    /// nDPI protocol name, "TLS.Google" style (string).
    pub const NDPI_PROTOCOL_NAME: Field = Field::ntop(30003, V);
    /// nDPI category name (string).
    pub const NDPI_CATEGORY: Field = Field::ntop(30004, V);
    /// nDPI's host name of the flow: HTTP Host, TLS/QUIC SNI, DNS query, ... (string).
    pub const SERVER_NAME: Field = Field::ntop(30005, V);
    /// HTTP request URL (string).
    pub const HTTP_URL: Field = Field::ntop(30010, V);
    /// HTTP User-Agent (string).
    pub const HTTP_USER_AGENT: Field = Field::ntop(30011, V);
    /// HTTP response status code, 0 when no response was seen (unsigned16).
    pub const HTTP_STATUS_CODE: Field = Field::ntop(30012, 2);
    /// DNS query name (string).
    pub const DNS_QUERY: Field = Field::ntop(30020, V);
    /// DNS response code, 255 when no response was seen (unsigned8).
    pub const DNS_RESPONSE_CODE: Field = Field::ntop(30021, 1);
    /// SSH client banner (string).
    pub const SSH_CLIENT_BANNER: Field = Field::ntop(30030, V);
    /// SSH server banner (string).
    pub const SSH_SERVER_BANNER: Field = Field::ntop(30031, V);
    /// JA3 client fingerprint (string).
    pub const JA3_CLIENT: Field = Field::ntop(30040, V);
    /// JA3S server fingerprint (string).
    pub const JA3_SERVER: Field = Field::ntop(30041, V);
    /// JA4 client fingerprint (string; empty with nDPI 4.2, which has none).
    pub const JA4_CLIENT: Field = Field::ntop(30042, V);
}

/// The L7 metadata a template carries besides the common fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    /// The common fields only.
    Plain,
    /// + URL, User-Agent, status code.
    Http,
    /// + query, response code.
    Dns,
    /// + client and server banners.
    Ssh,
    /// + JA3 client, JA3S server and JA4 client.
    Tls,
}

impl TemplateKind {
    /// Every kind, in template ID order.
    pub const ALL: [TemplateKind; 5] = [
        TemplateKind::Plain,
        TemplateKind::Http,
        TemplateKind::Dns,
        TemplateKind::Ssh,
        TemplateKind::Tls,
    ];

    /// The kind a record is exported with: the metadata it has.
    pub fn of(record: &FlowRecord) -> TemplateKind {
        if record.http.is_some() {
            TemplateKind::Http
        } else if record.dns.is_some() {
            TemplateKind::Dns
        } else if record.ssh.is_some() {
            TemplateKind::Ssh
        } else if record.tls_quic.is_some() {
            TemplateKind::Tls
        } else {
            TemplateKind::Plain
        }
    }

    fn extra(self) -> &'static [Field] {
        match self {
            TemplateKind::Plain => &[],
            TemplateKind::Http => &[ie::HTTP_URL, ie::HTTP_USER_AGENT, ie::HTTP_STATUS_CODE],
            TemplateKind::Dns => &[ie::DNS_QUERY, ie::DNS_RESPONSE_CODE],
            TemplateKind::Ssh => &[ie::SSH_CLIENT_BANNER, ie::SSH_SERVER_BANNER],
            TemplateKind::Tls => &[ie::JA3_CLIENT, ie::JA3_SERVER, ie::JA4_CLIENT],
        }
    }

    /// The template ID for this kind and address family: 256-260 IPv4, 261-265 IPv6.
    pub fn template_id(self, ipv6: bool) -> u16 {
        let index = TemplateKind::ALL
            .iter()
            .position(|k| *k == self)
            .expect("listed") as u16;
        FIRST_TEMPLATE_ID + index + if ipv6 { 5 } else { 0 }
    }

    /// The template's fields, in record order.
    pub fn fields(self, ipv6: bool) -> Vec<Field> {
        let (src, dst) = match ipv6 {
            false => (ie::SOURCE_IPV4_ADDRESS, ie::DESTINATION_IPV4_ADDRESS),
            true => (ie::SOURCE_IPV6_ADDRESS, ie::DESTINATION_IPV6_ADDRESS),
        };
        let mut fields = vec![
            ie::FLOW_START_MILLISECONDS,
            ie::FLOW_END_MILLISECONDS,
            ie::OCTET_DELTA_COUNT,
            ie::PACKET_DELTA_COUNT,
            ie::REVERSE_OCTET_DELTA_COUNT,
            ie::REVERSE_PACKET_DELTA_COUNT,
            src,
            dst,
            ie::SOURCE_TRANSPORT_PORT,
            ie::DESTINATION_TRANSPORT_PORT,
            ie::PROTOCOL_IDENTIFIER,
            ie::VLAN_ID,
            ie::FLOW_END_REASON,
            ie::APPLICATION_ID,
            ie::NDPI_MASTER_PROTOCOL,
            ie::NDPI_APP_PROTOCOL,
            ie::NDPI_PROTOCOL_NAME,
            ie::NDPI_CATEGORY,
            ie::SERVER_NAME,
        ];
        fields.extend_from_slice(self.extra());
        fields
    }
}

/// The `flowEndReason` (136) of a record: 1 idle timeout, 3 end of flow (FIN, RST), 4 forced
/// end (end of the capture), 5 lack of resources (evicted from a full table); `None` (the flow
/// still active): 2, active timeout.
pub fn flow_end_reason(reason: Option<EndReason>) -> u8 {
    match reason {
        Some(EndReason::Idle) => 1,
        None => 2,
        Some(EndReason::Fin | EndReason::Rst) => 3,
        Some(EndReason::CaptureEnd) => 4,
        Some(EndReason::Evicted) => 5,
    }
}

/// Packets and bytes per direction: what one record reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Client → server packets.
    pub cli2srv_packets: u64,
    /// Client → server bytes.
    pub cli2srv_bytes: u64,
    /// Server → client packets.
    pub srv2cli_packets: u64,
    /// Server → client bytes.
    pub srv2cli_bytes: u64,
}

impl Counts {
    /// The record's totals so far.
    pub fn of(record: &FlowRecord) -> Counts {
        Counts {
            cli2srv_packets: record.cli2srv_packets,
            cli2srv_bytes: record.cli2srv_bytes,
            srv2cli_packets: record.srv2cli_packets,
            srv2cli_bytes: record.srv2cli_bytes,
        }
    }

    /// What `self` has more than `before` (saturating).
    pub fn since(self, before: Counts) -> Counts {
        Counts {
            cli2srv_packets: self.cli2srv_packets.saturating_sub(before.cli2srv_packets),
            cli2srv_bytes: self.cli2srv_bytes.saturating_sub(before.cli2srv_bytes),
            srv2cli_packets: self.srv2cli_packets.saturating_sub(before.srv2cli_packets),
            srv2cli_bytes: self.srv2cli_bytes.saturating_sub(before.srv2cli_bytes),
        }
    }
}

/// Writes a variable-length value's length prefix (RFC 7011 §7): one octet below 255, else
/// 255 then two octets.
pub fn write_varlen_prefix(out: &mut Vec<u8>, len: usize) {
    match u8::try_from(len) {
        Ok(short) if short < 255 => out.push(short),
        _ => {
            out.push(255);
            out.extend_from_slice(&(len.min(65535) as u16).to_be_bytes());
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn write_str(out: &mut Vec<u8>, s: Option<&str>, max: usize) {
    let s = truncate(s.unwrap_or(""), max.min(65535));
    write_varlen_prefix(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn ipv6_of(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Encodes one data record of `record` with `counts` as its deltas and `end` as its
/// `flowEndReason`, strings cut to `max_str` bytes. Returns its template ID.
pub fn encode_record(
    out: &mut Vec<u8>,
    record: &FlowRecord,
    counts: Counts,
    end: u8,
    max_str: usize,
) -> u16 {
    let t = &record.tuple;
    let ipv6 = !(t.cli_ip.is_ipv4() && t.srv_ip.is_ipv4());
    let kind = TemplateKind::of(record);
    out.extend_from_slice(&record.first_seen_ms.to_be_bytes());
    out.extend_from_slice(&record.last_seen_ms.to_be_bytes());
    out.extend_from_slice(&counts.cli2srv_bytes.to_be_bytes());
    out.extend_from_slice(&counts.cli2srv_packets.to_be_bytes());
    out.extend_from_slice(&counts.srv2cli_bytes.to_be_bytes());
    out.extend_from_slice(&counts.srv2cli_packets.to_be_bytes());
    match (t.cli_ip, t.srv_ip) {
        (IpAddr::V4(c), IpAddr::V4(s)) => {
            out.extend_from_slice(&c.octets());
            out.extend_from_slice(&s.octets());
        }
        (c, s) => {
            out.extend_from_slice(&ipv6_of(c));
            out.extend_from_slice(&ipv6_of(s));
        }
    }
    out.extend_from_slice(&t.cli_port.to_be_bytes());
    out.extend_from_slice(&t.srv_port.to_be_bytes());
    out.push(t.l4_proto.0);
    out.extend_from_slice(&t.vlan_id.to_be_bytes());
    out.push(end);
    out.push(ENGINE_PANA_L7_PEN);
    out.extend_from_slice(&NTOP_PEN.to_be_bytes());
    out.extend_from_slice(&record.most_specific_proto().0.to_be_bytes());
    out.extend_from_slice(&record.l7_master_proto.0.to_be_bytes());
    out.extend_from_slice(&record.l7_proto.0.to_be_bytes());
    write_str(out, Some(&record.l7_proto_name), max_str);
    write_str(out, Some(&record.category), max_str);
    write_str(out, record.host_server_name.as_deref(), max_str);
    match kind {
        TemplateKind::Plain => {}
        TemplateKind::Http => {
            let http = record.http.as_deref().expect("an HTTP record");
            write_str(out, http.url.as_deref(), max_str);
            write_str(out, http.user_agent.as_deref(), max_str);
            out.extend_from_slice(&http.return_code.unwrap_or(0).to_be_bytes());
        }
        TemplateKind::Dns => {
            let dns = record.dns.as_deref().expect("a DNS record");
            write_str(out, dns.last_query.as_deref(), max_str);
            out.push(dns.last_return_code.unwrap_or(255));
        }
        TemplateKind::Ssh => {
            let ssh = record.ssh.as_deref().expect("an SSH record");
            write_str(out, ssh.client_signature.as_deref(), max_str);
            write_str(out, ssh.server_signature.as_deref(), max_str);
        }
        TemplateKind::Tls => {
            let tls = record.tls_quic.as_deref().expect("a TLS record");
            write_str(out, tls.ja3_client.as_deref(), max_str);
            write_str(out, tls.ja3_server.as_deref(), max_str);
            write_str(out, tls.ja4_client.as_deref(), max_str);
        }
    }
    kind.template_id(ipv6)
}

/// Appends one template record (RFC 7011 §3.4.1): template ID, field count, then each field
/// specifier (element ID with the enterprise bit, length, and the PEN if enterprise-specific).
pub fn encode_template(out: &mut Vec<u8>, id: u16, fields: &[Field]) {
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for f in fields {
        let bit = if f.enterprise.is_some() { 0x8000 } else { 0 };
        out.extend_from_slice(&(f.id | bit).to_be_bytes());
        out.extend_from_slice(&f.length.to_be_bytes());
        if let Some(pen) = f.enterprise {
            out.extend_from_slice(&pen.to_be_bytes());
        }
    }
}

/// Every template this encoder uses, as (ID, fields).
pub fn templates() -> Vec<(u16, Vec<Field>)> {
    [false, true]
        .into_iter()
        .flat_map(|v6| {
            TemplateKind::ALL
                .into_iter()
                .map(move |k| (k.template_id(v6), k.fields(v6)))
        })
        .collect()
}

/// Builds messages of at most a given size for one observation domain, and keeps its
/// sequence number.
#[derive(Debug)]
pub struct Encoder {
    domain: u32,
    max_message: usize,
    /// Data records encoded so far (RFC 7011's sequence number), modulo 2³².
    sequence: u32,
    /// The message being built, header included (filled at the end).
    message: Vec<u8>,
    /// The sequence number of the message being built.
    message_sequence: u32,
    /// The open set: its ID and where its header starts.
    open_set: Option<(u16, usize)>,
    records_in_message: u32,
    scratch: Vec<u8>,
    /// Records whose strings were cut to fit a message.
    pub truncated: u64,
}

/// The smallest message size the encoder accepts: room for the header, a set header and the
/// largest fixed-size part of a record.
pub const MIN_MESSAGE: usize = 256;

impl Encoder {
    /// An encoder for `domain` whose messages are at most `max_message` octets (at least
    /// [`MIN_MESSAGE`], at most 65535).
    pub fn new(domain: u32, max_message: usize) -> Encoder {
        Encoder {
            domain,
            max_message: max_message.clamp(MIN_MESSAGE, 65535),
            sequence: 0,
            message: Vec::new(),
            message_sequence: 0,
            open_set: None,
            records_in_message: 0,
            scratch: Vec::new(),
            truncated: 0,
        }
    }

    /// The current sequence number: data records encoded so far.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// The most octets a message may have.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// Data records in the message being built.
    pub fn pending_records(&self) -> u32 {
        self.records_in_message
    }

    fn start_message(&mut self) {
        self.message.clear();
        self.message.resize(MESSAGE_HEADER_LEN, 0);
        self.message_sequence = self.sequence;
        self.open_set = None;
        self.records_in_message = 0;
    }

    /// Closes the open set: pads it to 4 octets and writes its length.
    fn close_set(&mut self) {
        if let Some((_, start)) = self.open_set.take() {
            while !(self.message.len() - start).is_multiple_of(4) {
                self.message.push(0);
            }
            let len = (self.message.len() - start) as u16;
            self.message[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
        }
    }

    fn open_set(&mut self, id: u16) {
        if self.open_set.map(|(open, _)| open) == Some(id) {
            return;
        }
        self.close_set();
        let start = self.message.len();
        self.message.extend_from_slice(&id.to_be_bytes());
        self.message.extend_from_slice(&[0, 0]);
        self.open_set = Some((id, start));
    }

    /// Octets the message would have with `len` more octets in a set `id`, padding included.
    fn size_with(&self, id: u16, len: usize) -> usize {
        let pad = |n: usize| (4 - n % 4) % 4;
        match self.open_set {
            Some((open, start)) if open == id => {
                let end = self.message.len() + len;
                end + pad(end - start)
            }
            Some((_, start)) => {
                let closed = self.message.len() + pad(self.message.len() - start);
                closed + SET_HEADER_LEN + len + pad(SET_HEADER_LEN + len)
            }
            None => {
                let base = self.message.len().max(MESSAGE_HEADER_LEN);
                base + SET_HEADER_LEN + len + pad(SET_HEADER_LEN + len)
            }
        }
    }

    /// Finishes the message being built, if it has any set: its header gets the length,
    /// `export_time` (Unix seconds), the sequence number and the domain.
    pub fn flush(&mut self, export_time: u32) -> Option<Vec<u8>> {
        if self.message.len() <= MESSAGE_HEADER_LEN {
            return None;
        }
        self.close_set();
        let mut message = std::mem::take(&mut self.message);
        write_header(
            &mut message,
            export_time,
            self.message_sequence,
            self.domain,
        );
        self.start_message();
        Some(message)
    }

    /// The template sets of every template, in as many messages as they need. The message
    /// being built is finished first (the first returned message) when it has records.
    pub fn templates(&mut self, export_time: u32) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self.flush(export_time).into_iter().collect();
        for (id, fields) in templates() {
            self.scratch.clear();
            encode_template(&mut self.scratch, id, &fields);
            if self.size_with(TEMPLATE_SET_ID, self.scratch.len()) > self.max_message {
                out.extend(self.flush(export_time));
            }
            if self.message.is_empty() {
                self.start_message();
            }
            self.open_set(TEMPLATE_SET_ID);
            let scratch = std::mem::take(&mut self.scratch);
            self.message.extend_from_slice(&scratch);
            self.scratch = scratch;
        }
        out.extend(self.flush(export_time));
        out
    }

    /// Adds a data record; returns the message it did not fit in, finished, if there was one.
    /// Strings are cut (and [`Encoder::truncated`] counts the record) when the record would
    /// not fit in a message of its own.
    pub fn push(
        &mut self,
        record: &FlowRecord,
        counts: Counts,
        end: u8,
        export_time: u32,
    ) -> Option<Vec<u8>> {
        if self.message.is_empty() {
            self.start_message();
        }
        let alone = |len: usize| MESSAGE_HEADER_LEN + SET_HEADER_LEN + len + 3;
        let mut max_str = 65535;
        let id = loop {
            self.scratch.clear();
            let id = encode_record(&mut self.scratch, record, counts, end, max_str);
            if alone(self.scratch.len()) <= self.max_message || max_str == 0 {
                break id;
            }
            max_str = match max_str {
                65535 => self.max_message / 2,
                n => n / 2,
            };
        };
        if max_str != 65535 {
            self.truncated += 1;
        }
        let mut done = None;
        if self.size_with(id, self.scratch.len()) > self.max_message {
            done = self.flush(export_time);
        }
        self.open_set(id);
        let scratch = std::mem::take(&mut self.scratch);
        self.message.extend_from_slice(&scratch);
        self.scratch = scratch;
        self.records_in_message += 1;
        self.sequence = self.sequence.wrapping_add(1);
        done
    }
}

/// Writes the message header into the first 16 octets of `message` (whose length it takes).
pub fn write_header(message: &mut [u8], export_time: u32, sequence: u32, domain: u32) {
    let len = message.len() as u16;
    message[0..2].copy_from_slice(&VERSION.to_be_bytes());
    message[2..4].copy_from_slice(&len.to_be_bytes());
    message[4..8].copy_from_slice(&export_time.to_be_bytes());
    message[8..12].copy_from_slice(&sequence.to_be_bytes());
    message[12..16].copy_from_slice(&domain.to_be_bytes());
}

/// A message header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Octets of the whole message.
    pub length: u16,
    /// Unix seconds.
    pub export_time: u32,
    /// Data records sent before this message.
    pub sequence: u32,
    /// Observation domain ID.
    pub domain: u32,
}

/// One decoded data record: its template ID and each field's raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRecord {
    /// The template (set) ID.
    pub template: u16,
    /// The fields, in template order, with their values.
    pub values: Vec<(Field, Vec<u8>)>,
}

impl DataRecord {
    /// The value of `field`, if the record has it.
    pub fn get(&self, field: Field) -> Option<&[u8]> {
        self.values
            .iter()
            .find(|(f, _)| f.id == field.id && f.enterprise == field.enterprise)
            .map(|(_, v)| v.as_slice())
    }

    /// An unsigned value of `field`, of 1 to 8 octets.
    pub fn uint(&self, field: Field) -> Option<u64> {
        let v = self.get(field)?;
        (1..=8)
            .contains(&v.len())
            .then(|| v.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
    }

    /// A string value of `field`.
    pub fn string(&self, field: Field) -> Option<String> {
        self.get(field)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// Why a message did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

fn err<T>(text: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(text.into()))
}

/// A minimal collector: remembers the templates it is sent and decodes data records with
/// them. Strict about lengths, so that tests catch encoding mistakes.
#[derive(Debug, Default)]
pub struct Decoder {
    templates: HashMap<(u32, u16), Vec<Field>>,
}

impl Decoder {
    /// A decoder that knows no template yet.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Decodes one message: its header and data records (those of unknown templates are
    /// skipped). Templates are remembered for later messages.
    pub fn decode(&mut self, msg: &[u8]) -> Result<(Header, Vec<DataRecord>), DecodeError> {
        if msg.len() < MESSAGE_HEADER_LEN {
            return err("shorter than a message header");
        }
        let u16_at = |b: &[u8], i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u32_at = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if u16_at(msg, 0) != VERSION {
            return err(format!("version {}", u16_at(msg, 0)));
        }
        let header = Header {
            length: u16_at(msg, 2),
            export_time: u32_at(msg, 4),
            sequence: u32_at(msg, 8),
            domain: u32_at(msg, 12),
        };
        if usize::from(header.length) != msg.len() {
            return err(format!(
                "header length {} for {} octets",
                header.length,
                msg.len()
            ));
        }
        let mut records = Vec::new();
        let mut at = MESSAGE_HEADER_LEN;
        while at < msg.len() {
            if msg.len() - at < SET_HEADER_LEN {
                return err("truncated set header");
            }
            let (id, len) = (u16_at(msg, at), usize::from(u16_at(msg, at + 2)));
            if len < SET_HEADER_LEN || at + len > msg.len() {
                return err(format!("set {id} of length {len} at {at}"));
            }
            let set = &msg[at + SET_HEADER_LEN..at + len];
            if !len.is_multiple_of(4) {
                return err(format!(
                    "set {id} of length {len} is not padded to 4 octets"
                ));
            }
            match id {
                TEMPLATE_SET_ID => self.templates_of(header.domain, set)?,
                0..=255 => {}
                _ => {
                    let Some(fields) = self.templates.get(&(header.domain, id)) else {
                        at += len;
                        continue;
                    };
                    let mut rest = set;
                    // What is left after the last record is padding: fewer octets than a
                    // record, all zero.
                    while !(rest.is_empty() || rest.len() < 4 && rest.iter().all(|b| *b == 0)) {
                        let (record, used) = decode_record(id, fields, rest)?;
                        records.push(record);
                        rest = &rest[used..];
                    }
                }
            }
            at += len;
        }
        Ok((header, records))
    }

    fn templates_of(&mut self, domain: u32, mut set: &[u8]) -> Result<(), DecodeError> {
        let take = |set: &mut &[u8], n: usize| -> Result<Vec<u8>, DecodeError> {
            if set.len() < n {
                return err("truncated template");
            }
            let (head, tail) = set.split_at(n);
            *set = tail;
            Ok(head.to_vec())
        };
        while set.len() >= 4 {
            let head = take(&mut set, 4)?;
            let id = u16::from_be_bytes([head[0], head[1]]);
            let count = u16::from_be_bytes([head[2], head[3]]);
            let mut fields = Vec::new();
            for _ in 0..count {
                let spec = take(&mut set, 4)?;
                let raw = u16::from_be_bytes([spec[0], spec[1]]);
                let length = u16::from_be_bytes([spec[2], spec[3]]);
                let enterprise = match raw & 0x8000 {
                    0 => None,
                    _ => {
                        let pen = take(&mut set, 4)?;
                        Some(u32::from_be_bytes([pen[0], pen[1], pen[2], pen[3]]))
                    }
                };
                fields.push(Field {
                    id: raw & 0x7fff,
                    length,
                    enterprise,
                });
            }
            self.templates.insert((domain, id), fields);
        }
        Ok(())
    }
}

fn decode_record(
    template: u16,
    fields: &[Field],
    data: &[u8],
) -> Result<(DataRecord, usize), DecodeError> {
    let mut at = 0;
    let mut values = Vec::with_capacity(fields.len());
    for field in fields {
        let len = match field.length {
            VARIABLE_LENGTH => {
                let Some(&first) = data.get(at) else {
                    return err("truncated variable-length prefix");
                };
                at += 1;
                match first {
                    255 => {
                        let Some(two) = data.get(at..at + 2) else {
                            return err("truncated long variable-length prefix");
                        };
                        at += 2;
                        usize::from(u16::from_be_bytes([two[0], two[1]]))
                    }
                    n => usize::from(n),
                }
            }
            n => usize::from(n),
        };
        let Some(value) = data.get(at..at + len) else {
            return err(format!("record of template {template} truncated"));
        };
        values.push((*field, value.to_vec()));
        at += len;
    }
    Ok((DataRecord { template, values }, at))
}

#[cfg(test)]
#[path = "ipfix_tests.rs"]
mod tests;
