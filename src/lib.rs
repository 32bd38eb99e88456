//! Safe Rust bindings to [nDPI](https://github.com/ntop/nDPI) 4.2 (work in progress).
#![deny(missing_docs)]

pub use ndpi_sys as sys;

mod capture;
mod decode;
mod detector;
mod error;
mod flow;
mod locality;
mod metadata;
mod protocol;
mod record;
mod tracker;

pub use capture::{Capture, CaptureStats, Frame, LiveOptions, Next};
pub use decode::{decode, tcp_flags, DecodeOptions, DropReason, LinkType, Packet, Tunnel};
pub use detector::{Detector, DetectorBuilder};
pub use error::Error;
pub use flow::{Flow, GiveUp};
pub use locality::{direction, Cidr};
pub use metadata::{Dns, Http, Ssh, Text, TlsQuic};
pub use protocol::{Breed, Category, Confidence, Protocol, ProtocolId, Risk, Risks};
pub use record::{Direction, DnsInfo, EndReason, FlowRecord, HttpInfo, SshInfo, TlsQuicInfo};
pub use tracker::{FlowEvent, Tracker, TrackerConfig, TrackerStats};
