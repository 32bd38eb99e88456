//! Vendored mode: compile the pinned nDPI source with `cc`, without autotools.
//!
//! autotools would generate three headers; we write them ourselves into `OUT_DIR/include`
//! next to copies of nDPI's public headers, so that dependents get one include directory that
//! looks like an installed libndpi.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use crate::{release, series, Library, API_VERSION, RELEASE_DATE, VERSION};

/// Source directories whose `*.c` files (not recursive) make up libndpi. Files ending in
/// `.c.inc`, `roaring.cc` and `third_party/src/hll/*.c` are `#include`d by these.
const SOURCE_DIRS: [&str; 3] = ["src/lib", "src/lib/protocols", "src/lib/third_party/src"];

/// Compiles nDPI and links it statically. With `headers_only` (docs.rs), it only prepares the
/// headers that bindgen reads, and neither compiles nor links anything.
pub fn build(headers_only: bool) -> Result<Library, String> {
    let source = source_dir()?;
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let include = out.join("include");
    let gcrypt = env::var_os("CARGO_FEATURE_GCRYPT").is_some();

    write_headers(&source, &include, gcrypt)?;
    rerun_if_changed(&source.join("src"));
    rerun_if_changed(&source.join(".verified-sha256"));
    if headers_only {
        return Ok(Library {
            include_dirs: vec![include],
        });
    }

    let mut build = cc::Build::new();
    build
        .include(&include)
        .include(source.join("src/lib/third_party/include"))
        .define("NDPI_LIB_COMPILATION", None)
        // nDPI is third-party code: its warnings are not ours to act on.
        .warnings(false)
        .flag_if_supported("-w")
        // A debug build of the packet path makes every test and example crawl; nDPI itself
        // builds with -O2 by default.
        .opt_level(opt_level().max(2));
    for dir in SOURCE_DIRS {
        for file in c_files(&source.join(dir))? {
            build.file(file);
        }
    }
    build
        .try_compile("ndpi")
        .map_err(|e| format!("compiling nDPI failed: {e}"))?;

    if gcrypt {
        link_gcrypt()?;
    }
    println!("cargo:rustc-link-lib=m");
    Ok(Library {
        include_dirs: vec![include],
    })
}

/// Finds the nDPI source, in this order:
/// 1. `NDPI_SOURCE_DIR`, when set (and then nothing else);
/// 2. `nDPI/` inside this crate: the copy a packaged ndpi-sys carries
///    (`scripts/package-ndpi-sys.sh` puts it there);
/// 3. the repository's `vendor/nDPI` next to this crate (a path or git dependency). When the
///    repository's `vendor/fetch.sh` is there too, it runs first: it fetches and verifies the
///    pinned source if it is missing or not the pinned one, and is quiet otherwise.
///
/// Whatever is found is checked to be the release in `VERSION`.
fn source_dir() -> Result<PathBuf, String> {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    if let Some(dir) = env::var_os("NDPI_SOURCE_DIR") {
        return check_source(PathBuf::from(dir), "NDPI_SOURCE_DIR");
    }
    let packaged = manifest.join("nDPI");
    if packaged.join("configure.ac").is_file() {
        return check_source(packaged, "the nDPI copy in the ndpi-sys package");
    }
    let vendor = manifest.parent().unwrap_or(&manifest).join("vendor");
    let repository = vendor.join("nDPI");
    let fetch = vendor.join("fetch.sh");
    if fetch.is_file() {
        rerun_if_changed(&vendor.join("ndpi.pin"));
        run_fetch(&fetch, &repository).map_err(|why| missing(&packaged, &repository, &why))?;
    }
    if repository.join("configure.ac").is_file() {
        return check_source(repository, "vendor/nDPI");
    }
    let why = if fetch.is_file() {
        format!("{} succeeded but left no source there.", fetch.display())
    } else {
        format!(
            "No repository around this crate can fetch it: {} does not exist.",
            fetch.display()
        )
    };
    Err(missing(&packaged, &repository, &why))
}

/// Runs the repository's `vendor/fetch.sh` (it honours `NDPI_TARBALL`), which puts the verified
/// source in `vendor/nDPI`: the repository's own, git-ignored place for it, where nDPI's test
/// captures are found too. What the script says ends up in the error, or in a warning when it
/// fetched something.
fn run_fetch(fetch: &Path, dest: &Path) -> Result<(), String> {
    let output = std::process::Command::new("bash")
        .arg(fetch)
        .env("NDPI_VENDOR_DIR", dest)
        .output()
        .map_err(|e| format!("`bash {}` could not run: {e}", fetch.display()))?;
    let said = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let said: Vec<String> = said.lines().map(|line| format!("  {line}")).collect();
        return Err(format!(
            "{} could not fetch it:\n{}",
            fetch.display(),
            said.join("\n")
        ));
    }
    for line in said.lines() {
        println!("cargo:warning={line}");
    }
    Ok(())
}

/// The one message for "no nDPI source": where it looked, why the fetch did not help, and the
/// three ways out.
fn missing(packaged: &Path, repository: &Path, why: &str) -> String {
    let series = series();
    format!(
        "No nDPI {series} source. Looked for it in NDPI_SOURCE_DIR (not set), {} (the copy a \
         packaged ndpi-sys carries) and {} (the repository's vendor/fetch.sh puts it there).\n\
         {why}\n\n\
         Fix, one of:\n\
         - NDPI_TARBALL=/path/to/ndpi_{series}.orig.tar.gz: a local copy of the pinned tarball, which \
         the repository's vendor/fetch.sh verifies (sha256 in vendor/ndpi.pin) and unpacks;\n\
         - NDPI_SOURCE_DIR=/path/to/nDPI: an unpacked nDPI {series} source tree;\n\
         - NDPI_NO_VENDOR=1: link the system libndpi {series}.x through pkg-config instead \
         (Debian 12: apt-get install libndpi-dev pkg-config).",
        packaged.display(),
        repository.display()
    )
}

