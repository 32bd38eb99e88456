//! The cost of the safe wrapper: classifying the same in-memory flows through `ndpi::Flow`
//! and through raw `ndpi-sys` calls, with the same stopping rule (detection done).

mod corpus;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndpi::sys;
use ndpi::{Detector, Flow};

fn bench(c: &mut Criterion) {
    let flows = corpus::flows(&corpus::ethernet_frames());
    let detector = Detector::new().unwrap();
    // Packets actually handed to nDPI under the stopping rule, for packets/s.
    let packets: usize = flows
        .iter()
        .map(|packets| {
            let mut flow = Flow::new(&detector).unwrap();
            1 + packets
                .iter()
                .position(|(l3, t)| {
                    flow.process(l3, *t);
                    flow.is_detection_done()
                })
                .unwrap_or(packets.len() - 1)
        })
        .sum();
    let mut group = c.benchmark_group("process_packet");
    group.throughput(Throughput::Elements(packets as u64));
    group.sample_size(20);

    group.bench_function("wrapper", |b| {
        b.iter(|| {
            for packets in &flows {
                let mut flow = Flow::new(&detector).unwrap();
                for (l3, time_ms) in packets {
                    flow.process(l3, *time_ms);
                    if flow.is_detection_done() {
                        break;
                    }
                }
            }
        })
    });

    // The raw module pointer: the wrapper's is private, so make a second, identical module.
    // SAFETY: init/bitmask/finalize in nDPI's required order; freed at the end of the bench.
    let raw_module = unsafe {
        #[cfg(ndpi410)] // 4.10: no global context.
        let module = sys::ndpi_init_detection_module(std::ptr::null_mut());
        #[cfg(not(ndpi410))] // 4.2: default preferences.
        let module = sys::ndpi_init_detection_module(sys::ndpi_no_prefs);
        let mut all = sys::NDPI_PROTOCOL_BITMASK::default();
        sys::bitmask_set_all(&mut all);
        sys::ndpi_set_protocol_detection_bitmask2(module, &all);
        sys::ndpi_finalize_initialization(module);
        module
    };
    let size = std::mem::size_of::<sys::ndpi_flow_struct>();
    group.bench_function("raw ndpi-sys", |b| {
        b.iter(|| {
            for packets in &flows {
                // SAFETY: a zeroed flow from nDPI's allocator, used with one module, freed once.
                unsafe {
                    let flow = sys::ndpi_flow_malloc(size).cast::<sys::ndpi_flow_struct>();
                    std::ptr::write_bytes(flow.cast::<u8>(), 0, size);
                    for (l3, time_ms) in packets {
                        let len = l3.len().min(usize::from(u16::MAX)) as u16;
                        #[cfg(ndpi410)] // 4.10: direction and flow start unknown.
                        let proto = sys::ndpi_detection_process_packet(
                            raw_module,
                            flow,
                            l3.as_ptr(),
                            len,
                            *time_ms,
                            &sys::ndpi_flow_input_info::default(),
                        );
                        #[cfg(not(ndpi410))]
                        let proto = sys::ndpi_detection_process_packet(
                            raw_module,
                            flow,
                            l3.as_ptr(),
                            len,
                            *time_ms,
                        );
                        if proto.app_protocol != 0
                            && sys::ndpi_extra_dissection_possible(raw_module, flow) == 0
                        {
                            break;
                        }
                    }
                    sys::ndpi_free_flow(flow);
                }
            }
        })
    });
    group.finish();
    // SAFETY: no flow of this module is alive any more.
    unsafe { sys::ndpi_exit_detection_module(raw_module) };
}

criterion_group!(benches, bench);
criterion_main!(benches);
