//! Helper providers in a crowd: one run for many processes, expired keys
//! leaving the cache, tokens derived from a stored login, and components of
//! WIT 0.1.0, 0.2.0 and 0.3.0 side by side.

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
fn components_of_wit_0_1_0_2_and_0_3_work_side_by_side() {
    let expires = now_ms() + 3_600_000;
    let home = testkit_home(&format!(
        "[providers.old]\nplugin = \"legacy-kit\"\nkey = \"old-key\"\naccess = \"old-access\"\nexpires = {expires}\n\n\
         [providers.mid]\nplugin = \"kit-0-2\"\naccess = \"mid-access\"\nexpires = {expires}\n\n\
         [providers.new]\nplugin = \"testkit\"\nkey = \"new-key\"\n",
    ));
    for (package, file) in [("legacy-kit", "legacy.wasm"), ("kit-0-2", "mid.wasm")] {
        std::fs::copy(workspace_component(package), home.plugins_dir().join(file)).unwrap();
    }
    let plugins: serde_json::Value =
        serde_json::from_slice(&home.run(&["plugins", "list", "--json"]).stdout).unwrap();
    let plugin = |id: &str| {
        plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is not listed: {plugins}"))
    };
    let version = |id: &str| plugin(id)["wit_version"].clone();
    assert_eq!(version("legacy-kit"), "0.1.0");
    assert_eq!(version("kit-0-2"), "0.2.0");
    assert_eq!(version("testkit"), "0.3.0");
    assert_eq!(version("openrouter"), "0.3.0");
    // The kinds each version can say: `device` is 0.3.0's.
    let kinds = |id: &str| -> Vec<String> {
        plugin(id)["metadata"]["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                format!(
                    "{}={}",
                    m["id"].as_str().unwrap(),
                    m["kind"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(kinds("kit-0-2"), ["tokens=oauth", "api-key=api-key"]);
    assert_eq!(
        kinds("oauth2"),
        ["browser=oauth", "device=device", "api-key=api-key"]
    );
    // Reading its configuration while describing itself gets `{}`, not a
    // trap.
    let legacy = plugin("legacy-kit");
    assert!(legacy["error"].is_null(), "{legacy}");
    assert!(
        legacy["metadata"]["description"]
            .as_str()
            .unwrap()
            .contains("config at describe: {}"),
        "{legacy}"
    );
    let listed = stdout(&home.run(&["plugins", "list"]));
    for v in ["0.1.0", "0.2.0", "0.3.0"] {
        assert!(listed.contains(v), "{v} is not listed: {listed}");
    }

    let out = home.run(&["token", "old"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "old-key\n");
    assert_eq!(stdout(&home.run(&["token", "new"])), "new-key\n");

    // A 0.1.0 login is stored and used as it is (not handed to `resolve`,
    // which 0.1.0 cannot receive).
    assert_success(&home.run(&["login", "old"]));
    assert_eq!(home.store_json()["old"]["resolve"], serde_json::Value::Null);
    assert_eq!(stdout(&home.run(&["token", "old"])), "old-access\n");

    // A 0.2.0 login is refreshed through its `refresh` when it expires,
    // keeping the refresh token and the facts the answer left out, and
    // checked through its `check`.
    assert_success(&home.run(&["login", "mid"]));
    assert_eq!(stdout(&home.run(&["token", "mid"])), "mid-access\n");
    let mut store = home.store_json();
    store["mid"]["expires"] = (now_ms() + 5_000).into();
    store["mid"]["issued"] = (now_ms() - 3_600_000).into();
    std::fs::write(home.store_path(), store.to_string()).unwrap();
    let out = home.run(&["token", "mid"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "mid-access-renewed\n");
    let store = home.store_json();
    assert_eq!(store["mid"]["refresh"], "r-0-2");
    assert_eq!(store["mid"]["account"], "kit@0.2");
    let out = home.run(&["status", "mid", "--check", "--json"]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report[0]["check"]["account"]["account"], "kit@0.2",
        "{report}"
    );
    assert_eq!(report[0]["wit_version"], "0.2.0", "{report}");
}
