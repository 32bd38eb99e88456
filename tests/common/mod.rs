//! Helpers shared by the integration tests: where nDPI's test data is, and a minimal driver
//! from a capture file to flow records.
#![allow(dead_code)]

pub mod frames;

use std::path::{Path, PathBuf};

use ndpi::{Capture, Detector, FlowEvent, FlowRecord, Next, Tracker, TrackerConfig};

/// The unpacked nDPI 4.2 source (`vendor/fetch.sh`).
pub fn ndpi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor/nDPI")
}

/// One of nDPI's test captures.
pub fn pcap(name: &str) -> PathBuf {
    ndpi_dir().join("tests/pcap").join(name)
}

/// A detector loaded with the five custom files nDPI's own tests use.
pub fn reference_detector() -> Detector {
    let example = ndpi_dir().join("example");
    Detector::builder()
        .protocols_file(example.join("protos.txt"))
        .categories_file(example.join("categories.txt"))
        .risky_domains_file(example.join("risky_domains.txt"))
        .ja3_fingerprints_file(example.join("ja3_fingerprints.csv"))
        .sha1_fingerprints_file(example.join("sha1_fingerprints.csv"))
        .build()
        .expect("nDPI's example files load")
}

/// Runs one capture through a tracker; returns the ended flows' records and the read error,
/// if reading stopped early.
pub fn classify(
    detector: &Detector,
    pcap: &Path,
    config: TrackerConfig,
) -> (Vec<FlowRecord>, Option<String>) {
    let mut tracker = Tracker::new(detector, config);
    let mut error = None;
    match Capture::open_file(pcap) {
        Err(e) => error = Some(e.to_string()),
        Ok(mut capture) => match capture.link_type() {
            Err(dlt) => error = Some(format!("unsupported link type {dlt}")),
            Ok(link) => loop {
                match capture.next_frame() {
                    Ok(Next::Frame(frame)) => tracker
                        .process(link, frame.data, frame.wire_len, frame.time_ms)
                        .expect("nDPI allocates"),
                    Ok(Next::End | Next::Timeout) => break,
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            },
        },
    }
    tracker.finish();
    let records = tracker
        .drain_events()
        .filter_map(|e| match e {
            FlowEvent::Ended(r) => Some(r),
            _ => None,
        })
        .collect();
    (records, error)
}
