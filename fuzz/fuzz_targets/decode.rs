//! The frame decoder on arbitrary bytes, over every link type, with and without tunnels.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ndpi_fuzz::decode_target(data));
