//! The command line, and the library settings it implies.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser};
use ndpi::export::{Collector, ExportConfig};
use ndpi::{Cidr, Detector, DetectorBuilder, LiveOptions, TrackerConfig};

const AFTER_HELP: &str = "\
With no classification options the results match `ndpiReader -i FILE` of the same nDPI release \
(Debian's for 4.2; for 4.10 the one scripts/build-ndpireader.sh builds): no custom files, no \
tunnel decoding, the reader's own settings, and, for files, flows that last until the end of the \
capture. Live captures end flows after 30 s idle and on TCP FIN/RST.

--json writes one JSON object per line: first {\"type\":\"start\", \"classify\": VERSION, \"ndpi\": VERSION}, then {\"type\":\"flow\", ...} for each flow when it ends (the \
flow record's keys), {\"type\":\"alert\", ...} for each alert a Lua check raises, with \
--flow-updates {\"type\":\"flow_update\", ...} (the same keys, no end_reason) for each active flow \
every interval of its flow time, and, at the end, {\"type\":\"script_failure\", ...} for each \
check that failed. Live, the lines are flushed as flows end.

Live captures end flows on the clock: a quiet link still moves time on, so an idle flow ends \
--idle-timeout after its last packet. Frames the kernel dropped (its buffer was full) show in the \
status line and the summary, with a warning the first time; a larger --buffer-size helps.

--threads N shards flows over N workers by a symmetric hash of their VLAN and addresses: flows \
between two hosts share a worker. The workers share nDPI's caches (nDPI 4.10's global context). \
The flow records are the same as with one thread, except when the flow table is full \
(--max-flows applies per worker) or for a few flows nDPI classifies from caches that link \
flows of different host pairs (Ookla, STUN): whether a worker finds another's entry depends on \
their timing. Live on Linux, each \
worker reads its own capture of the interface, joined in one AF_PACKET fanout group whose BPF \
program hashes the same way; elsewhere one thread reads for all.

Ctrl-C (or SIGTERM) stops the capture and reports every flow, with end_reason capture_end; a \
second Ctrl-C exits at once.";

/// One `--cfg`: nDPI's protocol (none for a global setting), parameter and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub proto: Option<String>,
    pub param: String,
    pub value: String,
}

/// `[PROTO,]PARAM,VALUE`, as ndpiReader's --cfg.
fn parse_setting(text: &str) -> Result<Setting, String> {
    let parts: Vec<&str> = text.split(',').collect();
    let (proto, param, value) = match parts[..] {
        [param, value] => (None, param, value),
        [proto, param, value] => (Some(proto.to_owned()), param, value),
        _ => return Err("expected [PROTO,]PARAM,VALUE".to_owned()),
    };
    if param.is_empty() {
        return Err("the parameter is empty".to_owned());
    }
    Ok(Setting {
        proto,
        param: param.to_owned(),
        value: value.to_owned(),
    })
}

