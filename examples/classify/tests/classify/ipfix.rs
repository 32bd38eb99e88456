//! `--ipfix`: flows exported to real collectors, nfdump's `nfcapd` first, and to collectors
//! that are not there. Classification never stops for the export, and its failures are counted
//! in the summary.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ndpi::export::ipfix::{ie, DataRecord, Decoder};
use serde_json::Value;

use crate::common::{self, classify, json_lines, of_type, stderr};

/// A flow's identity across its records: tuple, VLAN and start time (ms).
type Key = (u8, IpAddr, u16, IpAddr, u16, u16, u64);
/// Per flow: records, client → server packets and bytes, server → client packets and bytes.
type Sums = BTreeMap<Key, [u64; 5]>;

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ip_of(bytes: &[u8]) -> IpAddr {
    match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).unwrap()),
        _ => IpAddr::from(<[u8; 16]>::try_from(bytes).unwrap()),
    }
}

fn key_of_record(r: &DataRecord) -> Key {
    let (src, dst) = match r.get(ie::SOURCE_IPV4_ADDRESS) {
        Some(src) => (src, r.get(ie::DESTINATION_IPV4_ADDRESS).unwrap()),
        None => (
            r.get(ie::SOURCE_IPV6_ADDRESS).unwrap(),
            r.get(ie::DESTINATION_IPV6_ADDRESS).unwrap(),
        ),
    };
    (
        r.uint(ie::PROTOCOL_IDENTIFIER).unwrap() as u8,
        ip_of(src),
        r.uint(ie::SOURCE_TRANSPORT_PORT).unwrap() as u16,
        ip_of(dst),
        r.uint(ie::DESTINATION_TRANSPORT_PORT).unwrap() as u16,
        r.uint(ie::VLAN_ID).unwrap() as u16,
        r.uint(ie::FLOW_START_MILLISECONDS).unwrap(),
    )
}

fn key_of_flow(f: &Value) -> Key {
    (
        f["l4_proto"].as_u64().unwrap() as u8,
        f["cli_ip"].as_str().unwrap().parse().unwrap(),
        f["cli_port"].as_u64().unwrap() as u16,
        f["srv_ip"].as_str().unwrap().parse().unwrap(),
        f["srv_port"].as_u64().unwrap() as u16,
        f["vlan_id"].as_u64().unwrap() as u16,
        f["first_seen_ms"].as_u64().unwrap(),
    )
}

/// The JSON flows, summed per key as the IPFIX records are.
fn json_sums(flows: &[&Value]) -> Sums {
    let mut sums = Sums::new();
    for f in flows {
        let s = sums.entry(key_of_flow(f)).or_default();
        s[0] += 1;
        for (i, k) in [
            "cli2srv_packets",
            "cli2srv_bytes",
            "srv2cli_packets",
            "srv2cli_bytes",
        ]
        .iter()
        .enumerate()
        {
            s[i + 1] += f[k].as_u64().unwrap();
        }
    }
    sums
}

/// Decodes messages as a collector would; data records of every message, in order.
fn decode_all(messages: &[Vec<u8>]) -> Vec<DataRecord> {
    let mut decoder = Decoder::new();
    let mut records = Vec::new();
    let mut expected_sequence = 0u32;
    for m in messages {
        let (header, recs) = decoder.decode(m).unwrap();
        assert_eq!(header.sequence, expected_sequence, "sequence numbers");
        expected_sequence += recs.len() as u32;
        records.extend(recs);
    }
    records
}

/// Splits a TCP stream into messages by their header's length.
fn split_stream(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    while bytes.len() >= 16 {
        let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        assert!(len >= 16 && len <= bytes.len(), "message of {len} octets");
        messages.push(bytes[..len].to_vec());
        bytes = &bytes[len..];
    }
    assert!(bytes.is_empty(), "{} stray octets", bytes.len());
    messages
}

