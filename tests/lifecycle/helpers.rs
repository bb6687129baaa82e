//! Helper providers in a crowd: one run for many processes, expired keys
//! leaving the cache, tokens derived from a stored login, and components of
//! WIT 0.1.0 and 0.2.0 side by side.

use super::*;

#[test]
fn twenty_processes_asking_a_cold_helper_run_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let home = counting_helper(&log, "sk-shared", "0.3", "");
    let children: Vec<Child> = (0..20).map(|_| spawn_token(&home)).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_success(&out);
        assert_eq!(stdout(&out), "sk-shared\n");
    }
    assert_eq!(runs(&log), 1, "the helper ran more than once");
}

#[test]
fn expired_helper_keys_are_deleted_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let home = counting_helper(&log, "sk-short-lived", "0", "ttl_ms = 300");
    assert_eq!(token(&home), "sk-short-lived");
    let cache = home.path().join("cache").join("credentials.json");
    assert!(
        std::fs::read_to_string(&cache)
            .unwrap()
            .contains("sk-short-lived")
    );
    std::thread::sleep(Duration::from_millis(400));
    // The next call finds the entry stale: it is gone from disk before the
    // helper runs again (here it fails).
    home.write_config(
        "[providers.p]\nplugin = \"shell-helper\"\ncommand = \"exit 3\"\nttl_ms = 300\n",
    );
    let out = home.run(&["token", "p"]);
    assert!(!out.status.success());
    assert!(
        !std::fs::read_to_string(&cache)
            .unwrap()
            .contains("sk-short-lived"),
        "an expired key stayed in the cache file"
    );
}

#[test]
fn a_plugin_derives_tokens_from_the_stored_login() {
    let home = testkit_home(
        "[providers.kit]\nplugin = \"testkit\"\nmode = \"derive\"\nkey = \"long-lived\"\nttl_ms = 60000\n",
    );
    assert_success(&home.run(&["login", "kit"]));
    let store = home.store_json();
    assert_eq!(store["kit"]["key"], "long-lived");
    assert_eq!(store["kit"]["resolve"], true);
    assert_eq!(store["kit"]["login"], "kit-user");
    let out = home.run(&["token", "kit"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "derived:long-lived\n");
    let out = home.run(&["status", "kit"]);
    assert!(stdout(&out).contains("derived"), "{}", stdout(&out));
}

#[test]
fn components_of_wit_0_1_and_0_2_work_side_by_side() {
    let home = testkit_home(&format!(
        "[providers.old]\nplugin = \"legacy-kit\"\nkey = \"old-key\"\naccess = \"old-access\"\nexpires = {}\n\n[providers.new]\nplugin = \"testkit\"\nkey = \"new-key\"\n",
        now_ms() + 3_600_000
    ));
    std::fs::copy(
        workspace_component("legacy-kit"),
        home.plugins_dir().join("legacy.wasm"),
    )
    .unwrap();
    let plugins: serde_json::Value =
        serde_json::from_slice(&home.run(&["plugins", "list", "--json"]).stdout).unwrap();
    let version = |id: &str| {
        plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["wit_version"].clone())
    };
    assert_eq!(version("legacy-kit"), Some("0.1.0".into()));
    assert_eq!(version("testkit"), Some("0.2.0".into()));
    assert_eq!(version("openrouter"), Some("0.2.0".into()));
    // Reading its configuration while describing itself gets `{}`, not a
    // trap.
    let legacy = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "legacy-kit")
        .unwrap();
    assert!(legacy["error"].is_null(), "{legacy}");
    assert!(
        legacy["metadata"]["description"]
            .as_str()
            .unwrap()
            .contains("config at describe: {}"),
        "{legacy}"
    );
    let listed = stdout(&home.run(&["plugins", "list"]));
    assert!(
        listed.contains("0.1.0") && listed.contains("0.2.0"),
        "{listed}"
    );

    let out = home.run(&["token", "old"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "old-key\n");
    assert_eq!(stdout(&home.run(&["token", "new"])), "new-key\n");

    // A 0.1.0 login is stored and used as it is (not handed to `resolve`,
    // which 0.1.0 cannot receive).
    assert_success(&home.run(&["login", "old"]));
    assert_eq!(home.store_json()["old"]["resolve"], serde_json::Value::Null);
    assert_eq!(stdout(&home.run(&["token", "old"])), "old-access\n");
}
