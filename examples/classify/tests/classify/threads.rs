//! `--threads N` reports the same flow records and alerts as one thread, as sets, on nDPI's
//! test captures: a diverse handful one by one, and nDPI 4.2's Ethernet captures merged into
//! one (where flows of different captures meet in nDPI's caches).
//!
//! Except for flows nDPI classified from its caches ("DPI (cache)", "DPI (partial cache)"):
//! some caches are keyed by one address (4.10's Ookla cache by the client's, STUN's by a relay
//! port), so they link flows of different host pairs, which the workers' shards separate.
//! classify's workers share the caches (nDPI 4.10's global context), so an entry one worker
//! made is found by another, but only if it was made first: which flows differ then depends on
//! the workers' timing (a handful of the merged capture's 7,000 flows). With nDPI 4.2, whose
//! caches are per module, the same flows differ in every run.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{classify, merged_captures, ndpi_pcap, stderr};

/// The JSON lines (flows and alerts) of one run, sorted.
fn lines(pcap: &std::path::Path, threads: u32) -> Vec<String> {
    let threads = threads.to_string();
    let output = classify([
        "-r".as_ref(),
        pcap.as_os_str(),
        "--json".as_ref(),
        "-".as_ref(),
        "--checks".as_ref(),
        "examples/checks".as_ref(),
        "--threads".as_ref(),
        threads.as_ref(),
    ]);
    assert!(
        output.status.success(),
        "{}: {}",
        pcap.display(),
        stderr(&output)
    );
    let mut lines: Vec<String> = String::from_utf8(output.stdout)
        .expect("UTF-8 JSON")
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// The flow a JSON line (a flow, or an alert on one) is about: its tuple, as text.
fn flow_of(line: &str) -> String {
    let v: Value = serde_json::from_str(line).expect("JSON");
    ["cli_ip", "cli_port", "srv_ip", "srv_port", "vlan_id"]
        .map(|k| v[k].to_string())
        .join(" ")
}

/// Runs `pcap` with one and with `threads` threads; returns the lines of one run. The runs
/// must agree but for flows classified from nDPI's caches (with either thread count): at most
/// `cache_linked` of them, each reported with all its lines.
fn assert_same(pcap: &std::path::Path, threads: u32, cache_linked: usize) -> usize {
    let one = lines(pcap, 1);
    let many = lines(pcap, threads);
    let (a, b): (BTreeSet<_>, BTreeSet<_>) = (one.iter().collect(), many.iter().collect());
    let differing: Vec<&&String> = a.symmetric_difference(&b).collect();
    let flows: BTreeSet<_> = differing.iter().map(|l| flow_of(l)).collect();
    let by_cache = |l: &&&String| {
        let v: Value = serde_json::from_str(l).unwrap();
        v["type"] != "flow"
            || v["confidence"]
                .as_str()
                .is_some_and(|c| c.contains("cache"))
    };
    // Every differing flow has a cache-classified line in one run or the other.
    let explained: BTreeSet<_> = differing
        .iter()
        .filter(|l| by_cache(l) && serde_json::from_str::<Value>(l).unwrap()["type"] == "flow")
        .map(|l| flow_of(l))
        .collect();
    if flows != explained || flows.len() > cache_linked {
        panic!(
            "{} with {threads} threads: {} lines vs {}\nonly with 1 thread: {:#?}\nonly with {threads}: {:#?}",
            pcap.display(),
            one.len(),
            many.len(),
            a.difference(&b).collect::<Vec<_>>(),
            b.difference(&a).collect::<Vec<_>>()
        );
    }
    one.len()
}

#[test]
fn threads_match_one_thread_on_ndpi_captures() {
    // Caches (Ookla, Zoom, BitTorrent, STUN/WhatsApp, Teams), QUIC in pcapng, IPv6, PPP, VLAN.
    for name in [
        "ookla.pcap",
        "zoom2.pcap",
        "bittorrent.pcap",
        "whatsapp_voice_and_message.pcap",
        "teams.pcap",
        "tor.pcap",
        "netflix.pcap",
        "quic-33.pcapng",
        "http_ipv6.pcap",
        "dlt_ppp.pcap",
        "cpha.pcap",
    ] {
        let pcap = ndpi_pcap(name);
        for threads in [2, 3] {
            assert!(assert_same(&pcap, threads, 1) > 0, "{name}: no flows");
        }
    }
}

#[test]
fn threads_match_one_thread_on_merged_captures() {
    assert!(
        assert_same(merged_captures(), 2, 10) > 5000,
        "the merged capture has thousands of flows"
    );
}
