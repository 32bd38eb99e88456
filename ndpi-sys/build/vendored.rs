//! Vendored mode: compile the pinned nDPI source with `cc`, without autotools.
//!
//! autotools would generate a few headers; we write them ourselves into `OUT_DIR/include`
//! next to copies of nDPI's public headers, so that dependents get one include directory that
//! looks like an installed libndpi. What differs between releases comes from [`Release`].

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use crate::releases::Release;
use crate::Library;

/// Compiles nDPI and links it statically. With `headers_only` (docs.rs), it only prepares the
/// headers that bindgen reads, and neither compiles nor links anything.
pub fn build(release: &'static Release, headers_only: bool) -> Result<Library, String> {
    let source = source_dir(release)?;
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // One directory per release: switching NDPI_VERSION in one OUT_DIR must not leave the
    // other release's headers where the compiler and bindgen look.
    let include = out.join(format!("include-{}", release.series()));

    write_headers(release, &source, &include)?;
    rerun_if_changed(&source.join("src"));
    rerun_if_changed(&source.join(STAMP));
    let library = Library {
        release,
        include_dirs: vec![include.clone()],
    };
    if headers_only {
        return Ok(library);
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
    for define in release.defines() {
        build.define(define, None);
    }
    for dir in release.source_dirs() {
        for file in c_files(&source.join(dir))? {
            if !release.skips(&file.to_string_lossy()) {
                build.file(file);
            }
        }
    }
    build
        .try_compile("ndpi")
        .map_err(|e| format!("compiling nDPI failed: {e}"))?;

    for dependency in release.dependencies() {
        link(&dependency)?;
    }
    for lib in release.system_libs() {
        println!("cargo:rustc-link-lib={lib}");
    }
    Ok(library)
}

/// The file `vendor/fetch.sh` writes into a source it verified.
const STAMP: &str = ".verified-content-sha256";

/// Finds the nDPI source of `release`, in this order:
/// 1. `NDPI_SOURCE_DIR`, when set (and then nothing else);
/// 2. `nDPI-SERIES/` inside this crate: the copy a packaged ndpi-sys carries
///    (`scripts/package-ndpi-sys.sh` puts it there);
/// 3. the repository's `vendor/nDPI-SERIES` next to this crate (a path or git dependency). When
///    the repository's `vendor/fetch.sh` is there too, it runs first: it fetches and verifies
///    the pinned source if it is missing or not the pinned one, and is quiet otherwise.
///
/// Whatever is found is checked to be `release`.
fn source_dir(release: &Release) -> Result<PathBuf, String> {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    if let Some(dir) = env::var_os("NDPI_SOURCE_DIR") {
        return check_source(release, PathBuf::from(dir), "NDPI_SOURCE_DIR");
    }
    let name = format!("nDPI-{}", release.series());
    let packaged = manifest.join(&name);
    if packaged.join("configure.ac").is_file() {
        return check_source(release, packaged, "the nDPI copy in the ndpi-sys package");
    }
    let vendor = manifest.parent().unwrap_or(&manifest).join("vendor");
    let repository = vendor.join(&name);
    let fetch = vendor.join("fetch.sh");
    let missing = |why: &str| missing(release, &packaged, &repository, why);
    if fetch.is_file() {
        rerun_if_changed(&vendor.join(format!("ndpi-{}.pin", release.series())));
        run_fetch(release, &fetch, &repository).map_err(|why| missing(&why))?;
    }
    if repository.join("configure.ac").is_file() {
        return check_source(release, repository, &format!("vendor/{name}"));
    }
    let why = if fetch.is_file() {
        format!("{} succeeded but left no source there.", fetch.display())
    } else {
        format!(
            "No repository around this crate can fetch it: {} does not exist.",
            fetch.display()
        )
    };
    Err(missing(&why))
}

/// Runs the repository's `vendor/fetch.sh SERIES` (it honours `NDPI_TARBALL` and
/// `NDPI_MIRROR_DIR`), which puts the verified source in `vendor/nDPI-SERIES`: the
/// repository's own, git-ignored place for it, where nDPI's test captures are found too. What
/// the script says ends up in the error, or in a warning when it fetched something.
fn run_fetch(release: &Release, fetch: &Path, dest: &Path) -> Result<(), String> {
    let output = std::process::Command::new("bash")
        .arg(fetch)
        .arg(release.series())
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
/// ways out.
fn missing(release: &Release, packaged: &Path, repository: &Path, why: &str) -> String {
    let series = release.series();
    format!(
        "No nDPI {series} source. Looked for it in NDPI_SOURCE_DIR (not set), {} (the copy a \
         packaged ndpi-sys carries) and {} (the repository's vendor/fetch.sh puts it there).\n\
         {why}\n\n\
         Fix, one of:\n\
         - NDPI_TARBALL=/path/to/nDPI-{series}.tar.gz: a local copy of nDPI {series}'s release \
         tarball, which the repository's vendor/fetch.sh verifies (by content, against \
         vendor/ndpi-{series}.pin) and unpacks;\n\
         - NDPI_SOURCE_DIR=/path/to/nDPI: an unpacked nDPI {series} source tree;\n\
         - NDPI_VERSION: another release these bindings know;\n\
         - NDPI_NO_VENDOR=1: link a system libndpi through pkg-config instead \
         (Debian 12: apt-get install libndpi-dev pkg-config, nDPI 4.2).",
        packaged.display(),
        repository.display()
    )
}

fn check_source(release: &Release, dir: PathBuf, origin: &str) -> Result<PathBuf, String> {
    let (series, full) = (release.series(), release.release());
    let configure = dir.join("configure.ac");
    let text = fs::read_to_string(&configure).map_err(|e| {
        format!(
            "No nDPI source at {} ({origin}): {}: {e}.\n\n\
             Fix: point NDPI_SOURCE_DIR at an unpacked nDPI {series} source tree, or unset it to \
             use the pinned source.",
            dir.display(),
            configure.display()
        )
    })?;
    // 4.2 writes `AC_INIT([libndpi], [4.2.0])`, 4.10 `AC_INIT([libndpi],[4.10.0])`.
    let init = text.lines().find(|line| line.starts_with("AC_INIT("));
    let says =
        init.is_some_and(|line| line.replace(' ', "") == format!("AC_INIT([libndpi],[{full}])"));
    if !says {
        return Err(format!(
            "{} ({origin}) is not nDPI {full} (its configure.ac says {}).\n\n\
             Fix: point NDPI_SOURCE_DIR at nDPI {series}, or set NDPI_VERSION to the release it is.",
            dir.display(),
            init.unwrap_or("no AC_INIT")
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

/// Copies nDPI's headers into `include` and writes the ones autotools would generate.
fn write_headers(release: &Release, source: &Path, include: &Path) -> Result<(), String> {
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
    for (template, pairs) in release.templates() {
        let from = headers.join(format!("{template}.in"));
        let mut text = fs::read_to_string(&from).map_err(|e| io(&from, e))?;
        for (key, value) in pairs {
            text = text.replace(key, &value);
        }
        if let Some(left) = placeholder(&text) {
            return Err(format!("{}: {left} is not substituted", from.display()));
        }
        write_if_changed(&include.join(template), text.as_bytes())?;
    }
    write_if_changed(
        &include.join("ndpi_config.h"),
        config_header(release).as_bytes(),
    )
}

/// The first autotools placeholder (`@NAME@`) left in `text`: a release whose template gained
/// one needs a row in `Release::templates`.
fn placeholder(text: &str) -> Option<&str> {
    text.match_indices('@').find_map(|(start, _)| {
        let name_len = text[start + 1..]
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .filter(|&n| n > 0 && text[start + 1 + n..].starts_with('@'))?;
        Some(&text[start..start + name_len + 2])
    })
}

/// Writes `path` only when its content differs, so unchanged headers keep their mtimes and
/// cargo sees nothing to rebuild.
fn write_if_changed(path: &Path, content: &[u8]) -> Result<(), String> {
    if fs::read(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    fs::write(path, content).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `HAVE_*`/`USE_*` and release macros nDPI's sources read from autotools' `ndpi_config.h`.
fn config_header(release: &Release) -> String {
    let ((major, minor, patch), full) = (release.version, release.release());
    let date = release.date;
    let features = release.config_macros().join("\n");
    format!(
        "/* Written by ndpi-sys's build script in place of autotools' ndpi_config.h. */\n\
         #ifndef NDPI_SYS_CONFIG_H\n#define NDPI_SYS_CONFIG_H\n\
         {features}\n\
         #define NDPI_MAJOR_RELEASE \"{major}\"\n#define NDPI_MINOR_RELEASE \"{minor}\"\n\
         #define NDPI_PATCH_LEVEL \"{patch}\"\n\
         #define NDPI_GIT_RELEASE \"{full}\"\n#define NDPI_GIT_DATE \"{date}\"\n\
         #define PACKAGE_VERSION \"{full}\"\n\
         #endif\n"
    )
}

/// Links a library through pkg-config, or says which feature wants it and how to install it.
fn link(dependency: &crate::releases::Dependency) -> Result<(), String> {
    pkg_config::Config::new()
        .probe(dependency.pkg_config)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "{} (feature `{}`: {}) was not found: {e}\n\n\
                 Fix: `apt-get install {} pkg-config`, or build without the feature \
                 (default-features = false on ndpi-sys, then enable the ones you want).",
                dependency.pkg_config, dependency.feature, dependency.purpose, dependency.debian
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
