//! What the fuzz targets share with each other and with the seed builder (`examples/seed.rs`).

use std::path::Path;

use ndpi::Detector;

mod targets;

pub use targets::*;

/// This thread's detector: nDPI's reference configuration (the five custom files of its own
/// tests) when the source is fetched, else every protocol and no custom files. Built once: it
/// takes far longer to initialize than a fuzz input takes to run.
pub fn detector() -> &'static Detector {
    thread_local! {
        static DETECTOR: &'static Detector = Box::leak(Box::new(build_detector()));
    }
    DETECTOR.with(|d| *d)
}

fn build_detector() -> Detector {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../vendor/nDPI-{}/example", ndpi::Detector::release()));
    if !example.is_dir() {
        return Detector::new().expect("nDPI initializes");
    }
    Detector::builder()
        .protocols_file(example.join("protos.txt"))
        .categories_file(example.join("categories.txt"))
        .risky_domains_file(example.join("risky_domains.txt"))
        .ja3_fingerprints_file(example.join("ja3_fingerprints.csv"))
        .sha1_fingerprints_file(example.join("sha1_fingerprints.csv"))
        .build()
        .expect("nDPI's example files load")
}
