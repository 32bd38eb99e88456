//! Capture files read without copies: a regular file is memory-mapped and its frames are lent
//! straight from the map; anything that cannot be mapped (standard input, a pipe, a device) is
//! read into a buffer that is refilled as records are consumed. Both go through the same
//! parser ([`Format`]), so they read the same frames and fail the same way.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use memmap2::{Advice, Mmap, UncheckedAdvice};

use super::filter::Filter;
use super::format::{Format, Found, Step};
use crate::{FileError, FileErrorKind, Frame, LinkType};

/// How much a stream reads at a time, and the least its buffer holds.
const CHUNK: usize = 1 << 20;
/// A map's pages are handed back behind the reader in steps of this many bytes (a multiple of
/// every page size).
const STEP: usize = 8 << 20;
/// How much of the next record is asked into the CPU cache ahead of time: its header and the
/// frame's first headers.
const PREFETCH: usize = 128;

/// Where the bytes come from.
pub(super) enum Input {
    Mapped(Mapped),
    Stream(Stream),
}

/// A whole regular file, memory-mapped: `at` is where the next record starts, the pages
/// before `released` were handed back.
pub(super) struct Mapped {
    /// Cloned for [`FileReader::shared_map`]: frames lent from it may outlive their read.
    map: SharedMap,
    at: usize,
    released: usize,
    /// A lease holds back the pages `at` has passed: nothing to release until one is dropped.
    held_back: bool,
}

/// The map, and the leases that keep parts of it mapped ([`SharedMap::lease`]).
struct Leased {
    map: Mmap,
    /// How many leases start at each offset.
    leases: Mutex<BTreeMap<usize, usize>>,
    /// Set when a lease is dropped.
    lease_dropped: AtomicBool,
}

impl Leased {
    fn leases(&self) -> MutexGuard<'_, BTreeMap<usize, usize>> {
        // The map of counts is never left half-changed: a panic elsewhere cannot spoil it.
        self.leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Mapped {
    /// Unmaps the pages read, in whole steps, up to the oldest lease. Mapped pages count in
    /// the process's resident memory until unmapped, so a whole file read to its end would;
    /// handed back, they stay in the page cache.
    fn release_read_pages(&mut self) {
        let mut end = self.at / STEP * STEP;
        let dropped = &self.map.0.lease_dropped;
        if end <= self.released || self.held_back && !dropped.load(Ordering::Relaxed) {
            return;
        }
        // Cleared before the leases are read: a lease dropped after that is seen next time.
        dropped.store(false, Ordering::Relaxed);
        if let Some((&oldest, _)) = self.map.0.leases().first_key_value() {
            end = end.min(oldest / STEP * STEP);
        }
        self.held_back = end <= self.released;
        if self.held_back {
            return;
        }
        // SAFETY: the map is shared and read-only (`Mmap::map`): MADV_DONTNEED only drops its
        // page table entries, and a later access would read the same bytes from the page
        // cache again (madvise(2)), so no slice of it can change. The range is within the
        // map, and page-aligned (the map starts on a page, the step is a multiple of every
        // page size).
        let _ = unsafe {
            self.map.0.map.unchecked_advise_range(
                UncheckedAdvice::DontNeed,
                self.released,
                end - self.released,
            )
        };
        self.released = end;
    }

    /// Asks the CPU to bring the start of the next record into its cache while the caller
    /// works on the frame just lent. The first touch of each record was a cache miss (the
    /// page cache's bytes are cold), a tenth of classify's time on a merged capture; this
    /// took 8% off its wall time there (prefetching every byte ahead did less: most payload
    /// bytes are never read).
    fn prefetch_next(&self) {
        let next = self.map.get(self.at..).unwrap_or_default();
        #[cfg(target_arch = "x86_64")]
        for line in next.iter().take(PREFETCH).step_by(64) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: SSE, which the instruction needs, is part of every x86_64 CPU; a
            // prefetch changes nothing the program sees, and never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(line).cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = next;
    }
}

/// A stream read into `buf`: `buf[start..end]` are the bytes from byte offset `base + start`
/// on; `eof` once the reader has no more.
pub(super) struct Stream {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    base: u64,
    eof: bool,
}

impl Input {
    /// Maps `file`, a regular file, for reading front to back.
    pub fn map(file: &File) -> io::Result<Input> {
        // SAFETY: the map is only read. The file must not be truncated while it is mapped
        // (reading the missing pages would raise SIGBUS), which `Capture::open_file`
        // documents; a file changed in place only changes the bytes read, which the parser
        // checks as it checks any input.
        let map = unsafe { Mmap::map(file)? };
        // Read-ahead hint only: its failure changes nothing else.
        let _ = map.advise(Advice::Sequential);
        Ok(Input::Mapped(Mapped {
            map: SharedMap(Arc::new(Leased {
                map,
                leases: Mutex::default(),
                lease_dropped: AtomicBool::new(false),
            })),
            at: 0,
            released: 0,
            held_back: false,
        }))
    }

