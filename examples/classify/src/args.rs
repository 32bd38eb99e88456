//! The command line, and the library settings it implies.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser};
use ndpi::export::{Collector, ExportConfig};
use ndpi::{Cidr, Detector, DetectorBuilder, LiveOptions, TrackerConfig};

const AFTER_HELP: &str = "\
With no classification options the results match Debian's `ndpiReader -i FILE`: no custom files, \
no tunnel decoding, and, for files, flows that last until the end of the capture. Live captures \
end flows after 30 s idle and on TCP FIN/RST.

--json writes one JSON object per line: {\"type\":\"flow\", ...} for each flow when it ends (the \
flow record's keys), {\"type\":\"alert\", ...} for each alert a Lua check raises, and, at the end, \
{\"type\":\"script_failure\", ...} for each check that failed.

--threads N shards flows over N workers by a symmetric hash of their VLAN and addresses: flows \
between two hosts share a worker, and with it nDPI's caches. The flow records are the same as with \
one thread, except when the flow table is full (--max-flows applies per worker) or when nDPI's \
caches link flows of different host pairs (seen with STUN in merged captures).

Ctrl-C (or SIGTERM) stops the capture and reports every flow, with end_reason capture_end; a \
second Ctrl-C exits at once.";

/// Classify traffic with nDPI, from a live interface or pcap files, and run Lua flow checks.
#[derive(Debug, Parser)]
#[command(name = "classify", version, after_help = AFTER_HELP)]
#[command(group(ArgGroup::new("input").required(true).args(["interface", "files"])))]
pub struct Args {
    /// Capture live from this interface
    #[arg(short = 'i', long, value_name = "IFACE", help_heading = "Input")]
    pub interface: Option<String>,
    /// Read a pcap or pcapng file; repeat to read several, in order, as one capture
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        help_heading = "Input"
    )]
    pub files: Vec<PathBuf>,
    /// Only frames that match this BPF filter (tcpdump syntax)
    #[arg(short = 'f', long, value_name = "BPF", help_heading = "Input")]
    pub filter: Option<String>,
    /// Stop after this long: wall-clock time live, capture time for files (30s, 5m, 250ms)
    #[arg(short = 'd', long, value_parser = parse_duration, help_heading = "Input")]
    pub duration: Option<Duration>,
    /// Stop after this many frames
    #[arg(short = 'c', long, value_name = "COUNT", help_heading = "Input")]
    pub count: Option<u64>,
    /// Bytes captured per frame (live); tcpdump's default, as loopback frames can exceed 64 KiB
    #[arg(long, default_value_t = 262_144, value_parser = clap::value_parser!(i32).range(64..),
          help_heading = "Input")]
    pub snaplen: i32,
    /// Kernel capture buffer size in bytes, K/M/G suffixes allowed (live) [default: libpcap's]
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Input")]
    pub buffer_size: Option<i32>,
    /// Do not put the interface in promiscuous mode (live)
    #[arg(long, help_heading = "Input")]
    pub no_promisc: bool,

    /// nDPI custom protocols file (protos.txt)
    #[arg(long, value_name = "FILE", help_heading = "Classification")]
    pub protos: Option<PathBuf>,
    /// nDPI custom categories file (categories.txt)
    #[arg(long, value_name = "FILE", help_heading = "Classification")]
    pub categories: Option<PathBuf>,
    /// nDPI risky domains file (risky_domains.txt)
    #[arg(long, value_name = "FILE", help_heading = "Classification")]
    pub risky_domains: Option<PathBuf>,
    /// nDPI malicious JA3 fingerprints file (ja3_fingerprints.csv)
    #[arg(long, value_name = "FILE", help_heading = "Classification")]
    pub ja3: Option<PathBuf>,
    /// nDPI malicious certificate SHA-1 file (sha1_fingerprints.csv)
    #[arg(long, value_name = "FILE", help_heading = "Classification")]
    pub sha1: Option<PathBuf>,
    /// Give up detection on TCP flows after this many packets [default: 80]
    #[arg(long, value_name = "N", help_heading = "Classification")]
    pub max_tcp_packets: Option<u32>,
    /// Give up detection on UDP flows after this many packets [default: 24]
    #[arg(long, value_name = "N", help_heading = "Classification")]
    pub max_udp_packets: Option<u32>,
    /// End flows idle for this long, in packet time [default: 30s live, never for files]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          help_heading = "Classification")]
    pub idle_timeout: Option<Duration>,
    /// End TCP flows on RST or FIN from both sides (always on live)
    #[arg(long, help_heading = "Classification")]
    pub tcp_end: bool,
    /// Track at most this many flows at once, evicting the least recently active [default: 1000000]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          help_heading = "Classification")]
    pub max_flows: Option<u64>,
    /// Decode GTP-U, TZSP, CAPWAP, VXLAN and GRE tunnels
    #[arg(long, help_heading = "Classification")]
    pub tunnels: bool,
    /// A local network, for the flows' direction (repeatable)
    #[arg(long, value_name = "CIDR", help_heading = "Classification")]
    pub local_net: Vec<Cidr>,

    /// Run the Lua checks of this directory on every flow
    #[arg(long, value_name = "DIR", help_heading = "Lua checks")]
    pub checks: Option<PathBuf>,

    /// Write flows and alerts as JSON lines to FILE, or to standard output with -
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub json: Option<PathBuf>,
    /// Export flows over IPFIX to a collector: udp://HOST:PORT or tcp://HOST:PORT
    #[arg(long, value_name = "URL", help_heading = "Output")]
    pub ipfix: Option<Collector>,
    /// With --ipfix: export long flows every this long of flow time (flowEndReason 2), counters
    /// as deltas; Lua periodic hooks then run at the same interval
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s",
          help_heading = "Output")]
    pub active_timeout: Duration,
    /// With --ipfix over UDP: at most this many messages a second [default: no limit]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..),
          help_heading = "Output")]
    pub ipfix_rate: Option<u32>,
    /// Print nothing but errors and the final throughput line
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    /// Classify on this many worker threads
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=256), help_heading = "Classification")]
    pub threads: u16,
}

