//! Script output: `print` and `io.write` go to the host's [`Output`], in the sandbox too.

use std::fmt;
use std::io::Write;
use std::sync::Arc;

use mlua::{Function, Lua, MultiValue, Table, Value, Variadic};

use crate::failure::lua_type;

/// A function that receives script output.
pub type OutputFn = dyn Fn(&[u8]) + Send + Sync;

/// Where scripts' `print` and `io.write` output goes.
#[derive(Clone, Default)]
pub enum Output {
    /// The process's standard output (write errors, e.g. a closed pipe, are ignored).
    #[default]
    Stdout,
    /// Nowhere.
    Discard,
    /// A function that receives each piece of output as raw bytes (Lua strings need not be
    /// UTF-8).
    Callback(Arc<OutputFn>),
}

impl Output {
    /// Output through `f`.
    pub fn callback(f: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        Output::Callback(Arc::new(f))
    }

    fn write(&self, bytes: &[u8]) {
        match self {
            Output::Stdout => {
                let _ = std::io::stdout().lock().write_all(bytes);
            }
            Output::Discard => {}
            Output::Callback(f) => f(bytes),
        }
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Output::Stdout => "Output::Stdout",
            Output::Discard => "Output::Discard",
            Output::Callback(_) => "Output::Callback(..)",
        })
    }
}

/// Sets the global `print` and `io.write` (creating the `io` table in the sandbox, where it holds
/// nothing else).
pub(crate) fn install(lua: &Lua, output: &Output) -> mlua::Result<()> {
    let globals = lua.globals();
    let tostring: Function = globals.get("tostring")?;
    let out = output.clone();
    let print = lua.create_function(move |_, args: MultiValue| {
        let mut line = Vec::new();
        for (i, arg) in args.into_iter().enumerate() {
            if i > 0 {
                line.push(b'\t');
            }
            line.extend_from_slice(&tostring.call::<mlua::LuaString>(arg)?.as_bytes());
        }
        line.push(b'\n');
        out.write(&line);
        Ok(())
    })?;
    let out = output.clone();
    let write = lua.create_function(move |lua, args: Variadic<Value>| {
        for (i, arg) in args.iter().enumerate() {
            match arg {
                Value::String(_) | Value::Integer(_) | Value::Number(_) => {
                    if let Some(s) = lua.coerce_string(arg.clone())? {
                        out.write(&s.as_bytes());
                    }
                }
                other => {
                    return Err(mlua::Error::runtime(format!(
                        "bad argument #{} to 'write' (string expected, got {})",
                        i + 1,
                        lua_type(other)
                    )))
                }
            }
        }
        Ok(())
    })?;
    let io = match globals.get::<Option<Table>>("io")? {
        Some(io) => io,
        None => {
            let io = lua.create_table()?;
            globals.raw_set("io", &io)?;
            io
        }
    };
    io.raw_set("write", write)?;
    globals.raw_set("print", print)
}
