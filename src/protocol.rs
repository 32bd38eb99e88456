//! Protocol identities and the classification vocabulary: IDs, master/app pairs, categories,
//! breeds, confidence and risks.

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_char;

use crate::sys;

/// An nDPI protocol ID (`NDPI_PROTOCOL_*`), e.g. 7 for HTTP. Serializes as the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct ProtocolId(pub u16);

impl ProtocolId {
    /// Not (yet) classified.
    pub const UNKNOWN: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_UNKNOWN as u16);
    /// HTTP.
    pub const HTTP: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_HTTP as u16);
    /// DNS.
    pub const DNS: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_DNS as u16);
    /// TLS.
    pub const TLS: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_TLS as u16);
    /// QUIC.
    pub const QUIC: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_QUIC as u16);
    /// SSH.
    pub const SSH: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_SSH as u16);
    /// DTLS.
    pub const DTLS: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_DTLS as u16);
    /// SMTP over TLS.
    pub const MAIL_SMTPS: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_MAIL_SMTPS as u16);
    /// POP3 over TLS.
    pub const MAIL_POPS: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_MAIL_POPS as u16);
    /// IMAP over TLS.
    pub const MAIL_IMAPS: ProtocolId = ProtocolId(sys::NDPI_PROTOCOL_MAIL_IMAPS as u16);

    /// Whether this is [`ProtocolId::UNKNOWN`].
    pub fn is_unknown(self) -> bool {
        self == Self::UNKNOWN
    }
}

impl fmt::Display for ProtocolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A classification result: nDPI's master/application protocol pair and its category,
/// e.g. `TLS.Google` is master TLS, application Google. Names come from the
/// [`Detector`](crate::Detector), since custom protocols are per module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Protocol {
    /// The encapsulating protocol (TLS in `TLS.Google`), or unknown.
    pub master: ProtocolId,
    /// The application protocol (Google in `TLS.Google`), or unknown.
    pub app: ProtocolId,
    /// The protocol nDPI associates with the flow's server address (nDPI 4.10's
    /// `protocol_by_ip`, unknown when the address is nobody's); `None` with nDPI 4.2.
    pub by_ip: Option<ProtocolId>,
    /// The category nDPI assigned.
    pub category: Category,
}

impl Protocol {
    /// Whether neither master nor application protocol is known.
    pub fn is_unknown(&self) -> bool {
        self.master.is_unknown() && self.app.is_unknown()
    }

    /// Whether `id` is the master or the application protocol.
    pub fn is(&self, id: ProtocolId) -> bool {
        self.master == id || self.app == id
    }

    /// The most specific known protocol: the application, else the master.
    pub fn most_specific(&self) -> ProtocolId {
        if self.app.is_unknown() {
            self.master
        } else {
            self.app
        }
    }

    pub(crate) fn from_raw(raw: sys::ndpi_protocol) -> Self {
        crate::compat::protocol_from_raw(raw)
    }

    pub(crate) fn to_raw(self) -> sys::ndpi_protocol {
        crate::compat::protocol_to_raw(self)
    }
}

/// An nDPI category ID (`NDPI_PROTOCOL_CATEGORY_*`), e.g. 5 for Web.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Category(pub u32);

/// How nDPI rates a protocol (`ndpi_protocol_breed_t`): Safe, Acceptable, Fun, Unsafe, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Breed(pub u32);

/// How a classification was obtained (`ndpi_confidence_t`). Serializes as nDPI's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Confidence(pub u32);

#[cfg(feature = "serde")]
impl serde::Serialize for Confidence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl Confidence {
    /// Not classified.
    pub const UNKNOWN: Confidence = Confidence(sys::NDPI_CONFIDENCE_UNKNOWN);
    /// Classified by L4 port only.
    pub const MATCH_BY_PORT: Confidence = Confidence(sys::NDPI_CONFIDENCE_MATCH_BY_PORT);
    /// Classified by IP address only.
    pub const MATCH_BY_IP: Confidence = Confidence(sys::NDPI_CONFIDENCE_MATCH_BY_IP);
    /// Classified from nDPI's cache of earlier flows.
    pub const DPI_CACHE: Confidence = Confidence(sys::NDPI_CONFIDENCE_DPI_CACHE);
    /// Classified by deep packet inspection.
    pub const DPI: Confidence = Confidence(sys::NDPI_CONFIDENCE_DPI);

    /// nDPI's name for it ("DPI", "Match by port", ...).
    pub fn name(self) -> &'static str {
        // SAFETY: ndpi_confidence_get_name returns a pointer to a static string (or NULL for
        // values it does not know, handled by static_str).
        unsafe { static_str(sys::ndpi_confidence_get_name(self.0)) }.unwrap_or("Unknown")
    }
}

/// One flow risk (`ndpi_risk_enum`), e.g. "Known protocol on non standard port".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Risk(pub u32);

impl Risk {
    /// nDPI's description of this risk ("Known protocol on non standard port").
    pub fn name(self) -> String {
        // SAFETY: ndpi_risk2str returns a literal, or for unknown values a static buffer
        // that `shared_buffer_string` serializes access to.
        unsafe { shared_buffer_string(|| sys::ndpi_risk2str(self.0)) }.unwrap_or_default()
    }

    /// nDPI's score for this risk alone (client + server share).
    pub fn score(self) -> u32 {
        Risks(1u64.checked_shl(self.0).unwrap_or(0)).score()
    }

    /// Every risk the linked nDPI knows, lowest first (`1..NDPI_MAX_RISK`: 4.10 knows more than
    /// 4.2).
    pub fn all() -> impl Iterator<Item = Risk> {
        (1..sys::NDPI_MAX_RISK).map(Risk)
    }
}

/// The set of risks of a flow (`ndpi_risk`, a 64-bit mask). Serializes as the list of the
/// risks' names, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Risks(pub u64);

#[cfg(feature = "serde")]
impl serde::Serialize for Risks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Risk::name))
    }
}

impl Risks {
    /// No risk at all.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `risk` is in the set.
    pub fn contains(self, risk: Risk) -> bool {
        risk.0 < 64 && self.0 & (1 << risk.0) != 0
    }

    /// The risks in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = Risk> {
        (0..64u32)
            .filter(move |bit| self.0 & (1 << bit) != 0)
            .map(Risk)
    }

    /// nDPI's total score for the set (client + server share).
    pub fn score(self) -> u32 {
        let (mut client, mut server) = (0u16, 0u16);
        // SAFETY: pure computation over the mask; both out-pointers are valid.
        u32::from(unsafe { sys::ndpi_risk2score(self.0, &mut client, &mut server) })
    }
}

/// Copies the string an nDPI `*2str` function returns. Some of them format unknown values into
/// one static buffer, so calls are serialized process-wide to keep threads from racing on it.
///
/// # Safety
/// `call` must return NULL or a NUL-terminated string that stays valid while the lock is held.
pub(crate) unsafe fn shared_buffer_string(call: impl FnOnce() -> *const c_char) -> Option<String> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let ptr = call();
    (!ptr.is_null()).then(|| {
        // SAFETY: guaranteed by the caller; the copy is made while the lock is held.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    })
}

/// Reads a NUL-terminated static C string. `None` for NULL or non-UTF-8.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that lives forever.
pub(crate) unsafe fn static_str(ptr: *const c_char) -> Option<&'static str> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(ptr) }.to_str().ok()
}
