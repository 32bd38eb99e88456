//! The conformance suite: the tracker over every nDPI 4.2 test capture, flow by flow against
//! nDPI's own expected results (`tests/result/*.out`), run the way nDPI's `tests/do.sh` runs
//! its reader: the five custom files, tunnel decoding on, files read to the end.
//!
//! Compared per flow: the tuple (unordered), protocol "M.A/name", packets and bytes per
//! direction, and the metadata fields the reader prints (Hostname/SNI, JA3C, JA3S, Issuer,
//! Subject, Validity, Cipher, ServerNames, ALPN, HASSH, URL, User-Agent, Content-Type,
//! StatusCode). A full report goes to `conformance-report.txt` in cargo's target tmp dir (the test prints the path).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{classify, ndpi_dir, reference_detector};

use ndpi::{Detector, FlowRecord, Protocol, ProtocolId, TrackerConfig};

/// nDPI's test script skips this capture when nDPI is built without PCRE, as ours is.
const NEEDS_PCRE: &str = "WebattackRCE.pcap";

/// One flow as the reference printed it, or as we render ours the same way.
#[derive(Debug, Clone, PartialEq, Default)]
struct Line {
    l4: String,
    a: String,
    b: String,
    vlan: u16,
    proto: String,
    c2s: (u64, u64),
    s2c: (u64, u64),
    fields: BTreeMap<&'static str, String>,
}

/// The bracketed fields compared, by the label the reader prints.
const FIELDS: [&str; 21] = [
    "Confidence",
    "cat",
    "Risk",
    "Risk Score",
    "Certificate SHA-1",
    "Hostname/SNI",
    "JA3C",
    "JA3S",
    "Issuer",
    "Subject",
    "Validity",
    "Cipher",
    "ServerNames",
    "ALPN",
    "HASSH-C",
    "HASSH-S",
    "URL",
    "User-Agent",
    "Content-Type",
    "StatusCode",
    "Server",
];

fn parse_out(text: &str) -> Vec<Line> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Line> {
    if !line.contains("[proto: ") {
        return None;
    }
    let rest = line.strip_prefix('\t')?;
    let (_, rest) = rest.split_once('\t')?;
    let (l4, rest) = rest.split_once(' ')?;
    let (a, rest) = rest.split_once(' ')?;
    let (_arrow, rest) = rest.split_once(' ')?;
    let (b, rest) = rest.split_once(' ')?;
    let mut out = Line {
        l4: l4.to_owned(),
        a: a.to_owned(),
        b: b.to_owned(),
        ..Line::default()
    };
    for part in brackets(rest) {
        if let Some(v) = part.strip_prefix("VLAN: ") {
            out.vlan = v.parse().ok()?;
        } else if let Some(p) = part.strip_prefix("proto: ") {
            // The tunnel prefix ("GTP:") is not part of the classification.
            out.proto = p.rsplit_once(':').map_or(p, |(_, p)| p).to_owned();
        } else if part.contains(" pkts/") && part.contains(" bytes") {
            let nums: Vec<u64> = part
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect();
            if nums.len() == 4 {
                out.c2s = (nums[0], nums[1]);
                out.s2c = (nums[2], nums[3]);
            }
        } else if let Some(alpn) = part.strip_prefix("ALPN: ").filter(|a| !a.is_empty()) {
            out.fields.insert("ALPN", alpn.to_owned());
        } else if let Some((label, value)) = part.split_once(": ") {
            if let Some(known) = FIELDS
                .iter()
                .find(|f| **f == label)
                .filter(|_| !value.is_empty())
            {
                let value = value
                    .trim_end_matches(" (INSECURE)")
                    .trim_end_matches(" (WEAK)");
                // "cat: Web/5": the record keeps the name.
                let value = match label {
                    "cat" => value.rsplit_once('/').map_or(value, |(name, _)| name),
                    _ => value,
                };
                out.fields.insert(known, value.to_owned());
            }
        }
    }
    // The reader prints "URL: ...][StatusCode: N" together; StatusCode 0 means none.
    if out.fields.get("StatusCode").is_some_and(|s| s == "0") {
        out.fields.remove("StatusCode");
    }
    Some(out)
}

/// Splits "[a][b: c][d]" into its bracketed parts. Values may contain '[' or ']' only in
/// ways the reader never produces for the compared fields.
fn brackets(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '[' => {
                if depth == 0 {
                    start = i + 1;
                }
                depth += 1;
            }
            ']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    parts.push(&text[start..i]);
                }
            }
            _ => {}
        }
    }
    parts
}

