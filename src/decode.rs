//! Zero-copy frame decoding: from a captured frame to the L3 packet nDPI wants, plus the
//! addresses, ports and flags the flow tracker keys on.
//!
//! The rules follow nDPI 4.2's reference reader (`ndpiReader`) so that results can be
//! compared flow by flow: frames shorter than 28 bytes are dropped, the IP version is read
//! from the header itself after the link layer, non-first IPv4 fragments are dropped (and
//! counted), and the L3 slice handed to nDPI runs to the end of the captured frame. Beyond the
//! reference: Linux cooked v2 (SLL2), 802.1ad (0x88A8) outer tags, and VXLAN and GRE
//! decapsulation; and full IPv6 addresses (the reference folds them into 32 bits).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The link-layer header types the decoder understands (libpcap `DLT_*` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// BSD loopback (`DLT_NULL`): a 4-byte address family in host order.
    Null,
    /// OpenBSD loopback (`DLT_LOOP`): a 4-byte address family in network order.
    Loop,
    /// Ethernet (`DLT_EN10MB`), with 802.3 LLC/SNAP.
    Ethernet,
    /// PPP (`DLT_PPP`), with or without HDLC-like framing.
    Ppp,
    /// PPP in HDLC-like framing (`DLT_PPP_SERIAL`).
    PppSerial,
    /// Cisco HDLC (`DLT_C_HDLC`).
    CiscoHdlc,
    /// Raw IP (`DLT_RAW`, `DLT_IPV4`, `DLT_IPV6`).
    RawIp,
    /// Linux cooked capture v1 (`DLT_LINUX_SLL`).
    LinuxSll,
    /// Linux cooked capture v2 (`DLT_LINUX_SLL2`).
    LinuxSll2,
    /// 802.11 with a radiotap header (`DLT_IEEE802_11_RADIO`).
    Radiotap,
    /// Per-Packet Information (`DLT_PPI`) over Ethernet, as nDPI 4.10's reader reads it.
    Ppi,
}

impl LinkType {
    /// Maps a libpcap `DLT_*` number; `None` for link types the decoder does not handle.
    pub fn from_dlt(dlt: i32) -> Option<Self> {
        Some(match dlt {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 => LinkType::Ppp,
            12 | 14 | 101 | 228 | 229 => LinkType::RawIp,
            50 => LinkType::PppSerial,
            104 => LinkType::CiscoHdlc,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            127 => LinkType::Radiotap,
            192 => LinkType::Ppi,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
}

/// The tunnel a packet was carried in, when tunnel decoding is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tunnel {
    /// Not tunneled (or tunnel decoding is off).
    #[default]
    None,
    /// GTP-U (UDP 2152).
    Gtp,
    /// TZSP (UDP 37008).
    Tzsp,
    /// CAPWAP data (UDP 5247).
    Capwap,
    /// VXLAN (UDP 4789).
    Vxlan,
    /// GRE (IP protocol 47).
    Gre,
}

/// Why a frame produced no packet for the flow table. Every dropped frame has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Shorter than the smallest IP packet the reference accepts (28 bytes), or cut inside a
    /// header.
    TooShort,
    /// A link type the decoder does not handle.
    UnsupportedLinkType,
    /// Not IPv4 or IPv6 (ARP, spanning tree, ...).
    NotIp,
    /// A non-first IPv4 or IPv6 fragment.
    Fragment,
    /// 802.11 frame with a bad FCS.
    BadFcs,
    /// An IP header whose lengths contradict each other or the capture.
    MalformedIp,
    /// IPv6 extension headers that do not parse.
    BadIpv6Extension,
}

impl DropReason {
    /// Every reason, for reports, in declaration order (the order of
    /// [`DropCounts`](crate::DropCounts)).
    pub const ALL: [DropReason; 7] = [
        DropReason::TooShort,
        DropReason::UnsupportedLinkType,
        DropReason::NotIp,
        DropReason::Fragment,
        DropReason::BadFcs,
        DropReason::MalformedIp,
        DropReason::BadIpv6Extension,
    ];