impl Args {
    /// Whether JSON goes to standard output (which then carries nothing else).
    pub fn json_to_stdout(&self) -> bool {
        self.json.as_deref().is_some_and(|p| p.as_os_str() == "-")
    }

    /// The tracker settings: ndpiReader's for files, the library's defaults live, then the
    /// options given.
    pub fn tracker_config(&self, periodic: Option<Duration>) -> TrackerConfig {
        let mut config = if self.interface.is_some() {
            TrackerConfig::default()
        } else {
            TrackerConfig::ndpi_reader_offline()
        };
        if let Some(n) = self.max_tcp_packets {
            config.max_tcp_packets = n;
        }
        if let Some(n) = self.max_udp_packets {
            config.max_udp_packets = n;
        }
        if let Some(idle) = self.idle_timeout {
            config.idle_timeout = Some(idle);
        }
        config.tcp_end |= self.tcp_end;
        if let Some(n) = self.max_flows {
            config.max_flows = usize::try_from(n).unwrap_or(usize::MAX);
        }
        config.decode.decode_tunnels = self.tunnels;
        config.local_networks = self.local_net.clone();
        config.periodic_interval = periodic;
        config
    }

    /// The IPFIX exporter's settings.
    pub fn export_config(&self) -> ExportConfig {
        let mut config = ExportConfig::default();
        config.max_messages_per_sec = self.ipfix_rate;
        config
    }

    /// The tracker's periodic interval: the active timeout when exporting IPFIX (Lua periodic
    /// hooks run on the same events), else the checks' interval, if any.
    pub fn periodic_interval(&self, checks: Option<Duration>) -> Option<Duration> {
        match self.ipfix {
            Some(_) => Some(self.active_timeout),
            None => checks,
        }
    }

    /// The detection module's settings: nDPI's custom files.
    pub fn detector(&self) -> DetectorBuilder {
        let mut builder = Detector::builder();
        if let Some(path) = &self.protos {
            builder = builder.protocols_file(path);
        }
        if let Some(path) = &self.categories {
            builder = builder.categories_file(path);
        }
        if let Some(path) = &self.risky_domains {
            builder = builder.risky_domains_file(path);
        }
        if let Some(path) = &self.ja3 {
            builder = builder.ja3_fingerprints_file(path);
        }
        if let Some(path) = &self.sha1 {
            builder = builder.sha1_fingerprints_file(path);
        }
        builder
    }

    /// The live capture's settings.
    pub fn live_options(&self) -> LiveOptions {
        LiveOptions::default()
            .snaplen(self.snaplen)
            .promiscuous(!self.no_promisc)
            .buffer_size(self.buffer_size)
    }
}

pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Bytes, with an optional K, M or G (binary) suffix.
/// A duration as humantime reads it (`30s`, `5m`, `250ms`, `1h 30m`), or a bare number of
/// seconds, as ndpiReader's `-s` takes it.
fn parse_duration(text: &str) -> Result<Duration, humantime::DurationError> {
    match text.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => humantime::parse_duration(text),
    }
}

fn parse_size(text: &str) -> Result<i32, String> {
    let (number, shift) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 10),
        Some((i, 'm' | 'M')) => (&text[..i], 20),
        Some((i, 'g' | 'G')) => (&text[..i], 30),
        _ => (text, 0),
    };
    number
        .parse::<i32>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a size in bytes below 2G (e.g. 4194304, 4M)"))
}
