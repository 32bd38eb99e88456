//! The nDPI releases the bindings know, and everything their builds differ in: the one place
//! a new release is added (its table row and the `match`es below).
//!
//! `NDPI_VERSION` picks one ("4.10", the default, or "4.2"). `tests/version.rs` checks that the
//! repository's `vendor/ndpi-VERSION.pin` files, which `vendor/fetch.sh` reads, pin the same
//! releases.

use std::env;

/// One nDPI release.
pub struct Release {
    /// `(MAJOR, MINOR, PATCH)`. The check of a source's `configure.ac`, the version macros of
    /// the headers a vendored build writes (and so `ndpi_sys::VERSION_NUMBER`, which bindgen
    /// reads from them), pkg-config's accepted range and `DEP_NDPI_VERSION_NUMBER` derive from it.
    pub version: (u32, u32, u32),
    /// `NDPI_API_VERSION`. autotools derives it from git history, which a release tarball
    /// lacks: 4.2's is the value of Debian's libndpi-dev headers; 4.10's is what autotools
    /// computes for the release tarball (`SOURCE_DATE_EPOCH % 65536`, with the tag's commit
    /// time, 1722843982).
    pub api_version: u32,
    /// `NDPI_GIT_DATE`, as autotools writes it for a release tarball (the date of its
    /// `CHANGELOG.md`).
    pub date: &'static str,
}

/// Newest first.
pub const RELEASES: [Release; 2] = [
    Release {
        version: (4, 10, 0),
        api_version: 33614,
        date: "Mon Aug  5 07:46:22 UTC 2024",
    },
    Release {
        version: (4, 2, 0),
        api_version: 8668,
        date: "Tue Feb  1 08:14:05 UTC 2022",
    },
];

/// The release built when `NDPI_VERSION` is not set.
pub const DEFAULT: &Release = &RELEASES[0];

/// The release `NDPI_VERSION` asks for, if it is set.
pub fn asked() -> Result<Option<&'static Release>, String> {
    let Some(value) = env::var_os("NDPI_VERSION") else {
        return Ok(None);
    };
    let value = value.to_string_lossy();
    RELEASES
        .iter()
        .find(|r| r.series() == value || r.release() == value)
        .map(Some)
        .ok_or_else(|| {
            let known: Vec<String> = RELEASES.iter().map(Release::series).collect();
            format!(
                "NDPI_VERSION={value} is not a release these bindings know ({}).\n\n\
                 Fix: set NDPI_VERSION to one of them, or unset it for {}.",
                known.join(", "),
                DEFAULT.series()
            )
        })
}

/// A library the vendored build links, and what to install when pkg-config cannot find it.
pub struct Dependency {
    /// pkg-config's name for it.
    pub pkg_config: &'static str,
    /// The cargo feature that asks for it.
    pub feature: &'static str,
    /// What nDPI uses it for.
    pub purpose: &'static str,
    /// The Debian package that provides it.
    pub debian: &'static str,
}

const GCRYPT: Dependency = Dependency {
    pkg_config: "libgcrypt",
    feature: "gcrypt",
    purpose: "decrypting QUIC Initial packets (QUIC SNI/ALPN)",
    debian: "libgcrypt20-dev",
};

impl Release {
    /// "4.10": the release series, which is what the bindings are written for.
    pub fn series(&self) -> String {
        format!("{}.{}", self.version.0, self.version.1)
    }

    /// "4.10.0": the release itself.
    pub fn release(&self) -> String {
        let (major, minor, patch) = self.version;
        format!("{major}.{minor}.{patch}")
    }

    /// The cfg set when building against this release or a later one: `ndpi410` for 4.10
    /// (as `openssl` has `ossl300`). `ndpi`'s build script derives the same from
    /// `DEP_NDPI_VERSION_NUMBER`.
    pub fn cfg(&self) -> String {
        format!("ndpi{}{:02}", self.version.0, self.version.1)
    }

    /// `MAJOR * 10000 + MINOR * 100 + PATCH`.
    pub fn number(&self) -> u32 {
        let (major, minor, patch) = self.version;
        major * 10000 + minor * 100 + patch
    }

