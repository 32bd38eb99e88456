//! The safe wrapper on real traffic: one flow at a time from nDPI's test captures, fed
//! through `Flow` directly (no tracker), plus lookups, errors and thread independence.

mod common;

use std::path::Path;

use common::{classify, pcap, reference_detector};
use ndpi::{
    decode, Capture, DecodeOptions, Detector, Error, Flow, Next, ProtocolId, Risk, TrackerConfig,
};

/// Feeds every decodable packet of a single-flow capture to one `Flow`, as a caller without
/// a tracker would, stopping when detection is done.
fn single_flow<'d>(detector: &'d Detector, name: &str) -> Flow<'d> {
    let mut capture = Capture::open_file(pcap(name)).expect("capture opens");
    let link = capture.link_type().expect("supported link type");
    let mut flow = Flow::new(detector).expect("flow allocates");
    while let Next::Frame(frame) = capture.next_frame().expect("capture reads") {
        let Ok(packet) = decode(link, frame.data, DecodeOptions::default()) else {
            continue;
        };
        flow.process(packet.l3, frame.time_ms);
        if flow.is_detection_done() {
            break;
        }
    }
    flow
}

#[test]
fn dns_flow_has_dns_metadata_and_nothing_else() {
    let detector = Detector::new().unwrap();
    let flow = single_flow(&detector, "dns_long_domainname.pcap");
    assert!(flow.protocol().is(ProtocolId::DNS), "{:?}", flow.protocol());
    let dns = flow.dns().expect("DNS metadata");
    let query = dns.query.expect("query name").to_string();
    assert!(query.starts_with("gmr02c."), "{query}");
    assert_eq!(dns.query_type, 1, "A query");
    // The union holds DNS state: every other reader must refuse, not reinterpret it.
    assert_eq!(flow.tls_quic(), None);
    assert_eq!(flow.ssh(), None);
    assert_eq!(flow.http(), None);
}

#[test]
fn tls_flow_reads_sni_certificate_and_fingerprints() {
    let detector = Detector::new().unwrap();
    let flow = single_flow(&detector, "tls_verylong_certificate.pcap");
    assert!(flow.is_detection_done());
    let tls = flow.tls_quic().expect("TLS metadata");
    assert_eq!(tls.sni.unwrap(), "feodotracker.abuse.ch");
    assert_eq!(tls.ja3_client.unwrap(), "2a26b1a62e40d25d4de3babc9d532f30");
    assert_eq!(tls.ja3_server.unwrap(), "ae53107a2e47ea20c72ac44821a728bf");
    assert_eq!(
        tls.issuer_dn.unwrap(),
        "C=BE, O=GlobalSign nv-sa, CN=GlobalSign CloudSSL CA - SHA256 - G3"
    );
    assert_eq!(
        tls.server_cipher_name().as_deref(),
        Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    );
    assert_eq!(tls.version_name().as_deref(), Some("TLSv1.2"));
    assert_eq!(tls.alpn.unwrap(), "http/1.1");
    assert_eq!(tls.cert_sha1.unwrap()[..3], [0xE9, 0x34, 0xDF]);
    assert!(tls.server_names.unwrap().to_string().contains("*.abuse.ch"));
    assert!(tls.not_before.unwrap() < tls.not_after.unwrap());
    // What 4.10 adds, with the values of its expected results for this capture; 4.2: none.
    if Detector::release() == "4.2" {
        assert_eq!((tls.ja4_client, tls.negotiated_alpn), (None, None));
    } else {
        assert_eq!(
            tls.ja4_client.unwrap(),
            "t12d6707ht_2955a3196ffa_c83f907a73d3"
        );
        assert_eq!(tls.negotiated_alpn.unwrap(), "http/1.1");
    }
    assert_eq!(flow.dns(), None);
    assert_eq!(flow.ssh(), None);
}

