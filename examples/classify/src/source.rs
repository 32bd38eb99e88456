//! Where frames come from: a live interface, or a list of files read in order as one capture.

use std::path::PathBuf;

use ndpi::{Capture, CaptureStats, Error, Frame, LinkType, Next, SharedMap};

use crate::args::Args;

/// The result of one read.
pub enum Read<'a> {
    /// A frame (with the link type of its capture, or of its interface in a pcapng file), and
    /// the memory map it lies in when its file is mapped: then its bytes can be handed on by
    /// reference.
    Frame(Frame<'a>, Option<&'a SharedMap>),
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
    /// `--threads N` live on Linux: N captures of the interface in one AF_PACKET fanout group,
    /// one per worker, and the time (ms since the epoch) from which their frames count.
    Fanout(Vec<Capture>, LinkType, u64),
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
            let input = match args.threads {
                1 => Input::Live(capture, link),
                n => fanout(capture, link, args, usize::from(n))?,
            };
            return Ok(Source {
                input,
                file_bytes: 0,
            });
        }
        let stdin = args.files.iter().filter(|p| is_stdin(p)).count();
        if stdin > 1 {
            return Err(Error::Io {
                path: "-".into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "standard input can be read only once",
                ),
            });
        }
        let mut files = Vec::with_capacity(args.files.len());
        for path in &args.files {
            let (capture, _) = prepare(Capture::open_file(path)?, filter.as_deref())?;
            // Standard input cannot be opened again: its capture is kept, the files' reopened.
            let (size, kept) = match is_stdin(path) {
                true => (0, Some(capture)),
                false => (std::fs::metadata(path).map_or(0, |m| m.len()), None),
            };
            files.push((path.clone(), size, kept));
        }
        let file_bytes = files.iter().map(|(_, size, _)| size).sum();
        let mut rest = files.into_iter();
        let (first, size, kept) = rest.next().expect("clap requires an input");
        let capture = reopen(&first, kept, filter.as_deref())?;
        Ok(Source {
            input: Input::Files(Files {
                map: capture.shared_map(),
                capture,
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
        matches!(self.input, Input::Live(..) | Input::Fanout(..))
    }

    /// The captures of a fanout group, one per worker, and the time (ms since the epoch)
    /// before which their frames are to be skipped.
    pub fn fanout(&mut self) -> Option<(&mut [Capture], u64)> {
        match &mut self.input {
            Input::Fanout(captures, _, ready_ms) => Some((captures, *ready_ms)),
            _ => None,
        }
    }

    /// The link type of a live capture.
    pub fn live_link(&self) -> Option<LinkType> {
        match &self.input {
            Input::Files(_) => None,
            Input::Live(_, link) | Input::Fanout(_, link, _) => Some(*link),
        }
    }

    /// The next frame, moving from file to file.
    pub fn next_frame(&mut self) -> Result<Read<'_>, Error> {
        match &mut self.input {
            Input::Files(files) => files.next_frame(),
            Input::Live(capture, _) => Ok(match capture.next_frame()? {
                Next::Frame(frame) => Read::Frame(frame, None),
                Next::Timeout => Read::Idle,
                Next::End => Read::End,
            }),
            // Each worker reads its own capture.
            Input::Fanout(..) => Ok(Read::End),
        }
    }

    /// About how many bytes of the files have been read.
    pub fn position(&self) -> u64 {
        match &self.input {
            Input::Files(files) => files.done + files.read.min(files.size),
            Input::Live(..) | Input::Fanout(..) => 0,
        }
    }

    /// libpcap's statistics of a live capture.
    pub fn stats(&mut self) -> Option<CaptureStats> {
        match &mut self.input {
            Input::Files(_) => None,
            Input::Live(capture, _) => capture.stats(),
            Input::Fanout(captures, ..) => sum_stats(captures.iter_mut().map(Capture::stats)),
        }
    }
}

/// The statistics of the captures of a fanout group, summed (each counts the frames it got).
pub fn sum_stats(stats: impl IntoIterator<Item = Option<CaptureStats>>) -> Option<CaptureStats> {
    stats.into_iter().flatten().reduce(|a, b| CaptureStats {
        received: a.received.wrapping_add(b.received),
        dropped: a.dropped.wrapping_add(b.dropped),
        if_dropped: a.if_dropped.wrapping_add(b.if_dropped),
    })
}

/// `--threads N` live: `first` and N - 1 more captures of the interface in one fanout group, so
/// that each worker reads its own. Where that cannot be (not Linux, not Ethernet, the kernel
/// refuses), a warning, and the one capture read by one thread for all the workers.
fn fanout(first: Capture, link: LinkType, args: &Args, n: usize) -> Result<Input, Error> {
    let fallback = |first: Capture, why: &str| {
        eprintln!(
            "classify: warning: {why}; one thread reads {} for the {n} workers",
            first.name()
        );
        Ok(Input::Live(first, link))
    };
    if !cfg!(target_os = "linux") {
        return fallback(first, "no AF_PACKET fanout outside Linux");
    }
    if link != LinkType::Ethernet {
        return fallback(first, &format!("no fanout for link type {link:?}"));
    }
    let mut captures = vec![first];
    let interface = args.interface.as_deref().unwrap_or_default();
    for _ in 1..n {
        let capture = Capture::open_live(interface, &args.live_options())?;
        captures.push(prepare(capture, args.filter.as_deref())?.0);
    }
    join(captures, link, fallback)
}

#[cfg(target_os = "linux")]
fn join(
    mut captures: Vec<Capture>,
    link: LinkType,
    fallback: impl FnOnce(Capture, &str) -> Result<Input, Error>,
) -> Result<Input, Error> {
    match Capture::join_fanout(&captures) {
        Ok(ready_ms) => Ok(Input::Fanout(captures, link, ready_ms)),
        Err(e) => {
            // The others may be in the group: closing them leaves the first alone in it, which
            // then gets every frame.
            captures.truncate(1);
            let first = captures.pop().expect("one capture");
            fallback(first, &format!("the kernel refused the fanout group ({e})"))
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn join(
    mut captures: Vec<Capture>,
    _link: LinkType,
    fallback: impl FnOnce(Capture, &str) -> Result<Input, Error>,
) -> Result<Input, Error> {
    captures.truncate(1);
    fallback(
        captures.pop().expect("one capture"),
        "no AF_PACKET fanout outside Linux",
    )
}

/// The file being read and those still to come.
struct Files {
    capture: Capture,
    /// The current file's memory map, if it is mapped.
    map: Option<SharedMap>,
    /// The files still to read, with their sizes (and standard input's capture, kept open).
    rest: std::vec::IntoIter<(PathBuf, u64, Option<Capture>)>,
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
            let Some((path, size, kept)) = self.rest.next() else {
                return Ok(Read::End);
            };
            self.capture = reopen(&path, kept, self.filter.as_deref())?;
            self.map = self.capture.shared_map();
            self.size = size;
        }
        Ok(match self.capture.next_frame()? {
            Next::Frame(frame) => {
                self.read += 16 + frame.data.len() as u64;
                Read::Frame(frame, self.map.as_ref())
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

/// Whether `path` means standard input (`-`, as for libpcap and tcpdump).
fn is_stdin(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// The capture of a file checked by [`Source::open`]: standard input's, kept open, or the
/// file opened again.
fn reopen(
    path: &std::path::Path,
    kept: Option<Capture>,
    filter: Option<&str>,
) -> Result<Capture, Error> {
    match kept {
        Some(capture) => Ok(capture),
        None => Ok(prepare(Capture::open_file(path)?, filter)?.0),
    }
}

/// Applies the filter and checks the link type (of the first interface of a pcapng file:
/// frames of other interfaces whose link type the decoder does not handle are counted as
/// dropped).
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
