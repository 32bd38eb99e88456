//! Capture files: good, damaged and not captures at all. Errors name the file (and the byte
//! offset of the record at fault); frames read before a truncation stay usable. The
//! memory-mapped reader and the stream reader give the frames libpcap gives, on every nDPI
//! test capture.

mod common;

use std::path::{Path, PathBuf};

use ndpi::{Capture, Error, FileError, FileErrorKind, LinkType, LiveOptions, Next};

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
fn a_mapped_files_frames_outlive_their_read_through_its_shared_map() {
    let mut capture = Capture::open_file(loopback_pcap()).unwrap();
    let map = capture.shared_map().expect("a regular file is mapped");
    let mut places = Vec::new();
    while let Next::Frame(frame) = capture.next_frame().unwrap() {
        let range = map.range_of(frame.data).expect("the frame lies in the map");
        assert_eq!(&map[range.clone()], frame.data);
        places.push((range, frame.data.to_vec()));
    }
    drop(capture);
    assert!(places.len() > 10);
    // Read again after the capture is gone: the map keeps them.
    for (range, bytes) in &places {
        assert_eq!(&map[range.clone()], &bytes[..]);
    }
    assert_eq!(map.range_of(&places[0].1), None, "a copy is not in the map");

    let bytes = std::fs::read(loopback_pcap()).unwrap();
    let stream = Capture::from_reader("a stream", std::io::Cursor::new(bytes)).unwrap();
    assert!(stream.shared_map().is_none(), "a stream's buffer is reused");
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
    // The reader's error is kept as the cause, the step and position as data: the record at
    // fault starts where the good frames end, and runs past the end of the file.
    let cause = std::error::Error::source(&err).expect("a cause");
    let cause = cause
        .downcast_ref::<FileError>()
        .expect("the file reader's error");
    let FileErrorKind::Truncated { needed, end, .. } = cause.kind else {
        panic!("a truncation, not {cause:?}");
    };
    assert_eq!(end, (whole.len() / 2) as u64, "{cause}");
    assert!(cause.offset < end && cause.offset + needed > end, "{cause}");
    match &err {
        ndpi::Error::CaptureFile {
            step: ndpi::CaptureStep::Read { frames, offset },
            ..
        } => assert_eq!((*frames, *offset), (good, Some(cause.offset as i64))),
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
        matches!(last, Err(Error::CaptureFile { .. })),
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

/// One frame as a reader handed it out.
#[derive(Debug, Clone, PartialEq)]
struct Read {
    data: Vec<u8>,
    wire_len: u32,
    time_ms: u64,
}

/// What a reader made of a file: its link type, its frames, and the error that stopped it.
#[derive(Debug)]
struct Reading {
    link: Result<LinkType, i32>,
    frames: Vec<Read>,
    error: Option<String>,
}

/// A file through libpcap, with the time conversion `Capture` used when libpcap read files.
fn read_with_libpcap(path: &Path) -> Option<Reading> {
    let mut capture = ndpi::pcap::Capture::from_file(path).ok()?;
    let dlt = capture.get_datalink().0;
    let mut frames = Vec::new();
    let error = loop {
        match capture.next_packet() {
            Ok(packet) => {
                let ts = packet.header.ts;
                frames.push(Read {
                    data: packet.data.to_vec(),
                    wire_len: packet.header.len,
                    time_ms: (ts.tv_sec.max(0) as u64)
                        .saturating_mul(1000)
                        .saturating_add(ts.tv_usec.max(0) as u64 / 1000),
                });
            }
            Err(ndpi::pcap::Error::NoMorePackets) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    let link = LinkType::from_dlt(dlt).ok_or(dlt);
    Some(Reading {
        link,
        frames,
        error,
    })
}

/// A capture through this crate's reader; each frame's link type must be the file's.
fn read_with_ndpi(mut capture: Capture) -> Reading {
    let link = capture.link_type();
    let mut frames = Vec::new();
    let error = loop {
        match capture.next_frame() {
            Ok(Next::Frame(frame)) => {
                assert_eq!(frame.link, link.ok(), "{}", capture.name());
                frames.push(Read {
                    data: frame.data.to_vec(),
                    wire_len: frame.wire_len,
                    time_ms: frame.time_ms,
                });
            }
            Ok(_) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    Reading {
        link,
        frames,
        error,
    }
}

/// Asserts that each of `ours` (how it was read, and what) is libpcap's `reference` reading:
/// the link type, every frame, and an error where libpcap stopped on one.
fn assert_reads_alike(name: &str, ours: &[(&str, &Reading)], reference: &Reading) {
    for (how, ours) in ours {
        assert_eq!(ours.link, reference.link, "{name} ({how})");
        assert_eq!(ours.frames.len(), reference.frames.len(), "{name} ({how})");
        for (i, (a, b)) in ours.frames.iter().zip(&reference.frames).enumerate() {
            assert_eq!(a, b, "{name} ({how}): frame {i}");
        }
        assert_eq!(
            ours.error.is_some(),
            reference.error.is_some(),
            "{name} ({how}): ours {:?}, libpcap's {:?}",
            ours.error,
            reference.error
        );
    }
}

/// The flow records of frames libpcap read, through a tracker with classify's file settings.
fn flows_of(detector: &ndpi::Detector, reading: &Reading) -> Vec<ndpi::FlowRecord> {
    let mut tracker = ndpi::Tracker::new(detector, ndpi::TrackerConfig::ndpi_reader_offline());
    if let Ok(link) = reading.link {
        for read in &reading.frames {
            let frame = ndpi::Frame {
                data: &read.data,
                wire_len: read.wire_len,
                time_ms: read.time_ms,
                link: Some(link),
            };
            tracker.process(link, frame).unwrap();
        }
    }
    tracker.finish();
    let events = tracker.drain_events();
    events
        .filter_map(|e| match e {
            ndpi::FlowEvent::Ended(record) => Some(record),
            _ => None,
        })
        .collect()
}

/// Every nDPI test capture: the memory-mapped reader and the stream reader hand out exactly
/// the frames (bytes, lengths, times) libpcap does, with the same link type, and stop on an
/// error where libpcap does; the flows of the mapped file (`classify_file`, as `classify`
/// reads files) equal those of libpcap's frames.
#[test]
fn every_ndpi_capture_reads_as_libpcap_reads_it() {
    let paths = ndpi_testdata::pcaps();
    assert!(paths.len() > 250, "{} captures", paths.len());
    // One detector per reader, fed the same files in the same order: nDPI's caches evolve alike.
    let (mapped_detector, libpcap_detector) = (
        ndpi::Detector::new().unwrap(),
        ndpi::Detector::new().unwrap(),
    );
    let (mut frames, mut flows, mut damaged) = (0, 0, 0);
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy();
        let Some(reference) = read_with_libpcap(path) else {
            assert!(
                Capture::open_file(path).is_err(),
                "{name}: libpcap refuses it"
            );
            continue;
        };
        let mapped = read_with_ndpi(Capture::open_file(path).unwrap());
        let file = std::fs::File::open(path).unwrap();
        let streamed = read_with_ndpi(Capture::from_reader(name.to_string(), file).unwrap());
        assert_reads_alike(
            &name,
            &[("mapped", &mapped), ("streamed", &streamed)],
            &reference,
        );
        let streamed_error = streamed.error.map(|e| e.replacen(&*name, "", 1));
        let mapped_error = mapped
            .error
            .map(|e| e.replacen(&path.display().to_string(), "", 1));
        assert_eq!(streamed_error, mapped_error, "{name}: the same error text");
        damaged += usize::from(mapped_error.is_some());
        frames += mapped.frames.len();

        if reference.link.is_ok() {
            let config = ndpi::TrackerConfig::ndpi_reader_offline();
            let (ours, _) = common::classify(&mapped_detector, path, config);
            let theirs = flows_of(&libpcap_detector, &reference);
            assert_eq!(ours, theirs, "{name}: flows");
            flows += ours.len();
        }
    }
    eprintln!(
        "{} captures, {frames} frames, {flows} flows, {damaged} damaged",
        paths.len()
    );
    assert!(
        frames > 100_000 && flows > 5_000 && damaged > 0,
        "{frames} {flows} {damaged}"
    );
}

/// Writes `bytes` to a scratch file and checks that the mapped and the streamed reader read
/// exactly what libpcap reads: the same frames, and an error where libpcap stops on one (or
/// both refuse the file). Returns the mapped reading, if the file opened.
fn reads_as_libpcap(name: &str, bytes: &[u8]) -> Option<Reading> {
    let path = scratch(name, bytes);
    let reference = read_with_libpcap(&path);
    let mapped = Capture::open_file(&path);
    let streamed = Capture::from_reader(name, std::io::Cursor::new(bytes.to_vec()));
    let Some(reference) = reference else {
        let err = mapped.expect_err(name).to_string();
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
        assert!(streamed.is_err(), "{name}: libpcap refuses it");
        return None;
    };
    let mapped = read_with_ndpi(mapped.unwrap_or_else(|e| panic!("{name}: {e}")));
    let streamed = read_with_ndpi(streamed.unwrap());
    assert_reads_alike(
        name,
        &[("mapped", &mapped), ("streamed", &streamed)],
        &reference,
    );
    if let Some(error) = &mapped.error {
        assert!(
            error.contains(&*path.to_string_lossy()) && error.contains("byte offset"),
            "{error}"
        );
    }
    Some(mapped)
}

fn loopback_records() -> Vec<common::files::Record> {
    common::files::records_of(&std::fs::read(loopback_pcap()).unwrap())
}

#[test]
fn both_byte_orders_and_time_resolutions_read_as_libpcap_reads_them() {
    let records = loopback_records();
    for big_endian in [false, true] {
        let w = common::files::Writer { big_endian };
        for nanos in [false, true] {
            let name = format!("order-{big_endian}-nanos-{nanos}.pcap");
            let reading = reads_as_libpcap(&name, &w.pcap(&records, nanos, 1)).unwrap();
            assert_eq!(reading.frames.len(), 100, "{name}");
            assert_eq!(reading.error, None, "{name}");
            assert!(reading
                .frames
                .iter()
                .zip(&records)
                .all(|(f, r)| f.time_ms == r.time_ns / 1_000_000 && f.data == r.data));
        }
        // pcapng, one interface of nanosecond resolution.
        let mut ng = w.section();
        ng.extend(w.interface(1, 262_144, 9, 0));
        for r in &records {
            ng.extend(w.packet(0, r.time_ns, &r.data, r.wire_len));
        }
        let name = format!("order-{big_endian}.pcapng");
        let reading = reads_as_libpcap(&name, &ng).unwrap();
        assert_eq!((reading.frames.len(), reading.error), (100, None), "{name}");
    }
}

/// A pcapng file of two sections of different byte orders, with interfaces of different link
/// types (Ethernet, raw IP), time resolutions (us, ns, ms) and offsets: each frame comes with
/// its interface's link type and time, and the flows are those of the original capture.
#[test]
fn pcapng_interfaces_each_have_their_link_type_and_time_resolution() {
    let records = loopback_records();
    let (le, be) = (
        common::files::Writer { big_endian: false },
        common::files::Writer { big_endian: true },
    );
    // (linktype, units per second, offset in seconds) of each interface of each section.
    let sections = [
        (le, vec![(1u16, 6u8, 0i64), (101, 9, 1_000), (1, 3, -60)]),
        (be, vec![(101, 6, 0), (1, 9, 7)]),
    ];
    let mut file = Vec::new();
    let mut expected = Vec::new();
    for (section, (w, interfaces)) in sections.iter().enumerate() {
        file.extend(w.section());
        for &(linktype, tsresol, tsoffset) in interfaces {
            file.extend(w.interface(linktype, 0, tsresol, tsoffset));
        }
        let part = match section {
            0 => &records[..60],
            _ => &records[60..],
        };
        for (i, r) in part.iter().enumerate() {
            let id = i % interfaces.len();
            let (linktype, tsresol, tsoffset) = interfaces[id];
            let unit_ns = 10u64.pow(9 - u32::from(tsresol));
            let ts =
                (i128::from(r.time_ns) - i128::from(tsoffset) * 1_000_000_000) as u64 / unit_ns;
            // Raw IP: the same packet without its Ethernet header.
            let strip = if linktype == 101 { 14 } else { 0 };
            file.extend(w.packet(id as u32, ts, &r.data[strip..], r.wire_len - strip as u32));
            let link = match linktype {
                101 => LinkType::RawIp,
                _ => LinkType::Ethernet,
            };
            let time_ms = r.time_ns / unit_ns * unit_ns / 1_000_000;
            expected.push((link, r.data[strip..].to_vec(), time_ms));
        }
    }
    let path = scratch("interfaces.pcapng", &file);
    let captures = [
        Capture::open_file(&path).unwrap(),
        Capture::from_reader("interfaces", std::io::Cursor::new(file.clone())).unwrap(),
    ];
    for mut capture in captures {
        assert_eq!(
            capture.link_type(),
            Ok(LinkType::Ethernet),
            "the first interface's"
        );
        let mut read = Vec::new();
        while let Next::Frame(frame) = capture.next_frame().unwrap() {
            read.push((frame.link.unwrap(), frame.data.to_vec(), frame.time_ms));
        }
        assert_eq!(read, expected);
    }
    // libpcap refuses interfaces of different link types; the tracker takes them in stride.
    assert!(ndpi::pcap::Capture::from_file(&path)
        .and_then(|mut c| -> Result<(), ndpi::pcap::Error> {
            loop {
                c.next_packet()?;
            }
        })
        .is_err_and(|e| e
            .to_string()
            .contains("different from the type of the first")));
    let detector = ndpi::Detector::new().unwrap();
    let config = ndpi::TrackerConfig::ndpi_reader_offline();
    let without_bytes = |mut records: Vec<ndpi::FlowRecord>| {
        for r in &mut records {
            (r.cli2srv_bytes, r.srv2cli_bytes) = (0, 0);
        }
        records
    };
    let (ours, error) = common::classify(&detector, &path, config.clone());
    assert_eq!(error, None);
    let (original, _) = common::classify(&detector, &loopback_pcap(), config);
    assert_eq!(ours.len(), 9);
    assert_eq!(without_bytes(ours), without_bytes(original));
}

#[test]
fn a_simple_packet_block_has_the_first_interfaces_link_offset_and_snapshot() {
    let record = &loopback_records()[0];
    for big_endian in [false, true] {
        let w = common::files::Writer { big_endian };
        let mut ng = w.section();
        ng.extend(w.interface(1, 64, 6, 5));
        ng.extend(w.simple_packet(&record.data, record.wire_len));
        let name = format!("spb-{big_endian}.pcapng");
        let reading = reads_as_libpcap(&name, &ng).unwrap();
        assert_eq!(reading.frames.len(), 1);
        let frame = &reading.frames[0];
        assert_eq!(frame.data, record.data[..64], "cut to the snapshot length");
        assert_eq!((frame.wire_len, frame.time_ms), (record.wire_len, 5000));
    }
}

/// Cut anywhere, a capture reads as libpcap reads it: the frames before the cut, then an error
/// naming the file and the offset (or a clean end, when the cut falls between records).
#[test]
fn truncated_anywhere_reads_as_libpcap_reads_it() {
    let whole = std::fs::read(loopback_pcap()).unwrap();
    let w = common::files::Writer { big_endian: false };
    let mut ng = w.section();
    ng.extend(w.interface(1, 0, 9, 0));
    for r in &loopback_records() {
        ng.extend(w.packet(0, r.time_ns, &r.data, r.wire_len));
    }
    for (name, bytes) in [("cut.pcap", &whole), ("cut.pcapng", &ng)] {
        let (mut errors, mut refused) = (0, 0);
        for cut in (0..bytes.len()).step_by(89) {
            match reads_as_libpcap(name, &bytes[..cut]) {
                Some(reading) => errors += usize::from(reading.error.is_some()),
                None => refused += 1,
            }
        }
        assert!(
            errors > 150 && refused > 0,
            "{name}: {errors} errors, {refused} refused"
        );
    }
}

#[test]
fn a_captured_length_above_the_maximum_is_an_error_naming_file_and_offset() {
    let mut bytes = std::fs::read(loopback_pcap()).unwrap();
    // The second record's captured length: the first record is 24 + 16 + its length in.
    let first = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
    let second = 24 + 16 + first;
    bytes[second + 8..second + 12].copy_from_slice(&300_000u32.to_le_bytes());
    let reading = reads_as_libpcap("huge-caplen.pcap", &bytes).unwrap();
    assert_eq!(reading.frames.len(), 1);
    let error = reading.error.unwrap();
    assert!(
        error.contains("invalid captured length 300000")
            && error.contains(&format!("byte offset {second}")),
        "{error}"
    );
}

#[test]
fn an_empty_file_is_refused_with_its_name() {
    let path = scratch("empty.pcap", b"");
    let err = Capture::open_file(&path).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&*path.to_string_lossy()) && text.contains("empty file"),
        "{text}"
    );
    assert!(matches!(
        err,
        Error::CaptureFile {
            source: FileError {
                kind: FileErrorKind::Empty,
                ..
            },
            ..
        }
    ));
    assert!(Capture::from_reader("nothing", std::io::empty()).is_err());
}

/// A filter on a file keeps the frames libpcap keeps with the same filter, on real captures
/// (VLAN, IPv6, tunnels) and filters that look at the wire length.
#[test]
fn filters_on_files_keep_what_libpcap_keeps() {
    let captures = [
        "quic-33.pcapng",
        "mongodb.pcap",
        "ipv6_in_gtp.pcap",
        "http_ipv6.pcap",
        "ssh.pcap",
    ];
    let filters = [
        "udp",
        "tcp port 22",
        "vlan and udp",
        "ip6",
        "greater 1000",
        "not ip",
    ];
    let mut kept = 0;
    for name in captures {
        // nDPI 4.2's captures, whatever release is linked: the traffic, not the classification,
        // matters here.
        let path = ndpi_testdata::traffic(name);
        for expr in filters {
            let mut reference = ndpi::pcap::Capture::from_file(&path).unwrap();
            reference.filter(expr, true).unwrap();
            let mut theirs = Vec::new();
            while let Ok(packet) = reference.next_packet() {
                theirs.push(packet.data.to_vec());
            }
            let mut capture = Capture::open_file(&path).unwrap();
            capture.set_filter(expr).unwrap();
            let mut ours = Vec::new();
            while let Next::Frame(frame) = capture.next_frame().unwrap() {
                ours.push(frame.data.to_vec());
            }
            assert_eq!(ours, theirs, "{name} with {expr:?}");
            kept += ours.len();
        }
    }
    assert!(kept > 1000, "{kept}");
}

/// The process's resident file-backed memory, in KiB (Linux).
fn rss_file_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("RssFile:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A mapped file's pages are handed back as they are read: reading 96 MiB leaves a window of
/// it resident, not the whole file (pages mapped count in the resident memory until unmapped).
/// A lease keeps the pages from its offset on until it is dropped.
#[test]
fn a_large_file_stays_resident_only_around_the_reader_and_its_leases() {
    let records = loopback_records();
    let copies: Vec<_> = std::iter::repeat_n(&records, 96 * 1024 * 1024 / 20_000 + 1)
        .flatten()
        .cloned()
        .collect();
    let bytes = common::files::Writer { big_endian: false }.pcap(&copies, false, 1);
    assert!(bytes.len() > 96 << 20);
    let path = scratch("large.pcap", &bytes);
    drop(bytes);
    // Reads the file, touching every frame as a decoder would; with `lease_at`, leases the
    // map from that frame on. Returns the most of the file seen resident, and what stays
    // resident once the lease is dropped and the reader has moved on.
    let read = |lease_at: Option<usize>| {
        let before = rss_file_kib();
        let mut capture = Capture::open_file(&path).unwrap();
        let map = capture.shared_map().unwrap();
        let (mut frames, mut peak, mut lease) = (0, 0, None);
        while let Next::Frame(frame) = capture.next_frame().unwrap() {
            assert!(!frame.data.is_empty());
            if lease_at == Some(frames) {
                lease = Some(map.lease(map.range_of(frame.data).unwrap().start));
            }
            frames += 1;
            if frames % 10_000 == 0 {
                peak = peak.max(rss_file_kib());
            }
        }
        assert_eq!(frames, copies.len());
        drop(lease);
        assert!(matches!(capture.next_frame().unwrap(), Next::End));
        let after = rss_file_kib().saturating_sub(before);
        (peak.saturating_sub(before), after)
    };
    let (grown, _) = read(None);
    assert!(grown < 40 << 10, "{grown} KiB of the file stayed resident");
    let (grown, after) = read(Some(copies.len() / 3));
    assert!(
        grown > 56 << 10,
        "{grown} KiB resident: the lease did not hold its pages"
    );
    assert!(
        after < 16 << 10,
        "{after} KiB still resident after the lease was dropped"
    );
    std::fs::remove_file(&path).unwrap();
}

/// A path that is not a regular file (a named pipe here; `/dev/stdin` and process
/// substitutions alike) cannot be mapped: it is read as a stream, with the same frames.
#[test]
fn a_named_pipe_is_read_as_a_stream() {
    let fifo = std::env::temp_dir().join(format!("ndpi-capture-{}-fifo", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let bytes = std::fs::read(loopback_pcap()).unwrap();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, bytes))
    };
    let reading = read_with_ndpi(Capture::open_file(&fifo).unwrap());
    writer.join().unwrap().unwrap();
    std::fs::remove_file(&fifo).unwrap();
    let reference = read_with_libpcap(&loopback_pcap()).unwrap();
    assert_reads_alike("fifo", &[("streamed", &reading)], &reference);
    assert_eq!(reading.frames.len(), 100);
}
