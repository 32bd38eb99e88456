//! Timed frames → flow table → nDPI → metadata → JSON flow records, with the tracker's
//! settings (FIN/RST, table cap, idle timeout, periodic events) chosen by the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ndpi_fuzz::pipeline_target(ndpi_fuzz::detector(), data));
