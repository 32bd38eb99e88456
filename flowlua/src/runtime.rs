//! The Lua state of one engine, and the one way calls into it are made.
//!
//! Setup: the standard libraries the configuration allows (the sandbox also drops `load`,
//! `loadfile`, `dofile`, `collectgarbage` and `warn` from the base library), the output
//! functions, `ntop`, `package` and `require`, the `flow` table, and last the limits.
//!
//! A call: the script and hook become current, the instruction budget starts afresh, and
//! afterwards `package.path` is restored; after a memory error the garbage is collected so the
//! state stays usable.

use std::path::Path;
use std::rc::Rc;

use mlua::{Error, Lua, LuaOptions, StdLib, Table};

use crate::context::{Call, Context};
use crate::flow_info::Runner;
use crate::limits::{limit_memory, Budget};
use crate::modules::{self, Package};
use crate::tables::Tables;
use crate::{flow_api, output, EngineConfig, Hook};

/// Base functions the sandbox removes: they load code from strings or files, or reach outside
/// (the garbage collector's controls, warnings to stderr).
const SANDBOX_REMOVED: [&str; 5] = ["load", "loadfile", "dofile", "collectgarbage", "warn"];

pub(crate) struct Runtime {
    pub lua: Lua,
    pub ctx: Rc<Context>,
    pub runner: Runner,
    budget: Budget,
    package: Package,
}

impl Runtime {
    /// A Lua state set up for scripts from `checks_dir` (absolute).
    pub fn new(config: &EngineConfig, checks_dir: &Path) -> mlua::Result<Runtime> {
        let libs = if config.trusted {
            StdLib::ALL_SAFE
        } else {
            // The base library is always there.
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::UTF8
        };
        let lua = Lua::new_with(libs, LuaOptions::new())?;
        if !config.trusted {
            let globals = lua.globals();
            for name in SANDBOX_REMOVED {
                globals.raw_set(name, mlua::Nil)?;
            }
        }
        output::install(&lua, &config.output)?;
        let package = modules::install(&lua, config, checks_dir)?;
        let ctx = Rc::new(Context::default());
        let tables = Rc::new(Tables::default());
        flow_api::install(&lua, &ctx, &tables)?;
        let runner = Runner::install(&lua, &ctx, &tables, &package)?;
        let budget = Budget::install(&lua, config)?;
        limit_memory(&lua, config)?;
        Ok(Runtime {
            lua,
            ctx,
            runner,
            budget,
            package,
        })
    }

    /// A new global environment for one script: its own globals, falling back to the shared ones,
    /// so that scripts' helper functions (ntopng's samples all define `dump_flow`) do not clash.
    /// `flow` is set in it too, which spares every `flow.*` call the fallback.
    pub fn environment(&self) -> mlua::Result<Table> {
        let env = self.lua.create_table()?;
        let globals = self.lua.globals();
        env.raw_set("flow", globals.raw_get::<Table>("flow")?)?;
        let meta = self.lua.create_table()?;
        meta.raw_set("__index", globals)?;
        env.set_metatable(Some(meta))?;
        Ok(env)
    }

    /// Runs `f` as a call of `script` for `hook` (`None`: loading). `f` restores
    /// `package.path` when it succeeds (the [`Runner`] does); this does it when `f` fails.
    pub fn invoke<R>(
        &self,
        script: &Rc<str>,
        hook: Option<Hook>,
        f: impl FnOnce() -> mlua::Result<R>,
    ) -> mlua::Result<R> {
        self.ctx.set_call(Some(Call {
            script: script.clone(),
            hook,
        }));
        self.budget.reset();
        let result = f();
        self.ctx.set_call(None);
        if let Err(error) = &result {
            // Setting an existing key allocates nothing, so this cannot fail for want of memory;
            // the call's own error is the one to report either way.
            let _ = self.package.restore_path();
            if is_memory_error(error) {
                // The failed call's garbage is unreachable now; free it for the next call.
                let _ = self.lua.gc_collect();
            }
        }
        result
    }

    /// Puts `package.path` back as it was set up.
    pub fn restore_path(&self) -> mlua::Result<()> {
        self.package.restore_path()
    }
}

fn is_memory_error(error: &Error) -> bool {
    match error {
        Error::MemoryError(_) => true,
        Error::CallbackError { cause, .. } | Error::WithContext { cause, .. } => {
            is_memory_error(cause)
        }
        _ => false,
    }
}
