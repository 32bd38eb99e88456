//! Safe Rust bindings to [nDPI](https://github.com/ntop/nDPI) 4.10 (or 4.2), ntop's deep
//! packet inspection library: classify traffic exactly as nDPI does, from L3 packets, raw frames,
//! pcap files or live interfaces.
//!
//! # Layers
//! - [`Detector`] owns nDPI's detection module ([`DetectorBuilder`]: protocol selection and
//!   nDPI's custom files). [`Flow`] owns one flow's nDPI state and borrows its detector, so a
//!   flow can neither outlive its module nor be handed to another one.
//! - [`Protocol`] (master/app pair, "TLS.Google"), [`ProtocolId`], [`Category`], [`Breed`],
//!   [`Confidence`] and [`Risks`] describe a classification.
//! - [`Http`], [`Dns`], [`Ssh`] and [`TlsQuic`] are typed views of the metadata nDPI
//!   extracted, borrowed from the flow; each checks the detected protocol before touching
//!   nDPI's `protos` union, so asking a DNS flow for TLS data gives `None`.
//! - [`decode()`] turns captured frames (Ethernet, Linux cooked, raw IP, PPP, 802.11, ...,
//!   with VLAN/MPLS/PPPoE and optional tunnels) into the L3 packets nDPI wants, without
//!   copying. [`Tracker`] keys them into bidirectional flows, runs nDPI until detection is
//!   final, then keeps a compact owned [`FlowRecord`] and frees nDPI's state.
//! - [`export::Exporter`] sends flow records to an IPFIX collector over UDP or TCP.
//! - [`Capture`] reads pcap/pcapng files from a memory map, lending each frame without a copy
//!   (standard input and pipes through a buffer), and live interfaces through libpcap;
//!   [`classify_file`] runs a whole file through a tracker, yielding its events as it reads.
//!
//! # Memory
//! - [`use_rust_allocator`], called first thing, makes nDPI allocate through the program's
//!   Rust global allocator (mimalloc, jemalloc, ...) instead of libc's `malloc`; after the
//!   first [`Detector`] it is an error, never a change of allocators.
//! - A flow in detection costs nDPI's flow state, from its detector's pool of exact-size
//!   slots, and about 180 bytes of the [`Tracker`]'s; packets of a flow, in detection or
//!   classified, allocate nothing. A record's protocol and category are shared [`Name`]s.
//!
//! # Example: every flow of a capture
//! [`classify_file`] does all of this in one call (an iterator of the events); spelled out:
//! ```
//! use ndpi::{Capture, Detector, FlowEvent, Next, Tracker, TrackerConfig};
//!
//! let detector = Detector::new()?;
//! let mut capture = Capture::open_file(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/loopback.pcap"))?;
//! let mut tracker = Tracker::new(&detector, TrackerConfig::ndpi_reader_offline());
//! while let Next::Frame(frame) = capture.next_frame()? {
//!     tracker.process_frame(frame)?; // by the frame's link type
//! }
//! tracker.finish();
//! let records: Vec<_> = tracker.drain_events().filter_map(|e| match e {
//!     FlowEvent::Ended(record) => Some(record),
//!     _ => None,
//! }).collect();
//! for r in &records {
//!     println!("{} {}:{} -> {}:{} {:?}", r.l7_proto_name, r.tuple.cli_ip, r.tuple.cli_port, r.tuple.srv_ip, r.tuple.srv_port, r.host_server_name);
//! }
//! # assert_eq!(records.len(), 9, "tests/data/loopback.pcap holds 9 flows");
//! assert!(records.iter().any(|r| r.l7_proto_name == "TLS"
//!     && r.host_server_name.as_deref() == Some("secure.example")));
//! # Ok::<(), ndpi::Error>(())
//! ```
//!
//! # Example: one flow by hand, then its SNI
//! ```
//! use ndpi::{decode, Capture, DecodeOptions, Detector, Flow, Next};
//!
//! let detector = Detector::new()?;
//! let mut capture = Capture::open_file(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/loopback.pcap"))?;
//! let link = capture.link_type().expect("a supported link type");
//! let mut flow = Flow::new(&detector)?;
//! let mut client_port = None;
//! while let Next::Frame(frame) = capture.next_frame()? {
//!     let Ok(packet) = decode(link, frame.data, DecodeOptions::default()) else { continue };
//!     // Follow the first connection to the TLS server on port 8443.
//!     let port = if packet.dst_port == 8443 { packet.src_port } else if packet.src_port == 8443 { packet.dst_port } else { continue };
//!     if *client_port.get_or_insert(port) != port {
//!         continue;
//!     }
//!     flow.process(packet.l3, frame.time_ms);
//!     if flow.is_detection_done() {
//!         break;
//!     }
//! }
//! assert_eq!(detector.protocol_name(flow.protocol()), "TLS");
//! let tls = flow.tls_quic().expect("a TLS flow has TLS metadata");
//! assert_eq!(tls.sni.unwrap(), "secure.example");
//! assert_eq!(flow.dns(), None); // the wrong protocol's view is refused
//! # Ok::<(), ndpi::Error>(())
//! ```
//!
//! # Features
//! On by default:
//! - `capture`: [`Capture`], [`LiveOptions`] and [`classify_file`]: files memory-mapped and
//!   parsed with pcap-parser, live interfaces and BPF filters through libpcap (the `pcap`
//!   crate). Without it, feed [`Tracker`] frames from anywhere.
//! - `serde`: `Serialize` for the flow record, its parts and [`TrackerStats`].
//! - `gcrypt`, `pcre2`, `maxminddb` (vendored builds): link the system's libgcrypt (4.2 needs
//!   it for QUIC SNI/ALPN; 4.10 otherwise uses its built-in "gcrypt light"), PCRE2 (4.10's
//!   RCE-injection check of HTTP URLs) and libmaxminddb (4.10's GeoIP lookups).
//!
//! Off by default: `system` links the system libndpi (4.2 or 4.10) instead of the vendored
//! static build; `arbitrary` derives `arbitrary::Arbitrary` for fuzzing.
//!
//! # Threads
//! [`Detector`] is `Send` but not `Sync`: nDPI updates the module while classifying. Run one
//! detector (and its tracker) per thread and shard flows between them. The thread that reads
//! can hand a file's frames to them by reference: [`Capture::shared_map`] shares the file's
//! memory map, in which every frame lies ([`SharedMap::range_of`]), and a [`MapLease`] keeps
//! the pages of frames handed on mapped until they are read.
//!
//! # Build
//! By default nDPI 4.10 is compiled from the pinned, checksum-verified source and linked
//! statically (see `ndpi-sys`); `NDPI_VERSION=4.2` builds 4.2 instead, and `NDPI_NO_VENDOR=1`
//! links a system `libndpi` (Debian's 4.2) dynamically. nDPI is LGPL-3.0: the repository
//! README explains what a static build means when you ship binaries.
#![deny(missing_docs)]

