//! The built-in shell-helper provider, with real helper processes.

use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Home, assert_success, stderr, stdout};

/// A home whose provider `p` runs `command` (a TOML value) with `extra`
/// option lines.
fn helper_home(command: &str, extra: &str) -> Home {
    Home::with_config(&format!(
        "[providers.p]\nplugin = \"shell-helper\"\ncommand = {command}\n{extra}\n"
    ))
}

/// `text` as a TOML basic string (enough for the ASCII used here).
fn toml_string(text: &str) -> String {
    format!("{text:?}")
}

/// A command that counts its runs in `file` and prints `key`.
fn counting(file: &Path, key: &str) -> String {
    toml_string(&format!("echo run >> '{}'; echo {key}", file.display()))
}

fn runs(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Processes whose command line contains `marker`, after a moment for
/// SIGKILL to land.
fn survivors(marker: &str) -> String {
    std::thread::sleep(Duration::from_millis(100));
    let out = std::process::Command::new("pgrep")
        .args(["-af", marker])
        .output()
        .unwrap();
    stdout(&out)
}

/// Runs `authhost token p` and returns its stderr, asserting that it failed
/// and printed nothing on stdout.
#[track_caller]
fn token_error(home: &Home) -> String {
    let out = home.run(&["token", "p"]);
    assert!(!out.status.success(), "succeeded: {}", stdout(&out));
    assert_eq!(stdout(&out), "");
    stderr(&out)
}

#[test]
fn output_is_trimmed() {
    let home = helper_home(&toml_string("printf '\\n  sk-helper-1 \\t\\n'"), "");
    let out = home.run(&["token", "p"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-helper-1\n");
}

#[test]
fn empty_output_is_an_error() {
    let home = helper_home(&toml_string("printf '  \\n'"), "");
    let err = token_error(&home);
    assert!(err.contains("printed nothing"), "{err}");
}

#[test]
fn a_failing_command_reports_its_exit_code_and_stderr() {
    let command = "echo sk-not-this; echo 'vault: locked' >&2; exit 4 # cmd-marker-d41";
    let home = helper_home(&toml_string(command), "");
    let err = token_error(&home);
    assert!(
        err.contains("exited with code 4") && err.contains("stderr: vault: locked"),
        "{err}"
    );
    assert!(!err.contains("sk-not-this"), "stdout leaked: {err}");
    assert!(!err.contains("cmd-marker-d41"), "the command leaked: {err}");
}

/// A helper that fails after writing a key to stderr (its own output, or
/// a long token) does not get it shown: not in the error, not in the
/// debug log, not by `login`.
#[test]
fn a_secret_printed_to_stderr_by_a_failing_helper_never_reaches_the_output() {
    // Built by the shell, so the whole key is in no command line.
    let key_tail = "9fQx2LrT7mVb4NcZ8kWd1HsY6pJg3";
    let key = format!("sk-ant-api03-{key_tail}");
    let printed = "hunter2pass";
    let command = format!(
        "k=sk-ant-api03; k=$k-{key_tail}; echo {printed}; \
         echo \"auth failed for {printed}: key $k revoked\" >&2; echo \"$k\" >&2; \
         echo \"  token=$k\" >&2; exit 3"
    );
    let home = helper_home(&toml_string(&command), "");
    for args in [
        &["token", "p"][..],
        &["-vv", "token", "p", "--refresh"],
        &["-vv", "login", "p"],
        &["list", "--json"],
    ] {
        let out = home.run(args);
        let shown = format!("{}{}", stdout(&out), stderr(&out));
        for secret in [key.as_str(), key_tail, printed, &key_tail[..12]] {
            assert!(!shown.contains(secret), "{args:?} shows {secret}: {shown}");
        }
        if args != ["list", "--json"] {
            assert!(!out.status.success(), "{args:?} succeeded: {shown}");
            assert!(
                shown.contains("exited with code 3")
                    && shown.contains("stderr: auth failed for [redacted]: key [redacted] revoked"),
                "{args:?}: {shown}"
            );
        }
    }
}

#[test]
fn a_long_stderr_is_cut_short() {
    let home = helper_home(
        &toml_string("yes 'error line' | head -n 500 >&2; exit 1"),
        "",
    );
    let err = token_error(&home);
    assert!(err.len() < 600, "{} bytes", err.len());
    assert!(err.contains('…'), "{err}");
}

#[test]
fn a_hanging_helper_and_its_children_are_killed_at_the_timeout() {
    let marker = "sleep 63.1717";
    let home = helper_home(
        &toml_string(&format!("{marker} & {marker}")),
        "timeout_ms = 500",
    );
    let started = Instant::now();
    let err = token_error(&home);
    let took = started.elapsed();
    assert!(err.contains("did not finish within 500 ms"), "{err}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(survivors(marker), "", "left behind");
}

#[test]
fn a_background_child_holding_stdout_does_not_delay_the_key() {
    let marker = "sleep 64.3131";
    let home = helper_home(&toml_string(&format!("echo sk-bg; {marker} &")), "");
    let started = Instant::now();
    let out = home.run(&["token", "p"]);
    let took = started.elapsed();
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-bg\n");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(survivors(marker), "", "left behind");
}

#[test]
fn more_than_a_mebibyte_of_output_is_an_error() {
    let home = helper_home(&toml_string("yes sk-flood"), "");
    let started = Instant::now();
    let err = token_error(&home);
    assert!(err.contains("more than 1 MiB"), "{err}");
    assert!(!err.contains("sk-flood"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn argv_runs_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("print-arg.sh");
    std::fs::write(&script, "#!/bin/sh\nprintf '%s' \"$1\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let arg = r#"key with  spaces, 'single' and "double" quotes; $HOME `id`"#;
    let command = format!(
        "[{}, {}]",
        toml_string(script.to_str().unwrap()),
        toml_string(arg)
    );
    let home = helper_home(&command, "");
    let out = home.run(&["token", "p"]);
    assert_success(&out);
    assert_eq!(stdout(&out), format!("{arg}\n"));
}

#[test]
fn a_key_is_reused_within_its_ttl_and_refreshed_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("runs");
    let home = helper_home(&counting(&count, "sk-ttl"), "ttl_ms = 60000");
    for _ in 0..4 {
        assert_eq!(stdout(&home.run(&["token", "p"])), "sk-ttl\n");
    }
    assert_eq!(runs(&count), 1);
    assert_eq!(stdout(&home.run(&["token", "--refresh", "p"])), "sk-ttl\n");
    assert_eq!(runs(&count), 2);
    assert_eq!(stdout(&home.run(&["token", "p"])), "sk-ttl\n");
    assert_eq!(runs(&count), 2);

    let cache = home.path().join("cache/credentials.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        home.store_json().is_null(),
        "a helper key must not be stored in auth.json"
    );
}

#[test]
fn ttl_zero_runs_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("runs");
    let home = helper_home(&counting(&count, "sk-fresh"), "ttl_ms = 0");
    for _ in 0..3 {
        assert_eq!(stdout(&home.run(&["token", "p"])), "sk-fresh\n");
    }
    assert_eq!(runs(&count), 3);
}

#[test]
fn json_output_with_an_expiry_bounds_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("runs");
    // Each run prints a key that expires two seconds later.
    let command = format!(
        "echo run >> '{}'; echo \"{{\\\"key\\\": \\\"sk-json\\\", \\\"expires_at\\\": $(( $(date +%s) + 2 ))}}\"",
        count.display()
    );
    let home = helper_home(&toml_string(&command), "ttl_ms = 600000");
    assert_eq!(stdout(&home.run(&["token", "p"])), "sk-json\n");
    assert_eq!(stdout(&home.run(&["token", "p"])), "sk-json\n");
    assert_eq!(runs(&count), 1);
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(stdout(&home.run(&["token", "p"])), "sk-json\n");
    assert_eq!(runs(&count), 2, "the key was reused past its expires_at");

    let rfc3339 =
        toml_string("echo '{\"key\": \"sk-rfc\", \"expires_at\": \"2999-01-01T00:00:00+02:00\"}'");
    let out = helper_home(&rfc3339, "").run(&["token", "p"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-rfc\n");
    let past =
        toml_string("echo '{\"key\": \"sk-old\", \"expires_at\": \"2001-01-01T00:00:00Z\"}'");
    let err = token_error(&helper_home(&past, ""));
    assert!(
        err.contains("already expired") && !err.contains("sk-old"),
        "{err}"
    );
}

#[test]
fn the_helper_learns_the_provider_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    let command = format!(
        "echo \"$AUTHHOST_PROVIDER-$AUTHHOST_REASON\" >> '{}'; echo sk-env",
        seen.display()
    );
    let home = helper_home(&toml_string(&command), "ttl_ms = 0");
    assert_success(&home.run(&["token", "p"]));
    assert_success(&home.run(&["token", "--refresh", "p"]));
    assert_success(&home.run(&["login", "p"]));
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert_eq!(seen, "p-token\np-refresh\np-login\n");
}

#[test]
fn the_key_and_the_command_stay_out_of_listings_and_logs() {
    let canary = "sk-canary-helper-93b1";
    let command_marker = "cmd-canary-5c7e";
    let home = helper_home(
        &toml_string(&format!("echo {canary} # {command_marker}")),
        "",
    );
    let out = home.run(&["-vv", "token", "p"]);
    assert_success(&out);
    assert_eq!(stdout(&out), format!("{canary}\n"));
    let log = stderr(&out);
    assert!(
        log.contains("running the helper command"),
        "no debug log: {log}"
    );
    assert!(
        !log.contains(canary) && !log.contains(command_marker),
        "{log}"
    );
    for args in [
        &["-vv", "list", "--json"][..],
        &["-vv", "list"],
        &["-vv", "plugins", "list", "--json"],
    ] {
        let out = home.run(args);
        assert_success(&out);
        for text in [stdout(&out), stderr(&out)] {
            assert!(!text.contains(canary), "{args:?} shows the key: {text}");
            assert!(
                !text.contains(command_marker),
                "{args:?} shows the command: {text}"
            );
        }
    }
    let list: serde_json::Value = serde_json::from_str(&stdout(&home.run(&["list", "--json"])))
        .expect("list --json prints JSON");
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["provider"] == "p")
        .expect("p is listed");
    assert_eq!(entry["plugin"], "shell-helper");
}

#[test]
fn unknown_and_missing_options_are_named() {
    let home = helper_home(&toml_string("echo k"), "timeout = 5");
    let err = token_error(&home);
    assert!(
        err.contains("[providers.p] has an unknown key `timeout`; did you mean `timeout_ms`?"),
        "{err}"
    );
    let home = Home::with_config("[providers.p]\nplugin = \"shell-helper\"\n");
    let err = token_error(&home);
    assert!(err.contains("set `command` in [providers.p]"), "{err}");
}

/// 1,000 concurrent cold resolutions in one embedding program run the
/// helper once (the embedded benchmark prints the same figure).
#[test]
fn concurrent_resolutions_in_one_process_run_the_helper_once() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("runs");
    let command = format!("echo run >> '{}'; sleep 0.3; echo sk-once", count.display());
    let home = helper_home(&toml_string(&command), "ttl_ms = 0");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let host =
        Arc::new(authhost::Host::open(authhost::HostOptions::with_home(home.path())).unwrap());
    let keys: Vec<String> = runtime.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let host = host.clone();
                tokio::spawn(
                    async move { host.token("p", authhost::TokenOptions::default()).await },
                )
            })
            .collect();
        let mut keys = Vec::new();
        for task in tasks {
            keys.push(task.await.unwrap().unwrap().expose_secret().to_owned());
        }
        keys
    });
    assert_eq!(keys.len(), 1000);
    assert!(keys.iter().all(|k| k == "sk-once"));
    assert_eq!(runs(&count), 1);
}

