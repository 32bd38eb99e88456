//! The pcap and pcapng file formats, read in place. Each call looks at the bytes at the reading
//! position and says what record or block starts there, where its frame's bytes are (as
//! positions, so that the caller can lend them out without copying), or how many bytes it
//! needs first.
//!
//! pcap-parser parses the pcap file header and the pcapng blocks (section headers, interface
//! descriptions with their time resolution, enhanced and simple packet blocks); a classic pcap
//! record is four fixed fields, read here. Limits and conversions follow libpcap's readers
//! (`sf-pcap.c`, `sf-pcapng.c`), so that the frames, lengths and times are the ones libpcap
//! hands out: a record longer than the file's snapshot length keeps its first snapshot-length
//! bytes, a captured length above libpcap's maximum is an error, and so on.

use std::ops::Range;

use pcap_parser::pcapng::{
    parse_enhancedpacketblock_be, parse_enhancedpacketblock_le, parse_interfacedescriptionblock_be,
    parse_interfacedescriptionblock_le, parse_sectionheaderblock, parse_simplepacketblock_be,
    parse_simplepacketblock_le, InterfaceDescriptionBlock, OptionCode, EPB_MAGIC, IDB_MAGIC,
    SHB_MAGIC, SPB_MAGIC,
};
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{nom, parse_pcap_header, PcapError};

use crate::{FileErrorKind, LinkType};

/// libpcap's largest snapshot length for most link types (`MAXIMUM_SNAPLEN`).
const MAX_SNAPLEN: u32 = 262_144;
/// The obsolete pcapng Packet Block, which libpcap still reads (pcap-parser does not).
const PB_MAGIC: u32 = 2;
/// libpcap's limit on a first section header block (`BT_SHB_INSANE_MAX`).
const MAX_FIRST_SHB: u32 = 1 << 20;
/// libpcap's limit on other pcapng blocks until an interface's link type needs more
/// (`INITIAL_MAX_BLOCKSIZE`).
const MAX_BLOCK: u32 = 16 << 20;

/// What the bytes at the reading position hold.
pub(super) enum Step<T> {
    /// `T`, and how many bytes it took.
    Done(T, usize),
    /// The record or block needs at least this many bytes (from the reading position).
    Incomplete(usize),
}

/// The frame of a record, as positions in the bytes given to [`Format::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub data: Range<usize>,
    pub wire_len: u32,
    pub time_ms: u64,
    /// The link type of the frame's interface, when the decoder handles it.
    pub link: Option<LinkType>,
    /// The libpcap `DLT_*` number of that link type (for BPF filters).
    pub dlt: i32,
}

/// A capture file's format and what it has said so far (byte order, interfaces).
#[derive(Debug)]
pub(super) enum Format {
    Pcap(Pcap),
    PcapNg(PcapNg),
}

/// A classic pcap file.
#[derive(Debug)]
pub(super) struct Pcap {
    order: Order,
    /// Nanosecond time stamps (else microseconds).
    nanos: bool,
    /// Alexey Kuznetzov's patched format: 8 more bytes in each record header.
    patched: bool,
    lengths: Lengths,
    interface: Interface,
}

/// Where a pcap record keeps its captured and original lengths: versions before 2.3 wrote them
/// the other way round, and 2.3 did so sometimes (libpcap swaps them back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lengths {
    InOrder,
    Swapped,
    SwappedWhenCaplenIsLarger,
}

/// A pcapng file: its current section's byte order and interfaces.
#[derive(Debug)]
pub(super) struct PcapNg {
    order: Order,
    interfaces: Vec<Interface>,
    /// The link type of the file's first interface, kept when a new section starts.
    first: Option<(i32, Option<LinkType>)>,
    max_block: u32,
}

/// What the frames of one interface need: their link type, how long they may be, and how to
/// read their time stamps.
#[derive(Debug, Clone)]
struct Interface {
    dlt: i32,
    link: Option<LinkType>,
    /// The snapshot length, as libpcap adjusts it (0 and oversized ones become the maximum).
    snapshot: u32,
    /// Time stamp units per second (pcapng's `if_tsresol`).
    units_per_sec: u64,
    /// Seconds added to every time stamp (pcapng's `if_tsoffset`).
    offset_sec: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Little,
    Big,
}

