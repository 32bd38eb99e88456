//! Capture files: good, damaged and not captures at all. Errors name the file (and the byte
//! offset where reading stopped); frames read before a truncation stay usable.

use std::path::{Path, PathBuf};

use ndpi::{Capture, Error, LinkType, LiveOptions, Next};

fn loopback_pcap() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/loopback.pcap")
}

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ndpi-capture-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn count_frames(capture: &mut Capture) -> Result<u64, Error> {
    let mut n = 0;
    while let Next::Frame(_) = capture.next_frame()? {
        n += 1;
    }
    Ok(n)
}

#[test]
fn the_project_capture_reads_whole() {
    let mut capture = Capture::open_file(loopback_pcap()).unwrap();
    assert_eq!(capture.link_type(), Ok(LinkType::Ethernet));
    assert_eq!(count_frames(&mut capture).unwrap(), 100);
    assert!(
        capture.stats().is_none(),
        "files have no capture statistics"
    );
}

#[test]
fn a_missing_file_is_named() {
    let err = Capture::open_file("/nonexistent/trace.pcap").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/trace.pcap"), "{err}");
}

#[test]
fn a_file_that_is_not_a_capture_is_refused_with_its_name() {
    let path = scratch("text.pcap", b"this is not a capture file, just text\n");
    let err = Capture::open_file(&path).unwrap_err();
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
}

#[test]
fn a_truncated_file_reports_name_and_offset_after_the_good_frames() {
    let whole = std::fs::read(loopback_pcap()).unwrap();
    let path = scratch("cut.pcap", &whole[..whole.len() / 2]);
    let mut capture = Capture::open_file(&path).unwrap();
    let mut good = 0;
    let err = loop {
        match capture.next_frame() {
            Ok(Next::Frame(_)) => good += 1,
            Ok(other) => panic!("expected an error, got {other:?}"),
            Err(e) => break e,
        }
    };
    assert!(good > 10, "frames before the cut are read ({good})");
    let text = err.to_string();
    assert!(
        text.contains(&*path.to_string_lossy()) && text.contains("byte offset"),
        "{text}"
    );
    assert!(text.contains(&format!("after frame {good}")), "{text}");
    // libpcap's error is kept as the cause, the step and position as data.
    let cause = std::error::Error::source(&err).expect("a cause");
    assert!(cause.downcast_ref::<pcap::Error>().is_some(), "{cause:?}");
    match &err {
        ndpi::Error::Capture {
            step: ndpi::CaptureStep::Read { frames, offset },
            ..
        } => assert_eq!((*frames, offset.is_some()), (good, true)),
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn a_bad_bpf_filter_is_an_error_naming_the_filter() {
    let mut capture = Capture::open_file(loopback_pcap()).unwrap();
    let err = capture.set_filter("port nonsense and").unwrap_err();
    assert!(err.to_string().contains("port nonsense and"), "{err}");
    capture.set_filter("udp port 53").unwrap();
    assert_eq!(
        count_frames(&mut capture).unwrap(),
        6,
        "three DNS exchanges"
    );
}

#[test]
fn a_header_claiming_a_huge_snaplen_is_handled() {
    let mut bytes = std::fs::read(loopback_pcap()).unwrap();
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes()); // snaplen field
    let path = scratch("snaplen.pcap", &bytes);
    // libpcap either accepts it (and the frames are intact) or refuses it; never a crash.
    match Capture::open_file(&path) {
        Ok(mut capture) => assert_eq!(count_frames(&mut capture).unwrap(), 100),
        Err(e) => assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}"),
    }
}

#[test]
fn the_live_snaplen_defaults_to_tcpdumps() {
    // Frames on `lo` can be up to 65,536 bytes plus the link header; 65535 would cut them.
    assert_eq!(LiveOptions::default().snaplen, 262_144);
}

#[test]
fn live_frames_come_in_kernel_blocks_by_default() {
    // Immediate mode gives each frame a snaplen-sized ring slot: with 262,144-byte frames a
    // 64 MiB buffer would hold ~250 of them (scripts/replay-bench.sh lost most of a replay).
    let options = LiveOptions::default();
    assert!(!options.immediate);
    assert_eq!(options.buffer_size, Some(64 << 20));
    assert!(LiveOptions::default().immediate(true).immediate);
}

#[test]
fn a_live_read_on_an_idle_interface_returns_at_the_timeout() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } != 0 {
        eprintln!("skipped: live capture needs root");
        return;
    }
    let options = ndpi::LiveOptions::default().read_timeout(std::time::Duration::from_millis(100));
    let mut capture = Capture::open_live("lo", &options).expect("lo opens as root");
    // A filter nothing on this machine matches keeps the interface idle for us.
    capture
        .set_filter("udp port 9 and host 203.0.113.77")
        .unwrap();
    let started = std::time::Instant::now();
    for _ in 0..3 {
        assert!(matches!(capture.next_frame().unwrap(), Next::Timeout));
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_secs(2),
        "three 100 ms reads took {elapsed:?}"
    );
    assert!(capture.stats().is_some(), "live captures have statistics");
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[test]
fn classify_file_yields_a_truncated_files_flows_then_its_error() {
    let whole = std::fs::read(loopback_pcap()).unwrap();
    let path = scratch("cut-events.pcap", &whole[..whole.len() / 2]);
    let detector = ndpi::Detector::new().unwrap();
    let config = ndpi::TrackerConfig::ndpi_reader_offline();
    let events: Vec<_> = ndpi::classify_file(&detector, &path, config)
        .unwrap()
        .collect();
    let (last, before) = events.split_last().expect("events");
    assert!(
        matches!(last, Err(Error::Capture { .. })),
        "the error comes last: {last:?}"
    );
    assert!(before.iter().all(Result::is_ok));
    let ended = before
        .iter()
        .filter(|e| matches!(e, Ok(ndpi::FlowEvent::Ended(_))))
        .count();
    assert!(ended > 0, "the flows before the cut are reported");
    // A file that cannot be opened is an error before any event.
    assert!(ndpi::classify_file(&detector, "/nonexistent.pcap", Default::default()).is_err());
}
