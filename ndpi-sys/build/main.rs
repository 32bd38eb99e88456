//! Build script of `ndpi-sys`: picks the nDPI release (see [`releases`]), finds or builds it,
//! then generates the bindings.
//!
//! Two modes:
//! - vendored (default): compile the pinned nDPI source (fetched and verified by
//!   `vendor/fetch.sh`) with `cc`, generating the headers autotools would make;
//! - system (`NDPI_NO_VENDOR=1` or the `system` feature): link a system libndpi of a release
//!   series the bindings know, found by pkg-config.
//!
//! Either way, bindgen then runs on the headers actually used, and the crate exports
//! `DEP_NDPI_VERSION_NUMBER`, `DEP_NDPI_API_VERSION` and `DEP_NDPI_INCLUDE` to its dependents.
//!
//! The vendored source is looked for in `NDPI_SOURCE_DIR`, then in the copy a packaged ndpi-sys
//! carries (`nDPI-VERSION/` in the crate), then in the repository's `vendor/nDPI-VERSION`
//! (fetched by `vendor/fetch.sh` when missing); see `vendored::source_dir`.
//!
//! On docs.rs (`DOCS_RS` set) only the headers are prepared and bound: nothing is compiled or
//! linked, and the `system` mode is ignored (docs.rs has no libndpi).

mod bindings;
mod releases;
mod system;
mod vendored;

use std::env;
use std::path::PathBuf;

use releases::Release;

/// What the library build hands to the bindings step and to dependents.
pub struct Library {
    /// The release found or built.
    pub release: &'static Release,
    /// Directories holding `ndpi_api.h` and everything it includes.
    pub include_dirs: Vec<PathBuf>,
}

fn main() {
    for var in [
        "NDPI_VERSION",
        "NDPI_NO_VENDOR",
        "NDPI_SOURCE_DIR",
        "NDPI_TARBALL",
        "NDPI_MIRROR_DIR",
        "DOCS_RS",
        "LIBCLANG_PATH",
        "PKG_CONFIG_PATH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-changed=wrapper.h");

    let library = build().unwrap_or_else(|message| fail(&message));
    bindings::generate(&library).unwrap_or_else(|message| fail(&message));

    let release = library.release;
    for known in &releases::RELEASES {
        println!("cargo:rustc-check-cfg=cfg({})", known.cfg());
        if release.version >= known.version {
            println!("cargo:rustc-cfg={}", known.cfg());
        }
    }
    println!("cargo:version_number={}", release.number());
    println!("cargo:api_version={}", release.api_version);
    let includes =
        env::join_paths(&library.include_dirs).expect("include paths contain no separator");
    println!("cargo:include={}", includes.to_string_lossy());
}

fn build() -> Result<Library, String> {
    let asked = releases::asked()?;
    let docs_only = env::var_os("DOCS_RS").is_some();
    if wants_system() && !docs_only {
        system::probe(asked)
    } else {
        vendored::build(asked.unwrap_or(releases::DEFAULT), docs_only)
    }
}

fn wants_system() -> bool {
    let env_says = env::var("NDPI_NO_VENDOR").is_ok_and(|v| !v.is_empty() && v != "0");
    env_says || env::var_os("CARGO_FEATURE_SYSTEM").is_some()
}

/// Whether a cargo feature of this crate is on.
pub fn feature(name: &str) -> bool {
    env::var_os(format!("CARGO_FEATURE_{}", name.to_uppercase())).is_some()
}

/// Stops the build with one message that says what went wrong and what to run.
fn fail(message: &str) -> ! {
    eprintln!("\nerror: ndpi-sys could not build nDPI\n\n{message}\n");
    std::process::exit(1);
}
