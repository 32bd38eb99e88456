//! Cost per flow of Lua checks: `Engine::run(Hook::Detected, &record)` on one record.
//!
//! - `five_fields`: a check that reads five fields and the HTTP, DNS and TLS tables (no alert).
//! - `empty`: a check that does nothing, the engine's fixed cost (lending the record, one call
//!   through the runner with an unfilled `flow_info`).
//! - `empty_chunk`: an ntopng-layout file that only returns: the fixed cost without `flow_info`.
//! - `spec_example`: `lua_flow_api.md`'s boilerplate module, as shipped in tests/checks. Its
//!   alert fires on every call, but the flow keeps only the first: the rest are repeats.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use flowlua::{Engine, EngineConfig, Hook};

fn engine(dir: &Path) -> Engine {
    let engine = Engine::load(dir, EngineConfig::default()).expect("bench checks load");
    assert_eq!(engine.scripts().count(), 1, "{:?}", engine.failures());
    engine
}

fn per_flow(c: &mut Criterion) {
    let benches = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/checks");
    let mut group = c.benchmark_group("flow_check");
    for (name, record) in [
        ("dns", common::dns()),
        ("http", common::http()),
        ("tls", common::tls()),
    ] {
        let mut five = engine(&benches.join("five_fields"));
        group.bench_function(format!("five_fields/{name}"), |b| {
            b.iter(|| five.run(Hook::Detected, black_box(&record)))
        });
        assert!(five.failures().is_empty(), "{:?}", five.failures());
    }
    let record = common::tls();
    let mut empty = engine(&benches.join("empty"));
    group.bench_function("empty/tls", |b| {
        b.iter(|| empty.run(Hook::Detected, black_box(&record)))
    });
    let chunk = common::scratch(&[("custom_flow_protocol_detected_script.lua", "return(0)")]);
    let mut empty_chunk = engine(chunk.path());
    group.bench_function("empty_chunk/tls", |b| {
        b.iter(|| empty_chunk.run(Hook::Detected, black_box(&record)))
    });
    let spec = common::scratch(&[(
        "my_flow_check.lua",
        &common::fixture_text("spec_examples/my_flow_check.lua"),
    )]);
    let mut example = engine(spec.path());
    group.bench_function("spec_example/tls", |b| {
        b.iter(|| {
            example.run(Hook::Detected, black_box(&record));
            example.take_alerts()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = per_flow
}
criterion_main!(benches);
