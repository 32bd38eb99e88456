//! `vendor/fetch.sh` accepts only the pinned tarball. Runs the real script with a local tarball
//! (`NDPI_TARBALL`, which makes it the only source) into a scratch destination.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vendor() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor")
}

fn fetch(tarball: &Path, dest: &Path) -> Output {
    Command::new("bash")
        .arg(vendor().join("fetch.sh"))
        .env("NDPI_TARBALL", tarball)
        .env("NDPI_VENDOR_DIR", dest)
        .output()
        .expect("bash runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ndpi-sys-fetch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_tarball_with_another_checksum_is_refused() {
    let dir = scratch("bad");
    let tarball = dir.join("ndpi_4.2.orig.tar.gz");
    // A real gzip'd tar, just not the pinned one.
    let status = Command::new("tar")
        .args([
            "-czf",
            tarball.to_str().unwrap(),
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "Cargo.toml",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let dest = dir.join("nDPI");

    let out = fetch(&tarball, &dest);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a wrong checksum must fail: {stderr}"
    );
    assert!(stderr.contains("REFUSED"), "says why: {stderr}");
    assert!(!dest.exists(), "nothing unpacked");
}

#[test]
fn the_pinned_tarball_is_unpacked_and_a_second_run_is_quiet() {
    let pinned = vendor().join("ndpi_4.2.orig.tar.gz");
    assert!(
        pinned.exists(),
        "vendor/fetch.sh keeps the verified tarball at {}",
        pinned.display()
    );
    let dir = scratch("good");
    let dest = dir.join("nDPI");

    let first = fetch(&pinned, &dest);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(dest.join("src/include/ndpi_define.h.in").exists());
    assert!(dest.join("tests/pcap").is_dir() && dest.join("tests/result").is_dir());

    let second = fetch(&pinned, &dest);
    assert!(second.status.success());
    assert!(
        second.stderr.is_empty() && second.stdout.is_empty(),
        "idempotent and quiet"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
