//! flowlua's fixed checks (`fuzz/checks`) over flow records built from the input: every field
//! of every type, strings of any length and content, the optional L7 tables present or not.
//! The checks must never fail, and their alerts must carry what the record says.
#![no_main]

use std::path::Path;

use arbitrary::{Result, Unstructured};
use flowlua::{Engine, EngineConfig, Hook, Output};
use libfuzzer_sys::fuzz_target;
use ndpi::{
    CipherWeakness, Direction, DnsInfo, EndReason, FlowRecord, HttpInfo, SshInfo, TlsQuicInfo,
};

const DIRECTIONS: [Direction; 5] = [
    Direction::LocalToLocal,
    Direction::LocalToRemote,
    Direction::RemoteToLocal,
    Direction::RemoteToRemote,
    Direction::Unknown,
];

const CIPHER_WEAKNESSES: [CipherWeakness; 3] = [
    CipherWeakness::Safe,
    CipherWeakness::Weak,
    CipherWeakness::Insecure,
];

const END_REASONS: [EndReason; 5] = [
    EndReason::Idle,
    EndReason::Fin,
    EndReason::Rst,
    EndReason::Evicted,
    EndReason::CaptureEnd,
];

/// `Some(Box<T>)` or `None`, as the input says.
fn boxed<T>(u: &mut Unstructured, f: fn(&mut Unstructured) -> Result<T>) -> Result<Option<Box<T>>> {
    Ok(if u.arbitrary()? {
        Some(Box::new(f(u)?))
    } else {
        None
    })
}

fn record(u: &mut Unstructured) -> Result<FlowRecord> {
    Ok(FlowRecord {
        l4_proto: u.arbitrary()?,
        cli_ip: u.arbitrary()?,
        cli_port: u.arbitrary()?,
        srv_ip: u.arbitrary()?,
        srv_port: u.arbitrary()?,
        vlan_id: u.arbitrary()?,
        cli2srv_packets: u.arbitrary()?,
        srv2cli_packets: u.arbitrary()?,
        cli2srv_bytes: u.arbitrary()?,
        srv2cli_bytes: u.arbitrary()?,
        first_seen_ms: u.arbitrary()?,
        last_seen_ms: u.arbitrary()?,
        l7_master_proto: u.arbitrary()?,
        l7_proto: u.arbitrary()?,
        l7_proto_name: u.arbitrary()?,
        category: u.arbitrary()?,
        confidence: u.arbitrary()?,
        guessed: u.arbitrary()?,
        risks: u.arbitrary()?,
        risk_score: u.arbitrary()?,
        host_server_name: u.arbitrary()?,
        direction: *u.choose(&DIRECTIONS)?,
        http: boxed(u, |u| {
            Ok(HttpInfo {
                method: u.arbitrary()?,
                url: u.arbitrary()?,
                content_type: u.arbitrary()?,
                request_content_type: u.arbitrary()?,
                return_code: u.arbitrary()?,
                server_name: u.arbitrary()?,
                user_agent: u.arbitrary()?,
            })
        })?,
        dns: boxed(u, |u| {
            Ok(DnsInfo {
                last_query: u.arbitrary()?,
                last_query_type: u.arbitrary()?,
                query_class: u.arbitrary()?,
                last_return_code: u.arbitrary()?,
                replies_as_string: u.arbitrary()?,
                invalid_chars_in_query: u.arbitrary()?,
                num_queries: u.arbitrary()?,
                num_answers: u.arbitrary()?,
            })
        })?,
        ssh: boxed(u, |u| {
            Ok(SshInfo {
                client_signature: u.arbitrary()?,
                server_signature: u.arbitrary()?,
                hassh_client: u.arbitrary()?,
                hassh_server: u.arbitrary()?,
            })
        })?,
        tls_quic: boxed(u, |u| {
            Ok(TlsQuicInfo {
                client_requested_server_name: u.arbitrary()?,
                server_names: u.arbitrary()?,
                issuerDN: u.arbitrary()?,
                subjectDN: u.arbitrary()?,
                ja3_client: u.arbitrary()?,
                ja3_server: u.arbitrary()?,
                notBefore: u.arbitrary()?,
                notAfter: u.arbitrary()?,
                unsafe_cipher: u.arbitrary()?,
                cipher_weakness: *u.choose(&CIPHER_WEAKNESSES)?,
                server_cipher: u.arbitrary()?,
                server_cipher_name: u.arbitrary()?,
                tls_version: u.arbitrary()?,
                tls_version_name: u.arbitrary()?,
                alpn: u.arbitrary()?,
                tls_supported_versions: u.arbitrary()?,
                sha1_cert_fingerprint: u.arbitrary()?,
                user_agent: u.arbitrary()?,
            })
        })?,
        end_reason: if u.arbitrary()? {
            Some(*u.choose(&END_REASONS)?)
        } else {
            None
        },
    })
}

thread_local! {
    static ENGINE: std::cell::RefCell<Engine> = std::cell::RefCell::new({
        let config = EngineConfig::default().output(Output::Discard);
        let engine = Engine::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("checks"), config)
            .expect("the fuzz checks load");
        assert!(engine.failures().is_empty(), "{:?}", engine.failures());
        engine
    });
}

fuzz_target!(|data: &[u8]| {
    let Ok(record) = record(&mut Unstructured::new(data)) else {
        return;
    };
    ENGINE.with_borrow_mut(|engine| {
        for hook in Hook::ALL {
            engine.run(hook, &record);
        }
        assert!(engine.failures().is_empty(), "{:?}", engine.failures());
        let alerts = engine.take_alerts();
        // Scripts run in name order: custom_flow_end_script.lua, then probe.lua.
        let probe = format!(
            "{}|{}",
            record.l7_proto_name,
            record.host_server_name.as_deref().unwrap_or("")
        );
        let probe = (record.bytes().min(255), probe);
        let end = (
            u64::from(record.vlan_id.min(255)),
            format!("{}:{}", record.cli_ip, record.cli_port),
        );
        // The probe's check runs at every hook, but its alert repeats after the first.
        let expected = [(Hook::Detected, &probe), (Hook::End, &end)];
        let got: Vec<_> = alerts
            .iter()
            .map(|a| (a.hook, (u64::from(a.score), a.message.clone())))
            .collect();
        assert_eq!(got, expected.map(|(hook, alert)| (hook, alert.clone())));
        for alert in &alerts {
            serde_json::to_string(alert).expect("an alert serializes");
        }
    });
});