impl Order {
    /// The `u16` at `at`; the caller has checked that `b` holds it.
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let bytes = [b[at], b[at + 1]];
        match self {
            Order::Little => u16::from_le_bytes(bytes),
            Order::Big => u16::from_be_bytes(bytes),
        }
    }

    /// The `u32` at `at`; the caller has checked that `b` holds it.
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let bytes = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        match self {
            Order::Little => u32::from_le_bytes(bytes),
            Order::Big => u32::from_be_bytes(bytes),
        }
    }
}

fn malformed(text: String) -> FileErrorKind {
    FileErrorKind::Malformed(text)
}

impl Format {
    /// Reads the file header (pcap) or the first section header block (pcapng).
    pub fn open(b: &[u8]) -> Result<Step<Format>, FileErrorKind> {
        if b.len() < 4 {
            return Ok(Step::Incomplete(4));
        }
        match u32::from_le_bytes([b[0], b[1], b[2], b[3]]) {
            SHB_MAGIC => PcapNg::open(b),
            0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34 | 0xd4c3_b2a1 | 0x4d3c_b2a1 => Pcap::open(b),
            _ => Err(FileErrorKind::UnknownFormat),
        }
    }

    /// Reads the record or block at the start of `b`: its frame, if it holds one (pcapng
    /// blocks without a packet give `None`), and its length.
    pub fn parse(&mut self, b: &[u8]) -> Result<Step<Option<Found>>, FileErrorKind> {
        match self {
            Format::Pcap(pcap) => pcap.record(b).map(|step| match step {
                Step::Done(found, len) => Step::Done(Some(found), len),
                Step::Incomplete(needed) => Step::Incomplete(needed),
            }),
            Format::PcapNg(ng) => ng.block(b),
        }
    }

    /// Whether frames can follow: always in a pcap file, once an interface is described in a
    /// pcapng file.
    pub fn ready(&self) -> bool {
        match self {
            Format::Pcap(_) => true,
            Format::PcapNg(ng) => ng.first.is_some(),
        }
    }

    /// The `DLT_*` number of the file (pcapng: of its first interface) and its link type when
    /// the decoder handles it; `None` before a pcapng file described an interface.
    pub fn first(&self) -> Option<(i32, Option<LinkType>)> {
        match self {
            Format::Pcap(pcap) => Some((pcap.interface.dlt, pcap.interface.link)),
            Format::PcapNg(ng) => ng.first,
        }
    }

    /// What the format calls its units, for messages.
    pub fn unit(&self) -> &'static str {
        match self {
            Format::Pcap(_) => "record",
            Format::PcapNg(_) => "block",
        }
    }
}

impl Pcap {
    fn open(b: &[u8]) -> Result<Step<Format>, FileErrorKind> {
        if b.len() < 24 {
            return Ok(Step::Incomplete(24));
        }
        // Byte-swapped patched files are a magic pcap-parser does not know.
        let (_, header) = parse_pcap_header(&b[..24]).map_err(|_| FileErrorKind::UnknownFormat)?;
        let (major, minor) = (header.version_major, header.version_minor);
        if major < 2 {
            return Err(malformed(format!(
                "pcap version {major}.{minor} is older than 2.0"
            )));
        }
        let lengths = match (major, minor) {
            (2, 0..=2) => Lengths::Swapped,
            (2, 3) => Lengths::SwappedWhenCaplenIsLarger,
            _ => Lengths::InOrder,
        };
        // The upper bits of the link type field carry FCS information (libpcap's LT_LINKTYPE).
        let dlt = linktype_to_dlt(header.network.0 as u32 & 0x03ff_ffff);
        let pcap = Pcap {
            order: if header.is_bigendian() {
                Order::Big
            } else {
                Order::Little
            },
            nanos: header.is_nanosecond_precision(),
            patched: header.is_modified_format(),
            lengths,
            interface: Interface::new(dlt, header.snaplen, 1, 0),
        };
        Ok(Step::Done(Format::Pcap(pcap), 24))
    }

