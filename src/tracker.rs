//! The flow table: from decoded packets to classified, counted flows.
//!
//! Per packet: decode → bidirectional key → table entry (counters, timestamps, nDPI state) →
//! nDPI until detection is final → the entry keeps a compact owned [`FlowRecord`] and frees
//! nDPI's state. Flows end on idle timeout, TCP FIN/RST, eviction from a full table, or the end
//! of the capture; each end produces the flow's record as an event.

use std::collections::VecDeque;
use std::hash::BuildHasherDefault;
use std::net::IpAddr;
use std::ops::{AddAssign, Index, IndexMut};
use std::time::Duration;

use hashlink::linked_hash_map::RawEntryMut;
use hashlink::LinkedHashMap;
use rustc_hash::FxHasher;

use crate::decode::{decode, tcp_flags, DecodeOptions, DropReason, LinkType, Packet};
use crate::locality::{direction, Cidr};
use crate::{Detector, Direction, EndReason, Error, Flow, FlowRecord, FlowTuple, Frame, L4Proto};

/// How the tracker behaves. [`TrackerConfig::default`] suits live capture; the
/// [`TrackerConfig::ndpi_reader_offline`] preset reproduces nDPI's reference reader on files.
///
/// New settings may be added in any release: start from a preset and change what you need,
/// with the chainable setters or by assigning fields.
///
/// ```
/// use std::time::Duration;
/// use ndpi::TrackerConfig;
///
/// let config = TrackerConfig::default()
///     .idle_timeout(Some(Duration::from_secs(120)))
///     .max_flows(10_000);
/// let mut offline = TrackerConfig::ndpi_reader_offline();
/// offline.decode.decode_tunnels = true;
/// # let _ = (config, offline);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrackerConfig {
    /// Give up on TCP flows after this many packets without a final classification (80).
    pub max_tcp_packets: u32,
    /// Give up on UDP flows after this many packets (24).
    pub max_udp_packets: u32,
    /// End flows idle for longer than this, in packet time (30 s). `None`: never.
    pub idle_timeout: Option<Duration>,
    /// End TCP flows on RST, or once both sides sent FIN, after a short linger that absorbs
    /// the last ACKs (on by default).
    pub tcp_end: bool,
    /// How long a closed TCP flow lingers for trailing packets (1 s of packet time).
    pub tcp_close_linger: Duration,
    /// At most this many flows at once; the least recently active is evicted (1,000,000).
    pub max_flows: usize,
    /// Emit a [`FlowEvent::Periodic`] for each flow every this much of its packet time.
    /// `None` (the default): never.
    pub periodic_interval: Option<Duration>,
    /// Frame decoding options (tunnel decapsulation).
    pub decode: DecodeOptions,
    /// Local networks, for [`FlowRecord::direction`].
    pub local_networks: Vec<Cidr>,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            max_tcp_packets: 80,
            max_udp_packets: 24,
            idle_timeout: Some(Duration::from_secs(30)),
            tcp_end: true,
            tcp_close_linger: Duration::from_secs(1),
            max_flows: 1_000_000,
            periodic_interval: None,
            decode: DecodeOptions::default(),
            local_networks: Vec::new(),
        }
    }
}

impl TrackerConfig {
    /// The reference reader's behaviour on capture files (`ndpiReader -i FILE`): flows live
    /// until the end of the file (it expires idle flows only on live captures) and TCP
    /// FIN/RST do not end them.
    pub fn ndpi_reader_offline() -> Self {
        TrackerConfig {
            idle_timeout: None,
            tcp_end: false,
            ..TrackerConfig::default()
        }
    }

    /// Sets [`max_tcp_packets`](TrackerConfig::max_tcp_packets).
    pub fn max_tcp_packets(mut self, packets: u32) -> Self {
        self.max_tcp_packets = packets;
        self
    }

    /// Sets [`max_udp_packets`](TrackerConfig::max_udp_packets).
    pub fn max_udp_packets(mut self, packets: u32) -> Self {
        self.max_udp_packets = packets;
        self
    }