/// Parses the command line. The version line names the nDPI release classify runs:
/// "classify 0.2.0 (nDPI 4.10.0)".
pub fn parse() -> Result<Args, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let version = format!(
        "{} (nDPI {})",
        env!("CARGO_PKG_VERSION"),
        Detector::revision()
    );
    // clap keeps a &'static str; this runs once per process.
    let version: &'static str = Box::leak(version.into_boxed_str());
    let matches = Args::command().version(version).try_get_matches()?;
    Args::from_arg_matches(&matches)
}

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
    /// Kernel capture buffer size in bytes, K/M/G suffixes allowed (live): room for bursts
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64M",
          help_heading = "Input")]
    pub buffer_size: i32,
    /// Do not put the interface in promiscuous mode (live)
    #[arg(long, help_heading = "Input")]
    pub no_promisc: bool,
    /// Hand over each frame as it arrives instead of in kernel blocks of up to 20 ms (live);
    /// on Linux it holds far fewer frames in the buffer and loses frames under load
    #[arg(long, help_heading = "Input")]
    pub immediate: bool,

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
    /// nDPI's directory of domain/IP lists, one category per CAT_name.list file (ndpiReader -G;
    /// nDPI 4.10)
    #[arg(long, value_name = "DIR", help_heading = "Classification")]
    pub lists: Option<PathBuf>,
    // (A help attribute, not a doc comment: rustdoc would read "[PROTO,]" as a link.)
    #[arg(long = "cfg", value_name = "[PROTO,]PARAM,VALUE", value_parser = parse_setting,
          help_heading = "Classification",
          help = "An nDPI setting, as ndpiReader's --cfg: \"[PROTO,]PARAM,VALUE\", e.g. \
                  \"tls,metadata.ja4c_fingerprint,0\" or \"filename.config,FILE\" (nDPI 4.10; \
                  repeatable, applied in order)")]
    pub settings: Vec<Setting>,
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
    /// Also write a flow_update JSON line for each active flow every this much of its flow time
    /// (60s, 5m; a bare number is seconds). Periodic outputs share one interval: the shorter of
    /// this and --active-timeout; Lua periodic hooks run at it too
    #[arg(long, value_name = "DURATION", value_parser = parse_update_interval,
          help_heading = "Output")]
    pub flow_updates: Option<Duration>,
    /// Export flows over IPFIX to a collector: udp://HOST:PORT or tcp://HOST:PORT
    #[arg(long, value_name = "URL", help_heading = "Output")]
    pub ipfix: Option<Collector>,
    /// With --ipfix: export long flows every this long of flow time (flowEndReason 2), counters
    /// as deltas; shared with --flow-updates and Lua periodic hooks (the shorter interval wins)
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

    /// The tracker's one periodic interval, which flow_update lines, IPFIX active-timeout
    /// records and the Lua periodic hooks all follow: the shorter of --flow-updates and (with
    /// --ipfix) --active-timeout, else the checks' interval (60 s) when a check has a periodic
    /// hook.
    pub fn periodic_interval(&self, checks: Option<Duration>) -> Option<Duration> {
        let asked = [self.flow_updates, self.ipfix.map(|_| self.active_timeout)];
        asked.into_iter().flatten().min().or(checks)
    }

    /// The detection module's settings: nDPI's custom files, lists and settings.
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
        if let Some(dir) = &self.lists {
            builder = builder.categories_dir(dir);
        }
        // What nDPI's reader sets on top of the library's defaults, then the user's settings.
        builder = builder.reader_settings();
        for setting in &self.settings {
            builder = builder.set(setting.proto.as_deref(), &setting.param, &setting.value);
        }
        builder
    }

    /// The live capture's settings.
    pub fn live_options(&self) -> LiveOptions {
        LiveOptions::default()
            .snaplen(self.snaplen)
            .promiscuous(!self.no_promisc)
            .buffer_size(Some(self.buffer_size))
            .immediate(self.immediate)
    }
}

pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A duration as humantime reads it (`30s`, `5m`, `250ms`, `1h 30m`), or a bare number of
/// seconds, as ndpiReader's `-s` takes it.
fn parse_duration(text: &str) -> Result<Duration, humantime::DurationError> {
    match text.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => humantime::parse_duration(text),
    }
}

/// A positive duration, as [`parse_duration`] reads it.
fn parse_update_interval(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Ok(d) if d.is_zero() => Err("the interval must be longer than 0".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// Bytes, with an optional K, M or G (binary) suffix.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("classify").chain(args.iter().copied()))
            .expect("valid arguments")
    }

    #[test]
    fn live_defaults_lose_nothing_on_common_interfaces() {
        let options = parse(&["-i", "lo"]).live_options();
        assert_eq!(options.snaplen, 262_144);
        assert_eq!(options.buffer_size, Some(64 << 20));
        assert!(options.promiscuous);
        assert_eq!(
            options.buffer_size,
            ndpi::LiveOptions::default().buffer_size
        );
    }

    #[test]
    fn buffer_size_takes_suffixes() {
        let options = parse(&["-i", "lo", "--buffer-size", "256M"]).live_options();
        assert_eq!(options.buffer_size, Some(256 << 20));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert!(parse_size("2G").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn flow_updates_take_durations_and_seconds() {
        assert_eq!(parse(&["-r", "x.pcap"]).flow_updates, None);
        let updates = |text| parse(&["-r", "x.pcap", "--flow-updates", text]).flow_updates;
        assert_eq!(updates("60"), Some(Duration::from_secs(60)));
        assert_eq!(updates("5m"), Some(Duration::from_secs(300)));
        assert_eq!(updates("250ms"), Some(Duration::from_millis(250)));
        let zero = ["classify", "-r", "x.pcap", "--flow-updates", "0s"];
        assert!(Args::try_parse_from(zero).is_err());
    }
}