    fn record(&self, b: &[u8]) -> Result<Step<Found>, FileErrorKind> {
        let header = if self.patched { 24 } else { 16 };
        if b.len() < header {
            return Ok(Step::Incomplete(header));
        }
        let o = self.order;
        let (sec, frac) = (o.u32(b, 0), o.u32(b, 4));
        let (mut caplen, mut wire_len) = (o.u32(b, 8), o.u32(b, 12));
        let swap = match self.lengths {
            Lengths::InOrder => false,
            Lengths::Swapped => true,
            Lengths::SwappedWhenCaplenIsLarger => caplen > wire_len,
        };
        if swap {
            (caplen, wire_len) = (wire_len, caplen);
        }
        let iface = &self.interface;
        let max = max_snaplen(iface.dlt);
        if caplen > max {
            return Err(malformed(format!(
                "invalid captured length {caplen} (the maximum is {max})"
            )));
        }
        let end = header + caplen as usize;
        if b.len() < end {
            return Ok(Step::Incomplete(end));
        }
        // Beyond the file's snapshot length libpcap keeps the first snapshot-length bytes.
        let kept = caplen.min(iface.snapshot) as usize;
        // libpcap reads the fraction as a signed 32-bit number: a (malformed) one of 2^31
        // units or more is negative there, and counted as 0 here, as it always was. The
        // seconds are unsigned, as the format defines them (libpcap's signed reading turns
        // times after 2038-01-19 negative).
        let frac = if frac > i32::MAX as u32 { 0 } else { frac };
        let frac_ms = if self.nanos {
            frac / 1_000_000
        } else {
            frac / 1000
        };
        Ok(Step::Done(
            Found {
                data: header..header + kept,
                wire_len,
                time_ms: u64::from(sec) * 1000 + u64::from(frac_ms),
                link: iface.link,
                dlt: iface.dlt,
            },
            end,
        ))
    }
}

impl PcapNg {
    fn open(b: &[u8]) -> Result<Step<Format>, FileErrorKind> {
        if b.len() < 12 {
            return Ok(Step::Incomplete(12));
        }
        // A text file can start with "\n\r\r\n" too: the byte-order magic decides.
        let Some(order) = byte_order(b) else {
            return Err(FileErrorKind::UnknownFormat);
        };
        let len = order.u32(b, 4);
        if !(28..=MAX_FIRST_SHB).contains(&len) || len % 4 != 0 {
            return Err(malformed(format!(
                "the section header block claims {len} bytes"
            )));
        }
        let mut ng = PcapNg {
            order,
            interfaces: Vec::new(),
            first: None,
            max_block: MAX_BLOCK,
        };
        match ng.block(b)? {
            Step::Done(_, len) => Ok(Step::Done(Format::PcapNg(ng), len)),
            Step::Incomplete(needed) => Ok(Step::Incomplete(needed)),
        }
    }

