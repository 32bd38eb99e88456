//! Detectors built on several threads at once. nDPI initializes libgcrypt inside
//! `ndpi_init_detection_module`, and libgcrypt's first initialization is not thread-safe: two
//! threads doing it at once abort the process ("Assertion `!done' failed" in
//! `_gcry_initialize_fips_mode`), as `classify --threads 2` did now and then. The race exists
//! only at a process's first initialization, so the test builds the detectors in fresh child
//! processes (this same test, told by an environment variable to be the child).

use std::process::Command;
use std::sync::{Arc, Barrier};

use ndpi::Detector;

const CHILD: &str = "NDPI_TEST_DETECTOR_THREADS_CHILD";
const THREADS: usize = 8;
const PROCESSES: usize = 100;

#[test]
fn detectors_can_be_built_on_many_threads_at_once() {
    if std::env::var_os(CHILD).is_some() {
        let start = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    Detector::new().expect("a detector");
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        return;
    }
    let test = "detectors_can_be_built_on_many_threads_at_once";
    for _ in 0..PROCESSES {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            child.status.success(),
            "{}\n{}",
            child.status,
            String::from_utf8_lossy(&child.stderr)
        );
    }
}