#[test]
fn stale_keys_are_used_on_error_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("fail");
    let command = format!(
        "if [ -e '{}' ]; then exit 1; fi; echo sk-last",
        flag.display()
    );
    // Long enough to be cached on a busy machine, short enough to wait out.
    let home = helper_home(&toml_string(&command), "ttl_ms = 300");
    let host = authhost::Host::open(authhost::HostOptions::with_home(home.path())).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let first = runtime.block_on(host.token("p", authhost::TokenOptions::default()));
    assert_eq!(first.unwrap().expose_secret(), "sk-last");
    std::fs::write(&flag, "").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let strict = runtime.block_on(host.token("p", authhost::TokenOptions::default()));
    assert!(strict.is_err());
    // The expired key is gone from the cache file; the host that obtained
    // it still has it in memory, and hands it out only when asked to.
    let cache = std::fs::read_to_string(home.path().join("cache/credentials.json")).unwrap();
    assert!(!cache.contains("sk-last"), "{cache}");
    let lenient = authhost::TokenOptions::default().stale_on_error(true);
    let token = runtime.block_on(host.token("p", lenient)).unwrap();
    assert_eq!(token.expose_secret(), "sk-last");
    // Another host (another process) has nothing to fall back to.
    let other = authhost::Host::open(authhost::HostOptions::with_home(home.path())).unwrap();
    let lenient = authhost::TokenOptions::default().stale_on_error(true);
    assert!(runtime.block_on(other.token("p", lenient)).is_err());
}