    /// Sets [`idle_timeout`](TrackerConfig::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`tcp_end`](TrackerConfig::tcp_end).
    pub fn tcp_end(mut self, on: bool) -> Self {
        self.tcp_end = on;
        self
    }

    /// Sets [`tcp_close_linger`](TrackerConfig::tcp_close_linger).
    pub fn tcp_close_linger(mut self, linger: Duration) -> Self {
        self.tcp_close_linger = linger;
        self
    }

    /// Sets [`max_flows`](TrackerConfig::max_flows).
    pub fn max_flows(mut self, flows: usize) -> Self {
        self.max_flows = flows;
        self
    }

    /// Sets [`periodic_interval`](TrackerConfig::periodic_interval).
    pub fn periodic_interval(mut self, interval: Option<Duration>) -> Self {
        self.periodic_interval = interval;
        self
    }

    /// Sets [`decode`](TrackerConfig::decode).
    pub fn decode(mut self, options: DecodeOptions) -> Self {
        self.decode = options;
        self
    }

    /// Sets [`local_networks`](TrackerConfig::local_networks).
    pub fn local_networks(mut self, networks: impl IntoIterator<Item = Cidr>) -> Self {
        self.local_networks = networks.into_iter().collect();
        self
    }
}

/// A duration in whole milliseconds of packet time, saturating.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What happened to a flow, with a snapshot of its record. Every flow gets exactly one
/// `Classified`, then any number of `Periodic`, then one `Ended`.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowEvent {
    /// Classification became final: detected, given up after the packet limit, or given up
    /// because the flow ended first (then it comes right before `Ended`).
    Classified(FlowRecord),
    /// The periodic interval elapsed for an active flow.
    Periodic(FlowRecord),
    /// The flow ended; `end_reason` says why.
    Ended(FlowRecord),
}

impl FlowEvent {
    /// The record carried by the event.
    pub fn record(&self) -> &FlowRecord {
        match self {
            FlowEvent::Classified(r) | FlowEvent::Periodic(r) | FlowEvent::Ended(r) => r,
        }
    }
}

/// Counters of everything the tracker saw and did. Stats of several trackers (e.g. one per
/// thread) add up with `+=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct TrackerStats {
    /// Frames given to [`Tracker::process`] (or to `process_packet` and `count_dropped`).
    pub frames: u64,
    /// Their wire lengths, summed.
    pub wire_bytes: u64,
    /// Frames that became packets of a flow.
    pub packets: u64,
    /// Frames dropped, by reason.
    pub dropped: DropCounts,
    /// Packets handed to nDPI.
    pub dpi_packets: u64,
    /// Frames whose timestamp was earlier than the previous one (clamped, as the reference).
    pub timestamps_backwards: u64,
    /// Flows created.
    pub flows_created: u64,
    /// Flows ended, by reason.
    pub flows_ended: EndCounts,
    /// Flows whose classification was guessed at give-up.
    pub flows_guessed: u64,
    /// Most flows tracked at once. Summed when stats add up: for trackers running side by
    /// side, a bound of how many they held at once.
    pub max_active_flows: u64,
}

impl TrackerStats {
    /// Frames dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason]
    }

    /// Flows ended for `reason`.
    pub fn ended(&self, reason: EndReason) -> u64 {
        self.flows_ended[reason]
    }
}

impl AddAssign<&TrackerStats> for TrackerStats {
    fn add_assign(&mut self, other: &TrackerStats) {
        let TrackerStats {
            frames,
            wire_bytes,
            packets,
            dropped,
            dpi_packets,
            timestamps_backwards,
            flows_created,
            flows_ended,
            flows_guessed,
            max_active_flows,
        } = other;
        self.frames += frames;
        self.wire_bytes += wire_bytes;
        self.packets += packets;
        self.dropped += dropped;
        self.dpi_packets += dpi_packets;
        self.timestamps_backwards += timestamps_backwards;
        self.flows_created += flows_created;
        self.flows_ended += flows_ended;
        self.flows_guessed += flows_guessed;
        self.max_active_flows += max_active_flows;
    }
}

