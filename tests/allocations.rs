//! nDPI allocates through Rust's global allocator once `use_rust_allocator` was called, and the
//! tracker's hot path allocates nothing: a flow's packets, once it is warmed up (in detection or
//! classified), cost no allocation at all, neither ours nor nDPI's.
//!
//! Alone in its test binary: it installs a counting global allocator, and nDPI's hooks, which
//! are process-wide. Allocations are counted per thread, so the tests may run side by side.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::Ipv4Addr;

use common::frames::{tcp, udp};
use ndpi::{Detector, FlowEvent, Frame, LinkType, NdpiAllocator, Tracker, TrackerConfig};

/// The system allocator, counting the allocations of each thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread's allocations while its locals are being destroyed are not counted.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded to the system allocator unchanged; counting does not
// allocate (a const-initialized thread local of a Cell).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations made by this thread so far.
fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// The hooks go in before any test makes a module (each test calls this first; the first
/// call installs them, the others find them).
fn rust_allocator() {
    ndpi::use_rust_allocator().expect("no module was made before");
    assert_eq!(ndpi::ndpi_allocator(), Some(NdpiAllocator::Rust));
}

#[test]
fn ndpi_allocates_through_the_rust_allocator() {
    rust_allocator();
    let before = allocations();
    // nDPI's example files: with 4.2, a protocols file whose trusted_issuer_dn rule nDPI
    // copies with libc's strdup (such a module is not exited when dropped).
    let detector = ndpi_testdata::reference_detector();
    let made = allocations() - before;
    assert!(
        made > 1000,
        "a module's automata and tables come from Rust's allocator: {made} allocations"
    );
    let (records, error) = common::classify(
        &detector,
        &common::pcap("tls_verylong_certificate.pcap"),
        TrackerConfig::ndpi_reader_offline(),
    );
    assert_eq!(error, None);
    assert!(records.iter().any(|r| r.tls_quic.is_some()), "{records:?}");
    drop(detector);
    // Again: harmless once installed.
    ndpi::use_rust_allocator().unwrap();
}

type Endpoint = (Ipv4Addr, u16);

/// Frames of one bidirectional flow: `n` packets alternating client and server.
fn exchange(
    client: Endpoint,
    server: Endpoint,
    make: impl Fn(Endpoint, Endpoint, bool) -> Vec<u8>,
    n: usize,
) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| match i % 2 {
            0 => make(client, server, true),
            _ => make(server, client, false),
        })
        .collect()
}

/// Feeds `warm_up` frames, then counts the allocations of feeding `frames`. Returns them and
/// the flows classified during the warm-up.
fn allocations_after_warm_up(
    tracker: &mut Tracker<'_>,
    warm_up: &[Vec<u8>],
    frames: &[Vec<u8>],
    time_ms: &mut u64,
) -> (u64, Vec<String>) {
    let mut feed = |tracker: &mut Tracker<'_>, frame: &Vec<u8>| {
        *time_ms += 1;
        tracker
            .process(LinkType::Ethernet, Frame::new(frame, *time_ms))
            .unwrap();
    };
    for frame in warm_up {
        feed(tracker, frame);
    }
    let classified = tracker
        .drain_events()
        .filter_map(|event| match event {
            FlowEvent::Classified(record) => Some(record.l7_proto_name.to_string()),
            _ => None,
        })
        .collect();
    let before = allocations();
    for frame in frames {
        feed(tracker, frame);
    }
    (allocations() - before, classified)
}

#[test]
fn a_warmed_up_flow_allocates_nothing_per_packet() {
    rust_allocator();
    let detector = Detector::new().unwrap();
    // Flows stay in detection for as long as the test sends (below: but one).
    let config = TrackerConfig::default()
        .max_udp_packets(1000)
        .max_tcp_packets(1000);
    let mut tracker = Tracker::new(&detector, config);
    let mut time_ms = 1_700_000_000_000;

    // UDP of no protocol nDPI knows: in detection all along.
    let (a, b) = (
        (Ipv4Addr::new(10, 0, 0, 1), 40000),
        (Ipv4Addr::new(10, 0, 0, 2), 40001),
    );
    let noise = |src, dst, _| udp(src, dst, &[0x5a; 120]);
    let in_detection = allocations_after_warm_up(
        &mut tracker,
        &exchange(a, b, noise, 8),
        &exchange(a, b, noise, 200),
        &mut time_ms,
    );
    assert_eq!(tracker.active_flows(), 1);
    assert_eq!(in_detection, (0, vec![]), "a UDP flow in detection");

    // TCP in detection: the handshake, then payload of no protocol nDPI knows.
    let (c, d) = (
        (Ipv4Addr::new(10, 0, 0, 3), 50000),
        (Ipv4Addr::new(10, 0, 0, 4), 50001),
    );
    let mut warm_up = vec![tcp(c, d, 0x02, &[]), tcp(d, c, 0x12, &[])];
    let data = |src, dst, _| tcp(src, dst, 0x18, &[0xa5; 200]);
    warm_up.extend(exchange(c, d, data, 8));
    let tcp_in_detection = allocations_after_warm_up(
        &mut tracker,
        &warm_up,
        &exchange(c, d, data, 200),
        &mut time_ms,
    );
    assert_eq!(tracker.active_flows(), 2);
    assert_eq!(tcp_in_detection, (0, vec![]), "a TCP flow in detection");

    // A classified flow: a DNS query and its answer, then more of the same.
    let query: &[u8] =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01";
    let dns = |src, dst, to_server: bool| {
        let mut payload = query.to_vec();
        if !to_server {
            payload[2..4].copy_from_slice(&[0x81, 0x80]);
        }
        udp(src, dst, &payload)
    };
    let (e, f) = (
        (Ipv4Addr::new(10, 0, 0, 5), 40053),
        (Ipv4Addr::new(10, 0, 0, 6), 53),
    );
    // Classified by the end of the warm-up: detected, or at the latest given up after the
    // default 24 UDP packets (nDPI 4.2 keeps looking at these DNS messages).
    let mut classifying = Tracker::new(&detector, TrackerConfig::default());
    let classified = allocations_after_warm_up(
        &mut classifying,
        &exchange(e, f, dns, 40),
        &exchange(e, f, dns, 200),
        &mut time_ms,
    );
    assert_eq!(classified, (0, vec!["DNS".to_owned()]), "a classified flow");
    classifying.finish();
    let dns_record = classifying
        .drain_events()
        .find_map(|e| match e {
            FlowEvent::Ended(r) => Some(r),
            _ => None,
        })
        .expect("the DNS flow");
    assert_eq!(dns_record.l7_proto_name, "DNS");
}
