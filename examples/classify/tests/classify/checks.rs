//! The Lua check lifecycle through classify: a spec module's `check()` sees every flow when its
//! classification is final, periodically, and at its end, and a flow gets an alert at most once
//! per script and message; with one worker and with several.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::common::{classify, json_lines, merged_captures, of_type, root, stderr};

/// The identity of a flow in flow and alert lines: tuple, VLAN and first packet.
fn flow_key(line: &Value) -> String {
    let keys = [
        "l4_proto",
        "cli_ip",
        "cli_port",
        "srv_ip",
        "srv_port",
        "vlan_id",
        "first_seen_ms",
    ];
    keys.map(|k| line[k].to_string()).join(" ")
}

/// `classify -r PCAP --checks DIR --json - --threads N`: its flow lines and alert lines.
fn run(pcap: &Path, checks: &Path, threads: u32) -> (Vec<Value>, Vec<Value>) {
    let threads = threads.to_string();
    let output = classify([
        "-r".as_ref(),
        pcap.as_os_str(),
        "--checks".as_ref(),
        checks.as_os_str(),
        "--json".as_ref(),
        "-".as_ref(),
        "--threads".as_ref(),
        threads.as_ref(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines = json_lines(&output.stdout);
    let flows = of_type(&lines, "flow").into_iter().cloned().collect();
    let alerts = of_type(&lines, "alert").into_iter().cloned().collect();
    assert!(of_type(&lines, "script_failure").is_empty(), "{lines:?}");
    (flows, alerts)
}

/// A checks directory holding one module.
fn checks_dir(name: &str, source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(name), source).expect("write the module");
    dir
}

/// How many alerts with `message` each flow got.
fn alerts_per_flow(alerts: &[Value], message: impl Fn(&str) -> bool) -> BTreeMap<String, usize> {
    let mut per_flow = BTreeMap::new();
    for alert in alerts {
        if message(alert["message"].as_str().expect("a message")) {
            *per_flow.entry(flow_key(alert)).or_default() += 1;
        }
    }
    per_flow
}

fn bytes(flow: &Value) -> u64 {
    flow["cli2srv_bytes"].as_u64().unwrap() + flow["srv2cli_bytes"].as_u64().unwrap()
}

#[test]
fn spec_boilerplate_alerts_once_on_every_large_flow() {
    let module = std::fs::read_to_string(
        root().join("flowlua/tests/checks/spec_examples/my_flow_check.lua"),
    )
    .expect("the spec's module");
    let dir = checks_dir("my_flow_check.lua", &module);
    for threads in [1, 2] {
        let (flows, alerts) = run(merged_captures(), dir.path(), threads);
        let large: BTreeMap<String, usize> = flows
            .iter()
            .filter(|f| bytes(f) > 1_000_000)
            .map(|f| (flow_key(f), 1))
            .collect();
        let alerted = alerts_per_flow(&alerts, |m| m == "Large flow detected");
        assert_eq!(
            alerted, large,
            "{threads} threads: one alert per flow over 1 MB"
        );
        // nDPI 4.2's Ethernet captures hold 17 such flows; most are classified in their first
        // packets and grow past 1 MB later, so their alert comes from a later hook.
        assert!(large.len() >= 15, "{}", large.len());
        let later = alerts.iter().filter(|a| a["hook"] != "detected").count();
        assert!(
            later * 2 > large.len(),
            "{later} of {} alerts after detection",
            large.len()
        );
    }
}

#[test]
fn spec_dns_example_alerts_once_per_large_dns_answer() {
    let snippet = std::fs::read_to_string(
        root().join("flowlua/tests/checks/spec_examples/custom_flow_protocol_detected_script.lua"),
    )
    .expect("the spec's DNS example");
    let module = format!("local m = {{}}\nfunction m.check(flow_info)\n{snippet}\nend\nreturn m\n");
    let dir = checks_dir("large_dns.lua", &module);
    let (flows, alerts) = run(merged_captures(), dir.path(), 1);
    let large: BTreeMap<String, usize> = flows
        .iter()
        .filter(|f| f["dns"]["last_return_code"] == 0 && f["srv2cli_bytes"].as_u64().unwrap() > 512)
        .map(|f| (flow_key(f), 1))
        .collect();
    let alerted = alerts_per_flow(&alerts, |m| m.starts_with("Large DNS response: "));
    assert_eq!(alerted, large, "one alert per DNS flow with a large answer");
    assert!(!large.is_empty());
}