impl AddAssign for TrackerStats {
    fn add_assign(&mut self, other: TrackerStats) {
        *self += &other;
    }
}

/// A counter per reason, indexable by the reason: `counts[reason]`.
macro_rules! counts {
    ($(#[$doc:meta])* $name:ident, $reason:ident, $all:expr, $index:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name([u64; $all.len()]);

        impl $name {
            /// Every reason with its count (zero or not), in the order of the reasons.
            pub fn iter(&self) -> impl Iterator<Item = ($reason, u64)> + '_ {
                $all.into_iter().map(|reason| (reason, self[reason]))
            }

            /// The reasons counted at least once, with their counts.
            pub fn nonzero(&self) -> impl Iterator<Item = ($reason, u64)> + '_ {
                self.iter().filter(|(_, n)| *n > 0)
            }

            /// All reasons together.
            pub fn total(&self) -> u64 {
                self.0.iter().sum()
            }
        }

        impl Index<$reason> for $name {
            type Output = u64;
            fn index(&self, reason: $reason) -> &u64 {
                &self.0[($index)(reason)]
            }
        }

        impl IndexMut<$reason> for $name {
            fn index_mut(&mut self, reason: $reason) -> &mut u64 {
                &mut self.0[($index)(reason)]
            }
        }

        impl AddAssign<&$name> for $name {
            fn add_assign(&mut self, other: &$name) {
                for (a, b) in self.0.iter_mut().zip(other.0) {
                    *a += b;
                }
            }
        }

        impl AddAssign for $name {
            fn add_assign(&mut self, other: $name) {
                *self += &other;
            }
        }

        /// One JSON object: each reason's `as_str()` spelling and its count.
        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (reason, n) in self.iter() {
                    map.serialize_entry(reason.as_str(), &n)?;
                }
                map.end()
            }
        }
    };
}

counts!(
    /// Frames dropped, per [`DropReason`]: `stats.dropped[DropReason::NotIp]`.
    DropCounts,
    DropReason,
    DropReason::ALL,
    |reason: DropReason| reason as usize
);

/// Every end reason, in the order [`EndCounts`] lists them.
const END_REASONS: [EndReason; 5] = [
    EndReason::Idle,
    EndReason::Fin,
    EndReason::Rst,
    EndReason::Evicted,
    EndReason::CaptureEnd,
];

counts!(
    /// Flows ended, per [`EndReason`]: `stats.flows_ended[EndReason::Idle]`.
    EndCounts,
    EndReason,
    END_REASONS,
    |reason: EndReason| match reason {
        EndReason::Idle => 0,
        EndReason::Fin => 1,
        EndReason::Rst => 2,
        EndReason::Evicted => 3,
        EndReason::CaptureEnd => 4,
    }
);

/// The bidirectional flow key: VLAN, L4 protocol and the two endpoints in canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    vlan: u16,
    proto: u8,
    low: (IpAddr, u16),
    high: (IpAddr, u16),
}

impl FlowKey {
    fn of(packet: &Packet<'_>) -> Self {
        let a = (packet.src, packet.src_port);
        let b = (packet.dst, packet.dst_port);
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            vlan: packet.vlan_id,
            proto: packet.l4_proto,
            low,
            high,
        }
    }
}

/// One flow of the table, kept small: a million flows in detection cost a million of these
/// (160 bytes with the key and the map's links) besides nDPI's state. The record is made only
/// when an event needs it, from the key, the counters and the classification.
struct Entry<'d> {
    counters: Counters,
    next_periodic_ms: u64,
    stage: Stage<'d>,
}

/// Where a flow's classification is.
enum Stage<'d> {
    /// nDPI's state while detection runs.
    Detecting(Flow<'d>),
    /// Final: the record's classification and metadata (its tuple and counters are the
    /// entry's), and nDPI's state freed.
    Classified(Box<FlowRecord>),
}

