//! Hostile input: broken and misbehaving plugins, and damaged or dangerous
//! store files. Each is a clear error; nothing crashes, hangs or is lost.

use crate::support;

use std::time::{Duration, Instant};

use support::{
    Home, assert_fails_with, assert_success, stderr, stdout, testkit_home, workspace_component,
};

/// Replaces every occurrence of `from` by `to` (same length) in `bytes`.
fn rewrite(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut found = false;
    for i in 0..bytes.len().saturating_sub(from.len()) {
        if &bytes[i..i + from.len()] == from {
            out[i..i + to.len()].copy_from_slice(to);
            found = true;
        }
    }
    assert!(found, "pattern not found");
    out
}

/// A guest's stdout and stderr go to the log, bounded and sanitised; a
/// crash shows the last lines of stderr (a Rust panic message here; an
/// uncaught JavaScript exception or a Python traceback alike).
#[test]
fn guest_output_goes_to_the_log_and_a_crash_shows_its_stderr() {
    let home = testkit_home(
        "[providers.boom]\nplugin = \"testkit\"\nmode = \"trap\"\n\n[providers.loud]\nplugin = \"testkit\"\nmode = \"chatter\"\nkey = \"k\"\n",
    );
    let out = home.run(&["token", "boom"]);
    assert_fails_with(&out, "testkit was asked to trap");
    assert!(stderr(&out).contains("provider `boom`"), "{}", stderr(&out));

    let quiet = home.run(&["token", "loud"]);
    assert_success(&quiet);
    assert_eq!(stdout(&quiet), "k\n");
    assert!(!stderr(&quiet).contains("err 1"), "{}", stderr(&quiet));
    let verbose = home.run(&["-v", "token", "loud"]);
    assert_success(&verbose);
    let log = stderr(&verbose);
    assert!(log.contains("err 0") && log.contains("out 0"), "{log}");
    assert!(
        log.contains("testkit"),
        "guest lines are attributed:\n{log}"
    );
    assert!(
        !log.contains('\u{1b}') && !log.contains('\u{7}'),
        "raw escapes in:\n{log}"
    );
    let lines = log.lines().count();
    assert!(lines < 600, "{lines} lines logged for 10,000 written");
}

#[test]
fn broken_component_files_each_get_a_reason() {
    let home = Home::new();
    let dir = home.plugins_dir();
    let testkit = std::fs::read(workspace_component("testkit")).unwrap();
    let random: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("random.wasm"), &random).unwrap();
    let mut header_then_noise = b"\0asm\x0d\0\x01\0".to_vec();
    header_then_noise.extend_from_slice(&random);
    std::fs::write(dir.join("noise.wasm"), header_then_noise).unwrap();
    std::fs::write(
        dir.join("needs.wasm"),
        rewrite(
            &testkit,
            b"authhost:provider/log@0.3.0",
            b"authhost:provider/lox@0.3.0",
        ),
    )
    .unwrap();
    let huge = std::fs::File::create(dir.join("huge.wasm")).unwrap();
    huge.set_len(65 << 20).unwrap();

    let out = home.run(&["plugins", "list"]);
    assert_success(&out);
    let text = stdout(&out);
    for (file, reason) in [
        ("random.wasm", "not a WebAssembly file"),
        ("noise.wasm", "invalid component"),
        ("needs.wasm", "import this host does not provide"),
        ("huge.wasm", "at most"),
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(file))
            .unwrap_or_else(|| panic!("{file} missing:\n{text}"));
        assert!(line.contains(reason), "{line}");
    }
    assert!(text.contains("shell-helper") && text.contains("openrouter"));
}

