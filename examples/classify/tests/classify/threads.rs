//! `--threads N` reports the same flow records and alerts as one thread, as sets, on nDPI's
//! test captures: a diverse handful one by one, and nDPI 4.2's Ethernet captures merged into
//! one (where flows of different captures meet in nDPI's caches).
//!
//! Except for the classification of a few flows that nDPI classifies from its caches: some
//! caches are keyed by one address (4.10's Ookla cache by the client's; STUN's by an address
//! and port that several host pairs use), so they link flows of different host pairs, which
//! the workers' shards separate. classify's workers share the caches (nDPI 4.10's global
//! context), so an entry one worker made is found by another, but only if it was made first:
//! which flows differ then depends on the workers' timing (3 to 10 of the merged capture's 7,067
//! flows here, and up to 2 of teams.pcap's 3 Teams flows). nDPI 4.2's caches are per module:
//! 2 to 5 flows differ. Such a flow may differ only in its application protocol: the caches
//! name the application on top of a master protocol that the flow's own packets decide.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{
    classify, merged_captures, ndpi_pcap, only_classification_differs, stderr, tuple,
};

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

/// Runs `pcap` with one and with `threads` threads; returns the lines of one run. The runs
/// must agree, but for the classification of at most `cache_linked` flows (and the alerts on
/// those), each reported.
fn assert_same(pcap: &std::path::Path, threads: u32, cache_linked: usize) -> usize {
    let one = lines(pcap, 1);
    let many = lines(pcap, threads);
    if one == many {
        return one.len();
    }
    let parse = |lines: &[String]| -> Vec<Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (a, b) = (parse(&one), parse(&many));
    let differing = only_classification_differs(&a, &b);
    let alerts = |lines: &[Value], skip: &[String]| -> Vec<String> {
        let mut alerts: Vec<String> = lines
            .iter()
            .filter(|l| l["type"] == "alert")
            .filter(|l| !skip.iter().any(|flow| flow.starts_with(&tuple(l))))
            .map(Value::to_string)
            .collect();
        alerts.sort();
        alerts
    };
    match &differing {
        Some(flows) if flows.len() <= cache_linked && alerts(&a, flows) == alerts(&b, flows) => {
            eprintln!(
                "{} with {threads} threads: classified otherwise: {flows:#?}",
                pcap.display()
            );
            one.len()
        }
        _ => {
            let (x, y): (BTreeSet<_>, BTreeSet<_>) = (one.iter().collect(), many.iter().collect());
            panic!(
                "{} with {threads} threads: {} lines vs {}\nonly with 1 thread: {:#?}\nonly with {threads}: {:#?}",
                pcap.display(),
                one.len(),
                many.len(),
                x.difference(&y).collect::<Vec<_>>(),
                y.difference(&x).collect::<Vec<_>>()
            )
        }
    }
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
            assert!(assert_same(&pcap, threads, 3) > 0, "{name}: no flows");
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
