//! A host configured in code (`Host::builder`): no files at all, providers,
//! grants and plugins given in code, `config.toml` as one source among
//! others, and a silent interaction by default.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authhost::{Event, Host, ProviderSettings, StoreBackend, TokenOptions};

use crate::support;

/// The test kit component's bytes (`tests/fixtures/testkit`).
fn testkit() -> Vec<u8> {
    std::fs::read(support::workspace_component("testkit")).unwrap()
}

/// A test kit provider that runs `argv` and returns its output.
fn runs(argv: &[&str]) -> ProviderSettings {
    ProviderSettings::new()
        .plugin("testkit")
        .option("mode", "run")
        .option("argv", argv.to_vec())
}

#[tokio::test]
async fn a_host_without_files_keeps_keys_in_its_memory() {
    let host = Host::builder().build().unwrap();
    assert!(host.paths().is_none());
    assert_eq!(host.store_backend(), StoreBackend::Memory);

    host.store_key("openai", "sk-in-memory".into())
        .await
        .unwrap();
    let token = host.token("openai", TokenOptions::default()).await.unwrap();
    assert_eq!(token.expose_secret(), "sk-in-memory");
    let status = host.status("openai").await.unwrap();
    assert!(!format!("{status:?}").contains("sk-in-memory"));

    // Another host without files shares nothing with this one.
    let other = Host::builder().build().unwrap();
    let error = other
        .token("openai", TokenOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "no-credential");

    assert!(host.remove_credential("openai").await.unwrap());
    let error = host
        .token("openai", TokenOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "no-credential");

    // What would change files says there are none.
    let error = host.create_plugins_dir().unwrap_err();
    assert_eq!(error.code(), "no-files");
    assert!(error.to_string().contains("plugins folder"), "{error}");
    let error = host
        .migrate_store(StoreBackend::File, |_| {})
        .await
        .unwrap_err();
    assert_eq!(error.code(), "no-files");
}

#[tokio::test]
async fn a_login_that_needs_the_user_fails_at_once_with_the_default_interaction() {
    let host = Host::builder().build().unwrap();
    let login = host.login("openai", authhost::LoginOptions::default());
    let error = tokio::time::timeout(Duration::from_secs(20), login)
        .await
        .expect("a silent host never waits for a terminal")
        .unwrap_err();
    assert_eq!(error.code(), "no-key-given", "{error}");
}

#[tokio::test]
async fn providers_grants_and_plugins_given_in_code_run_a_sandboxed_helper() {
    let runs_counted = Arc::new(AtomicUsize::new(0));
    let counter = runs_counted.clone();
    let build = |grant: bool| {
        let counter = counter.clone();
        let mut builder = Host::builder()
            .plugin(testkit())
            .provider(
                "kit",
                runs(&["printf", "sk-from-helper"]).option("ttl_ms", 60_000),
            )
            .on_event(move |event| {
                if let Event::PluginRun {
                    provider: "kit", ..
                } = event
                {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
        if grant {
            builder = builder.grant("testkit", ["process:printf"]);
        }
        Arc::new(builder.build().unwrap())
    };

    // Without the grant, the plugin's process request is denied.
    let error = build(false)
        .token("kit", TokenOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "capability-denied", "{error}");

    runs_counted.store(0, Ordering::SeqCst);
    let host = build(true);
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move { host.token("kit", TokenOptions::default()).await })
        })
        .collect();
    for call in calls {
        let token = call.await.unwrap().unwrap();
        assert_eq!(token.expose_secret(), "sk-from-helper");
    }
    assert_eq!(
        runs_counted.load(Ordering::SeqCst),
        1,
        "one helper run serves every concurrent caller"
    );
    let plugins = host.plugins().await.unwrap();
    let kit = plugins.iter().find(|p| p.id == "testkit").unwrap();
    assert!(kit.source.contains("embedded #1"), "{}", kit.source);
}

