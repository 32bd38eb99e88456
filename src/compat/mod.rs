//! The nDPI release boundary: every call and every read of nDPI's structs whose form differs
//! between the releases `ndpi-sys` builds lives here, one file per release, picked by the cfgs
//! `build.rs` derives from `DEP_NDPI_VERSION_NUMBER`. The rest of the crate is release-free:
//! what a release lacks comes out as `None` (or an error for a setting it does not have).
//!
//! Each file defines the same items:
//! - `RELEASE`, the series ("4.10");
//! - `GlobalContext` (4.10's caches shared between modules; a unit in 4.2) and `init_module`;
//! - `set_config` (4.10's `ndpi_set_config`; 4.2 has no such API) and `load_categories_file`;
//! - `process_packet` and `give_up`;
//! - `protocol_from_raw`/`protocol_to_raw` and `TLS_QUIC_PROTOCOLS`;
//! - the metadata reads that moved or appeared: `tls_fingerprint_set`, `advertised_alpns`,
//!   `negotiated_alpn`, `ja4_client`, `http_server`, `dns_is_query`, `risk_infos`.
//!
//! Adding a release (say 5.x) means a new file here and a cfg in `build.rs`; see the README's
//! "nDPI releases".

#[cfg_attr(ndpi410, path = "v4_10.rs")]
#[cfg_attr(not(ndpi410), path = "v4_2.rs")]
mod release;

pub(crate) use release::*;