/// What a flow's record takes from its entry besides the classification, and the flow's
/// flags (in the same struct so that they share its padding).
struct Counters {
    cli2srv_packets: u64,
    srv2cli_packets: u64,
    cli2srv_bytes: u64,
    srv2cli_bytes: u64,
    first_seen_ms: u64,
    last_seen_ms: u64,
    /// The client (the first packet's sender) is the key's `low` endpoint.
    client_is_low: bool,
    direction: Direction,
    fin_from_client: bool,
    fin_from_server: bool,
    closing: Option<EndReason>,
    /// The classification carries the risk a server's packet clears (see
    /// [`FlowRecord::server_answered`]).
    awaits_server: bool,
}

impl Counters {
    /// The flow's record as it stands: `base`'s classification (or none), with the tuple,
    /// counters and direction.
    fn record(&self, key: &FlowKey, base: Option<FlowRecord>) -> FlowRecord {
        let (cli, srv) = match self.client_is_low {
            true => (key.low, key.high),
            false => (key.high, key.low),
        };
        let tuple = FlowTuple {
            l4_proto: L4Proto(key.proto),
            cli_ip: cli.0,
            cli_port: cli.1,
            srv_ip: srv.0,
            srv_port: srv.1,
            vlan_id: key.vlan,
        };
        let mut record = base.unwrap_or_else(|| FlowRecord::new(tuple, self.first_seen_ms));
        record.tuple = tuple;
        record.cli2srv_packets = self.cli2srv_packets;
        record.srv2cli_packets = self.srv2cli_packets;
        record.cli2srv_bytes = self.cli2srv_bytes;
        record.srv2cli_bytes = self.srv2cli_bytes;
        record.first_seen_ms = self.first_seen_ms;
        record.last_seen_ms = self.last_seen_ms;
        record.direction = self.direction;
        record
    }
}

impl Entry<'_> {
    /// The record with the classification so far (of nDPI's state for a flow in detection).
    fn snapshot(&self, key: &FlowKey) -> FlowRecord {
        match &self.stage {
            Stage::Detecting(flow) => {
                let mut record = self.counters.record(key, None);
                record.take_classification(flow);
                record
            }
            Stage::Classified(classified) => {
                self.counters.record(key, Some((**classified).clone()))
            }
        }
    }

    /// Ends detection: the classification moves out of nDPI's state, which is freed. Returns
    /// the record for the `Classified` event.
    fn classify(&mut self, key: &FlowKey) -> FlowRecord {
        let record = self.snapshot(key);
        self.counters.awaits_server =
            crate::compat::UNIDIRECTIONAL_TRAFFIC.is_some_and(|risk| record.risks.contains(risk));
        self.stage = Stage::Classified(Box::new(record.clone()));
        record
    }
}

type Table<'d> = LinkedHashMap<FlowKey, Entry<'d>, BuildHasherDefault<FxHasher>>;

/// Tracks flows from raw frames and classifies them with one [`Detector`].
///
/// ```no_run
/// use ndpi::{Detector, Frame, LinkType, Tracker, TrackerConfig};
/// let detector = Detector::new()?;
/// let mut tracker = Tracker::new(&detector, TrackerConfig::default());
/// # let (data, time_ms) = (&[0u8; 64][..], 0);
/// tracker.process(LinkType::Ethernet, Frame::new(data, time_ms))?;
/// tracker.finish();
/// for event in tracker.drain_events() {
///     println!("{}", serde_json::to_string(event.record()).unwrap());
/// }
/// # Ok::<(), ndpi::Error>(())
/// ```
///
/// Memory: a flow still in detection costs nDPI's flow state (688 bytes in nDPI 4.2, 1,088
/// in 4.10, from the detector's pool) and about 180 bytes of the table's (the entry with its
/// key and links, 160 bytes, and the map's share). A classified flow frees nDPI's state and
/// keeps its record (a boxed `FlowRecord`, 248 bytes, plus its metadata's strings). Packets of
/// a flow allocate nothing, whether it is in detection or classified; events allocate their
/// records.
pub struct Tracker<'d> {
    detector: &'d Detector,
    config: TrackerConfig,
    flows: Table<'d>,
    closing: VecDeque<(FlowKey, u64)>,
    events: Vec<FlowEvent>,
    stats: TrackerStats,
    last_time_ms: u64,
}

