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
    /// A fresh flow for `detector`. Its nDPI state comes from the detector's pool of flow
    /// states (see [`Detector`]'s memory notes), zeroed as nDPI requires.
    pub fn new(detector: &'d Detector) -> Result<Self, Error> {
        let raw = detector
            .flows
            .borrow_mut()
            .take()
            .ok_or(Error::OutOfMemory("a flow"))?;
        // SAFETY: the slot holds size_of::<ndpi_flow_struct>() writable bytes, aligned; nDPI
        // requires a zeroed flow (all-zero is a valid ndpi_flow_struct: integers, pointers,
        // unions of them).
        unsafe { raw.as_ptr().write_bytes(0, 1) };
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
        // SAFETY: we own the flow; ndpi_free_flow_data frees what nDPI allocated for it (not
        // the struct, which is the pool's).
        unsafe { sys::ndpi_free_flow_data(self.raw.as_ptr()) };
        // SAFETY: the slot came from this detector's pool and nothing uses it any more.
        unsafe { self.detector.flows.borrow_mut().give_back(self.raw) };
    }
}

/// The memory of a detector's flow states (`ndpi_flow_struct`, 688 bytes in nDPI 4.2 and 1,088
/// in 4.10): slots of exactly that size in chunks of about 1 MiB, reused as flows come and go.
/// A general-purpose allocator rounds such a block up to one of its size classes (mimalloc: to
/// 768 and 1,280 bytes) and adds its own header; a million flows in detection then cost up to
/// 190 MB more. The chunks stay with the detector until it is dropped: its flow states take
/// the memory of its busiest moment, and reuse it.
#[derive(Default)]
pub(crate) struct FlowPool {
    chunks: Vec<NonNull<sys::ndpi_flow_struct>>,
    /// Slots of the last chunk handed out so far.
    used: usize,
    /// Slots given back, each holding the next one's address (a list through the free slots).
    free: Option<NonNull<sys::ndpi_flow_struct>>,
}

// SAFETY: the pool owns its chunks, plain memory with no thread affinity; it lives in a
// `Detector`, which is used by one thread at a time.
unsafe impl Send for FlowPool {}

impl FlowPool {
    /// Slots per chunk.
    const SLOTS: usize = (1 << 20) / std::mem::size_of::<sys::ndpi_flow_struct>();

    fn layout() -> std::alloc::Layout {
        std::alloc::Layout::array::<sys::ndpi_flow_struct>(Self::SLOTS).expect("1 MiB")
    }

    /// A slot for one flow state, uninitialized; `None` when memory ran out.
    fn take(&mut self) -> Option<NonNull<sys::ndpi_flow_struct>> {
        if let Some(slot) = self.free {
            // SAFETY: a free slot holds the address of the next free slot (give_back).
            self.free = unsafe { slot.cast::<Option<NonNull<sys::ndpi_flow_struct>>>().read() };
            return Some(slot);
        }
        if self.chunks.is_empty() || self.used == Self::SLOTS {
            // SAFETY: the layout's size is not zero.
            let chunk = unsafe { std::alloc::alloc(Self::layout()) };
            self.chunks.push(NonNull::new(chunk.cast())?);
            self.used = 0;
        }
        let chunk = *self.chunks.last().expect("a chunk");
        // SAFETY: `used` < SLOTS: the slot lies inside the chunk.
        let slot = unsafe { chunk.add(self.used) };
        self.used += 1;
        Some(slot)
    }

    /// Takes a slot back.
    ///
    /// # Safety
    /// `slot` came from this pool's `take` and is not used any more.
    unsafe fn give_back(&mut self, slot: NonNull<sys::ndpi_flow_struct>) {
        // SAFETY: the slot is ours again, large and aligned enough for an address.
        unsafe {
            slot.cast::<Option<NonNull<sys::ndpi_flow_struct>>>()
                .write(self.free)
        };
        self.free = Some(slot);
    }
}

impl Drop for FlowPool {
    fn drop(&mut self) {
        for chunk in &self.chunks {
            // SAFETY: allocated in `take` with this layout; every flow is gone (flows borrow
            // the detector that owns the pool).
            unsafe { std::alloc::dealloc(chunk.as_ptr().cast(), Self::layout()) };
        }
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
