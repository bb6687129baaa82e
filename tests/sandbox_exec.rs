//! A plugin granted `process:op` (or `process`) cannot turn `process.run`
//! into arbitrary code: the `hostile-exec` component
//! (`tests/fixtures/hostile-exec`) tries environment variables that make a
//! shell run its code, daemons that leave the process group, and decoy
//! programs named `op`, through a real `authhost` with a real user `PATH`.
//! Each attack's payload is first shown to work when run directly, so a
//! refusal is what stops it.
#![cfg(target_os = "linux")]

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use support::{Home, assert_fails_with, assert_success, stderr, stdout, workspace_component};

/// A canary in authhost's own environment that a payload tries to read.
const CANARY: &str = "sk-or-v1-exec-canary-7f3";

/// A scratch directory with the user's `bin` (holding the real `op`), a
/// decoy directory, and an `AUTHHOST_HOME`.
struct Lab {
    dir: tempfile::TempDir,
    home: Home,
}

impl Lab {
    fn new() -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().unwrap(),
            home: Home::new(),
        };
        std::fs::create_dir_all(lab.bin()).unwrap();
        std::fs::create_dir_all(lab.decoys()).unwrap();
        // The real `op`: a bash script, as many helpers are.
        script(
            &lab.bin().join("op"),
            "#!/bin/bash\necho \"real-op $* ${AUTHHOST_NOTE:-}\"\n",
        );
        std::fs::copy(
            workspace_component("hostile-exec"),
            lab.home.plugins_dir().join("hostile-exec.wasm"),
        )
        .unwrap();
        lab
    }

    /// The user's own program directory, first on authhost's `PATH`.
    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// Where the attacker's decoy `op` lives (and authhost's working
    /// directory in some tests).
    fn decoys(&self) -> PathBuf {
        self.dir.path().join("decoys")
    }

    /// A file a payload creates when it runs.
    fn pwned(&self) -> PathBuf {
        self.dir.path().join("pwned")
    }

    /// A decoy `op` at `path` that records that it ran.
    fn decoy(&self, path: &Path) {
        script(
            path,
            &format!(
                "#!/bin/sh\necho decoy > '{}'\necho decoy-op\n",
                self.pwned().display()
            ),
        );
    }

    /// authhost's `PATH`: the user's bin, then the system's.
    fn user_path(&self) -> String {
        format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin().display())
    }

    /// Configures provider `x` with the hostile plugin: `options` (TOML
    /// lines), the user granting `grants` (the plugin requests `process`).
    fn configure(&self, options: &str, grants: &[&str]) {
        let grants: Vec<String> = grants.iter().map(|g| format!("{g:?}")).collect();
        self.home.write_config(&format!(
            "[providers.x]\nplugin = \"hostile-exec\"\n{options}\n\n\
             [plugins.hostile-exec]\ngrant = [{}]\n",
            grants.join(", ")
        ));
    }

    /// `authhost token x` with `path` as PATH, in `cwd`, with the canary in
    /// its environment.
    fn token_with(&self, path: &str, cwd: &Path) -> Output {
        self.home
            .cmd()
            .env("PATH", path)
            .env("OPENROUTER_API_KEY", CANARY)
            .current_dir(cwd)
            .args(["token", "x"])
            .output()
            .unwrap()
    }

    /// `authhost token x` with the user's PATH, in the decoy directory.
    fn token(&self) -> Output {
        self.token_with(&self.user_path(), &self.decoys())
    }
}

/// Writes an executable script.
fn script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `text` as a TOML basic string (enough for the ASCII used here).
fn toml(text: &str) -> String {
    format!("{text:?}")
}

/// `argv = [...]` as a TOML line.
fn argv(items: &[&str]) -> String {
    let items: Vec<String> = items.iter().map(|i| toml(i)).collect();
    format!("argv = [{}]", items.join(", "))
}

/// Whether process `pid` is alive (a zombie does not count).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        !state.starts_with('Z') && !state.starts_with('X')
    })
}

/// Processes whose command line contains `marker`.
fn survivors(marker: &str) -> String {
    let out = std::process::Command::new("pgrep")
        .args(["-af", marker])
        .output()
        .unwrap();
    stdout(&out)
}

