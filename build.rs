//! Derives the `ndpi` crate's nDPI-release cfgs from `DEP_NDPI_VERSION_NUMBER`, which
//! `ndpi-sys` exports (`MAJOR * 10000 + MINOR * 100 + PATCH`): `ndpi410` when the linked nDPI is
//! 4.10 or later, as `openssl` derives `ossl300` from `DEP_OPENSSL_VERSION_NUMBER`. Only
//! `src/compat/` reads them.

/// The releases the crate knows, as `(cfg, first version number)`.
const RELEASES: [(&str, u32); 1] = [("ndpi410", 41000)];

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_NDPI_VERSION_NUMBER");
    let version: u32 = std::env::var("DEP_NDPI_VERSION_NUMBER")
        .expect("ndpi-sys exports DEP_NDPI_VERSION_NUMBER")
        .parse()
        .expect("DEP_NDPI_VERSION_NUMBER is a number");
    for (cfg, since) in RELEASES {
        println!("cargo:rustc-check-cfg=cfg({cfg})");
        if version >= since {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
}