/// Checks the IPFIX records against the JSON flows: every flow once with its end reason, the
/// sums of its deltas equal to its counters, an RFC 6759 application ID with nDPI's protocol.
/// Returns the number of active-timeout records.
fn check_records(records: &[DataRecord], flows: &[&Value]) -> usize {
    let mut sums = Sums::new();
    let mut active = 0;
    let protos: BTreeMap<Key, u64> = flows
        .iter()
        .map(|f| {
            let app = f["l7_proto"].as_u64().unwrap();
            let master = f["l7_master_proto"].as_u64().unwrap();
            (key_of_flow(f), if app == 0 { master } else { app })
        })
        .collect();
    for r in records {
        let key = key_of_record(r);
        let reason = r.uint(ie::FLOW_END_REASON).unwrap();
        assert!((1..=5).contains(&reason), "{reason}");
        if reason == 2 {
            active += 1;
        }
        let s = sums.entry(key).or_default();
        s[0] += u64::from(reason != 2);
        s[1] += r.uint(ie::PACKET_DELTA_COUNT).unwrap();
        s[2] += r.uint(ie::OCTET_DELTA_COUNT).unwrap();
        s[3] += r.uint(ie::REVERSE_PACKET_DELTA_COUNT).unwrap();
        s[4] += r.uint(ie::REVERSE_OCTET_DELTA_COUNT).unwrap();
        let app = r
            .get(ie::APPLICATION_ID)
            .expect("an application ID on every record");
        assert_eq!(&app[..5], &[20, 0, 0, 0x8B, 0x30], "engine 20, ntop's PEN");
        if reason != 2 {
            let id = u64::from(u16::from_be_bytes([app[5], app[6]]));
            assert_eq!(Some(&id), protos.get(&key), "{key:?}");
        }
    }
    let expected = json_sums(flows);
    assert_eq!(sums.len(), expected.len(), "flows");
    for (key, s) in &expected {
        assert_eq!(sums.get(key), Some(s), "{key:?}: records, packets, bytes");
    }
    active
}

/// The summary's export line.
fn export_line(text: &str) -> String {
    text.lines()
        .find(|l| l.starts_with("IPFIX export:"))
        .unwrap_or_else(|| panic!("no export line:\n{text}"))
        .to_owned()
}

