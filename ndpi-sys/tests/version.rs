//! The build script's `VERSION` is the one definition of the nDPI release; the repository's
//! `vendor/ndpi.pin`, which `vendor/fetch.sh` reads, must pin that same release.
//! (Repository-only: the published package has neither the pin nor this test.)

use std::path::Path;

use ndpi_sys as sys;

/// `key=value` from the pin file.
fn pin(key: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor/ndpi.pin");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{} has no {key}=", path.display()))
        .trim()
        .to_owned()
}

#[test]
fn the_pin_names_the_release_the_bindings_are_for() {
    // VERSION_NUMBER comes from the headers' NDPI_MAJOR/MINOR/PATCH, which a vendored build
    // writes from the build script's VERSION.
    let (major, minor, patch) = (
        sys::VERSION_NUMBER / 10000,
        sys::VERSION_NUMBER / 100 % 100,
        sys::VERSION_NUMBER % 100,
    );
    let version = pin("version");
    let pinned: Vec<u32> = version
        .split('.')
        .map(|n| n.parse().expect("numeric version in vendor/ndpi.pin"))
        .collect();
    // "4.2" pins release 4.2.0.
    let pinned = (pinned[0], pinned[1], pinned.get(2).copied().unwrap_or(0));
    assert_eq!(
        pinned,
        (major, minor, patch),
        "vendor/ndpi.pin says version={version}, the bindings are for {major}.{minor}.{patch}"
    );
    assert_eq!(pin("tarball"), format!("ndpi_{version}.orig.tar.gz"));
    assert!(
        pin("debian_version").starts_with(&format!("{version}-")),
        "debian_version={}",
        pin("debian_version")
    );
}
