//! Capture files written by the tests from real frames: classic pcap in either byte order and
//! time resolution, and pcapng sections, interfaces and packet blocks.

/// A frame to write: its bytes, its length on the wire, its time in ns since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub data: Vec<u8>,
    pub wire_len: u32,
    pub time_ns: u64,
}

/// The records of a little-endian, microsecond pcap file such as tests/data/loopback.pcap.
pub fn records_of(pcap: &[u8]) -> Vec<Record> {
    assert_eq!(
        pcap[..4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian, microseconds"
    );
    let u32_at = |at: usize| u32::from_le_bytes(pcap[at..at + 4].try_into().unwrap());
    let (mut at, mut records) = (24, Vec::new());
    while at + 16 <= pcap.len() {
        let caplen = u32_at(at + 8) as usize;
        records.push(Record {
            data: pcap[at + 16..at + 16 + caplen].to_vec(),
            wire_len: u32_at(at + 12),
            time_ns: u64::from(u32_at(at)) * 1_000_000_000 + u64::from(u32_at(at + 4)) * 1000,
        });
        at += 16 + caplen;
    }
    records
}

/// Writes numbers in one byte order.
#[derive(Debug, Clone, Copy)]
pub struct Writer {
    pub big_endian: bool,
}

impl Writer {
    pub fn u16(self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    pub fn u32(self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    /// A classic pcap file of `records`, in nanoseconds or microseconds.
    pub fn pcap(self, records: &[Record], nanos: bool, linktype: u32) -> Vec<u8> {
        let mut out = Vec::new();
        self.u32(&mut out, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        self.u16(&mut out, 2);
        self.u16(&mut out, 4);
        for field in [0, 0, 262_144, linktype] {
            self.u32(&mut out, field);
        }
        for r in records {
            let unit = if nanos { 1 } else { 1000 };
            self.u32(&mut out, (r.time_ns / 1_000_000_000) as u32);
            self.u32(&mut out, (r.time_ns % 1_000_000_000 / unit) as u32);
            self.u32(&mut out, r.data.len() as u32);
            self.u32(&mut out, r.wire_len);
            out.extend_from_slice(&r.data);
        }
        out
    }

    /// A pcapng block: type, length, `body` padded to 4 bytes, length.
    pub fn block(self, kind: u32, body: &[u8]) -> Vec<u8> {
        let len = 12 + body.len().next_multiple_of(4);
        let mut out = Vec::with_capacity(len);
        self.u32(&mut out, kind);
        self.u32(&mut out, len as u32);
        out.extend_from_slice(body);
        out.resize(8 + body.len().next_multiple_of(4), 0);
        self.u32(&mut out, len as u32);
        out
    }

    /// A section header block.
    pub fn section(self) -> Vec<u8> {
        let mut body = Vec::new();
        self.u32(&mut body, 0x1a2b_3c4d);
        self.u16(&mut body, 1);
        self.u16(&mut body, 0);
        body.extend_from_slice(&[0xff; 8]); // section length: unknown
        self.block(0x0a0d_0d0a, &body)
    }

    /// An interface description block with `if_tsresol` (10^-tsresol s) and `if_tsoffset`.
    pub fn interface(self, linktype: u16, snaplen: u32, tsresol: u8, tsoffset: i64) -> Vec<u8> {
        let mut body = Vec::new();
        self.u16(&mut body, linktype);
        self.u16(&mut body, 0);
        self.u32(&mut body, snaplen);
        self.u16(&mut body, 9); // if_tsresol
        self.u16(&mut body, 1);
        body.extend_from_slice(&[tsresol, 0, 0, 0]);
        self.u16(&mut body, 14); // if_tsoffset
        self.u16(&mut body, 8);
        body.extend_from_slice(&if self.big_endian {
            tsoffset.to_be_bytes()
        } else {
            tsoffset.to_le_bytes()
        });
        self.u32(&mut body, 0); // opt_endofopt
        self.block(1, &body)
    }

    /// An enhanced packet block of interface `id`, stamped `ts` units of its resolution.
    pub fn packet(self, id: u32, ts: u64, data: &[u8], wire_len: u32) -> Vec<u8> {
        let mut body = Vec::new();
        for field in [
            id,
            (ts >> 32) as u32,
            ts as u32,
            data.len() as u32,
            wire_len,
        ] {
            self.u32(&mut body, field);
        }
        body.extend_from_slice(data);
        self.block(6, &body)
    }

    /// A simple packet block (interface 0, no time stamp).
    pub fn simple_packet(self, data: &[u8], wire_len: u32) -> Vec<u8> {
        let mut body = Vec::new();
        self.u32(&mut body, wire_len);
        body.extend_from_slice(data);
        self.block(3, &body)
    }
}
