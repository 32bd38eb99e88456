//! One worker: a flow tracker with its own detection module, the Lua checks on its flows, and
//! its share of the report.

use std::sync::atomic::Ordering;

use flowlua::Engine;
use ndpi::{Detector, DropReason, Error, FlowEvent, Frame, Packet, Tracker, TrackerConfig};

use crate::checks::{Checks, ChecksDir};
use crate::output::{Batch, Sink};
use crate::progress::Counters;
use crate::summary::WorkerReport;
use crate::Fatal;

/// What every worker is built from.
pub struct Setup {
    pub tracker: TrackerConfig,
    pub checks: Option<ChecksDir>,
}

impl Setup {
    /// Loads the checks for one worker.
    pub fn load_checks(&self) -> Result<Option<Engine>, Fatal> {
        self.checks.as_ref().map(ChecksDir::load).transpose()
    }
}

/// Builds one more detection module like the others.
pub type Build<'a> = &'a (dyn Fn() -> Result<Detector, Error> + Sync);

/// The workers' detection modules. The first is built before the capture starts, so that
/// whatever is wrong with the arguments (a protocols file, a setting) shows before any work;
/// the others are built by their own workers, which takes tens of milliseconds each, while
/// reading has started.
pub struct Modules<'a> {
    pub first: Detector,
    /// How many workers, the first included.
    pub count: usize,
    pub build: Build<'a>,
}

/// One worker's module: built already, or to be built in the worker's thread.
pub enum Module<'a> {
    Built(Detector),
    Later(Build<'a>),
}

impl<'a> Modules<'a> {
    /// One module for each worker.
    pub fn each(self) -> Vec<Module<'a>> {
        let later = (1..self.count).map(|_| Module::Later(self.build));
        std::iter::once(Module::Built(self.first))
            .chain(later)
            .collect()
    }
}

impl Module<'_> {
    /// The module, built now if it was not.
    pub fn get(self) -> Result<Detector, Error> {
        match self {
            Module::Built(detector) => Ok(detector),
            Module::Later(build) => build(),
        }
    }
}

pub struct Worker<'a> {
    detector: &'a Detector,
    tracker: Tracker<'a>,
    checks: Option<Checks>,
    batch: Batch,
    report: WorkerReport,
    sink: &'a Sink,
    counters: &'a Counters,
    /// What was last published to `counters`.
    published: (u64, u64, u64),
}

impl<'a> Worker<'a> {
    pub fn new(
        detector: &'a Detector,
        setup: &Setup,
        engine: Option<Engine>,
        sink: &'a Sink,
        counters: &'a Counters,
    ) -> Self {
        Worker {
            detector,
            tracker: Tracker::new(detector, setup.tracker.clone()),
            checks: engine.map(Checks::new),
            batch: Batch::default(),
            report: WorkerReport::default(),
            sink,
            counters,
            published: (0, 0, 0),
        }
    }

    /// Moves the tracker's clock to the capture's (see `Tracker::advance_to`).
    pub fn advance_to(&mut self, time_ms: u64) {
        self.tracker.advance_to(time_ms);
    }

    /// Tracks one packet the reader decoded.
    pub fn process_packet(
        &mut self,
        packet: &Packet<'_>,
        wire_len: u32,
        time_ms: u64,
    ) -> Result<(), Error> {
        self.tracker.process_packet(packet, wire_len, time_ms)
    }

    /// Counts a frame the reader could not decode.
    pub fn count_dropped(&mut self, reason: DropReason, wire_len: u32, time_ms: u64) {
        self.tracker.count_dropped(reason, wire_len, time_ms);
    }

    /// Tracks one frame, by its own link type (a frame of none the decoder handles is
    /// counted as dropped).
    pub fn process(&mut self, frame: Frame<'_>) -> Result<(), Error> {
        self.tracker.process_frame(frame)
    }

    /// Handles the tracker's events: checks run, ended flows are counted and written.
    pub fn drain(&mut self) {
        let Worker {
            detector,
            tracker,
            checks,
            batch,
            report,
            sink,
            ..
        } = self;
        let events = tracker.drain_events();
        if events.len() == 0 {
            return;
        }
        for event in events {
            match event {
                FlowEvent::Classified(record) => {
                    if let Some(checks) = checks {
                        checks.classified(&record);
                    }
                }
                FlowEvent::Periodic(record) => {
                    if let Some(checks) = checks {
                        checks.periodic(&record);
                    }
                    if sink.wants_periodic() {
                        batch.periodic.push(record);
                    }
                }
                FlowEvent::Ended(record) => {
                    if let Some(checks) = checks {
                        checks.ended(&record);
                    }
                    // Counted as ndpiReader does: the application protocol, else the master.
                    let name = detector
                        .protocol_id_name(record.most_specific_proto())
                        .unwrap_or("Unknown");
                    report.add_flow(name, &record);
                    batch.flows.push(record);
                }
            }
        }
        if let Some(checks) = checks {
            batch.alerts.extend(checks.take_alerts());
        }
        if !batch.is_empty() {
            report.alerts += batch.alerts.len() as u64;
            sink.write(batch);
            batch.clear();
        }
    }

    /// Adds what changed since the last call to the shared counters.
    pub fn publish(&mut self) {
        let stats = self.tracker.stats();
        let now = (
            stats.flows_created,
            stats.dropped.total(),
            self.report.alerts,
        );
        let c = self.counters;
        c.flows
            .fetch_add(now.0 - self.published.0, Ordering::Relaxed);
        c.dropped
            .fetch_add(now.1 - self.published.1, Ordering::Relaxed);
        c.alerts
            .fetch_add(now.2 - self.published.2, Ordering::Relaxed);
        self.published = now;
    }

    /// Ends every flow (end_reason capture_end) and hands in the report.
    pub fn finish(mut self) -> WorkerReport {
        // A few thousand flows at a time, written as they end: the end of a capture with many
        // flows open then needs no memory for all their records at once.
        while self.tracker.active_flows() > 0 {
            self.tracker.finish_some(4096);
            self.drain();
        }
        self.publish();
        let mut report = self.report;
        report.stats = self.tracker.stats().clone();
        if let Some(checks) = &self.checks {
            report.failures = checks.failures().to_vec();
        }
        report
    }
}
