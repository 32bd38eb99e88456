//! End-to-end throughput: decode + track + classify over nDPI's Ethernet test captures held
//! in memory, with the reference reader's settings.

mod corpus;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndpi::{Detector, Frame, LinkType, Tracker, TrackerConfig};

fn bench(c: &mut Criterion) {
    let frames = corpus::ethernet_frames();
    let bytes: u64 = frames.iter().map(|f| f.data.len() as u64).sum();
    let detector = Detector::new().unwrap();
    let run = |frames: &[corpus::Frame]| {
        let mut tracker = Tracker::new(&detector, TrackerConfig::ndpi_reader_offline());
        for f in frames {
            tracker
                .process(
                    LinkType::Ethernet,
                    Frame {
                        data: &f.data,
                        wire_len: f.wire_len,
                        time_ms: f.time_ms,
                        link: Some(LinkType::Ethernet),
                    },
                )
                .unwrap();
            tracker.drain_events().for_each(drop);
        }
        tracker.finish();
        tracker.drain_events().count()
    };
    let mut group = c.benchmark_group("decode+track+classify");
    group.sample_size(10);
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("packets", |b| b.iter(|| run(&frames)));
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("bytes", |b| b.iter(|| run(&frames)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
