//! Both script layouts: the spec's examples unmodified, scripts written for real ntopng, hooks,
//! and what a checks directory may hold.

mod common;

use common::{
    dns, dns_nxdomain, fixture, fixture_text, http, load, mdns, scratch, ssh, tls, tls_mismatch,
};
use flowlua::{Engine, EngineConfig, FailureKind, Hook, LoadError};

#[test]
fn spec_examples_run_unmodified() {
    // my_flow_check.lua (spec layout) and the DNS example as ntopng's detected script, verbatim.
    let (mut engine, _) = load(&fixture("spec_examples"));
    assert_eq!(engine.scripts().count(), 2);

    engine.run(Hook::Detected, &tls());
    let alerts = engine.take_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].message, "Large flow detected");
    assert_eq!(alerts[0].score, 100, "flow_consts.alert_types.flow_score");
    assert!(alerts[0].script.ends_with("my_flow_check.lua"));

    engine.run(Hook::Detected, &dns());
    let alerts = engine.take_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].message, "Large DNS response: 620 bytes");
    assert_eq!(alerts[0].score, 50);
    assert!(alerts[0]
        .script
        .ends_with("custom_flow_protocol_detected_script.lua"));

    // Small flows, an error response, and flows of other protocols raise nothing.
    for record in [dns_nxdomain(), http(), ssh(), mdns(), tls_mismatch()] {
        engine.run(Hook::Detected, &record);
    }
    assert_eq!(engine.take_alerts(), vec![]);
    assert!(engine.failures().is_empty(), "{:?}", engine.failures());
}

#[test]
fn spec_dns_example_inside_a_check_function() {
    let snippet = fixture_text("spec_examples/custom_flow_protocol_detected_script.lua");
    let module = format!("local m = {{}}\nfunction m.check(flow_info)\n{snippet}\nend\nreturn m\n");
    let dir = scratch(&[("large_dns.lua", &module)]);
    let (mut engine, _) = load(dir.path());
    // One alert per flow, not one per hook, though the answer's byte count grows.
    for record in [dns(), dns_nxdomain()] {
        let mut record = record;
        for hook in Hook::ALL {
            engine.run(hook, &record);
            record.srv2cli_bytes += 100;
        }
    }
    let alerts = engine.take_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].message, "Large DNS response: 620 bytes");
}

#[test]
fn ntopng_script_with_dotted_keys_runs_unchanged() {
    let (mut engine, _) = load(&fixture("ntopng_dotted"));
    for record in [tls(), tls_mismatch(), dns(), dns_nxdomain(), http(), ssh()] {
        engine.run(Hook::Detected, &record);
    }
    let messages: Vec<_> = engine
        .take_alerts()
        .into_iter()
        .map(|a| a.message)
        .collect();
    assert_eq!(
        messages,
        [
            "certificate for localhost,localhost.localdomain does not cover intranet.example.org",
            "insecure cipher 10 (TLS 771)",
            "NXDOMAIN for nosuchhost.ntop.org",
            "GET 93.184.216.34/index.html by curl/7.88.1",
            "known SSH client SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u1",
        ]
    );
    assert!(engine.failures().is_empty(), "{:?}", engine.failures());
}

#[test]
fn ntopng_sample_style_scripts_run() {
    let (mut engine, out) = load(&fixture("ntopng_samples"));
    for hook in Hook::ALL {
        engine.run(hook, &dns());
    }
    let want = "\
detected [17] 192.168.1.23:53124 <-> 192.168.1.1:53 DNS
{
  invalid_chars_in_query = false
  last_query = www.ntop.org
  last_query_type = 1
  last_return_code = 0
  num_answers = 1
  num_queries = 1
  protos.dns.last_query = www.ntop.org
  protos.dns.last_query_type = 1
  protos.dns.last_return_code = 0
  query_class = 1
  replies_as_string = 167.99.215.164
}
periodic DNS 694 bytes
end\tDNS\t74\t620\tfalse
";
    assert_eq!(out.take(), want);
    let alerts = engine.take_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].score, alerts[0].message.as_str()),
        (102, "dummy alert message")
    );
    assert_eq!(alerts[0].hook, Hook::Detected);
    assert!(engine.failures().is_empty(), "{:?}", engine.failures());
}

