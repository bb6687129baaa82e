//! The key exchange: a strict fake, and refusals, service errors and
//! hostile answers that end the login, store nothing and print no secret.

use super::*;

/// The fake is as strict as the services it stands for: a key request
/// whose body comes chunked, without a length, gets 411, so the logins
/// above prove that the plugin sends the length.
#[test]
fn the_fake_refuses_a_key_request_without_a_content_length() {
    let fake = FakeOpenRouter::start(Mode::Approve);
    let port: u16 = fake.url().rsplit_once(':').unwrap().1.parse().unwrap();
    let body = r#"{"code":"c","code_verifier":"v","code_challenge_method":"S256"}"#;
    let head =
        "POST /api/v1/auth/keys HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n";
    let chunked = format!(
        "{head}transfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let within = Duration::from_secs(10);
    assert_eq!(
        raw::send(port, chunked.as_bytes(), within, "chunked"),
        raw::Answer::Status(411)
    );
    // With its length the same request passes that check (and is refused
    // for its unknown code).
    let exact = format!("{head}content-length: {}\r\n\r\n{body}", body.len());
    assert_eq!(
        raw::send(port, exact.as_bytes(), within, "with a length"),
        raw::Answer::Status(403)
    );
}

#[test]
fn a_denied_login_stores_nothing() {
    let login = Login::new(Mode::Deny);
    let out = login.run(&script("curl-browser.sh"));
    assert_fails_with(&out, "denied: access_denied");
    assert!(login.page().contains("denied"), "{}", login.page());
    login.assert_nothing_stored();
}

#[test]
fn a_wrong_verifier_is_refused_by_the_service() {
    let login = Login::new(Mode::WrongChallenge);
    let out = login.run(&script("curl-browser.sh"));
    assert_fails_with(&out, "refused the code or the verifier (403");
    assert!(login.page().contains("login failed"), "{}", login.page());
    login.assert_nothing_stored();
}

#[test]
fn service_errors_and_malformed_answers_store_nothing() {
    for (mode, expected) in [
        (Mode::ServerError, "answered 502: upstream unavailable"),
        (Mode::Malformed, "without a `key`"),
    ] {
        let login = Login::new(mode);
        let out = login.run(&script("curl-browser.sh"));
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains(expected),
            "{mode:?}: {}",
            stderr(&out)
        );
        login.assert_nothing_stored();
    }
}

/// Asserts that neither stdout nor stderr of `out` shows a code or a
/// verifier the fake received, nor any key (whole or in part).
#[track_caller]
fn assert_no_secret_printed(login: &Login, out: &std::process::Output) {
    let printed = format!("{}{}", stdout(out), stderr(out));
    let exchanges = login.fake.exchanges();
    assert!(!exchanges.is_empty(), "the code was never exchanged");
    for exchange in exchanges {
        let body: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
        for field in ["code", "code_verifier"] {
            let secret = body[field].as_str().unwrap();
            assert!(!printed.contains(secret), "{field} printed:\n{printed}");
        }
    }
    assert!(
        !printed.contains("sk-or-v1-"),
        "a key was printed:\n{printed}"
    );
}

/// Runs a login whose key exchange the fake answers in `mode` (with `extra`
/// configuration); asserts that it fails within `within` saying `expected`,
/// stores nothing and prints no secret. Returns the page the browser got.
#[track_caller]
fn assert_exchange_fails(mode: Mode, extra: &str, expected: &str, within: Duration) -> String {
    let login = Login::with_options(mode, extra);
    let started = std::time::Instant::now();
    let out = login.run(&script("curl-browser.sh"));
    let took = started.elapsed();
    assert_fails_with(&out, expected);
    assert!(took < within, "{mode:?}: the login took {took:?}");
    login.assert_nothing_stored();
    assert_no_secret_printed(&login, &out);
    let page = login.page();
    assert!(!page.contains("sk-or-v1-"), "{mode:?}: {page}");
    page
}

#[test]
fn hostile_key_exchange_answers_end_the_login_with_a_clear_error() {
    let quickly = Duration::from_secs(15);
    for (mode, expected) in [
        (
            Mode::HtmlPage,
            "with an HTML page (is a proxy in the way?), without a `key` in a JSON object",
        ),
        (Mode::Truncated, "failed while reading the answer"),
        (Mode::Huge, "with a body over 64 KiB"),
        (Mode::HugeUntilClose, "with a body over 64 KiB"),
    ] {
        let page = assert_exchange_fails(mode, "", expected, quickly);
        assert!(page.contains("login failed"), "{mode:?}: {page}");
    }
}

#[test]
fn a_key_exchange_answer_that_never_ends_is_stopped_by_the_login_timeout() {
    // The plugin gives the whole exchange 60 s; the host's login timeout
    // stops it sooner.
    assert_exchange_fails(
        Mode::SlowBody,
        "[limits]\nlogin_timeout_ms = 5000",
        "did not answer within 5000 ms (limit `login_timeout_ms`)",
        Duration::from_secs(20),
    );
}

/// The plugin reads the key from a 200's body whatever its content type:
/// what counts is a JSON object with a non-empty `key`.
#[test]
fn a_json_key_labelled_text_html_is_accepted() {
    let login = Login::new(Mode::JsonAsHtml);
    let out = login.run(&script("curl-browser.sh"));
    assert_success(&out);
    let keys = login.fake.keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        stdout(&login.home.run(&["token", "openrouter"])),
        format!("{}\n", keys[0])
    );
    assert_no_secret_printed(&login, &out);
}
