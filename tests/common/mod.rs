//! Helpers shared by the integration tests: where nDPI's test data is, and a minimal driver
//! from a capture file to flow records.
#![allow(dead_code)]

pub mod files;
pub mod frames;

use std::path::Path;

use ndpi::{Detector, FlowRecord, TrackerConfig};

#[allow(unused_imports)] // each test binary uses its own part
pub use ndpi_testdata::{pcap, reference_detector};

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