    /// Reads `reader` as it comes.
    pub fn stream(reader: Box<dyn Read + Send>) -> Input {
        Input::Stream(Stream {
            reader,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
        })
    }

    /// The bytes read but not consumed yet.
    fn available(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m.map.get(m.at..).unwrap_or_default(),
            Input::Stream(s) => &s.buf[s.start..s.end],
        }
    }

    /// The byte offset of the first available byte.
    fn offset(&self) -> u64 {
        match self {
            Input::Mapped(m) => m.at as u64,
            Input::Stream(s) => s.base + s.start as u64,
        }
    }

    /// Consumes `len` bytes; returns where they start in [`Input::bytes`], where they stay
    /// until the next [`Input::fill`].
    fn consume(&mut self, len: usize) -> usize {
        let (at, bytes) = match self {
            Input::Mapped(m) => (&mut m.at, m.map.len()),
            Input::Stream(s) => (&mut s.start, s.end),
        };
        let start = *at;
        *at = (start + len).min(bytes);
        start
    }

    /// All the bytes held: the map, or the stream's buffer.
    fn bytes(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => &m.map,
            Input::Stream(s) => &s.buf[..s.end],
        }
    }

    /// Makes at least `needed` bytes available, reading more of a stream; `false` when the
    /// input ends first (a map has everything already).
    fn fill(&mut self, needed: usize) -> io::Result<bool> {
        match self {
            Input::Mapped(_) => Ok(self.available().len() >= needed),
            Input::Stream(s) => s.fill(needed),
        }
    }
}

impl Stream {
    fn fill(&mut self, needed: usize) -> io::Result<bool> {
        if self.start + needed > self.buf.len() {
            // Move what is left to the front, and make room for the whole record.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.base += self.start as u64;
            self.start = 0;
            if needed > self.buf.len() {
                self.buf.resize(needed.max(CHUNK), 0);
            }
        }
        while self.end - self.start < needed {
            if self.eof {
                return Ok(false);
            }
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// Why reading stopped.
#[derive(Debug)]
pub(super) enum ReadError {
    /// The file is not a capture, or is damaged.
    File(FileError),
    /// The stream could not be read.
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl From<FileError> for ReadError {
    fn from(e: FileError) -> Self {
        ReadError::File(e)
    }
}

/// The bytes of a memory-mapped capture file, shared: see
/// [`Capture::shared_map`](crate::Capture::shared_map).
#[derive(Clone)]
pub struct SharedMap(Arc<Leased>);

impl SharedMap {
    /// Where `bytes` (a frame of this file, or part of one) lie in the file: `bytes` is
    /// `&self[range]`. `None` for bytes from elsewhere.
    pub fn range_of(&self, bytes: &[u8]) -> Option<std::ops::Range<usize>> {
        let start = (bytes.as_ptr() as usize).checked_sub(self.as_ptr() as usize)?;
        let end = start.checked_add(bytes.len())?;
        (end <= self.len()).then_some(start..end)
    }

    /// Keeps the file's pages from byte `from` on mapped while the lease lives. The capture
    /// hands the pages it has read back to the kernel as it goes on (they stay in the page
    /// cache); another thread that reads frames it was given later would fault them back in,
    /// and they would then stay resident. A lease taken with the first frame given and dropped
    /// once the last is read avoids both. It reads like the map.
    ///
    /// ```
    /// use ndpi::{Capture, Next};
    ///
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/loopback.pcap");
    /// let mut capture = Capture::open_file(path)?;
    /// let map = capture.shared_map().expect("a regular file is mapped");
    /// let (mut lease, mut frames) = (None, Vec::new());
    /// while let Next::Frame(frame) = capture.next_frame()? {
    ///     let range = map.range_of(frame.data).expect("every frame lies in the map");
    ///     // The first frame handed on takes the lease: the pages from there on stay mapped.
    ///     lease.get_or_insert_with(|| map.lease(range.start));
    ///     frames.push(range);
    /// }
    /// let lease = lease.expect("the file has frames");
    /// let worker = std::thread::spawn(move || {
    ///     // Reads the frames where they lie, then drops the lease.
    ///     frames.iter().map(|range| lease[range.clone()].len()).sum::<usize>()
    /// });
    /// assert!(worker.join().unwrap() > 0);
    /// # Ok::<(), ndpi::Error>(())
    /// ```
    pub fn lease(&self, from: usize) -> MapLease {
        *self.0.leases().entry(from).or_default() += 1;
        MapLease {
            map: self.clone(),
            from,
        }
    }
}

impl std::ops::Deref for SharedMap {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0.map
    }
}

impl std::fmt::Debug for SharedMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMap")
            .field("len", &self.len())
            .finish()
    }
}

/// A [`SharedMap`] that keeps its pages from an offset on mapped while it lives: see
/// [`SharedMap::lease`].
#[derive(Debug)]
pub struct MapLease {
    map: SharedMap,
    from: usize,
}

impl std::ops::Deref for MapLease {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for MapLease {
    fn drop(&mut self) {
        let mut leases = self.map.0.leases();
        if let Some(count) = leases.get_mut(&self.from) {
            *count -= 1;
            if *count == 0 {
                leases.remove(&self.from);
            }
        }
        drop(leases);
        self.map.0.lease_dropped.store(true, Ordering::Relaxed);
    }
}

/// A pcap or pcapng file being read.
pub(super) struct FileReader {
    input: Input,
    format: Format,
    filter: Option<Filter>,
}

impl FileReader {
    /// Reads the file header, and in a pcapng file the blocks up to the first interface
    /// description, so that the link type is known.
    pub fn open(mut input: Input) -> Result<FileReader, ReadError> {
        let format = loop {
            let available = input.available().len();
            match Format::open(input.available()) {
                Ok(Step::Done(format, len)) => {
                    input.consume(len);
                    break format;
                }
                Ok(Step::Incomplete(needed)) => {
                    if !input.fill(needed)? {
                        let kind = match available {
                            0 => FileErrorKind::Empty,
                            1..=3 => FileErrorKind::UnknownFormat,
                            _ => FileErrorKind::Truncated {
                                unit: "file header",
                                needed: needed as u64,
                                end: available as u64,
                            },
                        };
                        return Err(FileError { offset: 0, kind }.into());
                    }
                }
                Err(kind) => return Err(FileError { offset: 0, kind }.into()),
            }
        };
        let mut reader = FileReader {
            input,
            format,
            filter: None,
        };
        while !reader.format.ready() {
            // No frame can come before the first interface (the parser refuses it).
            if reader.next_record()?.is_none() {
                let kind = FileErrorKind::Malformed(
                    "no interface description block before the end".to_owned(),
                );
                let offset = reader.input.offset();
                return Err(FileError { offset, kind }.into());
            }
        }
        Ok(reader)
    }