#[tokio::test]
async fn two_embedded_plugins_with_one_id_are_both_refused() {
    let host = Host::builder()
        .plugin(testkit())
        .plugin(testkit())
        .provider("kit", ProviderSettings::new().plugin("testkit"))
        .build()
        .unwrap();
    let error = host
        .token("kit", TokenOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unknown-plugin", "{error}");
    let plugins = host.plugins().await.unwrap();
    let failures: Vec<_> = plugins.iter().filter_map(|p| p.error.as_deref()).collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].contains("embedded #1 and embedded #2"),
        "{failures:?}"
    );
}

#[tokio::test]
async fn configuration_in_code_is_laid_over_the_file() {
    let home = support::testkit_home(
        r#"
        [providers.kit]
        plugin = "testkit"
        key = "from-file"

        [providers.other]
        plugin = "testkit"
        key = "other-from-file"
        "#,
    );
    let open = || Host::builder().home(home.path());
    let token = |host: Host, name: &'static str| async move {
        let token = host.token(name, TokenOptions::default()).await.unwrap();
        token.expose_secret().to_owned()
    };

    assert_eq!(token(open().build().unwrap(), "kit").await, "from-file");
    // A text merges key by key; the file's other providers stay.
    let host = open()
        .config_toml("[providers.kit]\nkey = \"from-text\"")
        .build()
        .unwrap();
    assert_eq!(host.store_backend(), StoreBackend::File);
    assert_eq!(token(host, "kit").await, "from-text");
    // A provider set in code replaces its table.
    let host = open()
        .provider(
            "kit",
            ProviderSettings::new()
                .plugin("testkit")
                .option("key", "from-code"),
        )
        .build()
        .unwrap();
    assert_eq!(token(host, "kit").await, "from-code");
    let host = open().without_config_file().build().unwrap();
    let error = host
        .token("other", TokenOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unknown-provider", "{error}");
    assert_eq!(
        token(open().build().unwrap(), "other").await,
        "other-from-file"
    );
}

#[test]
fn bad_configuration_in_code_is_an_error_that_says_where_it_came_from() {
    let error = Host::builder()
        .config_toml("[limits]\nmemory_mb = 3\n")
        .build()
        .err()
        .unwrap();
    assert_eq!(error.code(), "config-invalid");
    let message = error.to_string();
    assert!(message.contains("configuration given in code"), "{message}");
    assert!(message.contains("memory_mb"), "{message}");

    let error = Host::builder()
        .grant("testkit", ["proces:printf"])
        .build()
        .err()
        .unwrap();
    assert_eq!(error.code(), "config-invalid", "{error}");

    let error = Host::builder()
        .provider("Bad Name", ProviderSettings::new())
        .build()
        .err()
        .unwrap();
    assert_eq!(error.code(), "config-invalid", "{error}");

    // A store on disk needs files.
    let error = Host::builder()
        .store(StoreBackend::File)
        .build()
        .err()
        .unwrap();
    assert_eq!(error.code(), "no-files", "{error}");
}

#[test]
fn an_error_in_the_file_names_the_file() {
    let home = support::Home::with_config("[providers.kit]\nplugin = 3\n");
    let error = Host::builder()
        .home(home.path())
        .config_toml("[limits]\nmemory_mib = 32\n")
        .build()
        .err()
        .unwrap();
    let message = error.to_string();
    assert!(message.contains("config.toml"), "{message}");
    assert!(message.contains("plugin must be a string"), "{message}");
}

#[tokio::test]
async fn a_login_run_is_an_event_too() {
    let exports = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = exports.clone();
    let host = Host::builder()
        .plugin(testkit())
        .provider(
            "kit",
            ProviderSettings::new()
                .plugin("testkit")
                .option("key", "sk-logged-in"),
        )
        .on_event(move |event| {
            if let Event::PluginRun {
                provider: "kit",
                plugin,
                export,
                ok,
                ..
            } = event
            {
                seen.lock().unwrap().push(format!("{plugin} {export} {ok}"));
            }
        })
        .build()
        .unwrap();
    host.login("kit", authhost::LoginOptions::default())
        .await
        .unwrap();
    let token = host.token("kit", TokenOptions::default()).await.unwrap();
    assert_eq!(token.expose_secret(), "sk-logged-in");
    // The kit resolves its keys: `token` runs `resolve` after the login.
    assert_eq!(
        *exports.lock().unwrap(),
        ["testkit login true", "testkit resolve true"]
    );
}
