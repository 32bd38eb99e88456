//! Shared by the tests: the `classify` example binary, running it, reading its JSON lines.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// nDPI's test captures (fetched by vendor/fetch.sh).
pub fn ndpi_pcap(name: &str) -> PathBuf {
    let path = root().join("vendor/nDPI/tests/pcap").join(name);
    assert!(path.is_file(), "{}: run vendor/fetch.sh", path.display());
    path
}

/// nDPI's test captures merged into one Ethernet capture by scripts/merge-pcaps.py (flows of
/// different captures meet in one flow table and in nDPI's caches). Made once, next to the test
/// binaries, and shared with scripts/bench-classify.sh.
pub fn merged_captures() -> &'static Path {
    static MERGED: OnceLock<PathBuf> = OnceLock::new();
    MERGED.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let target_dir = exe
            .ancestors()
            .nth(3)
            .expect("<target>/<profile>/deps/<test>");
        let merged = target_dir.join("merged-ethernet.pcap");
        if merged.is_file() {
            return merged;
        }
        let mut inputs: Vec<_> = std::fs::read_dir(root().join("vendor/nDPI/tests/pcap"))
            .expect("run vendor/fetch.sh")
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        // Written aside and renamed, so that a concurrent test never reads half a file.
        let partial = target_dir.join(format!("merged-ethernet.pcap.{}", std::process::id()));
        let status = Command::new("python3")
            .arg(root().join("scripts/merge-pcaps.py"))
            .arg(&partial)
            .args(&inputs)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("python3 runs");
        assert!(status.success(), "scripts/merge-pcaps.py failed");
        std::fs::rename(&partial, &merged).expect("rename the merged capture");
        merged
    })
}

/// The classify binary cargo built for these tests.
pub fn classify_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_classify"))
}

/// Runs `classify ARGS` from the repository root.
pub fn classify<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = Command::new(classify_bin())
        .args(args)
        .current_dir(root())
        .output()
        .expect("classify runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "classify panicked:\n{stderr}");
    output
}

/// The JSON lines of `text`, parsed.
pub fn json_lines(text: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(text)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The lines of one `"type"`.
pub fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
