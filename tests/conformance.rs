//! The conformance suite: the tracker over every test capture of the linked nDPI release, flow
//! by flow against nDPI's own expected results, run the way nDPI's `tests/do.sh` runs its reader
//! (`ndpi_testdata`: 4.2's `tests/pcap` and `tests/result`; 4.10's `tests/cfgs/default`, with
//! its lists and configuration file), tunnel decoding on, files read to the end.
//!
//! Compared per flow: the tuple (unordered), protocol "M.A/name", packets and bytes per
//! direction, and the metadata fields the reader prints (see [`FIELDS`]: confidence, category,
//! risks and their score, Hostname/SNI, JA3C, JA3S, Issuer, Subject, Validity, Cipher,
//! ServerNames, ALPN, HASSH, URL, User-Agent, Content-Type, StatusCode, Server; 4.10 adds JA4,
//! the negotiated ALPN, the protocol by IP and the risk texts). A full report goes to
//! `conformance-report.txt` in cargo's target tmp dir (the test prints the path).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{classify, reference_detector};

use ndpi::{Detector, FlowRecord, Protocol, ProtocolId, TrackerConfig};

/// nDPI 4.2's test script skips this capture when nDPI is built without PCRE (libpcre3), as
/// ours is; 4.10 uses PCRE2, which ours links.
const NEEDS_PCRE: &str = "WebattackRCE.pcap";

/// nDPI 4.10's test script skips this capture when its reader is built without PF_RING's
/// nBPF (its expected result shows nBPF's classification).
const NEEDS_NBPF: &str = "h323-overflow.pcap";

fn is_4_2() -> bool {
    ndpi_testdata::release() == "4.2"
}

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
const FIELDS: [&str; 28] = [
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
    "JA4",
    "(Advertised) ALPNs",
    "(Negotiated) ALPN",
    "IP",
    "Risk Info",
    "QUIC ver",
    "Filename",
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
        let part = part.as_str();
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
            // "Filename: " is HTTP's Content-Disposition; TFTP's file name is printed alike.
            let tftp = label == "Filename" && !out.proto.contains("HTTP");
            if let Some(known) = FIELDS
                .iter()
                .find(|f| **f == label)
                .filter(|_| !value.is_empty() && !tftp)
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

/// Splits "[a][b: c][d]" into its bracketed parts. A part ends at a "][" (or the last ']'):
/// values may contain brackets (4.10 prints request headers such as "Req Content-Type:
/// %{#context['...']}"), and "][" only where a User-Agent carries "[KEY=value]" tags, which
/// are joined back to their value.
fn brackets(text: &str) -> Vec<String> {
    let Some(start) = text.find('[') else {
        return Vec::new();
    };
    let body = text[start + 1..].trim_end();
    let body = body.strip_suffix(']').unwrap_or(body);
    let mut parts: Vec<String> = Vec::new();
    for part in body.split("][") {
        let tag = part
            .split_once('=')
            .is_some_and(|(key, _)| !key.is_empty() && key.chars().all(|c| c.is_ascii_uppercase()));
        match parts.last_mut() {
            Some(last) if tag => {
                last.push_str("][");
                last.push_str(part);
            }
            _ => parts.push(part.to_owned()),
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
        put("cat", Some(r.category.to_string()));
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
        // The reader writes the risk texts into 126 bytes of a 128-byte buffer.
        put(
            "Risk Info",
            r.risk_info.as_ref().map(|info| truncate(info, 126)),
        );
    }
    if let Some(id) = r.l7_proto_by_ip {
        let name = detector.protocol_id_name(id).unwrap_or("Unknown");
        put("IP", Some(format!("{}/{name}", id.0)));
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
        // 4.2's reader prints the HTTP fields only with a URL, 4.10's each on its own.
        if http.url.is_some() || !is_4_2() {
            // The reader keeps URLs in a 256-byte buffer; we keep them whole.
            put("URL", http.url.as_ref().map(|u| truncate(u, 255)));
            put("StatusCode", http.return_code.map(|c| c.to_string()));
            put("Content-Type", http.content_type.clone());
            put(
                "User-Agent",
                http.user_agent.as_ref().map(|u| truncate(u, 255)),
            );
            put("Server", http.server.clone());
            put("Filename", http.filename.clone());
        }
    }
    if let Some(tls) = &r.tls_quic {
        put("JA3C", tls.ja3_client.clone());
        put("JA4", tls.ja4_client.clone());
        put("QUIC ver", tls.quic_version_name.clone());
        put("JA3S", tls.ja3_server.clone());
        put("Issuer", tls.issuer_dn.clone());
        put("Subject", tls.subject_dn.clone());
        put("ServerNames", tls.server_names.clone());
        put("User-Agent", tls.user_agent.clone());
        // 4.2 keeps the fingerprint only for TCP (and its reader prints it only for TLS).
        if protocol.is(ProtocolId::TLS) || !is_4_2() {
            put("Certificate SHA-1", tls.sha1_cert_fingerprint.clone());
        }
        put("Cipher", tls.server_cipher_name.clone());
        // The reader turns the list separator ',' into ';' (its CSV-safe form).
        let csv = |list: &Option<String>| list.as_ref().map(|l| l.replace(',', ";"));
        let advertised = if is_4_2() {
            "ALPN"
        } else {
            "(Advertised) ALPNs"
        };
        put(advertised, csv(&tls.alpn));
        put("(Negotiated) ALPN", csv(&tls.negotiated_alpn));
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
    let pcaps: Vec<PathBuf> = ndpi_testdata::pcaps()
        .into_iter()
        .filter(|p| {
            ndpi_testdata::result_dir()
                .join(format!("{}.out", p.file_name().unwrap().display()))
                .is_file()
        })
        .collect();
    // 4.10's copy lacks WebattackXSS.pcap (see ../shared/ndpi/README.md).
    let shipped = if is_4_2() { 256 } else { 520 };
    assert!(pcaps.len() >= shipped, "nDPI ships {shipped} test captures");

    let mut report = String::new();
    let mut tally = Tally::default();
    let mut pcaps_with_differences = 0;
    for pcap in &pcaps {
        let name = pcap.file_name().unwrap().to_string_lossy().into_owned();
        if (name == NEEDS_PCRE && is_4_2()) || (name == NEEDS_NBPF && !is_4_2()) {
            continue;
        }
        let expected_path = ndpi_testdata::result_dir().join(format!("{name}.out"));
        let expected = parse_out(&String::from_utf8_lossy(
            &std::fs::read(&expected_path).unwrap(),
        ));
        let mut config = TrackerConfig::ndpi_reader_offline();
        config.decode.decode_tunnels = true;
        // A module per capture, as the reader runs once per capture: nDPI's caches (4.10's
        // BitTorrent cache never expires with the suite's configuration) must not carry over.
        let detector = reference_detector();
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
    // The issues ask for 99.5%; hold the line where each release's suite stands (see the
    // README for the remaining differences and their reasons).
    let (flows_floor, fields_floor) = if is_4_2() {
        (99.9, 99.95)
    } else {
        (99.8, 99.95)
    };
    assert!(
        identical_pct >= flows_floor && field_pct >= fields_floor,
        "{summary}"
    );
}
