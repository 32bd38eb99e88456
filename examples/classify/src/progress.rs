//! What the user sees while it runs, on a terminal only: a progress bar for files, a status
//! line refreshed once a second for a live capture. The workers publish their counts here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{HumanCount, HumanFloatCount, ProgressBar, ProgressDrawTarget, ProgressStyle};

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

    /// Refreshes the display, at most once a second live. `position` is how far the files have
    /// been read, in bytes; `frames` how many frames were read.
    pub fn update(&mut self, position: u64, frames: u64, counters: &Counters, drops: u64) {
        if self.bar.is_hidden() {
            return;
        }
        let flows = HumanCount(Counters::get(&counters.flows));
        let dropped = HumanCount(Counters::get(&counters.dropped) + drops);
        let alerts = Counters::get(&counters.alerts);
        if !self.live {
            self.bar.set_position(position);
            self.bar
                .set_message(format!("{flows} flows, {alerts} alerts"));
            return;
        }
        let elapsed = self.last.elapsed();
        if elapsed < Duration::from_secs(1) {
            return;
        }
        let rate = (frames - self.last_frames) as f64 / elapsed.as_secs_f64();
        self.last = Instant::now();
        self.last_frames = frames;
        self.bar.set_message(format!(
            "{} frames, {:.0} pps, {flows} flows, {dropped} dropped, {alerts} alerts",
            HumanCount(frames),
            HumanFloatCount(rate),
        ));
        self.bar.tick();
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
