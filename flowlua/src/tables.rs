//! Lua tables built from a [`FlowRecord`]'s serde form: the four L7 tables of `flow.http()`,
//! `flow.dns()`, `flow.ssh()` and `flow.tls_quic()`, and the `flow_info` argument of
//! spec-layout modules.
//!
//! Each L7 table carries the record's field names (the spec's short keys, as serde spells them)
//! and, for the fields ntopng has, ntopng's flat dotted keys with ntopng's conditions: the one
//! list kept by hand, [`NTOPNG_KEYS`]. A flow of another protocol gets an empty table, as in
//! ntopng; a field the record does not have is absent (nil).
//!
//! Speed: a table of each shape is made by one call of a Lua constructor compiled, on first use,
//! from the shape's keys (`local v1, v2 = ... return {method = v1, ["protos.http.last_method"]
//! = v2}`). Setting the fields one by one from Rust would cost a protected call each, as mlua
//! guards every allocation of a memory-limited state.

use std::cell::RefCell;
use std::fmt::Write;

use mlua::{Function, Lua, MultiValue, Result, Table, Value};
use ndpi::FlowRecord;
use serde::Serialize;

use crate::lua_fields::{fields, Fields, Key};

/// When ntopng sets one of its dotted keys.
enum When {
    /// Whenever the field has a value.
    Always,
    /// Only when the field is true.
    True,
    /// Only when all these fields have values.
    AllOf(&'static [&'static str]),
}

/// ntopng's dotted keys: (L7 table, the record's field, ntopng's key, when ntopng sets it).
const NTOPNG_KEYS: [(&str, &str, &str, When); 28] = [
    ("http", "method", "protos.http.last_method", When::Always),
    ("http", "url", "protos.http.last_url", When::Always),
    (
        "http",
        "return_code",
        "protos.http.last_return_code",
        When::Always,
    ),
    (
        "http",
        "server_name",
        "protos.http.server_name",
        When::Always,
    ),
    (
        "http",
        "user_agent",
        "protos.http.last_user_agent",
        When::Always,
    ),
    // nDPI 4.10 records the Server header (absent, so nil, with 4.2).
    ("http", "server", "protos.http.last_server", When::Always),
    ("dns", "last_query", "protos.dns.last_query", When::Always),
    (
        "dns",
        "last_query_type",
        "protos.dns.last_query_type",
        When::Always,
    ),
    (
        "dns",
        "last_return_code",
        "protos.dns.last_return_code",
        When::Always,
    ),
    (
        "dns",
        "invalid_chars_in_query",
        "protos.dns.invalid_chars_in_query",
        When::True,
    ),
    (
        "ssh",
        "client_signature",
        "protos.ssh.client_signature",
        When::Always,
    ),
    (
        "ssh",
        "server_signature",
        "protos.ssh.server_signature",
        When::Always,
    ),
    (
        "ssh",
        "hassh_client",
        "protos.ssh.hassh.client_hash",
        When::Always,
    ),
    (
        "ssh",
        "hassh_server",
        "protos.ssh.hassh.server_hash",
        When::Always,
    ),
    (
        "tls_quic",
        "client_requested_server_name",
        "protos.tls.client_requested_server_name",
        When::Always,
    ),
    (
        "tls_quic",
        "server_names",
        "protos.tls.server_names",
        When::Always,
    ),
    ("tls_quic", "issuerDN", "protos.tls.issuerDN", When::Always),
    (
        "tls_quic",
        "subjectDN",
        "protos.tls.subjectDN",
        When::Always,
    ),
    (
        "tls_quic",
        "ja3_client",
        "protos.tls.ja3.client_hash",
        When::Always,
    ),
    (
        "tls_quic",
        "ja3_server",
        "protos.tls.ja3.server_hash",
        When::Always,
    ),
    // nDPI 4.10's JA4, under the key of ntopng 6.2 and later (absent, so nil, with 4.2).
    (
        "tls_quic",
        "ja4_client",
        "protos.tls.ja4.client_hash",
        When::Always,
    ),
    (
        "tls_quic",
        "notBefore",
        "protos.tls.notBefore",
        When::AllOf(&["notBefore", "notAfter"]),
    ),
    (
        "tls_quic",
        "notAfter",
        "protos.tls.notAfter",
        When::AllOf(&["notBefore", "notAfter"]),
    ),
    // ntopng's class names ("safe", "weak", "insecure"), set with the cipher.
    (
        "tls_quic",
        "cipher_weakness",
        "protos.tls.ja3.server_unsafe_cipher",
        When::AllOf(&["server_cipher"]),
    ),
    (
        "tls_quic",
        "server_cipher",
        "protos.tls.ja3.server_cipher",
        When::Always,
    ),
    (
        "tls_quic",
        "tls_version",
        "protos.tls_version",
        When::Always,
    ),
    ("tls_quic", "alpn", "protos.tls.client_alpn", When::Always),
    (
        "tls_quic",
        "tls_supported_versions",
        "protos.tls.client_tls_supported_versions",
        When::Always,
    ),
];

