//! Script failures: what stopped a script, in words that name the script and line, counted once
//! per script however many flows it fails on.

use std::fmt;

use mlua::debug::Debug;
use mlua::{Error, Lua, Value};
use serde::Serialize;

use crate::Hook;

/// Why a script was stopped or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The file could not be read.
    Io,
    /// The file is not valid Lua.
    Syntax,
    /// A Lua error: `error()`, a nil index, a bad `flow.triggerAlert` argument, a refused
    /// `require`, a missing function such as `os.execute` in the sandbox, ...
    Runtime,
    /// The call ran more Lua instructions than
    /// [`instruction_budget`](crate::EngineConfig::instruction_budget) allows.
    InstructionBudget,
    /// The Lua state reached [`memory_limit`](crate::EngineConfig::memory_limit).
    Memory,
    /// A spec-layout module did not return a table with `check`, `periodic_update` or
    /// `flow_end` functions.
    InvalidModule,
}

/// A script that failed, reported once: the first failure's kind and message, and how many
/// calls failed in all (one per flow and hook).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScriptFailure {
    /// Path of the script, as found in the checks directory.
    pub script: String,
    /// The hook of the first failure; `None` when the script failed while loading (and was
    /// therefore not loaded).
    pub hook: Option<Hook>,
    /// Why the first failure happened.
    pub kind: FailureKind,
    /// The first failure's message, e.g. `"loop.lua:3: instruction budget of 1000000 exceeded"`.
    pub message: String,
    /// How many calls failed.
    pub count: u64,
}

impl fmt::Display for ScriptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let during = self.hook.map_or("load", Hook::as_str);
        write!(f, "{} ({during}): {}", self.script, self.message)?;
        if self.count > 1 {
            write!(f, " [failed {} times]", self.count)?;
        }
        Ok(())
    }
}

/// The failures of all scripts, one entry per script.
#[derive(Debug)]
pub(crate) struct Failures {
    list: Vec<ScriptFailure>,
    /// The configured limit, for the message of a memory error.
    memory_limit: Option<usize>,
}

impl Failures {
    pub fn new(memory_limit: Option<usize>) -> Self {
        Failures {
            list: Vec::new(),
            memory_limit,
        }
    }

    pub fn all(&self) -> &[ScriptFailure] {
        &self.list
    }

    /// Counts a failure of `script`: a new entry for its first, a higher count after that.
    pub fn record(&mut self, script: &str, hook: Option<Hook>, error: &Error) {
        if let Some(known) = self.list.iter_mut().find(|f| f.script == script) {
            known.count += 1;
            return;
        }
        let (kind, mut message) = describe(error);
        if let (FailureKind::Memory, Some(bytes)) = (kind, self.memory_limit) {
            message = format!("memory limit of {bytes} bytes exceeded");
        }
        self.list.push(ScriptFailure {
            script: script.to_owned(),
            hook,
            kind,
            message,
            count: 1,
        });
    }
}

/// A failure found by flowlua rather than by Lua (an instruction budget run out, a module of
/// the wrong shape, an unreadable file), carried through Lua as an external error.
#[derive(Debug)]
pub(crate) struct Refused {
    pub kind: FailureKind,
    pub message: String,
}

impl Refused {
    pub fn error(kind: FailureKind, message: String) -> Error {
        Error::external(Refused { kind, message })
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

/// The kind of a Lua error and its message, without mlua's wrapping or the traceback.
fn describe(error: &Error) -> (FailureKind, String) {
    match error {
        Error::CallbackError { cause, .. } | Error::WithContext { cause, .. } => describe(cause),
        Error::SyntaxError { message, .. } => (FailureKind::Syntax, message.clone()),
        Error::MemoryError(_) => (FailureKind::Memory, "out of memory".to_owned()),
        Error::ExternalError(e) => match e.downcast_ref::<Refused>() {
            Some(refused) => (refused.kind, refused.message.clone()),
            None => (FailureKind::Runtime, e.to_string()),
        },
        Error::RuntimeError(message) => (FailureKind::Runtime, without_traceback(message)),
        other => (FailureKind::Runtime, without_traceback(&other.to_string())),
    }
}

fn without_traceback(message: &str) -> String {
    let end = message.find("\nstack traceback:").unwrap_or(message.len());
    message[..end].to_owned()
}

/// Lua's name for a value's type ("number" for integers and floats alike).
pub(crate) fn lua_type(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) | Value::Number(_) => "number",
        other => other.type_name(),
    }
}

/// `"name.lua:12:"` for the Lua function that called the running Rust function, the prefix
/// Lua's own errors carry.
pub(crate) fn caller_position(lua: &Lua) -> String {
    lua.inspect_stack(1, position)
        .unwrap_or_else(|| "?:".to_owned())
}

/// `"name.lua:12:"` for a stack level.
pub(crate) fn position(debug: &Debug) -> String {
    let source = debug.source();
    let file = source.short_src.as_deref().unwrap_or("?");
    match debug.current_line() {
        Some(line) => format!("{file}:{line}:"),
        None => format!("{file}:"),
    }
}
