//! System mode: link a libndpi that pkg-config finds, of a release series the bindings know
//! (Debian 12: `libndpi-dev`, 4.2), or of the one `NDPI_VERSION` asks for.

use crate::releases::{Release, RELEASES};
use crate::Library;

pub fn probe(asked: Option<&'static Release>) -> Result<Library, String> {
    let candidates: Vec<&'static Release> = match asked {
        Some(release) => vec![release],
        None => RELEASES.iter().collect(),
    };
    let mut tried = Vec::new();
    for release in candidates {
        let series = release.series();
        let next = format!("{}.{}", release.version.0, release.version.1 + 1);
        match pkg_config::Config::new()
            .range_version(series.as_str()..next.as_str())
            .probe("libndpi")
        {
            Ok(library) => {
                return Ok(Library {
                    release,
                    include_dirs: library.include_paths,
                })
            }
            Err(e) => tried.push(format!("libndpi {series}.x: {e}")),
        }
    }
    Err(format!(
        "NDPI_NO_VENDOR (or the `system` feature) asks for a system libndpi, but pkg-config did \
         not provide one the bindings know:\n{}\n\n\
         Fix: `apt-get install libndpi-dev pkg-config` (Debian 12 ships 4.2), or unset \
         NDPI_NO_VENDOR to build the pinned source instead.",
        tried.join("\n")
    ))
}
