//! The build script's release table (`build/releases.rs`) and the repository's pins
//! (`vendor/ndpi-VERSION.pin`, which `vendor/fetch.sh` reads) name the same releases, and the
//! linked library is one of them. (Repository-only: the published package has no pins.)

use std::path::Path;

use ndpi_sys as sys;

/// The releases the repository pins, as `(major, minor)`.
fn pinned() -> Vec<(u32, u32)> {
    let vendor = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor");
    let mut releases: Vec<(u32, u32)> = std::fs::read_dir(&vendor)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().ok()?;
            let series = name.strip_prefix("ndpi-")?.strip_suffix(".pin")?.to_owned();
            let text = std::fs::read_to_string(vendor.join(&name)).unwrap();
            assert!(
                text.lines().any(|l| l == format!("version={series}")),
                "{name} pins version={series}"
            );
            let (major, minor) = series.split_once('.').expect("MAJOR.MINOR");
            Some((major.parse().unwrap(), minor.parse().unwrap()))
        })
        .collect();
    releases.sort();
    releases
}

/// The releases `build/releases.rs` knows.
fn known() -> Vec<(u32, u32)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("build/releases.rs");
    let text = std::fs::read_to_string(path).unwrap();
    let mut releases: Vec<(u32, u32)> = text
        .lines()
        .filter_map(|line| {
            let tuple = line.trim().strip_prefix("version: (")?.strip_suffix("),")?;
            let parts: Vec<u32> = tuple.split(", ").map(|n| n.parse().unwrap()).collect();
            Some((parts[0], parts[1]))
        })
        .collect();
    releases.sort();
    releases
}

#[test]
fn every_release_the_build_knows_is_pinned_and_nothing_else() {
    assert_eq!(known(), pinned());
    assert!(known().len() >= 2, "4.2 and 4.10 at least: {:?}", known());
}

#[test]
fn the_linked_release_is_a_pinned_one() {
    let linked = (sys::VERSION_NUMBER / 10000, sys::VERSION_NUMBER / 100 % 100);
    assert!(pinned().contains(&linked), "{linked:?} in {:?}", pinned());
}
