//! What scripts report: [`Alert`]s raised with `flow.triggerAlert`, tagged with the [`Hook`]
//! that was running.

use ndpi::{FlowRecord, FlowTuple};
use serde::Serialize;

/// The moments in a flow's life at which scripts run, in a flow's order: `Detected` once, then
/// any number of `Periodic`, then `End` once. A spec-layout module's `check(flow_info)` runs at
/// all three (`flow_info.hook` says which); its `periodic_update` and `flow_end`, and ntopng's
/// three files, at one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    /// Classification is final (detected, or given up and guessed). Runs `check(flow_info)` and
    /// `custom_flow_protocol_detected_script.lua`. Once per flow.
    Detected,
    /// Every periodic interval of flow time (the `ndpi` crate's `TrackerConfig::periodic_interval`). Runs
    /// `check(flow_info)`, then `periodic_update(flow_info)`, and
    /// `custom_flow_periodic_script.lua`.
    Periodic,
    /// The flow ends (idle, closed, evicted, capture over), with its final counters. Runs
    /// `check(flow_info)`, then `flow_end(flow_info)`, and `custom_flow_end_script.lua`. Once
    /// per flow; afterwards the engine forgets the flow's alerts.
    End,
}

impl Hook {
    /// All hooks, in a flow's order.
    pub const ALL: [Hook; 3] = [Hook::Detected, Hook::Periodic, Hook::End];

    /// The JSON spelling: "detected", "periodic" or "end".
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Detected => "detected",
            Hook::Periodic => "periodic",
            Hook::End => "end",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// One `flow.triggerAlert(value, msg)` call on a flow. Serializes to one flat JSON object, to be
/// written as a JSON line next to the flow records; the flow is identified by its 5-tuple, VLAN
/// and `first_seen_ms`, as in the record.
///
/// A flow gets one alert per condition, as ntopng keeps one alert per check per flow: a
/// `flow.triggerAlert` call adds nothing when the same script raised the same message on the
/// flow before, or raised from the same line at an earlier hook. So a `check` whose condition
/// holds at detection and still at the end alerts once, even if its message quotes a counter
/// that grew; one call site in a loop may still raise several messages within one hook.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Alert {
    /// The hook that was running.
    pub hook: Hook,
    /// Path of the script that raised the alert, as found in the checks directory.
    pub script: String,
    /// The score: the script's value truncated to an integer and clamped to 0..=255, the 8 bits
    /// ntopng keeps (ntopng wraps out-of-range values instead; a clamp keeps "very high" high).
    pub score: u8,
    /// The script's message.
    pub message: String,
    /// The flow's L4 protocol, endpoints and VLAN, inline in the JSON as in the flow's record.
    #[serde(flatten)]
    pub tuple: FlowTuple,
    /// The flow's first packet, milliseconds since the Unix epoch.
    pub first_seen_ms: u64,
    /// The flow's last packet when the alert was raised, milliseconds since the Unix epoch.
    pub last_seen_ms: u64,
    /// nDPI's protocol name for the flow (shared with its record; serialized as the string).
    pub l7_proto_name: ndpi::Name,
}

impl Alert {
    pub(crate) fn new(
        record: &FlowRecord,
        hook: Hook,
        script: &str,
        score: u8,
        message: String,
    ) -> Self {
        Alert {
            hook,
            script: script.to_owned(),
            score,
            message,
            tuple: record.tuple,
            first_seen_ms: record.first_seen_ms,
            last_seen_ms: record.last_seen_ms,
            l7_proto_name: record.l7_proto_name.clone(),
        }
    }
}

/// A flow's identity while it lives: its tuple and first packet, as an [`Alert`] names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FlowKey(FlowTuple, u64);

impl FlowKey {
    pub fn of(record: &FlowRecord) -> Self {
        FlowKey(record.tuple, record.first_seen_ms)
    }
}
