//! Provides the built-in provider components (`plugins/*`) to the crate:
//! each one's `.wasm` and, precompiled for the target being built, its
//! machine code (`.cwasm`), all in `OUT_DIR`, where `registry.rs` embeds them.
//!
//! Where the components come from depends on where the crate is built:
//!
//! - **In the authhost checkout** (`../plugins` exists) they are compiled
//!   from source for `wasm32-wasip2`. Built by the checkout's own workspace
//!   (its `target/`), the guests go to `target/guests` and a fresh machine
//!   that lacks the target's standard library gets it (rustup does not
//!   install the targets of `rust-toolchain.toml` when auto-install is
//!   off), so this script adds it with `rustup` first. Built as a path or
//!   git dependency of another project, the guests are compiled into this
//!   build's `OUT_DIR` (nothing is written into the checkout) and rustup is
//!   never called: a missing target is an error that says how to add it.
//! - **In a published package** (no `../plugins`) they are the prebuilt
//!   components in `prebuilt/`, which `scripts/package.sh` builds and stages
//!   before running `cargo package`. Nothing is compiled for wasm and rustup
//!   is never called, so a package builds with any toolchain that can build
//!   the host.
//!
//! The precompilation uses the `wasmtime` of `[build-dependencies]` and works
//! the same in both cases.
//!
//! It also turns the provider catalog (`catalog.toml`) into a Rust table
//! (`catalog.rs` in `OUT_DIR`, included by `src/catalog.rs`): the file is
//! checked here, once, and a command that looks a provider up parses nothing.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "src/runtime/engine_config.rs"]
mod engine_config;

/// Built-in guest crates: (package name, file name of the component).
const BUILTINS: &[(&str, &str)] = &[
    ("shell-helper", "shell_helper.wasm"),
    ("openrouter", "openrouter.wasm"),
    ("oauth2-provider", "oauth2.wasm"),
    ("api-key", "api_key.wasm"),
];

const TARGET: &str = "wasm32-wasip2";

/// The folder of a package holding its prebuilt built-in components.
const PREBUILT: &str = "prebuilt";

/// The command that stages `PREBUILT` and makes the package.
const PACKAGE_COMMAND: &str = "scripts/package.sh";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());

    link_without_pie();
    write_catalog(&manifest_dir, &out_dir);
    if env::var_os("CARGO_CFG_FUZZING").is_some() {
        // The fuzz targets (`fuzz/`) exercise parsers, not plugins: they are
        // built with a nightly toolchain that may lack the guest target.
        write_empty_builtins(&out_dir);
        return;
    }

    let built = match checkout_root(&manifest_dir) {
        Some(root) => build_from_source(&root, &out_dir),
        None => prebuilt(&manifest_dir),
    };

    let engine = precompiling_engine();
    for ((_, file), wasm_path) in BUILTINS.iter().zip(built) {
        let wasm = std::fs::read(&wasm_path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", wasm_path.display()));
        std::fs::write(out_dir.join(file), &wasm).expect("writing OUT_DIR");
        // Machine code for the runtime's engine, so the first run compiles
        // nothing. Empty when it cannot be made (the runtime then compiles).
        let precompiled = engine
            .as_ref()
            .and_then(|engine| engine.precompile_component(&wasm).ok())
            .unwrap_or_default();
        write_precompiled(&out_dir.join(file), &precompiled);
        write_digest(&out_dir.join(file), &wasm);
    }
}

/// One `catalog.toml` entry as written (the fields are documented there).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogEntry {
    name: String,
    env: Option<String>,
    #[serde(default)]
    key_prefix: Vec<String>,
    plugin: Option<String>,
    check_url: Option<String>,
    check_auth: Option<String>,
    #[serde(default)]
    check_headers: std::collections::BTreeMap<String, String>,
    docs: Option<String>,
}