    /// The link type of the file (pcapng: of its first interface), or its `DLT_*` number
    /// when the decoder does not handle it.
    pub fn link_type(&self) -> Result<LinkType, i32> {
        let (dlt, link) = self.format.first().unwrap_or((-1, None));
        link.ok_or(dlt)
    }

    /// The map, when the file is memory-mapped.
    pub fn shared_map(&self) -> Option<SharedMap> {
        match &self.input {
            Input::Mapped(mapped) => Some(mapped.map.clone()),
            Input::Stream(_) => None,
        }
    }

    /// Keeps only the frames that match `expr` from now on.
    pub fn set_filter(&mut self, expr: &str) -> Result<(), pcap::Error> {
        let (dlt, _) = self.format.first().unwrap_or((-1, None));
        self.filter = Some(Filter::new(expr, dlt)?);
        Ok(())
    }

    /// The next frame (that matches the filter); `None` at the end of the file.
    pub fn next(&mut self) -> Result<Option<Frame<'_>>, ReadError> {
        // The frame lent last is gone (it borrowed the reader).
        if let Input::Mapped(mapped) = &mut self.input {
            mapped.release_read_pages();
        }
        let (start, found) = loop {
            let Some((start, found)) = self.next_record()? else {
                return Ok(None);
            };
            let Some(found) = found else { continue };
            let keep = match &mut self.filter {
                Some(filter) => {
                    let data =
                        &self.input.bytes()[start + found.data.start..start + found.data.end];
                    filter.matches(found.dlt, data, found.wire_len)
                }
                None => true,
            };
            if keep {
                break (start, found);
            }
        };
        if let Input::Mapped(mapped) = &self.input {
            mapped.prefetch_next();
        }
        Ok(Some(Frame {
            data: &self.input.bytes()[start + found.data.start..start + found.data.end],
            wire_len: found.wire_len,
            time_ms: found.time_ms,
            link: found.link,
        }))
    }

    /// Consumes the next record or block: where it starts in [`Input::bytes`], and its frame
    /// if it holds one; `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<(usize, Option<Found>)>, ReadError> {
        loop {
            let offset = self.input.offset();
            let available = self.input.available().len();
            let step = self
                .format
                .parse(self.input.available())
                .map_err(|kind| FileError { offset, kind })?;
            match step {
                Step::Done(found, len) => return Ok(Some((self.input.consume(len), found))),
                Step::Incomplete(needed) => {
                    if !self.input.fill(needed)? {
                        if available == 0 {
                            return Ok(None);
                        }
                        let kind = FileErrorKind::Truncated {
                            unit: self.format.unit(),
                            needed: needed as u64,
                            end: offset + available as u64,
                        };
                        return Err(FileError { offset, kind }.into());
                    }
                }
            }
        }
    }
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let input = match self.input {
            Input::Mapped(_) => "mapped",
            Input::Stream(_) => "stream",
        };
        f.debug_struct("FileReader")
            .field("input", &input)
            .field("offset", &self.input.offset())
            .field("format", &self.format)
            .field("filter", &self.filter)
            .finish()
    }
}