impl<'d> Tracker<'d> {
    /// An empty table classifying with `detector`.
    pub fn new(detector: &'d Detector, config: TrackerConfig) -> Self {
        Tracker {
            detector,
            config,
            flows: Table::default(),
            closing: VecDeque::new(),
            events: Vec::new(),
            stats: TrackerStats::default(),
            last_time_ms: 0,
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &TrackerStats {
        &self.stats
    }

    /// Flows currently tracked.
    pub fn active_flows(&self) -> usize {
        self.flows.len()
    }

    /// Records of the flows currently tracked, least recently active first, as they stand
    /// (made as the iterator goes: the table keeps no records).
    pub fn active_records(&self) -> impl Iterator<Item = FlowRecord> + '_ {
        self.flows.iter().map(|(key, entry)| entry.snapshot(key))
    }

    /// Events produced since the last call, oldest first.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, FlowEvent> {
        self.events.drain(..)
    }

    /// Processes one captured frame: decodes it with the configured [`DecodeOptions`], then
    /// goes on as [`process_packet`](Tracker::process_packet). Undecodable frames are counted in
    /// [`TrackerStats::dropped`]; the error is only for nDPI allocation failure.
    pub fn process(&mut self, link: LinkType, frame: Frame<'_>) -> Result<(), Error> {
        match decode(link, frame.data, self.config.decode) {
            Ok(packet) => self.process_packet(&packet, frame.wire_len, frame.time_ms),
            Err(reason) => {
                self.count_dropped(reason, frame.wire_len, frame.time_ms);
                Ok(())
            }
        }
    }

    /// Processes one frame by its own link type ([`Frame::link`]; a
    /// [`Capture`](crate::Capture) sets it, per interface in a pcapng file) as
    /// [`process`](Tracker::process) does. A frame of no known link type is counted in
    /// [`TrackerStats::dropped`] as [`DropReason::UnsupportedLinkType`].
    pub fn process_frame(&mut self, frame: Frame<'_>) -> Result<(), Error> {
        match frame.link {
            Some(link) => self.process(link, frame),
            None => {
                let reason = DropReason::UnsupportedLinkType;
                self.count_dropped(reason, frame.wire_len, frame.time_ms);
                Ok(())
            }
        }
    }

    /// Counts a frame that did not decode (see [`decode()`]) as [`process`](Tracker::process)
    /// would: its time moves the clock, its bytes and `reason` are counted.
    pub fn count_dropped(&mut self, reason: DropReason, wire_len: u32, time_ms: u64) {
        self.tick(wire_len, time_ms);
        self.stats.dropped[reason] += 1;
    }

    /// Moves the tracker's clock forward to `time_ms` without a frame (an earlier time does
    /// nothing), ending the flows that are idle or done lingering by then. For a quiet live
    /// link, or for several trackers sharing one capture: hand each the capture's latest time
    /// before its frame, and they clamp times exactly as one tracker of the whole capture.
    pub fn advance_to(&mut self, time_ms: u64) {
        if time_ms > self.last_time_ms {
            self.last_time_ms = time_ms;
            self.expire(time_ms);
        }
    }

    /// The tracker's clock: the latest frame time seen (or given to
    /// [`advance_to`](Tracker::advance_to)), in ms.
    pub fn time_ms(&self) -> u64 {
        self.last_time_ms
    }

    /// Counts one frame and moves the clock: a timestamp earlier than the clock counts as at
    /// the clock (as the reference reader does). Returns the frame's time.
    fn tick(&mut self, wire_len: u32, time_ms: u64) -> u64 {
        self.stats.frames += 1;
        self.stats.wire_bytes += u64::from(wire_len);
        let now = if time_ms < self.last_time_ms {
            self.stats.timestamps_backwards += 1;
            self.last_time_ms
        } else {
            time_ms
        };
        self.last_time_ms = now;
        self.expire(now);
        now
    }