/// "ADDR:PORT" as the reader prints it: IPv6 in brackets, with its extra zero compression
/// (every ":0:" becomes "::", even where that makes a second "::").
fn endpoint(ip: std::net::IpAddr, port: u16) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
        std::net::IpAddr::V6(v6) => {
            let mut text = v6.to_string();
            while let Some(i) = text.find(":0:") {
                text.replace_range(i..i + 3, "::");
            }
            format!("[{text}]:{port}")
        }
    }
}

/// Renders our record the way the reference reader prints a flow.
fn render(detector: &Detector, r: &FlowRecord) -> Line {
    let protocol = Protocol {
        master: r.l7_master_proto,
        app: r.l7_proto,
        ..Protocol::default()
    };
    let mut fields = BTreeMap::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            fields.insert(k, v);
        }
    };
    put("Confidence", Some(r.confidence.name().to_owned()));
    if r.category != "Unspecified" {
        put("cat", Some(r.category.clone()));
    }
    if !r.risks.is_empty() {
        put(
            "Risk",
            Some(
                r.risks
                    .iter()
                    .map(|risk| format!("** {} **", risk.name()))
                    .collect(),
            ),
        );
        put("Risk Score", Some(r.risk_score.to_string()));
    }
    // The reader shows the SSH client signature where other flows show the host name.
    match &r.ssh {
        Some(ssh) => put("Hostname/SNI", ssh.client_signature.clone()),
        None => put("Hostname/SNI", r.host_server_name.clone()),
    }
    if let Some(ssh) = &r.ssh {
        put("HASSH-C", ssh.hassh_client.clone());
        put("HASSH-S", ssh.hassh_server.clone());
        put("Server", ssh.server_signature.clone());
    }
    if let Some(http) = &r.http {
        if http.url.is_some() {
            // The reader keeps URLs in a 256-byte buffer; we keep them whole.
            put("URL", http.url.as_ref().map(|u| truncate(u, 255)));
            put("StatusCode", http.return_code.map(|c| c.to_string()));
            put("Content-Type", http.content_type.clone());
            put("User-Agent", http.user_agent.clone());
        }
    }
    if let Some(tls) = &r.tls_quic {
        put("JA3C", tls.ja3_client.clone());
        put("JA3S", tls.ja3_server.clone());
        put("Issuer", tls.issuer_dn.clone());
        put("Subject", tls.subject_dn.clone());
        put("ServerNames", tls.server_names.clone());
        put("User-Agent", tls.user_agent.clone());
        if protocol.is(ProtocolId::TLS) {
            put("Certificate SHA-1", tls.sha1_cert_fingerprint.clone());
        }
        put("Cipher", tls.server_cipher_name.clone());
        // The reader turns the list separator ',' into ';' (its CSV-safe form).
        put("ALPN", tls.alpn.as_ref().map(|alpn| alpn.replace(',', ";")));
        if let (Some(a), Some(b)) = (tls.not_before, tls.not_after) {
            put("Validity", Some(format!("{} - {}", utc(a), utc(b))));
        }
    }
    Line {
        l4: r.tuple.l4_proto.to_string(),
        a: endpoint(r.tuple.cli_ip, r.tuple.cli_port),
        b: endpoint(r.tuple.srv_ip, r.tuple.srv_port),
        vlan: r.tuple.vlan_id,
        proto: format!(
            "{}/{}",
            detector.protocol_id_string(protocol),
            r.l7_proto_name
        ),
        c2s: (r.cli2srv_packets, r.cli2srv_bytes),
        s2c: (r.srv2cli_packets, r.srv2cli_bytes),
        fields,
    }
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// "2023-10-16 08:00:00": the reader's UTC time of Unix seconds.
fn utc(secs: u32) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.into());
    let rfc3339 = humantime::format_rfc3339_seconds(time).to_string();
    rfc3339.trim_end_matches('Z').replacen('T', " ", 1)
}

type Key = (String, u16, String, String);

fn key(line: &Line) -> Key {
    let (a, b) = if line.a <= line.b {
        (&line.a, &line.b)
    } else {
        (&line.b, &line.a)
    };
    (line.l4.clone(), line.vlan, a.clone(), b.clone())
}

