//! `flow.triggerAlert`: argument checks, the 8-bit score, and the alert as a JSON line.

mod common;

use common::{dns, load, scratch, tls};
use flowlua::{FailureKind, Hook};

/// A spec-layout module whose check runs `body`.
fn check(body: &str) -> String {
    format!("local m = {{}}\nfunction m.check(flow_info)\n{body}\nend\nreturn m\n")
}

#[test]
fn wrong_argument_types_name_the_script_and_line() {
    for (call, want) in [
        (
            "flow.triggerAlert('50', 'x')",
            "argument 1 must be a number, got string",
        ),
        (
            "flow.triggerAlert(nil, 'x')",
            "argument 1 must be a number, got nil",
        ),
        (
            "flow.triggerAlert(50)",
            "argument 2 must be a string, got nil",
        ),
        (
            "flow.triggerAlert(50, 7)",
            "argument 2 must be a string, got number",
        ),
        (
            "flow.triggerAlert(50, {})",
            "argument 2 must be a string, got table",
        ),
    ] {
        let dir = scratch(&[("bad_alert.lua", &check(&format!("local x = 1\n{call}")))]);
        let (mut engine, _) = load(dir.path());
        for _ in 0..3 {
            engine.run(Hook::Detected, &dns());
        }
        assert!(engine.take_alerts().is_empty(), "{call}");
        let failures = engine.failures();
        assert_eq!(failures.len(), 1, "{call}");
        assert_eq!(failures[0].kind, FailureKind::Runtime);
        assert_eq!(failures[0].count, 3);
        let message = format!("bad_alert.lua:4: flow.triggerAlert: {want}");
        assert_eq!(failures[0].message, message, "{call}");
    }
}

#[test]
fn wrong_arguments_in_ntopng_layout_name_the_file_and_line() {
    let script = "\n\nflow.triggerAlert(1, nil)\nreturn(0)\n";
    let dir = scratch(&[("custom_flow_end_script.lua", script)]);
    let (mut engine, _) = load(dir.path());
    engine.run(Hook::End, &dns());
    let want =
        "custom_flow_end_script.lua:3: flow.triggerAlert: argument 2 must be a string, got nil";
    assert_eq!(engine.failures()[0].message, want);
    assert_eq!(engine.failures()[0].hook, Some(Hook::End));
}

#[test]
fn scores_are_clamped_to_eight_bits() {
    let body = "for _, v in ipairs({0, 50, 255, 256, 300, -5, 50.7, 1e300, -math.huge, 0/0}) do\n\
                flow.triggerAlert(v, tostring(v))\nend";
    let dir = scratch(&[("scores.lua", &check(body))]);
    let (mut engine, _) = load(dir.path());
    engine.run(Hook::Detected, &tls());
    let got: Vec<u8> = engine.take_alerts().iter().map(|a| a.score).collect();
    assert_eq!(got, [0, 50, 255, 255, 255, 0, 50, 255, 0, 0]);
    assert!(engine.failures().is_empty(), "{:?}", engine.failures());
}

#[test]
fn an_alert_identifies_flow_script_and_hook() {
    let dir = scratch(&[(
        "custom_flow_periodic_script.lua",
        "flow.triggerAlert(42, 'tick')",
    )]);
    let (mut engine, _) = load(dir.path());
    let record = tls();
    engine.run(Hook::Periodic, &record);
    let alerts = engine.take_alerts();
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    let script = dir.path().join("custom_flow_periodic_script.lua");
    assert_eq!(alert.script, script.to_string_lossy());
    assert_eq!(
        (alert.hook, alert.score, alert.message.as_str()),
        (Hook::Periodic, 42, "tick")
    );
    assert_eq!(
        (alert.tuple.cli_ip, alert.tuple.cli_port),
        (record.tuple.cli_ip, record.tuple.cli_port)
    );
    assert_eq!(
        (alert.tuple.srv_ip, alert.tuple.srv_port),
        (record.tuple.srv_ip, record.tuple.srv_port)
    );
    assert_eq!(
        (alert.tuple.l4_proto, alert.tuple.vlan_id),
        (ndpi::L4Proto::TCP, 0)
    );
    assert_eq!(alert.first_seen_ms, record.first_seen_ms);
    assert_eq!(alert.last_seen_ms, record.last_seen_ms);
    assert_eq!(alert.l7_proto_name, "TLS.Google");
    assert!(engine.take_alerts().is_empty(), "taken once");
}

#[test]
fn an_alert_is_one_json_line() {
    let dir = scratch(&[(
        "json.lua",
        &check("flow.triggerAlert(50, 'line one\\nline \"two\"')"),
    )]);
    let (mut engine, _) = load(dir.path());
    engine.run(Hook::Detected, &dns());
    let alert = engine.take_alerts().pop().expect("an alert");
    let line = serde_json::to_string(&alert).expect("serializes");
    assert!(!line.contains('\n'), "{line}");
    let value: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
    assert_eq!(value["hook"], "detected");
    assert_eq!(value["score"], 50);
    assert_eq!(value["message"], "line one\nline \"two\"");
    assert_eq!(value["cli_ip"], "192.168.1.23");
    assert_eq!(value["srv_port"], 53);
    assert_eq!(value["l4_proto"], 17);
    assert_eq!(value["first_seen_ms"], 1_700_000_000_000u64);
    assert!(value["script"]
        .as_str()
        .expect("a string")
        .ends_with("json.lua"));
}

#[test]
fn failures_serialize_too() {
    let dir = scratch(&[(
        "broken.lua",
        "return {check = function() error('boom') end}",
    )]);
    let (mut engine, _) = load(dir.path());
    engine.run(Hook::Detected, &dns());
    let value = serde_json::to_value(&engine.failures()[0]).expect("serializes");
    assert_eq!(value["kind"], "runtime");
    assert_eq!(value["hook"], "detected");
    assert_eq!(value["message"], "broken.lua:1: boom");
    assert_eq!(value["count"], 1);
}
