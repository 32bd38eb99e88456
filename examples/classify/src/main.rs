//! `classify`: classify a live interface or pcap files with nDPI, run Lua flow checks on the
//! flows, and report flows and alerts. `classify --help` lists the options.
//!
//! ```text
//! cargo run --release -p classify -- -r tests/data/loopback.pcap --checks examples/checks
//! sudo target/release/classify -i eth0 --json flows.jsonl
//! ```

mod args;
mod checks;
mod output;
mod pipeline;
mod progress;
mod source;
mod summary;
mod worker;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::args::Args;
use crate::checks::ChecksDir;
use crate::output::Sink;
use crate::pipeline::{Limits, Run};
use crate::progress::Progress;
use crate::source::Source;
use crate::worker::{Modules, Setup};

/// mimalloc for Rust and, through nDPI's hooks (`ndpi::use_rust_allocator`), for nDPI: flows,
/// records and nDPI's per-flow state come and go by the million, and mimalloc's thread-local
/// free lists make that cheaper than glibc's malloc, above all with several workers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An error that ends the run, printed as one line.
pub type Fatal = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    // First thing: nDPI may change allocators only before it allocates.
    if let Err(e) = ndpi::use_rust_allocator() {
        eprintln!("classify: error: {e}");
        return ExitCode::FAILURE;
    }
    let args = match args::parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message on one line, without its usage and hint lines.
            let text = e.to_string();
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !(l.is_empty() || l.starts_with("Usage:") || l.starts_with("For more")))
                .collect();
            eprintln!("classify: {}", lines.join(" "));
            return ExitCode::from(2);
        }
    };
    match classify(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classify: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn classify(args: &Args) -> Result<(), Fatal> {
    let signal = Arc::new(AtomicBool::new(false));
    let flag = signal.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::Relaxed) {
            std::process::exit(130);
        }
    })?;

    // Everything that can be wrong with the arguments is found before the capture starts: the
    // first detection module is built now (the workers build the others). They share nDPI's
    // caches (4.10's global context): a cache entry one worker makes, another finds, as one
    // module would (Ookla's cache is keyed by the client address alone, and the workers'
    // shards are host pairs).
    let global = ndpi::GlobalContext::new()?;
    let build = || args.detector().share_caches(&global).build();
    let modules = Modules {
        first: build()?,
        count: args.threads.into(),
        build: &build,
    };
    let to_stdout = args.json_to_stdout();
    let (checks, engine) = match &args.checks {
        Some(dir) => {
            let (checks, engine) = ChecksDir::open(dir.clone(), to_stdout)?;
            (Some(checks), Some(engine))
        }
        None => (None, None),
    };
    let scripts = checks.as_ref().map(|c| c.scripts);
    let setup = Setup {
        tracker: args
            .tracker_config(args.periodic_interval(checks.as_ref().and_then(|c| c.periodic))),
        checks,
    };

    let mut source = Source::open(args)?;
    let mut progress = Progress::new(source.is_live(), source.file_bytes, args.quiet);
    let human = !(args.quiet || to_stdout);
    let mut sink = Sink::create(
        args.json.as_deref(),
        human,
        source.is_live(),
        progress.bar(),
    )?;
    if args.flow_updates.is_some() {
        sink = sink.with_flow_updates();
    }
    if let Some(collector) = args.ipfix {
        let exporter = ndpi::export::Exporter::start(collector, args.export_config())
            .map_err(|e| format!("cannot export to {collector}: {e}"))?;
        sink = sink.with_ipfix(exporter);
    }
    if let Some(link) = source.live_link().filter(|_| !args.quiet) {
        eprintln!(
            "classify: capturing on {} ({:?}), snaplen {}, buffer {}; Ctrl-C to stop",
            args.interface.as_deref().unwrap_or_default(),
            link,
            args.snaplen,
            indicatif::BinaryBytes(args.buffer_size.unsigned_abs().into())
        );
    }
    let run = Run {
        setup: &setup,
        sink: &sink,
        progress: &mut progress,
        limits: Limits {
            signal: &signal,
            count: args.count,
            duration: args.duration,
        },
    };
    let (mut report, result) = pipeline::run(&mut source, modules, engine, run);
    report.scripts = scripts;
    let written = sink.finish(&report.failures);
    report.export = sink.finish_export();

    report.show(to_stdout, args.quiet, signal.load(Ordering::Relaxed))?;
    result?;
    written?;
    Ok(())
}
