//! Lua tables built from a [`FlowRecord`]: the four L7 tables of `flow.http()`, `flow.dns()`,
//! `flow.ssh()` and `flow.tls_quic()`, and the `flow_info` argument of spec-layout modules.
//!
//! Each L7 table carries the record's field names (the spec's short keys) and, for the fields
//! ntopng has, ntopng's flat dotted keys with ntopng's conditions. A flow of another protocol
//! gets an empty table, as in ntopng; a field the record does not have is absent (nil).
//!
//! Speed: a table of each shape is made by one call of a Lua constructor compiled, on first use,
//! from the shape's keys (`local v1, v2 = ... return {method = v1, ["protos.http.last_method"]
//! = v1, url = v2}`). Setting the fields one by one from Rust would cost a protected call each,
//! as mlua guards every allocation of a memory-limited state.

use std::borrow::Borrow;
use std::cell::OnceCell;
use std::fmt::Write;

use mlua::{Function, IntoLua, Lua, MultiValue, Result, Table, Value};
use ndpi::{DnsInfo, FlowRecord, HttpInfo, SshInfo, TlsQuicInfo};

/// The keys one value is stored under.
type Keys = &'static [&'static str];

/// The values of one table, in the order of its shape's keys. Every `set` is unconditional, so
/// the order never changes; a value that should be absent is nil.
struct Fill<'a> {
    lua: &'a Lua,
    keys: Vec<Keys>,
    values: MultiValue,
}

impl Fill<'_> {
    fn set(&mut self, keys: Keys, value: impl IntoLua) -> Result<()> {
        self.keys.push(keys);
        self.values.push_back(value.into_lua(self.lua)?);
        Ok(())
    }
}

/// The constructor of one table shape, compiled on first use: it makes a new table, or fills
/// one it is given.
#[derive(Default)]
struct Shape(OnceCell<(Function, usize)>);

impl Shape {
    /// A new table.
    fn build(&self, lua: &Lua, fill: impl FnOnce(&mut Fill) -> Result<()>) -> Result<Table> {
        self.call(lua, None, fill)
    }

    /// Sets the shape's fields in `target`.
    fn build_into(
        &self,
        lua: &Lua,
        target: &Table,
        fill: impl FnOnce(&mut Fill) -> Result<()>,
    ) -> Result<()> {
        self.call(lua, Some(target), fill).map(drop)
    }

    fn call(
        &self,
        lua: &Lua,
        target: Option<&Table>,
        fill: impl FnOnce(&mut Fill) -> Result<()>,
    ) -> Result<Table> {
        let mut f = Fill {
            lua,
            keys: Vec::with_capacity(32),
            values: MultiValue::with_capacity(33),
        };
        fill(&mut f)?;
        let (constructor, arity) = match self.0.get() {
            Some(built) => built,
            None => {
                let built = (compile(lua, &f.keys, target.is_some())?, f.keys.len());
                self.0.get_or_init(|| built)
            }
        };
        if *arity != f.values.len() {
            return Err(mlua::Error::runtime("flowlua: a table shape changed"));
        }
        if let Some(target) = target {
            f.values.push_front(Value::Table(target.clone()));
        }
        constructor.call(f.values)
    }
}

/// `local v1, v2 = ... return {["k1"] = v1, ["k1.dotted"] = v1, ["k2"] = v2}`, or with `into`,
/// `local t, v1, v2 = ... t["k1"] = v1 ... return t`.
fn compile(lua: &Lua, keys: &[Keys], into: bool) -> Result<Function> {
    let names: Vec<String> = (1..=keys.len()).map(|i| format!("v{i}")).collect();
    let (head, open, set, sep, close) = match into {
        true => ("t, ", "", "t", " ", " return t"),
        false => ("", "return {", "", ", ", "}"),
    };
    let mut source = format!("local {head}{} = ...\n{open}", names.join(", "));
    for (name, keys) in names.iter().zip(keys) {
        for key in *keys {
            // The keys are this file's identifiers and dots: `{:?}` quotes them as Lua does.
            let _ = write!(source, "{set}[{key:?}] = {name}{sep}");
        }
    }
    source.push_str(close);
    lua.load(source).set_name("=flowlua tables").into_function()
}

