//! The global `flow` table: the 20 functions of `lua_flow_api.md`, created once per Lua state.
//! Each reads the current [`FlowRecord`] through the shared [`Context`]; outside a flow they
//! return nil (`is_oneway` and `is_unicast`: false), as in ntopng.

use std::rc::Rc;

use mlua::{Error, Function, IntoLua, Lua, Value};
use ndpi::FlowRecord;

use crate::context::Context;
use crate::failure::{caller_position, lua_type};
use crate::tables::Tables;
use crate::Alert;

type Getter = fn(&Lua, &Tables, &FlowRecord) -> mlua::Result<Value>;

/// The functions that return nil outside a flow.
const VALUES: [(&str, Getter); 17] = [
    ("cli", |lua, _, r| r.cli_ip.to_string().into_lua(lua)),
    ("cli_port", |lua, _, r| r.cli_port.into_lua(lua)),
    ("srv", |lua, _, r| r.srv_ip.to_string().into_lua(lua)),
    ("srv_port", |lua, _, r| r.srv_port.into_lua(lua)),
    ("vlan_id", |lua, _, r| r.vlan_id.into_lua(lua)),
    ("bytes", |lua, _, r| r.bytes().into_lua(lua)),
    ("cli2srv_bytes", |lua, _, r| r.cli2srv_bytes.into_lua(lua)),
    ("srv2cli_bytes", |lua, _, r| r.srv2cli_bytes.into_lua(lua)),
    ("protocol", |lua, _, r| r.l4_proto.into_lua(lua)),
    ("l7_master_proto", |lua, _, r| {
        r.l7_master_proto.into_lua(lua)
    }),
    ("l7_proto", |lua, _, r| r.l7_proto.into_lua(lua)),
    ("l7_proto_name", |lua, _, r| {
        r.l7_proto_name.as_str().into_lua(lua)
    }),
    ("direction", |lua, _, r| r.direction.as_str().into_lua(lua)),
    ("http", |lua, t, r| t.http(lua, r).map(Value::Table)),
    ("dns", |lua, t, r| t.dns(lua, r).map(Value::Table)),
    ("ssh", |lua, t, r| t.ssh(lua, r).map(Value::Table)),
    ("tls_quic", |lua, t, r| t.tls_quic(lua, r).map(Value::Table)),
];

type Predicate = fn(&FlowRecord) -> bool;

/// The predicates, false outside a flow.
const PREDICATES: [(&str, Predicate); 2] = [
    ("is_oneway", FlowRecord::is_oneway),
    ("is_unicast", FlowRecord::is_unicast),
];

/// Creates the `flow` table and sets it as a global.
pub(crate) fn install(lua: &Lua, ctx: &Rc<Context>, tables: &Rc<Tables>) -> mlua::Result<()> {
    let flow = lua.create_table_with_capacity(0, VALUES.len() + PREDICATES.len() + 1)?;
    for (name, get) in VALUES {
        let (ctx, tables) = (ctx.clone(), tables.clone());
        let function = lua.create_function(move |lua, ()| {
            ctx.with_flow(|record| get(lua, &tables, record))
                .unwrap_or(Ok(Value::Nil))
        })?;
        flow.raw_set(name, function)?;
    }
    for (name, test) in PREDICATES {
        let ctx = ctx.clone();
        let function =
            lua.create_function(move |_, ()| Ok(ctx.with_flow(test).unwrap_or(false)))?;
        flow.raw_set(name, function)?;
    }
    flow.raw_set("triggerAlert", trigger_alert(lua, ctx.clone())?)?;
    lua.globals().raw_set("flow", flow)
}

/// `flow.triggerAlert(value, msg)`: `value` a number, `msg` a string, else a Lua error naming
/// the caller's script and line. Records an [`Alert`] on the current flow; does nothing outside
/// a flow.
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
        let alert = ctx.with_flow(|record| {
            let hook = call.hook?;
            let message = message.to_string_lossy();
            Some(Alert::new(record, hook, &call.script, score, message))
        });
        if let Some(alert) = alert.flatten() {
            ctx.push_alert(alert);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::{PREDICATES, VALUES};

    /// The spec's 20 functions: these 19 and `triggerAlert`.
    #[test]
    fn names_match_the_spec_index() {
        let values = VALUES.iter().map(|(name, _)| *name);
        let mut names: Vec<&str> = values
            .chain(PREDICATES.iter().map(|(name, _)| *name))
            .collect();
        names.push("triggerAlert");
        names.sort_unstable();
        let spec = [
            "bytes",
            "cli",
            "cli2srv_bytes",
            "cli_port",
            "direction",
            "dns",
            "http",
            "is_oneway",
            "is_unicast",
            "l7_master_proto",
            "l7_proto",
            "l7_proto_name",
            "protocol",
            "srv",
            "srv2cli_bytes",
            "srv_port",
            "ssh",
            "tls_quic",
            "triggerAlert",
            "vlan_id",
        ];
        assert_eq!(names, spec);
    }
}
