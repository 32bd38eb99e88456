//! Replay on a veth pair: nDPI's merged Ethernet captures, IPv4 only, every address moved into
//! 127.0.0.0/8 (scripts/loopback-rewrite.py), sent by `tcpreplay` into one end of a veth pair
//! inside a network namespace the test creates (no routes, nothing leaves it), while
//! `classify -i` captures the other end with one thread and with two (an AF_PACKET fanout
//! group). The flows (tuple, VLAN, protocol, packets) must be those `classify -r` finds in the
//! same file. The rate is one at which nothing is dropped; should the kernel drop frames anyway
//! (a loaded machine), the flows are only reported, and the frame counts checked. Needs root,
//! iproute2 and tcpreplay (scripts/setup.sh); skipped without them. scripts/replay-bench.sh
//! runs the same replay at top speed, and ndpiReader on it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::common::{classify, classify_bin, json_lines, merged_captures, root, stderr};

/// Frames per second for the replay: about 6 s for the 128,000 frames, which a debug build
/// keeps up with on a busy 2-core machine (a release build keeps up with top speed at one
/// thread on most of it; see scripts/replay-bench.sh).
const PPS: &str = "20000";

/// The rewritten capture, made once next to the merged one.
fn loopback_capture() -> &'static Path {
    static CAPTURE: OnceLock<PathBuf> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let merged = merged_captures();
        let out = merged.with_file_name("merged-loopback.pcap");
        if out.is_file() {
            return out;
        }
        let partial = out.with_extension(format!("pcap.{}", std::process::id()));
        let status = Command::new("python3")
            .arg(root().join("scripts/loopback-rewrite.py"))
            .arg(merged)
            .arg(&partial)
            .stderr(Stdio::null())
            .status()
            .expect("python3 runs");
        assert!(status.success(), "scripts/loopback-rewrite.py failed");
        std::fs::rename(&partial, &out).expect("rename the rewritten capture");
        out
    })
}

/// A network namespace with a veth pair `va` (replayed into) and `vb` (captured), both up, no
/// addresses, no routes, IPv6 off (no router solicitations or DAD): the only frames on it are
/// the replay's. Deleted on drop.
struct Namespace(String);

impl Namespace {
    fn create() -> Namespace {
        let name = format!("classify-replay-{}", std::process::id());
        let ns = Namespace(name.clone());
        ns.ip(&["netns", "add", &name]);
        for step in [
            "link add va type veth peer name vb",
            "link set va up",
            "link set vb up",
        ] {
            let args: Vec<&str> = ["-n", &name].into_iter().chain(step.split(' ')).collect();
            ns.ip(&args);
        }
        ns
    }

    fn ip(&self, args: &[&str]) {
        let status = Command::new("ip").args(args).status().expect("ip runs");
        assert!(status.success(), "ip {args:?}");
    }

    /// `ip netns exec NAME program`.
    fn exec(&self, program: &Path) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.0]).arg(program);
        command
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Each flow's tuple (both ends sorted), VLAN, protocol name and packets, counted.
type Flows = BTreeMap<String, u32>;

fn flows(lines: &[Value]) -> Flows {
    let mut flows = Flows::new();
    for flow in lines.iter().filter(|l| l["type"] == "flow") {
        let mut ends = [
            format!("{}:{}", flow["cli_ip"], flow["cli_port"]),
            format!("{}:{}", flow["srv_ip"], flow["srv_port"]),
        ];
        ends.sort();
        let packets =
            flow["cli2srv_packets"].as_u64().unwrap() + flow["srv2cli_packets"].as_u64().unwrap();
        let key = format!(
            "{} {} {} vlan {} {} {packets} packets",
            flow["l4_proto"], ends[0], ends[1], flow["vlan_id"], flow["l7_proto_name"]
        );
        *flows.entry(key).or_default() += 1;
    }
    flows
}

/// Flows in `a` and not in `b`, counted.
/// A key of [`flows`] without its protocol name (the third quoted part).
fn without_protocol(flow: &str) -> String {
    let parts: Vec<&str> = flow.split('"').collect();
    let kept: Vec<&str> = parts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 5)
        .map(|(_, p)| *p)
        .collect();
    kept.join("\"")
}

fn missing(a: &Flows, b: &Flows) -> Vec<String> {
    a.iter()
        .filter(|(k, n)| b.get(*k).unwrap_or(&0) < n)
        .map(|(k, _)| k.clone())
        .collect()
}

