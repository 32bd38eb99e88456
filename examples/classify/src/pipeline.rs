//! The run: the reader loop (stop conditions, timestamps, progress) feeding either one worker
//! inline or N worker threads, each owning the flows of one shard of a symmetric hash of the
//! flows' addresses; or, live on a fanout group, N worker threads each reading its own capture
//! (the kernel shards by the same kind of hash) while this thread watches and reports.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use flowlua::Engine;
use ndpi::{
    decode, Capture, CaptureStats, DecodeOptions, DropReason, Frame, MapLease, Next, Packet,
    SharedMap,
};
use rustc_hash::FxHasher;

use crate::output::Sink;
use crate::progress::{Counters, KernelDrops, Progress};
use crate::source::{sum_stats, Read, Source};
use crate::summary::{Report, WorkerReport};
use crate::worker::{Module, Modules, Setup, Worker};
use crate::{args::millis, Fatal};

/// When to stop reading.
pub struct Limits<'a> {
    /// Set by Ctrl-C / SIGTERM.
    pub signal: &'a AtomicBool,
    pub count: Option<u64>,
    /// Wall-clock time live, capture time for files.
    pub duration: Option<Duration>,
}

/// Everything a run needs besides the capture.
pub struct Run<'a> {
    pub setup: &'a Setup,
    pub sink: &'a Sink,
    pub progress: &'a mut Progress,
    pub limits: Limits<'a>,
}

/// Reads the whole capture. The report covers every frame read; `Err` in the second place is
/// what stopped the reading early (a damaged file, a failed worker), after which every flow was
/// still reported.
pub fn run(
    source: &mut Source,
    modules: Modules<'_>,
    engine: Option<Engine>,
    mut run: Run<'_>,
) -> (Report, Result<(), Fatal>) {
    let counters = Counters::default();
    let started = Instant::now();
    let (mut report, result) = if let Some((captures, ready_ms)) = source.fanout() {
        drop(engine);
        let group = Group {
            ready_ms,
            stop: AtomicBool::new(false),
            frames: AtomicU64::new(0),
            stats: captures.iter().map(|_| Mutex::new(None)).collect(),
        };
        fanout(captures, modules, &group, &mut run, &counters)
    } else if modules.count == 1 {
        let detector = modules.first;
        let mut worker = Worker::new(&detector, run.setup, engine, run.sink, &counters);
        let (mut report, result) = read(source, &mut worker, &mut run, &counters);
        report.merge(worker.finish());
        (report, result)
    } else {
        drop(engine);
        sharded(source, modules, &mut run, &counters)
    };
    report.elapsed = started.elapsed();
    report.capture = source.stats();
    run.progress.finish();
    (report, result)
}

/// Where the reader puts frames.
trait Dispatch {
    /// One frame, as read, and the memory map it lies in (a mapped file's); `clock_ms` is the
    /// capture's latest time before it.
    fn frame(
        &mut self,
        frame: Frame<'_>,
        map: Option<&SharedMap>,
        clock_ms: u64,
    ) -> Result<(), Fatal>;
    /// Moves every tracker's clock to `clock_ms` (ending the flows idle or done lingering by
    /// then), hands over whatever waits (a batch not yet full) and publishes the counters.
    fn flush(&mut self, clock_ms: u64) -> Result<(), Fatal>;
}

impl Dispatch for Worker<'_> {
    fn frame(&mut self, frame: Frame<'_>, _: Option<&SharedMap>, _: u64) -> Result<(), Fatal> {
        // The only tracker sees every frame: its own clock is the capture's.
        self.process(frame)?;
        self.drain();
        Ok(())
    }

    fn flush(&mut self, clock_ms: u64) -> Result<(), Fatal> {
        self.advance_to(clock_ms);
        self.drain();
        self.publish();
        Ok(())
    }
}

