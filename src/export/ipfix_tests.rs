//! The encoder against RFC 7011's byte layouts, and through the decoder.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::{FlowTuple, HttpInfo, L4Proto, ProtocolId, SshInfo};

fn record(ip: IpAddr, port: u16) -> FlowRecord {
    let tuple = FlowTuple {
        l4_proto: L4Proto::TCP,
        cli_ip: ip,
        cli_port: port,
        srv_ip: match ip {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        },
        srv_port: 80,
        vlan_id: 7,
    };
    let mut r = FlowRecord::new(tuple, 1_700_000_000_123);
    r.last_seen_ms = 1_700_000_001_456;
    r.cli2srv_packets = 3;
    r.cli2srv_bytes = 300;
    r.srv2cli_packets = 2;
    r.srv2cli_bytes = 2000;
    r.l7_master_proto = ProtocolId(7);
    r.l7_proto = ProtocolId(126);
    r.l7_proto_name = "HTTP.Google".into();
    r.category = "Web".into();
    r.host_server_name = Some("example.org".into());
    r.end_reason = Some(EndReason::Fin);
    r
}

fn v4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

#[test]
fn template_record_layout() {
    // RFC 7011 §3.4.1 and §3.2: template ID, field count, then (ID, length) and, with the
    // enterprise bit set, the PEN.
    let mut out = Vec::new();
    encode_template(
        &mut out,
        256,
        &[
            ie::SOURCE_IPV4_ADDRESS,
            ie::SERVER_NAME,
            ie::REVERSE_OCTET_DELTA_COUNT,
        ],
    );
    assert_eq!(
        out,
        [
            0x01, 0x00, 0x00, 0x03, // template 256, 3 fields
            0x00, 0x08, 0x00, 0x04, // sourceIPv4Address, 4 octets
            0xF5, 0x35, 0xFF, 0xFF, 0x00, 0x00, 0x8B, 0x30, // 1|30005, variable, PEN 35632
            0x80, 0x01, 0x00, 0x08, 0x00, 0x00, 0x72, 0x79, // 1|1, 8 octets, PEN 29305
        ]
    );
}

#[test]
fn variable_length_prefix() {
    // RFC 7011 §7: one octet below 255, else 255 and two octets.
    let prefix = |len| {
        let mut out = Vec::new();
        write_varlen_prefix(&mut out, len);
        out
    };
    assert_eq!(prefix(0), [0]);
    assert_eq!(prefix(254), [254]);
    assert_eq!(prefix(255), [255, 0, 255]);
    assert_eq!(prefix(1000), [255, 0x03, 0xE8]);
}

#[test]
fn template_messages_fit_and_decode() {
    let mut encoder = Encoder::new(9, 1400);
    let messages = encoder.templates(1234);
    let mut decoder = Decoder::new();
    let mut ids = 0;
    for m in &messages {
        assert!(m.len() <= 1400);
        assert_eq!(u16_at(m, 0), 10, "version");
        assert_eq!(usize::from(u16_at(m, 2)), m.len(), "length");
        assert_eq!(u32_at(m, 4), 1234, "export time");
        assert_eq!(u32_at(m, 8), 0, "no data record before");
        assert_eq!(u32_at(m, 12), 9, "domain");
        assert_eq!(u16_at(m, 16), TEMPLATE_SET_ID);
        assert_eq!(usize::from(u16_at(m, 18)), m.len() - 16, "one set");
        ids += (m.len() - 20) / 4; // not exact, just nonzero
        decoder.decode(m).unwrap();
    }
    assert!(ids > 0);
    assert_eq!(decoder.templates.len(), 10);
    for (id, fields) in templates() {
        assert_eq!(decoder.templates[&(9, id)], fields);
    }
}