/// Adds ntopng's dotted keys of L7 table `table` to its fields: the field's value where ntopng
/// would set the key, else nil (so a shape's keys never change).
fn add_ntopng_keys(table: &str, fields: &mut Fields) {
    for (_, field, dotted, when) in NTOPNG_KEYS.iter().filter(|k| k.0 == table) {
        let Some(value) = fields.get(field) else {
            continue;
        };
        let set = |key: &str| fields.get(key).is_some_and(|v| !v.is_nil());
        let keep = match when {
            When::Always => true,
            When::True => *value == Value::Boolean(true),
            When::AllOf(keys) => keys.iter().all(|k| set(k)),
        };
        let value = if keep { value.clone() } else { Value::Nil };
        fields.push(*dotted, value);
    }
}

/// The constructor of one table shape, compiled on first use (and again if the keys change): it
/// makes a new table, or fills one it is given.
#[derive(Default)]
struct Shape(RefCell<Option<(Vec<Key>, Function)>>);

impl Shape {
    /// `fields` as a new table, or set in `target`.
    fn build(&self, lua: &Lua, target: Option<&Table>, fields: Fields) -> Result<Table> {
        let mut cached = self.0.borrow_mut();
        if cached.as_ref().is_none_or(|(keys, _)| *keys != fields.keys) {
            let constructor = compile(lua, &fields.keys, target.is_some())?;
            *cached = Some((fields.keys, constructor));
        }
        let (_, constructor) = cached.as_ref().expect("compiled above");
        let mut args = MultiValue::with_capacity(fields.values.len() + 1);
        args.extend(target.map(|t| Value::Table(t.clone())));
        args.extend(fields.values);
        constructor.call(args)
    }
}

/// `local v1, v2 = ... return {["k1"] = v1, ["k2"] = v2}`, or with `into`,
/// `local t, v1, v2 = ... t["k1"] = v1 ... return t`.
fn compile(lua: &Lua, keys: &[Key], into: bool) -> Result<Function> {
    let names: Vec<String> = (1..=keys.len()).map(|i| format!("v{i}")).collect();
    let (head, open, set, sep, close) = match into {
        true => ("t, ", "", "t", " ", " return t"),
        false => ("", "return {", "", ", ", "}"),
    };
    let mut source = format!("local {head}{} = ...\n{open}", names.join(", "));
    for (name, key) in names.iter().zip(keys) {
        // Serde's field names and this file's keys: `{:?}` quotes them as Lua does.
        let _ = write!(source, "{set}[{key:?}] = {name}{sep}");
    }
    source.push_str(close);
    lua.load(source).set_name("=flowlua tables").into_function()
}

/// Builds the tables; one per Lua state, as each holds that state's constructors.
#[derive(Default)]
pub(crate) struct Tables {
    http: Shape,
    dns: Shape,
    ssh: Shape,
    tls_quic: Shape,
    flow_info: Shape,
}

impl Tables {
    /// An empty table, or L7 table `name` of `info` when the flow is of that protocol.
    fn l7(lua: &Lua, shape: &Shape, name: &str, info: Option<&impl Serialize>) -> Result<Table> {
        let Some(info) = info else {
            return lua.create_table();
        };
        let mut fields = fields(lua, info)?;
        add_ntopng_keys(name, &mut fields);
        shape.build(lua, None, fields)
    }

    pub fn http(&self, lua: &Lua, r: &FlowRecord) -> Result<Table> {
        Self::l7(lua, &self.http, "http", r.http.as_deref())
    }

    pub fn dns(&self, lua: &Lua, r: &FlowRecord) -> Result<Table> {
        Self::l7(lua, &self.dns, "dns", r.dns.as_deref())
    }

    pub fn ssh(&self, lua: &Lua, r: &FlowRecord) -> Result<Table> {
        Self::l7(lua, &self.ssh, "ssh", r.ssh.as_deref())
    }

    pub fn tls_quic(&self, lua: &Lua, r: &FlowRecord) -> Result<Table> {
        Self::l7(lua, &self.tls_quic, "tls_quic", r.tls_quic.as_deref())
    }

    /// Fills `flow_info` (which answers `hook` itself) with the record's top-level fields under
    /// their JSON names: the tuple's fields inline, `risks` as a sequence of names, enums as
    /// their names, absent values nil. The L7 objects stay in `flow.http()` and its siblings.
    pub fn fill_flow_info(&self, lua: &Lua, flow_info: &Table, r: &FlowRecord) -> Result<()> {
        let fields = fields(lua, r)?;
        self.flow_info.build(lua, Some(flow_info), fields).map(drop)
    }
}
