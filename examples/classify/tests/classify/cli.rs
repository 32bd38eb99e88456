//! The command line on the bundled capture: the demo, the output modes, the stop options, and
//! bad input (one clear error line, a non-zero exit, never a panic).

use std::path::Path;
use std::process::Command;

use crate::common::{self, classify, json_lines, of_type, stderr};

const LOOPBACK: &str = "tests/data/loopback.pcap";
const CHECKS: &str = "examples/checks";

/// Runs classify expecting failure; returns its only line of standard error.
fn fails(args: &[&str], code: i32) -> String {
    let output = classify(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: one error line expected, got:\n{err}"
    );
    assert!(lines[0].starts_with("classify: "), "{}", lines[0]);
    lines[0].to_owned()
}

#[test]
fn demo_prints_flows_and_alerts() {
    let output = classify(["-r", LOOPBACK, "--checks", CHECKS]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    let flows: Vec<&str> = out.lines().filter(|l| l.contains("[proto: ")).collect();
    assert_eq!(flows.len(), 9, "{out}");
    for (proto, host) in [
        ("7/HTTP", "demo.example"),
        ("91/TLS", "secure.example"),
        ("5/DNS", "big.example"),
    ] {
        assert!(
            flows.iter().any(|l| l.contains(proto) && l.contains(host)),
            "{proto} {host}:\n{out}"
        );
    }
    assert!(flows.iter().any(|l| l.contains("92/SSH")), "{out}");
    let alerts: Vec<&str> = out.lines().filter(|l| l.starts_with("ALERT")).collect();
    assert!(
        alerts.iter().any(|a| a.contains("self_signed_cert.lua")
            && a.contains("Self-signed certificate for secure.example")),
        "{out}"
    );
    assert!(
        alerts
            .iter()
            .any(|a| a.contains("large_dns_response.lua") && a.contains("big.example")),
        "{out}"
    );
    for summary in [
        "Detected protocols:",
        "HTTP",
        "Lua checks:          3 scripts, 2 alerts, 0 script errors",
        "classify: 100 frames",
    ] {
        assert!(out.contains(summary), "{summary:?} missing:\n{out}");
    }
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

#[test]
fn json_lines_carry_flows_and_alerts() {
    let output = classify(["-r", LOOPBACK, "--checks", CHECKS, "--json", "-"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines = json_lines(&output.stdout);
    let flows = of_type(&lines, "flow");
    let alerts = of_type(&lines, "alert");
    assert_eq!(flows.len(), 9);
    assert_eq!(alerts.len(), 2);
    assert_eq!(lines.len(), 11, "only flows and alerts");
    let http = flows
        .iter()
        .find(|f| f["http"]["url"] == "demo.example/demo/index.html")
        .expect("the HTTP GET");
    assert_eq!(http["l7_proto_name"], "HTTP");
    assert_eq!(http["http"]["return_code"], 200);
    assert_eq!(http["end_reason"], "capture_end");
    for key in [
        "cli_ip",
        "srv_port",
        "cli2srv_packets",
        "first_seen_ms",
        "risks",
    ] {
        assert!(http.get(key).is_some(), "{key}");
    }
    let dns = alerts
        .iter()
        .find(|a| a["script"] == "examples/checks/large_dns_response.lua")
        .expect("the DNS alert");
    assert_eq!(dns["score"], 50);
    assert_eq!(dns["srv_port"], 53);
    assert_eq!(dns["hook"], "detected");
    // The summary moved to standard error, out of the JSON's way.
    assert!(stderr(&output).contains("Detected protocols:"));
}

#[test]
fn json_to_a_file_keeps_the_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.jsonl");
    let output = classify(["-r", LOOPBACK, "--json", json.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(json_lines(&std::fs::read(&json).unwrap()).len(), 9);
    assert!(String::from_utf8_lossy(&output.stdout).contains("Detected protocols:"));
}

#[test]
fn quiet_prints_only_the_throughput_line() {
    let output = classify(["-r", LOOPBACK, "--checks", CHECKS, "--quiet"]);
    assert!(output.status.success());
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("classify: 100 frames, "), "{out}");
    assert!(
        out.contains("pps, ") && out.trim_end().ends_with(" 9 flows"),
        "{out}"
    );
    assert!(stderr(&output).is_empty());
}

#[test]
fn count_and_duration_stop_early_and_flush_every_flow() {
    let output = classify(["-r", LOOPBACK, "-c", "30", "--json", "-"]);
    let flows = json_lines(&output.stdout);
    let packets: u64 = flows
        .iter()
        .map(|f| f["cli2srv_packets"].as_u64().unwrap() + f["srv2cli_packets"].as_u64().unwrap())
        .sum();
    assert_eq!(packets, 30);
    assert!(flows.iter().all(|f| f["end_reason"] == "capture_end"));

    // For files, the duration is capture time: the recording lasts 2 s.
    let all = json_lines(&classify(["-r", LOOPBACK, "--json", "-", "-d", "5s"]).stdout);
    let part = json_lines(&classify(["-r", LOOPBACK, "--json", "-", "-d", "500ms"]).stdout);
    assert_eq!(all.len(), 9);
    // A bare number is seconds, as ndpiReader's -s takes it.
    let bare = json_lines(&classify(["-r", LOOPBACK, "--json", "-", "-d", "5"]).stdout);
    assert_eq!(bare, all);
    assert!(!part.is_empty() && part.len() < 9, "{}", part.len());
}

#[test]
fn classification_options_reach_the_library() {
    let lines = json_lines(
        &classify([
            "-r",
            LOOPBACK,
            "--json",
            "-",
            "--local-net",
            "127.0.0.0/8",
            "--max-tcp-packets",
            "1",
            "--tcp-end",
        ])
        .stdout,
    );
    assert!(lines.iter().all(|f| f["direction"] == "local@local"));
    // TCP connections end on FIN; a single packet is not enough for TCP detection.
    assert!(lines.iter().any(|f| f["end_reason"] == "fin"), "{lines:?}");
    assert!(lines
        .iter()
        .filter(|f| f["l4_proto"] == 6)
        .all(|f| f["l7_proto_name"] == "Unknown" || f["guessed"] == true));
    // A filter: only the DNS flows.
    let dns = json_lines(&classify(["-r", LOOPBACK, "--json", "-", "-f", "udp port 53"]).stdout);
    assert_eq!(dns.len(), 3);
    assert!(dns.iter().all(|f| f["l7_proto_name"] == "DNS"));

    // A custom protocol file.
    let dir = tempfile::tempdir().unwrap();
    let protos = dir.path().join("protos.txt");
    std::fs::write(&protos, "host:\"demo.example\"@DemoSite\n").unwrap();
    let args = [
        "-r",
        LOOPBACK,
        "--json",
        "-",
        "--protos",
        protos.to_str().unwrap(),
    ];
    let custom = json_lines(&classify(args).stdout);
    let names: Vec<&str> = custom
        .iter()
        .map(|f| f["l7_proto_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.iter().filter(|n| **n == "HTTP.DemoSite").count(),
        3,
        "{names:?}"
    );

    // Tunnels: off by default, as in ndpiReader.
    let gtp = common::ndpi_pcap("ipv6_in_gtp.pcap");
    let protocols = |tunnels: bool| {
        let mut args = vec!["-r", gtp.to_str().unwrap(), "--json", "-"];
        args.extend(tunnels.then_some("--tunnels"));
        let flows = json_lines(&classify(args).stdout);
        let mut names: Vec<String> = flows
            .iter()
            .map(|f| f["l7_proto_name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(protocols(false), ["GTP.GTP_U", "GTP.GTP_U"]);
    // Inside: ESP, which nDPI 4.2 names "IPsec" and 4.10 "IPSec".
    let inside = protocols(true);
    assert!(
        inside.iter().any(|n| n.eq_ignore_ascii_case("IPsec"))
            && !inside.contains(&"GTP.GTP_U".into()),
        "{inside:?}"
    );
}

#[test]
fn version_names_the_ndpi_release() {
    let output = classify(["--version"]);
    assert!(output.status.success());
    let line = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "classify {} (nDPI {})",
        env!("CARGO_PKG_VERSION"),
        ndpi::Detector::revision()
    );
    assert_eq!(line.trim(), expected);
}

#[test]
fn ndpi_settings_and_lists_reach_the_library() {
    let bad = fails(&["-r", LOOPBACK, "--cfg", "no.such.setting,1"], 1);
    assert!(bad.contains("no.such.setting=1"), "{bad}");
    let malformed = fails(&["-r", LOOPBACK, "--cfg", "a,b,c,d"], 2);
    assert!(malformed.contains("[PROTO,]PARAM,VALUE"), "{malformed}");
    if ndpi::Detector::release() == "4.2" {
        return;
    }
    // With JA4 turned off the TLS flow keeps its JA3 and loses its JA4.
    let ja4 = |extra: &[&str]| {
        let mut args = vec!["-r", LOOPBACK, "--json", "-"];
        args.extend(extra);
        let flows = json_lines(&classify(args).stdout);
        let tls: Vec<_> = flows
            .iter()
            .filter_map(|f| f.get("tls_quic"))
            .filter(|t| t["ja3_client"].is_string())
            .map(|t| t["ja4_client"].clone())
            .collect();
        assert!(!tls.is_empty(), "{flows:#?}");
        tls
    };
    assert!(ja4(&[]).iter().all(|j| j.is_string()));
    let off = ["--cfg", "tls,metadata.ja4c_fingerprint,0"];
    assert!(ja4(&off).iter().all(|j| j.is_null()));
    let lists = ndpi_testdata::source().join("lists");
    let with_lists = classify([
        "-r",
        LOOPBACK,
        "--lists",
        lists.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(with_lists.status.success(), "{}", stderr(&with_lists));
}

#[test]
fn help_shows_the_live_snaplen_default() {
    let output = classify(["--help"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let help = String::from_utf8_lossy(&output.stdout);
    let snaplen = help
        .lines()
        .find(|l| l.trim_start().starts_with("--snaplen"))
        .expect("--snaplen in --help");
    assert!(snaplen.contains("[default: 262144]"), "{snaplen}");
}

#[test]
fn missing_file() {
    let line = fails(&["-r", "tests/data/no-such.pcap"], 1);
    assert!(
        line.contains("tests/data/no-such.pcap") && line.contains("No such file"),
        "{line}"
    );
}

#[test]
fn not_a_capture() {
    let line = fails(&["-r", "Cargo.toml"], 1);
    assert!(
        line.contains("Cargo.toml") && line.contains("unknown file format"),
        "{line}"
    );
}

#[test]
fn a_bad_file_among_good_ones_is_found_before_any_work() {
    let output = classify(["-r", LOOPBACK, "-r", "README.md"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing was classified");
    assert!(stderr(&output).contains("README.md"));
}

/// The bundled capture cut after 12,000 bytes, inside its 66th record, as `DIR/cut.pcap`.
fn cut_capture(dir: &Path) -> std::path::PathBuf {
    let cut = dir.join("cut.pcap");
    let whole = std::fs::read(common::root().join(LOOPBACK)).unwrap();
    std::fs::write(&cut, &whole[..12_000]).unwrap();
    cut
}

#[test]
fn truncated_capture_reports_flows_so_far_then_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cut = cut_capture(dir.path());
    let mut runs = Vec::new();
    // One thread, and workers that take turns to read: the same error, the same flows.
    for threads in ["1", "2"] {
        let json = dir.path().join(format!("flows-{threads}.jsonl"));
        let args = [
            "-r",
            cut.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--threads",
            threads,
        ];
        let line = fails(&args, 1);
        assert!(
            line.contains("cut.pcap") && line.contains("truncated"),
            "{line}"
        );
        assert!(line.contains("byte offset 12000"), "{line}");
        let flows = json_lines(&std::fs::read(&json).unwrap());
        assert!(!flows.is_empty() && flows.len() < 9, "{}", flows.len());
        assert!(flows.iter().all(|f| f["end_reason"] == "capture_end"));
        let mut flows: Vec<String> = flows.iter().map(serde_json::Value::to_string).collect();
        flows.sort();
        runs.push(flows);
    }
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn unsupported_link_type() {
    // A valid pcap of DLT_USER0 (147), one frame.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user0.pcap");
    let mut bytes = Vec::new();
    for field in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 147] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    for field in [0u32, 0, 4, 4] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    bytes.extend_from_slice(b"abcd");
    std::fs::write(&path, bytes).unwrap();
    let line = fails(&["-r", path.to_str().unwrap()], 1);
    assert!(
        line.contains("user0.pcap") && line.contains("unsupported link type (DLT 147)"),
        "{line}"
    );
}

#[test]
fn unknown_interface() {
    let line = fails(&["-i", "nosuchif0"], 1);
    assert!(line.contains("nosuchif0"), "{line}");
}

#[test]
fn live_capture_without_privileges() {
    use std::os::unix::fs::PermissionsExt;
    // A copy that user nobody can run, wherever the build directory is.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("classify");
    std::fs::copy(common::classify_bin(), &bin).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let mut command = match root {
        true => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&bin);
            c
        }
        false => Command::new(&bin),
    };
    let output = command
        .args(["-i", "lo", "-d", "1s"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("needs root or CAP_NET_RAW"), "{err}");
}

#[test]
fn bad_bpf() {
    let line = fails(&["-r", LOOPBACK, "-f", "tcp and and"], 1);
    assert!(
        line.contains("bad BPF filter") && line.contains("tcp and and"),
        "{line}"
    );
}

#[test]
fn bad_cidr() {
    let line = fails(&["-r", LOOPBACK, "--local-net", "10.0.0.0/33"], 2);
    assert!(
        line.contains("--local-net") && line.contains("bad CIDR"),
        "{line}"
    );
}

#[test]
fn bad_checks_dir() {
    let line = fails(&["-r", LOOPBACK, "--checks", "examples/no-such-checks"], 1);
    assert!(
        line.contains("checks directory") && line.contains("no-such-checks"),
        "{line}"
    );
    let line = fails(&["-r", LOOPBACK, "--checks", "Cargo.toml"], 1);
    assert!(line.contains("checks directory"), "{line}");
}

#[test]
fn bad_options() {
    for (args, words) in [
        (&["-r", LOOPBACK, "-d", "5 parsecs"][..], "--duration"),
        (&["-r", LOOPBACK, "--threads", "0"], "--threads"),
        (&["-r", LOOPBACK, "-i", "lo"], "cannot be used with"),
        (&[], "required"),
        (
            &["-r", LOOPBACK, "--protos", "no-such-protos.txt"],
            "protocols file",
        ),
    ] {
        let line = fails(args, if words == "protocols file" { 1 } else { 2 });
        assert!(line.contains(words), "{line}");
    }
    let dir = Path::new("/no-such-dir/out.jsonl");
    let line = fails(&["-r", LOOPBACK, "--json", dir.to_str().unwrap()], 1);
    assert!(
        line.contains("cannot create /no-such-dir/out.jsonl"),
        "{line}"
    );
}

#[test]
fn flow_updates_report_long_flows_while_they_last() {
    // One SSH session of about four minutes (4.10's capture adds a short one).
    let ssh = common::ndpi_pcap("ssh.pcap");
    let run = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "-r".as_ref(),
            ssh.as_os_str(),
            "--json".as_ref(),
            "-".as_ref(),
        ];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        let output = classify(args);
        assert!(output.status.success(), "{}", stderr(&output));
        json_lines(&output.stdout)
    };
    assert!(
        of_type(&run(&[]), "flow_update").is_empty(),
        "updates are opt-in"
    );

    let all = run(&["--flow-updates", "60s"]);
    let packets = |l: &serde_json::Value| {
        l["cli2srv_packets"].as_u64().unwrap() + l["srv2cli_packets"].as_u64().unwrap()
    };
    let flows = of_type(&all, "flow");
    let long = *flows.iter().max_by_key(|f| packets(f)).expect("a flow");
    assert_eq!(long["srv_port"], 22, "{long}");
    // The long session's lines.
    let lines: Vec<serde_json::Value> = all
        .iter()
        .filter(|l| l["cli_port"] == long["cli_port"] && l["srv_ip"] == long["srv_ip"])
        .cloned()
        .collect();
    let updates = of_type(&lines, "flow_update");
    assert!(updates.len() >= 2, "{lines:#?}");
    let flow = of_type(&lines, "flow");
    assert_eq!(flow.len(), 1, "{lines:#?}");
    let flow = flow[0];
    // The flow's last line is its end, after its updates.
    assert_eq!(lines.last(), Some(flow));
    let mut last = (0, 0);
    for update in updates.iter().chain([&flow]) {
        for key in ["cli_ip", "cli_port", "srv_ip", "srv_port", "l7_proto_name"] {
            assert_eq!(update[key], flow[key], "{update}");
        }
        let now = (packets(update), update["last_seen_ms"].as_u64().unwrap());
        assert!(now.0 > last.0 && now.1 > last.1, "counters grow: {update}");
        last = now;
    }
    // At least 60 s of flow time between two updates.
    let seen: Vec<u64> = updates
        .iter()
        .map(|u| u["last_seen_ms"].as_u64().unwrap())
        .collect();
    assert!(seen[0] - flow["first_seen_ms"].as_u64().unwrap() >= 60_000);
    assert!(seen.windows(2).all(|w| w[1] - w[0] >= 60_000), "{seen:?}");
    assert!(updates.iter().all(|u| u["end_reason"].is_null()));
    assert_eq!(flow["end_reason"], "capture_end");

    // A bare number is seconds; a shorter interval gives more updates.
    let more = run(&["--flow-updates", "5"]);
    assert!(of_type(&more, "flow_update").len() > updates.len());
}

/// Runs `cat FILE | classify ARGS` from the repository root: a real pipe on standard input.
fn classify_piped(file: &Path, args: &[&str]) -> std::process::Output {
    let mut cat = Command::new("cat")
        .arg(file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cat runs");
    let output = Command::new(common::classify_bin())
        .args(args)
        .current_dir(common::root())
        .stdin(cat.stdout.take().expect("cat's output"))
        .output()
        .expect("classify runs");
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    // classify read to the end (or stopped on an error, which closes the pipe under cat).
    let _ = cat.wait();
    output
}

#[test]
fn standard_input_reads_as_the_file_does() {
    let loopback = common::root().join(LOOPBACK);
    // pcap; pcapng of two interfaces of different time resolutions; a capture larger than a
    // pipe's buffer; and standard input after another file.
    for (file, before) in [
        (loopback.clone(), None),
        (common::ndpi_pcap("z3950.pcapng"), None),
        (common::ndpi_pcap("quic-33.pcapng"), None),
        (loopback, Some(common::ndpi_pcap("ssh.pcap"))),
    ] {
        let before = before.as_ref().map(|p| p.to_str().unwrap());
        let mut from_file = vec![];
        let mut from_pipe = vec![];
        if let Some(before) = before {
            from_file.extend(["-r", before]);
            from_pipe.extend(["-r", before]);
        }
        from_file.extend(["-r", file.to_str().unwrap(), "--json", "-"]);
        from_pipe.extend(["-r", "-", "--json", "-"]);
        let expected = classify(&from_file);
        assert!(expected.status.success(), "{}", stderr(&expected));
        let piped = classify_piped(&file, &from_pipe);
        assert!(piped.status.success(), "{from_pipe:?}: {}", stderr(&piped));
        let flows = json_lines(&piped.stdout);
        assert!(!flows.is_empty());
        assert_eq!(flows, json_lines(&expected.stdout), "{}", file.display());
    }
}

#[test]
fn a_truncated_capture_on_standard_input_reports_its_flows_then_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cut = cut_capture(dir.path());
    let output = classify_piped(&cut, &["-r", "-", "--json", "-"]);
    assert_eq!(output.status.code(), Some(1));
    let flows = json_lines(&output.stdout);
    assert!(!flows.is_empty() && flows.len() < 9, "{}", flows.len());
    let err = stderr(&output);
    let line = err.lines().last().unwrap_or_default();
    assert!(
        line.starts_with("classify: error: standard input: truncated")
            && line.contains("byte offset 12000"),
        "{err}"
    );
}

#[test]
fn standard_input_can_be_read_once() {
    let line = fails(&["-r", "-", "-r", "-"], 1);
    assert!(
        line.contains("standard input can be read only once"),
        "{line}"
    );
}
