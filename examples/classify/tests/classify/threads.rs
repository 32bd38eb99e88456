//! `--threads N` reports the same flow records and alerts as one thread, as sets, on nDPI's
//! test captures: a diverse handful one by one, and all of its Ethernet captures merged into
//! one (where flows of different captures meet in nDPI's caches).

use std::collections::BTreeSet;

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

fn assert_same(pcap: &std::path::Path, threads: u32) -> usize {
    let one = lines(pcap, 1);
    let many = lines(pcap, threads);
    if one != many {
        let (a, b): (BTreeSet<_>, BTreeSet<_>) = (one.iter().collect(), many.iter().collect());
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
            assert!(assert_same(&pcap, threads) > 0, "{name}: no flows");
        }
    }
}

#[test]
fn threads_match_one_thread_on_merged_captures() {
    assert!(
        assert_same(merged_captures(), 2) > 5000,
        "the merged capture has thousands of flows"
    );
}