    /// Processes one packet decoded already (by [`decode()`], with any options), of a frame of
    /// `wire_len` bytes on the wire captured at `time_ms`: the part of
    /// [`process`](Tracker::process) after decoding, for callers that decode frames themselves
    /// (e.g. to pick a tracker per packet) and should not decode them twice. The error is only
    /// for nDPI allocation failure.
    pub fn process_packet(
        &mut self,
        packet: &Packet<'_>,
        wire_len: u32,
        time_ms: u64,
    ) -> Result<(), Error> {
        let now = self.tick(wire_len, time_ms);
        self.stats.packets += 1;
        let key = FlowKey::of(packet);
        let syn_only = packet
            .tcp_flags
            .is_some_and(|f| f & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN);
        if syn_only
            && self
                .flows
                .get(&key)
                .is_some_and(|e| e.counters.closing.is_some())
        {
            // A new connection reusing the tuple: the old one is over.
            self.end(&key, None);
        }

        let detector = self.detector;
        let entry = match self.flows.raw_entry_mut().from_key(&key) {
            RawEntryMut::Occupied(mut occupied) => {
                occupied.to_back();
                occupied.into_mut()
            }
            RawEntryMut::Vacant(_) => {
                if self.flows.len() >= self.config.max_flows.max(1) {
                    if let Some(oldest) = self.flows.front().map(|(k, _)| *k) {
                        self.end(&oldest, Some(EndReason::Evicted));
                    }
                }
                let entry = Entry {
                    counters: Counters {
                        cli2srv_packets: 0,
                        srv2cli_packets: 0,
                        cli2srv_bytes: 0,
                        srv2cli_bytes: 0,
                        first_seen_ms: now,
                        last_seen_ms: now,
                        client_is_low: key.low == (packet.src, packet.src_port),
                        direction: direction(&self.config.local_networks, packet.src, packet.dst),
                        fin_from_client: false,
                        fin_from_server: false,
                        closing: None,
                        awaits_server: false,
                    },
                    next_periodic_ms: self
                        .config
                        .periodic_interval
                        .map_or(u64::MAX, |i| now.saturating_add(millis(i))),
                    stage: Stage::Detecting(Flow::new(detector)?),
                };
                self.stats.flows_created += 1;
                self.stats.max_active_flows =
                    self.stats.max_active_flows.max(self.flows.len() as u64 + 1);
                self.flows.entry(key).or_insert(entry)
            }
        };

        let counters = &mut entry.counters;
        let client = match counters.client_is_low {
            true => key.low,
            false => key.high,
        };
        let from_client = (packet.src, packet.src_port) == client;
        if from_client {
            counters.cli2srv_packets += 1;
            counters.cli2srv_bytes += u64::from(wire_len);
        } else {
            counters.srv2cli_packets += 1;
            counters.srv2cli_bytes += u64::from(wire_len);
            if let (true, Stage::Classified(record)) = (counters.awaits_server, &mut entry.stage) {
                record.server_answered();
                counters.awaits_server = false;
            }
        }
        counters.last_seen_ms = now;
        let packets = counters
            .cli2srv_packets
            .saturating_add(counters.srv2cli_packets);

        if let Stage::Detecting(flow) = &mut entry.stage {
            self.stats.dpi_packets += 1;
            let limit = match packet.l4_proto {
                6 => Some(self.config.max_tcp_packets),
                17 => Some(self.config.max_udp_packets),
                _ => None,
            };
            let enough = limit.is_some_and(|limit| packets > u64::from(limit));
            let protocol = flow.process(packet.l3, now);
            // Final: given up after the packet limit, or detected with no metadata to wait for.
            if enough || (!protocol.app.is_unknown() && !flow.extra_dissection_possible()) {
                if protocol.app.is_unknown() {
                    flow.give_up();
                    self.stats.flows_guessed += u64::from(flow.was_guessed());
                }
                let record = entry.classify(&key);
                self.events.push(FlowEvent::Classified(record));
            }
        }

        if now >= entry.next_periodic_ms {
            let interval = self.config.periodic_interval.map_or(u64::MAX, millis);
            entry.next_periodic_ms = now.saturating_add(interval);
            self.events.push(FlowEvent::Periodic(entry.snapshot(&key)));
        }

        if let (true, Some(flags)) = (self.config.tcp_end, packet.tcp_flags) {
            let counters = &mut entry.counters;
            if flags & tcp_flags::FIN != 0 {
                *(if from_client {
                    &mut counters.fin_from_client
                } else {
                    &mut counters.fin_from_server
                }) = true;
            }
            let reason = if flags & tcp_flags::RST != 0 {
                Some(EndReason::Rst)
            } else if counters.fin_from_client && counters.fin_from_server {
                Some(EndReason::Fin)
            } else {
                None
            };
            if let (Some(reason), None) = (reason, counters.closing) {
                counters.closing = Some(reason);
                self.closing.push_back((
                    key,
                    now.saturating_add(millis(self.config.tcp_close_linger)),
                ));
            }
        }
        Ok(())
    }