#[test]
fn risks_have_names_scores_and_texts() {
    let all: Vec<Risk> = Risk::all().collect();
    let expected = if Detector::release() == "4.2" { 41 } else { 55 };
    assert_eq!(all.len(), expected);
    for risk in &all {
        assert!(!risk.name().is_empty(), "{risk:?}");
        assert!(risk.score() > 0, "{risk:?} {}", risk.name());
    }
    // An SSH session with obsolete ciphers: 4.10 says which ("Found cipher arcfour128"), 4.2
    // does not.
    let detector = Detector::new().unwrap();
    let (records, _) = classify(
        &detector,
        &pcap("ssh.pcap"),
        TrackerConfig::ndpi_reader_offline(),
    );
    let with_risks: Vec<_> = records.iter().filter(|r| !r.risks.is_empty()).collect();
    assert!(!with_risks.is_empty());
    for record in with_risks {
        assert_eq!(record.risk_score, record.risks.score());
        assert_eq!(
            record.risk_info.is_some(),
            Detector::release() != "4.2",
            "{record:?}"
        );
    }
}

#[test]
fn settings_and_lists_are_4_10s_and_refused_clearly_by_4_2() {
    if Detector::release() == "4.2" {
        let error = Detector::builder()
            .set(Some("tls"), "metadata.ja4c_fingerprint", "0")
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("tls.metadata.ja4c_fingerprint=0"), "{error}");
        assert!(error.contains("no configuration API"), "{error}");
        let dir = ndpi_testdata::source().join("example");
        let error = Detector::builder()
            .categories_dir(&dir)
            .build()
            .unwrap_err();
        assert!(
            error.to_string().contains("cannot load a directory"),
            "{error}"
        );
    } else {
        Detector::builder()
            .set(Some("tls"), "metadata.ja4c_fingerprint", "0")
            .categories_dir(ndpi_testdata::source().join("lists"))
            .build()
            .expect("4.10 knows the setting and loads its lists");
        let error = Detector::builder()
            .set(None, "no.such.setting", "1")
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, Error::Config { param, .. } if param == "no.such.setting"),
            "{error}"
        );
        assert!(error.to_string().contains("no such setting"), "{error}");
        let missing = Detector::builder()
            .categories_dir("/no/such/dir")
            .build()
            .unwrap_err();
        assert!(missing.to_string().contains("/no/such/dir"), "{missing}");
    }
}

#[test]
fn ssh_flow_reads_signatures_and_hassh() {
    let detector = Detector::new().unwrap();
    let flow = single_flow(&detector, "ssh.pcap");
    let ssh = flow.ssh().expect("SSH metadata");
    assert_eq!(ssh.client_signature.unwrap(), "SSH-2.0-OpenSSH_5.3");
    assert_eq!(ssh.server_signature.unwrap(), "SSH-2.0-OpenSSH_5.6");
    assert_eq!(
        ssh.hassh_client.unwrap(),
        "21B457A327CE7A2D4FCE5EF2C42400BD"
    );
    assert!(ssh.hassh_server.is_some());
    assert_eq!(flow.dns(), None);
    assert_eq!(flow.tls_quic(), None);
}

#[test]
fn http_flow_reads_request_and_response() {
    let detector = Detector::new().unwrap();
    let flow = single_flow(&detector, "http-crash-content-disposition.pcap");
    let protocol = flow.protocol();
    // The server's address is Amazon's: nDPI 4.2 folds that into the classification, 4.10
    // reports it apart (as its expected results for this capture show).
    match protocol.by_ip {
        None => {
            assert_eq!(detector.protocol_name(protocol), "HTTP.AmazonAWS");
            assert_eq!(detector.protocol_id_string(protocol), "7.265");
        }
        Some(by_ip) => {
            assert_eq!(detector.protocol_name(protocol), "HTTP");
            assert_eq!(detector.protocol_id_string(protocol), "7");
            assert_eq!(detector.protocol_id_name(by_ip), Some("AmazonAWS"));
        }
    }
    let http = flow.http().expect("HTTP metadata");
    assert_eq!(http.method, Some("POST"));
    assert_eq!(http.host.unwrap(), "khu.sh");
    assert!(http.url.unwrap().to_string().starts_with("khu.sh/"));
    assert_eq!(http.response_code, Some(200));
    assert_eq!(flow.tls_quic(), None);
    assert_eq!(flow.dns(), None);
}

#[test]
fn quic_flow_is_decrypted_for_sni_with_libgcrypt() {
    let detector = Detector::new().unwrap();
    let flow = single_flow(&detector, "quic-29.pcap");
    assert_eq!(flow.protocol().app, ProtocolId::QUIC);
    let quic = flow.tls_quic().expect("QUIC metadata");
    assert_eq!(quic.sni.unwrap(), "localhost");
    assert_eq!(quic.alpn.unwrap(), "h3-29");
}

