//! Frames from capture files and live interfaces.
//!
//! - `file`: pcap and pcapng files, memory-mapped and parsed in place (`format`, with
//!   pcap-parser), or streamed from standard input or a pipe; frames are lent without a copy.
//!   BPF filters on files run through libpcap (`filter`).
//! - `live`: live interfaces through libpcap (the `pcap` crate); `fanout` joins several
//!   captures of one interface in an AF_PACKET fanout group.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::{CaptureStep, Error, Frame, LinkType};

#[cfg(target_os = "linux")]
mod fanout;
mod file;
mod filter;
mod format;
mod live;

use file::{FileReader, Input, ReadError};
pub use file::{MapLease, SharedMap};
pub use live::{CaptureStats, LiveOptions};

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

enum Handle {
    File(FileReader),
    /// Non-blocking, with the read timeout in ms: reads wait for the descriptor with `poll`.
    Live(pcap::Capture<pcap::Active>, i32),
}

/// A pcap/pcapng file, a stream of one, or a live interface.
///
/// Files are read by the crate's own reader: a regular file is memory-mapped and each frame
/// is lent straight from the map, without a copy; standard input, pipes and other files that
/// cannot be mapped are read through a buffer. Both read classic pcap (either byte order,
/// micro- or nanosecond time stamps) and pcapng (several sections and interfaces, each
/// interface with its own link type and time resolution; enhanced, simple and obsolete packet
/// blocks), and hand out the frames, lengths and times libpcap would. Live interfaces go
/// through libpcap.
pub struct Capture {
    handle: Handle,
    name: String,
    link: Result<LinkType, i32>,
    frames: u64,
}

impl Capture {
    /// Opens a pcap or pcapng file; `-` is standard input (as in libpcap and tcpdump). A file
    /// that is not a capture is refused here, naming it.
    ///
    /// A regular file is memory-mapped: it must not be truncated while it is being read (the
    /// process would get SIGBUS, as any program reading a mapped file would). Other files
    /// (pipes, devices, `/dev/stdin`) are read as streams, as [`Capture::from_reader`] does.
    pub fn open_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            return Capture::from_reader("standard input", std::io::stdin());
        }
        let io_error = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let input = match file.metadata().map_err(io_error)?.is_file() {
            true => Input::map(&file).map_err(io_error)?,
            false => Input::stream(Box::new(file)),
        };
        Capture::from_input(path.display().to_string(), input)
    }

    /// Reads a pcap or pcapng capture from a stream (standard input, a pipe, a decompressor),
    /// through a buffer; `name` names it in errors. The frames, and the errors of a damaged
    /// capture, are those a file of the same bytes gives.
    pub fn from_reader(
        name: impl Into<String>,
        reader: impl Read + Send + 'static,
    ) -> Result<Self, Error> {
        Capture::from_input(name.into(), Input::stream(Box::new(reader)))
    }

    fn from_input(name: String, input: Input) -> Result<Self, Error> {
        match FileReader::open(input) {
            Ok(reader) => Ok(Capture {
                link: reader.link_type(),
                handle: Handle::File(reader),
                name,
                frames: 0,
            }),
            Err(e) => Err(read_error(name, CaptureStep::OpenFile, e)),
        }
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

    /// The link type of the capture (of a pcapng file's first interface; each frame carries
    /// its own in [`Frame::link`]), or the raw `DLT_*` number when the decoder does not
    /// support it.
    pub fn link_type(&self) -> Result<LinkType, i32> {
        self.link
    }

    /// The memory map of a file's bytes, shared: every frame this capture lends lies inside it
    /// ([`SharedMap::range_of`] says where), and stays readable for as long as a `SharedMap`
    /// lives, after the next read and even after the capture is dropped. With it, a frame's
    /// bytes can go to another thread by reference instead of by copy; a
    /// [lease](SharedMap::lease) keeps its pages mapped until that thread has read them (the
    /// capture hands the pages it has read back to the kernel as it goes on). `None` for
    /// standard input, pipes and live captures, whose buffers are reused from one read to the
    /// next.
    pub fn shared_map(&self) -> Option<SharedMap> {
        match &self.handle {
            Handle::File(reader) => reader.shared_map(),
            Handle::Live(..) => None,
        }
    }

    /// Frames read so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// Applies a BPF filter (tcpdump syntax). On a file, libpcap compiles it for the link type
    /// of the file (of each interface of a pcapng file: where it cannot apply to one, as `tcp`
    /// to a link that carries no IP, no frame of that interface matches) and runs it on each
    /// frame read.
    pub fn set_filter(&mut self, bpf: &str) -> Result<(), Error> {
        let result = match &mut self.handle {
            Handle::File(reader) => reader.set_filter(bpf),
            Handle::Live(h, _) => h.filter(bpf, true),
        };
        result.map_err(|e| capture_error(&self.name, CaptureStep::Filter(bpf.to_owned()), e))
    }

    /// Reads the next frame. A damaged file gives an error naming the file and the byte
    /// offset of the record at fault; frames read before it remain valid.
    pub fn next_frame(&mut self) -> Result<Next<'_>, Error> {
        match &mut self.handle {
            Handle::File(reader) => match reader.next() {
                Ok(Some(frame)) => {
                    self.frames += 1;
                    Ok(Next::Frame(frame))
                }
                Ok(None) => Ok(Next::End),
                Err(e) => {
                    let offset = match &e {
                        ReadError::File(e) => i64::try_from(e.offset).ok(),
                        ReadError::Io(_) => None,
                    };
                    let frames = self.frames;
                    let step = CaptureStep::Read { frames, offset };
                    Err(read_error(self.name.clone(), step, e))
                }
            },
            Handle::Live(h, timeout_ms) => {
                if !live::readable(h.as_raw_fd(), *timeout_ms) {
                    return Ok(Next::Timeout);
                }
                match h.next_packet() {
                    Ok(packet) => {
                        self.frames += 1;
                        let ts = packet.header.ts;
                        let time_ms = (ts.tv_sec.max(0) as u64)
                            .saturating_mul(1000)
                            .saturating_add(ts.tv_usec.max(0) as u64 / 1000);
                        Ok(Next::Frame(Frame {
                            data: packet.data,
                            wire_len: packet.header.len,
                            time_ms,
                            link: self.link.ok(),
                        }))
                    }
                    Err(pcap::Error::NoMorePackets) => Ok(Next::End),
                    Err(pcap::Error::TimeoutExpired) => Ok(Next::Timeout),
                    Err(e) => {
                        let step = CaptureStep::Read {
                            frames: self.frames,
                            offset: None,
                        };
                        Err(capture_error(&self.name, step, e))
                    }
                }
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
        let mut s = f.debug_struct("Capture");
        s.field("name", &self.name);
        match &self.handle {
            Handle::File(reader) => s.field("file", reader),
            Handle::Live(..) => s.field("kind", &"live"),
        };
        s.field("link", &self.link)
            .field("frames", &self.frames)
            .finish()
    }
}

fn capture_error(name: &str, step: CaptureStep, source: pcap::Error) -> Error {
    Error::Capture {
        source_name: name.to_owned(),
        step,
        source,
    }
}

/// The error of a file that could not be read on: its format's, or the stream's.
fn read_error(name: String, step: CaptureStep, e: ReadError) -> Error {
    match e {
        ReadError::File(source) => Error::CaptureFile {
            source_name: name,
            step,
            source,
        },
        ReadError::Io(source) => Error::Io {
            path: name.into(),
            source,
        },
    }
}