/// The record's L7 metadata, boxed or not.
fn info<T, B: Borrow<T>>(field: &Option<B>) -> Option<&T> {
    field.as_ref().map(Borrow::borrow)
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
    /// An empty table, or `shape`'s table when the flow is of that protocol.
    fn l7<T>(
        lua: &Lua,
        shape: &Shape,
        info: Option<&T>,
        fill: fn(&mut Fill, &T) -> Result<()>,
    ) -> Result<Table> {
        match info {
            Some(info) => shape.build(lua, |f| fill(f, info)),
            None => lua.create_table(),
        }
    }

    pub fn http(&self, lua: &Lua, r: &FlowRecord) -> Result<Table> {
        Self::l7(lua, &self.http, info::<HttpInfo, _>(&r.http), |f, h| {
            f.set(&["method", "protos.http.last_method"], h.method.as_deref())?;
            f.set(&["url", "protos.http.last_url"], h.url.as_deref())?;
            f.set(&["content_type"], h.content_type.as_deref())?;
            f.set(&["request_content_type"], h.request_content_type.as_deref())?;
            let code = &["return_code", "protos.http.last_return_code"];
            f.set(code, h.return_code)?;
            let host = &["server_name", "protos.http.server_name"];
            f.set(host, h.server_name.as_deref())?;
            let agent = &["user_agent", "protos.http.last_user_agent"];
            f.set(agent, h.user_agent.as_deref())
        })
    }

    pub fn dns(&self, lua: &Lua, r: &FlowRecord) -> Result<Table> {
        Self::l7(lua, &self.dns, info::<DnsInfo, _>(&r.dns), |f, d| {
            let query = &["last_query", "protos.dns.last_query"];
            f.set(query, d.last_query.as_deref())?;
            let query_type = &["last_query_type", "protos.dns.last_query_type"];
            f.set(query_type, d.last_query_type)?;
            f.set(&["query_class"], d.query_class)?;
            let code = &["last_return_code", "protos.dns.last_return_code"];
            f.set(code, d.last_return_code)?;
            f.set(&["replies_as_string"], d.replies_as_string.as_deref())?;
            f.set(&["invalid_chars_in_query"], d.invalid_chars_in_query)?;
            // ntopng sets its key only when true.
            let invalid = d.invalid_chars_in_query.then_some(true);
            f.set(&["protos.dns.invalid_chars_in_query"], invalid)?;
            f.set(&["num_queries"], d.num_queries)?;
            f.set(&["num_answers"], d.num_answers)
        })
    }

    pub fn ssh(&self, lua: &Lua, r: &FlowRecord) -> Result<Table> {
        Self::l7(lua, &self.ssh, info::<SshInfo, _>(&r.ssh), |f, s| {
            let client = &["client_signature", "protos.ssh.client_signature"];
            f.set(client, s.client_signature.as_deref())?;
            let server = &["server_signature", "protos.ssh.server_signature"];
            f.set(server, s.server_signature.as_deref())?;
            let client = &["hassh_client", "protos.ssh.hassh.client_hash"];
            f.set(client, s.hassh_client.as_deref())?;
            let server = &["hassh_server", "protos.ssh.hassh.server_hash"];
            f.set(server, s.hassh_server.as_deref())
        })
    }

    pub fn tls_quic(&self, lua: &Lua, r: &FlowRecord) -> Result<Table> {
        let info = info::<TlsQuicInfo, _>(&r.tls_quic);
        Self::l7(lua, &self.tls_quic, info, |f, t| {
            let sni = &[
                "client_requested_server_name",
                "protos.tls.client_requested_server_name",
            ];
            f.set(sni, t.client_requested_server_name.as_deref())?;
            let names = &["server_names", "protos.tls.server_names"];
            f.set(names, t.server_names.as_deref())?;
            f.set(&["issuerDN", "protos.tls.issuerDN"], t.issuerDN.as_deref())?;
            f.set(
                &["subjectDN", "protos.tls.subjectDN"],
                t.subjectDN.as_deref(),
            )?;
            let ja3 = &["ja3_client", "protos.tls.ja3.client_hash"];
            f.set(ja3, t.ja3_client.as_deref())?;
            let ja3s = &["ja3_server", "protos.tls.ja3.server_hash"];
            f.set(ja3s, t.ja3_server.as_deref())?;
            f.set(&["notBefore"], t.notBefore)?;
            f.set(&["notAfter"], t.notAfter)?;
            // ntopng sets its validity keys only when both dates are known.
            let both = t.notBefore.zip(t.notAfter);
            f.set(&["protos.tls.notBefore"], both.map(|(from, _)| from))?;
            f.set(&["protos.tls.notAfter"], both.map(|(_, to)| to))?;
            f.set(&["unsafe_cipher"], t.unsafe_cipher)?;
            f.set(&["cipher_weakness"], t.cipher_weakness.as_str())?;
            // ntopng's class names ("safe", "weak", "insecure"), set with the cipher.
            let class = t.server_cipher.map(|_| t.cipher_weakness.as_str());
            f.set(&["protos.tls.ja3.server_unsafe_cipher"], class)?;
            let cipher = &["server_cipher", "protos.tls.ja3.server_cipher"];
            f.set(cipher, t.server_cipher)?;
            f.set(&["server_cipher_name"], t.server_cipher_name.as_deref())?;
            f.set(&["tls_version", "protos.tls_version"], t.tls_version)?;
            f.set(&["tls_version_name"], t.tls_version_name.as_deref())?;
            f.set(&["alpn", "protos.tls.client_alpn"], t.alpn.as_deref())?;
            let versions = &[
                "tls_supported_versions",
                "protos.tls.client_tls_supported_versions",
            ];
            f.set(versions, t.tls_supported_versions.as_deref())?;
            let fingerprint = t.sha1_cert_fingerprint.as_deref();
            f.set(&["sha1_cert_fingerprint"], fingerprint)?;
            f.set(&["user_agent"], t.user_agent.as_deref())
        })
    }

    /// Fills `flow_info` (which has its `hook` already) with the record's top-level fields
    /// under their JSON names (`risks` as a sequence of names, `direction` and `end_reason` as
    /// strings, `host_server_name` and `end_reason` nil when absent). The L7 details stay in
    /// `flow.http()` and the other L7 functions.
    pub fn fill_flow_info(&self, lua: &Lua, flow_info: &Table, r: &FlowRecord) -> Result<()> {
        self.flow_info.build_into(lua, flow_info, |f| {
            f.set(&["l4_proto"], r.l4_proto)?;
            f.set(&["cli_ip"], r.cli_ip.to_string())?;
            f.set(&["cli_port"], r.cli_port)?;
            f.set(&["srv_ip"], r.srv_ip.to_string())?;
            f.set(&["srv_port"], r.srv_port)?;
            f.set(&["vlan_id"], r.vlan_id)?;
            f.set(&["cli2srv_packets"], r.cli2srv_packets)?;
            f.set(&["srv2cli_packets"], r.srv2cli_packets)?;
            f.set(&["cli2srv_bytes"], r.cli2srv_bytes)?;
            f.set(&["srv2cli_bytes"], r.srv2cli_bytes)?;
            f.set(&["first_seen_ms"], r.first_seen_ms)?;
            f.set(&["last_seen_ms"], r.last_seen_ms)?;
            f.set(&["l7_master_proto"], r.l7_master_proto)?;
            f.set(&["l7_proto"], r.l7_proto)?;
            f.set(&["l7_proto_name"], r.l7_proto_name.as_str())?;
            f.set(&["category"], r.category.as_str())?;
            f.set(&["confidence"], r.confidence.as_str())?;
            f.set(&["guessed"], r.guessed)?;
            let risks = lua.create_sequence_from(r.risks.iter().map(String::as_str))?;
            f.set(&["risks"], Value::Table(risks))?;
            f.set(&["risk_score"], r.risk_score)?;
            f.set(&["host_server_name"], r.host_server_name.as_deref())?;
            f.set(&["direction"], r.direction.as_str())?;
            f.set(&["end_reason"], r.end_reason.map(|e| e.as_str()))
        })
    }
}