    /// Ends every remaining flow with [`EndReason::CaptureEnd`] (giving up detection where it
    /// is not final). Their records are in [`Tracker::drain_events`].
    pub fn finish(&mut self) {
        self.finish_some(usize::MAX);
    }

    /// Ends at most `max` of the remaining flows, the least recently active first, as
    /// [`finish`](Tracker::finish) does; returns how many flows remain. A table of any size
    /// then ends in bounded memory: drain the events between calls.
    pub fn finish_some(&mut self, max: usize) -> usize {
        for _ in 0..max {
            let Some(key) = self.flows.front().map(|(k, _)| *k) else {
                break;
            };
            self.end(&key, Some(EndReason::CaptureEnd));
        }
        if self.flows.is_empty() {
            self.closing.clear();
        }
        self.flows.len()
    }

    /// Ends idle flows and closed TCP flows whose linger has passed.
    fn expire(&mut self, now: u64) {
        if let Some(idle) = self.config.idle_timeout.map(millis) {
            while let Some((key, entry)) = self.flows.front() {
                if entry.counters.last_seen_ms.saturating_add(idle) >= now {
                    break;
                }
                let key = *key;
                self.end(&key, Some(EndReason::Idle));
            }
        }
        while let Some(&(key, deadline)) = self.closing.front() {
            if deadline >= now {
                break;
            }
            self.closing.pop_front();
            self.end(&key, None);
        }
    }

    /// Removes a flow and emits its record. `reason: None` ends a closing flow with its own
    /// reason, and does nothing for flows that are not closing (e.g. already ended).
    fn end(&mut self, key: &FlowKey, reason: Option<EndReason>) {
        let Some(entry) = self.flows.get(key) else {
            return;
        };
        let Some(reason) = reason.or(entry.counters.closing) else {
            return;
        };
        let mut entry = self.flows.remove(key).expect("present");
        if let Stage::Detecting(flow) = &mut entry.stage {
            flow.give_up();
            self.stats.flows_guessed += u64::from(flow.was_guessed());
            let record = entry.classify(key);
            self.events.push(FlowEvent::Classified(record));
        }
        let Stage::Classified(classified) = entry.stage else {
            unreachable!("classified above");
        };
        let mut record = entry.counters.record(key, Some(*classified));
        record.end_reason = Some(reason);
        self.stats.flows_ended[reason] += 1;
        self.events.push(FlowEvent::Ended(record));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a flow in detection costs besides nDPI's state: the entry, its key and the map's
    /// two links make one 160-byte block (a size class of common allocators: mimalloc's, and
    /// glibc's with its 8-byte header).
    #[test]
    fn a_table_entry_stays_small() {
        let node = std::mem::size_of::<(FlowKey, Entry<'_>)>() + 2 * std::mem::size_of::<usize>();
        assert!(node <= 160, "{node} bytes per entry");

        eprintln!(
            "entry {} bytes, stage {}, key {}, node {node}; record {}",
            std::mem::size_of::<Entry<'_>>(),
            std::mem::size_of::<Stage<'_>>(),
            std::mem::size_of::<FlowKey>(),
            std::mem::size_of::<FlowRecord>()
        );
    }
}
