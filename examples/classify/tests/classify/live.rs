//! Live capture on the loopback interface: real servers on 127.0.0.1 (tests/data/
//! loopback-servers.sh: HTTP, HTTPS with a self-signed certificate, DNS, SSH), real clients,
//! and `classify -i lo` with the bundled checks, stopped by Ctrl-C (SIGINT). Needs root.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

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

/// Waits for a line starting with `prefix`; returns it and the lines before it.
fn wait_for_all(lines: &Receiver<String>, prefix: &str, what: &str) -> (String, Vec<String>) {
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.starts_with(prefix) => return (line, seen),
            Ok(line) => seen.push(line),
            Err(e) => panic!("waiting for {what}: {e}; got {seen:#?}"),
        }
    }
}

/// Waits for a line starting with `prefix`; returns it.
fn wait_for(lines: &Receiver<String>, prefix: &str, what: &str) -> String {
    wait_for_all(lines, prefix, what).0
}

/// The live tests share the servers' ports: one at a time.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LIVE: Mutex<()> = Mutex::new(());
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The servers, and a bash that sourced loopback-servers.sh running one step per line on stdin.
struct Servers {
    bash: Child,
    stdin: ChildStdin,
    stdout: Receiver<String>,
    /// The capture filter that matches the servers' flows.
    filter: String,
}

impl Servers {
    fn start(dir: &Path) -> Servers {
        let script = r#"
            set -euo pipefail
            source tests/data/loopback-servers.sh
            trap stop_servers EXIT
            start_servers "$1"
            echo "FILTER $(loopback_bpf_filter)"
            while IFS= read -r step && [ -n "$step" ]; do
                eval "$step" </dev/null
                echo DONE
            done
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
        let filter = wait_for(&stdout, "FILTER ", "the servers")["FILTER ".len()..].to_owned();
        Servers {
            bash,
            stdin,
            stdout,
            filter,
        }
    }

    /// Runs one step (a line of bash, e.g. a function of loopback-servers.sh); returns what it
    /// printed.
    fn run(&mut self, step: &str) -> Vec<String> {
        writeln!(self.stdin, "{step}").expect("bash is waiting");
        wait_for_all(&self.stdout, "DONE", step).1
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        // An empty line (or a closed stdin) ends the script; its trap stops the servers.
        let _ = writeln!(self.stdin);
        let _ = self.bash.wait();
    }
}

/// `classify -i lo` writing JSON lines to a file.
struct Classify {
    child: Child,
    stderr: Receiver<String>,
    json: PathBuf,
}

impl Classify {
    /// Starts a capture of the servers' flows with `args`; returns once it captures.
    fn start(args: &[&str], filter: &str, json: PathBuf) -> Classify {
        let mut child = Command::new(classify_bin())
            .args(["-i", "lo"])
            .args(args)
            .arg("-f")
            .arg(filter)
            .arg("--json")
            .arg(&json)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("classify runs");
        let stderr = lines(child.stderr.take().unwrap());
        wait_for(&stderr, "classify: capturing on lo", "the capture to start");
        Classify {
            child,
            stderr,
            json,
        }
    }

    /// The complete JSON lines written so far.
    fn lines(&self) -> Vec<Value> {
        let text = std::fs::read(&self.json).unwrap_or_default();
        let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        json_lines(&text[..complete])
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("classify's status").is_none()
    }

    /// Ctrl-C; returns standard output (the summary) once it exited, successfully, and every
    /// JSON line.
    fn interrupt(mut self) -> (String, Vec<Value>) {
        let signal = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(signal.success());
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let status = self.child.wait().unwrap();
        let errors: Vec<String> = self.stderr.try_iter().collect();
        assert!(status.success(), "{status}: {errors:?}\n{out}");
        assert!(!errors.iter().any(|e| e.contains("panicked")), "{errors:?}");
        assert!(
            out.contains("interrupted; every flow was reported"),
            "{out}"
        );
        let lines = self.lines();
        (out, lines)
    }
}

/// What every live test holds: the servers, a scratch directory and the lock (dropped in that
/// order).
struct Live {
    servers: Servers,
    dir: tempfile::TempDir,
    _one: MutexGuard<'static, ()>,
}

impl Live {
    /// `None`, and a line saying the test is skipped, without root.
    fn start() -> Option<Live> {
        if !is_root() {
            eprintln!(
                "skipped: live capture on lo needs root (capture privileges, DNS on port 53)"
            );
            return None;
        }
        let one = one_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let servers = Servers::start(dir.path());
        Some(Live {
            servers,
            dir,
            _one: one,
        })
    }
}

/// The host's count of retransmitted TCP segments (`RetransSegs` of /proc/net/snmp).
fn tcp_retransmitted_segments() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").expect("/proc/net/snmp is readable");
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (names, values) = (tcp.next().unwrap(), tcp.next().unwrap());
    let column = names.split(' ').position(|n| n == "RetransSegs").unwrap();
    values.split(' ').nth(column).unwrap().parse().unwrap()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