/// The reader loop. Returns the reader's counts and what stopped it early, if anything.
fn read(
    source: &mut Source,
    dispatch: &mut impl Dispatch,
    run: &mut Run<'_>,
    counters: &Counters,
) -> (Report, Result<(), Fatal>) {
    let live = source.is_live();
    let limits = &run.limits;
    let deadline = limits.duration.filter(|_| live).map(|d| Instant::now() + d);
    let span_limit = limits.duration.filter(|_| !live).map(millis);
    let mut report = Report::default();
    // The capture's clock: the latest frame time so far. Frames out of order are clamped to it
    // and counted by the trackers, which are handed the clock along with each frame, and at
    // each flush. On a quiet live link the wall clock moves it on (live frame times are
    // wall-clock times): idle flows and closed TCP flows end on time without a frame.
    let (mut clock_ms, mut last_tick) = (0, Instant::now());
    let mut kernel_drops = KernelDrops::default();
    let result = loop {
        let mut idle = false;
        if limits.signal.load(Ordering::Relaxed)
            || run.sink.failed()
            || limits.count.is_some_and(|c| report.frames_read >= c)
        {
            break Ok(());
        }
        match source.next_frame() {
            Ok(Read::Frame(frame, map)) => {
                let time = frame.time_ms.max(clock_ms);
                let first = report.span_ms.map_or(time, |(first, _)| first);
                if span_limit.is_some_and(|limit| time - first >= limit) {
                    break Ok(());
                }
                report.span_ms = Some((first, time));
                let before = std::mem::replace(&mut clock_ms, time);
                report.frames_read += 1;
                if let Err(e) = dispatch.frame(frame, map, before) {
                    break Err(e);
                }
            }
            Ok(Read::Idle) if live => {
                clock_ms = clock_ms.max(wall_clock_ms());
                idle = true;
            }
            Ok(Read::Idle) => {}
            Ok(Read::End) => break Ok(()),
            Err(e) => break Err(e.into()),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Ok(());
        }
        // Now and then, and live whenever the link is quiet: partial batches and the clock go
        // to the workers, the display is refreshed.
        let due = match live {
            true => idle || last_tick.elapsed() >= Duration::from_millis(100),
            false => report.frames_read.is_multiple_of(4096),
        };
        if due {
            last_tick = Instant::now();
            run.sink.tick();
            if let Err(e) = dispatch.flush(clock_ms) {
                break Err(e);
            }
            let kernel = source.stats();
            if let Some(warning) = kernel.and_then(|k| kernel_drops.check(k)) {
                run.progress.warn(&warning);
            }
            let (at, frames) = (source.position(), report.frames_read);
            run.progress.update(at, frames, counters, kernel);
        }
    };
    let flushed = dispatch.flush(clock_ms);
    (report, result.and(flushed))
}

/// The wall-clock time in ms since the Unix epoch, the base of live frame times.
fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, millis)
}

/// Frames decoded by the reader, on their way to one worker: each packet's header fields and
/// where its L3 bytes are. Those of a memory-mapped file stay in the map, which the batch
/// shares (the worker reads them there: no copy); those of a stream or a live capture, whose
/// buffer the next read reuses, are copied into the batch. The worker does not decode again.
#[derive(Default)]
struct Batch {
    /// The file the frames' bytes lie in, kept mapped from the first frame on; `None`: they
    /// are in `bytes`.
    map: Option<MapLease>,
    /// The copied L3 bytes of the packets, one after the other.
    bytes: Vec<u8>,
    frames: Vec<FrameMeta>,
    /// The capture's clock after the frames (0: none given): the worker's tracker moves to it,
    /// so that its flows end on time even when the other workers get all the frames, or none
    /// come at all.
    clock_ms: u64,
}

impl Batch {
    /// Whether a packet lying in `map` (or copied: `None`) may join the batch: its bytes
    /// are all in one place, the map it leases or its own. A batch that holds no bytes yet
    /// (only frames that did not decode, which have none) takes either.
    fn takes(&self, map: Option<&SharedMap>) -> bool {
        match (&self.map, map) {
            // A live map is one allocation: the same start is the same map.
            (Some(held), Some(map)) => held.as_ptr() == map.as_ptr(),
            (Some(_), None) => false,
            (None, Some(_)) => self.bytes.is_empty(),
            (None, None) => true,
        }
    }

    /// Empties the batch for reuse, and gives up its lease on the file's pages.
    fn clear(&mut self) {
        self.map = None;
        self.bytes.clear();
        self.frames.clear();
        self.clock_ms = 0;
    }

    /// The bytes the frames' `l3` ranges index.
    fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&self.bytes)
    }
}

