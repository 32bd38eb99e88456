//! bindgen over the headers the library build chose.

use std::env;
use std::path::PathBuf;

use crate::Library;

pub fn generate(library: &Library) -> Result<(), String> {
    let mut builder = bindgen::Builder::default()
        .header("wrapper.h")
        .allowlist_function("ndpi_.*")
        // The allocator hooks (set_ndpi_malloc, set_ndpi_free, set_ndpi_flow_malloc, ...).
        .allowlist_function("set_ndpi_.*")
        .allowlist_type("ndpi_.*")
        .allowlist_var("NDPI_.*")
        .allowlist_var("MAX_NUM_TLS_SIGNATURE_BLOCKS|MAX_DEFAULT_PORTS")
        // Keep C enums as plain integer constants: nDPI writes values outside the declared
        // variants into these fields, which a Rust enum must never hold.
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .derive_default(true)
        .layout_tests(true)
        // No `CargoCallbacks`: it asks cargo to rerun on every included header, and the
        // vendored headers are written by this very script, so cargo would see them as newer
        // than its run and rebuild nDPI once more. The build script's own rerun-if-changed
        // lines cover nDPI's source and wrapper.h.
        .generate_comments(false);
    // The macros the library is compiled with change struct layouts (4.10's USE_GLOBAL_CONTEXT
    // adds a mutex to its LRU caches): the bindings must see them too.
    for define in library.release.defines() {
        builder = builder.clang_arg(format!("-D{define}"));
    }
    for name in library.release.opaque_types() {
        builder = builder.opaque_type(name);
    }
    for dir in &library.include_dirs {
        builder = builder.clang_arg(format!("-I{}", dir.display()));
    }
    // bindgen panics when it cannot load libclang; turn that into the one clear message.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let generated =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || builder.generate()));
    std::panic::set_hook(quiet);
    let hint =
        "Fix: `apt-get install libclang-dev` (bindgen needs libclang), or set LIBCLANG_PATH.";
    let bindings = match generated {
        Ok(Ok(bindings)) => bindings,
        Ok(Err(e)) => {
            return Err(format!(
                "bindgen could not parse nDPI's headers: {e}\n\n{hint}"
            ))
        }
        Err(_) => return Err(format!("bindgen could not load libclang.\n\n{hint}")),
    };
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("bindings.rs");
    bindings
        .write_to_file(&out)
        .map_err(|e| format!("writing {}: {e}", out.display()))
}
