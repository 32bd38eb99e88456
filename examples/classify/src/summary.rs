//! The report at the end, like ndpiReader's: traffic, drops, capture statistics, protocols,
//! flows, checks, and the throughput line.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use flowlua::ScriptFailure;
use humantime::format_duration;
use indicatif::{DecimalBytes, HumanCount, HumanFloatCount};
use ndpi::export::ExportStats;
use ndpi::{CaptureStats, FlowRecord, TrackerStats};

/// Packets, bytes and flows of one protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub packets: u64,
    pub bytes: u64,
    pub flows: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.flows += other.flows;
    }
}

/// What one worker saw.
#[derive(Debug, Default)]
pub struct WorkerReport {
    pub stats: TrackerStats,
    /// By protocol name, as ndpiReader counts them: the application protocol, else the master.
    pub protocols: BTreeMap<String, Counts>,
    pub alerts: u64,
    pub failures: Vec<ScriptFailure>,
}

impl WorkerReport {
    /// Counts an ended flow under `name`.
    pub fn add_flow(&mut self, name: &str, record: &FlowRecord) {
        let counts = Counts {
            packets: record.packets(),
            bytes: record.bytes(),
            flows: 1,
        };
        match self.protocols.get_mut(name) {
            Some(c) => c.add(counts),
            None => {
                self.protocols.insert(name.to_owned(), counts);
            }
        }
    }
}

/// Everything the final report says.
#[derive(Debug, Default)]
pub struct Report {
    pub stats: TrackerStats,
    pub protocols: BTreeMap<String, Counts>,
    pub alerts: u64,
    pub failures: Vec<ScriptFailure>,
    pub scripts: Option<usize>,
    /// Frames read from the capture, and their wire bytes.
    pub frames_read: u64,
    /// First and last packet time, ms since the epoch.
    pub span_ms: Option<(u64, u64)>,
    pub capture: Option<CaptureStats>,
    pub elapsed: Duration,
    /// The IPFIX export's counters (--ipfix).
    pub export: Option<ExportStats>,
}

impl Report {
    /// Adds one worker's counts: one failure per script, counts summed.
    pub fn merge(&mut self, worker: WorkerReport) {
        self.stats += worker.stats;
        for (name, counts) in worker.protocols {
            self.protocols.entry(name).or_default().add(counts);
        }
        self.alerts += worker.alerts;
        for failure in worker.failures {
            match self
                .failures
                .iter_mut()
                .find(|f| f.script == failure.script)
            {
                Some(known) => known.count += failure.count,
                None => self.failures.push(failure),
            }
        }
    }

    /// Prints the report where the human output goes (standard output, or standard error when
    /// JSON takes standard output): all of it, or with `quiet` the throughput line only. Failed
    /// checks go to standard error.
    pub fn show(&self, to_stderr: bool, quiet: bool, interrupted: bool) -> io::Result<()> {
        let mut out: Box<dyn Write> = match to_stderr {
            true => Box::new(io::stderr()),
            false => Box::new(io::stdout()),
        };
        if !quiet {
            self.print(&mut out)?;
        }
        for failure in &self.failures {
            eprintln!("classify: check failed: {failure}");
        }
        if interrupted && !quiet {
            writeln!(out, "classify: interrupted; every flow was reported")?;
        }
        writeln!(out, "{}", self.throughput())
    }