/// A number in the summary's `Capture:` line ("N received, N dropped by the kernel").
fn capture_count(summary: &str, after: &str) -> u64 {
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("Capture:"))
        .unwrap_or_else(|| panic!("no Capture: line in {summary}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .windows(2)
        .position(|w| w[1].starts_with(after))
        .unwrap_or_else(|| panic!("no {after} in {line}"));
    words[at].replace(',', "").parse().unwrap()
}

/// Replays the capture while `classify -i vb --threads N` captures; returns the summary and the
/// JSON lines.
fn replay(ns: &Namespace, capture: &Path, threads: u32, json: &Path) -> (String, Vec<Value>) {
    // Standard output (a line per flow, the summary) to a file: a pipe read only at the end
    // would fill up and stall the capture.
    let out = json.with_extension("out");
    let mut child = ns
        .exec(classify_bin())
        .args(["-i", "vb", "--threads", &threads.to_string(), "--json"])
        .arg(json)
        .current_dir(root())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .expect("classify runs");
    // Its first line says it captures.
    let mut err = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0];
    while !String::from_utf8_lossy(&seen).contains("capturing on vb") {
        assert_eq!(
            err.read(&mut byte).unwrap(),
            1,
            "classify: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.push(byte[0]);
    }
    let sent = ns
        .exec(Path::new("tcpreplay"))
        .args(["--pps", PPS, "-i", "va"])
        .arg(capture)
        .output()
        .expect("tcpreplay runs");
    assert!(sent.status.success(), "tcpreplay: {}", stderr(&sent));
    // Every frame read, and the last flows' ends on the clock.
    std::thread::sleep(Duration::from_secs(1));
    let signal = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let summary = std::fs::read_to_string(&out).unwrap();
    assert!(status.success(), "{status}: {rest}\n{summary}");
    assert!(
        !rest.contains("panicked") && !rest.contains("one thread reads"),
        "{rest}"
    );
    let text = std::fs::read(json).unwrap();
    (summary, json_lines(&text))
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

#[test]
fn replay_on_veth_matches_the_file_with_one_and_two_threads() {
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !(root_user && have("tcpreplay") && have("ip")) {
        eprintln!("skipped: the veth replay needs root, iproute2 and tcpreplay");
        return;
    }
    let capture = loopback_capture();
    let file = classify([
        "-r".as_ref(),
        capture.as_os_str(),
        "--json".as_ref(),
        "-".as_ref(),
    ]);
    assert!(file.status.success(), "{}", stderr(&file));
    let expected = flows(&json_lines(&file.stdout));
    assert!(
        expected.len() > 5000,
        "the rewritten capture has thousands of flows"
    );
    let frames_in_file = String::from_utf8_lossy(&file.stderr)
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("classify: "))
        .and_then(|l| l.split_whitespace().next())
        .map(|n| n.replace(',', "").parse::<u64>().unwrap())
        .expect("the throughput line");

    let ns = Namespace::create();
    // IPv6 off: the namespace then has no traffic of its own.
    let sysctl = ns
        .exec(Path::new("sysctl"))
        .args(["-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        .status()
        .unwrap();
    assert!(sysctl.success());
    let dir = tempfile::tempdir().unwrap();
    for threads in [1, 2] {
        let json = dir.path().join(format!("live{threads}.jsonl"));
        let (summary, lines) = replay(&ns, capture, threads, &json);
        let received = capture_count(&summary, "received");
        let dropped = capture_count(&summary, "dropped");
        let live = flows(&lines);
        let (only_file, only_live) = (missing(&expected, &live), missing(&live, &expected));
        eprintln!(
            "--threads {threads}: {frames_in_file} frames sent, {received} received, {dropped} \
             dropped by the kernel; flows: {} only in the file, {} only live",
            only_file.len(),
            only_live.len()
        );
        assert_eq!(received, frames_in_file, "every frame reached the captures");
        if dropped > 0 {
            eprintln!("the kernel dropped frames (a loaded machine?): flows not compared");
            continue;
        }
        // With two workers a few flows classified from nDPI's caches may be classified
        // otherwise (threads.rs says why): the same flows and packets, another protocol.
        let unnamed = |flows: &[String]| {
            let mut flows: Vec<String> = flows.iter().map(|f| without_protocol(f)).collect();
            flows.sort();
            flows
        };
        let allowed = if threads == 1 { 0 } else { 5 };
        assert!(
            unnamed(&only_file) == unnamed(&only_live) && only_file.len() <= allowed,
            "--threads {threads}: only in the file {:#?}\nonly live {:#?}",
            &only_file[..only_file.len().min(20)],
            &only_live[..only_live.len().min(20)]
        );
    }
}