#[test]
fn package_path_does_not_grow_with_flows() {
    let script = r#"
        local dirs = ntop.getDirs()
        package.path = dirs.installdir .. "/scripts/lua/modules/?.lua;" .. package.path
        io.write(#package.path, "\n")
        return(0)
    "#;
    let dir = scratch(&[("custom_flow_periodic_script.lua", script)]);
    let (mut engine, out) = load(dir.path());
    for _ in 0..50 {
        engine.run(Hook::Periodic, &tls());
    }
    let lengths: Vec<_> = out.take().lines().map(str::to_owned).collect();
    assert_eq!(lengths.len(), 50);
    assert!(lengths.iter().all(|l| *l == lengths[0]), "{lengths:?}");
}

#[test]
fn check_runs_at_every_hook_before_the_hooks_own_function() {
    let module = r#"
        local m = {}
        function m.check(info) print("check " .. info.hook) end
        function m.periodic_update(info) print("periodic " .. info.hook) end
        function m.flow_end(info)
            print("end " .. info.end_reason)
            flow.triggerAlert(3, "ended")
        end
        return m
    "#;
    let only_end =
        "local m = {} function m.flow_end() flow.triggerAlert(4, 'only end') end return m";
    let dir = scratch(&[("a.lua", module), ("b.lua", only_end)]);
    let (mut engine, out) = load(dir.path());
    assert!(Hook::ALL.iter().all(|&hook| engine.has_hook(hook)));
    let mut record = mdns();
    engine.run(Hook::Detected, &record);
    engine.run(Hook::Periodic, &record);
    record.end_reason = Some(ndpi::EndReason::Fin);
    engine.run(Hook::End, &record);
    let want = "check detected\ncheck periodic\nperiodic periodic\ncheck end\nend fin\n";
    assert_eq!(out.take(), want);
    let got: Vec<_> = engine
        .take_alerts()
        .into_iter()
        .map(|a| (a.hook, a.message))
        .collect();
    let want = [(Hook::End, "ended"), (Hook::End, "only end")];
    assert_eq!(got, want.map(|(h, m)| (h, m.to_owned())));
}

#[test]
fn a_module_with_only_check_runs_at_every_hook() {
    let module = "local m = {} function m.check(info) print(info.hook) end return m";
    let dir = scratch(&[("a.lua", module)]);
    let (mut engine, out) = load(dir.path());
    let record = dns();
    for hook in [Hook::Detected, Hook::Periodic, Hook::Periodic, Hook::End] {
        engine.run(hook, &record);
    }
    assert_eq!(out.take(), "detected\nperiodic\nperiodic\nend\n");
}

#[test]
fn a_condition_alerts_once_per_flow() {
    // Line 3 quotes a growing counter; line 4 loops over several messages within one hook.
    let module = r#"local m = {}
function m.check(info)
  flow.triggerAlert(10, "bytes: " .. flow.bytes())
  for _, what in ipairs({"a", "b"}) do flow.triggerAlert(20, "item " .. what) end
  if info.hook == "end" then flow.triggerAlert(30, "item c") end
end
return m"#;
    let same_message =
        "local m = {} function m.flow_end() flow.triggerAlert(1, 'item a') end return m";
    let dir = scratch(&[("a.lua", module), ("b.lua", same_message)]);
    let (mut engine, _) = load(dir.path());
    let mut record = dns();
    engine.run(Hook::Detected, &record);
    record.srv2cli_bytes += 1000;
    engine.run(Hook::Periodic, &record);
    engine.run(Hook::End, &record);
    let got: Vec<_> = engine
        .take_alerts()
        .into_iter()
        .map(|a| {
            (
                a.hook,
                a.script.rsplit('/').next().unwrap().to_owned(),
                a.message,
            )
        })
        .collect();
    let want = [
        (Hook::Detected, "a.lua", "bytes: 694"),
        (Hook::Detected, "a.lua", "item a"),
        (Hook::Detected, "a.lua", "item b"),
        // A new message from a new line is no repeat; another script's alert is its own.
        (Hook::End, "a.lua", "item c"),
        (Hook::End, "b.lua", "item a"),
    ];
    assert_eq!(got, want.map(|(h, s, m)| (h, s.to_owned(), m.to_owned())));

    // The flow ended: a new flow with the same tuple alerts again, and so does another flow.
    engine.run(Hook::Detected, &record);
    let mut other = dns();
    other.tuple.cli_port += 1;
    engine.run(Hook::Detected, &other);
    assert_eq!(engine.take_alerts().len(), 6);
}

#[test]
fn flow_info_is_filled_when_read() {
    let module = r#"local m = {}
local kept
function m.check(info)
  if info.hook == "detected" then
    local keys = 0
    for _ in pairs(info) do keys = keys + 1 end
    print(keys, info.l7_proto_name, info.cli_port, #info.risks)
    kept = info
  elseif info.hook == "periodic" then
    kept = info -- never read during its call
  else
    print(info.hook, info.l7_proto_name)
    print(kept.hook, kept.srv_port)
  end
end
return m"#;
    let dir = scratch(&[("a.lua", module)]);
    let (mut engine, out) = load(dir.path());
    let record = dns();
    engine.run(Hook::Detected, &record);
    // Every top-level field of the record but end_reason (nil before the end), and hook.
    assert_eq!(out.take(), "23\tDNS\t53124\t0\n");
    engine.run(Hook::Periodic, &record);
    engine.run(Hook::End, &record);
    // The periodic table, read only after its call, is refused with the reading line.
    assert_eq!(out.take(), "end\tDNS\n");
    let failures = engine.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].hook, Some(Hook::End));
    let want = "a.lua:13: flow_info is readable only during the call it was passed to";
    assert!(failures[0].message.contains(want), "{}", failures[0]);
}

