//! The OS keyring store against a real Secret Service (GNOME Keyring on a
//! private D-Bus session bus, see `support::secret_service`): secrets go to
//! the keyring and only what is not secret stays in auth.json; `store
//! migrate` moves credentials both ways, and an interrupted migration loses
//! none; a locked or absent keyring is an error that names the fix.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use support::secret_service::SecretService;
use support::{Home, assert_fails_with, assert_success, output_with_stdin, stderr, stdout};

const KEYRING_CONFIG: &str = "[store]\nbackend = \"keyring\"\n";

fn cmd(home: &Home, service: &SecretService, args: &[&str]) -> Command {
    let mut cmd = home.cmd();
    service.apply(&mut cmd);
    cmd.args(args);
    cmd
}

fn run(home: &Home, service: &SecretService, args: &[&str]) -> Output {
    cmd(home, service, args).output().unwrap()
}

fn paste(home: &Home, service: &SecretService, provider: &str, key: &str) -> Output {
    output_with_stdin(
        &mut cmd(home, service, &["login", provider, "--method", "api-key"]),
        key,
    )
}

fn token(home: &Home, service: &SecretService, provider: &str) -> String {
    let out = run(home, service, &["token", provider]);
    assert_success(&out);
    stdout(&out).trim_end().to_owned()
}

fn auth_json(home: &Home) -> String {
    std::fs::read_to_string(home.store_path()).unwrap_or_default()
}