/// A number in the export line, before `label` ("send errors", ...).
fn count(line: &str, label: &str) -> u64 {
    let at = line
        .find(label)
        .unwrap_or_else(|| panic!("{label}: {line}"));
    let digits: String = line[..at]
        .trim_end()
        .rsplit(' ')
        .next()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// nfcapd on 127.0.0.1:`port`, writing into `dir`, repeating every datagram to `repeat`.
struct Nfcapd {
    child: std::process::Child,
}

impl Nfcapd {
    fn start(port: u16, dir: &Path, repeat: u16) -> Nfcapd {
        let mut child = Command::new("nfcapd")
            .args(["-b", "127.0.0.1", "-p", &port.to_string(), "-t", "3600"])
            .arg("-w")
            .arg(dir)
            .args(["-B", "4000000", "-R", &format!("127.0.0.1/{repeat}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nfcapd runs (apt-get install nfdump)");
        let out = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("Startup") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("nfcapd starts");
        Nfcapd { child }
    }

    /// SIGTERM: nfcapd flushes and closes its file.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap();
    }
}

/// Receives datagrams on `socket` until `quiet` passes without one.
fn receive(socket: UdpSocket, quiet: Duration) -> thread::JoinHandle<Vec<Vec<u8>>> {
    thread::spawn(move || {
        socket.set_read_timeout(Some(quiet)).unwrap();
        let mut buf = vec![0; 65536];
        let mut messages = Vec::new();
        // Wait for the first one longer: classify starts meanwhile.
        let started = Instant::now();
        loop {
            match socket.recv(&mut buf) {
                Ok(n) => messages.push(buf[..n].to_vec()),
                Err(_) if messages.is_empty() && started.elapsed() < Duration::from_secs(60) => {}
                Err(_) => return messages,
            }
        }
    })
}

/// "1970-01-01T00:00:26.415": nfdump's JSON time in UTC, from Unix ms.
fn nfdump_time(ms: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    let rfc3339 = humantime::format_rfc3339_millis(time).to_string();
    rfc3339.trim_end_matches('Z').to_owned()
}

#[test]
fn nfcapd_receives_every_flow_of_the_merged_captures() {
    if !have("nfcapd") {
        eprintln!("skipped: nfcapd (apt-get install nfdump) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let flows_dir = dir.path().join("flows");
    std::fs::create_dir(&flows_dir).unwrap();
    let repeat = UdpSocket::bind("127.0.0.1:0").unwrap();
    let repeat_port = repeat.local_addr().unwrap().port();
    let received = receive(repeat, Duration::from_secs(3));
    let port = free_udp_port();
    let nfcapd = Nfcapd::start(port, &flows_dir, repeat_port);

    let json = dir.path().join("flows.jsonl");
    let started = Instant::now();
    let output = classify([
        "-r".as_ref(),
        common::merged_captures().as_os_str(),
        "--ipfix".as_ref(),
        format!("udp://127.0.0.1:{port}").as_ref(),
        // Paced: nfcapd reads slower than classify sends over loopback.
        "--ipfix-rate".as_ref(),
        "5000".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{}", stderr(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    let line = export_line(&out);
    eprintln!("{line} ({elapsed:?})");
    let messages = received.join().unwrap();
    nfcapd.stop();

    let lines = json_lines(&std::fs::read(&json).unwrap());
    let flows = of_type(&lines, "flow");
    assert!(flows.len() > 5000, "{}", flows.len());

    // What nfcapd was sent, decoded here (nfdump 1.7.1 decodes neither RFC 5103 reverse
    // counters nor applicationId): every flow, its deltas summing to its counters.
    let records = decode_all(&messages);
    let active = check_records(&records, &flows);
    assert!(active > 0, "the merged capture has flows longer than 60 s");
    assert_eq!(count(&line, "records ("), records.len() as u64);
    assert_eq!(count(&line, "sent in"), records.len() as u64);
    assert_eq!(count(&line, "dropped"), 0);
    assert_eq!(count(&line, "send errors"), 0);

    // What nfcapd stored, read back with nfdump: as many flows, the same tuples, the same
    // client → server packets and bytes (the forward counters are nfdump's in_*).
    let mut stored = Vec::new();
    for file in std::fs::read_dir(&flows_dir).unwrap() {
        let file = file.unwrap().path();
        let dump = Command::new("nfdump")
            .env("TZ", "UTC")
            .arg("-r")
            .arg(&file)
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert!(dump.status.success(), "{}", stderr(&dump));
        let text = String::from_utf8_lossy(&dump.stdout);
        if text.trim().is_empty() {
            continue;
        }
        let parsed: Vec<Value> = serde_json::from_str(&text).unwrap();
        stored.extend(parsed);
    }
    assert_eq!(stored.len(), records.len(), "records stored by nfcapd");
    type NfKey = (u64, IpAddr, u64, IpAddr, u64, u64, String);
    let mut by_flow: BTreeMap<NfKey, (u64, u64)> = BTreeMap::new();
    for s in &stored {
        let addr = |v4: &str, v6: &str| -> IpAddr {
            s[v4].as_str().or(s[v6].as_str()).unwrap().parse().unwrap()
        };
        // For ICMP nfdump shows the destination port as type and code (its high and low
        // octets) and no source port.
        let icmp = || s["icmp_type"].as_u64().unwrap() << 8 | s["icmp_code"].as_u64().unwrap();
        let key = (
            s["proto"].as_u64().unwrap(),
            addr("src4_addr", "src6_addr"),
            s["src_port"].as_u64().unwrap_or(0),
            addr("dst4_addr", "dst6_addr"),
            s["dst_port"].as_u64().unwrap_or_else(icmp),
            s["src_vlan"].as_u64().unwrap(),
            s["first"].as_str().unwrap().to_owned(),
        );
        let e = by_flow.entry(key).or_default();
        e.0 += s["in_packets"].as_u64().unwrap();
        e.1 += s["in_bytes"].as_u64().unwrap();
    }
    let mut expected: BTreeMap<NfKey, (u64, u64)> = BTreeMap::new();
    for f in &flows {
        let k = key_of_flow(f);
        let key = (
            u64::from(k.0),
            k.1,
            u64::from(k.2),
            k.3,
            u64::from(k.4),
            u64::from(k.5),
            nfdump_time(k.6),
        );
        let e = expected.entry(key).or_default();
        e.0 += f["cli2srv_packets"].as_u64().unwrap();
        e.1 += f["cli2srv_bytes"].as_u64().unwrap();
    }
    assert_eq!(by_flow.len(), expected.len(), "flows in nfdump");
    assert_eq!(by_flow, expected);
}

/// The flows of a plain run, for comparison.
fn plain_flows(capture: &Path) -> usize {
    let output = classify([
        "-r".as_ref(),
        capture.as_os_str(),
        "--json".as_ref(),
        "-".as_ref(),
    ]);
    assert!(output.status.success());
    of_type(&json_lines(&output.stdout), "flow").len()
}

/// Runs classify on the merged captures with `--ipfix url` (and `extra` arguments, through
/// `runner` if any), asserting that every flow is in the JSON; returns the export line.
fn run_against(url: &str, prefix: &[&str]) -> String {
    let capture = common::merged_captures();
    let expected = plain_flows(capture);
    let mut command = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(common::classify_bin());
            c
        }
        None => Command::new(common::classify_bin()),
    };
    let output = command
        .current_dir(common::root())
        .arg("-r")
        .arg(capture)
        .args(["--ipfix", url, "--json", "-"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert!(output.status.success(), "{url}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let flows = of_type(&json_lines(&output.stdout), "flow").len();
    assert_eq!(flows, expected, "{url}: every flow in the JSON");
    export_line(&err)
}

#[test]
fn udp_to_a_closed_port_counts_refusals() {
    // Nothing listens: loopback answers ICMP port unreachable, and the connected socket's
    // next send fails with ECONNREFUSED.
    let port = free_udp_port();
    let line = run_against(&format!("udp://127.0.0.1:{port}"), &[]);
    assert!(count(&line, "send errors") > 0, "{line}");
    assert!(count(&line, "dropped") > 0, "{line}");
}

#[test]
fn tcp_to_a_closed_port_retries_and_counts() {
    let port = free_tcp_port();
    let started = Instant::now();
    let line = run_against(&format!("tcp://127.0.0.1:{port}"), &[]);
    assert!(count(&line, "connect errors") > 1, "retried: {line}");
    assert_eq!(count(&line, "connections"), 0, "{line}");
    assert_eq!(count(&line, "dropped"), count(&line, "records ("), "{line}");
    // Given up after the finish timeout (5 s), not before, and not much later.
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn tcp_collector_that_comes_late_gets_everything() {
    // The collector is down when classify starts; the exporter keeps the messages, retries
    // with backoff, and sends them all, templates first, once the collector listens.
    let port = free_tcp_port();
    let collector = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let (mut stream, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("flows.jsonl");
    let output = classify([
        "-r".as_ref(),
        common::merged_captures().as_os_str(),
        "--ipfix".as_ref(),
        format!("tcp://127.0.0.1:{port}").as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let line = export_line(&String::from_utf8_lossy(&output.stdout));
    let bytes = collector.join().unwrap();
    let records = decode_all(&split_stream(&bytes));
    let lines = json_lines(&std::fs::read(&json).unwrap());
    check_records(&records, &of_type(&lines, "flow"));
    assert_eq!(count(&line, "dropped"), 0, "{line}");
    assert_eq!(count(&line, "connections"), 1, "{line}");
    assert!(count(&line, "connect errors") >= 1, "{line}");
    assert_eq!(count(&line, "sent in"), records.len() as u64, "{line}");
}

/// A network namespace of the test's own, with only `lo` up: any other address is unreachable.
struct Netns(String);

impl Netns {
    fn create() -> Option<Netns> {
        let name = format!("ipfix-test-{}", std::process::id());
        let ok = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ok(&["netns", "add", &name]) {
            return None;
        }
        let ns = Netns(name);
        ok(&["-n", &ns.0, "link", "set", "lo", "up"]).then_some(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn unreachable_collector_in_a_namespace_without_routes() {
    let Some(ns) = Netns::create() else {
        eprintln!("skipped: cannot create a network namespace (needs CAP_SYS_ADMIN)");
        return;
    };
    let prefix = ["ip", "netns", "exec", ns.0.as_str()];
    // No route to 192.0.2.1 (TEST-NET-1) inside the namespace: sends and connects fail at once
    // with ENETUNREACH, and nothing leaves the namespace.
    let line = run_against("udp://192.0.2.1:4739", &prefix);
    assert!(count(&line, "send errors") > 0, "{line}");
    assert_eq!(count(&line, "sent in"), 0, "{line}");
    let line = run_against("tcp://192.0.2.1:4739", &prefix);
    assert!(count(&line, "connect errors") > 1, "{line}");
    assert_eq!(count(&line, "connections"), 0, "{line}");
}
