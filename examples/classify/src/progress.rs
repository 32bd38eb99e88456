//! What the user sees while it runs, on a terminal only: a progress bar for files, a status
//! line refreshed once a second for a live capture. The workers publish their counts here.
//! Live, the first frames the kernel drops also get a warning, terminal or not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{HumanCount, HumanFloatCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndpi::CaptureStats;

/// Counts the workers publish as they go (the reader counts frames itself).
#[derive(Debug, Default)]
pub struct Counters {
    pub flows: AtomicU64,
    pub dropped: AtomicU64,
    pub alerts: AtomicU64,
}

impl Counters {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The bar or status line.
pub struct Progress {
    bar: ProgressBar,
    live: bool,
    last: Instant,
    last_frames: u64,
}

impl Progress {
    /// A bar over `file_bytes` for files, a status line live; hidden with `quiet`, and when
    /// standard error is not a terminal.
    pub fn new(live: bool, file_bytes: u64, quiet: bool) -> Progress {
        let target = match quiet {
            true => ProgressDrawTarget::hidden(),
            false => ProgressDrawTarget::stderr_with_hz(4),
        };
        let bar = match live {
            true => ProgressBar::with_draw_target(None, target).with_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("valid template"),
            ),
            false => ProgressBar::with_draw_target(Some(file_bytes), target).with_style(
                ProgressStyle::with_template(
                    "{elapsed:>4} [{wide_bar}] {bytes}/{total_bytes} {msg} (eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            ),
        };
        Progress {
            bar,
            live,
            last: Instant::now(),
            last_frames: 0,
        }
    }

    /// A handle for printing around the bar.
    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }

    /// Prints a line on standard error, around the bar.
    pub fn warn(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Refreshes the display, at most once a second live. `position` is how far the files have
    /// been read, in bytes; `frames` how many frames were read; `kernel` libpcap's statistics of
    /// a live capture.
    pub fn update(
        &mut self,
        position: u64,
        frames: u64,
        counters: &Counters,
        kernel: Option<CaptureStats>,
    ) {
        if self.bar.is_hidden() {
            return;
        }
        let flows = Counters::get(&counters.flows);
        let alerts = Counters::get(&counters.alerts);
        if !self.live {
            self.bar.set_position(position);
            self.bar
                .set_message(format!("{} flows, {alerts} alerts", HumanCount(flows)));
            return;
        }
        let elapsed = self.last.elapsed();
        if elapsed < Duration::from_secs(1) {
            return;
        }
        let rate = (frames - self.last_frames) as f64 / elapsed.as_secs_f64();
        self.last = Instant::now();
        self.last_frames = frames;
        let dropped = Counters::get(&counters.dropped);
        self.bar
            .set_message(status(frames, rate, flows, dropped, kernel, alerts));
        self.bar.tick();
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The live status line: frames, rate, flows, frames dropped as undecodable, frames lost before
/// classify could read them (by the kernel, whose buffer was full, and by the interface), alerts.
fn status(
    frames: u64,
    rate: f64,
    flows: u64,
    dropped: u64,
    kernel: Option<CaptureStats>,
    alerts: u64,
) -> String {
    let lost = kernel.map_or(0, |k| u64::from(k.dropped) + u64::from(k.if_dropped));
    format!(
        "{} frames, {:.0} pps, {} flows, {} dropped, {} lost by the kernel, {alerts} alerts",
        HumanCount(frames),
        HumanFloatCount(rate),
        HumanCount(flows),
        HumanCount(dropped),
        HumanCount(lost),
    )
}

/// Watches a live capture's kernel drops (libpcap's `ps_drop` and `ps_ifdrop`, counted from the
/// start of the capture) for the first time they grow.
#[derive(Debug, Default)]
pub struct KernelDrops {
    warned: bool,
}

impl KernelDrops {
    /// The warning to print, once: the first statistics with drops get it, later ones nothing.
    pub fn check(&mut self, stats: CaptureStats) -> Option<String> {
        if self.warned || (stats.dropped == 0 && stats.if_dropped == 0) {
            return None;
        }
        self.warned = true;
        Some(format!(
            "classify: warning: frames were lost before classify could read them: {} dropped by \
             the kernel (its capture buffer was full; try a larger --buffer-size), {} by the \
             interface; the summary gives the totals",
            HumanCount(stats.dropped.into()),
            HumanCount(stats.if_dropped.into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(dropped: u32, if_dropped: u32) -> CaptureStats {
        CaptureStats {
            received: 1000,
            dropped,
            if_dropped,
        }
    }

    #[test]
    fn kernel_drops_warn_once_when_they_first_grow() {
        let mut drops = KernelDrops::default();
        assert_eq!(drops.check(stats(0, 0)), None);
        assert_eq!(drops.check(stats(0, 0)), None);
        let warning = drops.check(stats(1234, 0)).expect("a warning");
        assert!(warning.contains("1,234 dropped by the kernel"), "{warning}");
        assert!(warning.contains("--buffer-size"), "{warning}");
        assert_eq!(drops.check(stats(5000, 0)), None);
        assert_eq!(drops.check(stats(5000, 7)), None);
    }

    #[test]
    fn interface_drops_warn_too() {
        let mut drops = KernelDrops::default();
        let warning = drops.check(stats(0, 7)).expect("a warning");
        assert!(warning.contains("0 dropped by the kernel"), "{warning}");
        assert!(warning.contains("7 by the interface"), "{warning}");
    }

    #[test]
    fn status_line_shows_kernel_drops_apart() {
        let line = status(12_345, 99.6, 7, 3, Some(stats(40, 2)), 1);
        assert_eq!(
            line,
            "12,345 frames, 100 pps, 7 flows, 3 dropped, 42 lost by the kernel, 1 alerts"
        );
        let line = status(0, 0.0, 0, 0, None, 0);
        assert!(line.contains("0 lost by the kernel"), "{line}");
    }
}
