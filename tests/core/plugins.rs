//! Plugins as the registry sees them: the built-ins listed, folder
//! plugins beside broken files, `plugins inspect` and `plugins grant`.

use super::*;

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
fn inspect_takes_the_id_of_a_plugin_already_there() {
    let home = testkit_home("");
    let out = home.run(&["plugins", "inspect", "oauth2"]);
    assert_success(&out);
    let text = stdout(&out);
    for line in [
        "source:      built-in",
        "wit:         authhost:provider@0.3.0",
        "methods:     browser (oauth), device (device), api-key (api-key)",
        "would load:  yes",
    ] {
        assert!(text.contains(line), "{line:?} is not in: {text}");
    }
    assert!(!text.contains("size:"), "{text}");
    // A folder plugin by its id: its file is the source.
    let report = json(&home.run(&["plugins", "inspect", "testkit", "--json"]));
    assert_eq!(report["id"], "testkit");
    assert_eq!(report["would_load"], true);
    assert!(
        report["source"].as_str().unwrap().ends_with("testkit.wasm"),
        "{report}"
    );
    // A typo is named, with the plugins there are.
    let out = home.run(&["plugins", "inspect", "oauth3"]);
    assert_eq!(out.status.code(), Some(1));
    let error = stderr(&out);
    assert!(
        error.contains("no file `oauth3` and no plugin of that id; did you mean `oauth2`?")
            && error.contains("testkit"),
        "{error}"
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
