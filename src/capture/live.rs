//! Live captures through libpcap: their settings and statistics, and the wait for a frame.

use std::time::Duration;

/// Settings of a live capture. New settings may be added in any release: start from
/// [`LiveOptions::default`] and use the setters (or assign the fields).
///
/// ```
/// use std::time::Duration;
/// let options = ndpi::LiveOptions::default()
///     .promiscuous(false)
///     .read_timeout(Duration::from_millis(100));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveOptions {
    /// Bytes captured per frame (default 262144, tcpdump's: loopback and offloaded frames can
    /// exceed 64 KiB).
    pub snaplen: i32,
    /// Put the interface in promiscuous mode (default on).
    pub promiscuous: bool,
    /// Kernel buffer size in bytes (default 64 MiB, [`LiveOptions::DEFAULT_BUFFER_SIZE`], room
    /// for bursts; `None`: libpcap's default, 2 MiB on Linux). Frames that arrive while it is
    /// full are lost, and counted in [`CaptureStats::dropped`].
    pub buffer_size: Option<i32>,
    /// How long one read waits for a frame (default 250 ms; whole milliseconds, at most
    /// `i32::MAX` of them). Reads return [`Next::Timeout`](crate::Next::Timeout) when it passes, so callers can check
    /// Ctrl-C and deadlines.
    pub read_timeout: Duration,
    /// Hand over each frame as it arrives (libpcap's immediate mode), instead of in blocks that
    /// the kernel passes on when full or after [`LiveOptions::BLOCK_TIMEOUT`] (default off).
    /// On Linux, immediate mode makes libpcap use a ring of one slot per frame, each as large
    /// as the snaplen, so a 64 MiB buffer holds only ~250 frames of the default snaplen: on a
    /// replay at top speed it lost 40-75% of the frames where block mode lost none.
    pub immediate: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            snaplen: 262_144,
            promiscuous: true,
            buffer_size: Some(LiveOptions::DEFAULT_BUFFER_SIZE),
            read_timeout: Duration::from_millis(250),
            immediate: false,
        }
    }
}

impl LiveOptions {
    /// The default kernel buffer size: 64 MiB.
    pub const DEFAULT_BUFFER_SIZE: i32 = 64 << 20;
    /// Out of immediate mode, the longest a frame waits in a kernel block before it is handed
    /// over (libpcap's timeout): 20 ms.
    pub const BLOCK_TIMEOUT: Duration = Duration::from_millis(20);

    /// Sets [`immediate`](LiveOptions::immediate).
    pub fn immediate(mut self, on: bool) -> Self {
        self.immediate = on;
        self
    }

    /// Sets [`snaplen`](LiveOptions::snaplen).
    pub fn snaplen(mut self, bytes: i32) -> Self {
        self.snaplen = bytes;
        self
    }

    /// Sets [`promiscuous`](LiveOptions::promiscuous).
    pub fn promiscuous(mut self, on: bool) -> Self {
        self.promiscuous = on;
        self
    }

    /// Sets [`buffer_size`](LiveOptions::buffer_size).
    pub fn buffer_size(mut self, bytes: Option<i32>) -> Self {
        self.buffer_size = bytes;
        self
    }

    /// Sets [`read_timeout`](LiveOptions::read_timeout).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The read timeout in whole milliseconds, as libpcap and `poll` take it.
    pub(super) fn read_timeout_ms(&self) -> i32 {
        i32::try_from(self.read_timeout.as_millis()).unwrap_or(i32::MAX)
    }
}

/// libpcap's capture statistics of a live capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames received by the filter.
    pub received: u32,
    /// Frames dropped because the buffer was full.
    pub dropped: u32,
    /// Frames dropped by the interface or its driver.
    pub if_dropped: u32,
}

/// Waits up to `timeout_ms` for `fd` to have data (or an error to report).
pub(super) fn readable(fd: std::os::fd::RawFd, timeout_ms: i32) -> bool {
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let ready = unsafe { libc::poll(&mut pollfd, 1, timeout_ms) };
    // On EINTR (e.g. Ctrl-C) report a timeout so that the caller checks its stop flag.
    ready > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_defaults_keep_whole_frames_and_absorb_bursts() {
        let options = LiveOptions::default();
        assert_eq!(options.snaplen, 262_144);
        assert_eq!(options.buffer_size, Some(64 * 1024 * 1024));
        assert!(options.promiscuous);
        assert_eq!(options.read_timeout_ms(), 250);
        assert_eq!(
            LiveOptions::default().buffer_size(None).buffer_size,
            None,
            "libpcap's default stays available"
        );
    }
}
