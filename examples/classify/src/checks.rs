//! The Lua checks: where they come from, and which hooks run for which flow.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use flowlua::{Alert, Engine, EngineConfig, Hook, LoadError, Output, ScriptFailure};
use ndpi::FlowRecord;

use crate::Fatal;

/// Flow time between two periodic hooks of a flow, as ntopng's periodic flow scripts run: the
/// tracker's periodic events drive them. With `--ipfix` those events come every
/// `--active-timeout` instead (the IPFIX active timeout), and the hooks with them.
pub const PERIODIC_INTERVAL: Duration = Duration::from_secs(60);

/// A checks directory and the settings every worker loads it with.
pub struct ChecksDir {
    dir: PathBuf,
    config: EngineConfig,
    /// How many scripts loaded.
    pub scripts: usize,
    /// How often periodic hooks run ([`PERIODIC_INTERVAL`]), if a script has one.
    pub periodic: Option<Duration>,
}

impl ChecksDir {
    /// Loads `dir` once, to report a bad directory or scripts that fail to load before any work
    /// is done. Script output goes to standard error when JSON takes standard output.
    pub fn open(dir: PathBuf, json_to_stdout: bool) -> Result<(ChecksDir, Engine), Fatal> {
        let config = EngineConfig::default().output(match json_to_stdout {
            true => Output::callback(|bytes| {
                let _ = std::io::stderr().write_all(bytes);
            }),
            false => Output::Stdout,
        });
        let engine = Engine::load(&dir, config.clone()).map_err(fatal)?;
        for failure in engine.failures() {
            eprintln!("classify: warning: check not loaded: {failure}");
        }
        let checks = ChecksDir {
            scripts: engine.scripts().count(),
            periodic: engine.has_hook(Hook::Periodic).then_some(PERIODIC_INTERVAL),
            dir,
            config,
        };
        Ok((checks, engine))
    }

    /// Loads the scripts again, for another worker.
    pub fn load(&self) -> Result<Engine, Fatal> {
        Engine::load(&self.dir, self.config.clone()).map_err(fatal)
    }
}

/// A load error as the run's error, by its message: flowlua's error keeps mlua's, which may hold
/// a cause that cannot cross threads, and a worker's error does.
fn fatal(e: LoadError) -> Fatal {
    e.to_string().into()
}

/// One worker's engine, run on its flows' events.
pub struct Checks {
    engine: Engine,
}

impl Checks {
    pub fn new(engine: Engine) -> Self {
        Checks { engine }
    }

    /// Classification is final (the tracker says so exactly once per flow): the `Detected`
    /// hook.
    pub fn classified(&mut self, record: &FlowRecord) {
        self.engine.run(Hook::Detected, record);
    }

    /// The periodic interval passed.
    pub fn periodic(&mut self, record: &FlowRecord) {
        self.engine.run(Hook::Periodic, record);
    }

    /// The flow ended: the `End` hook, after which the engine forgets the flow.
    pub fn ended(&mut self, record: &FlowRecord) {
        self.engine.run(Hook::End, record);
    }

    /// The alerts raised since the last call.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        self.engine.take_alerts()
    }

    /// The scripts that failed.
    pub fn failures(&self) -> &[ScriptFailure] {
        self.engine.failures()
    }
}
