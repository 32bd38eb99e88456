//! One flow's nDPI state: the owner of an `ndpi_flow_struct`.

use std::ptr::NonNull;

use crate::metadata::{Dns, Http, Ssh, Text, TlsQuic};
use crate::protocol::{Confidence, Protocol, Risk, Risks};
use crate::{compat, sys, Detector, Error};

/// nDPI's per-flow state, borrowed from the [`Detector`] that classifies it.
///
/// Feed it every L3 packet of one bidirectional flow, in order, with [`Flow::process`]
/// until [`Flow::is_detection_done`]; then read the metadata. The borrow makes it impossible to
/// pass the flow to another module or to use it after the module is gone.
pub struct Flow<'d> {
    raw: NonNull<sys::ndpi_flow_struct>,
    detector: &'d Detector,
    protocol: Protocol,
    guessed: bool,
}

/// The outcome of [`Flow::give_up`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiveUp {
    /// The final classification.
    pub protocol: Protocol,
    /// Whether it was guessed (from ports, addresses or partial matches) rather than detected.
    pub guessed: bool,
}

impl<'d> Flow<'d> {
    /// A fresh flow for `detector`.
    pub fn new(detector: &'d Detector) -> Result<Self, Error> {
        let size = std::mem::size_of::<sys::ndpi_flow_struct>();
        // SAFETY: allocation through nDPI's allocator, so that ndpi_free_flow may free it.
        let ptr = unsafe { sys::ndpi_flow_malloc(size) }.cast::<sys::ndpi_flow_struct>();
        let raw = NonNull::new(ptr).ok_or(Error::OutOfMemory("a flow"))?;
        // SAFETY: `raw` points to `size` writable bytes; nDPI requires a zeroed flow.
        unsafe { std::ptr::write_bytes(raw.as_ptr().cast::<u8>(), 0, size) };
        Ok(Flow {
            raw,
            detector,
            protocol: Protocol::default(),
            guessed: false,
        })
    }

    /// Classifies one packet: `l3` starts at the IPv4 or IPv6 header. `time_ms` is the packet
    /// time in milliseconds. Returns the classification so far. Packets longer than 65535
    /// bytes are cut to that (nDPI's length type); nDPI never reads past the slice.
    pub fn process(&mut self, l3: &[u8], time_ms: u64) -> Protocol {
        let len = l3.len().min(usize::from(u16::MAX)) as u16;
        // SAFETY: the module is initialized and outlives `self`; the flow is ours and was
        // zeroed at creation; nDPI reads at most `len` bytes of `l3`.
        let raw = unsafe {
            compat::process_packet(
                self.detector.as_ptr(),
                self.raw.as_ptr(),
                l3.as_ptr(),
                len,
                time_ms,
            )
        };
        self.protocol = Protocol::from_raw(raw);
        self.protocol
    }

    /// The classification returned by the last [`Flow::process`] or [`Flow::give_up`].
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Whether nDPI would look at more packets to extract metadata (e.g. a TLS certificate)
    /// even though the protocol is known.
    pub fn extra_dissection_possible(&self) -> bool {
        // SAFETY: module and flow are valid; nDPI only reads them.
        unsafe {
            sys::ndpi_extra_dissection_possible(self.detector.as_ptr(), self.raw.as_ptr()) != 0
        }
    }

    /// Detection is complete: an application protocol is known and nDPI wants no more
    /// packets for metadata.
    pub fn is_detection_done(&self) -> bool {
        !self.protocol.app.is_unknown() && !self.extra_dissection_possible()
    }

    /// Ends detection. If nothing was detected, nDPI guesses from what it saw (ports,
    /// addresses, partial matches); `guessed` says whether it did. Calling it on a detected
    /// flow keeps its classification.
    pub fn give_up(&mut self) -> GiveUp {
        let mut guessed = 0u8;
        // SAFETY: module and flow are valid.
        let raw =
            unsafe { compat::give_up(self.detector.as_ptr(), self.raw.as_ptr(), &mut guessed) };
        self.protocol = Protocol::from_raw(raw);
        self.guessed = guessed != 0;
        GiveUp {
            protocol: self.protocol,
            guessed: self.guessed,
        }
    }

    /// Whether [`Flow::give_up`] guessed the protocol.
    pub fn was_guessed(&self) -> bool {
        self.guessed
    }

    /// How sure nDPI is of the classification.
    pub fn confidence(&self) -> Confidence {
        Confidence(self.raw().confidence)
    }

    /// The risks nDPI found in this flow.
    pub fn risks(&self) -> Risks {
        Risks(self.raw().risk)
    }

    /// What nDPI wrote about the risks it found, in the order it found them (nDPI 4.10; none
    /// with 4.2), e.g. `(Risk::..., "No server to client traffic")`.
    pub fn risk_infos(&self) -> impl Iterator<Item = (Risk, Text<'_>)> {
        compat::risk_infos(self.raw()).filter_map(|(risk, info)| {
            // SAFETY: nDPI's risk texts are NUL-terminated heap copies owned by the flow,
            // which `&self` keeps alive and unmodified.
            unsafe { crate::metadata::c_str(info) }.map(|text| (risk, text))
        })
    }

    /// nDPI's host name for the flow, whichever protocol filled it: HTTP Host, TLS/QUIC SNI,
    /// DNS query, DHCP host name, ... `None` while empty.
    pub fn host_server_name(&self) -> Option<&[u8]> {
        crate::metadata::c_array(&self.raw().host_server_name)
    }

    /// The detector this flow belongs to.
    pub fn detector(&self) -> &'d Detector {
        self.detector
    }

    /// HTTP metadata, for flows whose master or application protocol is HTTP.
    pub fn http(&self) -> Option<Http<'_>> {
        Http::read(self)
    }

    /// DNS metadata, for DNS flows. `None` for every other protocol.
    pub fn dns(&self) -> Option<Dns<'_>> {
        Dns::read(self)
    }

    /// SSH metadata, for SSH flows. `None` for every other protocol.
    pub fn ssh(&self) -> Option<Ssh<'_>> {
        Ssh::read(self)
    }

    /// TLS/QUIC metadata, for TLS, QUIC, DTLS and TLS-wrapped mail flows. `None` otherwise.
    pub fn tls_quic(&self) -> Option<TlsQuic<'_>> {
        TlsQuic::read(self)
    }

    /// The raw nDPI flow, for fields this crate does not wrap. Reading `protos.*` union
    /// members is only meaningful after checking [`Flow::protocol`].
    pub fn raw(&self) -> &sys::ndpi_flow_struct {
        // SAFETY: the flow is valid for `self`'s lifetime and nDPI only writes to it inside
        // `process`/`give_up`, which take `&mut self`.
        unsafe { self.raw.as_ref() }
    }
}

impl Drop for Flow<'_> {
    fn drop(&mut self) {
        // SAFETY: we own the flow; ndpi_free_flow frees its allocations and then the struct,
        // which was allocated with nDPI's allocator.
        unsafe { sys::ndpi_free_flow(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Flow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("protocol", &self.protocol)
            .field("guessed", &self.guessed)
            .finish()
    }
}
