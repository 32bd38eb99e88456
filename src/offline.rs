//! Whole-file classification: the shortest path from a capture file to its flow records.

use std::collections::VecDeque;
use std::path::Path;

use crate::{
    Capture, Detector, Error, FlowEvent, FlowRecord, Next, Tracker, TrackerConfig, TrackerStats,
};

/// The events of every flow of a capture file, read as they are consumed: see
/// [`classify_file`].
pub struct FileEvents<'d> {
    capture: Capture,
    tracker: Tracker<'d>,
    pending: VecDeque<FlowEvent>,
    /// The error to yield once `pending` is empty, after which the iterator is done.
    error: Option<Error>,
    /// The file is read to its end (or to an error): no more frames are read.
    read: bool,
    done: bool,
}

impl<'d> FileEvents<'d> {
    /// The final records: one per flow, in the order flows ended, and the error that ended
    /// the file early, if any, last.
    pub fn records(self) -> impl Iterator<Item = Result<FlowRecord, Error>> + 'd {
        self.filter_map(|event| match event {
            Ok(FlowEvent::Ended(record)) => Some(Ok(record)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
    }

    /// The tracker's counters so far.
    pub fn stats(&self) -> &TrackerStats {
        self.tracker.stats()
    }

    /// The capture being read (its name, frames read so far).
    pub fn capture(&self) -> &Capture {
        &self.capture
    }
}

/// Flows ended at a time once the file is read: their events wait in memory until consumed.
const FINISH_STEP: usize = 256;

impl Iterator for FileEvents<'_> {
    type Item = Result<FlowEvent, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.read {
                // The flows still open end a few at a time, as their events are consumed.
                if !self.done && self.tracker.active_flows() > 0 {
                    self.tracker.finish_some(FINISH_STEP);
                    self.pending.extend(self.tracker.drain_events());
                    continue;
                }
                if self.done {
                    return None;
                }
                self.done = true;
                return self.error.take().map(Err);
            }
            match self.capture.next_frame() {
                Ok(Next::Frame(frame)) => {
                    if let Err(e) = self.tracker.process_frame(frame) {
                        // nDPI could not allocate: nothing sensible follows.
                        self.read = true;
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                Ok(Next::End | Next::Timeout) => self.read = true,
                Err(e) => {
                    // The flows seen so far still end, and are reported before the error.
                    self.read = true;
                    self.error = Some(e);
                }
            }
            self.pending.extend(self.tracker.drain_events());
        }
    }
}

impl std::iter::FusedIterator for FileEvents<'_> {}

impl std::fmt::Debug for FileEvents<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileEvents")
            .field("capture", &self.capture)
            .field("pending", &self.pending.len())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Classifies a capture file with `detector`, lazily: frames are read as the events are
/// consumed, so a file of any size runs in the tracker's memory.
///
/// A file that cannot be opened, or whose link type is not supported, is an error here. The
/// iterator then yields every event in order (each flow's `Classified`, any `Periodic`, then
/// its `Ended`). A read error (a truncated file, ...) ends the file early: the flows seen so
/// far still end with [`EndReason::CaptureEnd`](crate::EndReason::CaptureEnd) and are
/// yielded, and the error comes last. `collect::<Result<Vec<_>, _>>()` thus keeps nothing of a
/// damaged file; iterate to keep its flows and its error.
///
/// ```
/// use ndpi::{classify_file, Detector, FlowEvent, TrackerConfig};
///
/// let detector = Detector::new()?;
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/loopback.pcap");
/// for event in classify_file(&detector, path, TrackerConfig::ndpi_reader_offline())? {
///     if let FlowEvent::Ended(record) = event? {
///         println!("{} {:?}", record.l7_proto_name, record.host_server_name);
///     }
/// }
/// # Ok::<(), ndpi::Error>(())
/// ```
pub fn classify_file<'d>(
    detector: &'d Detector,
    path: impl AsRef<Path>,
    config: TrackerConfig,
) -> Result<FileEvents<'d>, Error> {
    let capture = Capture::open_file(path)?;
    if let Err(dlt) = capture.link_type() {
        return Err(Error::UnsupportedLinkType {
            source_name: capture.name().to_owned(),
            dlt,
        });
    }
    Ok(FileEvents {
        capture,
        tracker: Tracker::new(detector, config),
        pending: VecDeque::new(),
        error: None,
        read: false,
        done: false,
    })
}
