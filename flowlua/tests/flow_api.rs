//! The 20 `flow.*` functions and `flow_info` against the records' values, inside and outside a
//! flow.

mod common;

use common::{
    dns, expected_api, fixture, http, load, mdns, parse, quic, scratch, ssh, tls, tls_mismatch,
};
use flowlua::Hook;

#[test]
fn every_function_returns_the_records_values() {
    let (mut engine, out) = load(&fixture("api"));
    out.take();
    for record in [dns(), http(), tls(), tls_mismatch(), quic(), ssh(), mdns()] {
        engine.run(Hook::Detected, &record);
        let got = parse(&out.take());
        assert_eq!(
            got,
            expected_api(&record, "detected"),
            "{}",
            record.l7_proto_name
        );
    }
    assert!(engine.failures().is_empty(), "{:?}", engine.failures());
}

#[test]
fn values_have_the_spec_types() {
    let (mut engine, out) = load(&fixture("api"));
    out.take();
    engine.run(Hook::Detected, &tls());
    let got = parse(&out.take());
    for (name, want) in [
        ("cli", "string:2001:db8::23"),
        ("srv", "string:2a00:1450:4002:410::2004"),
        ("cli_port", "integer:51512"),
        ("srv_port", "integer:443"),
        ("bytes", "integer:1566071"),
        ("protocol", "integer:6"),
        ("l7_master_proto", "integer:91"),
        ("l7_proto", "integer:126"),
        ("l7_proto_name", "string:TLS.Google"),
        ("direction", "string:local@remote"),
        ("is_oneway", "boolean:false"),
        ("is_unicast", "boolean:true"),
        ("tls_quic.notBefore", "integer:1697443200"),
        (
            "tls_quic.protos.tls.ja3.client_hash",
            "string:773906b0efdefa24a7f2b8eb6985bf37",
        ),
        ("tls_quic.unsafe_cipher", "boolean:false"),
        ("http", "{0}"),
    ] {
        assert_eq!(got.get(name).map(String::as_str), Some(want), "{name}");
    }
}

#[test]
fn quic_user_agent() {
    let (mut engine, out) = load(&fixture("api"));
    out.take();
    engine.run(Hook::Detected, &quic());
    let got = parse(&out.take());
    let ua = "string:Chrome/120.0.6099.109 Windows NT 10.0; Win64; x64";
    assert_eq!(got["tls_quic.user_agent"], ua);
    assert_eq!(got["tls_quic.protos.tls.client_alpn"], "string:h3");
    assert!(!got.contains_key("tls_quic.protos.tls.ja3.server_unsafe_cipher"));
}

#[test]
fn one_way_multicast_flow() {
    let (mut engine, out) = load(&fixture("api"));
    out.take();
    engine.run(Hook::End, &mdns());
    let got = parse(&out.take());
    assert_eq!(got["is_oneway"], "boolean:true");
    assert_eq!(got["is_unicast"], "boolean:false");
    assert_eq!(got["info.end_reason"], "string:idle");
}

#[test]
fn tables_of_other_protocols_are_empty() {
    let (mut engine, out) = load(&fixture("api"));
    out.take();
    engine.run(Hook::Detected, &ssh());
    let got = parse(&out.take());
    for table in ["http", "dns", "tls_quic"] {
        assert_eq!(got[table], "{0}", "{table}");
    }
    assert_eq!(got["ssh"], "{8}");
}

#[test]
fn ntopng_conditions_on_dotted_keys() {
    let (mut engine, out) = load(&fixture("api"));
    out.take();
    // Only one validity date: ntopng sets neither dotted key; the short key is there.
    engine.run(Hook::Detected, &tls_mismatch());
    let got = parse(&out.take());
    assert_eq!(got["tls_quic.notBefore"], "integer:1577836800");
    assert!(!got.contains_key("tls_quic.protos.tls.notBefore"));
    assert_eq!(
        got["tls_quic.protos.tls.ja3.server_unsafe_cipher"],
        "string:insecure"
    );
    // A response: the return code is there under both spellings.
    engine.run(Hook::Detected, &dns());
    let got = parse(&out.take());
    assert_eq!(got["dns.protos.dns.last_return_code"], "integer:0");
    assert!(!got.contains_key("dns.protos.dns.invalid_chars_in_query"));
}

#[test]
fn flow_info_names_the_hook() {
    let (mut engine, out) = load(&fixture("api"));
    out.take();
    for hook in Hook::ALL {
        engine.run(hook, &http());
        let got = parse(&out.take());
        assert_eq!(got, expected_api(&http(), hook.as_str()));
    }
}

#[test]
fn outside_a_flow_everything_is_nil_but_the_predicates() {
    let (engine, out) = load(&fixture("api"));
    let got = parse(&out.take());
    assert_eq!(got.len(), 19, "{got:?}");
    for (name, value) in &got {
        let name = name.strip_prefix("outside.").expect("written at load");
        let want = match name {
            "is_oneway" | "is_unicast" => "boolean:false",
            _ => "nil:nil",
        };
        assert_eq!(value, want, "{name}");
    }
    drop(engine);
}

#[test]
fn trigger_alert_outside_a_flow_does_nothing() {
    let (mut engine, _out) = load(&fixture("api"));
    assert!(engine.take_alerts().is_empty());
    assert!(engine.failures().is_empty());
}

#[test]
fn the_flow_table_has_exactly_the_spec_functions() {
    let lister = r#"
        local names = {}
        for name, value in pairs(flow) do names[#names + 1] = name .. ":" .. type(value) end
        table.sort(names)
        print(table.concat(names, " "))
        return { check = function() end }
    "#;
    let dir = scratch(&[("list.lua", lister)]);
    let (_, out) = load(dir.path());
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
    let mut want: Vec<String> = spec.iter().map(|n| format!("{n}:function")).collect();
    want.sort(); // as Lua sorts: by bytes
    assert_eq!(out.take(), want.join(" ") + "\n");
}
