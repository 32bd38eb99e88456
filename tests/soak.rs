//! Soak: nDPI's whole Ethernet test corpus classified 20 times over in one process, each
//! pass with timestamps shifted past the previous one. Resident memory after the last pass
//! must stay within 5% of what it was after the first: no leak growth in nDPI, the wrapper or
//! the tracker. (Alone in its test binary so that the RSS it reads is its own.)

#[path = "../benches/corpus.rs"]
mod corpus;

use ndpi::{Detector, FlowEvent, Frame, LinkType, Tracker, TrackerConfig};

const PASSES: u64 = 20;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn twenty_passes_over_the_corpus_do_not_grow_memory() {
    let frames = corpus::ethernet_frames();
    let span = frames.last().map_or(0, |f| f.time_ms) + 3_600_000;
    let detector = Detector::new().unwrap();
    let mut tracker = Tracker::new(&detector, TrackerConfig::default());
    let mut after_first = 0;
    let mut flows_per_pass = Vec::new();
    for pass in 0..PASSES {
        let mut ended = 0;
        for f in &frames {
            tracker
                .process(
                    LinkType::Ethernet,
                    Frame {
                        data: &f.data,
                        wire_len: f.wire_len,
                        time_ms: f.time_ms + pass * span,
                        link: Some(LinkType::Ethernet),
                    },
                )
                .unwrap();
            ended += tracker
                .drain_events()
                .filter(|e| matches!(e, FlowEvent::Ended(_)))
                .count();
        }
        // Idle expiry at the start of the next pass ends this pass's flows; count them there.
        flows_per_pass.push(ended);
        if pass == 0 {
            after_first = rss_bytes();
        }
    }
    tracker.finish();
    let last = rss_bytes();
    let growth = last as f64 / after_first as f64 - 1.0;
    eprintln!(
        "{} frames x {PASSES} passes: RSS {} MiB after the first pass, {} MiB after the last ({:+.2}%)",
        frames.len(),
        after_first >> 20,
        last >> 20,
        growth * 100.0
    );
    // Every pass after the first sees (and ends) the same flows.
    assert!(
        flows_per_pass[2..].windows(2).all(|w| w[0] == w[1]),
        "{flows_per_pass:?}"
    );
    assert!(
        growth < 0.05,
        "RSS grew {:.2}% over {PASSES} passes",
        growth * 100.0
    );
}