    /// A short snake_case name ("too_short").
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::TooShort => "too_short",
            DropReason::UnsupportedLinkType => "unsupported_link_type",
            DropReason::NotIp => "not_ip",
            DropReason::Fragment => "fragment",
            DropReason::BadFcs => "bad_fcs",
            DropReason::MalformedIp => "malformed_ip",
            DropReason::BadIpv6Extension => "bad_ipv6_extension",
        }
    }
}

/// Decoder settings. New settings may be added in any release: start from
/// [`DecodeOptions::default`] and use the setters (or assign the fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Look inside GTP-U, TZSP, CAPWAP, VXLAN and GRE tunnels (off by default, as in the
    /// reference reader).
    pub decode_tunnels: bool,
}

impl DecodeOptions {
    /// Sets [`decode_tunnels`](DecodeOptions::decode_tunnels).
    pub fn decode_tunnels(mut self, on: bool) -> Self {
        self.decode_tunnels = on;
        self
    }
}

/// A decoded packet, borrowing the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// From the (innermost) IP header to the end of the captured frame: what nDPI is given.
    pub l3: &'a [u8],
    /// Innermost 802.1Q VLAN ID, 0 when untagged.
    pub vlan_id: u16,
    /// The tunnel the packet came out of.
    pub tunnel: Tunnel,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IANA L4 protocol.
    pub l4_proto: u8,
    /// Source port (0 when the protocol has none, or the L4 header is cut short).
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// TCP flags, for TCP packets with a full header.
    pub tcp_flags: Option<u8>,
}

impl Packet<'_> {
    /// The same header fields with `l3` as the L3 bytes: for handing a decoded packet to
    /// another thread without its frame (keep `with_l3(&[])`, copy `l3` alone, and put them
    /// back together there for [`Tracker::process_packet`](crate::Tracker::process_packet)).
    pub fn with_l3<'b>(&self, l3: &'b [u8]) -> Packet<'b> {
        Packet {
            l3,
            vlan_id: self.vlan_id,
            tunnel: self.tunnel,
            src: self.src,
            dst: self.dst,
            l4_proto: self.l4_proto,
            src_port: self.src_port,
            dst_port: self.dst_port,
            tcp_flags: self.tcp_flags,
        }
    }
}

/// TCP flag bits in [`Packet::tcp_flags`].
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86DD;
const ETH_P_VLAN: u16 = 0x8100;
const ETH_P_QINQ: u16 = 0x88A8;
const ETH_P_MPLS_UNI: u16 = 0x8847;
const ETH_P_MPLS_MULTI: u16 = 0x8848;
const ETH_P_PPPOE: u16 = 0x8864;
const ETH_P_TEB: u16 = 0x6558;
/// Tunnels, IP-in-IP and Ethernet-in-Ethernet may nest (GRE in VXLAN in GTP ...); beyond this
/// depth the packet is taken as is, so that hostile nesting costs neither stack nor time.
const MAX_TUNNEL_DEPTH: u8 = 4;

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// Decodes one captured frame.
pub fn decode<'a>(
    link: LinkType,
    frame: &'a [u8],
    options: DecodeOptions,
) -> Result<Packet<'a>, DropReason> {
    Decoder {
        frame,
        options,
        vlan_id: 0,
        tunnel: Tunnel::None,
        depth: 0,
    }
    .link(link, 0)
}

struct Decoder<'a> {
    frame: &'a [u8],
    options: DecodeOptions,
    vlan_id: u16,
    tunnel: Tunnel,
    depth: u8,
}

impl<'a> Decoder<'a> {
    fn byte(&self, at: usize) -> Result<u8, DropReason> {
        self.frame.get(at).copied().ok_or(DropReason::TooShort)
    }

    fn u16(&self, at: usize) -> Result<u16, DropReason> {
        be16(self.frame, at).ok_or(DropReason::TooShort)
    }

    /// Opens one more level of IP-in-IP or Ethernet-in-Ethernet; `false` at the depth limit.
    fn nest(&mut self) -> bool {
        let room = self.depth < MAX_TUNNEL_DEPTH;
        self.depth += u8::from(room);
        room
    }

