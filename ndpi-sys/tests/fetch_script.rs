//! `vendor/fetch.sh` accepts a source by its content: any tarball of the pinned tree, and
//! nothing else. Runs the real script with local tarballs (`NDPI_TARBALL`, which makes each the
//! only source) into scratch destinations. (Repository-only: not in the published package.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vendor() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor")
}

fn fetch(version: &str, tarball: &Path, dest: &Path) -> Output {
    Command::new("bash")
        .arg(vendor().join("fetch.sh"))
        .arg(version)
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

fn run(command: &mut Command) {
    let status = command.status().expect("the command runs");
    assert!(status.success(), "{command:?}: {status}");
}

/// The tarball fetch.sh kept when it verified nDPI `version` for this repository.
fn kept(version: &str) -> PathBuf {
    let kept = vendor().join(format!("nDPI-{version}.src.tar"));
    assert!(
        kept.exists(),
        "vendor/fetch.sh {version} keeps the verified tarball at {}",
        kept.display()
    );
    kept
}

/// Unpacks `tarball` into `dir/nDPI-4.10`, lets `change` alter the tree, and packs it again as
/// a gzip'd tar (other bytes than the original, whatever the change).
fn repack(tarball: &Path, dir: &Path, change: impl FnOnce(&Path)) -> PathBuf {
    let tree = dir.join("nDPI-4.10");
    std::fs::create_dir_all(&tree).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(tarball)
        .arg("-C")
        .arg(&tree)
        .arg("--strip-components=1"));
    change(&tree);
    let out = dir.join("repacked.tar.gz");
    run(Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(dir)
        .arg("nDPI-4.10"));
    std::fs::remove_dir_all(&tree).unwrap();
    out
}

fn refused(out: &Output, dest: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "must be refused: {stderr}");
    assert!(stderr.contains("REFUSED"), "says why: {stderr}");
    assert!(!dest.exists(), "nothing unpacked");
}

#[test]
fn a_tarball_of_something_else_is_refused() {
    let dir = scratch("bad");
    let tarball = dir.join("nDPI-4.2.tar.gz");
    // A real gzip'd tar, just not nDPI.
    run(Command::new("tar").args([
        "-czf",
        tarball.to_str().unwrap(),
        "-C",
        env!("CARGO_MANIFEST_DIR"),
        "Cargo.toml",
    ]));
    let dest = dir.join("nDPI");
    refused(&fetch("4.2", &tarball, &dest), &dest);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_version_without_a_pin_is_refused() {
    let dir = scratch("unknown");
    let dest = dir.join("nDPI");
    let out = fetch("4.8", &kept("4.10"), &dest);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("no pin for nDPI '4.8'"),
        "{stderr}"
    );
    assert!(!dest.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_same_content_in_another_tarball_is_accepted_and_a_second_run_is_quiet() {
    let dir = scratch("good");
    // Upstream's tarball has the three files the shared copy lacks: with them, or without,
    // and compressed otherwise, it is the same source.
    let tarball = repack(&kept("4.10"), &dir, |tree| {
        let xss = tree.join("tests/cfgs/default/pcap/WebattackXSS.pcap");
        std::fs::write(xss, b"upstream's capture").unwrap();
    });
    let dest = dir.join("nDPI");
    let first = fetch("4.10", &tarball, &dest);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(dest.join("src/include/ndpi_define.h.in").exists());
    assert!(dest.join("tests/cfgs/default/pcap").is_dir());

    let second = fetch("4.10", &tarball, &dest);
    assert!(second.status.success());
    assert!(
        second.stderr.is_empty() && second.stdout.is_empty(),
        "idempotent and quiet"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_changed_file_is_refused() {
    let dir = scratch("tampered");
    let tarball = repack(&kept("4.10"), &dir, |tree| {
        let file = tree.join("src/lib/protocols/http.c");
        let mut text = std::fs::read(&file).unwrap();
        text.extend_from_slice(b"\n/* one more line */\n");
        std::fs::write(file, text).unwrap();
    });
    let dest = dir.join("nDPI");
    refused(&fetch("4.10", &tarball, &dest), &dest);
    // Another release's source is refused as well.
    refused(&fetch("4.2", &kept("4.10"), &dest), &dest);
    std::fs::remove_dir_all(&dir).unwrap();
}
