//! Sending IPFIX messages to a collector over UDP or TCP, from a thread of its own, so that a
//! slow or absent collector never stops classification.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::ipfix::{flow_end_reason, write_header, Counts, Encoder};
use crate::{FlowRecord, FlowTuple};

/// Where messages go: `udp://HOST:PORT` or `tcp://HOST:PORT` (HOST a name, an IPv4 address or
/// a bracketed IPv6 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collector {
    /// Datagrams to a connected UDP socket: one message each.
    Udp(SocketAddr),
    /// A TCP connection: messages back to back, templates again on each (re)connect.
    Tcp(SocketAddr),
}

impl Collector {
    /// The collector's address.
    pub fn addr(&self) -> SocketAddr {
        match self {
            Collector::Udp(a) | Collector::Tcp(a) => *a,
        }
    }
}

impl fmt::Display for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Collector::Udp(a) => write!(f, "udp://{a}"),
            Collector::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

impl FromStr for Collector {
    type Err = String;

    /// Parses `udp://HOST:PORT` or `tcp://HOST:PORT`, resolving HOST (its first address).
    fn from_str(text: &str) -> Result<Self, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("{text:?}: expected udp://HOST:PORT or tcp://HOST:PORT"))?;
        let addr = rest
            .to_socket_addrs()
            .map_err(|e| format!("{text:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("{text:?}: no address"))?;
        match scheme {
            "udp" => Ok(Collector::Udp(addr)),
            "tcp" => Ok(Collector::Tcp(addr)),
            _ => Err(format!(
                "{text:?}: the scheme is udp or tcp, not {scheme:?}"
            )),
        }
    }
}

/// How the exporter behaves.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExportConfig {
    /// The observation domain ID (1).
    pub domain: u32,
    /// The largest message, in octets (1400: fits a 1500-byte path MTU with IP and UDP
    /// headers, IPv6 included).
    pub max_message: usize,
    /// UDP: templates again after this long (60 s)...
    pub template_interval: Duration,
    /// ... or after this many messages (1000), whichever comes first.
    pub template_messages: u64,
    /// Unsent messages kept while the collector is slow or away (16 MiB); beyond, messages
    /// are dropped and counted.
    pub buffer_bytes: usize,
    /// UDP: at most this many messages a second (`None`: as fast as the socket takes them).
    pub max_messages_per_sec: Option<u32>,
    /// A message waits at most this long for more records (1 s).
    pub flush_interval: Duration,
    /// How long [`Exporter::finish`] waits for unsent messages to go (5 s).
    pub finish_timeout: Duration,
    /// TCP: the longest wait between connection attempts (5 s; the first wait is 100 ms, then
    /// doubling).
    pub max_backoff: Duration,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            domain: 1,
            max_message: 1400,
            template_interval: Duration::from_secs(60),
            template_messages: 1000,
            buffer_bytes: 16 << 20,
            max_messages_per_sec: None,
            flush_interval: Duration::from_secs(1),
            finish_timeout: Duration::from_secs(5),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What the exporter did. `records` = `records_sent` + `records_dropped` + what is still
/// queued; a failure is counted, never fatal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ExportStats {
    /// Data records encoded: flows that ended, and active-timeout records.
    pub records: u64,
    /// Of which active-timeout records (flowEndReason 2).
    pub active_records: u64,
    /// Data records handed to the socket.
    pub records_sent: u64,
    /// Messages handed to the socket (templates included).
    pub messages_sent: u64,
    /// Their octets.
    pub bytes_sent: u64,
    /// Failed sends (UDP: e.g. ECONNREFUSED after an ICMP port unreachable; TCP: a broken
    /// connection, the message is then sent again after reconnecting).
    pub send_errors: u64,
    /// Failed TCP connection attempts.
    pub connect_errors: u64,
    /// TCP connections made (the first one included).
    pub connects: u64,
    /// Messages dropped: failed UDP sends, a full buffer, or unsent at the end.
    pub messages_dropped: u64,
    /// Data records in the dropped messages.
    pub records_dropped: u64,
    /// Records whose strings were cut to fit a message.
    pub truncated: u64,
    /// The latest error, as text.
    pub last_error: Option<String>,
}

impl ExportStats {
    /// Send and connect errors together.
    pub fn errors(&self) -> u64 {
        self.send_errors + self.connect_errors
    }
}

struct Message {
    bytes: Vec<u8>,
    records: u32,
    sequence: u32,
}

