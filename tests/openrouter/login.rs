//! Browser logins that store a key: the key, the success page and what
//! went over the wire, a busy callback port, headless Chromium, `status
//! --check` and unknown options.

use super::*;

#[test]
fn login_stores_the_key_and_the_browser_gets_the_success_page() {
    let login = Login::new(Mode::Approve);
    let out = login.run(&script("curl-browser.sh"));
    assert_success(&out);
    let keys = login.fake.keys();
    assert_eq!(keys.len(), 1);
    assert!(
        stderr(&out).contains("Logged in to openrouter"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(&keys[0]), "the key was printed");
    assert!(
        login.page().contains("Logged in to OpenRouter"),
        "{}",
        login.page()
    );

    assert_eq!(
        stdout(&login.home.run(&["token", "openrouter"])),
        format!("{}\n", keys[0])
    );
    assert_eq!(
        login.home.store_json(),
        serde_json::json!({"openrouter": {"type": "api", "key": keys[0], "plugin": "openrouter"}})
    );
    assert_eq!(login.home.store_mode(), 0o600);

    // The fake accepted every request the plugin and the browser made.
    for seen in login.fake.seen() {
        assert!(
            seen.status < 400,
            "{} {} -> {}",
            seen.request.method,
            seen.request.target,
            seen.status
        );
    }
    let exchange = &login.fake.exchanges()[0];
    assert_eq!(exchange.header("x-title"), Some("authhost"));
    assert!(exchange.header("http-referer").is_some());
    // The JSON body went out with its length, not chunked (the fake answers
    // 411 to that).
    let length = exchange.body.len().to_string();
    assert_eq!(exchange.header("content-length"), Some(length.as_str()));
    assert_eq!(exchange.header("transfer-encoding"), None);
    // Neither the code nor the verifier shows up on the terminal.
    let body: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    for secret in ["code", "code_verifier"] {
        let value = body[secret].as_str().unwrap();
        assert!(
            !stderr(&out).contains(value),
            "{secret} printed: {}",
            stderr(&out)
        );
    }
    // The callback path carries a nonce of at least 128 bits.
    let auth_url = stderr(&out)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{}/auth?", login.fake.url()))
                .map(str::to_owned)
        })
        .expect("auth URL printed");
    let callback = url::form_urlencoded::parse(auth_url.as_bytes())
        .find(|(k, _)| k == "callback_url")
        .unwrap()
        .1
        .into_owned();
    let prefix = format!("http://127.0.0.1:{}/callback/", login.port);
    let nonce = callback.strip_prefix(&prefix).expect(&callback);
    assert!(
        nonce.len() >= 22
            && nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{nonce}"
    );
}

#[test]
fn a_busy_callback_port_falls_back_to_a_free_one() {
    let login = Login::new(Mode::Approve);
    let _occupied = std::net::TcpListener::bind(("127.0.0.1", login.port)).unwrap();
    let out = login.run(&script("curl-browser.sh"));
    assert_success(&out);
    assert!(
        stderr(&out).contains(&format!("Port {} is in use; listening on port", login.port)),
        "{}",
        stderr(&out)
    );
    assert_eq!(login.fake.keys().len(), 1);
}

/// `status --check` asks OpenRouter's key endpoint about the stored key.
#[test]
fn status_check_asks_openrouter_about_the_key() {
    let login = Login::new(Mode::Approve);
    assert_success(&login.run(&script("curl-browser.sh")));
    let key = login.fake.keys()[0].clone();
    let out = login
        .home
        .run(&["status", "openrouter", "--check", "--json"]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = &report[0]["check"];
    assert_eq!(check["ok"], true, "{report}");
    assert_eq!(
        check["account"]["account"],
        format!("{}...{}", &key[..12], &key[key.len() - 3..])
    );
    let details = check["account"]["details"].to_string();
    assert!(
        details.contains("$1.25") && details.contains("$10.00 (monthly)"),
        "{details}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&key));

    // A key OpenRouter does not know: the check fails in words.
    std::fs::write(
        login.home.store_path(),
        r#"{"openrouter": {"type": "api", "key": "sk-or-v1-deleted"}}"#,
    )
    .unwrap();
    let out = login.home.run(&["status", "openrouter", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("does not accept the stored key"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unknown_options_are_named() {
    let login = Login::with_options(Mode::Approve, "callback = 3");
    let out = login.run(&script("curl-browser.sh"));
    assert_fails_with(&out, "[providers.openrouter] has an unknown key `callback`");
    assert!(stderr(&out).contains("`callback_port`"), "{}", stderr(&out));
}

#[test]
fn headless_chromium_completes_the_login() {
    assert!(
        std::process::Command::new("chromium")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "Chromium is required for this test: run tests/run.sh, which installs it"
    );
    let login = Login::new(Mode::Approve);
    let out = login.run(&script("headless-chromium.sh"));
    assert_success(&out);
    assert_eq!(login.fake.keys().len(), 1);
    let page = login.page();
    assert!(
        page.contains("Logged in to OpenRouter") && page.contains("You can close this tab"),
        "{page}"
    );
    let key = &login.fake.keys()[0];
    assert_eq!(
        stdout(&login.home.run(&["token", "openrouter"])),
        format!("{key}\n")
    );
}
