//! Live capture on the loopback interface: real servers on 127.0.0.1 (tests/data/
//! loopback-servers.sh: HTTP, HTTPS with a self-signed certificate, DNS, SSH), real clients,
//! and `classify -i lo` with the bundled checks, stopped by Ctrl-C (SIGINT). Needs root.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::Value;

use crate::common::{classify_bin, json_lines, of_type, root};

/// Ports the other tests and the machine's own services do not use (DNS must be 53: nDPI 4.2
/// finds DNS only there).
const PORTS: [(&str, u16); 3] = [
    ("LOOPBACK_HTTP_PORT", 18080),
    ("LOOPBACK_TLS_PORT", 18443),
    ("LOOPBACK_SSH_PORT", 12222),
];

/// The lines a child writes to a pipe, as they come.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Waits for a line starting with `prefix`; returns it.
fn wait_for(lines: &Receiver<String>, prefix: &str, what: &str) -> String {
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.starts_with(prefix) => return line,
            Ok(line) => seen.push(line),
            Err(e) => panic!("waiting for {what}: {e}; got {seen:#?}"),
        }
    }
}

/// The servers and clients: a bash running loopback-servers.sh, one step per line on stdin.
struct Servers {
    bash: Child,
    stdin: ChildStdin,
    stdout: Receiver<String>,
}

impl Servers {
    fn start(dir: &std::path::Path) -> Servers {
        let script = r#"
            set -euo pipefail
            source tests/data/loopback-servers.sh
            trap stop_servers EXIT
            start_servers "$1"
            echo "FILTER $(loopback_bpf_filter)"
            read -r _
            drive_clients --large
            echo DRIVEN
            read -r _ || true
        "#;
        let mut bash = Command::new("bash")
            .args(["-c", script, "servers"])
            .arg(dir)
            .envs(PORTS.map(|(k, v)| (k, v.to_string())))
            .current_dir(root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("bash runs");
        let stdin = bash.stdin.take().unwrap();
        let stdout = lines(bash.stdout.take().unwrap());
        Servers {
            bash,
            stdin,
            stdout,
        }
    }

    /// The next step of the script.
    fn go_on(&mut self) {
        writeln!(self.stdin).expect("bash is waiting");
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        // Closing stdin ends the script wherever it waits; its trap stops the servers.
        let _ = writeln!(self.stdin);
        let _ = self.bash.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

#[test]
fn live_capture_on_loopback() {
    if !is_root() {
        eprintln!("skipped: live capture on lo needs root (capture privileges, DNS on port 53)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut servers = Servers::start(dir.path());
    let filter = wait_for(&servers.stdout, "FILTER ", "the servers")["FILTER ".len()..].to_owned();

    let json = dir.path().join("live.jsonl");
    let mut classify = Command::new(classify_bin())
        .args(["-i", "lo", "-d", "60s", "--checks", "examples/checks"])
        // lo's MTU is 64 KiB: frames cut short would be dropped as malformed, as ndpiReader
        // does, and the large download would not be large. The default snaplen (262144) is
        // meant to keep them whole, so this test leaves it alone.
        .args(["--buffer-size", "32M", "-f"])
        .arg(&filter)
        .arg("--json")
        .arg(&json)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("classify runs");
    let stderr = lines(classify.stderr.take().unwrap());
    wait_for(&stderr, "classify: capturing on lo", "the capture to start");

    servers.go_on();
    wait_for(&servers.stdout, "DRIVEN", "the clients");
    // Let the last packets through the capture, then Ctrl-C.
    std::thread::sleep(Duration::from_millis(500));
    let signal = Command::new("kill")
        .args(["-INT", &classify.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let mut out = String::new();
    classify
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = classify.wait().unwrap();
    drop(servers);
    let errors: Vec<String> = stderr.try_iter().collect();
    assert!(status.success(), "{status}: {errors:?}\n{out}");
    assert!(!errors.iter().any(|e| e.contains("panicked")), "{errors:?}");
    assert!(
        out.contains("interrupted; every flow was reported"),
        "{out}"
    );

    let lines = json_lines(&std::fs::read(&json).unwrap());
    let flows = of_type(&lines, "flow");
    let alerts = of_type(&lines, "alert");
    let find = |what: &str, pred: &dyn Fn(&Value) -> bool| {
        flows
            .iter()
            .find(|f| pred(f))
            .unwrap_or_else(|| panic!("no {what} flow in {flows:#?}"))
    };
    let http = find("HTTP", &|f| {
        f["http"]["url"] == "demo.example/demo/index.html"
    });
    assert_eq!(http["host_server_name"], "demo.example");
    assert_eq!(http["http"]["return_code"], 200);
    let tls = find("TLS", &|f| {
        f["tls_quic"]["client_requested_server_name"] == "secure.example"
    });
    assert!(tls["l7_proto_name"].as_str().unwrap().starts_with("TLS"));
    let dns = find("DNS", &|f| f["dns"]["last_query"] == "demo.example");
    assert_eq!(dns["dns"]["replies_as_string"], "127.0.0.1");
    find("SSH", &|f| f["l7_proto_name"] == "SSH");
    // Every flow was reported; those still open at Ctrl-C with end_reason capture_end.
    assert!(flows.iter().all(|f| f["end_reason"].is_string()));
    assert!(flows.iter().any(|f| f["end_reason"] == "capture_end"));

    for (script, words) in [
        (
            "self_signed_cert.lua",
            "Self-signed certificate for secure.example",
        ),
        ("large_dns_response.lua", "big.example"),
        ("large_flow.lua", "Large flow detected"),
    ] {
        assert!(
            alerts
                .iter()
                .any(|a| a["script"].as_str().unwrap().ends_with(script)
                    && a["message"].as_str().unwrap().contains(words)),
            "no alert of {script} in {alerts:#?}"
        );
    }
}