    /// The link layer starting at `at`; continues with the ethertype it announces.
    fn link(&mut self, link: LinkType, at: usize) -> Result<Packet<'a>, DropReason> {
        if self.frame.len() < at + 28 {
            return Err(DropReason::TooShort);
        }
        let (ethertype, ip_at) = match link {
            LinkType::Null | LinkType::Loop => {
                let raw: [u8; 4] = self.frame[at..at + 4].try_into().expect("length checked");
                let family = if link == LinkType::Null {
                    u32::from_ne_bytes(raw)
                } else {
                    u32::from_be_bytes(raw)
                };
                (if family == 2 { ETH_P_IP } else { ETH_P_IPV6 }, at + 4)
            }
            LinkType::PppSerial => (self.u16(at + 2)?, at + 4),
            LinkType::Ppp | LinkType::CiscoHdlc => {
                if matches!(self.frame[at], 0x0f | 0x8f | 0xff) {
                    (self.u16(at + 2)?, at + 4)
                } else {
                    (self.u16(at)?, at + 2)
                }
            }
            LinkType::RawIp => (0, at),
            LinkType::LinuxSll => (self.u16(at + 14)?, at + 16),
            LinkType::LinuxSll2 => (self.u16(at)?, at + 20),
            LinkType::Ethernet => self.ethernet(at)?,
            LinkType::Radiotap => self.radiotap(at)?,
            LinkType::Ppi => {
                // Little-endian header length and inner DLT; only Ethernet inside (as the
                // reference).
                let length = u16::from_le_bytes([self.byte(at + 2)?, self.byte(at + 3)?]);
                let inner = [4, 5, 6, 7].map(|i| self.frame[at + i]);
                if u32::from_le_bytes(inner) != 1 {
                    return Err(DropReason::UnsupportedLinkType);
                }
                return self.link(LinkType::Ethernet, at + usize::from(length));
            }
        };
        self.ethertype(ethertype, ip_at)
    }

    fn ethernet(&self, at: usize) -> Result<(u16, usize), DropReason> {
        let h_proto = self.u16(at + 12)?;
        let payload = at + 14;
        if h_proto >= 1536 {
            return Ok((h_proto, payload));
        }
        // 802.3 length field: LLC follows. SNAP carries an ethertype; spanning tree is dropped.
        let (dsap, ssap) = (self.byte(payload)?, self.byte(payload + 1)?);
        if dsap == 0xAA || ssap == 0xAA {
            Ok((self.u16(payload + 6)?, payload + 8))
        } else if dsap == 0x42 || ssap == 0x42 {
            Err(DropReason::NotIp)
        } else {
            Ok((0, payload))
        }
    }

    /// Radiotap + 802.11 data + LLC/SNAP, read the way the reference reader reads it: the
    /// flags byte at the fixed offset 16, and a 26-byte 802.11 header (QoS data) for frames
    /// going to or from the distribution system.
    fn radiotap(&self, at: usize) -> Result<(u16, usize), DropReason> {
        const BAD_FCS: u8 = 0x50;
        if self.byte(at + 16)? & BAD_FCS == BAD_FCS {
            return Err(DropReason::BadFcs);
        }
        let radio_len = usize::from(u16::from_le_bytes([self.byte(at + 2)?, self.byte(at + 3)?]));
        let wifi = at + radio_len;
        let (fc, flags) = (self.byte(wifi)?, self.byte(wifi + 1)?);
        // Only data frames (type 2) carry IP.
        if (fc >> 2) & 0x3 != 2 {
            return Err(DropReason::NotIp);
        }
        let (to_ds, from_ds) = (flags & 0x1 != 0, flags & 0x2 != 0);
        let llc = wifi + if to_ds != from_ds { 26 } else { 0 };
        let ethertype = if self.byte(llc)? == 0xAA {
            self.u16(llc + 6)?
        } else {
            0
        };
        Ok((ethertype, llc + 8))
    }

    /// VLAN tags, MPLS labels and PPPoE in front of the IP header.
    fn ethertype(&mut self, mut ethertype: u16, mut at: usize) -> Result<Packet<'a>, DropReason> {
        loop {
            match ethertype {
                ETH_P_VLAN | ETH_P_QINQ => {
                    self.vlan_id = self.u16(at)? & 0x0FFF;
                    ethertype = self.u16(at + 2)?;
                    at += 4;
                }
                ETH_P_MPLS_UNI | ETH_P_MPLS_MULTI => {
                    loop {
                        let bottom = self.byte(at + 2)? & 0x01 != 0;
                        at += 4;
                        if bottom {
                            break;
                        }
                    }
                    ethertype = ETH_P_IP;
                }
                ETH_P_PPPOE => {
                    ethertype = ETH_P_IP;
                    at += 8;
                }
                ETH_P_TEB if self.options.decode_tunnels && self.nest() => {
                    return self.link(LinkType::Ethernet, at)
                }
                _ => return self.ip(at, ethertype == ETH_P_IP),
            }
        }
    }

    /// The IP header at `at`. Its version nibble decides, as in the reference, which also
    /// checks IPv4 fragmentation only when the link layer announced IPv4 (`announced_v4`).
    fn ip(&mut self, at: usize, announced_v4: bool) -> Result<Packet<'a>, DropReason> {
        let l3 = self.frame.get(at..).ok_or(DropReason::TooShort)?;
        if l3.len() < 20 {
            return Err(DropReason::TooShort);
        }
        match l3[0] >> 4 {
            4 => self.ipv4(at, l3, announced_v4),
            6 => self.ipv6(at, l3),
            _ => Err(DropReason::NotIp),
        }
    }

    fn ipv4(
        &mut self,
        at: usize,
        l3: &'a [u8],
        announced_v4: bool,
    ) -> Result<Packet<'a>, DropReason> {
        let header_len = usize::from(l3[0] & 0x0F) * 4;
        let total_len = match usize::from(u16::from_be_bytes([l3[2], l3[3]])) {
            // Captured before TCP segmentation offload split it: nDPI 4.10's reader takes the
            // captured length.
            0 if crate::compat::IPV4_ZERO_LENGTH_IS_TSO => l3.len(),
            announced => announced,
        };
        let proto = l3[9];
        if matches!(proto, 4 | 41) && header_len > 0 && self.nest() {
            return self.ip(at + header_len, announced_v4);
        }
        if announced_v4 && u16::from_be_bytes([l3[6], l3[7]]) & 0x1FFF != 0 {
            return Err(DropReason::Fragment);
        }
        // Like the reference, a header length below 20 is taken at its word (the addresses
        // are still read from the fixed 20-byte header, which is present).
        if header_len > l3.len() || total_len > l3.len() || total_len < header_len {
            return Err(DropReason::MalformedIp);
        }
        let src = IpAddr::V4(Ipv4Addr::new(l3[12], l3[13], l3[14], l3[15]));
        let dst = IpAddr::V4(Ipv4Addr::new(l3[16], l3[17], l3[18], l3[19]));
        let l4 = &l3[header_len..total_len];
        self.transport(at, l3, src, dst, proto, l4)
    }

    fn ipv6(&mut self, at: usize, l3: &'a [u8]) -> Result<Packet<'a>, DropReason> {
        if l3.len() < 40 {
            return Err(DropReason::TooShort);
        }
        let payload_len = usize::from(u16::from_be_bytes([l3[4], l3[5]]));
        if l3.len() < 40 + payload_len {
            return Err(DropReason::TooShort);
        }
        let (proto, l4_at) = ipv6_extensions(l3, l3[6], payload_len)?;
        let src = IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(&l3[8..24]).expect("length checked"),
        ));
        let dst = IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(&l3[24..40]).expect("length checked"),
        ));
        if matches!(proto, 4 | 41) && self.nest() {
            return self.ip(at + l4_at, false);
        }
        let l4 = &l3[l4_at..40 + payload_len];
        self.transport(at, l3, src, dst, proto, l4)
    }

    fn transport(
        &mut self,
        at: usize,
        l3: &'a [u8],
        src: IpAddr,
        dst: IpAddr,
        l4_proto: u8,
        l4: &'a [u8],
    ) -> Result<Packet<'a>, DropReason> {
        let (mut src_port, mut dst_port, mut tcp_flags) = (0, 0, None);
        match l4_proto {
            6 if l4.len() >= 20 => {
                (src_port, dst_port) = (be16(l4, 0).unwrap_or(0), be16(l4, 2).unwrap_or(0));
                tcp_flags = Some(l4[13]);
            }
            17 if l4.len() >= 8 => {
                (src_port, dst_port) = (be16(l4, 0).unwrap_or(0), be16(l4, 2).unwrap_or(0));
                if self.options.decode_tunnels && self.depth < MAX_TUNNEL_DEPTH {
                    if let Some(inner) =
                        self.udp_tunnel(at + (l3.len() - l4.len()), src_port, dst_port)?
                    {
                        return Ok(inner);
                    }
                }
            }
            47 if self.options.decode_tunnels && self.depth < MAX_TUNNEL_DEPTH => {
                if let Some(inner) = self.gre(at + (l3.len() - l4.len()), l4)? {
                    return Ok(inner);
                }
            }
            _ => {}
        }
        Ok(Packet {
            l3,
            vlan_id: self.vlan_id,
            tunnel: self.tunnel,
            src,
            dst,
            l4_proto,
            src_port,
            dst_port,
            tcp_flags,
        })
    }

    /// GTP-U, TZSP, CAPWAP or VXLAN inside the UDP datagram whose header starts at `udp`.
    /// `None` when the datagram is not a tunnel we recognize.
    fn udp_tunnel(
        &mut self,
        udp: usize,
        sport: u16,
        dport: u16,
    ) -> Result<Option<Packet<'a>>, DropReason> {
        let payload = udp + 8;
        let is = |port: u16| sport == port || dport == port;
        self.depth += 1;
        if is(2152) {
            // GTPv1 T-PDU: 8-byte header, 4 more with any of E/S/PN, then extension headers.
            let flags = self.byte(payload)?;
            if flags >> 5 != 1 || self.byte(payload + 1)? != 0xFF {
                return Ok(None);
            }
            let mut at = payload + 8;
            if flags & 0x07 != 0 {
                at += 4;
            }
            if flags & 0x04 != 0 {
                let mut next = self.byte(at - 1)?;
                while next != 0 {
                    let len = usize::from(self.byte(at)?) * 4;
                    if len == 0 {
                        return Err(DropReason::MalformedIp);
                    }
                    next = self.byte(at + len - 1)?;
                    at += len;
                }
            }
            self.tunnel = Tunnel::Gtp;
            return self.ip(at, false).map(Some);
        }
        if is(37008) {
            // TZSP: version 1, type 0 (received), encapsulating Ethernet; tagged fields end
            // with tag 1.
            if self.byte(payload)? != 1
                || self.byte(payload + 1)? != 0
                || self.u16(payload + 2)? != 1
            {
                return Ok(None);
            }
            let mut at = payload + 4;
            loop {
                match self.byte(at)? {
                    0 => at += 1,
                    1 => {
                        at += 1;
                        break;
                    }
                    _ => at += 2 + usize::from(self.byte(at + 1)?),
                }
            }
            self.tunnel = Tunnel::Tzsp;
            return self.link(LinkType::Ethernet, at).map(Some);
        }
        if is(5247) {
            // CAPWAP data carrying 802.11: header length in 4-byte words, then 802.11 + LLC.
            let preamble = self.byte(payload)?;
            if preamble & 0x0F != 0 {
                return Ok(None);
            }
            let header = usize::from((self.byte(payload + 1)? & 0xF8) >> 1);
            // nDPI 4.10's reader looks inside 802.11 data frames only.
            if crate::compat::CAPWAP_DATA_FRAMES_ONLY
                && (self.frame.len() <= payload + header + 32
                    || self.byte(payload + header + 1)? != 0x08)
            {
                return Ok(None);
            }
            let llc = payload + header + 24;
            let ethertype = self.u16(llc + 6)?;
            self.tunnel = Tunnel::Capwap;
            return self.ethertype(ethertype, llc + 8).map(Some);
        }
        if is(4789) {
            // VXLAN: 8-byte header with the I flag, then an Ethernet frame.
            if self.byte(payload)? & 0x08 == 0 {
                return Ok(None);
            }
            self.tunnel = Tunnel::Vxlan;
            return self.link(LinkType::Ethernet, payload + 8).map(Some);
        }
        self.depth -= 1;
        Ok(None)
    }

    /// GRE carrying IP, transparent Ethernet or PPP: version 0 (RFC 2784/2890) and the
    /// enhanced GRE of PPTP (version 1, RFC 2637), with nDPI 4.10's reader's checks.
    fn gre(&mut self, at: usize, gre: &[u8]) -> Result<Option<Packet<'a>>, DropReason> {
        const CHECKSUM: u16 = 0x8000;
        const ROUTING: u16 = 0x4000;
        const KEY: u16 = 0x2000;
        const SEQUENCE: u16 = 0x1000;
        const STRICT: u16 = 0x0800;
        const RECURSION: u16 = 0x0700;
        const ACK: u16 = 0x0080;
        const RESERVED: u16 = 0x0078;
        const PPP: u16 = 0x880B;
        let (Some(flags), Some(protocol)) = (be16(gre, 0), be16(gre, 2)) else {
            return Ok(None);
        };
        if flags & (RESERVED | RECURSION) != 0 {
            return Ok(None);
        }
        let has = |bit: u16| flags & bit != 0;
        let optional_words = match flags & 0x0007 {
            // checksum(+offset), key, sequence: 4 bytes each when present.
            0 => [CHECKSUM, KEY, SEQUENCE]
                .into_iter()
                .filter(|b| has(*b))
                .count(),
            // Enhanced GRE: PPP with a key (payload length, call ID), no checksum or routing.
            1 if !has(CHECKSUM | ROUTING | STRICT) && has(KEY) && protocol == PPP => {
                [KEY, SEQUENCE, ACK].into_iter().filter(|b| has(*b)).count()
            }
            _ => return Ok(None),
        };
        let payload = at + 4 + 4 * optional_words;
        let (ethertype, inner) = match protocol {
            ETH_P_IP | ETH_P_IPV6 | ETH_P_TEB => (protocol, payload),
            // A 4-byte PPP header, then IP (its version says which).
            PPP => (0, payload + 4),
            _ => return Ok(None),
        };
        self.depth += 1;
        self.tunnel = Tunnel::Gre;
        self.ethertype(ethertype, inner).map(Some)
    }
}

/// Walks IPv6 extension headers like nDPI's `ndpi_handle_ipv6_extension_headers`: returns
/// the upper-layer protocol and its offset from the IPv6 header.
fn ipv6_extensions(l3: &[u8], mut next: u8, payload_len: usize) -> Result<(u8, usize), DropReason> {
    let mut at = 40;
    let end = 40 + payload_len;
    loop {
        match next {
            59 => return Err(DropReason::BadIpv6Extension),
            44 => {
                let header = l3
                    .get(at..at + 8)
                    .filter(|_| at + 8 <= end)
                    .ok_or(DropReason::BadIpv6Extension)?;
                if u16::from_be_bytes([header[2], header[3]]) >> 3 != 0 {
                    return Err(DropReason::Fragment);
                }
                next = header[0];
                at += 8;
            }
            0 | 43 | 60 | 135 => {
                let header = l3
                    .get(at..at + 2)
                    .filter(|_| at + 2 <= end)
                    .ok_or(DropReason::BadIpv6Extension)?;
                let len = usize::from(header[1]) * 8 + 8;
                if at + len > end {
                    return Err(DropReason::BadIpv6Extension);
                }
                next = header[0];
                at += len;
            }
            _ => return Ok((next, at)),
        }
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