struct FrameMeta {
    /// The packet's header fields, its `l3` empty (see `l3`); or why the frame did not decode.
    packet: Result<Packet<'static>, DropReason>,
    /// Where the packet's L3 bytes are in the batch's map or bytes.
    l3: std::ops::Range<usize>,
    wire_len: u32,
    /// As captured: the worker's tracker clamps it.
    time_ms: u64,
    /// The capture's latest time before this frame, which the worker's tracker may not have
    /// seen (it went to another worker): with it, times are clamped as with one tracker.
    clock_ms: u64,
}

/// Frames per batch: enough to make channel overhead negligible (with 256, a two-thread run on
/// the 8x workload switched threads 15,800 times, with 1,024 2,700), few enough to keep latency
/// and memory low (a batch's frames take about 100 KiB).
const BATCH_FRAMES: usize = 1024;
/// Batches in flight per worker. With more threads than free cores, one is off its core for a
/// scheduler slice now and then; a queue that covers that keeps the others busy. But the
/// batches lease the file's pages, which stay resident until the slowest worker is done with
/// them. The 8x workload with two workers on two cores (nDPI 4.10 / 4.2, peak RSS): 16 batches
/// 0.47 s / -, 32 0.45 s (150 MB) / -, 64 0.43 s (180 MB) / 0.37 s (170 MB), 128 0.41 s
/// (250 MB) / 0.37 s (210 MB, about ndpiReader 4.2's 217 MB).
const QUEUE: usize = 64;

/// The reader's side of the worker threads.
struct Shards {
    senders: Vec<SyncSender<Batch>>,
    pending: Vec<Batch>,
    /// The clock last handed to each worker.
    clocks: Vec<u64>,
    /// Emptied batches coming back, to be reused.
    recycled: Receiver<Batch>,
    decode: DecodeOptions,
}

impl Shards {
    fn send(&mut self, shard: usize) -> Result<(), Fatal> {
        let fresh = self.recycled.try_recv().unwrap_or_default();
        let batch = std::mem::replace(&mut self.pending[shard], fresh);
        self.senders[shard]
            .send(batch)
            .map_err(|_| "a worker thread stopped".into())
    }

    /// The worker for a packet: a hash of its VLAN and its two addresses, the same in both
    /// directions. Flows between the same two hosts share a worker, and with it nDPI's caches
    /// that link flows (Ookla, Zoom, STUN, TLS certificates, ...), so that they are classified as
    /// with one thread. Frames that do not decode go to the first worker, which counts them.
    fn shard(&self, packet: &Result<Packet<'_>, DropReason>) -> usize {
        let Ok(packet) = packet else {
            return 0;
        };
        let pair = match packet.src <= packet.dst {
            true => (packet.src, packet.dst),
            false => (packet.dst, packet.src),
        };
        let mut hasher = FxHasher::default();
        (packet.vlan_id, pair).hash(&mut hasher);
        // The high bits of the hash, scaled to the number of workers.
        ((u128::from(hasher.finish()) * self.senders.len() as u128) >> 64) as usize
    }
}

impl Dispatch for Shards {
    fn frame(
        &mut self,
        frame: Frame<'_>,
        map: Option<&SharedMap>,
        clock_ms: u64,
    ) -> Result<(), Fatal> {
        // Decoded once, here: the shard depends on the packet, and the worker takes it as is.
        // A frame of a link type the decoder does not handle (an interface of a pcapng file)
        // is dropped as the tracker would drop it.
        let decoded = match frame.link {
            Some(link) => decode(link, frame.data, self.decode),
            None => Err(DropReason::UnsupportedLinkType),
        };
        let shard = self.shard(&decoded);
        let (packet, l3) = match decoded {
            Ok(packet) => {
                // A mapped file's bytes by reference; the others are copied.
                let in_map = map.and_then(|map| Some((map, map.range_of(packet.l3)?)));
                let wanted = in_map.as_ref().map(|(map, _)| *map);
                if !self.pending[shard].takes(wanted) {
                    self.send(shard)?;
                }
                let batch = &mut self.pending[shard];
                let l3 = match in_map {
                    Some((map, range)) => {
                        // The first of the batch's bytes: the pages from there on stay mapped.
                        if batch.map.is_none() {
                            batch.map = Some(map.lease(range.start));
                        }
                        range
                    }
                    None => {
                        let start = batch.bytes.len();
                        batch.bytes.extend_from_slice(packet.l3);
                        start..batch.bytes.len()
                    }
                };
                (Ok(packet.with_l3(&[])), l3)
            }
            Err(reason) => (Err(reason), 0..0),
        };
        let batch = &mut self.pending[shard];
        batch.frames.push(FrameMeta {
            packet,
            l3,
            wire_len: frame.wire_len,
            time_ms: frame.time_ms,
            clock_ms,
        });
        if batch.frames.len() >= BATCH_FRAMES {
            self.send(shard)?;
        }
        Ok(())
    }