pub use ndpi_sys as sys;
/// The `pcap` crate, whose errors [`Error::Capture`] carries.
#[cfg(feature = "capture")]
pub use pcap;

mod alloc;
#[cfg(feature = "capture")]
mod capture;
mod compat;
mod decode;
mod detector;
mod error;
pub mod export;
mod flow;
mod frame;
mod locality;
mod metadata;
mod name;
#[cfg(feature = "capture")]
mod offline;
mod protocol;
mod record;
mod tracker;

pub use alloc::{ndpi_allocator, use_rust_allocator, NdpiAllocator};
#[cfg(feature = "capture")]
pub use capture::{Capture, CaptureStats, LiveOptions, MapLease, Next, SharedMap};
pub use decode::{decode, tcp_flags, DecodeOptions, DropReason, LinkType, Packet, Tunnel};
pub use detector::{Detector, DetectorBuilder, GlobalContext};
pub use error::Error;
#[cfg(feature = "capture")]
pub use error::{CaptureStep, FileError, FileErrorKind};
pub use flow::{Flow, GiveUp};
pub use frame::Frame;
pub use locality::{direction, Cidr};
pub use metadata::{CipherWeakness, Dns, Http, Ssh, Text, TlsQuic};
pub use name::Name;
#[cfg(feature = "capture")]
pub use offline::{classify_file, FileEvents};
pub use protocol::{Breed, Category, Confidence, Protocol, ProtocolId, Risk, Risks};
pub use record::{
    Direction, DnsInfo, EndReason, FlowRecord, FlowTuple, HttpInfo, L4Proto, SshInfo, TlsQuicInfo,
};
pub use tracker::{DropCounts, EndCounts, FlowEvent, Tracker, TrackerConfig, TrackerStats};

/// The repository README's Rust snippets, compiled and run as doctests (only under
/// `cargo test --doc`: the crate's rendered docs do not include the README).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
