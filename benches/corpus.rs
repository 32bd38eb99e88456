//! Loads nDPI's Ethernet test captures into memory for the benches.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::IpAddr;

use ndpi::{decode, Capture, DecodeOptions, LinkType, Next};

/// One captured frame, owned.
pub struct Frame {
    pub data: Vec<u8>,
    pub wire_len: u32,
    pub time_ms: u64,
}

/// Every frame of nDPI's Ethernet test captures, in file order, timestamps shifted so the
/// files follow each other (as a merged capture would).
pub fn ethernet_frames() -> Vec<Frame> {
    let paths = ndpi_testdata::pcaps();
    let mut frames = Vec::new();
    let mut offset = 0u64;
    for path in paths {
        let Ok(mut capture) = Capture::open_file(&path) else {
            continue;
        };
        if capture.link_type() != Ok(LinkType::Ethernet) {
            continue;
        }
        let mut base = None;
        let mut last = offset;
        while let Ok(Next::Frame(frame)) = capture.next_frame() {
            let base = *base.get_or_insert(frame.time_ms);
            last = offset + frame.time_ms.saturating_sub(base);
            frames.push(Frame {
                data: frame.data.to_vec(),
                wire_len: frame.wire_len,
                time_ms: last,
            });
        }
        offset = last + 60_000;
    }
    frames
}

/// The decodable packets of `frames` grouped into bidirectional flows (first-seen order),
/// each packet as the L3 bytes nDPI is given plus its timestamp.
pub fn flows(frames: &[Frame]) -> Vec<Vec<(Vec<u8>, u64)>> {
    type Key = (u8, (IpAddr, u16), (IpAddr, u16));
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut flows: Vec<Vec<(Vec<u8>, u64)>> = Vec::new();
    for frame in frames {
        let Ok(p) = decode(LinkType::Ethernet, &frame.data, DecodeOptions::default()) else {
            continue;
        };
        let (a, b) = ((p.src, p.src_port), (p.dst, p.dst_port));
        let key = (p.l4_proto, a.min(b), a.max(b));
        let slot = *index.entry(key).or_insert_with(|| {
            flows.push(Vec::new());
            flows.len() - 1
        });
        flows[slot].push((p.l3.to_vec(), frame.time_ms));
    }
    flows
}
