//! System mode: link the libndpi of the bindings' release series (`VERSION`'s major.minor) that
//! pkg-config finds (Debian 12: `libndpi-dev`, 4.2).

use crate::{series, Library, VERSION};

pub fn probe() -> Result<Library, String> {
    let series = series();
    let next = format!("{}.{}", VERSION.0, VERSION.1 + 1);
    let library = pkg_config::Config::new()
        .range_version(series.as_str()..next.as_str())
        .probe("libndpi")
        .map_err(|e| {
            format!(
                "NDPI_NO_VENDOR (or the `system` feature) asks for a system libndpi {series}.x, \
                 but pkg-config did not provide one:\n{e}\n\n\
                 Fix: `apt-get install libndpi-dev pkg-config` (Debian 12 ships 4.2), or unset \
                 NDPI_NO_VENDOR to build the pinned source instead."
            )
        })?;
    Ok(Library {
        include_dirs: library.include_paths,
    })
}
