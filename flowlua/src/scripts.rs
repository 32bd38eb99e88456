//! The scripts of a checks directory, in either layout, loaded once with their entry functions
//! kept.
//!
//! - ntopng's layout: the three fixed file names below. Each file is compiled once; the whole
//!   chunk runs for every flow of its hook.
//! - The spec's layout: every other `*.lua` file is a module whose top level runs once, at load,
//!   and returns a table with `check`, `periodic_update` and/or `flow_end`. `check` runs at every
//!   hook, before the hook's own function.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::Path;
use std::rc::Rc;

use mlua::chunk::ChunkMode;
use mlua::{Error, Function, Value};

use crate::failure::{lua_type, FailureKind, Refused};
use crate::runtime::Runtime;
use crate::Hook;

/// ntopng's fixed file names and the hooks they serve.
const NTOPNG_FILES: [(&str, Hook); 3] = [
    ("custom_flow_protocol_detected_script.lua", Hook::Detected),
    ("custom_flow_periodic_script.lua", Hook::Periodic),
    ("custom_flow_end_script.lua", Hook::End),
];

/// The spec layout's entry functions and the hooks they serve, in the order they run within a
/// hook: `check` sees the flow through its whole life ("called once per active flow"), the others
/// one moment each.
const MODULE_FUNCTIONS: [(&str, &[Hook]); 3] = [
    ("check", &Hook::ALL),
    ("periodic_update", &[Hook::Periodic]),
    ("flow_end", &[Hook::End]),
];

/// How a script is entered for a hook.
pub(crate) enum Entry {
    /// A spec-layout module's function, called with `flow_info`.
    Module(Function),
    /// An ntopng-layout file's compiled chunk, called with no arguments.
    Chunk(Function),
}

pub(crate) struct Script {
    /// The path reported in alerts and failures.
    pub path: Rc<str>,
    /// Per hook, the entries to call, in order.
    entries: [Vec<Entry>; 3],
}

impl Script {
    pub fn entries(&self, hook: Hook) -> &[Entry] {
        &self.entries[hook.index()]
    }
}

/// The names of the `*.lua` files directly in `dir`, sorted (the order scripts run in).
pub(crate) fn find(dir: &Path) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "lua") && path.is_file() {
            names.extend(path.file_name().map(OsString::from));
        }
    }
    names.sort();
    Ok(names)
}

/// Loads `file`, reported as `path`.
pub(crate) fn load(rt: &Runtime, path: &Rc<str>, file: &Path) -> Result<Script, Error> {
    let source = fs::read(file)
        .map_err(|e| Refused::error(FailureKind::Io, format!("cannot read {path}: {e}")))?;
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let chunk = rt
        .lua
        .load(source)
        .set_name(format!("@{name}"))
        .set_mode(ChunkMode::Text)
        .set_environment(rt.environment()?);
    let mut entries: [Vec<Entry>; 3] = Default::default();
    if let Some((_, hook)) = NTOPNG_FILES.iter().find(|(n, _)| *n == name) {
        entries[hook.index()].push(Entry::Chunk(chunk.into_function()?));
    } else {
        let run = || {
            let module = chunk.call(())?;
            rt.restore_path()?;
            Ok(module)
        };
        let module = match rt.invoke(path, None, run)? {
            Value::Table(module) => module,
            other => return Err(invalid(format!("it returned a {}", lua_type(&other)))),
        };
        for (function, hooks) in MODULE_FUNCTIONS {
            match module.raw_get(function)? {
                Value::Nil => {}
                Value::Function(f) => {
                    for hook in hooks {
                        entries[hook.index()].push(Entry::Module(f.clone()));
                    }
                }
                other => {
                    let what = lua_type(&other);
                    return Err(invalid(format!("its {function} is a {what}")));
                }
            }
        }
        if entries.iter().all(Vec::is_empty) {
            return Err(invalid("its table has none of them".to_owned()));
        }
    }
    Ok(Script {
        path: path.clone(),
        entries,
    })
}

fn invalid(why: String) -> Error {
    let want = "a module must return a table with check, periodic_update or flow_end functions";
    Refused::error(FailureKind::InvalidModule, format!("{want}; {why}"))
}
