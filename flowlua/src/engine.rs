//! [`Engine`]: loads a checks directory once, then runs its scripts on flow records.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use ndpi::FlowRecord;

use crate::failure::Failures;
use crate::runtime::Runtime;
use crate::scripts::{self, Script};
use crate::{Alert, EngineConfig, Hook, ScriptFailure};

/// The scripts of one checks directory, in one Lua state.
///
/// Not `Send`: a Lua state belongs to one thread (mlua's `send` feature would add a lock to
/// every call). Run one engine per thread.
pub struct Engine {
    rt: Runtime,
    scripts: Vec<Script>,
    /// Per hook, whether any script runs on it.
    hooks: [bool; 3],
    failures: Failures,
}

impl Engine {
    /// Loads every `*.lua` file directly in `dir`, in name order: ntopng's three fixed file
    /// names as ntopng-layout hooks, every other file as a spec-layout module (its top level runs
    /// now). A script that fails to load is left out and listed in
    /// [`failures`](Engine::failures); only an unreadable directory or a Lua state that cannot
    /// be set up is an error.
    pub fn load(dir: impl AsRef<Path>, config: EngineConfig) -> Result<Engine, LoadError> {
        let dir = dir.as_ref();
        let unreadable = |source| LoadError::Dir {
            path: dir.to_path_buf(),
            source,
        };
        let absolute = std::path::absolute(dir).map_err(unreadable)?;
        let names = scripts::find(&absolute).map_err(unreadable)?;
        let rt = Runtime::new(&config, &absolute).map_err(LoadError::Lua)?;
        let mut failures = Failures::new(config.memory_limit);
        let mut loaded = Vec::new();
        for name in names {
            let path: Rc<str> = Rc::from(dir.join(&name).to_string_lossy());
            match scripts::load(&rt, &path, &absolute.join(&name)) {
                Ok(script) => loaded.push(script),
                Err(error) => failures.record(&path, None, &error),
            }
        }
        Ok(Engine {
            rt,
            hooks: Hook::ALL.map(|hook| loaded.iter().any(|s| !s.entries(hook).is_empty())),
            scripts: loaded,
            failures,
        })
    }

    /// Runs every script that has `hook` on `record`, in load order (within a module, `check`
    /// before `periodic_update` or `flow_end`). A script that fails is stopped, its failure
    /// counted, and the next script runs; alerts raised before a failure are kept.
    ///
    /// Call it with [`Hook::End`] for every flow, whether or not a script has that hook: then
    /// the engine forgets which alerts the flow raised (see [`Alert`] on repeats).
    pub fn run(&mut self, hook: Hook, record: &FlowRecord) {
        if self.has_hook(hook) {
            self.run_scripts(hook, record);
        }
        if hook == Hook::End {
            self.rt.ctx.forget(record);
        }
    }

    fn run_scripts(&mut self, hook: Hook, record: &FlowRecord) {
        let Engine {
            rt,
            scripts,
            failures,
            ..
        } = self;
        rt.ctx.lend(record, || {
            for script in scripts.iter() {
                for entry in script.entries(hook) {
                    let result = rt.invoke(&script.path, Some(hook), || {
                        rt.runner.call(entry, hook, record)
                    });
                    if let Err(error) = result {
                        failures.record(&script.path, Some(hook), &error);
                        // A failed script is stopped for this hook.
                        break;
                    }
                }
            }
        });
    }

    /// Whether any loaded script runs on `hook`; a caller may skip the bookkeeping of hooks
    /// that no script has.
    pub fn has_hook(&self, hook: Hook) -> bool {
        self.hooks[hook.index()]
    }

    /// The alerts raised since the last call, oldest first.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        self.rt.ctx.take_alerts()
    }

    /// Every script that failed so far, once per script, in the order of their first failure.
    pub fn failures(&self) -> &[ScriptFailure] {
        self.failures.all()
    }

    /// The paths of the loaded scripts, in the order they run.
    pub fn scripts(&self) -> impl Iterator<Item = &str> {
        self.scripts.iter().map(|s| &*s.path)
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("scripts", &self.scripts().collect::<Vec<_>>())
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}

/// Why [`Engine::load`] failed. Each variant keeps its cause as
/// [`source()`](std::error::Error::source).
///
/// Neither `Send` nor `Sync`, like [`Engine`]: mlua's error may carry a cause that is not (an
/// engine is loaded on the thread that runs it, where its error is handled too).
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The checks directory could not be read.
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The Lua state could not be set up: mlua's error.
    Lua(mlua::Error),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Dir { path, source } => {
                write!(
                    f,
                    "cannot read checks directory {}: {source}",
                    path.display()
                )
            }
            LoadError::Lua(source) => write!(f, "cannot set up Lua: {source}"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Dir { source, .. } => Some(source),
            LoadError::Lua(source) => Some(source),
        }
    }
}
