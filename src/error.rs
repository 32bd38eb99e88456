//! The crate's error type.

use std::path::PathBuf;

/// What went wrong, naming the file or argument at fault.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// nDPI could not allocate (a detection module or a flow).
    OutOfMemory(&'static str),
    /// A custom file given to the builder could not be loaded by nDPI.
    CustomFile {
        /// Which kind of file ("protocols", "categories", ...).
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// What nDPI or the OS said.
        reason: String,
    },
    /// A protocol name that this nDPI does not know.
    UnknownProtocol(String),
    /// An argument that cannot be passed to nDPI (e.g. a path with a NUL byte).
    InvalidArgument(String),
    /// A capture file or interface could not be opened or read.
    Capture {
        /// The file or interface.
        source_name: String,
        /// What libpcap said, with the byte offset where known.
        reason: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::OutOfMemory(what) => write!(f, "nDPI could not allocate {what}"),
            Error::CustomFile { kind, path, reason } => {
                write!(
                    f,
                    "cannot load nDPI {kind} file {}: {reason}",
                    path.display()
                )
            }
            Error::UnknownProtocol(name) => write!(f, "unknown nDPI protocol {name:?}"),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::Capture {
                source_name,
                reason,
            } => write!(f, "{source_name}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