#[derive(Default)]
struct Queue {
    messages: VecDeque<Message>,
    bytes: usize,
    closed: bool,
    /// When the sender gives up on what is left, once closed.
    deadline: Option<Instant>,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    stats: Mutex<ExportStats>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unix_seconds() -> u32 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// An IPFIX exporter fed with flow records: it encodes them (see [`super::ipfix`]) and a
/// thread of its own sends the messages.
///
/// Counters are deltas: a flow reported by [`Exporter::active`] (flowEndReason 2, active
/// timeout) is remembered, and its next record, active or final, reports only what it gained
/// since. The sum of a flow's records is the flow's total.
///
/// ```no_run
/// use ndpi::export::{Collector, ExportConfig, Exporter};
/// # let record = ndpi::FlowRecord::default();
/// let mut exporter = Exporter::start("udp://127.0.0.1:4739".parse()?, ExportConfig::default())?;
/// exporter.ended(&record);
/// let stats = exporter.finish();
/// println!("{} records sent, {} errors", stats.records_sent, stats.errors());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Exporter {
    encoder: Encoder,
    config: ExportConfig,
    udp: bool,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    templates_at: Instant,
    messages_since_templates: u64,
    /// When the first record of the message being built came.
    pending_since: Option<Instant>,
    /// What the active-timeout records of each flow still active reported so far.
    reported: HashMap<(FlowTuple, u64), Counts>,
    records: u64,
    active_records: u64,
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exporter")
            .field("config", &self.config)
            .field("udp", &self.udp)
            .finish_non_exhaustive()
    }
}

