//! Hostile scripts, each loaded beside the spec's well-behaved example: every one is stopped or
//! refused with a message naming the script (and line, where Lua knows it), counted once per
//! script, while the good script's alerts on the same flows still come out.

mod common;

use common::{fixture_text, load_with, scratch, tls};
use flowlua::{Alert, Engine, EngineConfig, FailureKind, Hook, Output, ScriptFailure};
use tempfile::TempDir;

/// Flows run through each pair of scripts.
const FLOWS: u64 = 6;

/// Loads `bad.lua` with `source` beside the spec's `my_flow_check.lua`, runs [`FLOWS`] large
/// flows, and checks that the good script alerted on every one. Returns the bad script's
/// failure and alerts.
fn beside_good_script(source: &str, config: EngineConfig) -> (ScriptFailure, Vec<Alert>) {
    in_dir(scratch(&[]), source, config)
}

/// [`beside_good_script`] in a directory that already holds other files.
fn in_dir(dir: TempDir, source: &str, config: EngineConfig) -> (ScriptFailure, Vec<Alert>) {
    let good = fixture_text("spec_examples/my_flow_check.lua");
    std::fs::write(dir.path().join("bad.lua"), source).expect("write");
    std::fs::write(dir.path().join("my_flow_check.lua"), good).expect("write");
    let (mut engine, _) = load_with(dir.path(), config);
    for i in 0..FLOWS {
        // Distinct flows: one flow gets an alert only once per script and message.
        let mut flow = tls();
        flow.tuple.cli_port += i as u16;
        engine.run(Hook::Detected, &flow);
    }
    let (good, bad): (Vec<Alert>, Vec<Alert>) = engine
        .take_alerts()
        .into_iter()
        .partition(|a| a.script.ends_with("my_flow_check.lua"));
    assert_eq!(
        good.len() as u64,
        FLOWS,
        "the good script alerted on every flow"
    );
    assert!(good.iter().all(|a| a.message == "Large flow detected"));
    let failures = engine.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].script.ends_with("bad.lua"), "{}", failures[0]);
    (failures[0].clone(), bad)
}

fn sandbox(source: &str) -> (ScriptFailure, Vec<Alert>) {
    beside_good_script(source, EngineConfig::default())
}

fn sandbox_in(dir: TempDir, source: &str) -> (ScriptFailure, Vec<Alert>) {
    in_dir(dir, source, EngineConfig::default())
}

fn check(body: &str) -> String {
    format!("local m = {{}}\nfunction m.check(flow_info)\n{body}\nend\nreturn m\n")
}

#[test]
fn syntax_error_is_refused_at_load() {
    let (failure, _) = sandbox("local m = {}\nlocal x = = 1\nreturn m\n");
    assert_eq!(failure.kind, FailureKind::Syntax);
    assert_eq!(failure.hook, None);
    assert_eq!(failure.count, 1);
    assert_eq!(failure.message, "bad.lua:2: unexpected symbol near '='");
}

#[test]
fn runtime_error_stops_the_call_and_keeps_earlier_alerts() {
    let (failure, bad_alerts) = sandbox(&check(
        "flow.triggerAlert(9, 'before')\nlocal t = nil\nreturn t.x",
    ));
    assert_eq!(failure.kind, FailureKind::Runtime);
    assert_eq!(failure.hook, Some(Hook::Detected));
    assert_eq!(failure.count, FLOWS, "counted per flow, reported once");
    assert_eq!(
        failure.message,
        "bad.lua:5: attempt to index a nil value (local 't')"
    );
    assert_eq!(
        bad_alerts.len() as u64,
        FLOWS,
        "alerts raised before the error are kept"
    );
    let shown = failure.to_string();
    assert!(
        shown.contains("(detected)") && shown.ends_with("[failed 6 times]"),
        "{shown}"
    );
}

#[test]
fn infinite_loop_runs_out_of_instructions() {
    let (failure, _) = sandbox(&check("while true do end"));
    assert_eq!(failure.kind, FailureKind::InstructionBudget);
    assert_eq!(failure.count, FLOWS);
    assert_eq!(
        failure.message,
        "bad.lua:3: instruction budget of 1000000 exceeded"
    );
}

#[test]
fn catching_the_budget_error_does_not_help() {
    // Without the guard this never ends: fail after a minute instead of hanging.
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let body = "while true do pcall(function() while true do end end) end\n\
                    while true do xpcall(function() while true do end end, print) end";
        let _ = done.send(sandbox(&check(body)).0);
    });
    let failure = result
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the budget stops a loop around pcall");
    assert_eq!(failure.kind, FailureKind::InstructionBudget);
    assert_eq!(failure.count, FLOWS);
}

#[test]
fn infinite_loop_at_load_is_stopped() {
    let (failure, _) = sandbox("while true do end");
    assert_eq!(failure.kind, FailureKind::InstructionBudget);
    assert_eq!(failure.hook, None);
    assert_eq!(
        failure.message,
        "bad.lua:1: instruction budget of 1000000 exceeded"
    );
}

#[test]
fn memory_bomb_is_stopped_and_the_state_stays_usable() {
    let (failure, _) = sandbox(&check("local s = 'x'\nwhile true do s = s .. s end"));
    assert_eq!(failure.kind, FailureKind::Memory);
    assert_eq!(
        failure.count, FLOWS,
        "every flow ran again after garbage collection"
    );
    assert_eq!(failure.message, "memory limit of 67108864 bytes exceeded");
}

