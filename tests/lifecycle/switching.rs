//! What a stored login is handed to: refreshes answering the wrong kind of
//! credential, expiries past year 9999, and a provider switched to another
//! plugin or another build of its folder plugin.

use super::*;

/// The latest expiry authhost keeps or prints: 9999-12-31T23:59:59Z.
const LATEST_EXPIRY_MS: u64 = 253_402_300_799_000;

/// `text` parsed as an RFC 3339 timestamp, in ms since the epoch (panics
/// when it is not one).
fn parse_rfc3339(text: &str) -> u64 {
    let time = humantime::parse_rfc3339(text)
        .unwrap_or_else(|e| panic!("`{text}` is not an RFC 3339 timestamp: {e}"));
    time.duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn a_refresh_answering_with_an_api_key_is_an_error_and_keeps_the_login() {
    let (service, server) = TokenService::start(1);
    let home = refresher_home(&server);
    login(&home);
    expire_soon(&home);
    let before = home.store_json();
    service.ttl_s.store(3600, Ordering::SeqCst);
    *service.answer_extra.lock().unwrap() = r#","api_key":"sk-never-expires""#.into();
    let out = home.run(&["token", "p"]);
    assert_eq!(exit_code(&out), Some(1), "{}", stderr(&out));
    assert_fails_with(&out, "provider `p`, plugin `refresher`");
    assert_fails_with(&out, "an API key from `refresh`");
    assert!(!stdout(&out).contains("sk-never"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("sk-never"), "{}", stderr(&out));
    assert_eq!(service.refreshes(), 1);
    assert_eq!(home.store_json(), before, "the stored login was changed");
    assert_eq!(home.store_json()["p"]["type"], "oauth");
}

#[test]
fn an_expiry_past_year_9999_is_stored_and_printed_as_valid_rfc3339() {
    let (service, server) = TokenService::start(3600);
    *service.answer_extra.lock().unwrap() = format!(r#","expires_at":{}"#, u64::MAX);
    let home = refresher_home(&server);
    login(&home);
    assert_eq!(home.store_json()["p"]["expires"], LATEST_EXPIRY_MS);

    let out = home.run(&["token", "p", "--format", "json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = json["expires_at"].as_str().unwrap();
    assert_eq!(at, "9999-12-31T23:59:59Z");
    assert_eq!(parse_rfc3339(at), LATEST_EXPIRY_MS);

    let out = home.run(&["token", "p", "--format", "kube"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = json["status"]["expirationTimestamp"].as_str().unwrap();
    assert_eq!(parse_rfc3339(at), LATEST_EXPIRY_MS);

    let status: serde_json::Value =
        serde_json::from_slice(&home.run(&["status", "p", "--json"]).stdout).unwrap();
    assert_eq!(status[0]["expires"], LATEST_EXPIRY_MS);
    let p = crate::support::listed(&home, "p");
    assert_eq!(p["expires"], LATEST_EXPIRY_MS);

    // A refresh answering the same is clamped too, and so is an entry
    // another tool wrote with it.
    let out = home.run(&["token", "p", "--refresh", "--format", "json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["token"], "a-2");
    assert_eq!(
        parse_rfc3339(json["expires_at"].as_str().unwrap()),
        LATEST_EXPIRY_MS
    );
    assert_eq!(home.store_json()["p"]["expires"], LATEST_EXPIRY_MS);
    let mut store = home.store_json();
    store["p"]["expires"] = u64::MAX.into();
    std::fs::write(home.store_path(), store.to_string()).unwrap();
    let out = home.run(&["token", "p", "--format", "json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        parse_rfc3339(json["expires_at"].as_str().unwrap()),
        LATEST_EXPIRY_MS
    );
}

/// The refresher component patched to report the id `id` (nine
/// characters, like `refresher`): another plugin with the same code.
fn refresher_reporting(id: &str) -> Vec<u8> {
    let (from, to) = (b"plugin-id:refresher", format!("plugin-id:{id}"));
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(workspace_component("refresher")).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the id marker");
    bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
    bytes
}

#[test]
fn a_login_is_not_handed_to_the_plugin_a_provider_was_switched_to() {
    let (service, server) = TokenService::start(3600);
    let home = refresher_home(&server);
    login(&home);
    assert_eq!(home.store_json()["p"]["plugin"], "refresher");
    assert!(
        home.store_json()["p"]["plugin_sha256"]
            .as_str()
            .is_some_and(|s| s.len() == 64),
        "{}",
        home.store_json()
    );
    // Another plugin, granted the same origin: it would present the
    // refresh token to the service if it were handed the login.
    std::fs::write(
        home.plugins_dir().join("other.wasm"),
        refresher_reporting("refresh-b"),
    )
    .unwrap();
    home.write_config(&format!(
        "[providers.p]\nplugin = \"refresh-b\"\nbase_url = \"{url}\"\n\n[plugins.refresher]\ngrant = [\"http:{url}\"]\n\n[plugins.refresh-b]\ngrant = [\"http:{url}\"]\n",
        url = server.url()
    ));
    let before = home.store_json();
    let connections = server.connections();

    // Valid: not printed. About to expire: not refreshed.
    for expires in [None, Some(now_ms() + 30_000)] {
        if let Some(expires) = expires {
            set_expiry(&home, expires);
        }
        for args in [&["token", "p"][..], &["token", "p", "--refresh"]] {
            let out = home.run(args);
            assert_eq!(exit_code(&out), Some(4), "{args:?}: {}", stderr(&out));
            assert_fails_with(&out, "was made by plugin `refresher`");
            assert_fails_with(&out, "`refresh-b`");
            assert_fails_with(&out, "run `authhost login p` to log in again");
            assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        }
    }

    // `status` and `list` say so.
    let out = home.run(&["status", "p", "--check"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("made by plugin `refresher`"), "{text}");
    assert!(text.contains("authhost login p"), "{text}");
    assert!(!text.contains("renewed automatically"), "{text}");
    let status: serde_json::Value =
        serde_json::from_slice(&home.run(&["status", "p", "--json"]).stdout).unwrap();
    assert_eq!(status[0]["needs_login"], true);
    assert_eq!(status[0]["refreshable"], false);
    assert!(
        status[0]["made_by_another"]
            .as_str()
            .is_some_and(|why| why.contains("`refresher`") && why.contains("`refresh-b`")),
        "{status}"
    );
    let p = crate::support::listed(&home, "p");
    assert_eq!(p["needs_login"], true, "{p}");
    assert!(
        stdout(&home.run(&["list"])).contains("of another plugin: log in again"),
        "{}",
        stdout(&home.run(&["list"]))
    );

    // `logout` removes it without handing it to the new plugin's `revoke`.
    let out = home.run(&["logout", "p"]);
    assert_success(&out);
    let text = stderr(&out);
    assert!(
        text.contains("did not revoke the login at the service"),
        "{text}"
    );
    assert!(text.contains("made by plugin `refresher`"), "{text}");
    assert!(!text.contains("Revoked"), "{text}");
    assert!(home.store_json().get("p").is_none());

    // The new plugin never saw the old login.
    assert_eq!(server.connections(), connections);
    assert_eq!(service.refreshes(), 0);
    assert_eq!(service.revocations.load(Ordering::SeqCst), 0);
    assert!(service.presented.lock().unwrap().is_empty());
    assert!(!service.revoked());
    assert_eq!(before["p"]["refresh"], "r-1");

    // A login with the new plugin records it, and the new plugin renews
    // its own login.
    login(&home);
    assert_eq!(home.store_json()["p"]["plugin"], "refresh-b");
    assert_eq!(token(&home), "a-1");
    let out = home.run(&["token", "p", "--refresh"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "a-2\n");
}

#[test]
fn a_login_is_not_handed_to_another_build_of_its_folder_plugin() {
    let (service, server) = TokenService::start(3600);
    let home = refresher_home(&server);
    login(&home);
    let made_by = home.store_json()["p"]["plugin_sha256"].clone();
    // Another build of `refresher`: the same id, another SHA-256.
    let file = home.plugins_dir().join("refresher.wasm");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(&[0x00, 3, 1, b'x', 1]);
    std::fs::write(&file, bytes).unwrap();
    let connections = server.connections();

    // What would run the plugin with the login is refused.
    let out = home.run(&["token", "p", "--refresh"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    assert_fails_with(&out, "another build");
    assert_fails_with(&out, "authhost login p");
    set_expiry(&home, now_ms() + 30_000);
    let out = home.run(&["token", "p"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    let out = home.run(&["status", "p", "--check", "--json"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status[0]["needs_login"], true);
    assert!(status[0]["check"].is_null(), "{status}");
    assert!(
        status[0]["made_by_another"]
            .as_str()
            .is_some_and(|why| why.contains("another build")),
        "{status}"
    );
    let out = home.run(&["logout", "p"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("did not revoke the login at the service"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.connections(), connections);
    assert!(service.presented.lock().unwrap().is_empty());

    // A login with the new build records it.
    login(&home);
    let store = home.store_json();
    assert_ne!(store["p"]["plugin_sha256"], made_by);
    let out = home.run(&["token", "p", "--refresh"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "a-2\n");
}

#[test]
fn an_entry_from_before_the_plugin_was_recorded_keeps_working_and_gains_the_record() {
    let (service, server) = TokenService::start(3600);
    let home = refresher_home(&server);
    login(&home);
    // As the released version wrote it: no `plugin`, no `plugin_sha256`.
    let mut store = home.store_json();
    let entry = store["p"].as_object_mut().unwrap();
    let sha256 = entry.remove("plugin_sha256").unwrap();
    entry.remove("plugin").unwrap();
    std::fs::write(home.store_path(), store.to_string()).unwrap();
    assert_eq!(token(&home), "a-1");
    assert!(home.store_json()["p"].get("plugin").is_none());

    set_expiry(&home, now_ms() + 30_000);
    assert_eq!(token(&home), "a-2");
    assert_eq!(service.refreshes(), 1);
    let store = home.store_json();
    assert_eq!(store["p"]["plugin"], "refresher");
    assert_eq!(store["p"]["plugin_sha256"], sha256);
    assert_eq!(store["p"]["refresh"], "r-2");
    assert_eq!(store["p"]["account"], "alice@example.com");
}