/// Writes `OUT_DIR/catalog.rs`: `CATALOG`, an array of `Raw` (defined in
/// `src/catalog.rs`) sorted by id. Strings are written with `{:?}`, which
/// is Rust's own literal syntax, escapes included.
fn write_catalog(manifest_dir: &Path, out_dir: &Path) {
    let path = manifest_dir.join("catalog.toml");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let entries: std::collections::BTreeMap<String, CatalogEntry> = toml::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a valid catalog: {e}", path.display()));
    let opt = |value: &Option<String>| match value {
        Some(s) => format!("Some({s:?})"),
        None => "None".to_owned(),
    };
    let mut code = String::from("const CATALOG: &[Raw] = &[\n");
    for (id, e) in &entries {
        let headers: Vec<String> = e
            .check_headers
            .iter()
            .map(|(k, v)| format!("({k:?}, {v:?})"))
            .collect();
        code += &format!(
            "    Raw {{ id: {id:?}, name: {:?}, env: {}, key_prefix: &{:?}, plugin: {}, \
             check_url: {}, check_auth: {}, check_headers: &[{}], docs: {} }},\n",
            e.name,
            opt(&e.env),
            e.key_prefix,
            opt(&e.plugin),
            opt(&e.check_url),
            opt(&e.check_auth),
            headers.join(", "),
            opt(&e.docs),
        );
    }
    code += "];\n";
    std::fs::write(out_dir.join("catalog.rs"), code).expect("writing OUT_DIR");
}

/// The root of the authhost checkout this crate is built in, or `None` in a
/// published package (unpacked alone, so its parent has no `plugins/`).
fn checkout_root(manifest_dir: &Path) -> Option<PathBuf> {
    let root = manifest_dir.parent()?;
    let in_checkout = root.join("Cargo.toml").is_file() && root.join("plugins").is_dir();
    in_checkout.then(|| root.to_path_buf())
}

/// Compiles the built-in guest crates of the checkout at `root`; returns
/// the paths of their components, in the order of `BUILTINS`.
fn build_from_source(root: &Path, out_dir: &Path) -> Vec<PathBuf> {
    for watched in ["plugins", "wit", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=AUTHHOST_GUEST_TARGET_DIR");
    let own_build = is_own_build(root, out_dir);
    if own_build {
        ensure_target_installed();
    } else if !target_installed() {
        panic!(
            "the built-in provider components of authhost (a path or git dependency) are \
             compiled for {TARGET}, which this toolchain lacks: run `rustup target add {TARGET}`, \
             or depend on the published authhost package, which carries them prebuilt"
        );
    }

    let target_dir = match env::var_os("AUTHHOST_GUEST_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None if own_build => root.join("target").join("guests"),
        None => out_dir.join("guests"),
    };
    let mut cargo = guest_cargo(root, &target_dir);
    for (package, _) in BUILTINS {
        cargo.args(["-p", package]);
    }
    run(&mut cargo, "building the built-in provider components");
    BUILTINS
        .iter()
        .map(|(_, file)| target_dir.join(TARGET).join("guest").join(file))
        .collect()
}

/// The prebuilt components shipped in a package; fails with the command that
/// stages them when one is missing (a package made by `cargo package` alone).
fn prebuilt(manifest_dir: &Path) -> Vec<PathBuf> {
    let dir = manifest_dir.join(PREBUILT);
    println!("cargo:rerun-if-changed={}", dir.display());
    BUILTINS
        .iter()
        .map(|(_, file)| {
            let path = dir.join(file);
            if !path.is_file() {
                // A clear message instead of a panic and its backtrace note.
                eprintln!(
                    "error: the built-in provider component {PREBUILT}/{file} is missing from \
                     this authhost package.\n\
                     A package must be made from the authhost checkout with the script that \
                     builds the built-in components and stages them for `cargo package`:\n\n    \
                     {PACKAGE_COMMAND}\n"
                );
                std::process::exit(1);
            }
            println!("cargo:rerun-if-changed={}", path.display());
            path
        })
        .collect()
}

/// Writes the machine code of the component at `wasm` beside it, with a
/// fingerprint of it (`.cwasm.id`) that names its copy in the runtime's
/// cache.
fn write_precompiled(wasm: &Path, precompiled: &[u8]) {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    precompiled.hash(&mut hasher);
    let cwasm = wasm.with_extension("cwasm");
    std::fs::write(&cwasm, precompiled).expect("writing OUT_DIR");
    std::fs::write(
        cwasm.with_extension("cwasm.id"),
        format!("{:016x}", hasher.finish()),
    )
    .expect("writing OUT_DIR");
}

/// Writes the SHA-256 of the component at `wasm` (`.wasm.sha256`, hex):
/// the key of its `describe` answer in the plugins index, so that the
/// runtime hashes nothing to find it.
fn write_digest(wasm: &Path, bytes: &[u8]) {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(bytes));
    std::fs::write(wasm.with_extension("wasm.sha256"), digest).expect("writing OUT_DIR");
}