#[test]
fn data_record_round_trip() {
    let mut r = record(v4(), 40000);
    r.http = Some(Box::new(HttpInfo {
        url: Some("example.org/index.html".into()),
        user_agent: Some("curl/7.88".into()),
        return_code: Some(200),
        ..HttpInfo::default()
    }));
    let mut encoder = Encoder::new(1, 1400);
    let mut decoder = Decoder::new();
    for t in encoder.templates(0) {
        decoder.decode(&t).unwrap();
    }
    assert!(encoder.push(&r, Counts::of(&r), 3, 5).is_none());
    let message = encoder.flush(5).unwrap();
    assert_eq!(message.len() % 4, 0, "the one set is padded to 4 octets");
    assert_eq!(usize::from(u16_at(&message, 18)), message.len() - 16);
    assert_eq!(u16_at(&message, 16), TemplateKind::Http.template_id(false));
    let (header, records) = decoder.decode(&message).unwrap();
    assert_eq!(header.sequence, 0);
    assert_eq!(records.len(), 1);
    let d = &records[0];
    assert_eq!(d.uint(ie::FLOW_START_MILLISECONDS), Some(1_700_000_000_123));
    assert_eq!(d.uint(ie::FLOW_END_MILLISECONDS), Some(1_700_000_001_456));
    assert_eq!(d.uint(ie::OCTET_DELTA_COUNT), Some(300));
    assert_eq!(d.uint(ie::PACKET_DELTA_COUNT), Some(3));
    assert_eq!(d.uint(ie::REVERSE_OCTET_DELTA_COUNT), Some(2000));
    assert_eq!(d.uint(ie::REVERSE_PACKET_DELTA_COUNT), Some(2));
    assert_eq!(d.get(ie::SOURCE_IPV4_ADDRESS), Some(&[10, 0, 0, 1][..]));
    assert_eq!(
        d.get(ie::DESTINATION_IPV4_ADDRESS),
        Some(&[10, 0, 0, 2][..])
    );
    assert_eq!(d.uint(ie::SOURCE_TRANSPORT_PORT), Some(40000));
    assert_eq!(d.uint(ie::DESTINATION_TRANSPORT_PORT), Some(80));
    assert_eq!(d.uint(ie::PROTOCOL_IDENTIFIER), Some(6));
    assert_eq!(d.uint(ie::VLAN_ID), Some(7));
    assert_eq!(d.uint(ie::FLOW_END_REASON), Some(3));
    // RFC 6759: engine 20 (PANA-L7-PEN), PEN 35632, selector = nDPI's ID (126, Google).
    assert_eq!(
        d.get(ie::APPLICATION_ID),
        Some(&[20, 0x00, 0x00, 0x8B, 0x30, 0, 126][..])
    );
    assert_eq!(d.uint(ie::NDPI_MASTER_PROTOCOL), Some(7));
    assert_eq!(d.uint(ie::NDPI_APP_PROTOCOL), Some(126));
    assert_eq!(
        d.string(ie::NDPI_PROTOCOL_NAME).as_deref(),
        Some("HTTP.Google")
    );
    assert_eq!(d.string(ie::NDPI_CATEGORY).as_deref(), Some("Web"));
    assert_eq!(d.string(ie::SERVER_NAME).as_deref(), Some("example.org"));
    assert_eq!(
        d.string(ie::HTTP_URL).as_deref(),
        Some("example.org/index.html")
    );
    assert_eq!(d.string(ie::HTTP_USER_AGENT).as_deref(), Some("curl/7.88"));
    assert_eq!(d.uint(ie::HTTP_STATUS_CODE), Some(200));
}

#[test]
fn ipv6_and_long_strings() {
    let mut r = record(IpAddr::V6("2001:db8::1".parse().unwrap()), 5555);
    let banner = "SSH-2.0-".to_owned() + &"x".repeat(392);
    r.ssh = Some(Box::new(SshInfo {
        client_signature: Some(banner.clone()),
        server_signature: None,
        ..SshInfo::default()
    }));
    let mut encoder = Encoder::new(1, 1400);
    let mut decoder = Decoder::new();
    for t in encoder.templates(0) {
        decoder.decode(&t).unwrap();
    }
    encoder.push(&r, Counts::of(&r), 4, 0);
    let message = encoder.flush(0).unwrap();
    // The 400-byte banner: 255, then 0x0190; the empty server banner: one zero octet.
    let at = message
        .windows(3)
        .position(|w| w == [255, 0x01, 0x90])
        .expect("long prefix");
    assert_eq!(&message[at + 3..at + 11], b"SSH-2.0-");
    assert_eq!(message[at + 403], 0, "empty string: length 0");
    let (_, records) = decoder.decode(&message).unwrap();
    let d = &records[0];
    assert_eq!(d.template, TemplateKind::Ssh.template_id(true));
    assert_eq!(d.template, 264);
    assert_eq!(d.string(ie::SSH_CLIENT_BANNER), Some(banner));
    assert_eq!(d.string(ie::SSH_SERVER_BANNER).as_deref(), Some(""));
    assert_eq!(
        d.get(ie::SOURCE_IPV6_ADDRESS),
        Some(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets()[..])
    );
    assert_eq!(d.uint(ie::FLOW_END_REASON), Some(4));
    assert_eq!(encoder.truncated, 0);
}