    fn block(&mut self, b: &[u8]) -> Result<Step<Option<Found>>, FileErrorKind> {
        if b.len() < 12 {
            return Ok(Step::Incomplete(12));
        }
        // A section header carries its own byte order; every other block has its section's.
        let shb = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) == SHB_MAGIC;
        let order = match shb {
            true => byte_order(b).ok_or_else(|| {
                malformed("a section header block with a bad byte-order magic".to_owned())
            })?,
            false => self.order,
        };
        let (kind, len) = (order.u32(b, 0), order.u32(b, 4));
        if len < 12 || len % 4 != 0 {
            return Err(malformed(format!("a block claims {len} bytes")));
        }
        if len > self.max_block {
            return Err(malformed(format!(
                "a block of {len} bytes is larger than the maximum of {}",
                self.max_block
            )));
        }
        let len = len as usize;
        if b.len() < len {
            return Ok(Step::Incomplete(len));
        }
        let block = &b[..len];
        if order.u32(block, len - 4) != len as u32 {
            return Err(malformed(
                "a block's trailing length differs from its leading one".to_owned(),
            ));
        }
        let found = match kind {
            SHB_MAGIC => {
                self.section(block)?;
                None
            }
            IDB_MAGIC => {
                let idb = match order {
                    Order::Little => parse_interfacedescriptionblock_le(block),
                    Order::Big => parse_interfacedescriptionblock_be(block),
                };
                self.interface(&nom_ok(idb, "interface description")?)?;
                None
            }
            EPB_MAGIC => {
                let epb = nom_ok(
                    match order {
                        Order::Little => parse_enhancedpacketblock_le(block),
                        Order::Big => parse_enhancedpacketblock_be(block),
                    },
                    "enhanced packet",
                )?;
                let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let data = offset_in(block, epb.packet_data());
                Some(self.packet(epb.if_id, data, epb.caplen, epb.origlen, ts)?)
            }
            SPB_MAGIC => {
                let spb = nom_ok(
                    match order {
                        Order::Little => parse_simplepacketblock_le(block),
                        Order::Big => parse_simplepacketblock_be(block),
                    },
                    "simple packet",
                )?;
                // Of the first interface, without a time stamp; captured up to the
                // interface's snapshot length (libpcap's rule, also the specification's).
                let snapshot = self.described(0)?.snapshot;
                let caplen = spb.origlen.min(snapshot);
                if (caplen as usize) > spb.data.len() {
                    return Err(malformed(format!(
                        "a simple packet block too short for its {caplen} bytes"
                    )));
                }
                let data = offset_in(block, &spb.data[..caplen as usize]);
                Some(self.packet(0, data, caplen, spb.origlen, 0)?)
            }
            PB_MAGIC => Some(self.obsolete_packet(block, order)?),
            // Name resolution, statistics, secrets, custom blocks...: nothing to read here.
            _ => None,
        };
        Ok(Step::Done(found, len))
    }

    /// A new section: its byte order, and no interfaces until it describes them.
    fn section(&mut self, block: &[u8]) -> Result<(), FileErrorKind> {
        let shb = nom_ok(parse_sectionheaderblock(block), "section header")?;
        if shb.major_version != 1 {
            return Err(malformed(format!(
                "pcapng version {}.{} is not 1.x",
                shb.major_version, shb.minor_version
            )));
        }
        self.order = if shb.big_endian() {
            Order::Big
        } else {
            Order::Little
        };
        self.interfaces.clear();
        Ok(())
    }

    fn interface(&mut self, idb: &InterfaceDescriptionBlock<'_>) -> Result<(), FileErrorKind> {
        let units_per_sec = idb.ts_resolution().ok_or_else(|| {
            malformed(format!(
                "an interface's time resolution (if_tsresol {}) is out of range",
                idb.if_tsresol
            ))
        })?;
        // pcap-parser reads if_tsoffset as little-endian whatever the section's byte order.
        let offset_sec = idb
            .options
            .iter()
            .find(|o| o.code == OptionCode::IfTsoffset)
            .and_then(|o| o.value.get(..8))
            .map_or(0, |v| {
                let bytes = [v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]];
                match self.order {
                    Order::Little => i64::from_le_bytes(bytes),
                    Order::Big => i64::from_be_bytes(bytes),
                }
            });
        let dlt = linktype_to_dlt(u32::from(idb.linktype.0 as u16));
        let interface = Interface::new(dlt, idb.snaplen, units_per_sec, offset_sec);
        self.max_block = self.max_block.max(28 + max_snaplen(dlt) + 131_072 + 4);
        self.first.get_or_insert((interface.dlt, interface.link));
        self.interfaces.push(interface);
        Ok(())
    }

    fn described(&self, id: u32) -> Result<&Interface, FileErrorKind> {
        self.interfaces.get(id as usize).ok_or_else(|| {
            malformed(format!(
                "a packet of interface {id}, which no interface description block of its section describes"
            ))
        })
    }

    /// The frame of a packet block: `data` is where its captured bytes are in the block.
    fn packet(
        &self,
        interface: u32,
        data: Range<usize>,
        caplen: u32,
        wire_len: u32,
        ts: u64,
    ) -> Result<Found, FileErrorKind> {
        let iface = self.described(interface)?;
        if caplen > iface.snapshot {
            return Err(malformed(format!(
                "invalid captured length {caplen} (the interface's snapshot length is {})",
                iface.snapshot
            )));
        }
        Ok(Found {
            data,
            wire_len,
            time_ms: iface.time_ms(ts),
            link: iface.link,
            dlt: iface.dlt,
        })
    }

    /// The obsolete Packet Block: an enhanced packet block with a 16-bit interface ID and a
    /// drop count.
    fn obsolete_packet(&self, block: &[u8], order: Order) -> Result<Found, FileErrorKind> {
        let too_short = || malformed("a packet block too short for its packet".to_owned());
        if block.len() < 32 {
            return Err(too_short());
        }
        let interface = u32::from(order.u16(block, 8));
        let ts = (u64::from(order.u32(block, 12)) << 32) | u64::from(order.u32(block, 16));
        let (caplen, wire_len) = (order.u32(block, 20), order.u32(block, 24));
        let end = 28usize.saturating_add(caplen as usize);
        if end > block.len() - 4 {
            return Err(too_short());
        }
        self.packet(interface, 28..end, caplen, wire_len, ts)
    }
}

