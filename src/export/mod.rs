//! Flow export to collectors: IPFIX (RFC 7011) over UDP or TCP.
//!
//! [`Exporter`] takes the tracker's [`FlowRecord`](crate::FlowRecord)s (the one schema) and
//! sends them to a [`Collector`] from a thread of its own: a collector that is down, refuses
//! or is unreachable is counted in [`ExportStats`], never an error of the caller. [`ipfix`]
//! holds the encoding (templates, elements, the application ID) and a small decoder.

mod exporter;
pub mod ipfix;

pub use exporter::{Collector, ExportConfig, ExportStats, Exporter};
