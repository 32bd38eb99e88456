//! Safe Rust bindings to nDPI 4.2 (work in progress).
#![deny(missing_docs)]

pub use ndpi_sys as sys;

mod record;
pub use record::{Direction, DnsInfo, EndReason, FlowRecord, HttpInfo, SshInfo, TlsQuicInfo};
