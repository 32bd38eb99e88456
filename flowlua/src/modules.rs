//! Where code may come from: `ntop.getDirs()`, `package.path`, and a `require` that serves the
//! bundled modules from memory and, in the sandbox, reads files only below the checks
//! directory.

use std::borrow::Cow;
use std::fs;
use std::path::{Component, Path, PathBuf};

use mlua::chunk::ChunkMode;
use mlua::{Error, Function, Lua, LuaString, Table, Value};

use crate::failure::caller_position;
use crate::EngineConfig;

/// The modules every engine serves, whatever `package.path` says.
const BUNDLED: [(&str, &str); 2] = [
    ("flow_consts", include_str!("../lua/flow_consts.lua")),
    ("lua_utils", include_str!("../lua/lua_utils.lua")),
];

/// The `package` table and its `path` as set up, to undo scripts' changes after each call.
pub(crate) struct Package {
    table: Table,
    initial_path: LuaString,
}

impl Package {
    /// Puts `package.path` back as it was set up. Scripts re-run per flow (ntopng's layout)
    /// prepend to it on every run; without this it would grow with every flow.
    pub fn restore_path(&self) -> mlua::Result<()> {
        self.table.raw_set("path", &self.initial_path)
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn initial_path(&self) -> &LuaString {
        &self.initial_path
    }
}

/// Sets the globals `ntop` (with `getDirs`), `package` (in the sandbox: `path` and `loaded`
/// only) and `require`. `checks_dir` must be absolute.
pub(crate) fn install(
    lua: &Lua,
    config: &EngineConfig,
    checks_dir: &Path,
) -> mlua::Result<Package> {
    let globals = lua.globals();
    let ntop = lua.create_table()?;
    ntop.raw_set("getDirs", get_dirs(lua, &config.install_dir)?)?;
    globals.raw_set("ntop", ntop)?;

    let package = match globals.get::<Option<Table>>("package")? {
        Some(package) => package,
        None => {
            let loaded = lua.create_table()?;
            for name in ["_G", "string", "table", "math", "utf8"] {
                loaded.raw_set(name, globals.get::<Value>(name)?)?;
            }
            let package = lua.create_table()?;
            package.raw_set("loaded", loaded)?;
            globals.raw_set("package", &package)?;
            package
        }
    };
    let path = format!(
        "{}/?.lua;{}/scripts/lua/modules/?.lua",
        checks_dir.display(),
        config.install_dir.display()
    );
    let initial_path = lua.create_string(path)?;
    package.raw_set("path", &initial_path)?;

    let roots = if config.trusted {
        None
    } else {
        let mut roots = vec![checks_dir.to_path_buf()];
        if let Ok(real) = checks_dir.canonicalize() {
            roots.push(real);
        }
        Some(roots)
    };
    globals.raw_set("require", require(lua, package.clone(), roots)?)?;
    Ok(Package {
        table: package,
        initial_path,
    })
}

/// `ntop.getDirs()`: a new table per call, with the fields real ntopng returns, all below the
/// configured install directory.
fn get_dirs(lua: &Lua, install: &Path) -> mlua::Result<Function> {
    let dirs = [
        ("installdir", install.to_path_buf()),
        ("bindir", install.join("bin")),
        ("workingdir", install.join("data")),
        ("pcapdir", install.join("data/pcap")),
        ("scriptdir", install.join("scripts")),
        ("callbacksdir", install.join("scripts/callbacks")),
        ("httpdocsdir", install.join("httpdocs")),
        ("etcdir", install.join("etc")),
        ("sharedir", install.join("share")),
    ];
    let dirs = dirs
        .into_iter()
        .map(|(key, dir)| Ok((key, lua.create_string(dir.to_string_lossy().as_ref())?)))
        .collect::<mlua::Result<Vec<_>>>()?;
    lua.create_function(move |lua, ()| lua.create_table_from(dirs.iter().cloned()))
}

/// `require(name)`: `package.loaded` first, then the bundled modules, then the files that
/// `package.path`'s templates name. With `roots`, files outside them are refused.
fn require(lua: &Lua, package: Table, roots: Option<Vec<PathBuf>>) -> mlua::Result<Function> {
    lua.create_function(move |lua, name: LuaString| {
        let name = name.to_str()?.to_owned();
        let loaded: Table = package.get("loaded")?;
        let known: Value = loaded.get(name.as_str())?;
        if !known.is_nil() {
            return Ok(known);
        }
        let (chunk_name, source) = match BUNDLED.iter().find(|(n, _)| *n == name) {
            Some((_, source)) => (format!("@{name}.lua"), Cow::Borrowed(source.as_bytes())),
            None => {
                let path: String = package.get("path")?;
                let error = |why: String| Error::runtime(format!("{} {why}", caller_position(lua)));
                let file = find(&name, &path, roots.as_deref()).map_err(error)?;
                let source = fs::read(&file)
                    .map_err(|e| error(format!("cannot read '{}': {e}", file.display())))?;
                (format!("@{}", file.display()), Cow::Owned(source))
            }
        };
        let value: Value = lua
            .load(source.as_ref())
            .set_name(chunk_name)
            .set_mode(ChunkMode::Text)
            .call(name.as_str())?;
        let value = match (value, loaded.get::<Value>(name.as_str())?) {
            (Value::Nil, Value::Nil) => Value::Boolean(true),
            (Value::Nil, set_by_module) => set_by_module,
            (value, _) => value,
        };
        loaded.set(name.as_str(), &value)?;
        Ok(value)
    })
}

/// The first file that a `package.path` template names for `name`, or why there is none.
fn find(name: &str, path: &str, roots: Option<&[PathBuf]>) -> Result<PathBuf, String> {
    if roots.is_some() && (name.contains("..") || name.starts_with(['/', '\\'])) {
        return Err(format!(
            "module '{name}' refused: a module name may not leave the checks directory"
        ));
    }
    let relative = name.replace('.', "/");
    let mut tried = String::new();
    for template in path.split(';').filter(|t| !t.is_empty()) {
        let candidate = PathBuf::from(template.replace('?', &relative));
        let allowed = |p: &Path| roots.is_none_or(|roots| roots.iter().any(|r| p.starts_with(r)));
        // Judge the name before touching the file system, so a refusal says nothing about
        // which files exist outside; then judge where symbolic links really lead.
        if !allowed(&normalize(&candidate)) {
            tried += &format!(
                "\n\trefused '{}': outside the checks directory",
                candidate.display()
            );
            continue;
        }
        if !candidate.is_file() {
            tried += &format!("\n\tno file '{}'", candidate.display());
            continue;
        }
        match candidate.canonicalize() {
            Ok(real) if allowed(&real) => return Ok(candidate),
            _ => {
                tried += &format!(
                    "\n\trefused '{}': links outside the checks directory",
                    candidate.display()
                )
            }
        }
    }
    Err(format!("module '{name}' not found:{tried}"))
}

/// `path` made absolute, with `.` and `..` resolved by name only.
fn normalize(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
