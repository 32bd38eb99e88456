//! Whole-file classification: the shortest path from a capture file to its flow records.

use std::path::Path;

use crate::{Capture, Detector, Error, FlowEvent, Next, Tracker, TrackerConfig};

/// The events of every flow in a capture file, and why reading stopped early, if it did.
#[derive(Debug)]
pub struct FileEvents {
    /// Every event in order: each flow's `Classified`, any `Periodic`, then its `Ended`.
    pub events: Vec<FlowEvent>,
    /// The read error that ended the file early (truncation, ...), after which the flows seen
    /// so far were still ended and reported.
    pub error: Option<Error>,
}

impl FileEvents {
    /// The final records: one per flow, in the order flows ended.
    pub fn records(&self) -> impl Iterator<Item = &crate::FlowRecord> {
        self.events.iter().filter_map(|e| match e {
            FlowEvent::Ended(record) => Some(record),
            _ => None,
        })
    }
}

/// Classifies a whole capture file with `detector`. A file that cannot be opened, or whose
/// link type is not supported, is an error; a read error later on is reported in
/// [`FileEvents::error`] together with every flow seen before it.
pub fn classify_file(
    detector: &Detector,
    path: impl AsRef<Path>,
    config: TrackerConfig,
) -> Result<FileEvents, Error> {
    let mut capture = Capture::open_file(path)?;
    let link = capture
        .link_type()
        .map_err(|dlt| Error::UnsupportedLinkType {
            source_name: capture.name().to_owned(),
            dlt,
        })?;
    let mut tracker = Tracker::new(detector, config);
    let mut events = Vec::new();
    let error = loop {
        match capture.next_frame() {
            Ok(Next::Frame(frame)) => {
                tracker.process(link, frame)?;
                events.extend(tracker.drain_events());
            }
            Ok(Next::End | Next::Timeout) => break None,
            Err(e) => break Some(e),
        }
    };
    tracker.finish();
    events.extend(tracker.drain_events());
    Ok(FileEvents { events, error })
}
