//! The crate's error type.

use std::io;
use std::path::PathBuf;

use crate::ProtocolId;

/// What went wrong, naming the file or argument at fault.
///
/// The message (`Display`) says everything on one line, the cause's message included; the
/// cause itself (an [`io::Error`], libpcap's error, the file reader's `FileError`) is [`source()`](std::error::Error::source)
/// for callers that inspect it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// nDPI could not allocate (a detection module or a flow).
    OutOfMemory(&'static str),
    /// [`use_rust_allocator`](crate::use_rust_allocator) came after nDPI started allocating
    /// with libc's allocator (a module or a global context was made first).
    AllocatorSettled,
    /// A custom file given to the builder could not be read (or its path cannot be passed to
    /// nDPI: a NUL byte, as [`io::ErrorKind::InvalidInput`]).
    CustomFile {
        /// Which kind of file ("protocols", "categories", ...).
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// nDPI read a custom file given to the builder and rejected it.
    CustomFileRejected {
        /// Which kind of file ("protocols", "categories", ...).
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// nDPI's (negative) return code.
        code: i32,
    },
    /// nDPI refused a setting given to the builder ([`DetectorBuilder::set`]), or the linked
    /// release has no such setting (4.2 has no configuration API).
    ///
    /// [`DetectorBuilder::set`]: crate::DetectorBuilder::set
    Config {
        /// The protocol the setting is for ("tls"), `None` for a global one.
        proto: Option<String>,
        /// The parameter ("metadata.sha1_fingerprint").
        param: String,
        /// The value given.
        value: String,
        /// Why: nDPI's message for its `ndpi_cfg_error` code, or that the release has none.
        reason: String,
    },
    /// A protocol name that this nDPI does not know.
    UnknownProtocol(String),
    /// A protocol ID that is not one of this nDPI's built-in protocols.
    UnknownProtocolId(ProtocolId),
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A capture whose link type the decoder does not handle.
    UnsupportedLinkType {
        /// The file or interface.
        source_name: String,
        /// Its libpcap `DLT_*` number.
        dlt: i32,
    },
    /// A capture file (or stream) that is not a pcap or pcapng capture, or is damaged.
    #[cfg(feature = "capture")]
    CaptureFile {
        /// The file (`standard input` for `-`).
        source_name: String,
        /// Opening it, or reading the frame after the frames read.
        step: CaptureStep,
        /// What is wrong, and at which byte offset.
        source: FileError,
    },
    /// libpcap could not open, filter or read a live interface, or compile a filter.
    #[cfg(feature = "capture")]
    Capture {
        /// The file or interface.
        source_name: String,
        /// What was being done.
        step: CaptureStep,
        /// libpcap's error.
        source: pcap::Error,
    },
}

/// What a capture was doing when it failed ([`Error::Capture`], [`Error::CaptureFile`]).
#[cfg(feature = "capture")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureStep {
    /// Opening a capture file.
    OpenFile,
    /// Opening a live interface.
    OpenLive,
    /// Compiling this BPF filter.
    Filter(String),
    /// Reading the next frame.
    Read {
        /// Frames read before the failure.
        frames: u64,
        /// The byte offset of the record or block at fault in a file.
        offset: Option<i64>,
    },
}

/// What is wrong with a capture file, and where ([`Error::CaptureFile`]).
#[cfg(feature = "capture")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileError {
    /// The byte offset of the record or block at fault (0 for the file as a whole).
    pub offset: u64,
    /// What is wrong.
    pub kind: FileErrorKind,
}

/// The ways a capture file can be wrong ([`FileError`]).
#[cfg(feature = "capture")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileErrorKind {
    /// The file is empty.
    Empty,
    /// Neither pcap nor pcapng: its first bytes are no magic number of either.
    UnknownFormat,
    /// The file ends inside a record, block or header: the frames before it were read.
    Truncated {
        /// What was cut: "record" (pcap), "block" (pcapng) or "file header".
        unit: &'static str,
        /// Its length in bytes.
        needed: u64,
        /// The byte offset where the data ends.
        end: u64,
    },
    /// A record, block or header that contradicts the format or libpcap's limits (a captured
    /// length above the maximum, a packet of an interface never described, ...).
    Malformed(String),
}

