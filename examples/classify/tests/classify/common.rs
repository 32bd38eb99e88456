//! Shared by the tests: the `classify` example binary, running it, reading its JSON lines.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository root, and one of nDPI's test captures (fetched by vendor/fetch.sh with the
/// linked release's source).
pub use ndpi_testdata::{pcap as ndpi_pcap, root};

/// nDPI 4.2's test captures (`ndpi_testdata::traffic_dir`, whatever release is linked: 4.10's
/// are trimmed) merged into one Ethernet capture by scripts/merge-pcaps.py (flows of different
/// captures meet in one flow table and in nDPI's caches). Made once, next to the test
/// binaries, and shared with scripts/bench-classify.sh.
pub fn merged_captures() -> &'static Path {
    static MERGED: OnceLock<PathBuf> = OnceLock::new();
    MERGED.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let target_dir = exe
            .ancestors()
            .nth(3)
            .expect("<target>/<profile>/deps/<test>");
        let merged = target_dir.join("merged-ethernet.pcap");
        if merged.is_file() {
            return merged;
        }
        let mut inputs: Vec<_> = std::fs::read_dir(ndpi_testdata::traffic_dir())
            .expect("the captures are there")
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        // Written aside and renamed, so that a concurrent test never reads half a file.
        let partial = merged.with_extension(format!("pcap.{}", std::process::id()));
        let status = Command::new("python3")
            .arg(root().join("scripts/merge-pcaps.py"))
            .args(["--max-gap", "86400"])
            .arg(&partial)
            .args(&inputs)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("python3 runs");
        assert!(status.success(), "scripts/merge-pcaps.py failed");
        std::fs::rename(&partial, &merged).expect("rename the merged capture");
        merged
    })
}

/// The classify binary cargo built for these tests.
pub fn classify_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_classify"))
}

/// Runs `classify ARGS` from the repository root.
pub fn classify<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = Command::new(classify_bin())
        .args(args)
        .current_dir(root())
        .output()
        .expect("classify runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "classify panicked:\n{stderr}");
    output
}

/// The JSON lines of `text` after the first, parsed. The first line must name the versions:
/// `{"type":"start","classify":"0.2.0","ndpi":"4.10.0"}`.
pub fn json_lines(text: &[u8]) -> Vec<Value> {
    let mut lines = String::from_utf8_lossy(text)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect::<Vec<Value>>()
        .into_iter();
    if let Some(start) = lines.next() {
        assert_eq!(start["type"], "start", "the first line: {start}");
        assert_eq!(start["ndpi"], ndpi::Detector::revision(), "{start}");
        assert_eq!(start["classify"], env!("CARGO_PKG_VERSION"), "{start}");
    }
    lines.collect()
}

/// The lines of one `"type"`.
pub fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The flows of two runs that differ only in their classification: the same tuple and
/// counters, another application protocol on the same master (`STUN.SignalVoip` and `STUN`,
/// `TLS.Skype_Teams` and `TLS`). `--threads N` gives a few such flows, those nDPI classifies
/// from caches that link flows of different host pairs, which N workers shard apart (see
/// threads.rs): the caches name the application, not the master, which each flow's own
/// packets decide. Returns their tuples, or `None` when anything else differs.
pub fn only_classification_differs(one: &[Value], other: &[Value]) -> Option<Vec<String>> {
    let key = |flow: &Value| {
        let counters = [
            "cli2srv_packets",
            "srv2cli_packets",
            "cli2srv_bytes",
            "srv2cli_bytes",
        ];
        let counters = counters.map(|k| flow[k].to_string()).join(" ");
        format!("{} {counters}", tuple(flow))
    };
    let flows = |lines: &[Value]| -> std::collections::BTreeMap<String, Vec<String>> {
        let mut flows = std::collections::BTreeMap::<String, Vec<String>>::new();
        for flow in lines.iter().filter(|l| l["type"] == "flow") {
            flows.entry(key(flow)).or_default().push(flow.to_string());
        }
        flows
    };
    let (a, b) = (flows(one), flows(other));
    if a.len() != b.len() || a.keys().ne(b.keys()) {
        return None;
    }
    let masters = |lines: &[String]| -> Vec<String> {
        let mut masters: Vec<String> = lines
            .iter()
            .map(|line| {
                let flow: Value = serde_json::from_str(line).unwrap();
                let name = flow["l7_proto_name"].as_str().unwrap_or_default();
                name.split('.').next().unwrap_or_default().to_owned()
            })
            .collect();
        masters.sort();
        masters
    };
    let mut differing = Vec::new();
    for (key, lines) in &a {
        let (mut x, mut y) = (lines.clone(), b[key].clone());
        x.sort();
        y.sort();
        if x != y {
            if masters(&x) != masters(&y) {
                return None;
            }
            differing.push(key.clone());
        }
    }
    Some(differing)
}

/// A flow's (or an alert's) L4 protocol, endpoints and VLAN, as text.
pub fn tuple(line: &Value) -> String {
    [
        "l4_proto", "cli_ip", "cli_port", "srv_ip", "srv_port", "vlan_id",
    ]
    .map(|k| line[k].to_string())
    .join(" ")
}