#[test]
fn memory_bomb_in_a_table_is_stopped() {
    let body = "local t = {}\nfor i = 1, math.huge do t[i] = string.rep('y', 4096) .. i end";
    let (failure, _) = sandbox(&check(body));
    assert_eq!(failure.kind, FailureKind::Memory);
    assert_eq!(failure.count, FLOWS);
}

#[test]
fn os_is_not_there() {
    let (failure, _) = sandbox(&check("os.execute('touch /tmp/flowlua-pwned')"));
    assert_eq!(failure.kind, FailureKind::Runtime);
    assert_eq!(failure.count, FLOWS);
    assert_eq!(
        failure.message,
        "bad.lua:3: attempt to index a nil value (global 'os')"
    );
}

#[test]
fn io_open_is_not_there() {
    let (failure, _) = sandbox(&check("local f = io.open('/etc/passwd')"));
    assert_eq!(
        failure.message,
        "bad.lua:3: attempt to call a nil value (field 'open')"
    );
}

#[test]
fn loading_code_from_strings_is_not_there() {
    for (body, name) in [
        ("load('return 1')()", "global 'load'"),
        ("loadstring('return 1')()", "global 'loadstring'"),
        ("dofile('/etc/passwd')", "global 'dofile'"),
        ("loadfile('/etc/passwd')()", "global 'loadfile'"),
    ] {
        let (failure, _) = sandbox(&check(body));
        let want = format!("bad.lua:3: attempt to call a nil value ({name})");
        assert_eq!(failure.message, want);
    }
}

#[test]
fn require_cannot_leave_the_checks_directory() {
    let (failure, _) = sandbox(&check("require('../../etc/passwd')"));
    assert_eq!(failure.kind, FailureKind::Runtime);
    assert_eq!(failure.count, FLOWS);
    assert_eq!(
        failure.message,
        "bad.lua:3: module '../../etc/passwd' refused: a module name may not leave the checks \
         directory"
    );
}

#[test]
fn package_path_cannot_point_outside() {
    let (failure, _) = sandbox(&check("package.path = '/etc/?'\nrequire('passwd')"));
    assert_eq!(failure.kind, FailureKind::Runtime);
    assert_eq!(
        failure.message,
        "bad.lua:4: module 'passwd' not found:\n\trefused '/etc/passwd': outside the checks \
         directory"
    );
}

#[test]
fn symbolic_links_cannot_point_outside() {
    let dir = scratch(&[("lib/ok.lua", "return {}")]);
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("lib/leak.lua")).expect("symlink");
    let (failure, _) = sandbox_in(dir, &check("require('lib.ok')\nrequire('lib.leak')"));
    let leak = failure.message;
    assert!(
        leak.starts_with("bad.lua:4: module 'lib.leak' not found:"),
        "{leak}"
    );
    assert!(
        leak.contains("lib/leak.lua': links outside the checks directory\n"),
        "{leak}"
    );
}

#[test]
fn a_smaller_budget_applies() {
    let config = EngineConfig::default().instruction_budget(Some(50_000));
    let (failure, _) = beside_good_script(&check("for i = 1, 100000 do end"), config);
    assert_eq!(
        failure.message,
        "bad.lua:3: instruction budget of 50000 exceeded"
    );
}

#[test]
fn trusted_mode_lifts_the_limits() {
    let good = fixture_text("spec_examples/my_flow_check.lua");
    let body = "for i = 1, 3000000 do end\n\
                if type(os.time()) == 'number' and io.open then flow.triggerAlert(1, 'trusted') end";
    let dir = scratch(&[("heavy.lua", &check(body)), ("my_flow_check.lua", &good)]);
    let run = |config| {
        let (mut engine, _) = load_with(dir.path(), config);
        engine.run(Hook::Detected, &tls());
        let messages: Vec<_> = engine
            .take_alerts()
            .into_iter()
            .map(|a| a.message)
            .collect();
        (messages, engine.failures().to_vec())
    };
    let (messages, failures) = run(EngineConfig::trusted());
    assert_eq!(messages, ["trusted", "Large flow detected"]);
    assert!(failures.is_empty(), "{failures:?}");
    let (messages, failures) = run(EngineConfig::default());
    assert_eq!(messages, ["Large flow detected"]);
    assert_eq!(failures[0].kind, FailureKind::InstructionBudget);
}

#[test]
fn print_and_io_write_reach_the_output_in_the_sandbox() {
    let body = "print('a', 1, 2.5, nil, true)\nio.write('b', 3, '\\n')";
    let dir = scratch(&[("talk.lua", &check(body))]);
    let (mut engine, out) = load_with(dir.path(), EngineConfig::default());
    engine.run(Hook::Detected, &tls());
    assert_eq!(out.take(), "a\t1\t2.5\tnil\ttrue\nb3\n");
    assert!(engine.failures().is_empty(), "{:?}", engine.failures());
}

#[test]
fn io_write_rejects_tables_like_lua() {
    let dir = scratch(&[("talk.lua", &check("io.write('ok', {})"))]);
    let (mut engine, out) = load_with(dir.path(), EngineConfig::default());
    engine.run(Hook::Detected, &tls());
    assert_eq!(out.take(), "ok");
    let message = &engine.failures()[0].message;
    assert!(
        message.contains("bad argument #2 to 'write' (string expected, got table)"),
        "{message}"
    );
}

#[test]
fn output_can_be_discarded() {
    let dir = scratch(&[("talk.lua", &check("print('hidden')"))]);
    let config = EngineConfig::default().output(Output::Discard);
    let mut engine = Engine::load(dir.path(), config).expect("loads");
    engine.run(Hook::Detected, &tls());
    assert!(engine.failures().is_empty());
}