    /// Source directories whose `*.c` files (not recursive) make up libndpi. Other `.c` files
    /// (`*.c.inc`, `roaring.cc`, 4.2's `hll/*.c`, 4.10's `gcrypt/*.c`) are `#include`d.
    pub fn source_dirs(&self) -> &'static [&'static str] {
        match self.version {
            (4, 2, _) => &["src/lib", "src/lib/protocols", "src/lib/third_party/src"],
            _ => &[
                "src/lib",
                "src/lib/protocols",
                "src/lib/third_party/src",
                "src/lib/third_party/src/hll",
            ],
        }
    }

    /// Whether `file` (a path relative to the source) stays out of the library with these
    /// features: 4.10's built-in "gcrypt light" when the system libgcrypt is linked instead.
    pub fn skips(&self, file: &str) -> bool {
        self.version >= (4, 10, 0)
            && crate::feature("gcrypt")
            && file.ends_with("third_party/src/gcrypt_light.c")
    }

    /// The `*.in` templates autotools would fill in, with their substitutions.
    pub fn templates(&self) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
        let (major, minor, patch) = self.version;
        let version = vec![
            ("@NDPI_MAJOR@", major.to_string()),
            ("@NDPI_MINOR@", minor.to_string()),
            ("@NDPI_PATCH@", patch.to_string()),
        ];
        let api = ("@NDPI_API_VERSION@", self.api_version.to_string());
        match self.version {
            (4, 2, _) => vec![("ndpi_define.h", version), ("ndpi_api.h", vec![api])],
            _ => {
                let mut define = version;
                define.push(api);
                // `--enable-tls-sigs` is off by default: the line stays commented out.
                define.push(("@HANDLE_TLS_SIGS@", "//".to_owned()));
                vec![("ndpi_define.h", define)]
            }
        }
    }

    /// The `HAVE_*`/`USE_*` lines of `ndpi_config.h` for the enabled features.
    pub fn config_macros(&self) -> Vec<&'static str> {
        let mut lines = Vec::new();
        match self.version {
            (4, 2, _) => {
                if crate::feature("gcrypt") {
                    lines.push("#define HAVE_LIBGCRYPT 1");
                }
            }
            _ => {
                if crate::feature("gcrypt") {
                    lines.push("#define USE_HOST_LIBGCRYPT 1");
                }
                if crate::feature("pcre2") {
                    lines.push("#define HAVE_PCRE2 1");
                }
                if crate::feature("maxminddb") {
                    lines.push("#define HAVE_MAXMINDDB 1");
                }
            }
        }
        lines
    }

    /// Macros defined on the compiler's command line (configure's `NDPI_CFLAGS`).
    pub fn defines(&self) -> &'static [&'static str] {
        match self.version {
            (4, 2, _) => &[],
            // On by default in 4.10's configure: caches can be shared between modules.
            _ => &["USE_GLOBAL_CONTEXT"],
        }
    }

    /// The system libraries a vendored build links, for the enabled features.
    pub fn dependencies(&self) -> Vec<Dependency> {
        let mut wanted = Vec::new();
        if crate::feature("gcrypt") {
            wanted.push(GCRYPT);
        }
        if self.version >= (4, 10, 0) {
            if crate::feature("gcrypt") {
                wanted.push(Dependency {
                    pkg_config: "gpg-error",
                    feature: "gcrypt",
                    purpose: "libgcrypt's error strings",
                    debian: "libgpg-error-dev",
                });
            }
            if crate::feature("pcre2") {
                wanted.push(Dependency {
                    pkg_config: "libpcre2-8",
                    feature: "pcre2",
                    purpose: "the RCE-injection check of HTTP URLs",
                    debian: "libpcre2-dev",
                });
            }
            if crate::feature("maxminddb") {
                wanted.push(Dependency {
                    pkg_config: "libmaxminddb",
                    feature: "maxminddb",
                    purpose: "GeoIP lookups (ndpi_load_geoip)",
                    debian: "libmaxminddb-dev",
                });
            }
        }
        wanted
    }

    /// Types bindgen must bind as opaque blobs (clang's size and alignment, no fields): structs
    /// whose bitfield layout bindgen gets wrong, which the wrapper does not read.
    pub fn opaque_types(&self) -> &'static [&'static str] {
        match self.version {
            (4, 2, _) => &[],
            // u_int32_t bitfields that start inside the bytes of a preceding u_int8_t array.
            _ => &["ndpi_flow_tcp_struct"],
        }
    }

    /// Plain system libraries a vendored build links besides [`Release::dependencies`].
    pub fn system_libs(&self) -> &'static [&'static str] {
        match self.version {
            (4, 2, _) => &["m"],
            _ => &["m", "pthread"],
        }
    }
}