#[test]
fn records_too_long_are_cut_to_fit() {
    let mut r = record(v4(), 1);
    r.host_server_name = Some("h".repeat(5000));
    let mut encoder = Encoder::new(1, 1400);
    let mut decoder = Decoder::new();
    for t in encoder.templates(0) {
        decoder.decode(&t).unwrap();
    }
    encoder.push(&r, Counts::of(&r), 1, 0);
    let message = encoder.flush(0).unwrap();
    assert!(message.len() <= 1400, "{}", message.len());
    assert_eq!(encoder.truncated, 1);
    let (_, records) = decoder.decode(&message).unwrap();
    let name = records[0].string(ie::SERVER_NAME).unwrap();
    assert!(!name.is_empty() && name.len() < 1400);
}

#[test]
fn records_split_across_messages_with_sequence_numbers() {
    let mut encoder = Encoder::new(3, 300);
    let mut decoder = Decoder::new();
    for t in encoder.templates(0) {
        assert!(t.len() <= 300);
        decoder.decode(&t).unwrap();
    }
    let mut messages = Vec::new();
    for i in 0..20u16 {
        // IPv4 and IPv6 records alternate: each switch opens a new set.
        let ip = match i % 2 {
            0 => v4(),
            _ => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        let r = record(ip, i);
        messages.extend(encoder.push(&r, Counts::of(&r), 1, 0));
    }
    messages.extend(encoder.flush(0));
    assert!(messages.len() > 3);
    let mut seen = 0u32;
    let mut ports = Vec::new();
    for m in &messages {
        assert!(m.len() <= 300, "{}", m.len());
        let (header, records) = decoder.decode(m).unwrap();
        assert_eq!(header.sequence, seen, "records sent before this message");
        assert_eq!(header.domain, 3);
        seen += records.len() as u32;
        ports.extend(
            records
                .iter()
                .map(|r| r.uint(ie::SOURCE_TRANSPORT_PORT).unwrap()),
        );
        // Every set is padded to 4 octets and the sets fill the message.
        let mut at = 16;
        while at < m.len() {
            let len = usize::from(u16_at(m, at + 2));
            assert_eq!(len % 4, 0);
            at += len;
        }
        assert_eq!(at, m.len());
    }
    assert_eq!(seen, 20);
    assert_eq!(encoder.sequence(), 20);
    assert_eq!(ports, (0..20).collect::<Vec<u64>>());
}

#[test]
fn end_reasons() {
    assert_eq!(flow_end_reason(Some(EndReason::Idle)), 1);
    assert_eq!(flow_end_reason(None), 2);
    assert_eq!(flow_end_reason(Some(EndReason::Fin)), 3);
    assert_eq!(flow_end_reason(Some(EndReason::Rst)), 3);
    assert_eq!(flow_end_reason(Some(EndReason::CaptureEnd)), 4);
    assert_eq!(flow_end_reason(Some(EndReason::Evicted)), 5);
}

#[test]
fn decoder_refuses_bad_lengths() {
    let mut encoder = Encoder::new(1, 1400);
    let mut message = encoder.templates(0).remove(0);
    let mut decoder = Decoder::new();
    message.push(0);
    assert!(decoder.decode(&message).is_err(), "header length mismatch");
    message.pop();
    message[18] = 0xFF; // the set is longer than the message
    assert!(decoder.decode(&message).is_err());
    assert!(decoder.decode(&[0, 10]).is_err());
}
