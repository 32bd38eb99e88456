//! How a hook calls a script's entry, in one call into Lua: the flow's scalars made current for
//! the scalar `flow.*` functions, the `flow_info` argument of spec-layout module functions
//! (filled on first use), and `package.path` put back afterwards.
//!
//! A module function gets an empty table that answers `hook` at once; the record's fields (see
//! [`Tables::fill_flow_info`]) are set the first time the script reads a missing key or iterates
//! with `pairs`. Most checks read `flow.*` and never touch `flow_info`, and building it costs
//! more than a simple check: this keeps `check()` cheap enough to run at every hook.
//!
//! The fields come from the record of the call the table was made for, so they can be filled
//! only during that call. A table kept past its call and read for the first time later raises
//! an error naming the script line, never another flow's values. Once filled, it is a plain
//! table and stays readable.

use std::rc::Rc;

use mlua::{Function, Lua, LuaString, Table};
use ndpi::FlowRecord;

use crate::context::Context;
use crate::modules::Package;
use crate::scripts::Entry;
use crate::tables::Tables;
use crate::Hook;

/// The runner, compiled once: `run(entry, module, hook, scalars...)` makes the hook and the
/// flow's scalars current, calls a module function with a fresh, empty `flow_info` (or an
/// ntopng chunk with no argument), then restores `package.path`. `current` is the one
/// `flow_info` that may be filled: the running call's. Its `hook` is answered without filling.
///
/// The scalar `flow.*` functions are Lua closures over those locals: they run several times per
/// flow, and a call into Rust costs more than the check around it. Outside a flow they return
/// nil (the predicates: false), as ntopng's do: scripts run outside a flow only while they load,
/// which is before the first call, so the locals need no clearing afterwards (every Lua
/// instruction counts here: the instruction budget's count hook makes each one several times
/// dearer).
const RUNNER: &str = r#"
local fill, setmetatable, rawget, next, error, package, initial_path, flow = ...
local current
local bytes, cli2srv_bytes, srv2cli_bytes, cli_port, srv_port, vlan_id, protocol,
      l7_master_proto, l7_proto, oneway, unicast
function flow.bytes() return bytes end
function flow.cli2srv_bytes() return cli2srv_bytes end
function flow.srv2cli_bytes() return srv2cli_bytes end
function flow.cli_port() return cli_port end
function flow.srv_port() return srv_port end
function flow.vlan_id() return vlan_id end
function flow.protocol() return protocol end
function flow.l7_master_proto() return l7_master_proto end
function flow.l7_proto() return l7_proto end
function flow.is_oneway() return oneway == true end
function flow.is_unicast() return unicast == true end

local hook
local function filled(t)
  if t ~= current then
    error("flow_info is readable only during the call it was passed to", 3)
  end
  fill(t)
  t.hook = hook
  setmetatable(t, nil)
  return t
end
local meta = {
  __index = function(t, k)
    if k == "hook" and t == current then return hook end
    return rawget(filled(t), k)
  end,
  __pairs = function(t) return next, filled(t), nil end,
}

return function(entry, module, ...)
  hook, bytes, cli2srv_bytes, srv2cli_bytes, cli_port, srv_port, vlan_id, protocol,
    l7_master_proto, l7_proto, oneway, unicast = ...
  if module then
    current = setmetatable({}, meta)
    entry(current)
  else
    current = nil
    entry()
  end
  current = nil
  package.path = initial_path
end
"#;

pub(crate) struct Runner {
    run: Function,
    /// The hooks' names, made once.
    hooks: [LuaString; 3],
}

impl Runner {
    /// Compiles the runner. Call it before any script runs: it keeps the standard functions it
    /// uses as they are now.
    pub fn install(
        lua: &Lua,
        ctx: &Rc<Context>,
        tables: &Rc<Tables>,
        package: &Package,
    ) -> mlua::Result<Runner> {
        let (ctx, tables) = (ctx.clone(), tables.clone());
        let fill = lua.create_function(move |lua, table: Table| {
            ctx.with_flow(|record| tables.fill_flow_info(lua, &table, record))
                .transpose()
                .map(drop)
        })?;
        let globals = lua.globals();
        let standard = |name| globals.raw_get::<Function>(name);
        let flow: Table = globals.raw_get("flow")?;
        let run = lua.load(RUNNER).set_name("=flowlua runner").call((
            fill,
            standard("setmetatable")?,
            standard("rawget")?,
            standard("next")?,
            standard("error")?,
            package.table(),
            package.initial_path(),
            flow,
        ))?;
        let name = |hook: Hook| lua.create_string(hook.as_str());
        Ok(Runner {
            run,
            hooks: [
                name(Hook::Detected)?,
                name(Hook::Periodic)?,
                name(Hook::End)?,
            ],
        })
    }

    /// Calls `entry` for `hook` on `record`: a module function with a new `flow_info`, or an
    /// ntopng-layout chunk.
    pub fn call(&self, entry: &Entry, hook: Hook, r: &FlowRecord) -> mlua::Result<()> {
        let (function, module) = match entry {
            Entry::Module(function) => (function, true),
            Entry::Chunk(chunk) => (chunk, false),
        };
        self.run.call((
            function,
            module,
            &self.hooks[hook.index()],
            r.bytes(),
            r.cli2srv_bytes,
            r.srv2cli_bytes,
            r.tuple.cli_port,
            r.tuple.srv_port,
            r.tuple.vlan_id,
            r.tuple.l4_proto.0,
            r.l7_master_proto.0,
            r.l7_proto.0,
            r.is_oneway(),
            r.is_unicast(),
        ))
    }
}