#[test]
fn a_trap_in_any_export_is_a_clear_error() {
    let home = testkit_home(
        "[providers.d]\nplugin = \"hostile-aaaa\"\n[providers.t]\nplugin = \"testkit\"\nmode = \"trap\"\n[providers.ok]\nplugin = \"testkit\"\nkey = \"still-fine\"\n",
    );
    // `describe` sees no configuration, so a component that traps there is
    // one whose every description traps (`tests/fixtures/hostile-text`).
    let crashy = rewrite(
        &std::fs::read(workspace_component("hostile-text")).unwrap(),
        b"variant:plain___",
        b"variant:trap____",
    );
    std::fs::write(home.plugins_dir().join("crashy.wasm"), crashy).unwrap();
    for args in [&["token", "t"][..], &["login", "t"]] {
        let out = home.run(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr(&out).contains("plugin `testkit`: crashed"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    for args in [&["token", "d"][..], &["login", "d"]] {
        let out = home.run(args);
        assert!(!out.status.success(), "{args:?}");
    }
    let listed = stdout(&home.run(&["plugins", "list"]));
    let line = listed
        .lines()
        .find(|l| l.starts_with("crashy.wasm"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("crashed"), "{line}");
    assert_eq!(stdout(&home.run(&["token", "ok"])), "still-fine\n");
    assert_eq!(home.store_json(), serde_json::Value::Null);
}

#[test]
fn secrets_with_control_characters_are_refused() {
    // TOML escapes: an escape sequence, a line break, a NUL.
    for key in [r"sk-a\u001b[2Jb", r"sk-line\nsk-other", r"sk-nul\u0000"] {
        let home = testkit_home(&format!(
            "[providers.odd]\nplugin = \"testkit\"\nkey = \"{key}\"\n"
        ));
        let out = home.run(&["token", "odd"]);
        assert_fails_with(&out, "a secret with control characters");
        assert_eq!(stdout(&out), "", "{key}");
        assert!(!stderr(&out).contains("sk-"), "{key}: {}", stderr(&out));
    }
}

#[test]
fn enormous_answers_are_refused() {
    let home = testkit_home("[providers.big]\nplugin = \"testkit\"\nmode = \"huge\"\n");
    let out = home.run(&["token", "big"]);
    assert_fails_with(&out, "a secret of 33554432 bytes");
    assert!(stderr(&out).len() < 2000);
}

#[test]
fn a_plugin_calling_imports_in_a_loop_is_bounded() {
    let home = testkit_home(
        "[limits]\ncpu_ms = 500\n[providers.spam]\nplugin = \"testkit\"\nmode = \"log-loop\"\n",
    );
    let started = Instant::now();
    let out = home.run(&["token", "spam"]);
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(20));
    let err = stderr(&out);
    assert!(
        err.contains("CPU time"),
        "{}",
        &err[err.len().saturating_sub(500)..]
    );
    let spam = err.lines().filter(|l| l.contains("spam")).count();
    assert!(spam <= 1000, "{spam} log lines");
    assert!(
        err.contains("further log lines"),
        "no notice of dropped lines"
    );
}

/// The built-ins' machine code copied into `cache/components/` is only a
/// cache: a damaged copy is replaced and the plugin keeps working.
#[test]
fn a_damaged_cached_built_in_is_replaced() {
    let home = Home::with_config(
        "[providers.p]\nplugin = \"shell-helper\"\ncommand = \"echo sk-fine\"\nttl_ms = 0\n",
    );
    assert_eq!(stdout(&home.run(&["token", "p"])), "sk-fine\n");
    let dir = home.path().join("cache/components");
    let cached: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("shell-helper-")
        })
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let good = std::fs::read(&cached[0]).unwrap();
    for damage in [&good[..good.len() / 2], b"garbage" as &[u8], b""] {
        std::fs::write(&cached[0], damage).unwrap();
        assert_eq!(stdout(&home.run(&["token", "p"])), "sk-fine\n");
        assert_eq!(std::fs::read(&cached[0]).unwrap(), good, "not rewritten");
    }
}

#[test]
fn a_symlinked_store_is_refused() {
    let home = Home::new();
    let elsewhere = home.path().join("elsewhere.json");
    std::fs::write(&elsewhere, r#"{"openrouter": {"type": "api", "key": "k"}}"#).unwrap();
    std::os::unix::fs::symlink(&elsewhere, home.store_path()).unwrap();
    let out = home.run(&["token", "openrouter"]);
    assert_fails_with(&out, "symbolic link");
    let out = home.run_with_stdin(&["login", "openrouter", "--method", "api-key"], "new\n");
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read_to_string(&elsewhere).unwrap(),
        r#"{"openrouter": {"type": "api", "key": "k"}}"#
    );
}

#[test]
fn a_world_readable_store_is_fixed_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    std::fs::write(
        home.store_path(),
        r#"{"openrouter": {"type": "api", "key": "k"}}"#,
    )
    .unwrap();
    std::fs::set_permissions(home.store_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = home.run(&["token", "openrouter"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("changing it to 600"),
        "{}",
        stderr(&out)
    );
    assert_eq!(home.store_mode(), 0o600);
}

#[test]
fn killing_writers_never_leaves_a_broken_store() {
    let home = Home::with_config(
        &(0..8)
            .map(|i| format!("[providers.p{i}]\nplugin = \"openrouter\"\n"))
            .collect::<String>(),
    );
    let out = home.run_with_stdin(&["login", "p0", "--method", "api-key"], "first\n");
    assert_success(&out);
    for round in 0..40u64 {
        let mut child = home
            .cmd()
            .args(["login", &format!("p{}", round % 8), "--method", "api-key"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            let _ = writeln!(stdin, "key-{round}");
        }
        // Kill at a different moment each round, from before start-up to
        // around the write.
        std::thread::sleep(Duration::from_micros((round * 397) % 6000));
        let _ = child.kill();
        let _ = child.wait();
        let store = home.store_json();
        assert!(store.is_object(), "round {round}: store is {store}");
        assert_eq!(store["p0"]["type"], "api", "round {round}: {store}");
    }
    // The next write removes what killed writers left behind.
    std::fs::write(home.path().join(".auth.json-left.tmp"), "partial").unwrap();
    let out = home.run_with_stdin(&["login", "p1", "--method", "api-key"], "last\n");
    assert_success(&out);
    let leftovers: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The user id of `nobody`, another user on the test machine.
const NOBODY: u32 = 65534;

fn chown(path: &std::path::Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), None).unwrap();
}

fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A home whose provider `p` runs a helper command that leaves `marker`
/// behind and prints a key.
fn helper_home(marker: &std::path::Path) -> Home {
    Home::with_config(&format!(
        "[providers.p]\nplugin = \"shell-helper\"\ncommand = \"touch '{}'; echo sk-from-helper\"\nttl_ms = 0\n",
        marker.display()
    ))
}

/// Asserts that `out` refused the configuration because of `path`, with
/// `fix` as the remedy.
#[track_caller]
fn refused_for(out: &std::process::Output, path: &std::path::Path, fix: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(stdout(out), "");
    assert!(
        err.contains(&format!("bad owner or permissions on {}:", path.display())),
        "{err}"
    );
    assert!(err.contains(fix), "expected `{fix}` in: {err}");
    assert!(!err.contains("sk-from-helper"), "{err}");
}

/// `config.toml` names commands authhost runs as you: one that another
/// user owns or may write, or that sits in a folder another user owns or
/// may write, is refused before anything in it is used; the error names
/// the file and the fix, as ssh's "Bad owner or permissions" does.
#[test]
fn a_config_another_user_could_change_is_refused_before_its_helper_runs() {
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("helper-ran");
    let home = helper_home(&marker);
    let config = home.path().join("config.toml");
    let helper_ran = || std::fs::remove_file(&marker).is_ok();
    let token = || home.run(&["token", "p"]);

    // Ours, mode 0600 or 0644: used, and the helper runs.
    for mode in [0o600, 0o644] {
        chmod(&config, mode);
        let out = token();
        assert_success(&out);
        assert_eq!(stdout(&out), "sk-from-helper\n");
        assert!(helper_ran(), "mode {mode:o}");
    }

    // Owned by another user.
    chown(&config, NOBODY);
    refused_for(&token(), &config, &format!("chown 0 {}", config.display()));
    assert!(!helper_ran());
    chown(&config, 0);

    // Writable by others, or by the group.
    for mode in [0o666, 0o620] {
        chmod(&config, mode);
        refused_for(
            &token(),
            &config,
            &format!("chmod go-w {}", config.display()),
        );
        assert!(!helper_ran(), "mode {mode:o}");
    }
    chmod(&config, 0o600);

    // Its folder writable by the group, or owned by another user.
    chmod(home.path(), 0o770);
    let out = token();
    refused_for(
        &out,
        home.path(),
        &format!("chmod go-w {}", home.path().display()),
    );
    assert!(
        stderr(&out).contains("it holds config.toml and is writable by other users"),
        "{}",
        stderr(&out)
    );
    chmod(home.path(), 0o700);
    chown(home.path(), NOBODY);
    refused_for(
        &token(),
        home.path(),
        &format!("chown 0 {}", home.path().display()),
    );
    chown(home.path(), 0);
    assert!(!helper_ran());

    // A link: the file it points to is what counts (as for ssh).
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("real-config.toml");
    std::fs::rename(&config, &target).unwrap();
    std::os::unix::fs::symlink(&target, &config).unwrap();
    assert_success(&token());
    assert!(helper_ran());
    chown(&target, NOBODY);
    refused_for(&token(), &config, "chown 0");
    assert!(!helper_ran());

    // No config.toml at all: the defaults, whatever the folder.
    std::fs::remove_file(&config).unwrap();
    chmod(home.path(), 0o777);
    assert_success(&home.run(&["list"]));
    chmod(home.path(), 0o700);
}

/// As for ssh, a `config.toml` root owns is trusted by every user (root
/// can change any file anyway), unless others may write it: run as
/// `nobody` with a home of its own.
#[test]
fn a_config_root_owns_is_trusted_by_other_users() {
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("helper-ran");
    chown(marker_dir.path(), NOBODY);
    let home = helper_home(&marker);
    let config = home.path().join("config.toml");
    chown(home.path(), NOBODY);
    chmod(&config, 0o644);
    let as_nobody = || {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(support::authhost_bin())
            .args(["token", "p"])
            .env("AUTHHOST_HOME", home.path())
            .env_remove("AUTHHOST_STORE")
            .env_remove("AUTHHOST_LOG")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = as_nobody();
    assert_success(&out);
    assert!(marker.exists());
    std::fs::remove_file(&marker).unwrap();

    chmod(&config, 0o646);
    let out = as_nobody();
    refused_for(&out, &config, &format!("chmod go-w {}", config.display()));
    assert!(!stderr(&out).contains("chown"), "{}", stderr(&out));
    assert!(!marker.exists());
}