    fn flush(&mut self, clock_ms: u64) -> Result<(), Fatal> {
        for shard in 0..self.pending.len() {
            // A batch with no frames carries the clock alone.
            if !self.pending[shard].frames.is_empty() || clock_ms > self.clocks[shard] {
                self.pending[shard].clock_ms = clock_ms;
                self.clocks[shard] = clock_ms;
                self.send(shard)?;
            }
        }
        Ok(())
    }
}

/// One thread per detector; the calling thread reads.
fn sharded(
    source: &mut Source,
    modules: Modules<'_>,
    run: &mut Run<'_>,
    counters: &Counters,
) -> (Report, Result<(), Fatal>) {
    let (recycle, recycled) = mpsc::channel();
    let setup = run.setup;
    let sink = run.sink;
    std::thread::scope(|scope| {
        let mut senders = Vec::new();
        let mut workers = Vec::new();
        for module in modules.each() {
            let (sender, receiver) = mpsc::sync_channel(QUEUE);
            let recycle = recycle.clone();
            senders.push(sender);
            workers
                .push(scope.spawn(move || work(module, receiver, recycle, setup, sink, counters)));
        }
        let mut shards = Shards {
            pending: senders.iter().map(|_| Batch::default()).collect(),
            clocks: vec![0; senders.len()],
            senders,
            recycled,
            decode: setup.tracker.decode,
        };
        let (mut report, mut result) = read(source, &mut shards, run, counters);
        drop(shards);
        for worker in workers {
            match worker.join() {
                Ok(Ok(worker)) => report.merge(worker),
                // A worker's own error explains a reader's "worker stopped".
                Ok(Err(e)) => result = Err(e),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (report, result)
    })
}

/// A worker thread: its own tracker and checks engine (which cannot move between threads).
fn work(
    module: Module<'_>,
    batches: Receiver<Batch>,
    recycle: Sender<Batch>,
    setup: &Setup,
    sink: &Sink,
    counters: &Counters,
) -> Result<WorkerReport, Fatal> {
    let detector = module.get()?;
    let engine = setup.load_checks()?;
    let mut worker = Worker::new(&detector, setup, engine, sink, counters);
    for mut batch in batches {
        let bytes = batch.bytes();
        for frame in &batch.frames {
            worker.advance_to(frame.clock_ms);
            match &frame.packet {
                Ok(packet) => {
                    let packet = packet.with_l3(&bytes[frame.l3.clone()]);
                    worker.process_packet(&packet, frame.wire_len, frame.time_ms)?;
                }
                Err(reason) => worker.count_dropped(*reason, frame.wire_len, frame.time_ms),
            }
        }
        worker.advance_to(batch.clock_ms);
        worker.drain();
        worker.publish();
        batch.clear();
        // The reader may be gone already; the batch is then simply freed.
        let _ = recycle.send(batch);
    }
    Ok(worker.finish())
}

/// What the workers of a fanout group share with the monitoring thread.
struct Group {
    /// Frames stamped before this (ms since the epoch) came before the group was complete.
    ready_ms: u64,
    /// Set by the monitoring thread, or by a worker that reached --count or failed.
    stop: AtomicBool,
    /// Frames read by all the workers.
    frames: AtomicU64,
    /// Each capture's latest statistics.
    stats: Vec<Mutex<Option<CaptureStats>>>,
}

/// What one worker of a fanout group read.
struct Read1 {
    frames: u64,
    span_ms: Option<(u64, u64)>,
}

/// Live `--threads N` on a fanout group: each worker thread reads its own capture, tracks and
/// checks its flows, and ends them on the wall clock when its capture is quiet. The calling
/// thread watches the stop conditions and refreshes the status line.
fn fanout(
    captures: &mut [Capture],
    modules: Modules<'_>,
    group: &Group,
    run: &mut Run<'_>,
    counters: &Counters,
) -> (Report, Result<(), Fatal>) {
    let (setup, sink, count) = (run.setup, run.sink, run.limits.count);
    let deadline = run.limits.duration.map(|d| Instant::now() + d);
    std::thread::scope(|scope| {
        let workers: Vec<_> = captures
            .iter_mut()
            .zip(modules.each())
            .enumerate()
            .map(|(slot, (capture, module))| {
                scope.spawn(move || {
                    let result =
                        read_own(capture, slot, module, group, setup, sink, counters, count);
                    // A failed worker stops the others.
                    if result.is_err() {
                        group.stop.store(true, Ordering::Relaxed);
                    }
                    result
                })
            })
            .collect();
        let mut kernel_drops = KernelDrops::default();
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let stats = sum_stats(group.stats.iter().map(|s| *s.lock().expect("not poisoned")));
            if let Some(warning) = stats.and_then(|k| kernel_drops.check(k)) {
                run.progress.warn(&warning);
            }
            let frames = group.frames.load(Ordering::Relaxed);
            run.progress.update(0, frames, counters, stats);
            if run.limits.signal.load(Ordering::Relaxed)
                || sink.failed()
                || deadline.is_some_and(|d| Instant::now() >= d)
                || group.stop.load(Ordering::Relaxed)
                || workers.iter().any(|w| w.is_finished())
            {
                break;
            }
        }
        group.stop.store(true, Ordering::Relaxed);
        let (mut report, mut result) = (Report::default(), Ok(()));
        for worker in workers {
            match worker.join() {
                Ok(Ok((worker, read))) => {
                    report.merge(worker);
                    report.frames_read += read.frames;
                    report.span_ms = match (report.span_ms, read.span_ms) {
                        (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                        (a, b) => a.or(b),
                    };
                }
                Ok(Err(e)) => result = Err(e),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (report, result)
    })
}

/// One worker of a fanout group: reads its capture until told to stop (or --count frames were
/// read by all), and hands in its report.
#[allow(clippy::too_many_arguments)]
fn read_own(
    capture: &mut Capture,
    slot: usize,
    module: Module<'_>,
    group: &Group,
    setup: &Setup,
    sink: &Sink,
    counters: &Counters,
    count: Option<u64>,
) -> Result<(WorkerReport, Read1), Fatal> {
    let detector = module.get()?;
    let engine = setup.load_checks()?;
    let mut worker = Worker::new(&detector, setup, engine, sink, counters);
    let mut read = Read1 {
        frames: 0,
        span_ms: None,
    };
    let (mut published, mut last_tick) = (0, Instant::now());
    while !group.stop.load(Ordering::Relaxed) {
        let mut idle = false;
        match capture.next_frame()? {
            // Each capture of the group got these before the group was complete.
            Next::Frame(frame) if frame.time_ms < group.ready_ms => {}
            Next::Frame(frame) => {
                if let Some(count) = count {
                    if group.frames.fetch_add(1, Ordering::Relaxed) >= count {
                        group.stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    published += 1;
                }
                read.frames += 1;
                let first = read.span_ms.map_or(frame.time_ms, |(first, _)| first);
                let last = read.span_ms.map_or(frame.time_ms, |(_, last)| last);
                read.span_ms = Some((first, last.max(frame.time_ms)));
                worker.process(frame)?;
                worker.drain();
            }
            // A quiet capture: the wall clock moves the flows' time on (live frame times are
            // wall-clock times), so that idle and closed flows end on time.
            Next::Timeout => {
                worker.advance_to(wall_clock_ms());
                idle = true;
            }
            Next::End => break,
        }
        if idle || last_tick.elapsed() >= Duration::from_millis(100) {
            last_tick = Instant::now();
            worker.drain();
            worker.publish();
            group
                .frames
                .fetch_add(read.frames - published, Ordering::Relaxed);
            published = read.frames;
            *group.stats[slot].lock().expect("not poisoned") = capture.stats();
        }
    }
    let report = worker.finish();
    group
        .frames
        .fetch_add(read.frames - published, Ordering::Relaxed);
    *group.stats[slot].lock().expect("not poisoned") = capture.stats();
    Ok((report, read))
}
