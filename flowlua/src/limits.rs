//! The sandbox's limits: an instruction budget per call (a count hook) and a memory limit for the
//! whole Lua state.

use std::cell::Cell;
use std::rc::Rc;

use mlua::{Function, HookTriggers, Lua, VmState};

use crate::failure::{position, Refused};
use crate::{EngineConfig, FailureKind};

/// The largest number of instructions between two runs of the count hook.
const STEP: u64 = 10_000;

/// Replaces `pcall` and `xpcall` with versions that pass errors on once the budget is spent:
/// the count hook raises its error wherever the script is, and a loop around `pcall` would
/// otherwise catch it forever.
const RERAISE: &str = r#"
local spent, pcall, xpcall, error = ...
local function pass(ok, ...)
   if not ok and spent() then error((...), 0) end
   return ok, ...
end
_G.pcall = function(...) return pass(pcall(...)) end
_G.xpcall = function(...) return pass(xpcall(...)) end
"#;

/// Instructions used by the current call; reset before each call.
#[derive(Clone, Default)]
pub(crate) struct Budget(Option<Rc<Cell<u64>>>);

impl Budget {
    /// Installs the count hook (and the `pcall` guard) when `config` has an instruction budget.
    pub fn install(lua: &Lua, config: &EngineConfig) -> mlua::Result<Budget> {
        let Some(limit) = config.instruction_budget else {
            return Ok(Budget(None));
        };
        let step = limit.clamp(1, STEP);
        let used = Rc::new(Cell::new(0u64));
        let counter = used.clone();
        let spent = used.clone();
        let globals = lua.globals();
        lua.load(RERAISE).set_name("=flowlua").call::<()>((
            lua.create_function(move |_, ()| Ok(spent.get() >= limit))?,
            globals.get::<Function>("pcall")?,
            globals.get::<Function>("xpcall")?,
            globals.get::<Function>("error")?,
        ))?;
        // `step` fits: it is at most STEP.
        let triggers = HookTriggers::new().every_nth_instruction(step as u32);
        lua.set_hook(triggers, move |_, debug| {
            let now = counter.get().saturating_add(step);
            counter.set(now);
            if now < limit {
                return Ok(VmState::Continue);
            }
            let at = position(debug);
            let message = format!("{at} instruction budget of {limit} exceeded");
            Err(Refused::error(FailureKind::InstructionBudget, message))
        })?;
        Ok(Budget(Some(used)))
    }

    /// Starts a new call with the whole budget.
    pub fn reset(&self) {
        if let Some(used) = &self.0 {
            used.set(0);
        }
    }
}

/// Applies the memory limit, which counts every byte of the state, the libraries included.
pub(crate) fn limit_memory(lua: &Lua, config: &EngineConfig) -> mlua::Result<()> {
    if let Some(bytes) = config.memory_limit {
        lua.set_memory_limit(bytes)?;
    }
    Ok(())
}