/// A provider whose helper runs on every call is not looked up in the store
/// every time, but a key another process stores is used within a second.
#[test]
fn a_key_stored_by_another_process_takes_over_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.txt");
    let home = helper_home(&counting(&log, "from-helper"), "ttl_ms = 0");
    let host = authhost::Host::open(authhost::HostOptions::with_home(home.path())).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = || {
        runtime
            .block_on(host.token("p", authhost::TokenOptions::default()))
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    assert_eq!(token(), "from-helper");
    assert_eq!(token(), "from-helper");
    assert_eq!(
        runs(&log),
        2,
        "the helper's key is not cached: it runs each time"
    );

    let store = home.path().join("auth.json");
    std::fs::write(&store, r#"{"p": {"type": "api", "key": "stored-key"}}"#).unwrap();
    std::fs::set_permissions(&store, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(token(), "stored-key");
    assert_eq!(runs(&log), 2);
}

/// In one embedding process, a helper that does not finish holds up no
/// other provider: on a single-threaded runtime, calls for a stored key, a
/// helper run afresh each time, a helper of the same built-in and a folder
/// plugin all complete while the slow helper is provably still running (it
/// waits for a file the test creates only afterwards).
#[test]
fn a_slow_helper_holds_up_no_other_provider() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let release = dir.path().join("release");
    let slow = format!(
        "echo run > '{}'; while [ ! -e '{}' ]; do sleep 0.01; done; echo sk-slow",
        started.display(),
        release.display()
    );
    let home = support::testkit_home(&format!(
        "[providers.slow]\nplugin = \"shell-helper\"\ncommand = {}\nttl_ms = 0\n\n\
         [providers.fast]\nplugin = \"shell-helper\"\ncommand = \"echo sk-fast\"\nttl_ms = 0\n\n\
         [providers.stored]\nplugin = \"openrouter\"\n\n\
         [providers.kit]\nplugin = \"testkit\"\nkey = \"sk-kit\"\n",
        toml_string(&slow)
    ));
    std::fs::write(
        home.store_path(),
        r#"{"stored": {"type": "api", "key": "sk-stored"}}"#,
    )
    .unwrap();
    let host =
        Arc::new(authhost::Host::open(authhost::HostOptions::with_home(home.path())).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let slow = tokio::spawn({
            let host = host.clone();
            async move { host.token("slow", authhost::TokenOptions::default()).await }
        });
        while !started.exists() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for _ in 0..5 {
            for (provider, key) in [
                ("fast", "sk-fast"),
                ("stored", "sk-stored"),
                ("kit", "sk-kit"),
            ] {
                let token = host
                    .token(provider, authhost::TokenOptions::default())
                    .await
                    .unwrap();
                assert_eq!(token.expose_secret(), key);
            }
        }
        // The slow helper cannot have answered: it is waiting for `release`.
        assert!(!slow.is_finished());
        std::fs::write(&release, "").unwrap();
        let token = slow.await.unwrap().unwrap();
        assert_eq!(token.expose_secret(), "sk-slow");
    });
}