impl Exporter {
    /// Starts exporting to `collector`. UDP: the socket is made here (an error only if no
    /// socket can be made at all); TCP: the sender thread connects, and reconnects, by itself.
    pub fn start(collector: Collector, config: ExportConfig) -> io::Result<Exporter> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            stats: Mutex::new(ExportStats::default()),
        });
        let thread_shared = shared.clone();
        let thread = match collector {
            Collector::Udp(addr) => {
                let local: SocketAddr = match addr {
                    SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
                    SocketAddr::V6(_) => ([0u16; 8], 0).into(),
                };
                let socket = UdpSocket::bind(local)?;
                let rate = config.max_messages_per_sec;
                std::thread::Builder::new()
                    .name("ipfix-udp".into())
                    .spawn(move || send_udp(&thread_shared, &socket, addr, rate))?
            }
            Collector::Tcp(addr) => {
                let mut templates = Encoder::new(config.domain, 65535).templates(0);
                let templates = templates.pop().expect("the templates fit one message");
                let max_backoff = config.max_backoff;
                std::thread::Builder::new()
                    .name("ipfix-tcp".into())
                    .spawn(move || send_tcp(&thread_shared, addr, &templates, max_backoff))?
            }
        };
        let udp = matches!(collector, Collector::Udp(_));
        let mut exporter = Exporter {
            encoder: Encoder::new(config.domain, config.max_message),
            config,
            udp,
            shared,
            thread: Some(thread),
            templates_at: Instant::now(),
            messages_since_templates: 0,
            pending_since: None,
            reported: HashMap::new(),
            records: 0,
            active_records: 0,
        };
        if udp {
            let mut encoder = Encoder::new(exporter.config.domain, exporter.config.max_message);
            for message in encoder.templates(unix_seconds()) {
                exporter.enqueue(message, 0);
            }
        }
        Ok(exporter)
    }

    /// Exports what an active flow gained since its last record, with flowEndReason 2 (active
    /// timeout): for the tracker's [`FlowEvent::Periodic`](crate::FlowEvent::Periodic).
    pub fn active(&mut self, record: &FlowRecord) {
        let key = (record.tuple, record.first_seen_ms);
        let now = Counts::of(record);
        let before = self.reported.insert(key, now).unwrap_or_default();
        let delta = now.since(before);
        if delta == Counts::default() {
            return;
        }
        self.active_records += 1;
        self.push(record, delta, flow_end_reason(None));
    }

    /// Exports a flow that ended (the rest of its counters since any active record).
    pub fn ended(&mut self, record: &FlowRecord) {
        let key = (record.tuple, record.first_seen_ms);
        let before = self.reported.remove(&key).unwrap_or_default();
        let delta = Counts::of(record).since(before);
        self.push(record, delta, flow_end_reason(record.end_reason));
    }

    fn push(&mut self, record: &FlowRecord, counts: Counts, end: u8) {
        self.records += 1;
        let sequence = self.encoder.sequence();
        let pending = self.encoder.pending_records();
        if let Some(message) = self.encoder.push(record, counts, end, unix_seconds()) {
            self.enqueue_data(message, pending, sequence.wrapping_sub(pending));
            self.pending_since = None;
        }
        self.pending_since.get_or_insert_with(Instant::now);
        self.tick();
    }

    /// Sends the message being built if it waited long enough, and, over UDP, the templates
    /// when they are due. Call it now and then when no records come (e.g. on a quiet link).
    pub fn tick(&mut self) {
        if self
            .pending_since
            .is_some_and(|t| t.elapsed() >= self.config.flush_interval)
        {
            self.flush();
        }
    }

    /// Sends the message being built now.
    pub fn flush(&mut self) {
        let pending = self.encoder.pending_records();
        let sequence = self.encoder.sequence().wrapping_sub(pending);
        if let Some(message) = self.encoder.flush(unix_seconds()) {
            self.enqueue_data(message, pending, sequence);
        }
        self.pending_since = None;
    }

    fn enqueue_data(&mut self, message: Vec<u8>, records: u32, sequence: u32) {
        if self.udp
            && (self.messages_since_templates >= self.config.template_messages
                || self.templates_at.elapsed() >= self.config.template_interval)
        {
            // The message being built is empty here: templates go alone, before the data.
            let mut encoder = Encoder::new(self.config.domain, self.config.max_message);
            for mut t in encoder.templates(unix_seconds()) {
                write_header(&mut t, unix_seconds(), sequence, self.config.domain);
                self.enqueue(t, 0);
            }
            self.templates_at = Instant::now();
            self.messages_since_templates = 0;
        }
        self.messages_since_templates += 1;
        self.enqueue(message, records);
    }

    fn enqueue(&mut self, bytes: Vec<u8>, records: u32) {
        let sequence = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let mut queue = lock(&self.shared.queue);
        if queue.bytes + bytes.len() > self.config.buffer_bytes {
            drop(queue);
            let mut stats = lock(&self.shared.stats);
            stats.messages_dropped += 1;
            stats.records_dropped += u64::from(records);
            stats.last_error = Some("the export buffer is full".into());
            return;
        }
        queue.bytes += bytes.len();
        queue.messages.push_back(Message {
            bytes,
            records,
            sequence,
        });
        drop(queue);
        self.shared.ready.notify_one();
    }

    /// The counters so far.
    pub fn stats(&self) -> ExportStats {
        let mut stats = lock(&self.shared.stats).clone();
        stats.records = self.records;
        stats.active_records = self.active_records;
        stats.truncated = self.encoder.truncated;
        stats
    }

    /// Sends what is left, waits up to [`ExportConfig::finish_timeout`] for it to go (what
    /// does not is dropped and counted), and returns the counters.
    pub fn finish(mut self) -> ExportStats {
        self.close();
        self.stats()
    }

    fn close(&mut self) {
        self.flush();
        {
            let mut queue = lock(&self.shared.queue);
            queue.closed = true;
            queue.deadline = Some(Instant::now() + self.config.finish_timeout);
        }
        self.shared.ready.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.close();
        }
    }
}

/// The next message to send, waiting for one; `None` once closed and empty, or past the
/// deadline (what is left is then dropped and counted).
fn next(shared: &Shared) -> Option<Message> {
    let mut queue = lock(&shared.queue);
    loop {
        if queue.closed && queue.deadline.is_some_and(|d| Instant::now() >= d) {
            let (messages, records) = queue
                .messages
                .drain(..)
                .fold((0, 0), |(m, r), msg| (m + 1, r + u64::from(msg.records)));
            queue.bytes = 0;
            drop(queue);
            if messages > 0 {
                let mut stats = lock(&shared.stats);
                stats.messages_dropped += messages;
                stats.records_dropped += records;
                stats.last_error = Some("unsent when the export finished".into());
            }
            return None;
        }
        if let Some(message) = queue.messages.pop_front() {
            queue.bytes -= message.bytes.len();
            return Some(message);
        }
        if queue.closed {
            return None;
        }
        queue = shared.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
    }
}