    /// The full report.
    fn print(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.stats;
        writeln!(out, "\nTraffic:")?;
        writeln!(
            out,
            "  Frames:            {} ({} on the wire), {} in flows",
            HumanCount(s.frames),
            DecimalBytes(s.wire_bytes),
            HumanCount(s.packets)
        )?;
        let drops: Vec<String> = s
            .dropped
            .nonzero()
            .map(|(r, n)| format!("{} {}", r.as_str(), HumanCount(n)))
            .collect();
        let dropped = s.dropped.total();
        match drops.is_empty() {
            true => writeln!(out, "  Dropped frames:    0")?,
            false => writeln!(
                out,
                "  Dropped frames:    {} ({})",
                HumanCount(dropped),
                drops.join(", ")
            )?,
        }
        if let Some(c) = self.capture {
            writeln!(
                out,
                "  Capture:           {} received, {} dropped by the kernel, {} by the interface",
                HumanCount(c.received.into()),
                HumanCount(c.dropped.into()),
                HumanCount(c.if_dropped.into())
            )?;
            if c.dropped > 0 {
                writeln!(
                    out,
                    "                     (the kernel's capture buffer was full: try a larger --buffer-size)"
                )?;
            }
        }
        if let Some((first, last)) = self.span_ms {
            writeln!(
                out,
                "  Traffic duration:  {}",
                format_duration(Duration::from_millis(last - first))
            )?;
        }
        if s.timestamps_backwards > 0 {
            writeln!(
                out,
                "  Time went back:    {} frames",
                HumanCount(s.timestamps_backwards)
            )?;
        }
        let ended: Vec<String> = s
            .flows_ended
            .nonzero()
            .map(|(r, n)| format!("{} {}", r.as_str(), HumanCount(n)))
            .collect();
        writeln!(
            out,
            "  Flows:             {} ({} guessed; ended: {}), {} DPI packets",
            HumanCount(s.flows_created),
            HumanCount(s.flows_guessed),
            if ended.is_empty() {
                "none".to_owned()
            } else {
                ended.join(", ")
            },
            HumanCount(s.dpi_packets)
        )?;

        writeln!(out, "\nDetected protocols:")?;
        for (name, c) in &self.protocols {
            // indicatif's helpers ignore width; pad their text.
            writeln!(
                out,
                "  {name:<20} packets: {:<12} bytes: {:<14} flows: {}",
                HumanCount(c.packets).to_string(),
                HumanCount(c.bytes).to_string(),
                HumanCount(c.flows)
            )?;
        }
        if let Some(e) = &self.export {
            writeln!(
                out,
                "\nIPFIX export:        {} records ({} active), {} sent in {} messages ({}), \
                 {} dropped, {} send errors, {} connect errors, {} connections",
                HumanCount(e.records),
                HumanCount(e.active_records),
                HumanCount(e.records_sent),
                HumanCount(e.messages_sent),
                DecimalBytes(e.bytes_sent),
                HumanCount(e.records_dropped),
                HumanCount(e.send_errors),
                HumanCount(e.connect_errors),
                HumanCount(e.connects)
            )?;
            if let Some(error) = &e.last_error {
                writeln!(out, "  last export error: {error}")?;
            }
        }
        if let Some(scripts) = self.scripts {
            writeln!(
                out,
                "\nLua checks:          {scripts} scripts, {} alerts, {} script errors",
                HumanCount(self.alerts),
                self.failures.len()
            )?;
        }
        writeln!(out)
    }

    /// The closing line: how much, how fast.
    fn throughput(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-6);
        let s = &self.stats;
        format!(
            "classify: {} frames, {} in {}: {:.0} pps, {}/s; {} flows",
            HumanCount(self.frames_read),
            DecimalBytes(s.wire_bytes),
            format_duration(Duration::from_millis(crate::args::millis(self.elapsed))),
            HumanFloatCount(self.frames_read as f64 / secs),
            DecimalBytes((s.wire_bytes as f64 / secs) as u64),
            HumanCount(s.flows_created)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(report: &Report) -> String {
        let mut out = Vec::new();
        report.print(&mut out).expect("written");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn summary_shows_kernel_drops_of_a_live_capture() {
        let mut report = Report {
            capture: Some(CaptureStats {
                received: 10_000,
                dropped: 1_234,
                if_dropped: 5,
            }),
            ..Report::default()
        };
        let text = printed(&report);
        assert!(
            text.contains("Capture:           10,000 received, 1,234 dropped by the kernel, 5 by the interface"),
            "{text}"
        );
        assert!(text.contains("try a larger --buffer-size"), "{text}");

        report.capture = Some(CaptureStats {
            received: 10,
            dropped: 0,
            if_dropped: 0,
        });
        let text = printed(&report);
        assert!(text.contains("0 dropped by the kernel"), "{text}");
        assert!(!text.contains("--buffer-size"), "{text}");

        report.capture = None;
        assert!(!printed(&report).contains("Capture:"));
    }
}