/// Empty built-in components: loading one fails with a clear error.
fn write_empty_builtins(out_dir: &Path) {
    for (_, file) in BUILTINS {
        let wasm = out_dir.join(file);
        std::fs::write(&wasm, b"").expect("writing OUT_DIR");
        write_precompiled(&wasm, b"");
        write_digest(&wasm, b"");
    }
}

/// An engine configured like the runtime's, for the target being built;
/// `None` when cross-compiling to a target it cannot generate code for.
fn precompiling_engine() -> Option<wasmtime::Engine> {
    let target = env::var("TARGET").ok()?;
    let mut config = engine_config::on_demand();
    if target != env::var("HOST").ok()? {
        config.target(&target).ok()?;
    }
    wasmtime::Engine::new(&config).ok()
}

/// Links the `authhost` binary as a non-PIE executable on Linux: its ~40,000
/// relative relocations are then resolved at link time instead of at every
/// start, which is a third of the start-up cost of `authhost token`.
fn link_without_pie() {
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

/// A `cargo build` of guest crates, isolated from the outer build: its own
/// target directory (so the two builds never wait on each other's lock) and
/// none of the outer build's flags or wrappers (clippy, coverage, host
/// RUSTFLAGS).
fn guest_cargo(root: &Path, target_dir: &Path) -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--profile", "guest", "--target", TARGET])
        .arg("--target-dir")
        .arg(target_dir);
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let inherited_build_setting = (key.starts_with("CARGO_")
            && key != "CARGO_HOME"
            && key != "CARGO_NET_OFFLINE"
            && key != "CARGO_REGISTRIES_CRATES_IO_PROTOCOL")
            || key.starts_with("RUSTC_")
            || key == "RUSTFLAGS"
            || key == "RUSTDOCFLAGS";
        if inherited_build_setting {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// Whether the checkout at `root` is building itself (its own `target/`,
/// wherever that links to), rather than being a dependency of another
/// project whose build writes to `out_dir`.
fn is_own_build(root: &Path, out_dir: &Path) -> bool {
    let target = root.join("target").canonicalize();
    let out_dir = out_dir.canonicalize();
    matches!((target, out_dir), (Ok(target), Ok(out)) if out.starts_with(&target))
}

/// The sysroot of the compiler building this crate.
fn sysroot() -> Option<PathBuf> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
}

/// Whether the toolchain has the standard library of `wasm32-wasip2`.
fn target_installed() -> bool {
    sysroot().is_some_and(|root| root.join("lib/rustlib").join(TARGET).join("lib").is_dir())
}

/// Adds the `wasm32-wasip2` target with rustup when the toolchain lacks it.
fn ensure_target_installed() {
    if target_installed() {
        return;
    }
    let sysroot = sysroot();
    println!(
        "cargo:warning=installing the {TARGET} target with rustup (needed for the built-in providers)"
    );
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Some(name) = sysroot.as_deref().and_then(Path::file_name) {
        // Install into the toolchain that is building us, not rustup's default.
        rustup.arg("--toolchain").arg(name);
    }
    run(
        &mut rustup,
        "installing the wasm32-wasip2 target (rustup target add wasm32-wasip2)",
    );
}

fn run(cmd: &mut Command, what: &str) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("{what}: could not start {:?}: {e}", cmd.get_program()));
    if !status.success() {
        panic!("{what} failed ({status})");
    }
}