impl Interface {
    fn new(dlt: i32, snaplen: u32, units_per_sec: u64, offset_sec: i64) -> Interface {
        let max = max_snaplen(dlt);
        Interface {
            dlt,
            link: LinkType::from_dlt(dlt),
            snapshot: if snaplen == 0 || snaplen > max {
                max
            } else {
                snaplen
            },
            units_per_sec,
            offset_sec,
        }
    }

    /// A pcapng time stamp in milliseconds since the epoch, saturating (a file may claim any
    /// 64-bit time, in seconds).
    fn time_ms(&self, ts: u64) -> u64 {
        let units = self.units_per_sec.max(1);
        let sec = i128::from(ts / units) + i128::from(self.offset_sec);
        let frac_ms = u128::from(ts % units) * 1000 / u128::from(units);
        let ms = u128::try_from(sec).unwrap_or(0) * 1000 + frac_ms;
        u64::try_from(ms).unwrap_or(u64::MAX)
    }
}

/// The byte order a section header block's byte-order magic gives, if it is one.
fn byte_order(b: &[u8]) -> Option<Order> {
    match [b[8], b[9], b[10], b[11]] {
        [0x4d, 0x3c, 0x2b, 0x1a] => Some(Order::Little),
        [0x1a, 0x2b, 0x3c, 0x4d] => Some(Order::Big),
        _ => None,
    }
}

/// A block pcap-parser parsed, or the block's name in the error. The whole block was given, so
/// "incomplete" means its contents overrun its length.
fn nom_ok<'a, T>(
    result: nom::IResult<&'a [u8], T, PcapError<&'a [u8]>>,
    name: &str,
) -> Result<T, FileErrorKind> {
    result
        .map(|(_, block)| block)
        .map_err(|_| malformed(format!("a malformed {name} block")))
}

/// Where `part`, a slice of `block`, lies in it.
fn offset_in(block: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(block.as_ptr() as usize);
    start..start + part.len()
}

/// libpcap's `max_snaplen_for_dlt`: 262144 but for D-Bus, EBHSCR and USBPcap.
fn max_snaplen(dlt: i32) -> u32 {
    match dlt {
        231 => 128 << 20,
        279 => 8 << 20,
        249 => 1 << 20,
        _ => MAX_SNAPLEN,
    }
}