/// An OAuth entry and an API key entry as a file store holds them, and an
/// entry of a future version that authhost must keep as it is.
fn file_store(home: &Home, api_keys: usize) {
    let mut entries = serde_json::Map::new();
    for i in 0..api_keys {
        entries.insert(
            format!("p{i:02}"),
            serde_json::json!({"type": "api", "key": format!("sk-key-{i:02}")}),
        );
    }
    entries.insert(
        "work".into(),
        serde_json::json!({
            "type": "oauth", "access": "at-work", "refresh": "rt-work",
            "expires": 4_102_444_800_000u64, "accountId": "acct-7",
            "plugin": "work", "plugin_sha256": "9f86d081884c7d65"
        }),
    );
    entries.insert(
        "future".into(),
        serde_json::json!({"type": "passkey", "blob": [1, 2]}),
    );
    std::fs::write(
        home.store_path(),
        serde_json::to_string_pretty(&entries).unwrap(),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.store_path(), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
}

#[test]
fn keyring_store_keeps_secrets_out_of_auth_json() {
    let service = SecretService::unlocked();
    let home = Home::with_config(KEYRING_CONFIG);
    let out = paste(&home, &service, "anthropic", "sk-ant-api03-in-keyring\n");
    assert_success(&out);
    assert!(
        stderr(&out).contains("stored in the OS keyring"),
        "{}",
        stderr(&out)
    );

    // auth.json: the kind and a reference; the key is in the keyring, as
    // another Secret Service client (libsecret's secret-tool) sees it.
    let text = auth_json(&home);
    assert!(!text.contains("sk-ant-api03-in-keyring"), "{text}");
    let entry = &home.store_json()["anthropic"];
    assert_eq!(entry["type"], "api");
    // The plugin the credential is for stays beside the reference.
    assert_eq!(entry["plugin"], "api-key");
    let account = entry["keyring"]["account"].as_str().unwrap().to_owned();
    assert!(account.starts_with("anthropic/"), "{account}");
    let items = service.authhost_items();
    assert_eq!(
        items,
        [(
            account.clone(),
            r#"{"key":"sk-ant-api03-in-keyring"}"#.to_owned()
        )]
    );

    assert_eq!(
        token(&home, &service, "anthropic"),
        "sk-ant-api03-in-keyring"
    );
    let list = run(&home, &service, &["list"]);
    assert_success(&list);
    assert!(
        stdout(&list).contains("api key (keyring)"),
        "{}",
        stdout(&list)
    );
    let status = run(&home, &service, &["status", "anthropic"]);
    assert!(
        stdout(&status).contains("api key, stored in the OS keyring"),
        "{}",
        stdout(&status)
    );
    let json = run(&home, &service, &["status", "anthropic", "--json"]);
    assert!(!stdout(&json).contains("sk-ant"), "{}", stdout(&json));
    assert!(
        stdout(&json).contains("\"stored_in\": \"keyring\""),
        "{}",
        stdout(&json)
    );
    let paths = run(&home, &service, &["paths"]);
    assert!(
        stdout(&paths).contains("backend  keyring"),
        "{}",
        stdout(&paths)
    );

    // A new key replaces the item: the old one is deleted after auth.json
    // refers to the new one.
    let out = paste(&home, &service, "anthropic", "sk-ant-api03-second\n");
    assert_success(&out);
    assert_eq!(token(&home, &service, "anthropic"), "sk-ant-api03-second");
    let items = service.authhost_items();
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(items[0].1.contains("sk-ant-api03-second"));

    // Logging out deletes the item too.
    assert_success(&run(&home, &service, &["logout", "anthropic"]));
    assert!(service.authhost_items().is_empty());
    assert!(home.store_json().get("anthropic").is_none());
}

#[test]
fn migrate_moves_every_credential_to_the_keyring_and_back() {
    let service = SecretService::unlocked();
    let home = Home::with_config("# my settings\n[limits]\nmemory_mib = 64\n");
    file_store(&home, 2);

    let out = run(&home, &service, &["store", "migrate", "--to", "keyring"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("Moved 3 credential(s) to the OS keyring"),
        "{}",
        stderr(&out)
    );
    let text = auth_json(&home);
    for secret in ["sk-key-00", "sk-key-01", "at-work", "rt-work"] {
        assert!(
            !text.contains(secret),
            "{secret} still in auth.json: {text}"
        );
    }
    let store = home.store_json();
    assert_eq!(store["work"]["accountId"], "acct-7");
    assert_eq!(store["work"]["expires"], 4_102_444_800_000u64);
    assert_eq!(store["work"]["plugin"], "work");
    assert_eq!(store["work"]["plugin_sha256"], "9f86d081884c7d65");
    assert_eq!(store["future"]["blob"][1], 2, "an unknown entry is kept");
    assert_eq!(service.authhost_items().len(), 3);
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(config.starts_with("# my settings\n"), "{config}");
    assert!(config.contains("backend = \"keyring\""), "{config}");

    assert_eq!(token(&home, &service, "p00"), "sk-key-00");
    assert_eq!(token(&home, &service, "work"), "at-work");
    let status = run(&home, &service, &["status", "work"]);
    assert!(stdout(&status).contains("acct-7"), "{}", stdout(&status));

    // Again: nothing left to move.
    let out = run(&home, &service, &["store", "migrate", "--to", "keyring"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("Moved 0 credential(s)"),
        "{}",
        stderr(&out)
    );

    // And back to the file.
    let out = run(&home, &service, &["store", "migrate", "--to", "file"]);
    assert_success(&out);
    let store = home.store_json();
    assert_eq!(store["p01"]["key"], "sk-key-01");
    assert_eq!(store["work"]["refresh"], "rt-work");
    assert_eq!(store["work"]["plugin"], "work");
    assert_eq!(store["work"]["plugin_sha256"], "9f86d081884c7d65");
    assert!(store["work"].get("keyring").is_none());
    assert!(service.authhost_items().is_empty());
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(config.contains("backend = \"file\""), "{config}");
    assert_eq!(token(&home, &service, "work"), "at-work");
}

#[test]
fn an_interrupted_migration_loses_nothing_and_a_rerun_completes_it() {
    let service = SecretService::unlocked();
    let home = Home::new();
    file_store(&home, 40);

    // Killed (SIGKILL: no clean-up) right after it reports its first move.
    let mut child = cmd(&home, &service, &["store", "migrate", "--to", "keyring"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    child.kill().unwrap();
    assert!(first.starts_with("Moved "), "{first}");
    child.wait().unwrap();

    let store = home.store_json();
    let moved = store
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e.get("keyring").is_some())
        .count();
    assert!(
        (1..41).contains(&moved),
        "the migration was not interrupted midway ({moved} of 41 moved)"
    );
    // Every credential reads, from wherever it is now.
    for i in 0..40 {
        let provider = format!("p{i:02}");
        assert_eq!(token(&home, &service, &provider), format!("sk-key-{i:02}"));
    }

    // The keyring fails (locked): nothing more is moved, nothing is lost.
    let mut service = service;
    service.lock();
    let out = run(&home, &service, &["store", "migrate", "--to", "keyring"]);
    assert_fails_with(&out, "locked");
    assert_eq!(home.store_json(), store, "a failed run changed auth.json");

    // Unlocked again (the same keyring files), a rerun completes it.
    service.unlock();
    let out = run(&home, &service, &["store", "migrate", "--to", "keyring"]);
    assert_success(&out);
    let text = auth_json(&home);
    assert!(!text.contains("sk-key-"), "{text}");
    assert!(!text.contains("at-work"), "{text}");
    for i in 0..40 {
        let provider = format!("p{i:02}");
        assert_eq!(token(&home, &service, &provider), format!("sk-key-{i:02}"));
    }
    assert_eq!(token(&home, &service, "work"), "at-work");
    // One item per credential: a rerun does not leave copies behind (the
    // item of the credential being moved when the process was killed may
    // remain, referred to by nothing).
    let items = service.authhost_items().len();
    assert!((41..=42).contains(&items), "{items} items");
}

#[test]
fn a_locked_keyring_is_an_error_that_names_the_fix() {
    let mut service = SecretService::unlocked();
    let home = Home::with_config(KEYRING_CONFIG);
    assert_success(&paste(
        &home,
        &service,
        "anthropic",
        "sk-ant-api03-locked\n",
    ));
    service.lock();

    let out = run(&home, &service, &["token", "anthropic"]);
    assert_fails_with(&out, "the keyring is locked");
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(text.contains("gnome-keyring-daemon --unlock"), "{text}");
    assert!(text.contains("backend = \"file\""), "{text}");
    assert!(!stdout(&out).contains("sk-ant"), "{}", stdout(&out));

    // A login cannot store its key: auth.json is left as it was.
    let before = auth_json(&home);
    let out = paste(&home, &service, "openai", "sk-proj-locked\n");
    assert_fails_with(&out, "locked");
    assert_eq!(auth_json(&home), before);
    // Listing reads no secret: it still works.
    assert_success(&run(&home, &service, &["list"]));
}

#[test]
fn an_absent_keyring_is_an_error_that_names_the_fix() {
    // A session bus without a Secret Service.
    let service = SecretService::absent();
    let home = Home::with_config(KEYRING_CONFIG);
    let out = paste(&home, &service, "anthropic", "sk-ant-api03-absent\n");
    assert_fails_with(&out, "no Secret Service is running");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("gnome-keyring-daemon --start"),
        "{}",
        stderr(&out)
    );
    assert!(!home.store_path().exists() || !auth_json(&home).contains("sk-ant"));

    // No session bus at all.
    let mut no_bus = home.cmd();
    no_bus
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", service.scratch("empty-run"))
        .args(["login", "anthropic", "--method", "api-key"]);
    let out = output_with_stdin(&mut no_bus, "sk-ant-api03-absent\n");
    assert_fails_with(&out, "no D-Bus session bus");
    assert!(
        stderr(&out).contains("AUTHHOST_STORE=file"),
        "{}",
        stderr(&out)
    );

    // AUTHHOST_STORE=file overrides config.toml: the key goes to the file.
    let mut file = cmd(
        &home,
        &service,
        &["login", "anthropic", "--method", "api-key"],
    );
    file.env("AUTHHOST_STORE", "file");
    let out = output_with_stdin(&mut file, "sk-ant-api03-file\n");
    assert_success(&out);
    assert_eq!(home.store_json()["anthropic"]["key"], "sk-ant-api03-file");
    let mut bad = cmd(&home, &service, &["list"]);
    bad.env("AUTHHOST_STORE", "vault");
    assert_fails_with(&bad.output().unwrap(), "AUTHHOST_STORE");
}
