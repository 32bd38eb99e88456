//! Helpers shared by the integration tests: where nDPI's test data is, and a minimal driver
//! from a capture file to flow records.
#![allow(dead_code)]

pub mod files;
pub mod frames;

use std::path::{Path, PathBuf};

use ndpi::{Detector, FlowRecord, TrackerConfig};

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
    let events = match ndpi::classify_file(detector, pcap, config) {
        Ok(events) => events,
        Err(e) => return (Vec::new(), Some(e.to_string())),
    };
    let (mut records, mut error) = (Vec::new(), None);
    for record in events.records() {
        match record {
            Ok(record) => records.push(record),
            Err(e) => error = Some(e.to_string()),
        }
    }
    (records, error)
}