/// The pid a daemon wrote to `file`, waiting briefly for it.
fn read_pid(file: &Path) -> u32 {
    for _ in 0..100 {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the daemon never wrote {}", file.display());
}

/// Asserts that `pid` is gone, allowing a moment for SIGKILL to land.
#[track_caller]
fn assert_gone(pid: u32, what: &str) {
    for _ in 0..50 {
        if !alive(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    panic!("{what} (pid {pid}) outlived the call");
}

// ---------------------------------------------------------------------------
// 1. Environment variables that change which code runs.
// ---------------------------------------------------------------------------

/// Each payload makes `op` (a bash script) run the attacker's command, which
/// dumps the environment (the canary included) into `pwned`.
fn env_payloads(lab: &Lab) -> Vec<(&'static str, String)> {
    let dump = format!("env > '{}'", lab.pwned().display());
    vec![
        ("BASH_ENV", format!("$({dump})")),
        ("BASH_FUNC_echo%%", format!("() {{ {dump}; }}")),
    ]
}

#[test]
fn the_payloads_run_code_when_nothing_stops_them() {
    // The control: the same payloads, given to the same `op` directly.
    let lab = Lab::new();
    for (name, value) in env_payloads(&lab) {
        let _ = std::fs::remove_file(lab.pwned());
        let out = std::process::Command::new(lab.bin().join("op"))
            .env(name, value)
            .env("OPENROUTER_API_KEY", CANARY)
            .output()
            .unwrap();
        assert!(out.status.success());
        let dumped = std::fs::read_to_string(lab.pwned()).unwrap_or_default();
        assert!(dumped.contains(CANARY), "{name} did not run the payload");
    }
}

#[test]
fn variables_that_would_run_code_are_refused_by_name() {
    let lab = Lab::new();
    let mut attacks = env_payloads(&lab);
    attacks.push(("LD_PRELOAD", "/usr/lib/libpwn.so".into()));
    attacks.push(("PATH", lab.decoys().display().to_string()));
    attacks.push(("PYTHONSTARTUP", "/tmp/x.py".into()));
    attacks.push(("AUTHHOST_HOME", lab.decoys().display().to_string()));
    attacks.push(("AUTHHOST_RUN_ID", "0".into()));
    lab.decoy(&lab.decoys().join("op"));
    for (name, value) in attacks {
        lab.configure(
            &format!(
                "{}\nenv = {{ {} = {} }}",
                argv(&["op"]),
                toml(name),
                toml(&value)
            ),
            &["process:op"],
        );
        let out = lab.token();
        assert_fails_with(
            &out,
            &format!("the environment variable `{name}` was refused"),
        );
        assert!(!stderr(&out).contains("real-op"), "{}", stderr(&out));
        assert!(!lab.pwned().exists(), "{name}: the payload ran");
        assert_eq!(stdout(&out), "");
    }
    // A bad value is refused too, without being shown.
    lab.configure(
        &format!(
            "{}\nenv = {{ AUTHHOST_NOTE = \"sk-value\\u0000\" }}",
            argv(&["op"])
        ),
        &["process:op"],
    );
    let out = lab.token();
    assert_fails_with(
        &out,
        "`AUTHHOST_NOTE` was refused: its value contains a NUL byte",
    );
    assert!(!stderr(&out).contains("sk-value"), "{}", stderr(&out));
}

#[test]
fn authhost_variables_reach_the_program() {
    let lab = Lab::new();
    lab.configure(
        &format!(
            "{}\nenv = {{ AUTHHOST_NOTE = \"note-1\" }}",
            argv(&["op", "read"])
        ),
        &["process:op"],
    );
    let out = lab.token();
    assert_success(&out);
    assert_eq!(stdout(&out), "exit=0 out=real-op read note-1\n");
}

// ---------------------------------------------------------------------------
// 2. Daemons that leave the process group.
// ---------------------------------------------------------------------------

/// A shell line for the plugin: start `spawn_daemon` (which leaves the
/// process group), wait until the daemon has written its pid, then `rest`.
/// The daemon (`daemon.sh PIDFILE SECONDS`) sleeps as `sleep SECONDS`.
fn daemon_line(lab: &Lab, spawn_daemon: &str, seconds: &str, rest: &str) -> (String, PathBuf) {
    let daemon = lab.dir.path().join("daemon.sh");
    script(&daemon, "#!/bin/sh\necho $$ > \"$1\"\nexec sleep \"$2\"\n");
    let pid_file = lab.dir.path().join(format!("daemon-{seconds}.pid"));
    let start = format!("{} {} {seconds}", daemon.display(), pid_file.display());
    let line = format!(
        "{} >/dev/null 2>&1; while [ ! -s {} ]; do sleep 0.02; done; {rest}",
        spawn_daemon.replace("DAEMON", &start),
        pid_file.display()
    );
    (line, pid_file)
}

#[test]
fn a_setsid_daemon_is_gone_after_the_call() {
    let lab = Lab::new();
    let (line, pid_file) = daemon_line(&lab, "setsid -f DAEMON", "65.1212", "echo started");
    lab.configure(&format!("shell = {}", toml(&line)), &["process"]);
    let out = lab.token();
    assert_success(&out);
    assert_eq!(stdout(&out), "exit=0 out=started\n");
    assert_gone(read_pid(&pid_file), "the setsid daemon");
    assert_eq!(survivors("sleep 65.1212"), "");
}

#[test]
fn a_double_forked_daemon_is_gone_after_the_call() {
    let lab = Lab::new();
    // setsid forks (-f); the new session's shell starts the daemon in the
    // background and exits: the daemon is an orphan in a session of its own.
    let (line, pid_file) = daemon_line(
        &lab,
        "setsid -f sh -c 'DAEMON &'",
        "65.2323",
        "echo started",
    );
    lab.configure(&format!("shell = {}", toml(&line)), &["process"]);
    let out = lab.token();
    assert_success(&out);
    assert_gone(read_pid(&pid_file), "the double-forked daemon");
    assert_eq!(survivors("sleep 65.2323"), "");
}

#[test]
fn a_daemon_is_gone_when_the_call_times_out() {
    let lab = Lab::new();
    let (line, pid_file) = daemon_line(&lab, "setsid -f DAEMON", "65.3434", "sleep 30");
    lab.configure(
        &format!("shell = {}\ntimeout_ms = 2000", toml(&line)),
        &["process"],
    );
    let out = lab.token();
    assert_fails_with(&out, "did not finish within 2000 ms");
    assert_gone(read_pid(&pid_file), "the daemon of a timed-out call");
    assert_eq!(survivors("sleep 65.3434"), "");
}

#[test]
fn the_daemon_payload_survives_when_nothing_stops_it() {
    // The control: the same line run directly leaves the daemon running.
    let lab = Lab::new();
    let (line, pid_file) = daemon_line(&lab, "setsid -f DAEMON", "65.4545", "echo started");
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new("/bin/sh")
        .args(["-c", &line])
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let group = child.id();
    let out = child.wait_with_output().unwrap();
    assert_success(&out);
    let pid = read_pid(&pid_file);
    // What authhost did before: kill the program's process group.
    let _ = std::process::Command::new("kill")
        .args(["-9", "--", &format!("-{group}")])
        .stderr(std::process::Stdio::null())
        .status();
    std::thread::sleep(Duration::from_millis(100));
    let survived = alive(pid);
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    assert!(survived, "the daemon did not leave its group");
}

// ---------------------------------------------------------------------------
// 3. Which file `process:op` runs.
// ---------------------------------------------------------------------------

#[test]
fn the_real_op_on_the_users_path_runs() {
    let lab = Lab::new();
    lab.configure(&argv(&["op", "read", "vault"]), &["process:op"]);
    let out = lab.token();
    assert_success(&out);
    assert_eq!(stdout(&out), "exit=0 out=real-op read vault\n");
}

#[test]
fn a_decoy_op_elsewhere_does_not_run_under_process_op() {
    let lab = Lab::new();
    let elsewhere = lab.dir.path().join("x");
    std::fs::create_dir_all(&elsewhere).unwrap();
    lab.decoy(&elsewhere.join("op"));
    lab.decoy(&lab.decoys().join("op"));
    let absolute = elsewhere.join("op").display().to_string();

    // Another directory, and the working directory.
    for program in [absolute.as_str(), "./op"] {
        lab.configure(&argv(&[program]), &["process:op"]);
        let out = lab.token();
        assert_fails_with(&out, &format!("capability denied: `process:{program}`"));
        assert!(!lab.pwned().exists(), "{program} ran");
    }

    // A PATH supplied by the plugin.
    lab.configure(
        &format!(
            "{}\nenv = {{ PATH = {} }}",
            argv(&["op"]),
            toml(&lab.decoys().display().to_string())
        ),
        &["process:op"],
    );
    assert_fails_with(&lab.token(), "`PATH` was refused");
    assert!(!lab.pwned().exists(), "the plugin's PATH was used");

    // Empty and relative entries of the user's own PATH are skipped: with
    // the decoy in the working directory, the real `op` runs.
    lab.configure(&argv(&["op"]), &["process:op"]);
    let path = format!("::.:decoys:{}", lab.user_path());
    let out = lab.token_with(&path, &lab.decoys());
    assert_success(&out);
    assert_eq!(stdout(&out), "exit=0 out=real-op\n");
    // And with only such entries, nothing is found (not the decoy).
    let out = lab.token_with(":.", &lab.decoys());
    assert_fails_with(&out, "`op` was not found on PATH");
    assert!(
        !lab.pwned().exists(),
        "the decoy in the working directory ran"
    );
}

#[test]
fn an_absolute_grant_runs_exactly_that_file() {
    let lab = Lab::new();
    let pinned = lab.dir.path().join("pinned");
    std::fs::create_dir_all(&pinned).unwrap();
    script(&pinned.join("op"), "#!/bin/sh\necho pinned-op \"$@\"\n");
    let pinned_op = pinned.join("op").display().to_string();
    let grant = format!("process:{pinned_op}");

    lab.configure(&argv(&[&pinned_op, "read"]), &[&grant]);
    let out = lab.token();
    assert_success(&out);
    assert_eq!(stdout(&out), "exit=0 out=pinned-op read\n");

    // Not the name, not another file, not a spelling that resolves to it.
    let other = lab.bin().join("op").display().to_string();
    let dotted = format!("{}/../pinned/op", pinned.display());
    for program in ["op", other.as_str(), dotted.as_str()] {
        lab.configure(&argv(&[program]), &[&grant]);
        assert_fails_with(
            &lab.token(),
            &format!("capability denied: `process:{program}`"),
        );
    }

    // `process` (any program) allows a path.
    lab.configure(&argv(&[&pinned_op]), &["process"]);
    assert_eq!(stdout(&lab.token()), "exit=0 out=pinned-op\n");
}
