//! BPF filters on frames read from files: compiled by libpcap for the frames' link type on a
//! "dead" handle (`pcap_open_dead` + `pcap_compile`, through the `pcap` crate) and run by
//! libpcap's `pcap_offline_filter`, as libpcap runs a filter set on a file it reads itself.

use std::ffi::{c_int, c_uint, c_void};

use pcap::{BpfProgram, Linktype};

/// A filter expression and its programs, one per link type met so far (a pcapng file can
/// have interfaces of several).
pub(super) struct Filter {
    expr: String,
    /// The `DLT_*` number and its program; `None` where the expression does not compile for
    /// that link type (`tcp` on a link that cannot carry IP): no frame of it matches.
    programs: Vec<(i32, Option<BpfProgram>)>,
}

impl Filter {
    /// Compiles `expr` for the link type `dlt`; the error is libpcap's.
    pub fn new(expr: &str, dlt: i32) -> Result<Filter, pcap::Error> {
        let program = compile(expr, dlt)?;
        Ok(Filter {
            expr: expr.to_owned(),
            programs: vec![(dlt, Some(program))],
        })
    }

    /// Whether a frame of link type `dlt` matches, `data` as captured, `wire_len` as it was on
    /// the wire (filters such as `greater 100` look at it).
    pub fn matches(&mut self, dlt: i32, data: &[u8], wire_len: u32) -> bool {
        let at = match self.programs.iter().position(|(d, _)| *d == dlt) {
            Some(at) => at,
            None => {
                self.programs.push((dlt, compile(&self.expr, dlt).ok()));
                self.programs.len() - 1
            }
        };
        self.programs[at]
            .1
            .as_ref()
            .is_some_and(|program| offline_filter(program, data, wire_len))
    }
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("expr", &self.expr)
            .field("link_types", &self.programs.len())
            .finish()
    }
}

fn compile(expr: &str, dlt: i32) -> Result<BpfProgram, pcap::Error> {
    pcap::Capture::dead(Linktype(dlt))?.compile(expr, true)
}

/// libpcap's `struct bpf_program`, rebuilt from the instructions the `pcap` crate lends out.
#[repr(C)]
struct RawProgram {
    len: c_uint,
    insns: *const c_void,
}

/// libpcap's `struct pcap_pkthdr`.
#[repr(C)]
struct PacketHeader {
    ts: libc::timeval,
    caplen: u32,
    len: u32,
}

extern "C" {
    /// libpcap: runs a compiled filter on one packet; non-zero when it matches.
    fn pcap_offline_filter(
        program: *const RawProgram,
        header: *const PacketHeader,
        packet: *const u8,
    ) -> c_int;
}

fn offline_filter(program: &BpfProgram, data: &[u8], wire_len: u32) -> bool {
    let insns = program.get_instructions();
    let raw = RawProgram {
        len: c_uint::try_from(insns.len()).unwrap_or(0),
        insns: insns.as_ptr().cast(),
    };
    let header = PacketHeader {
        ts: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        // Never more than `data` holds: the filter reads at most `caplen` bytes.
        caplen: u32::try_from(data.len()).unwrap_or(u32::MAX),
        len: wire_len,
    };
    // SAFETY: `raw` points at the instructions `program` owns (alive for the call), `len` of
    // them; `header.caplen` bytes of `data` are readable, and libpcap's filter interpreter
    // checks every packet access against it. Nothing is written.
    unsafe { pcap_offline_filter(&raw, &header, data.as_ptr()) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_follow_the_link_type_and_see_the_wire_length() {
        // An Ethernet frame carrying IPv4/UDP to port 53, and the same as raw IP.
        let mut ip = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 8, 0, 0]);
        let mut eth = vec![0; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        eth.extend_from_slice(&ip);
        let mut filter = Filter::new("udp port 53", 1).unwrap();
        assert!(filter.matches(1, &eth, eth.len() as u32));
        assert!(!filter.matches(1, &ip, ip.len() as u32), "not Ethernet");
        assert!(
            filter.matches(12, &ip, ip.len() as u32),
            "compiled for raw IP"
        );
        let mut long = Filter::new("greater 1000", 1).unwrap();
        assert!(long.matches(1, &eth, 1500), "the wire length counts");
        assert!(!long.matches(1, &eth, eth.len() as u32));
        // DLT_USER0 carries no IP: nothing of it matches, and that is no error.
        assert!(!filter.matches(147, &eth, eth.len() as u32));
        assert!(Filter::new("port nonsense and", 1).is_err());
    }
}
