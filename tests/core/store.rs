//! The credential store: a pasted key stored and printed exactly, nothing
//! stored for an empty one, twenty processes losing no update, a corrupt
//! file left alone, and a key stored through the library.

use super::*;

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
    assert_eq!(home.store_mode(), 0o600);

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
