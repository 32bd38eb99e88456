//! The frame: what every source of traffic hands to the flow tracker.

/// One captured frame, borrowed from wherever it was read (libpcap's buffer until the next
/// read, a batch in memory, a fuzzer's input). [`Capture`](crate::Capture) produces it,
/// [`Tracker::process`](crate::Tracker::process) consumes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The captured bytes (possibly fewer than `wire_len`).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub wire_len: u32,
    /// Capture timestamp, milliseconds since the Unix epoch.
    pub time_ms: u64,
}

impl<'a> Frame<'a> {
    /// A frame of `data` captured whole (`wire_len` is its length) at `time_ms`.
    pub fn new(data: &'a [u8], time_ms: u64) -> Self {
        Frame {
            data,
            wire_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            time_ms,
        }
    }
}
