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

/// The example binary of this build profile, built (or found up to date) by cargo once per
/// test process. `cargo test` builds examples too, but `cargo test --test NAME` does not, and
/// either way this makes sure the binary matches the source.
pub fn classify_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // The test runs from <target>/<profile>/deps/; the example lands in
        // <target>/<profile>/examples/.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("<profile>/deps");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev",
            Some(name) => name,
            None => panic!("unexpected test location {}", exe.display()),
        };
        let target_dir = profile_dir.parent().expect("target dir");
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--example",
                "classify",
                "--profile",
                profile,
            ])
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the classify example failed");
        profile_dir.join("examples/classify")
    })
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
