//! What a new user meets after the first steps: `list` shows providers
//! (not plugins), a typo in a provider's name gets the did-you-mean
//! everywhere, a broken entry of `auth.json` is named and replaced alone,
//! `token` reports a typo in the configuration, and the smaller things
//! (a relative `AUTHHOST_HOME`, help texts, a plugins path that is a file,
//! the login message).

use crate::support;

use support::{Home, assert_fails_with, assert_success, stderr, stdout};

fn paste(home: &Home, provider: &str, key: &str) -> std::process::Output {
    home.run_with_stdin(&["login", provider, "--method", "api-key"], key)
}

/// The first column of `list`'s table, without its header.
fn listed(home: &Home, args: &[&str]) -> Vec<String> {
    let out = home.run(args);
    assert_success(&out);
    stdout(&out)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn list_shows_providers_and_the_catalog_only_with_all() {
    let home = Home::new();
    // A fresh install: the plugin that is itself a provider, no generic one.
    assert_eq!(listed(&home, &["list"]), ["openrouter"]);
    let all = listed(&home, &["list", "--all"]);
    for name in ["anthropic", "groq", "openai", "openrouter"] {
        assert!(all.contains(&name.to_owned()), "{name} missing: {all:?}");
    }
    for generic in ["api-key", "oauth2", "shell-helper"] {
        assert!(!all.contains(&generic.to_owned()), "{generic}: {all:?}");
    }
    let out = home.run(&["list", "--all"]);
    assert!(stdout(&out).contains("not logged in"), "{}", stdout(&out));

    // Configured and stored providers are in use.
    home.write_config("[providers.work]\nplugin = \"shell-helper\"\ncommand = \"echo k\"\n");
    assert_success(&paste(&home, "groq", "gsk_listed\n"));
    assert_eq!(listed(&home, &["list"]), ["groq", "openrouter", "work"]);
    let out = home.run(&["list", "--json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["groq", "openrouter", "work"]);
    assert!(!stdout(&out).contains("gsk_listed"));
}

#[test]
fn a_generic_plugin_is_not_a_provider_to_log_in_to() {
    let home = Home::new();
    for args in [
        &["login", "api-key", "--method", "api-key"][..],
        &["login", "shell-helper"][..],
        &["token", "oauth2"][..],
        &["status", "api-key"][..],
    ] {
        let out = home.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("is a plugin, not a provider"), "{err}");
        assert!(err.contains("[providers.NAME]"), "{err}");
    }
    assert_eq!(home.store_json(), serde_json::Value::Null);

    // Configured under a name of the user's, it is a provider.
    home.write_config("[providers.mine]\nplugin = \"api-key\"\n");
    assert_success(&paste(&home, "mine", "sk-mine\n"));
    assert_eq!(stdout(&home.run(&["token", "mine"])), "sk-mine\n");
}

#[test]
fn an_unknown_provider_gets_the_did_you_mean_wherever_it_is_named() {
    let home = Home::new();
    for args in [
        &["exec", "--env", "antrhopic", "--", "true"][..],
        &["exec", "--env", "MY_KEY=antrhopic", "--", "true"][..],
        &["token", "antrhopic"][..],
        &["login", "antrhopic", "--method", "api-key"][..],
        &["logout", "antrhopic"][..],
        &["status", "antrhopic"][..],
    ] {
        let out = home.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("unknown provider `antrhopic`; did you mean `anthropic`?"),
            "{args:?}: {err}"
        );
        // The typo is never what to configure.
        assert!(!err.contains("[providers.antrhopic]"), "{args:?}: {err}");
    }
    assert_eq!(home.store_json(), serde_json::Value::Null);
}

#[test]
fn a_broken_entry_is_named_and_replaced_alone() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let broken = r#"{"openai":{"type":"api"},"groq":{"type":"api","key":"gsk_kept","note":"x"}}"#;
    let write = || {
        std::fs::write(home.store_path(), broken).unwrap();
        std::fs::set_permissions(home.store_path(), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    };
    write();

    // The whole message (field names are not secret), and what to do.
    let out = home.run(&["token", "openai"]);
    assert_fails_with(&out, "missing field `key`");
    assert_fails_with(
        &out,
        "`authhost login openai --force` replaces just this entry",
    );
    assert!(!stderr(&out).contains("gsk_kept"), "{}", stderr(&out));
    // The others keep working.
    assert_eq!(stdout(&home.run(&["token", "groq"])), "gsk_kept\n");
    let out = home.run(&["list"]);
    assert!(
        stdout(&out).contains("missing field `key`"),
        "{}",
        stdout(&out)
    );

    // A new login replaces that entry, and only it.
    assert_success(&home.run_with_stdin(
        &["login", "openai", "--method", "api-key", "--force"],
        "sk-openai-new\n",
    ));
    let store = home.store_json();
    assert_eq!(store["openai"]["key"], "sk-openai-new");
    assert_eq!(
        store["groq"],
        serde_json::json!({"type":"api","key":"gsk_kept","note":"x"})
    );

    // So does a logout, which removes it.
    write();
    let out = home.run(&["logout", "openai"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("Removed the credentials of openai"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        home.store_json(),
        serde_json::json!({"groq":{"type":"api","key":"gsk_kept","note":"x"}})
    );
}

#[test]
fn token_reports_a_typo_in_the_providers_table() {
    let home = Home::with_config("[providers.openrouter]\nbase_urll = \"https://openrouter.ai\"\n");
    let out = home.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("unknown key `base_urll`; did you mean `base_url`?"),
        "{err}"
    );
    assert!(!err.contains("no credential"), "{err}");
    assert!(err.contains("config.toml"), "{err}");
}

#[test]
fn a_relative_home_is_made_absolute() {
    let home = Home::new();
    let out = home
        .cmd()
        .current_dir(home.path())
        .env("AUTHHOST_HOME", "rel")
        .args(["paths", "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    let paths: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let store = paths["store"].as_str().unwrap();
    assert_eq!(
        std::path::Path::new(store),
        home.path().join("rel/auth.json"),
        "{paths}"
    );
}

#[test]
fn help_says_what_plugins_and_logout_do() {
    let home = Home::new();
    let help = stdout(&home.run(&["--help"]));
    for needle in [
        "install",
        "grant",
        "remove",
        "revoke the login at the service",
    ] {
        assert!(help.contains(needle), "`{needle}` missing:\n{help}");
    }
    let plugins = stdout(&home.run(&["plugins", "--help"]));
    assert!(plugins.contains("install"), "{plugins}");
    let logout = stdout(&home.run(&["logout", "--help"]));
    assert!(logout.contains("revoke"), "{logout}");
}

#[test]
fn a_plugins_path_that_is_a_file_is_not_a_directory() {
    let home = Home::new();
    std::fs::write(home.path().join("plugins"), "").unwrap();
    let out = home.run(&["plugins", "list"]);
    assert_fails_with(&out, "is not a directory");
    assert!(!stderr(&out).contains("File exists"), "{}", stderr(&out));
}

#[test]
fn the_login_message_says_each_thing_once() {
    let home = Home::new();
    let out = paste(&home, "groq", "gsk_once\n");
    assert_success(&out);
    let err = stderr(&out);
    let expected = format!(
        "Logged in to groq (api key; stored in {})\n",
        home.store_path().display()
    );
    assert!(err.ends_with(&expected), "{err}");
    let out = home.run_with_stdin(
        &["login", "groq", "--method", "api-key", "--force"],
        "gsk_twice\n",
    );
    assert!(
        stderr(&out).contains("; replaced the stored credential)"),
        "{}",
        stderr(&out)
    );
}