#[test]
fn give_up_guesses_by_port_and_says_so() {
    let detector = Detector::new().unwrap();
    let mut flow = Flow::new(&detector).unwrap();
    // One TCP SYN to port 443 from nDPI's synscan capture would do; build it by hand:
    // IPv4 + TCP SYN 10.0.0.1:40000 -> 10.0.0.2:443, no payload.
    let mut syn = vec![
        0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
        0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0,
        0, // TCP
    ];
    let checksum = ipv4_checksum(&syn[..20]);
    syn[10..12].copy_from_slice(&checksum.to_be_bytes());
    let protocol = flow.process(&syn, 1_000);
    assert!(protocol.app.is_unknown(), "one SYN is not enough for DPI");
    let result = flow.give_up();
    assert!(result.guessed);
    assert_eq!(result.protocol.app, ProtocolId::TLS, "port 443 guesses TLS");
    assert_eq!(flow.confidence().name(), "Match by port");
}

fn ipv4_checksum(header: &[u8]) -> u16 {
    let sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    !(((folded & 0xffff) + (folded >> 16)) as u16)
}

#[test]
fn lookups_by_name_and_id() {
    let detector = Detector::new().unwrap();
    assert_eq!(detector.protocol_by_name("HTTP"), Some(ProtocolId::HTTP));
    assert_eq!(detector.protocol_by_name("no-such-protocol"), None);
    assert_eq!(detector.protocol_id_name(ProtocolId::QUIC), Some("QUIC"));
    assert_eq!(detector.protocol_id_name(ProtocolId(60_000)), None);
    assert_eq!(
        detector.breed_name(detector.breed(ProtocolId::DNS)),
        Some("Acceptable")
    );
    assert_eq!(Detector::revision(), format!("{}.0", Detector::release()));
    assert_eq!(
        Detector::release(),
        format!("{}.{}", ndpi::sys::NDPI_MAJOR, ndpi::sys::NDPI_MINOR)
    );
}

#[test]
fn a_chosen_protocol_set_detects_only_those() {
    let only_dns = Detector::builder()
        .protocols([ProtocolId::DNS])
        .build()
        .unwrap();
    let flow = single_flow(&only_dns, "tls_verylong_certificate.pcap");
    assert!(
        !flow.protocol().is(ProtocolId::TLS),
        "TLS is disabled: {:?}",
        flow.protocol()
    );
    let bad = Detector::builder().protocols([ProtocolId(9999)]).build();
    assert!(
        matches!(bad, Err(Error::UnknownProtocolId(ProtocolId(9999)))),
        "{bad:?}"
    );
}

#[test]
fn custom_file_errors_name_the_file() {
    let missing = Path::new("/nonexistent/protos.txt");
    let err = Detector::builder()
        .protocols_file(missing)
        .build()
        .unwrap_err();
    match &err {
        Error::CustomFile {
            kind: "protocols",
            path,
            ..
        } => assert_eq!(path, missing),
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("/nonexistent/protos.txt"), "{err}");
    // The cause is kept: the OS error, not its text.
    let cause = std::error::Error::source(&err).expect("a cause");
    let io = cause
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn independent_detectors_classify_in_parallel_identically() {
    let captures = [
        "1kxun.pcap",
        "quic-29.pcap",
        "dns_long_domainname.pcap",
        "ssh.pcap",
        "tls_verylong_certificate.pcap",
    ];
    let run = || {
        let detector = reference_detector();
        captures
            .iter()
            .map(|name| {
                let (records, _) =
                    classify(&detector, &pcap(name), TrackerConfig::ndpi_reader_offline());
                serde_json::to_string(&records).unwrap()
            })
            .collect::<Vec<_>>()
    };
    let alone = run();
    let parallel: Vec<Vec<String>> = std::thread::scope(|s| {
        (0..4)
            .map(|_| s.spawn(run))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect()
    });
    for result in parallel {
        assert_eq!(result, alone);
    }
    assert!(
        alone[0].contains("\"l7_proto_name\""),
        "records were produced"
    );
}
