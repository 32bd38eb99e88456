//! The global `flow` table of `lua_flow_api.md`, created once per Lua state: here the functions
//! that build strings and tables from the current [`FlowRecord`] (read through the shared
//! [`Context`]) and `triggerAlert`; the scalar ones are Lua closures that the
//! [`Runner`](crate::flow_info::Runner) adds. Outside a flow they return nil, as in ntopng.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use mlua::{Error, Function, IntoLua, Lua, LuaString, Table, Value};
use ndpi::FlowRecord;
use rustc_hash::FxHashMap;

use crate::context::Context;
use crate::failure::{caller_position, lua_type};
use crate::tables::Tables;
use crate::Alert;

/// Creates the `flow` table and sets it as a global; the runner completes it.
pub(crate) fn install(lua: &Lua, ctx: &Rc<Context>, tables: &Rc<Tables>) -> mlua::Result<()> {
    let flow = lua.create_table_with_capacity(0, 20)?;
    let set = |name: &str, function: Function| flow.raw_set(name, function);
    let names = Rc::new(AddressNames::default());
    set("cli", address(lua, ctx, &names, |r| r.tuple.cli_ip)?)?;
    set("srv", address(lua, ctx, &names, |r| r.tuple.srv_ip)?)?;
    set(
        "l7_proto_name",
        value(lua, ctx, |r| r.l7_proto_name.to_string())?,
    )?;
    set("direction", value(lua, ctx, |r| r.direction.as_str())?)?;
    set("http", table(lua, ctx, tables, Tables::http)?)?;
    set("dns", table(lua, ctx, tables, Tables::dns)?)?;
    set("ssh", table(lua, ctx, tables, Tables::ssh)?)?;
    set("tls_quic", table(lua, ctx, tables, Tables::tls_quic)?)?;
    set("triggerAlert", trigger_alert(lua, ctx.clone())?)?;
    lua.globals().raw_set("flow", flow)
}

/// A function returning `get(record)` for the current flow, nil outside one. `R` is a plain
/// Rust type, which mlua pushes straight onto Lua's stack (these run several times per flow).
fn value<R: IntoLua + 'static>(
    lua: &Lua,
    ctx: &Rc<Context>,
    get: fn(&FlowRecord) -> R,
) -> mlua::Result<Function> {
    let ctx = ctx.clone();
    lua.create_function(move |_, ()| Ok(ctx.with_flow(get)))
}

/// A function returning an address of the current flow as a string, nil outside a flow.
fn address(
    lua: &Lua,
    ctx: &Rc<Context>,
    names: &Rc<AddressNames>,
    get: fn(&FlowRecord) -> IpAddr,
) -> mlua::Result<Function> {
    let (ctx, names) = (ctx.clone(), names.clone());
    lua.create_function(move |lua, ()| ctx.with_flow(|r| names.get(lua, get(r))).transpose())
}

/// Addresses' Lua strings, made once per address: `flow.cli()` and `flow.srv()` run at every
/// hook of every flow, the same hosts recur, and making a string in a memory-limited state
/// costs a protected call.
#[derive(Default)]
struct AddressNames(RefCell<FxHashMap<IpAddr, LuaString>>);

impl AddressNames {
    /// At most this many are kept; then they are forgotten and made again as needed.
    const MAX: usize = 4096;

    fn get(&self, lua: &Lua, ip: IpAddr) -> mlua::Result<LuaString> {
        let mut names = self.0.borrow_mut();
        if let Some(name) = names.get(&ip) {
            return Ok(name.clone());
        }
        if names.len() >= Self::MAX {
            names.clear();
        }
        let name = lua.create_string(ip.to_string())?;
        names.insert(ip, name.clone());
        Ok(name)
    }
}

/// A function returning one of [`Tables`]' L7 tables for the current flow, nil outside one.
fn table(
    lua: &Lua,
    ctx: &Rc<Context>,
    tables: &Rc<Tables>,
    build: fn(&Tables, &Lua, &FlowRecord) -> mlua::Result<Table>,
) -> mlua::Result<Function> {
    let (ctx, tables) = (ctx.clone(), tables.clone());
    lua.create_function(move |lua, ()| ctx.with_flow(|r| build(&tables, lua, r)).transpose())
}

/// `flow.triggerAlert(value, msg)`: `value` a number, `msg` a string, else a Lua error naming
/// the caller's script and line. Records an [`Alert`] on the current flow, unless it repeats one
/// the flow had (see [`Context::push_alert`]); does nothing outside a flow.
fn trigger_alert(lua: &Lua, ctx: Rc<Context>) -> mlua::Result<Function> {
    lua.create_function(move |lua, (value, message): (Value, Value)| {
        let bad = |n: usize, want: &str, got: &Value| {
            let at = caller_position(lua);
            Error::runtime(format!(
                "{at} flow.triggerAlert: argument {n} must be a {want}, got {}",
                lua_type(got)
            ))
        };
        let score = match value {
            Value::Integer(i) => i.clamp(0, 255) as u8,
            // `as` truncates toward zero, saturates at 0 and 255 and maps NaN to 0.
            Value::Number(n) => n as u8,
            ref other => return Err(bad(1, "number", other)),
        };
        let Value::String(message) = message else {
            return Err(bad(2, "string", &message));
        };
        let Some(call) = ctx.call() else {
            return Ok(());
        };
        let Some(hook) = call.hook else {
            return Ok(());
        };
        ctx.with_flow(|record| {
            let alert = Alert::new(record, hook, &call.script, score, message.to_string_lossy());
            ctx.push_alert(record, &call.script, || caller_position(lua), alert);
        });
        Ok(())
    })
}