#[cfg(feature = "capture")]
impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let offset = self.offset;
        match &self.kind {
            FileErrorKind::Empty => write!(f, "empty file: not a pcap or pcapng capture"),
            FileErrorKind::UnknownFormat => {
                write!(f, "unknown file format: not a pcap or pcapng capture")
            }
            FileErrorKind::Truncated { unit, needed, end } => write!(
                f,
                "truncated capture: the {unit} at byte offset {offset} is {needed} bytes long, \
                 the data ends at byte offset {end}"
            ),
            FileErrorKind::Malformed(what) => write!(f, "{what} at byte offset {offset}"),
        }
    }
}

#[cfg(feature = "capture")]
impl std::error::Error for FileError {}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::OutOfMemory(what) => write!(f, "nDPI could not allocate {what}"),
            Error::AllocatorSettled => write!(
                f,
                "nDPI's allocator cannot change: nDPI already allocated with libc's \
                 (use_rust_allocator must come before the first detector or global context)"
            ),
            Error::CustomFile { kind, path, source } => {
                write!(
                    f,
                    "cannot load nDPI {kind} file {}: {source}",
                    path.display()
                )
            }
            Error::CustomFileRejected { kind, path, code } => write!(
                f,
                "cannot load nDPI {kind} file {}: nDPI rejected it (code {code})",
                path.display()
            ),
            Error::Config {
                proto,
                param,
                value,
                reason,
            } => {
                let proto = proto.as_deref().map_or(String::new(), |p| format!("{p}."));
                write!(f, "nDPI setting {proto}{param}={value}: {reason}")
            }
            Error::UnknownProtocol(name) => write!(f, "unknown nDPI protocol {name:?}"),
            Error::UnknownProtocolId(id) => {
                write!(f, "protocol ID {id} is not a built-in nDPI protocol")
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::UnsupportedLinkType { source_name, dlt } => {
                write!(f, "{source_name}: unsupported link type (DLT {dlt})")
            }
            #[cfg(feature = "capture")]
            Error::CaptureFile {
                source_name,
                step,
                source,
            } => match step {
                CaptureStep::Read { frames, .. } => {
                    write!(f, "{source_name}: {source}, after frame {frames}")
                }
                _ => write!(f, "{source_name}: {source}"),
            },
            #[cfg(feature = "capture")]
            Error::Capture {
                source_name,
                step,
                source,
            } => match step {
                CaptureStep::OpenFile => write!(f, "{source_name}: {source}"),
                CaptureStep::OpenLive => {
                    let text = source.to_string();
                    let hint = if text.contains("ermission") || text.contains("not permitted") {
                        " (live capture needs root or CAP_NET_RAW: run with sudo, or `setcap cap_net_raw,cap_net_admin=eip` on the binary)"
                    } else {
                        ""
                    };
                    write!(f, "{source_name}: {text}{hint}")
                }
                CaptureStep::Filter(bpf) => {
                    write!(f, "{source_name}: bad BPF filter {bpf:?}: {source}")
                }
                CaptureStep::Read { frames, offset } => {
                    write!(f, "{source_name}: {source}")?;
                    if let Some(offset) = offset {
                        write!(f, " at byte offset {offset}")?;
                    }
                    write!(f, ", after frame {frames}")
                }
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::CustomFile { source, .. } | Error::Io { source, .. } => Some(source),
            #[cfg(feature = "capture")]
            Error::Capture { source, .. } => Some(source),
            #[cfg(feature = "capture")]
            Error::CaptureFile { source, .. } => Some(source),
            Error::OutOfMemory(_)
            | Error::AllocatorSettled
            | Error::CustomFileRejected { .. }
            | Error::Config { .. }
            | Error::UnknownProtocol(_)
            | Error::UnknownProtocolId(_)
            | Error::UnsupportedLinkType { .. } => None,
        }
    }
}
