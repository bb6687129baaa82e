//! Shared helpers for the integration tests: a throw-away `AUTHHOST_HOME`,
//! the `authhost` binary, and guest components built from source.
#![allow(dead_code)]

pub mod acme;
pub mod crowd;
pub mod git_http;
pub mod http;
pub mod idp;
pub mod postgres;
pub mod proxy;
pub mod pty;
pub mod secret_service;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

/// The variables that route or trust plugin HTTP.
pub const PROXY_VARIABLES: [&str; 9] = [
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
];

/// The `authhost` binary under test.
pub fn authhost_bin() -> &'static str {
    env!("CARGO_BIN_EXE_authhost")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// An `AUTHHOST_HOME` in a temporary directory, removed on drop.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// An empty home.
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A home whose `config.toml` is `config`.
    pub fn with_config(config: &str) -> Home {
        let home = Home::new();
        home.write_config(config);
        home
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces `config.toml` (mode 0600 whatever the umask: a file others
    /// may write is refused).
    pub fn write_config(&self, config: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// The plugins folder, created if missing.
    pub fn plugins_dir(&self) -> PathBuf {
        let dir = self.path().join("plugins");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Path of the credential store.
    pub fn store_path(&self) -> PathBuf {
        self.path().join("auth.json")
    }

    /// The credential store parsed as JSON (`null` when it does not exist).
    pub fn store_json(&self) -> serde_json::Value {
        match std::fs::read(self.store_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Err(_) => serde_json::Value::Null,
        }
    }

    /// An `authhost` command bound to this home, with a clean environment for
    /// the variables authhost reads and stdin closed.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(authhost_bin());
        cmd.env("AUTHHOST_HOME", self.path())
            .env_remove("RUST_LOG")
            .env_remove("BROWSER")
            .env_remove("AUTHHOST_LOG")
            .env_remove("AUTHHOST_STORE")
            .env_remove("AUTHHOST_STORE_URL")
            .env_remove("AUTHHOST_STORE_KEY")
            .stdin(Stdio::null());
        // Plugin HTTP honours the proxy and CA variables; a test sets them
        // itself, so that none from the machine reroutes 127.0.0.1.
        for name in PROXY_VARIABLES {
            cmd.env_remove(name);
        }
        cmd
    }

    /// Runs `authhost ARGS` in this home and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Starts `authhost ARGS` in this home without waiting, its stdout and
    /// stderr piped.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The permission bits of `auth.json` (it must exist).
    pub fn store_mode(&self) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(self.store_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    /// Runs `authhost ARGS` with `stdin` as standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        output_with_stdin(self.cmd().args(args), stdin)
    }
}

/// Runs `cmd` with `input` as its standard input and returns its output.
pub fn output_with_stdin(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A home whose `config.toml` is `config`, with the test kit component
/// (`tests/fixtures/testkit`) in its plugins folder.
pub fn testkit_home(config: &str) -> Home {
    let home = Home::with_config(config);
    std::fs::copy(
        workspace_component("testkit"),
        home.plugins_dir().join("testkit.wasm"),
    )
    .unwrap();
    home
}

/// The row of `authhost list --json` for `provider` in `home` (the command
/// must succeed and list it).
#[track_caller]
pub fn listed(home: &Home, provider: &str) -> serde_json::Value {
    let out = home.run(&["list", "--json"]);
    assert_success(&out);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["provider"] == provider)
        .cloned()
        .unwrap_or_else(|| panic!("{provider} is not listed: {rows}"))
}

/// Standard output as a string.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as a string.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that the command succeeded, showing its stderr if not.
#[track_caller]
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "command failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// Asserts that the command failed and said `needle` on stderr.
#[track_caller]
pub fn assert_fails_with(output: &Output, needle: &str) {
    assert!(
        !output.status.success(),
        "command succeeded\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
    assert!(
        stderr(output).contains(needle),
        "expected `{needle}` in stderr:\n{}",
        stderr(output)
    );
}

/// Builds the guest crate `package` (a workspace member, e.g. `testkit`) for
/// `wasm32-wasip2` and returns the component's path.
pub fn workspace_component(package: &str) -> PathBuf {
    build_component(&workspace_root(), package)
}

/// Builds the example plugin crate at `examples/NAME` on its own, as its
/// README tells a plugin author to (`cargo build --target wasm32-wasip2
/// --release`), and returns the component.
pub fn example_component(name: &str, package: &str) -> PathBuf {
    let dir = workspace_root().join("examples").join(name);
    let target_dir = workspace_root().join("target").join("examples");
    cargo_build(&dir, &["--release", "-p", package], &target_dir);
    let file = format!("{}.wasm", package.replace('-', "_"));
    target_dir.join("wasm32-wasip2").join("release").join(file)
}

/// Builds the guest crate `package` of the Cargo project at `dir` (which may
/// be outside the workspace, e.g. an example) and returns the component.
pub fn build_component(dir: &Path, package: &str) -> PathBuf {
    let target_dir = workspace_root().join("target").join("guests");
    cargo_build(dir, &["--profile", "guest", "-p", package], &target_dir);
    let file = format!("{}.wasm", package.replace('-', "_"));
    let path = target_dir.join("wasm32-wasip2").join("guest").join(file);
    assert!(path.is_file(), "{} missing after build", path.display());
    path
}

/// `cargo build --target wasm32-wasip2 ARGS` in `dir`, isolated from the
/// environment of the test run.
fn cargo_build(dir: &Path, args: &[&str], target_dir: &Path) {
    // One build at a time in this process; cargo's own lock orders builds
    // across processes.
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let status = cargo(dir)
        .args(["build", "--target", "wasm32-wasip2"])
        .args(args)
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cargo build {args:?} in {} failed",
        dir.display()
    );
}

/// A `cargo` command run in `dir` without the test run's cargo settings
/// (see [`without_cargo_settings`]), as a plugin author's shell would run
/// it.
pub fn cargo(dir: &Path) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir);
    without_cargo_settings(&mut cmd);
    cmd
}

/// Removes from `cmd`'s environment what cargo set for the test run
/// (`CARGO_*` but `CARGO_HOME`, `RUSTC_*`, `RUSTFLAGS`), so that a cargo it
/// starts builds as if started from a shell.
pub fn without_cargo_settings(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME")
            || key.starts_with("RUSTC_")
            || key == "RUSTFLAGS"
        {
            cmd.env_remove(key);
        }
    }
    cmd
}
