//! How an [`Engine`](crate::Engine) runs its scripts: sandbox, limits, install
//! directory and output.

use std::path::PathBuf;

use crate::Output;

/// Settings for [`Engine::load`](crate::Engine::load).
///
/// The default is the sandbox: the `table`, `string`, `math` and `utf8` libraries only, one million
/// Lua instructions per call and 64 MiB for the whole Lua state. [`EngineConfig::trusted`] gives
/// what ntopng gives: every safe standard library and no limits.
///
/// New settings may be added in any release: start from [`EngineConfig::default`] or
/// [`EngineConfig::trusted`] and use the setters (or assign the fields).
///
/// ```
/// use flowlua::{EngineConfig, Output};
/// let config = EngineConfig::default()
///     .instruction_budget(Some(50_000))
///     .output(Output::Discard);
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Load every standard library that is safe for the host process (`io`, `os`, `package`,
    /// `coroutine`, `load`, `dofile`, ...; never `debug` or C modules) and let `require` read any
    /// file. Limits are set separately.
    pub trusted: bool,
    /// The most Lua VM instructions one call may run: one hook call for one flow, or one module's
    /// top-level code at load. Counted in steps of up to 10,000 instructions. `None`: no limit.
    pub instruction_budget: Option<u64>,
    /// The most bytes the whole Lua state (all scripts together) may hold. `None`: no limit.
    pub memory_limit: Option<usize>,
    /// The directory `ntop.getDirs()` reports as `installdir`. It need not exist: the bundled
    /// modules (`flow_consts`, `lua_utils`) are served from memory.
    pub install_dir: PathBuf,
    /// Where `print` and `io.write` go.
    pub output: Output,
}

impl EngineConfig {
    /// Instructions per call in the sandbox.
    pub const DEFAULT_INSTRUCTION_BUDGET: u64 = 1_000_000;
    /// Bytes for the Lua state in the sandbox.
    pub const DEFAULT_MEMORY_LIMIT: usize = 64 << 20;

    /// Like ntopng: every safe standard library, unrestricted `require`, no limits. Only for
    /// scripts you would run as the host process itself.
    pub fn trusted() -> Self {
        EngineConfig {
            trusted: true,
            instruction_budget: None,
            memory_limit: None,
            ..EngineConfig::default()
        }
    }

    /// Sets [`instruction_budget`](EngineConfig::instruction_budget).
    pub fn instruction_budget(mut self, instructions: Option<u64>) -> Self {
        self.instruction_budget = instructions;
        self
    }

    /// Sets [`memory_limit`](EngineConfig::memory_limit).
    pub fn memory_limit(mut self, bytes: Option<usize>) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Sets [`install_dir`](EngineConfig::install_dir).
    pub fn install_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.install_dir = dir.into();
        self
    }

    /// Sets [`output`](EngineConfig::output).
    pub fn output(mut self, output: Output) -> Self {
        self.output = output;
        self
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            trusted: false,
            instruction_budget: Some(Self::DEFAULT_INSTRUCTION_BUDGET),
            memory_limit: Some(Self::DEFAULT_MEMORY_LIMIT),
            install_dir: PathBuf::from("/usr/share/flowlua"),
            output: Output::default(),
        }
    }
}
