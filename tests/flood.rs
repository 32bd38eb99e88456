//! A flood of 1,000,000 distinct flows through a table capped at 100,000: the cap holds,
//! every evicted flow is reported, and memory stays under a stated bound.
//! (Alone in its test binary so that the RSS it reads is its own.)

mod common;

use std::net::Ipv4Addr;

use common::frames::udp;
use ndpi::{Detector, EndReason, FlowEvent, Frame, LinkType, Tracker, TrackerConfig};

const FLOWS: u32 = 1_000_000;
const CAP: usize = 100_000;
/// Resident memory the 100,000-flow table may add. Each flow still in detection holds
/// nDPI's flow state (688 bytes in 4.2, 1,088 in 4.10, exactly: the detector's pool) plus its
/// table entry (160 bytes with its key and links) and its share of the map's index (~12
/// bytes); 400 bytes beyond nDPI's state leave room for the allocator (the system's here:
/// 259 measured, with the churn of 900,000 evicted flows).
fn bound_bytes() -> u64 {
    let ndpi = std::mem::size_of::<ndpi::sys::ndpi_flow_struct>() as u64;
    CAP as u64 * (ndpi + 400)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn a_million_flows_stay_within_the_cap_and_the_memory_bound() {
    let detector = Detector::new().unwrap();
    let config = TrackerConfig::default().max_flows(CAP).idle_timeout(None);
    let mut tracker = Tracker::new(&detector, config);
    let before = rss_bytes();
    let mut evicted = 0u64;
    let mut peak = 0;
    for i in 0..FLOWS {
        let src = Ipv4Addr::from(0x0a00_0000 | (i >> 8));
        let frame = udp(
            (src, (i & 0xff) as u16 + 1024),
            (Ipv4Addr::new(192, 0, 2, 1), 5000),
            b"flood",
        );
        tracker
            .process(LinkType::Ethernet, Frame::new(&frame, u64::from(i)))
            .unwrap();
        evicted += tracker
            .drain_events()
            .filter(|e| matches!(e, FlowEvent::Ended(_)))
            .count() as u64;
        if i % 50_000 == 0 {
            peak = peak.max(rss_bytes());
        }
    }
    peak = peak.max(rss_bytes());
    let grown = peak.saturating_sub(before);
    eprintln!(
        "{FLOWS} flows, cap {CAP}: RSS grew {} MiB ({} bytes per tracked flow)",
        grown >> 20,
        grown / CAP as u64
    );
    assert_eq!(tracker.active_flows(), CAP);
    assert_eq!(tracker.stats().max_active_flows, CAP as u64);
    assert_eq!(evicted, u64::from(FLOWS) - CAP as u64);
    assert_eq!(tracker.stats().ended(EndReason::Evicted), evicted);
    assert!(
        grown < bound_bytes(),
        "RSS grew {grown} bytes, bound {}",
        bound_bytes()
    );
    tracker.finish();
    let ended = tracker
        .drain_events()
        .filter(|e| matches!(e, FlowEvent::Ended(_)))
        .count();
    assert_eq!(ended, CAP, "the rest are reported at the end");
}
