//! nDPI's own test suite for the nDPI release the workspace links: where its captures and
//! expected results are, and how nDPI's test script runs its reader over them. The
//! workspace's tests and benches use it (never published); `vendor/fetch.sh` puts the
//! source in `vendor/nDPI-RELEASE`.
//!
//! | | nDPI 4.2 | nDPI 4.10 |
//! |---|---|---|
//! | captures | `tests/pcap` | `tests/cfgs/default/pcap` |
//! | expected results | `tests/result` | `tests/cfgs/default/result` |
//! | reader options (`tests/do.sh.in`) | `-p -c -r -j -S` | the same, `-G lists`, `--cfg=filename.config,example/config.txt` |
//! | reference reader | Debian's `/usr/bin/ndpiReader` | `target/ndpiReader-4.10` (`scripts/build-ndpireader.sh`) |

use std::path::{Path, PathBuf};

use ndpi::{Detector, DetectorBuilder};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ndpi-testdata sits in the workspace")
        .to_owned()
}

/// The linked release's series, "4.10" or "4.2".
pub fn release() -> &'static str {
    Detector::release()
}

/// The unpacked, verified nDPI source of the linked release.
pub fn source() -> PathBuf {
    let dir = root().join(format!("vendor/nDPI-{}", release()));
    assert!(
        dir.join("configure.ac").is_file(),
        "{}: run vendor/fetch.sh {}",
        dir.display(),
        release()
    );
    dir
}

/// Real traffic for tests of behaviour rather than classification (Lua checks, threads,
/// exports): nDPI 4.2's test captures, whatever release is linked. They hold larger flows than
/// 4.10's suite, whose captures were trimmed (none of its flows reaches 1 MB). `vendor/fetch.sh
/// 4.2` puts them there (`scripts/setup.sh` fetches both releases).
pub fn traffic_dir() -> PathBuf {
    let dir = root().join("vendor/nDPI-4.2/tests/pcap");
    assert!(dir.is_dir(), "{}: run vendor/fetch.sh 4.2", dir.display());
    dir
}

/// One capture of [`traffic_dir`].
pub fn traffic(name: &str) -> PathBuf {
    let path = traffic_dir().join(name);
    assert!(
        path.is_file(),
        "{} is not in nDPI 4.2's captures",
        path.display()
    );
    path
}

/// The directory of nDPI's test captures whose expected results use the default options.
pub fn pcap_dir() -> PathBuf {
    source().join(match release() {
        "4.2" => "tests/pcap",
        _ => "tests/cfgs/default/pcap",
    })
}

/// The expected reader output for each capture of [`pcap_dir`] (`NAME.out`).
pub fn result_dir() -> PathBuf {
    pcap_dir().with_file_name("result")
}

/// One of nDPI's test captures.
pub fn pcap(name: &str) -> PathBuf {
    let path = pcap_dir().join(name);
    assert!(
        path.is_file(),
        "{} is not in nDPI {}'s test suite",
        path.display(),
        release()
    );
    path
}

/// Every test capture (`*.pcap`, `*.pcapng`, `*.cap`), sorted by name. Captures missing from
/// the source (the copy of 4.10 lacks `WebattackXSS.pcap`) are not there to list.
pub fn pcaps() -> Vec<PathBuf> {
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(pcap_dir())
        .expect("the test captures are there")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.is_file()
                && path
                    .extension()
                    .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap")
        })
        .collect();
    pcaps.sort();
    pcaps
}

/// nDPI's test script runs the reader with these files of the source's `example/` directory:
/// protocols (`-p`), categories (`-c`), risky domains (`-r`), JA3 (`-j`) and SHA-1 (`-S`)
/// fingerprints.
pub fn example_files() -> [(&'static str, PathBuf); 5] {
    let example = source().join("example");
    [
        ("-p", example.join("protos.txt")),
        ("-c", example.join("categories.txt")),
        ("-r", example.join("risky_domains.txt")),
        ("-j", example.join("ja3_fingerprints.csv")),
        ("-S", example.join("sha1_fingerprints.csv")),
    ]
}

/// The reader's options as nDPI's test script passes them, besides `-i CAPTURE` and its output
/// options: the files of [`example_files`] and, for 4.10, the lists directory and the
/// configuration file.
pub fn reader_options() -> Vec<String> {
    let mut options = Vec::new();
    if release() != "4.2" {
        let config = source().join("example/config.txt");
        options.push(format!("--cfg=filename.config,{}", config.display()));
        options.push("-G".to_owned());
        options.push(source().join("lists").display().to_string());
    }
    for (flag, path) in example_files() {
        options.push(flag.to_owned());
        options.push(path.display().to_string());
    }
    options
}

/// A detector configured as nDPI's test script configures its reader (see
/// [`reader_options`]).
pub fn reference_builder() -> DetectorBuilder {
    let [protos, categories, risky, ja3, sha1] = example_files().map(|(_, path)| path);
    let mut builder = Detector::builder()
        .protocols_file(protos)
        .categories_file(categories)
        .risky_domains_file(risky)
        .ja3_fingerprints_file(ja3)
        .sha1_fingerprints_file(sha1)
        .reader_settings();
    if release() != "4.2" {
        builder = builder.categories_dir(source().join("lists")).set(
            None,
            "filename.config",
            &source().join("example/config.txt").display().to_string(),
        );
    }
    builder
}

/// [`reference_builder`], built.
pub fn reference_detector() -> Detector {
    reference_builder()
        .build()
        .expect("nDPI's example files and lists load")
}

/// The reader of the linked release, when it is there: Debian's `ndpiReader` for 4.2
/// (`libndpi-bin`), the one `scripts/build-ndpireader.sh` builds for 4.10.
pub fn reference_reader() -> Option<PathBuf> {
    let path = match release() {
        "4.2" => PathBuf::from("/usr/bin/ndpiReader"),
        series => root().join(format!("target/ndpiReader-{series}")),
    };
    path.is_file().then_some(path)
}
