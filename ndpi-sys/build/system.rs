//! System mode: link the libndpi 4.2.x that pkg-config finds (Debian: `libndpi-dev`).

use crate::Library;

pub fn probe() -> Result<Library, String> {
    let library = pkg_config::Config::new()
        .range_version("4.2".."4.3")
        .probe("libndpi")
        .map_err(|e| {
            format!(
                "NDPI_NO_VENDOR (or the `system` feature) asks for a system libndpi 4.2.x, \
                 but pkg-config did not provide one:\n{e}\n\n\
                 Fix: `apt-get install libndpi-dev pkg-config` (Debian 12 ships 4.2), or unset \
                 NDPI_NO_VENDOR to build the pinned source instead."
            )
        })?;
    Ok(Library {
        include_dirs: library.include_paths,
    })
}
