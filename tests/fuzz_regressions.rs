//! Inputs with which the fuzzers (`fuzz/`) once found a bug, kept in
//! `tests/data/fuzz-regressions/TARGET/` and replayed through the fuzz target's own body
//! (`fuzz/src/targets.rs`), so that each fix stays fixed in the default test run.
//!
//! `flowlua` inputs need the flowlua fuzz target to decode (`fuzz/run.sh flowlua` replays them);
//! the bug each one found is pinned down here by a test of its root cause.

mod common;
// The seed builder's half of the encoding is unused here.
#[allow(dead_code)]
#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

use common::frames::udp;
use common::reference_detector;
use ndpi::{Capture, Detector, FlowEvent, Frame, LinkType, Next, Tracker, TrackerConfig};

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions")
}

/// The kept inputs of one target, sorted; each is named after the bug it found.
fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = regressions().join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.expect("a readable directory").path())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Every kept `decode`, `pipeline` and `pcap` input, through its target's body; each is named
/// before it runs, so a panic shows which.
#[test]
fn kept_inputs_replay_cleanly() {
    let detector = reference_detector();
    let mut replayed = 0;
    for target in ["decode", "pipeline", "pcap"] {
        for input in inputs(target) {
            eprintln!("replaying {}", input.display());
            let data = std::fs::read(&input).unwrap();
            match target {
                "decode" => targets::decode_target(&data),
                "pipeline" => targets::pipeline_target(&detector, &data),
                _ => targets::pcap_target(&detector, &input),
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "the kept inputs are found");
}

/// flowlua/record-packets-overflow: a hand-built record with counters near `u64::MAX` made
/// `FlowRecord::packets` (through `is_oneway`, behind `flow.is_oneway()`) and `bytes` overflow.
/// They saturate now.
#[test]
fn record_totals_saturate_at_the_counter_limit() {
    assert!(!inputs("flowlua").is_empty(), "the flowlua input is kept");
    let detector = Detector::new().unwrap();
    let mut tracker = Tracker::new(&detector, TrackerConfig::default());
    let frame = udp(
        ([10, 0, 0, 1].into(), 5000),
        ([10, 0, 0, 2].into(), 6000),
        b"x",
    );
    tracker
        .process(LinkType::Ethernet, Frame::new(&frame, 0))
        .unwrap();
    tracker.finish();
    let mut record = match tracker.drain_events().next_back() {
        Some(FlowEvent::Ended(record)) => record,
        other => panic!("expected the flow's end, got {other:?}"),
    };
    (record.cli2srv_packets, record.srv2cli_packets) = (u64::MAX, 2);
    (record.cli2srv_bytes, record.srv2cli_bytes) = (u64::MAX - 1, u64::MAX);
    assert_eq!(record.packets(), u64::MAX);
    assert_eq!(record.bytes(), u64::MAX);
    assert!(!record.is_oneway());
}

/// pcap/pcapng-seconds-timestamp-overflow.pcapng: an interface whose `if_tsresol` is 10^0 (whole
/// seconds) and a packet stamped 2^63 - 16 seconds: converting to milliseconds overflowed in
/// `Capture::next_frame`. It saturates now.
#[test]
fn pcapng_times_beyond_the_millisecond_range_saturate() {
    let file = regressions().join("pcap/pcapng-seconds-timestamp-overflow.pcapng");
    let mut capture = Capture::open_file(file).unwrap();
    match capture.next_frame().unwrap() {
        Next::Frame(frame) => assert_eq!(frame.time_ms, u64::MAX),
        other => panic!("expected the frame, got {other:?}"),
    }
}