/// Sleeps up to `wait`, less if the exporter closes and its deadline comes first.
fn pause(shared: &Shared, wait: Duration) {
    let until = Instant::now() + wait;
    let mut queue = lock(&shared.queue);
    loop {
        let now = Instant::now();
        if (queue.closed && queue.deadline.is_some_and(|d| now >= d)) || now >= until {
            return;
        }
        let mut left = until - now;
        if let Some(d) = queue.deadline {
            left = left.min(d.saturating_duration_since(now));
        }
        queue = shared
            .ready
            .wait_timeout(queue, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

fn sent(shared: &Shared, message: &Message) {
    let mut stats = lock(&shared.stats);
    stats.messages_sent += 1;
    stats.bytes_sent += message.bytes.len() as u64;
    stats.records_sent += u64::from(message.records);
}

fn send_udp(shared: &Shared, socket: &UdpSocket, addr: SocketAddr, rate: Option<u32>) {
    let gap = rate.map(|r| Duration::from_secs(1) / r.max(1));
    let mut next_at = Instant::now();
    // Connected, so that ICMP errors come back as send errors (ECONNREFUSED); connecting
    // fails without a route (ENETUNREACH), and is tried again for the next message.
    let mut connected = false;
    while let Some(message) = next(shared) {
        if !connected {
            if let Err(e) = socket.connect(addr) {
                let mut stats = lock(&shared.stats);
                stats.send_errors += 1;
                stats.messages_dropped += 1;
                stats.records_dropped += u64::from(message.records);
                stats.last_error = Some(format!("connect: {e}"));
                continue;
            }
            connected = true;
        }
        if let Some(gap) = gap {
            let now = Instant::now();
            if next_at > now {
                std::thread::sleep(next_at - now);
            }
            next_at = next_at.max(now) + gap;
        }
        match socket.send(&message.bytes) {
            Ok(_) => sent(shared, &message),
            Err(e) => {
                let mut stats = lock(&shared.stats);
                stats.send_errors += 1;
                stats.messages_dropped += 1;
                stats.records_dropped += u64::from(message.records);
                stats.last_error = Some(format!("send: {e}"));
            }
        }
    }
}

fn send_tcp(shared: &Shared, addr: SocketAddr, templates: &[u8], max_backoff: Duration) {
    let domain = read_domain(templates);
    let mut stream: Option<TcpStream> = None;
    let mut backoff = Duration::from_millis(100);
    let mut pending: Option<Message> = None;
    loop {
        let msg = match pending.take() {
            Some(msg) if expired(shared) => {
                // Closed and out of time: this message and what is left are dropped.
                dropped(shared, &msg);
                let _ = next(shared);
                return;
            }
            Some(msg) => msg,
            None => match next(shared) {
                Some(msg) => msg,
                None => return,
            },
        };
        let Some(s) = &mut stream else {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(mut s) => {
                    let _ = s.set_nodelay(true);
                    // Templates first on every connection, numbered as the data that follows.
                    let mut t = templates.to_vec();
                    write_header(&mut t, unix_seconds(), msg.sequence, domain);
                    match s.write_all(&t) {
                        Ok(()) => {
                            lock(&shared.stats).connects += 1;
                            backoff = Duration::from_millis(100);
                            stream = Some(s);
                        }
                        Err(e) => fail(shared, false, &e),
                    }
                }
                Err(e) => fail(shared, true, &e),
            }
            if stream.is_none() {
                pause(shared, backoff);
                backoff = (backoff * 2).min(max_backoff);
            }
            pending = Some(msg);
            continue;
        };
        match s.write_all(&msg.bytes) {
            Ok(()) => sent(shared, &msg),
            Err(e) => {
                // Sent again, whole, on the next connection.
                fail(shared, false, &e);
                stream = None;
                pending = Some(msg);
            }
        }
    }
}

/// Whether the exporter closed and its deadline passed.
fn expired(shared: &Shared) -> bool {
    let queue = lock(&shared.queue);
    queue.closed && queue.deadline.is_some_and(|d| Instant::now() >= d)
}

fn dropped(shared: &Shared, msg: &Message) {
    let mut stats = lock(&shared.stats);
    stats.messages_dropped += 1;
    stats.records_dropped += u64::from(msg.records);
    stats.last_error = Some("unsent when the export finished".into());
}

fn read_domain(message: &[u8]) -> u32 {
    u32::from_be_bytes([message[12], message[13], message[14], message[15]])
}

fn fail(shared: &Shared, connect: bool, e: &io::Error) {
    let mut stats = lock(&shared.stats);
    match connect {
        true => stats.connect_errors += 1,
        false => stats.send_errors += 1,
    }
    stats.last_error = Some(format!("{}: {e}", if connect { "connect" } else { "send" }));
}