/// What an embedding program's event hook sees: a stored key (from the
/// store, then from memory), a helper (its plugin run, then, in the next
/// process, its cache), and a failure with its code.
#[test]
fn the_event_hook_sees_where_each_secret_came_from() {
    use authhost::{Event, HostOptions, Source, TokenOptions};
    use std::sync::Mutex;

    let home = Home::with_config(
        "[providers.stored]\nplugin = \"openrouter\"\n\n\
         [providers.h]\nplugin = \"shell-helper\"\ncommand = \"echo sk-helper\"\nttl_ms = 600000\n",
    );
    std::fs::write(
        home.store_path(),
        r#"{"stored": {"type": "api", "key": "sk-stored"}}"#,
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let host_with_hook = || {
        let seen = seen.clone();
        let options = HostOptions::with_home(home.path()).on_event(move |event| {
            let line = match event {
                Event::TokenServed {
                    provider, source, ..
                } => format!("served {provider} from {source}"),
                Event::PluginRun {
                    provider,
                    plugin,
                    export,
                    ok,
                    ..
                } => format!("ran {plugin} {export} for {provider}, ok {ok}"),
                Event::Refreshed { provider } => format!("refreshed {provider}"),
                Event::Failed { provider, code, .. } => format!("failed {provider}: {code}"),
                other => format!("{other:?}"),
            };
            seen.lock().unwrap().push(line);
        });
        authhost::Host::open(options).unwrap()
    };
    let take = || std::mem::take(&mut *seen.lock().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = |host: &authhost::Host, provider: &str| {
        runtime
            .block_on(host.token(provider, TokenOptions::default()))
            .map(|t| t.expose_secret().to_owned())
    };

    let host = host_with_hook();
    assert_eq!(token(&host, "stored").unwrap(), "sk-stored");
    assert_eq!(take(), ["served stored from store"]);
    assert_eq!(token(&host, "stored").unwrap(), "sk-stored");
    assert_eq!(take(), ["served stored from memory"]);
    assert_eq!(token(&host, "h").unwrap(), "sk-helper");
    assert_eq!(
        take(),
        [
            "ran shell-helper resolve for h, ok true",
            "served h from plugin"
        ]
    );
    assert!(token(&host, "nobody").is_err());
    assert_eq!(take(), ["failed nobody: unknown-provider"]);

    // The next process finds the helper's key in the cache.
    let next = host_with_hook();
    assert_eq!(token(&next, "h").unwrap(), "sk-helper");
    assert_eq!(take(), ["served h from helper-cache"]);
    assert_eq!(Source::HelperCache.as_str(), "helper-cache");
}
