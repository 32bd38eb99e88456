//! Turns `DEP_NDPI_VERSION_NUMBER` (exported by `ndpi-sys`) into `ndpi_X_Y` cfg flags, so that
//! code for a particular nDPI release has one obvious place to live: `#[cfg(ndpi_4_2)]` means
//! "built against nDPI 4.2 or newer".

/// Every nDPI release the cfgs can name, as `(MAJOR, MINOR)`. Add one here when support for a
/// new release lands in `ndpi-sys`.
const RELEASES: [(u32, u32); 1] = [(4, 2)];

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_NDPI_VERSION_NUMBER");
    let version: u32 = std::env::var("DEP_NDPI_VERSION_NUMBER")
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("ndpi-sys exports DEP_NDPI_VERSION_NUMBER");
    for (major, minor) in RELEASES {
        let name = format!("ndpi_{major}_{minor}");
        println!("cargo:rustc-check-cfg=cfg({name})");
        if version >= major * 10000 + minor * 100 {
            println!("cargo:rustc-cfg={name}");
        }
    }
}
