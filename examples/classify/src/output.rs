//! Results out, shared by the workers: JSON lines (flows, alerts, script failures) and the
//! human lines of flows and alerts.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use flowlua::{Alert, ScriptFailure};
use indicatif::ProgressBar;
use ndpi::export::{ExportStats, Exporter};
use ndpi::{FlowRecord, ProtocolId, Risk};
use serde::Serialize;

/// One JSON line.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line<'a> {
    /// The first line: which classify and which nDPI release wrote the rest.
    Start {
        classify: &'static str,
        ndpi: &'static str,
    },
    Flow(&'a FlowRecord),
    FlowUpdate(&'a FlowRecord),
    Alert(&'a Alert),
    ScriptFailure(&'a ScriptFailure),
}

/// What a worker hands over at once: the flows that ended, the alerts raised, and the records of
/// the flows whose periodic interval passed (with --flow-updates written first, as flow_update
/// lines: a flow's updates come before its end; with --ipfix exported as active-timeout records).
#[derive(Default)]
pub struct Batch {
    pub periodic: Vec<FlowRecord>,
    pub flows: Vec<FlowRecord>,
    pub alerts: Vec<Alert>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.periodic.is_empty() && self.flows.is_empty() && self.alerts.is_empty()
    }

    pub fn clear(&mut self) {
        self.periodic.clear();
        self.flows.clear();
        self.alerts.clear();
    }
}

/// Where batches go. Writing stops at the first error, which [`Sink::finish`] returns;
/// [`Sink::failed`] tells the reader to stop early.
pub struct Sink {
    state: Mutex<State>,
    failed: AtomicBool,
    /// Flush the JSON lines after each batch (live: a reader tailing them sees each flow as it
    /// ends).
    flush_json: bool,
    /// Human lines hide the progress bar while they print.
    bar: ProgressBar,
    /// Write periodic records as flow_update JSON lines (--flow-updates).
    flow_updates: bool,
    /// IPFIX export (--ipfix): its failures are counted, never fatal.
    ipfix: Mutex<Option<Exporter>>,
}

struct State {
    json: Option<BufWriter<Box<dyn Write + Send>>>,
    /// Human flow and alert lines; `None` with --quiet, or when JSON takes standard output.
    human: Option<BufWriter<io::Stdout>>,
    flows: u64,
    error: Option<String>,
}

impl Sink {
    /// Opens the JSON file (`-`: standard output), if any. With `flush_json`, each batch is
    /// flushed as it is written.
    pub fn create(
        json: Option<&Path>,
        human: bool,
        flush_json: bool,
        bar: ProgressBar,
    ) -> Result<Sink, String> {
        let json = match json {
            None => None,
            Some(path) if path.as_os_str() == "-" => Some(Box::new(io::stdout()) as Box<_>),
            Some(path) => Some(Box::new(
                File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
            ) as Box<_>),
        };
        let mut json = json.map(|w| BufWriter::with_capacity(1 << 16, w));
        if let Some(out) = &mut json {
            let start = Line::Start {
                classify: env!("CARGO_PKG_VERSION"),
                ndpi: ndpi::Detector::revision(),
            };
            json_line(out, &start).map_err(|e| format!("cannot write the JSON output: {e}"))?;
        }
        Ok(Sink {
            state: Mutex::new(State {
                json,
                human: human.then(|| BufWriter::new(io::stdout())),
                flows: 0,
                error: None,
            }),
            failed: AtomicBool::new(false),
            flush_json,
            bar,
            flow_updates: false,
            ipfix: Mutex::new(None),
        })
    }

    /// Writes periodic records as flow_update JSON lines too.
    pub fn with_flow_updates(mut self) -> Sink {
        self.flow_updates = true;
        self
    }

    /// Exports flows over IPFIX too.
    pub fn with_ipfix(self, exporter: Exporter) -> Sink {
        *self.ipfix.lock().unwrap_or_else(|e| e.into_inner()) = Some(exporter);
        self
    }

    /// Whether periodic records are wanted (flow_update lines, or IPFIX active-timeout records):
    /// workers then hand them over.
    pub fn wants_periodic(&self) -> bool {
        self.flow_updates
            || self
                .ipfix
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
    }

    /// Sends a message that waited long enough (a quiet live link).
    pub fn tick(&self) {
        if let Some(exporter) = &mut *self.ipfix.lock().unwrap_or_else(|e| e.into_inner()) {
            exporter.tick();
        }
    }

    /// Ends the IPFIX export (waiting a few seconds for unsent messages); its counters.
    pub fn finish_export(&self) -> Option<ExportStats> {
        let exporter = self.ipfix.lock().unwrap_or_else(|e| e.into_inner()).take();
        exporter.map(Exporter::finish)
    }

    /// Writes a batch.
    pub fn write(&self, batch: &Batch) {
        if let Some(exporter) = &mut *self.ipfix.lock().unwrap_or_else(|e| e.into_inner()) {
            batch.periodic.iter().for_each(|r| exporter.active(r));
            batch.flows.iter().for_each(|r| exporter.ended(r));
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *state;
        if state.error.is_some() {
            return;
        }
        let mut result = Ok(());
        if let Some(json) = &mut state.json {
            result = write_json(json, batch, self.flow_updates);
            if self.flush_json && result.is_ok() {
                result = json.flush();
            }
        }
        if let (Ok(()), Some(human)) = (&result, &mut state.human) {
            result = self.bar.suspend(|| {
                for record in &batch.flows {
                    state.flows += 1;
                    writeln!(human, "{:>6} {}", state.flows, flow_line(record))?;
                }
                for alert in &batch.alerts {
                    writeln!(human, "{}", alert_line(alert))?;
                }
                human.flush()
            });
        }
        if let Err(e) = result {
            state.error = Some(format!("cannot write the output: {e}"));
            self.failed.store(true, Ordering::Relaxed);
        }
    }

    /// Whether writing failed (e.g. the reader of a pipe went away).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Writes the script failures as JSON lines and flushes; the first write error, if any.
    pub fn finish(&self, failures: &[ScriptFailure]) -> Result<(), String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(error) = state.error.take() {
            return Err(error);
        }
        let result = match &mut state.json {
            Some(json) => failures
                .iter()
                .try_for_each(|f| json_line(json, &Line::ScriptFailure(f)))
                .and_then(|()| json.flush()),
            None => Ok(()),
        };
        result.map_err(|e| format!("cannot write the output: {e}"))
    }
}

fn write_json(out: &mut impl Write, batch: &Batch, flow_updates: bool) -> io::Result<()> {
    for record in batch.periodic.iter().filter(|_| flow_updates) {
        json_line(out, &Line::FlowUpdate(record))?;
    }
    for record in &batch.flows {
        json_line(out, &Line::Flow(record))?;
    }
    for alert in &batch.alerts {
        json_line(out, &Line::Alert(alert))?;
    }
    Ok(())
}

fn json_line(out: &mut impl Write, line: &Line<'_>) -> io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

/// A flow the way ndpiReader prints one, with the metadata that matters most.
pub fn flow_line(r: &FlowRecord) -> String {
    let mut line = format!(
        "{} {} <-> {} [proto: {}/{}][cat: {}][Confidence: {}][{} pkts/{} bytes <-> {} pkts/{} bytes]",
        r.tuple.l4_proto,
        endpoint(r.tuple.cli_ip, r.tuple.cli_port),
        endpoint(r.tuple.srv_ip, r.tuple.srv_port),
        protocol_ids(r.l7_master_proto, r.l7_proto),
        r.l7_proto_name,
        r.category,
        r.confidence.name(),
        r.cli2srv_packets,
        r.cli2srv_bytes,
        r.srv2cli_packets,
        r.srv2cli_bytes,
    );
    let mut field = |label: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            let _ = write!(line, "[{label}: {value}]");
        }
    };
    field("Hostname/SNI", r.host_server_name.as_deref());
    if let Some(http) = &r.http {
        field("URL", http.url.as_deref());
        field(
            "StatusCode",
            http.return_code.map(|c| c.to_string()).as_deref(),
        );
    }
    if let Some(dns) = &r.dns {
        field("DNS answer", dns.replies_as_string.as_deref());
    }
    if let Some(ssh) = &r.ssh {
        field("Client", ssh.client_signature.as_deref());
        field("Server", ssh.server_signature.as_deref());
    }
    if let Some(tls) = &r.tls_quic {
        field("Version", tls.tls_version_name.as_deref());
        field("Issuer", tls.issuer_dn.as_deref());
    }
    let risks: Vec<String> = r.risks.iter().map(Risk::name).collect();
    field("Risk", Some(&risks.join(", ")));
    field("Guessed", r.guessed.then_some("yes"));
    field("end", r.end_reason.map(|e| e.as_str()));
    line
}

fn alert_line(a: &Alert) -> String {
    format!(
        "ALERT [score {}] {}: {} [{} {} -> {} {}]",
        a.score,
        a.script,
        a.message,
        a.tuple.l4_proto,
        endpoint(a.tuple.cli_ip, a.tuple.cli_port),
        endpoint(a.tuple.srv_ip, a.tuple.srv_port),
        a.l7_proto_name
    )
}

/// nDPI's numeric form of a classification ("91.126", "7"), as `ndpi_protocol2id` writes it.
fn protocol_ids(master: ProtocolId, app: ProtocolId) -> String {
    match (master.0, app.0) {
        (0, app) => app.to_string(),
        (master, app) if master == app => app.to_string(),
        (master, 0) => master.to_string(),
        (master, app) => format!("{master}.{app}"),
    }
}

fn endpoint(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}