/// The `DLT_*` number of a file's `LINKTYPE_*` number: the same but for the few link types
/// whose DLT differs between systems (libpcap's `linktype_to_dlt`, as on Linux).
fn linktype_to_dlt(linktype: u32) -> i32 {
    match linktype {
        100 => 11, // ATM_RFC1483
        101 => 12, // RAW
        102 => 15, // SLIP_BSDOS
        103 => 16, // PPP_BSDOS
        106 => 19, // ATM_CLIP
        other => other as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(magic: u32, snaplen: u32, linktype: u32) -> Vec<u8> {
        let mut b = magic.to_le_bytes().to_vec();
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&snaplen.to_le_bytes());
        b.extend_from_slice(&linktype.to_le_bytes());
        b
    }

    fn open(b: &[u8]) -> Format {
        match Format::open(b).unwrap() {
            Step::Done(format, _) => format,
            Step::Incomplete(n) => panic!("needs {n} bytes"),
        }
    }

    #[test]
    fn records_longer_than_the_snapshot_keep_its_length_as_libpcap_does() {
        let mut b = pcap_header(0xa1b2_c3d4, 64, 1);
        let mut format = open(&b);
        b.drain(..24);
        for field in [1u32, 2000, 100, 150] {
            b.extend_from_slice(&field.to_le_bytes());
        }
        b.extend_from_slice(&[7; 100]);
        match format.parse(&b).unwrap() {
            Step::Done(Some(found), len) => {
                assert_eq!((found.data, found.wire_len, len), (16..80, 150, 116));
                assert_eq!(found.time_ms, 1002);
                assert_eq!(found.link, Some(LinkType::Ethernet));
            }
            _ => panic!("a record"),
        }
    }

    #[test]
    fn captured_lengths_above_libpcaps_maximum_are_errors_not_truncations() {
        let mut format = open(&pcap_header(0xa1b2_c3d4, 0, 1));
        let mut b = Vec::new();
        for field in [0u32, 0, MAX_SNAPLEN + 1, 60] {
            b.extend_from_slice(&field.to_le_bytes());
        }
        assert!(matches!(
            format.parse(&b),
            Err(FileErrorKind::Malformed(text)) if text.contains("262145")
        ));
    }

    #[test]
    fn archaic_versions_have_their_lengths_swapped() {
        let mut header = pcap_header(0xa1b2_c3d4, 0, 1);
        header[6..8].copy_from_slice(&2u16.to_le_bytes()); // version 2.2
        let mut format = open(&header);
        let mut b = Vec::new();
        for field in [0u32, 0, 90, 40] {
            b.extend_from_slice(&field.to_le_bytes());
        }
        b.extend_from_slice(&[0; 40]);
        match format.parse(&b).unwrap() {
            Step::Done(Some(found), 56) => assert_eq!((found.data, found.wire_len), (16..56, 90)),
            _ => panic!("a record of 40 captured bytes"),
        }
    }

    #[test]
    fn pcapng_times_follow_each_interfaces_resolution_and_offset() {
        let iface = |units_per_sec, offset_sec| Interface::new(1, 0, units_per_sec, offset_sec);
        assert_eq!(iface(1_000_000, 0).time_ms(1_500_123_456), 1_500_123);
        assert_eq!(
            iface(1_000_000_000, 0).time_ms(1_500_123_456_789),
            1_500_123
        );
        assert_eq!(iface(1 << 10, 0).time_ms(3 * 1024 + 512), 3500);
        assert_eq!(iface(1, 10).time_ms(5), 15_000);
        assert_eq!(iface(1, -10).time_ms(5), 0, "before the epoch: 0");
        assert_eq!(iface(1, 0).time_ms(u64::MAX), u64::MAX, "saturates");
    }

    #[test]
    fn unknown_magics_and_short_inputs() {
        assert!(matches!(Format::open(b"abc"), Ok(Step::Incomplete(4))));
        assert!(matches!(
            Format::open(b"GET / HTTP/1.1\r\n"),
            Err(FileErrorKind::UnknownFormat)
        ));
        // pcapng's block type is "\n\r\r\n": a text file may start so.
        assert!(matches!(
            Format::open(b"\n\r\r\nsome text here"),
            Err(FileErrorKind::UnknownFormat)
        ));
        let header = pcap_header(0xa1b2_c3d4, 0, 1);
        assert!(matches!(
            Format::open(&header[..20]),
            Ok(Step::Incomplete(24))
        ));
    }

    #[test]
    fn linktypes_that_differ_from_dlts() {
        assert_eq!(linktype_to_dlt(101), 12);
        assert_eq!(linktype_to_dlt(1), 1);
        assert_eq!(linktype_to_dlt(276), 276);
    }
}