#[derive(Default)]
struct Tally {
    flows: usize,
    identical: usize,
    field_total: usize,
    field_equal: usize,
    missing: usize,
    extra: usize,
}

#[test]
fn conformance_with_ndpi_expected_results() {
    let dir = ndpi_dir().join("tests/pcap");
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run vendor/fetch.sh)", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    pcaps.sort();
    assert!(pcaps.len() > 250, "nDPI 4.2 ships 256 test captures");

    let detector = reference_detector();
    let mut report = String::new();
    let mut tally = Tally::default();
    let mut pcaps_with_differences = 0;
    for pcap in &pcaps {
        let name = pcap.file_name().unwrap().to_string_lossy().into_owned();
        if name == NEEDS_PCRE {
            continue;
        }
        let expected_path = ndpi_dir().join("tests/result").join(format!("{name}.out"));
        let expected = parse_out(&String::from_utf8_lossy(
            &std::fs::read(&expected_path).unwrap(),
        ));
        let mut config = TrackerConfig::ndpi_reader_offline();
        config.decode.decode_tunnels = true;
        let (records, error) = classify(&detector, pcap, config);
        let ours: Vec<Line> = records.iter().map(|r| render(&detector, r)).collect();

        let mut by_key: HashMap<Key, Vec<&Line>> = HashMap::new();
        for line in &ours {
            by_key.entry(key(line)).or_default().push(line);
        }
        let mut notes = String::new();
        for want in &expected {
            tally.flows += 1;
            let Some(got) = by_key
                .get_mut(&key(want))
                .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
            else {
                tally.missing += 1;
                let _ = writeln!(
                    notes,
                    "  missing: {} {} {} {} {:?}/{:?}",
                    want.l4, want.a, want.b, want.proto, want.c2s, want.s2c
                );
                continue;
            };
            // Direction: the reference's client is the first packet's sender, like ours.
            let (c2s, s2c) = if got.a == want.a {
                (got.c2s, got.s2c)
            } else {
                (got.s2c, got.c2s)
            };
            let mut diffs = Vec::new();
            if got.proto != want.proto {
                diffs.push(format!("proto {} != {}", got.proto, want.proto));
            }
            if (c2s, s2c) != (want.c2s, want.s2c) {
                diffs.push(format!(
                    "counters {c2s:?}/{s2c:?} != {:?}/{:?}",
                    want.c2s, want.s2c
                ));
            }
            for field in FIELDS {
                let (g, w) = (got.fields.get(field), want.fields.get(field));
                if g.is_some() || w.is_some() {
                    tally.field_total += 1;
                    if g == w {
                        tally.field_equal += 1;
                    } else {
                        diffs.push(format!("{field}: {g:?} != {w:?}"));
                    }
                }
            }
            if diffs.is_empty() {
                tally.identical += 1;
            } else {
                let _ = writeln!(
                    notes,
                    "  {} {} {}: {}",
                    want.l4,
                    want.a,
                    want.b,
                    diffs.join("; ")
                );
            }
        }
        let extra: usize = by_key.values().map(Vec::len).sum();
        tally.extra += extra;
        if extra > 0 {
            for line in by_key.values().flatten() {
                let _ = writeln!(
                    notes,
                    "  extra: {} {} {} {}",
                    line.l4, line.a, line.b, line.proto
                );
            }
        }
        if let Some(error) = error {
            let _ = writeln!(notes, "  read error: {error}");
        }
        if !notes.is_empty() {
            pcaps_with_differences += 1;
            let _ = writeln!(report, "{name}\n{notes}");
        }
    }

    let identical_pct = 100.0 * tally.identical as f64 / tally.flows as f64;
    let field_pct = 100.0 * tally.field_equal as f64 / tally.field_total.max(1) as f64;
    let summary = format!(
        "flows: {} expected, {} identical ({identical_pct:.2}%), {} missing, {} extra; \
         metadata fields: {}/{} equal ({field_pct:.2}%); captures with differences: {pcaps_with_differences}",
        tally.flows, tally.identical, tally.missing, tally.extra, tally.field_equal, tally.field_total
    );
    let report_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-report.txt");
    std::fs::write(&report_path, format!("{summary}\n\n{report}")).unwrap();
    eprintln!("{summary}\nreport: {}", report_path.display());
    // The issue asks for 99.5%; hold the line where the suite stands (see the README for the
    // remaining differences and their reasons).
    assert!(identical_pct >= 99.9 && field_pct >= 99.95, "{summary}");
}
