//! Build script of `ndpi-sys`: finds or builds nDPI (the release in [`VERSION`]), then generates
//! the bindings.
//!
//! Two modes:
//! - vendored (default): compile the pinned nDPI source (fetched and verified by
//!   `vendor/fetch.sh`) with `cc`, generating the three headers autotools would make;
//! - system (`NDPI_NO_VENDOR=1` or the `system` feature): link the system libndpi of the
//!   same release series, found by pkg-config.
//!
//! Either way, bindgen then runs on the headers actually used, and the crate exports
//! `DEP_NDPI_VERSION_NUMBER`, `DEP_NDPI_API_VERSION` and `DEP_NDPI_INCLUDE` to its dependents.
//!
//! The vendored source is looked for in `NDPI_SOURCE_DIR`, then in the copy a packaged ndpi-sys
//! carries (`nDPI/` in the crate), then in the repository's `vendor/nDPI` (fetched by
//! `vendor/fetch.sh` when missing); see `vendored::source_dir`.
//!
//! On docs.rs (`DOCS_RS` set) only the headers are prepared and bound: nothing is compiled or
//! linked, and the `system` mode is ignored (docs.rs has no libndpi).

mod bindings;
mod system;
mod vendored;

use std::env;
use std::path::PathBuf;

/// The nDPI release these bindings are written for, `(MAJOR, MINOR, PATCH)`: the one place the
/// build writes it down. The check of a source's `configure.ac`, the version macros of the
/// headers a vendored build writes (and so `ndpi_sys::VERSION_NUMBER`, which bindgen reads from
/// them), pkg-config's accepted range, the error messages and `DEP_NDPI_VERSION_NUMBER` all
/// derive from it. `tests/version.rs` checks that the repository's `vendor/ndpi.pin`, which
/// `vendor/fetch.sh` reads, pins the same release.
pub const VERSION: (u32, u32, u32) = (4, 2, 0);
/// [`VERSION`] as `MAJOR * 10000 + MINOR * 100 + PATCH`.
pub const VERSION_NUMBER: u32 = VERSION.0 * 10000 + VERSION.1 * 100 + VERSION.2;
/// `NDPI_API_VERSION` of that release, as Debian's libndpi-dev headers define it (autotools
/// derives it from git history, which a release tarball lacks).
pub const API_VERSION: u32 = 8668;
/// `NDPI_GIT_DATE` of that release, as its autotools build writes it (the date of its
/// `CHANGELOG.md`).
pub const RELEASE_DATE: &str = "Tue Feb  1 08:14:05 UTC 2022";

/// "4.2": the release series, which is what the bindings are written for.
pub fn series() -> String {
    format!("{}.{}", VERSION.0, VERSION.1)
}

/// "4.2.0": the release itself.
pub fn release() -> String {
    format!("{}.{}.{}", VERSION.0, VERSION.1, VERSION.2)
}

/// What the library build hands to the bindings step and to dependents.
pub struct Library {
    /// Directories holding `ndpi_api.h` and everything it includes.
    pub include_dirs: Vec<PathBuf>,
}

fn main() {
    for var in [
        "NDPI_NO_VENDOR",
        "NDPI_SOURCE_DIR",
        "NDPI_TARBALL",
        "DOCS_RS",
        "LIBCLANG_PATH",
        "PKG_CONFIG_PATH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-changed=wrapper.h");

    let docs_only = env::var_os("DOCS_RS").is_some();
    let library = if wants_system() && !docs_only {
        system::probe()
    } else {
        vendored::build(docs_only)
    }
    .unwrap_or_else(|message| fail(&message));

    bindings::generate(&library).unwrap_or_else(|message| fail(&message));

    println!("cargo:version_number={VERSION_NUMBER}");
    println!("cargo:api_version={API_VERSION}");
    let includes =
        env::join_paths(&library.include_dirs).expect("include paths contain no separator");
    println!("cargo:include={}", includes.to_string_lossy());
}

fn wants_system() -> bool {
    let env_says = env::var("NDPI_NO_VENDOR").is_ok_and(|v| !v.is_empty() && v != "0");
    env_says || env::var_os("CARGO_FEATURE_SYSTEM").is_some()
}

/// Stops the build with one message that says what went wrong and what to run.
fn fail(message: &str) -> ! {
    eprintln!("\nerror: ndpi-sys could not build nDPI\n\n{message}\n");
    std::process::exit(1);
}
