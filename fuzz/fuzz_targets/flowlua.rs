//! flowlua's fixed checks (`fuzz/checks`) over flow records built from the input: every field
//! of every type, strings of any length and content, the optional L7 tables present or not.
//! The checks must never fail, and their alerts must carry what the record says.
#![no_main]

use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use flowlua::{Engine, EngineConfig, Hook, Output};
use libfuzzer_sys::fuzz_target;
use ndpi::FlowRecord;

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
    // FlowRecord derives Arbitrary (ndpi's `arbitrary` feature): every field of every type,
    // including the ones added after this target was written.
    let Ok(record) = FlowRecord::arbitrary(&mut Unstructured::new(data)) else {
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
            u64::from(record.tuple.vlan_id.min(255)),
            format!("{}:{}", record.tuple.cli_ip, record.tuple.cli_port),
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
