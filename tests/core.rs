//! The core: built-ins, the plugins folder, limits, the credential store,
//! configuration errors and secrecy, driven through the `authhost` binary.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    Home, assert_fails_with, assert_success, stderr, stdout, testkit_home, workspace_component,
};

fn json(output: &std::process::Output) -> Value {
    assert_success(output);
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn builtins_load_and_are_listed() {
    let home = Home::new();
    let plugins = json(&home.run(&["plugins", "list", "--json"]));
    let ids: Vec<&str> = plugins
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["shell-helper", "openrouter", "oauth2", "api-key"]);
    for plugin in plugins.as_array().unwrap() {
        assert_eq!(plugin["source"], "built-in");
        assert_eq!(plugin["wit_version"], "0.3.0");
        assert!(plugin["error"].is_null(), "{plugin}");
        assert!(plugin["missing"].as_array().unwrap().is_empty(), "{plugin}");
        let methods = plugin["metadata"]["methods"].as_array().unwrap();
        assert!(methods.iter().any(|m| m["id"] == "api-key"), "{plugin}");
        assert!(
            !plugin["metadata"]["display_name"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    let shell = &plugins[0];
    assert_eq!(shell["metadata"]["resolves"], true);
    assert_eq!(shell["granted"], serde_json::json!(["process"]));

    let providers = json(&home.run(&["list", "--json"]));
    let names: Vec<&str> = providers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    // A plugin that is itself a provider is one; a generic plugin is not.
    assert!(
        names.contains(&"openrouter") && !names.contains(&"shell-helper"),
        "{names:?}"
    );

    let text = stdout(&home.run(&["plugins", "list"]));
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.contains("openrouter") && text.contains("built-in"),
        "{text}"
    );
}

#[test]
fn api_key_method_stores_the_key_and_token_prints_exactly_it() {
    let home = Home::new();
    let out = home.run_with_stdin(
        &["login", "openrouter", "--method", "api-key"],
        "  sk-or-v1-abc123  \n",
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("Logged in to openrouter"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("sk-or-v1-abc123"));

    let out = home.run(&["token", "openrouter"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-or-v1-abc123\n");
    assert_eq!(stderr(&out), "");
    assert_eq!(
        home.store_json(),
        serde_json::json!({"openrouter": {
            "type": "api", "key": "sk-or-v1-abc123", "plugin": "openrouter"
        }})
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.store_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    let out = home.run(&["logout", "openrouter"]);
    assert_success(&out);
    let out = home.run(&["token", "openrouter"]);
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("authhost login openrouter"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn empty_api_key_and_closed_stdin_store_nothing() {
    let home = Home::new();
    let out = home.run_with_stdin(&["login", "openrouter", "--method", "api-key"], "\n");
    assert!(!out.status.success());
    let out = home.run(&["login", "openrouter", "--method", "nope"]);
    assert!(
        stderr(&out).contains("no login method `nope`"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("api-key"), "{}", stderr(&out));
    assert_eq!(home.store_json(), Value::Null);
}

#[test]
fn folder_plugins_load_beside_broken_files() {
    let home = testkit_home("[providers.kit]\nplugin = \"testkit\"\nkey = \"kit-key-1\"\n");
    let dir = home.plugins_dir();
    std::fs::write(dir.join("garbage.wasm"), b"this is not wasm at all").unwrap();
    std::fs::write(dir.join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.join("empty.wasm"), b"").unwrap();
    std::fs::write(dir.join("notes.txt"), b"ignored").unwrap();
    let mut truncated = std::fs::read(dir.join("testkit.wasm")).unwrap();
    truncated.truncate(truncated.len() / 2);
    std::fs::write(dir.join("truncated.wasm"), truncated).unwrap();
    std::fs::copy(workspace_component("shell-helper"), dir.join("clash.wasm")).unwrap();

    let plugins = json(&home.run(&["plugins", "list", "--json"]));
    let by_id = |id: &str| {
        plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {plugins}"))
            .clone()
    };
    assert!(by_id("testkit")["error"].is_null());
    for (file, reason) in [
        ("garbage.wasm", "not a WebAssembly file"),
        ("core.wasm", "core WebAssembly module, not a component"),
        ("empty.wasm", "empty"),
        ("truncated.wasm", "invalid component"),
        ("clash.wasm", "clashes with a built-in"),
    ] {
        let error = by_id(file)["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains(reason), "{file}: {error}");
    }
    assert!(!plugins.to_string().contains("notes.txt"));

    let out = home.run(&["token", "kit"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "kit-key-1\n");

    // Removing the file removes the provider.
    std::fs::remove_file(dir.join("testkit.wasm")).unwrap();
    let out = home.run(&["token", "kit"]);
    assert!(
        stderr(&out).contains("plugin `testkit`, which is not installed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_looping_plugin_is_stopped_by_its_cpu_budget() {
    let home = testkit_home(
        "[limits]\ncpu_ms = 300\n[providers.spin]\nplugin = \"testkit\"\nmode = \"loop\"\n",
    );
    let started = Instant::now();
    let out = home.run(&["token", "spin"]);
    let took = started.elapsed();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("plugin `testkit`") && err.contains("CPU time"),
        "{err}"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn a_looping_plugin_is_stopped_by_the_wall_clock_too() {
    let home = testkit_home(
        "[limits]\ncpu_ms = 600000\ncall_timeout_ms = 400\n[providers.spin]\nplugin = \"testkit\"\nmode = \"loop\"\n",
    );
    let out = home.run(&["token", "spin"]);
    let err = stderr(&out);
    assert!(err.contains("did not answer within 400 ms"), "{err}");
}

#[test]
fn a_plugin_that_allocates_without_bound_is_stopped() {
    let home = testkit_home(
        "[limits]\nmemory_mib = 32\n[providers.hog]\nplugin = \"testkit\"\nmode = \"hog\"\n",
    );
    let out = home.run(&["token", "hog"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("more than 32 MiB of memory"), "{err}");
}

#[test]
fn a_trapping_plugin_is_a_clear_error_and_others_keep_working() {
    let home = testkit_home(
        "[providers.boom]\nplugin = \"testkit\"\nmode = \"trap\"\n[providers.fine]\nplugin = \"testkit\"\nkey = \"fine-1\"\n",
    );
    let err = stderr(&home.run(&["token", "boom"]));
    assert!(err.contains("plugin `testkit`: crashed"), "{err}");
    assert_eq!(stdout(&home.run(&["token", "fine"])), "fine-1\n");
}

#[test]
fn concurrent_processes_lose_no_update() {
    let home = Home::new();
    let children: Vec<_> = (0..20)
        .map(|i| {
            let mut cmd = home.cmd();
            cmd.args(["login", &format!("p{i}"), "--method", "api-key"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            (i, cmd)
        })
        .collect();
    // Every `p{i}` must be a known provider: use openrouter instances.
    let config: String = (0..20)
        .map(|i| format!("[providers.p{i}]\nplugin = \"openrouter\"\n"))
        .collect();
    home.write_config(&config);
    let mut running = Vec::new();
    for (i, mut cmd) in children {
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "key-{i}").unwrap();
        running.push(child);
    }
    for child in running {
        let out = child.wait_with_output().unwrap();
        assert_success(&out);
    }
    let store = home.store_json();
    for i in 0..20 {
        assert_eq!(store[format!("p{i}")]["key"], format!("key-{i}"), "{store}");
    }
}

#[test]
fn unknown_config_keys_are_named() {
    let home = Home::with_config(
        "[providers.openrouter]\nplugin = \"openrouter\"\n\n[limits]\nmemroy_mib = 3\n",
    );
    let out = home.run(&["list"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("memroy_mib"), "{err}");
    assert!(err.contains("config.toml"), "{err}");
}

#[test]
fn a_corrupt_store_is_reported_and_left_alone() {
    let home = Home::new();
    std::fs::write(
        home.store_path(),
        "{\"openrouter\": {\"type\": \"api\", \"key\": \"sk-canary",
    )
    .unwrap();
    for args in [
        &["token", "openrouter"][..],
        &["list"],
        &["logout", "openrouter"],
    ] {
        let out = home.run(args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("auth.json") && err.contains("corrupt"),
            "{err}"
        );
        assert!(!err.contains("sk-canary"), "{err}");
    }
    let out = home.run_with_stdin(&["login", "openrouter", "--method", "api-key"], "new\n");
    assert!(!out.status.success());
    assert!(
        std::fs::read_to_string(home.store_path())
            .unwrap()
            .ends_with("sk-canary")
    );
}

#[test]
fn secrets_stay_out_of_listings_logs_and_errors() {
    let canary = "sk-canary-7f3a9";
    let home = testkit_home(&format!(
        "[providers.kit]\nplugin = \"testkit\"\nkey = \"{canary}\"\nttl_ms = 60000\n\n[providers.bad]\nplugin = \"testkit\"\nmode = \"nope\"\nkey = \"{canary}\"\n"
    ));
    let out = home.run_with_stdin(
        &["-vv", "login", "openrouter", "--method", "api-key"],
        &format!("{canary}\n"),
    );
    assert_success(&out);
    assert!(!stderr(&out).contains(canary));
    let out = home.run(&["-vv", "token", "kit"]);
    assert_eq!(stdout(&out), format!("{canary}\n"));
    assert!(!stderr(&out).contains(canary), "{}", stderr(&out));
    for args in [
        &["-vv", "list", "--json"][..],
        &["-vv", "list"],
        &["-vv", "plugins", "list", "--json"],
        &["-vv", "token", "bad"],
        &["-vv", "token", "nobody"],
        &["-vv", "logout", "kit"],
    ] {
        let out = home.run(args);
        assert!(!stdout(&out).contains(canary), "{args:?}: {}", stdout(&out));
        assert!(!stderr(&out).contains(canary), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn unknown_providers_are_reported() {
    let home = Home::new();
    let out = home.run(&["token", "nobody"]);
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("unknown provider `nobody`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn inspect_explains_each_file_without_loading_it_into_the_registry() {
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.wasm");
    std::fs::copy(workspace_component("testkit"), &good).unwrap();
    let out = home.run(&["plugins", "inspect", good.to_str().unwrap(), "--json"]);
    let report = json(&out);
    assert_eq!(report["id"], "testkit");
    assert_eq!(report["wit_version"], "0.3.0");
    assert_eq!(report["would_load"], true);
    assert!(report["size"].as_u64().unwrap() > 1000);

    for (bytes, reason) in [
        (&b"garbage!"[..], "not a WebAssembly file"),
        (b"\0asm\x01\0\0\0", "core WebAssembly module"),
        (b"", "empty"),
    ] {
        let path = dir.path().join("broken.wasm");
        std::fs::write(&path, bytes).unwrap();
        let out = home.run(&["plugins", "inspect", path.to_str().unwrap()]);
        assert!(!out.status.success());
        let text = stdout(&out);
        assert!(
            text.contains("would load:  no") && text.contains(reason),
            "{text}"
        );
    }
    let clash = dir.path().join("clash.wasm");
    std::fs::copy(workspace_component("shell-helper"), &clash).unwrap();
    let out = home.run(&["plugins", "inspect", clash.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("clashes with a built-in"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn plugins_grant_edits_the_config_in_place() {
    let home = Home::with_config("# keep me\n[providers.kit]\nplugin = \"testkit\"  # the kit\n");
    let out = home.run(&[
        "plugins",
        "grant",
        "testkit",
        "browser",
        "http:https://api.acme.example",
    ]);
    assert_success(&out);
    let text = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(text.starts_with("# keep me\n"), "{text}");
    assert!(text.contains("plugin = \"testkit\"  # the kit"), "{text}");
    assert!(
        text.contains("grant = [\"browser\", \"http:https://api.acme.example\"]"),
        "{text}"
    );
    let out = home.run(&["plugins", "grant", "testkit", "http:https://*"]);
    assert_fails_with(&out, "too broad");
}

/// Runs `authhost ARGS` with its stdout (`close_stdout`) and/or stderr
/// closed before it writes anything: each reader has gone. Returns the exit
/// code and what it wrote to the stream left open.
fn run_with_closed(
    home: &Home,
    args: &[&str],
    close_stdout: bool,
    close_stderr: bool,
) -> (Option<i32>, String) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = home
        .cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut open = String::new();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    match (close_stdout, close_stderr) {
        (true, true) => drop((stdout, stderr)),
        (true, false) => {
            drop(stdout);
            let mut stderr = stderr;
            stderr.read_to_string(&mut open).unwrap();
        }
        (false, true) => {
            drop(stderr);
            let mut stdout = stdout;
            stdout.read_to_string(&mut open).unwrap();
        }
        (false, false) => unreachable!(),
    }
    (child.wait().unwrap().code(), open)
}

/// A reader that has gone is a normal end: every command whose stdout or
/// stderr is a closed pipe ends quietly with exit 0, never with a panic;
/// with only stderr closed, the key still reaches stdout.
#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let home = Home::with_config(
        "[providers.helper]\nplugin = \"shell-helper\"\ncommand = \"echo helper-key\"\n",
    );
    assert_success(&home.run_with_stdin(
        &["login", "groq", "--method", "api-key"],
        "gsk_closed_pipe_key\n",
    ));
    let component = workspace_component("hostile-text");
    std::fs::copy(&component, home.plugins_dir().join("hostile.wasm")).unwrap();
    let component = component.to_str().unwrap();
    let stdout_commands: &[&[&str]] = &[
        &["paths"],
        &["paths", "--json"],
        &["list"],
        &["list", "--json"],
        &["status"],
        &["status", "--json"],
        &["plugins", "list"],
        &["plugins", "list", "--json"],
        &["plugins", "inspect", component],
        &["completions", "bash"],
        &["man"],
        &["token", "groq"],
        &["token", "groq", "--format", "json"],
        &["token", "helper"],
        &["--help"],
    ];
    for args in stdout_commands {
        let (code, err) = run_with_closed(&home, args, true, false);
        assert_eq!(code, Some(0), "{args:?} with stdout closed:\n{err}");
        assert!(!err.contains("panicked"), "{args:?}:\n{err}");
        assert!(!err.contains("Broken pipe"), "{args:?}:\n{err}");
    }
    // Messages on a closed stderr are dropped; the command does its work.
    let (code, key) = run_with_closed(&home, &["-vv", "token", "helper"], false, true);
    assert_eq!((code, key.as_str()), (Some(0), "helper-key\n"));
    let (code, key) = run_with_closed(&home, &["-v", "token", "groq"], false, true);
    assert_eq!((code, key.as_str()), (Some(0), "gsk_closed_pipe_key\n"));
    let stderr_commands: &[&[&str]] = &[
        &["login", "helper"],
        &["plugins", "grant", "hostile-aaaa", "prompt"],
        &["plugins", "revoke", "hostile-aaaa", "prompt"],
        &["logout", "groq"],
        &["logout", "groq"],
    ];
    for args in stderr_commands {
        let (code, out) = run_with_closed(&home, args, true, true);
        assert_eq!(code, Some(0), "{args:?} with both closed:\n{out}");
    }
    assert!(home.store_json().get("groq").is_none());
    // Through a real pipe into `head -c1`, as a person would.
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            "set -o pipefail; \"$0\" completions bash | head -c1 >/dev/null && \"$0\" paths | head -c1 >/dev/null",
            support::authhost_bin(),
        ])
        .env("AUTHHOST_HOME", home.path())
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stderr(&out), "");
}

/// Where a command's stdout goes in [`run_to_reader`].
#[derive(Clone, Copy, Debug)]
enum Reader {
    /// A pipe whose reading end was closed before authhost started.
    Closed,
    /// A pipe into `head -c1`, which reads one byte and exits.
    Head,
}

/// Runs `authhost ARGS` with `input` on stdin and its stdout going to
/// `reader`; returns authhost's own exit code and its stderr.
fn run_to_reader(home: &Home, args: &[&str], input: &str, reader: Reader) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut cmd = home.cmd();
    cmd.args(args).stdin(Stdio::piped()).stderr(Stdio::piped());
    let mut head = None;
    let mut child = match reader {
        Reader::Closed => {
            let (pipe_reader, pipe_writer) = std::io::pipe().unwrap();
            drop(pipe_reader);
            cmd.stdout(pipe_writer).spawn().unwrap()
        }
        Reader::Head => {
            let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
            // The pipe's reading end is handed to `head` and closed here
            // (the Command holding it is dropped at the end of the
            // statement), so that `head` is its only reader.
            head = Some(
                std::process::Command::new("head")
                    .arg("-c1")
                    .stdin(child.stdout.take().unwrap())
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
            child
        }
    };
    drop(cmd);
    // A command that does not read stdin may have ended already.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let code = child.wait().unwrap().code();
    if let Some(mut head) = head {
        assert!(head.wait().unwrap().success());
    }
    (code, err)
}

/// The shells `authhost completions` knows, as its usage error lists them.
fn completion_shells(home: &Home) -> Vec<String> {
    let out = home.run(&["completions", "no-such-shell"]);
    let text = stderr(&out);
    let listed = text
        .split_once("[possible values: ")
        .and_then(|(_, rest)| rest.split_once(']'))
        .unwrap_or_else(|| panic!("no shells listed:\n{text}"))
        .0;
    listed.split(", ").map(str::to_owned).collect()
}

/// Every command that prints, with its stdout a pipe nobody reads (closed
/// before authhost starts) and piped into `head -c1` (gone after the
/// first byte): authhost ends with exit 0 and writes nothing on stderr.
#[test]
fn every_printing_command_ends_quietly_when_its_reader_has_gone() {
    let home = Home::with_config(
        "[providers.helper]\nplugin = \"shell-helper\"\ncommand = \"echo helper-key\"\n\
         [providers.forge]\nplugin = \"api-key\"\ngit_hosts = [\"git.example.com\"]\n",
    );
    for (provider, key) in [("groq", "gsk_reader_gone_key\n"), ("forge", "forge-key\n")] {
        assert_success(&home.run_with_stdin(&["login", provider, "--method", "api-key"], key));
    }
    let component = workspace_component("hostile-text");
    std::fs::copy(&component, home.plugins_dir().join("hostile.wasm")).unwrap();
    let component = component.to_str().unwrap();
    let shells = completion_shells(&home);
    assert!(shells.len() >= 5, "{shells:?}");
    let git_request = "protocol=https\nhost=git.example.com\n\n";
    let mut commands: Vec<(Vec<&str>, &str)> = vec![
        (vec!["list"], ""),
        (vec!["list", "--json"], ""),
        (vec!["status"], ""),
        (vec!["status", "groq"], ""),
        (vec!["status", "--json"], ""),
        (vec!["token", "groq"], ""),
        (vec!["token", "groq", "--format", "json"], ""),
        (vec!["token", "groq", "--format", "kube"], ""),
        (vec!["token", "helper"], ""),
        (vec!["plugins", "list"], ""),
        (vec!["plugins", "list", "--json"], ""),
        (vec!["plugins", "inspect", component], ""),
        (vec!["plugins", "inspect", component, "--json"], ""),
        (vec!["paths"], ""),
        (vec!["paths", "--json"], ""),
        (vec!["man"], ""),
        (vec!["--help"], ""),
        (vec!["-h"], ""),
        (vec!["login", "--help"], ""),
        (vec!["plugins", "--help"], ""),
        (vec!["--version"], ""),
        // A child that prints (another authhost, which ends quietly too).
        (
            vec![
                "exec",
                "--env",
                "groq",
                "--",
                support::authhost_bin(),
                "paths",
            ],
            "",
        ),
        (vec!["git-credential", "get"], git_request),
    ];
    for shell in &shells {
        commands.push((vec!["completions", shell.as_str()], ""));
    }
    for (args, input) in &commands {
        for reader in [Reader::Closed, Reader::Head] {
            let (code, err) = run_to_reader(&home, args, input, reader);
            assert_eq!(code, Some(0), "{args:?} into {reader:?}:\n{err}");
            assert_eq!(err, "", "{args:?} into {reader:?}");
        }
    }
    // The commands above do print: each writes to an open stdout.
    for (args, input) in &commands {
        let out = home.run_with_stdin(args, input);
        assert_success(&out);
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
    }
    // `exec` reports its child's end as its own, as a shell would: a child
    // that a closed pipe ends (SIGPIPE) is 128 + 13, and authhost adds
    // nothing on stderr.
    let (code, err) = run_to_reader(
        &home,
        &["exec", "--env", "groq", "--", "sh", "-c", "echo printed"],
        "",
        Reader::Closed,
    );
    assert_eq!((code, err.as_str()), (Some(128 + 13), ""));
}

/// A key stored through the library (`Host::store_key`) is stored exactly
/// as `login --method api-key` stores a pasted one, and is the key
/// `authhost token` prints; once removed (`Host::remove_credential`), the
/// command says what is wrong, then on a line of its own what to do.
#[test]
fn a_key_stored_by_the_library_is_the_key_the_command_prints() {
    let home = Home::new();
    let pasted = Home::new();
    assert_success(&pasted.run_with_stdin(&["login", "groq", "--method", "api-key"], "gsk_same\n"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let host = authhost::Host::open(authhost::HostOptions::with_home(home.path())).unwrap();
    runtime
        .block_on(host.store_key("groq", secrecy::SecretString::from(" gsk_same\n")))
        .unwrap();
    assert_eq!(home.store_json(), pasted.store_json());
    let out = home.run(&["token", "groq"]);
    assert_success(&out);
    assert_eq!(stdout(&out).trim_end(), "gsk_same");

    assert!(runtime.block_on(host.remove_credential("groq")).unwrap());
    assert!(!home.store_json().to_string().contains("gsk_same"));
    let out = home.run(&["token", "groq"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: no credential for `groq`\nhint: run `authhost login groq`\n"
    );
}
