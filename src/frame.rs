//! The frame: what every source of traffic hands to the flow tracker.

use crate::LinkType;

/// One captured frame, borrowed from wherever it was read (a memory-mapped file, libpcap's
/// buffer until the next read, a batch in memory, a fuzzer's input). [`Capture`](crate::Capture) produces it,
/// [`Tracker::process`](crate::Tracker::process) consumes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The captured bytes (possibly fewer than `wire_len`).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub wire_len: u32,
    /// Capture timestamp, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The link type of the interface the frame was captured on, when its source knows it and
    /// the decoder handles it. [`Capture`](crate::Capture) sets it: in a pcapng file each
    /// interface has its own. [`Tracker::process`](crate::Tracker::process) takes the link
    /// type as an argument and does not look here.
    pub link: Option<LinkType>,
}

impl<'a> Frame<'a> {
    /// A frame of `data` captured whole (`wire_len` is its length) at `time_ms`, of no known
    /// link type.
    pub fn new(data: &'a [u8], time_ms: u64) -> Self {
        Frame {
            data,
            wire_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            time_ms,
            link: None,
        }
    }
}