fn check_source(dir: PathBuf, origin: &str) -> Result<PathBuf, String> {
    let (series, release) = (series(), release());
    let configure = dir.join("configure.ac");
    let text = fs::read_to_string(&configure).map_err(|e| {
        format!(
            "No nDPI source at {} ({origin}): {}: {e}.\n\n\
             Fix: point NDPI_SOURCE_DIR at an unpacked nDPI {series} source tree, or unset it to \
             use the pinned source, or set NDPI_NO_VENDOR=1 to link a system libndpi {series} \
             (Debian: apt-get install libndpi-dev).",
            dir.display(),
            configure.display()
        )
    })?;
    if !text.contains(&format!("AC_INIT([libndpi], [{release}])")) {
        return Err(format!(
            "{} ({origin}) is not nDPI {release}; these bindings are written for {series} only.\n\n\
             Fix: point NDPI_SOURCE_DIR at nDPI {series}, or unset it to use the pinned source.",
            dir.display()
        ));
    }
    Ok(dir)
}

/// `rerun-if-changed` only for paths that exist: cargo reruns the build script on every build
/// when a named path is missing.
fn rerun_if_changed(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn c_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    files.sort();
    Ok(files)
}

/// Copies nDPI's headers into `include` and writes the three that autotools would generate.
fn write_headers(source: &Path, include: &Path, gcrypt: bool) -> Result<(), String> {
    let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
    fs::create_dir_all(include).map_err(|e| io(include, e))?;
    let headers = source.join("src/include");
    for entry in fs::read_dir(&headers).map_err(|e| io(&headers, e))? {
        let path = entry.map_err(|e| io(&headers, e))?.path();
        if path.extension().is_some_and(|ext| ext == "h") {
            let text = fs::read(&path).map_err(|e| io(&path, e))?;
            write_if_changed(
                &include.join(path.file_name().expect("a file has a name")),
                &text,
            )?;
        }
    }

    let substitute = |template: &str, pairs: &[(&str, &str)]| -> Result<(), String> {
        let from = headers.join(format!("{template}.in"));
        let mut text = fs::read_to_string(&from).map_err(|e| io(&from, e))?;
        for (key, value) in pairs {
            text = text.replace(key, value);
        }
        write_if_changed(&include.join(template), text.as_bytes())
    };
    let (major, minor, patch) = VERSION;
    substitute(
        "ndpi_define.h",
        &[
            ("@NDPI_MAJOR@", &major.to_string()),
            ("@NDPI_MINOR@", &minor.to_string()),
            ("@NDPI_PATCH@", &patch.to_string()),
        ],
    )?;
    substitute(
        "ndpi_api.h",
        &[("@NDPI_API_VERSION@", &API_VERSION.to_string())],
    )?;

    write_if_changed(
        &include.join("ndpi_config.h"),
        config_header(gcrypt).as_bytes(),
    )
}

/// Writes `path` only when its content differs, so unchanged headers keep their mtimes and
/// cargo sees nothing to rebuild.
fn write_if_changed(path: &Path, content: &[u8]) -> Result<(), String> {
    if fs::read(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    fs::write(path, content).map_err(|e| format!("{}: {e}", path.display()))
}

/// The few `HAVE_*` and release macros nDPI's sources read from autotools' `ndpi_config.h`.
fn config_header(gcrypt: bool) -> String {
    let gcrypt = if gcrypt {
        "#define HAVE_LIBGCRYPT 1"
    } else {
        "/* HAVE_LIBGCRYPT: off (feature `gcrypt` disabled) */"
    };
    let ((major, minor, patch), release) = (VERSION, release());
    format!(
        "/* Written by ndpi-sys's build script in place of autotools' ndpi_config.h. */\n\
         #ifndef NDPI_SYS_CONFIG_H\n#define NDPI_SYS_CONFIG_H\n\
         {gcrypt}\n\
         #define NDPI_MAJOR_RELEASE \"{major}\"\n#define NDPI_MINOR_RELEASE \"{minor}\"\n\
         #define NDPI_PATCH_LEVEL \"{patch}\"\n\
         #define NDPI_GIT_RELEASE \"{release}\"\n#define NDPI_GIT_DATE \"{RELEASE_DATE}\"\n\
         #define PACKAGE_VERSION \"{release}\"\n\
         #endif\n"
    )
}

fn link_gcrypt() -> Result<(), String> {
    pkg_config::Config::new()
        .probe("libgcrypt")
        .map(|_| ())
        .map_err(|e| {
            format!(
                "libgcrypt (needed for QUIC SNI/ALPN) was not found: {e}\n\n\
             Fix: `apt-get install libgcrypt20-dev pkg-config`, or build without it: \
             `default-features = false` on ndpi-sys (QUIC sub-classification is then lost)."
            )
        })
}

fn opt_level() -> u32 {
    match env::var("OPT_LEVEL").as_deref() {
        Ok("1") => 1,
        Ok("2") => 2,
        Ok("3") => 3,
        _ => 0,
    }
}
