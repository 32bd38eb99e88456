//! Arbitrary file bytes through libpcap's pcap/pcapng reader (`Capture::open_file`), then the
//! tracker, as the `classify` example reads a capture file.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

/// One scratch file per fuzzing process, rewritten for each input.
static SCRATCH: LazyLock<PathBuf> =
    LazyLock::new(|| std::env::temp_dir().join(format!("ndpi-fuzz-{}.pcap", std::process::id())));

fuzz_target!(|data: &[u8]| {
    std::fs::write(&*SCRATCH, data).expect("the scratch file is writable");
    ndpi_fuzz::pcap_target(ndpi_fuzz::detector(), &SCRATCH);
});