#[test]
fn missing_ntopng_files_disable_their_hooks() {
    let dir = scratch(&[("custom_flow_end_script.lua", "flow.triggerAlert(5, 'bye')")]);
    let (mut engine, _) = load(dir.path());
    assert!(!engine.has_hook(Hook::Detected));
    assert!(!engine.has_hook(Hook::Periodic));
    assert!(engine.has_hook(Hook::End));
    engine.run(Hook::Detected, &dns());
    engine.run(Hook::End, &dns());
    assert_eq!(engine.take_alerts().len(), 1);
}

#[test]
fn helper_modules_in_subdirectories_are_required() {
    let helper = "local h = {} function h.big(n) return n > 1000 end return h";
    let check = r#"
        local helpers = require("lib.helpers")
        local m = {}
        function m.check() if helpers.big(flow.bytes()) then flow.triggerAlert(7, "big") end end
        return m
    "#;
    let dir = scratch(&[("lib/helpers.lua", helper), ("uses_helper.lua", check)]);
    let (mut engine, _) = load(dir.path());
    assert_eq!(
        engine.scripts().count(),
        1,
        "lib/ is not scanned for checks"
    );
    engine.run(Hook::Detected, &dns());
    engine.run(Hook::Detected, &mdns());
    assert_eq!(engine.take_alerts().len(), 1);
    assert!(engine.failures().is_empty(), "{:?}", engine.failures());
}

#[test]
fn modules_of_the_wrong_shape_are_reported() {
    let dir = scratch(&[
        ("returns_number.lua", "return 0"),
        ("no_functions.lua", "return { name = 'x' }"),
        ("check_not_function.lua", "return { check = 5 }"),
        (
            "good.lua",
            "return { check = function() flow.triggerAlert(1, 'ok') end }",
        ),
        ("custom_flow_end_script.lua.sample", "this is not Lua"),
        ("notes.txt", "neither"),
    ]);
    let (mut engine, _) = load(dir.path());
    assert_eq!(engine.scripts().count(), 1);
    let failures = engine.failures();
    assert_eq!(failures.len(), 3);
    for (failure, why) in failures.iter().zip([
        "its check is a number",
        "its table has none of them",
        "it returned a number",
    ]) {
        assert_eq!(failure.kind, FailureKind::InvalidModule);
        assert_eq!(failure.hook, None);
        assert!(failure.message.ends_with(why), "{failure}");
    }
    engine.run(Hook::Detected, &dns());
    assert_eq!(engine.take_alerts().len(), 1);
}

#[test]
fn an_unreadable_directory_is_an_error() {
    let missing = fixture("no_such_directory");
    match Engine::load(&missing, EngineConfig::default()) {
        Err(LoadError::Dir { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected a directory error, got {other:?}"),
    }
}

#[test]
fn load_errors_keep_their_cause() {
    use std::error::Error as _;
    let err = Engine::load("/nonexistent/checks", EngineConfig::default()).unwrap_err();
    let io = err
        .source()
        .and_then(|c| c.downcast_ref::<std::io::Error>())
        .expect("the OS error is the cause");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/nonexistent/checks"), "{err}");
    // A Lua state that cannot be set up keeps mlua's error, not its text.
    let err = flowlua::LoadError::Lua(flowlua::mlua::Error::runtime("no memory"));
    let lua = err
        .source()
        .and_then(|c| c.downcast_ref::<flowlua::mlua::Error>())
        .expect("mlua's error is the cause");
    assert!(matches!(lua, flowlua::mlua::Error::RuntimeError(m) if m == "no memory"));
}
