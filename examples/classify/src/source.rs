//! Where frames come from: a live interface, or a list of files read in order as one capture.

use std::path::PathBuf;

use ndpi::{Capture, CaptureStats, Error, Frame, LinkType, Next};

use crate::args::Args;

/// The result of one read.
pub enum Read<'a> {
    /// A frame, and the link type of its capture.
    Frame(LinkType, Frame<'a>),
    /// A live capture had no frame for a while (time to check the stop conditions).
    Idle,
    /// No frames left.
    End,
}

/// The interface or the files.
pub struct Source {
    input: Input,
    /// Total size of the files, for a progress bar.
    pub file_bytes: u64,
}

enum Input {
    Files(Files),
    /// Reads return `Next::Timeout` after the read timeout on a quiet link.
    Live(Capture, LinkType),
}

impl Source {
    /// Opens the interface or the first file. Every file is checked first (readable, a capture
    /// of a supported link type, the filter compiles for it), so that a bad one is reported
    /// before any work is done.
    pub fn open(args: &Args) -> Result<Source, Error> {
        let filter = args.filter.clone();
        if let Some(interface) = &args.interface {
            let capture = Capture::open_live(interface, &args.live_options())?;
            let (capture, link) = prepare(capture, filter.as_deref())?;
            return Ok(Source {
                input: Input::Live(capture, link),
                file_bytes: 0,
            });
        }
        let mut files = Vec::with_capacity(args.files.len());
        for path in &args.files {
            prepare(Capture::open_file(path)?, filter.as_deref())?;
            let size = std::fs::metadata(path).map_or(0, |m| m.len());
            files.push((path.clone(), size));
        }
        let file_bytes = files.iter().map(|(_, size)| size).sum();
        let mut rest = files.into_iter();
        let (first, size) = rest.next().expect("clap requires an input");
        let (capture, link) = prepare(Capture::open_file(first)?, filter.as_deref())?;
        Ok(Source {
            input: Input::Files(Files {
                capture,
                link,
                rest,
                filter,
                size,
                read: 0,
                done: 0,
                ended: false,
            }),
            file_bytes,
        })
    }

    /// Whether this is a live interface.
    pub fn is_live(&self) -> bool {
        matches!(self.input, Input::Live(..))
    }

    /// The link type of the capture (of the first file).
    pub fn link(&self) -> LinkType {
        match &self.input {
            Input::Files(files) => files.link,
            Input::Live(_, link) => *link,
        }
    }

    /// The next frame, moving from file to file.
    pub fn next_frame(&mut self) -> Result<Read<'_>, Error> {
        match &mut self.input {
            Input::Files(files) => files.next_frame(),
            Input::Live(capture, link) => Ok(match capture.next_frame()? {
                Next::Frame(frame) => Read::Frame(*link, frame),
                Next::Timeout => Read::Idle,
                Next::End => Read::End,
            }),
        }
    }

    /// About how many bytes of the files have been read.
    pub fn position(&self) -> u64 {
        match &self.input {
            Input::Files(files) => files.done + files.read.min(files.size),
            Input::Live(..) => 0,
        }
    }

    /// libpcap's statistics of a live capture.
    pub fn stats(&mut self) -> Option<CaptureStats> {
        match &mut self.input {
            Input::Files(_) => None,
            Input::Live(capture, _) => capture.stats(),
        }
    }
}

/// The file being read and those still to come.
struct Files {
    capture: Capture,
    link: LinkType,
    /// The files still to read, with their sizes.
    rest: std::vec::IntoIter<(PathBuf, u64)>,
    filter: Option<String>,
    /// Size of the current file, bytes read of it (about: record headers are guessed), and the
    /// size of the files before it.
    size: u64,
    read: u64,
    done: u64,
    /// The current file has no more frames.
    ended: bool,
}

impl Files {
    fn next_frame(&mut self) -> Result<Read<'_>, Error> {
        if self.ended {
            self.ended = false;
            self.done += std::mem::take(&mut self.size);
            self.read = 0;
            let Some((path, size)) = self.rest.next() else {
                return Ok(Read::End);
            };
            (self.capture, self.link) = prepare(Capture::open_file(path)?, self.filter.as_deref())?;
            self.size = size;
        }
        Ok(match self.capture.next_frame()? {
            Next::Frame(frame) => {
                self.read += 16 + frame.data.len() as u64;
                Read::Frame(self.link, frame)
            }
            Next::Timeout => Read::Idle,
            // The next call opens the next file.
            Next::End => {
                self.ended = true;
                Read::Idle
            }
        })
    }
}

/// Applies the filter and checks the link type.
fn prepare(mut capture: Capture, filter: Option<&str>) -> Result<(Capture, LinkType), Error> {
    if let Some(filter) = filter {
        capture.set_filter(filter)?;
    }
    match capture.link_type() {
        Ok(link) => Ok((capture, link)),
        Err(dlt) => Err(Error::UnsupportedLinkType {
            source_name: capture.name().to_owned(),
            dlt,
        }),
    }
}