#[test]
fn live_capture_on_loopback() {
    let Some(mut live) = Live::start() else {
        return;
    };
    // lo's MTU is 64 KiB: frames cut short would be dropped as malformed, as ndpiReader does,
    // and the large download would not be large. The default snaplen (262144) is meant to keep
    // them whole, so this test leaves it alone.
    let classify = Classify::start(
        &["-d", "60s", "--checks", "examples/checks"],
        &live.servers.filter,
        live.dir.path().join("live.jsonl"),
    );
    live.servers.run("drive_clients --large");
    // Let the last packets through the capture, then Ctrl-C.
    std::thread::sleep(Duration::from_millis(500));
    let (_, lines) = classify.interrupt();
    drop(live);

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

#[test]
fn live_flows_end_on_the_clock() {
    let Some(mut live) = Live::start() else {
        return;
    };
    // One thread and two (where the reader hands the clock to each worker), capturing the same
    // query side by side.
    let mut runs: Vec<Classify> = ["1", "2"]
        .iter()
        .map(|threads| {
            let json = live.dir.path().join(format!("idle-{threads}.jsonl"));
            let args = ["--idle-timeout", "2s", "--threads", threads];
            Classify::start(&args, &live.servers.filter, json)
        })
        .collect();

    // One DNS query and its answer, then silence.
    live.servers
        .run("_loopback_dig demo.example A NOERROR >/dev/null");
    let answered = Instant::now();
    let is_query = |l: &&Value| l["type"] == "flow" && l["dns"]["last_query"] == "demo.example";
    let mut ended = vec![None; runs.len()];
    while ended.iter().any(Option::is_none) && answered.elapsed() < Duration::from_secs(10) {
        for (run, ended) in runs.iter_mut().zip(&mut ended) {
            if ended.is_some() {
                continue;
            }
            if let Some(flow) = run.lines().iter().find(is_query) {
                // Written and flushed while the capture runs, with no frame after the answer.
                assert!(
                    run.running(),
                    "classify exited: {:?}",
                    run.stderr.try_iter().collect::<Vec<_>>()
                );
                *ended = Some((answered.elapsed(), flow.clone()));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for (threads, ended) in ["1", "2"].iter().zip(&ended) {
        let (after, flow) = ended
            .as_ref()
            .unwrap_or_else(|| panic!("{threads} thread(s): no flow line within 10 s"));
        assert!(
            *after <= Duration::from_secs(3),
            "{threads} thread(s): the flow line came {after:?} after the answer, want <= 2 s + 1 s"
        );
        assert_eq!(flow["end_reason"], "idle", "{flow}");
        assert_eq!(flow["dns"]["replies_as_string"], "127.0.0.1", "{flow}");
        eprintln!("{threads} thread(s): the flow line came {after:?} after the answer");
    }
    for run in runs {
        let (_, lines) = run.interrupt();
        assert_eq!(lines.iter().filter(is_query).count(), 1, "{lines:#?}");
    }
}

#[test]
fn live_download_of_3_mb_with_default_options() {
    let Some(mut live) = Live::start() else {
        return;
    };
    let classify = Classify::start(
        &[],
        &live.servers.filter,
        live.dir.path().join("download.jsonl"),
    );
    let retransmitted_before = tcp_retransmitted_segments();
    let printed = live.servers.run(
        "curl -q --noproxy '*' -sS --max-time 30 -o /dev/null -H 'Host: demo.example' \
         -w 'GOT %{http_code} %{size_download} %{size_header}\\n' \
         \"http://127.0.0.1:$LOOPBACK_HTTP_PORT/3mb.bin\"",
    );
    let got = printed
        .iter()
        .find_map(|l| l.strip_prefix("GOT "))
        .unwrap_or_else(|| panic!("curl printed {printed:?}"));
    let got: Vec<u64> = got.split(' ').map(|n| n.parse().unwrap()).collect();
    assert_eq!(got[..2], [200, 3 << 20], "{printed:?}");
    let received = got[1] + got[2];
    let retransmitted = tcp_retransmitted_segments() - retransmitted_before;
    std::thread::sleep(Duration::from_millis(500));
    let (summary, lines) = classify.interrupt();
    drop(live);

    let flows = of_type(&lines, "flow");
    let download = flows
        .iter()
        .find(|f| f["http"]["url"] == "demo.example/3mb.bin")
        .unwrap_or_else(|| panic!("no download flow in {flows:#?}"));
    // Every frame whole: the server's bytes on the wire are what curl received plus the
    // frames' headers (66 bytes a frame on lo, frames of up to 64 KiB), plus whatever TCP sent
    // again: even lo retransmits now and then on a loaded machine (the host's counter, so
    // another program's retransmissions only widen the bound).
    let bytes = download["srv2cli_bytes"].as_u64().unwrap();
    let resent = retransmitted * (65_535 + 66);
    assert!(bytes >= 3_000_000, "{download}");
    assert!(
        (received..=received + received / 50 + resent).contains(&bytes),
        "server to client: {bytes} bytes on the wire for {received} bytes received \
         ({retransmitted} segments retransmitted meanwhile)\n{download}"
    );
    assert!(!summary.contains("malformed_ip"), "{summary}");
    assert!(
        summary.contains("0 dropped by the kernel, 0 by the interface"),
        "{summary}"
    );
}
