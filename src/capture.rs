//! Frames from pcap/pcapng files and live interfaces, through libpcap (the `pcap` crate).

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use crate::{CaptureStep, Error, Frame, LinkType};

#[cfg(target_os = "linux")]
mod fanout;

/// The result of one read.
#[derive(Debug)]
pub enum Next<'a> {
    /// A frame.
    Frame(Frame<'a>),
    /// A live capture's read timeout passed without a frame (check your stop conditions).
    Timeout,
    /// The file has no more frames.
    End,
}

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
    /// `i32::MAX` of them). Reads return [`Next::Timeout`] when it passes, so callers can check
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
    fn read_timeout_ms(&self) -> i32 {
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

enum Handle {
    File(pcap::Capture<pcap::Offline>),
    /// Non-blocking, with the read timeout in ms: reads wait for the descriptor with `poll`.
    Live(pcap::Capture<pcap::Active>, i32),
}

/// A pcap/pcapng file or a live interface.
pub struct Capture {
    handle: Handle,
    name: String,
    link: Result<LinkType, i32>,
    frames: u64,
}

impl Capture {
    /// Opens a pcap or pcapng file. A file that is not a capture is refused here, naming it.
    pub fn open_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let name = path.display().to_string();
        if let Err(source) = std::fs::metadata(path) {
            return Err(Error::Io {
                path: path.to_owned(),
                source,
            });
        }
        let handle = pcap::Capture::from_file(path)
            .map_err(|e| capture_error(&name, CaptureStep::OpenFile, e))?;
        let dlt = handle.get_datalink().0;
        Ok(Capture {
            handle: Handle::File(handle),
            name,
            link: LinkType::from_dlt(dlt).ok_or(dlt),
            frames: 0,
        })
    }

    /// Starts a live capture on `interface`: frames arrive in kernel blocks, at most
    /// [`LiveOptions::BLOCK_TIMEOUT`] late, or one by one in immediate mode
    /// ([`LiveOptions::immediate`]). Reads wait at most the `read_timeout`: libpcap's own
    /// timeout is not honoured on an idle Linux interface, so the handle is non-blocking and
    /// reads `poll`.
    pub fn open_live(interface: &str, options: &LiveOptions) -> Result<Self, Error> {
        let name = interface.to_owned();
        // 20 ms: fits an i32.
        let block_ms = LiveOptions::BLOCK_TIMEOUT.as_millis() as i32;
        let mut inactive = pcap::Capture::from_device(interface)
            .map_err(|e| capture_error(&name, CaptureStep::OpenLive, e))?
            .promisc(options.promiscuous)
            .snaplen(options.snaplen)
            .timeout(match options.immediate {
                true => options.read_timeout_ms(),
                false => block_ms,
            })
            .immediate_mode(options.immediate);
        if let Some(size) = options.buffer_size {
            inactive = inactive.buffer_size(size);
        }
        let handle = inactive
            .open()
            .and_then(|h| h.setnonblock())
            .map_err(|e| capture_error(&name, CaptureStep::OpenLive, e))?;
        let dlt = handle.get_datalink().0;
        Ok(Capture {
            handle: Handle::Live(handle, options.read_timeout_ms()),
            name,
            link: LinkType::from_dlt(dlt).ok_or(dlt),
            frames: 0,
        })
    }

    /// The file name or interface.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The link type, or the raw `DLT_*` number when the decoder does not support it.
    pub fn link_type(&self) -> Result<LinkType, i32> {
        self.link
    }

    /// Frames read so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// Applies a BPF filter (tcpdump syntax).
    pub fn set_filter(&mut self, bpf: &str) -> Result<(), Error> {
        let result = match &mut self.handle {
            Handle::File(h) => h.filter(bpf, true),
            Handle::Live(h, _) => h.filter(bpf, true),
        };
        result.map_err(|e| capture_error(&self.name, CaptureStep::Filter(bpf.to_owned()), e))
    }

    /// Reads the next frame. A damaged file gives an error naming the file and the byte
    /// offset where reading stopped; frames read before it remain valid.
    pub fn next_frame(&mut self) -> Result<Next<'_>, Error> {
        // Taken before the read: the error path below cannot borrow the handle again.
        let file = match &self.handle {
            Handle::File(h) => Some(h.as_ptr().cast::<std::ffi::c_void>()),
            Handle::Live(..) => None,
        };
        let result = match &mut self.handle {
            Handle::File(h) => h.next_packet(),
            Handle::Live(h, timeout_ms) => {
                if !readable(h.as_raw_fd(), *timeout_ms) {
                    return Ok(Next::Timeout);
                }
                h.next_packet()
            }
        };
        match result {
            Ok(packet) => {
                self.frames += 1;
                let ts = packet.header.ts;
                // Saturating: a pcapng file may claim any 64-bit time (e.g. in units of seconds).
                let time_ms = (ts.tv_sec.max(0) as u64)
                    .saturating_mul(1000)
                    .saturating_add(ts.tv_usec.max(0) as u64 / 1000);
                Ok(Next::Frame(Frame {
                    data: packet.data,
                    wire_len: packet.header.len,
                    time_ms,
                }))
            }
            Err(pcap::Error::NoMorePackets) => Ok(Next::End),
            Err(pcap::Error::TimeoutExpired) => Ok(Next::Timeout),
            Err(e) => {
                let step = CaptureStep::Read {
                    frames: self.frames,
                    offset: file.and_then(file_offset),
                };
                Err(capture_error(&self.name, step, e))
            }
        }
    }

    /// libpcap's statistics, for live captures.
    pub fn stats(&mut self) -> Option<CaptureStats> {
        match &mut self.handle {
            Handle::Live(h, _) => h.stats().ok().map(|s| CaptureStats {
                received: s.received,
                dropped: s.dropped,
                if_dropped: s.if_dropped,
            }),
            Handle::File(_) => None,
        }
    }
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.handle {
            Handle::File(_) => "file",
            Handle::Live(..) => "live",
        };
        f.debug_struct("Capture")
            .field("name", &self.name)
            .field("kind", &kind)
            .field("link", &self.link)
            .field("frames", &self.frames)
            .finish()
    }
}

/// Waits up to `timeout_ms` for `fd` to have data (or an error to report).
fn readable(fd: std::os::fd::RawFd, timeout_ms: i32) -> bool {
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

fn capture_error(name: &str, step: CaptureStep, source: pcap::Error) -> Error {
    Error::Capture {
        source_name: name.to_owned(),
        step,
        source,
    }
}

extern "C" {
    /// libpcap: the stdio stream of an offline capture.
    fn pcap_file(p: *mut std::ffi::c_void) -> *mut libc::FILE;
}

/// Where libpcap's reader stands in the file of the offline capture `handle`.
fn file_offset(handle: *mut std::ffi::c_void) -> Option<i64> {
    // SAFETY: `handle` belongs to an open offline capture (the caller still owns it), so
    // pcap_file returns its open stream (or NULL, checked); ftell only reads the position.
    unsafe {
        let file = pcap_file(handle);
        if file.is_null() {
            return None;
        }
        let offset = libc::ftell(file);
        (offset >= 0).then_some(offset as i64)
    }
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
