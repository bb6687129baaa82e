//! The first ten minutes of a new user: a fresh `AUTHHOST_HOME`, no config
//! file. Well-known providers work without configuration, typos are caught
//! with a suggestion, pasted keys are checked, and the CLI explains itself
//! (help, completions, a manual page, where its files are).

use crate::support;

use support::http::{Response, Server};
use support::pty::{Step, run_at_terminal};
use support::{Home, assert_fails_with, assert_success, stderr, stdout, testkit_home};

fn paste(home: &Home, provider: &str, key: &str) -> std::process::Output {
    home.run_with_stdin(&["login", provider, "--method", "api-key"], key)
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn a_new_user_logs_in_to_three_catalog_providers_and_meets_helpful_errors() {
    let home = Home::new();

    // Three well-known providers, no config file: paste a key each.
    assert_success(&paste(&home, "anthropic", "sk-ant-api03-first\n"));
    assert_success(&paste(&home, "openai", "  sk-proj-second  \n"));
    assert_success(&paste(&home, "gemini", "AIzaThird\n"));
    assert!(!home.path().join("config.toml").exists());

    let listed = json(&home.run(&["list", "--json"]));
    for (provider, plugin) in [
        ("anthropic", "api-key"),
        ("openai", "api-key"),
        ("gemini", "api-key"),
    ] {
        let entry = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["provider"] == provider)
            .unwrap_or_else(|| panic!("{provider} not listed: {listed}"));
        assert_eq!(entry["plugin"], plugin);
        assert_eq!(entry["credential"], "api");
        assert!(entry["error"].is_null(), "{entry}");
    }
    let text = stdout(&home.run(&["list"]));
    assert!(!text.contains("sk-ant"), "{text}");

    assert_eq!(
        stdout(&home.run(&["token", "anthropic"])),
        "sk-ant-api03-first\n"
    );
    // Surrounding whitespace was trimmed.
    assert_eq!(stdout(&home.run(&["token", "openai"])), "sk-proj-second\n");
    assert_eq!(stdout(&home.run(&["token", "gemini"])), "AIzaThird\n");

    let out = home.run(&["logout", "gemini"]);
    assert_success(&out);
    assert_eq!(home.run(&["token", "gemini"]).status.code(), Some(4));

    // Three typos, each with the name meant.
    let out = home.run(&["logout", "openroutr"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_fails_with(
        &out,
        "unknown provider `openroutr`; did you mean `openrouter`?",
    );
    let out = home.run(&["token", "anthropc"]);
    assert_fails_with(&out, "did you mean `anthropic`?");
    home.write_config("[providers.work]\nplugin = \"shell-helper\"\ncomand = \"echo key\"\n");
    let out = home.run(&["token", "work"]);
    assert_fails_with(&out, "[providers.work] has an unknown key `comand`");
    assert!(
        stderr(&out).contains("did you mean `command`?"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("config.toml"), "{}", stderr(&out));
    let listed = json(&home.run(&["list", "--json"]));
    let work = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "work")
        .unwrap();
    assert!(
        work["error"]
            .as_str()
            .unwrap()
            .contains("unknown key `comand`"),
        "{work}"
    );
}

#[test]
fn pasted_keys_are_checked_and_nothing_is_lost() {
    let home = Home::new();

    // No key at all: said in words, not "cancelled".
    let out = paste(&home, "anthropic", "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_fails_with(&out, "no API key was given for `anthropic`");

    for (bad, why) in [
        ("sk-ant-one CANARY\n", "contains a space"),
        ("sk-ant-\u{1b}[31mCANARY\n", "control character"),
    ] {
        let out = paste(&home, "anthropic", bad);
        assert_fails_with(&out, why);
        assert!(!stderr(&out).contains("CANARY"), "{}", stderr(&out));
    }
    assert_eq!(home.store_json(), serde_json::Value::Null);

    // A key that does not look like the vendor's: a warning, stored anyway.
    let out = paste(&home, "anthropic", "sk-or-v1-wrong-vendor\n");
    assert_success(&out);
    assert!(
        stderr(&out).contains("does not look like an API key from Anthropic"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("wrong-vendor"), "{}", stderr(&out));

    // Replacing a stored key says so.
    let out = paste(&home, "anthropic", "sk-ant-replacement\n");
    assert_success(&out);
    assert!(stderr(&out).contains("replaced"), "{}", stderr(&out));
    assert_eq!(
        stdout(&home.run(&["token", "anthropic"])),
        "sk-ant-replacement\n"
    );
}

/// At a terminal, replacing a stored key is asked first; the answer "no"
/// keeps it.
#[test]
fn replacing_a_key_at_a_terminal_is_confirmed() {
    let home = Home::new();
    assert_success(&paste(&home, "anthropic", "sk-ant-kept\n"));
    let steps = [Step::Expect("Replace it? [y/N] "), Step::Send("n\n")];
    let out = run_at_terminal(&home, &["login", "anthropic"], &steps, 60);
    // A deliberate "no" is not an interruption (130 is Ctrl-C's).
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("kept the stored api key of anthropic: nothing was changed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(stdout(&home.run(&["token", "anthropic"])), "sk-ant-kept\n");

    let steps = [
        Step::Expect("Replace it? [y/N] "),
        Step::Send("y\n"),
        Step::Expect("API key for Anthropic: "),
        Step::Send("sk-ant-new\n"),
        Step::Expect("replaced the stored credential"),
    ];
    let out = run_at_terminal(&home, &["login", "anthropic"], &steps, 60);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(stdout(&home.run(&["token", "anthropic"])), "sk-ant-new\n");
}

#[test]
fn a_catalog_key_is_checked_against_the_vendor_endpoint() {
    // A stand-in for Anthropic's models endpoint: the key goes in `x-api-key`
    // with an `anthropic-version` header, as the catalog says.
    let server = Server::start(|req| {
        let version = req.header("anthropic-version") == Some("2023-06-01");
        match (req.target.as_str(), req.header("x-api-key")) {
            ("/v1/models", Some("sk-ant-good")) if version => {
                Response::new(200, "application/json", r#"{"data":[]}"#)
            }
            _ => Response::new(401, "application/json", r#"{"error":"invalid x-api-key"}"#),
        }
    });
    let home = Home::with_config(&format!(
        "[providers.anthropic]\ncheck_url = \"{}/v1/models\"\n",
        server.url()
    ));
    assert_success(&paste(&home, "anthropic", "sk-ant-good\n"));
    let out = home.run(&["status", "anthropic", "--check"]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("accepted by the service"),
        "{}",
        stdout(&out)
    );

    assert_success(&home.run_with_stdin(
        &["login", "anthropic", "--method", "api-key", "--force"],
        "sk-ant-revoked\n",
    ));
    let out = home.run(&["status", "anthropic", "--check"]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("refused the stored key"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("sk-ant-revoked"));
}

#[test]
fn login_without_a_provider_offers_a_list_to_filter() {
    let home = Home::new();
    let steps = [
        Step::Expect("Provider (type to filter, or a number): "),
        Step::Send("anthro\n"),
        Step::Expect("API key for Anthropic: "),
        Step::Send("sk-ant-picked\n"),
        Step::Expect("Logged in to anthropic"),
    ];
    let out = run_at_terminal(&home, &["login"], &steps, 60);
    let screen = stdout(&out);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("openrouter") && screen.contains("Groq"),
        "{screen}"
    );
    assert!(
        !screen.contains("sk-ant-picked"),
        "the key was echoed:\n{screen}"
    );
    assert_eq!(home.store_json()["anthropic"]["key"], "sk-ant-picked");

    // Not at a terminal: a usage error that says what to type.
    let out = home.run(&["login"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("authhost login PROVIDER"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_cli_explains_itself() {
    let home = Home::new();
    let help = stdout(&home.run(&["--help"]));
    for needle in [
        "Examples:",
        "AUTHHOST_HOME",
        "AUTHHOST_LOG",
        "BROWSER",
        "NO_COLOR",
        "Exit codes:",
        "4    login needed",
    ] {
        assert!(
            help.contains(needle),
            "`{needle}` missing from --help:\n{help}"
        );
    }

    // `login --help` names each plugin's methods and the catalog.
    let login_help = stdout(&home.run(&["login", "--help"]));
    for needle in [
        "oauth2",
        "browser",
        "device",
        "openrouter",
        "oauth",
        "anthropic",
    ] {
        assert!(
            login_help.contains(needle),
            "`{needle}` missing:\n{login_help}"
        );
    }
    let plugins = stdout(&home.run(&["plugins", "list"]));
    assert!(
        plugins.contains("METHODS") && plugins.contains("command,api-key"),
        "{plugins}"
    );

    // bash, zsh and fish register authhost itself as the completer
    // (tests/completion.rs); PowerShell gets the commands written out.
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = home.run(&["completions", shell]);
        assert_success(&out);
        assert!(stdout(&out).contains("authhost"), "{shell}");
        let needle = if shell == "powershell" {
            "login"
        } else {
            "AUTHHOST_COMPLETE"
        };
        assert!(stdout(&out).contains(needle), "{shell}");
    }
    let man = home.run(&["man"]);
    assert_success(&man);
    assert!(stdout(&man).contains(".TH authhost"), "{}", stdout(&man));

    let paths = json(&home.run(&["paths", "--json"]));
    let home_dir = home.path().display().to_string();
    for key in ["config", "store", "plugins", "cache"] {
        assert!(
            paths[key].as_str().unwrap().starts_with(&home_dir),
            "{paths}"
        );
    }

    // `plugins list` creates the plugins folder, so the user sees where to
    // put one.
    let fresh = Home::new();
    assert!(!fresh.path().join("plugins").exists());
    assert_success(&fresh.run(&["plugins", "list"]));
    assert!(fresh.path().join("plugins").is_dir());
}

#[test]
fn verbose_logs_are_authhosts_own_and_uncoloured_off_a_terminal() {
    let home = Home::with_config(
        "[providers.helper]\nplugin = \"shell-helper\"\ncommand = \"echo sk-from-helper\"\n",
    );
    let out = home.run(&["-v", "token", "helper"]);
    assert_success(&out);
    let log = stderr(&out);
    assert!(log.contains("key from the provider's plugin"), "{log}");
    assert!(
        !log.contains("cranelift") && !log.contains("wasmtime"),
        "{log}"
    );
    assert!(!log.contains('\u{1b}'), "colour off a terminal:\n{log}");
    assert!(!log.contains("sk-from-helper"), "{log}");
    let lines = log.lines().count();
    assert!(lines < 40, "-v printed {lines} lines:\n{log}");
}

#[test]
fn grants_can_be_given_as_requested_and_taken_back() {
    let home = testkit_home("[providers.kit]\nplugin = \"testkit\"\nkey = \"k\"\n");
    let out = home.run(&["plugins", "grant", "testkit", "--all-requested"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("testkit requests:"),
        "{}",
        stderr(&out)
    );
    let plugins = json(&home.run(&["plugins", "list", "--json"]));
    let kit = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "testkit")
        .unwrap();
    assert!(kit["missing"].as_array().unwrap().is_empty(), "{kit}");
    assert!(
        kit["granted"]
            .as_array()
            .unwrap()
            .contains(&"prompt".into()),
        "{kit}"
    );

    let out = home.run(&["plugins", "revoke", "testkit", "prompt"]);
    assert_success(&out);
    let plugins = json(&home.run(&["plugins", "list", "--json"]));
    let kit = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "testkit")
        .unwrap();
    assert_eq!(kit["missing"], serde_json::json!(["prompt"]), "{kit}");
}
