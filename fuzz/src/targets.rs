//! The bodies of the `decode`, `pipeline` and `pcap` fuzz targets and their input encoding.
//! The regression test `tests/fuzz_regressions.rs` includes this file, so that every input
//! kept in `tests/data/fuzz-regressions/TARGET/` replays exactly as the fuzzer ran it.
//!
//! `decode` input:   [link byte] [frame ...]
//! `pipeline` input: [link byte] [config byte] then frames, each [len: u16 BE] [time step] [frame]
//! `pcap` input:     a file, as libpcap reads it
//!
//! The link byte's low nibble picks the link type (modulo the 10 the decoder knows) and its
//! bit 7 turns tunnel decoding on. A time step is a signed count of 100 ms: negative steps make
//! timestamps go backwards.

use std::path::Path;
use std::time::Duration;

use ndpi::{
    decode, Capture, Cidr, DecodeOptions, Detector, FlowEvent, Frame, LinkType, Next, Tracker,
    TrackerConfig,
};

/// Every link type the decoder handles, in link-byte order.
pub const LINKS: [LinkType; 10] = [
    LinkType::Null,
    LinkType::Loop,
    LinkType::Ethernet,
    LinkType::Ppp,
    LinkType::PppSerial,
    LinkType::CiscoHdlc,
    LinkType::RawIp,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Radiotap,
];

const TUNNELS: u8 = 0x80;

/// The link type and decoder options a link byte selects.
pub fn link_byte(byte: u8) -> (LinkType, DecodeOptions) {
    let link = LINKS[usize::from(byte & 0x0F) % LINKS.len()];
    let options = DecodeOptions::default().decode_tunnels(byte & TUNNELS != 0);
    (link, options)
}

/// The link byte for `link` with tunnel decoding on.
pub fn encode_link(link: LinkType) -> u8 {
    let index = LINKS
        .iter()
        .position(|l| *l == link)
        .expect("a known link type");
    index as u8 | TUNNELS
}

/// The tracker settings a config byte selects: bit 0 ends TCP flows on FIN/RST, bits 1-3 cap
/// the table at 2^n flows (evictions), bit 4 sets a 30 s idle timeout, bit 5 a 1 s periodic
/// interval.
pub fn config_byte(byte: u8, decode: DecodeOptions) -> TrackerConfig {
    TrackerConfig::ndpi_reader_offline()
        .tcp_end(byte & 0x01 != 0)
        .max_flows(1 << ((byte >> 1) & 0x07))
        .idle_timeout((byte & 0x10 != 0).then_some(Duration::from_secs(30)))
        .periodic_interval((byte & 0x20 != 0).then_some(Duration::from_secs(1)))
        .decode(decode)
        .local_networks(
            ["10.0.0.0/8", "192.168.0.0/16", "fe80::/10"]
                .map(|c| c.parse::<Cidr>().expect("a valid CIDR")),
        )
}

/// The config byte seeds use: FIN/RST ends flows, 128 flows at most, idle timeout, periodic.
pub const SEED_CONFIG: u8 = 0x01 | (7 << 1) | 0x10 | 0x20;

/// The timed frames of a pipeline input, after its two header bytes. A last frame shorter
/// than its length prefix is taken as it is.
pub fn frames(mut data: &[u8]) -> impl Iterator<Item = (i8, &[u8])> + '_ {
    std::iter::from_fn(move || {
        let [hi, lo, step, rest @ ..] = data else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let (frame, next) = rest.split_at(len.min(rest.len()));
        data = next;
        Some((*step as i8, frame))
    })
}

/// Appends one timed frame in the pipeline encoding (frames longer than 65535 bytes are cut).
pub fn push_frame(input: &mut Vec<u8>, step: i8, frame: &[u8]) {
    let frame = &frame[..frame.len().min(usize::from(u16::MAX))];
    input.extend_from_slice(&(frame.len() as u16).to_be_bytes());
    input.push(step as u8);
    input.extend_from_slice(frame);
}

/// The `decode` target: one frame, any link type, tunnels on or off.
pub fn decode_target(data: &[u8]) {
    let Some((&first, frame)) = data.split_first() else {
        return;
    };
    let (link, options) = link_byte(first);
    if let Ok(packet) = decode(link, frame, options) {
        // What nDPI is handed starts at an IP header and runs to the end of the frame.
        assert_eq!(packet.l3.as_ptr_range().end, frame.as_ptr_range().end);
        assert!(matches!(packet.l3.first().map(|b| b >> 4), Some(4 | 6)));
        assert_eq!(packet.src.is_ipv4(), packet.l3[0] >> 4 == 4);
    }
}

/// 2020-09-13, in ms: far enough from 0 that backward steps stay positive.
const START_MS: i64 = 1_600_000_000_000;

/// The `pipeline` target: timed frames → flow table → nDPI → metadata → JSON flow records.
pub fn pipeline_target(detector: &Detector, data: &[u8]) {
    let [link, config, rest @ ..] = data else {
        return;
    };
    let (link, options) = link_byte(*link);
    let config = config_byte(*config, options);
    let max_flows = config.max_flows;
    let mut tracker = Tracker::new(detector, config);
    let (mut time_ms, mut ended) = (START_MS, 0);
    for (step, frame) in frames(rest) {
        time_ms += i64::from(step) * 100;
        tracker
            .process(link, Frame::new(frame, time_ms as u64))
            .expect("nDPI allocates a flow");
        ended += emit(&mut tracker);
    }
    finish(tracker, ended, max_flows);
}

/// The `pcap` target: a capture file through the crate's pcap/pcapng reader (the memory-mapped
/// path), then the tracker, as the `classify` example reads one (tunnel decoding on).
pub fn pcap_target(detector: &Detector, file: &Path) {
    let Ok(mut capture) = Capture::open_file(file) else {
        return;
    };
    let config =
        TrackerConfig::ndpi_reader_offline().decode(DecodeOptions::default().decode_tunnels(true));
    let max_flows = config.max_flows;
    let mut tracker = Tracker::new(detector, config);
    let mut ended = 0;
    // A read error ends the file like its end does (frames before it were processed). Each
    // frame carries its interface's link type; frames of unsupported ones are counted drops.
    while let Ok(Next::Frame(frame)) = capture.next_frame() {
        tracker.process_frame(frame).expect("nDPI allocates a flow");
        ended += emit(&mut tracker);
    }
    finish(tracker, ended, max_flows);
}

/// Writes every pending event's record as a JSON line would be written (and parses it back);
/// returns how many flows ended.
fn emit(tracker: &mut Tracker<'_>) -> u64 {
    let mut ended = 0;
    for event in tracker.drain_events() {
        let json = serde_json::to_string(event.record()).expect("a record serializes");
        let back: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(back["l7_proto_name"], event.record().l7_proto_name.as_str());
        ended += u64::from(matches!(event, FlowEvent::Ended(_)));
    }
    ended
}

/// Ends the capture and checks the books: every frame is a packet or a counted drop, every flow
/// created ended exactly once with its record emitted, and the table respected its cap.
fn finish(mut tracker: Tracker<'_>, mut ended: u64, max_flows: usize) {
    tracker.finish();
    ended += emit(&mut tracker);
    let stats = tracker.stats();
    assert_eq!(tracker.active_flows(), 0);
    assert_eq!(stats.packets + stats.dropped.total(), stats.frames);
    assert_eq!(stats.flows_created, ended);
    assert_eq!(stats.flows_ended.total(), ended);
    assert!(stats.max_active_flows <= max_flows.max(1) as u64);
}
