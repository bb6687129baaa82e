//! Logins that must fail and store nothing: tampered or replayed
//! redirects, the IdP's errors, an unreachable issuer, unknown options and
//! a discovered endpoint out of reach.

use super::*;

/// A login whose redirect the test holds: the redirect the IdP answered
/// the authorization URL with, not yet delivered.
struct Held {
    login: Running,
    redirect: String,
}

impl Held {
    fn start(corp: &Corp) -> Held {
        let login = Running::start(corp.login_command(&recording_browser(), &[]));
        let auth_url = wait_for_file(&corp.url_file());
        let redirect = Agent::new(&corp.idp).authorize(&auth_url);
        Held { login, redirect }
    }

    /// Sends `redirect` to the listener as the browser would: its answer.
    fn deliver(&self, redirect: &str) -> HttpResponse {
        idp::get(redirect, &[])
    }
}

/// Delivers the held redirect changed by `tamper`; asserts that the
/// browser and the terminal get `expected`, no code reaches the token
/// endpoint and nothing is stored.
fn assert_tampered_redirect_fails(tamper: impl Fn(&str) -> String, expected: &str) {
    let corp = Corp::auto();
    let held = Held::start(&corp);
    let answer = held.deliver(&tamper(&held.redirect));
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains(expected), "{}", answer.text());
    let out = held.login.finish(LOGIN_WITHIN);
    assert_fails_with(&out, expected);
    assert_eq!(corp.idp.count("grant.success", None), 0);
    assert_eq!(corp.idp.count("grant.error", None), 0);
    corp.assert_nothing_stored();
}

#[test]
fn a_wrong_state_is_refused() {
    assert_tampered_redirect_fails(
        |redirect| with_param(redirect, "state", "forged-state-0123456789"),
        "`state` is not this login",
    );
}

#[test]
fn a_wrong_iss_is_refused() {
    assert_tampered_redirect_fails(
        |redirect| with_param(redirect, "iss", "https://evil.example"),
        "names the issuer `https://evil.example`",
    );
}

#[test]
fn a_replayed_code_is_refused_by_the_idp() {
    let corp = Corp::auto();
    // The first login completes with its code.
    let first = Held::start(&corp);
    let answer = first.deliver(&first.redirect);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_success(&first.login.finish(LOGIN_WITHIN));
    let code = param(&first.redirect, "code");

    // A second login, in another home, is sent that code with its own
    // state, as an attacker replaying it would.
    let other =
        Home::with_config(&std::fs::read_to_string(corp.home.path().join("config.toml")).unwrap());
    let login = Running::start(login_command(&other, &recording_browser(), &[]));
    let auth_url = wait_for_file(&other.path().join("url.txt"));
    let redirect_uri = param(&auth_url, "redirect_uri");
    let replay = format!(
        "{redirect_uri}?code={code}&state={}&iss={}",
        param(&auth_url, "state"),
        idp::form_encode(corp.idp.issuer())
    );
    let answer = idp::get(&replay, &[]);
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains("invalid_grant"), "{}", answer.text());
    let out = login.finish(LOGIN_WITHIN);
    assert_fails_with(&out, "answered 400 `invalid_grant`");
    assert_nothing_stored(&other);
    assert_eq!(corp.grants("authorization_code", 1), 1);
    assert!(
        corp.idp
            .wait_for_count("grant.error", Some("authorization_code"), 1)
            >= 1
    );
}

#[test]
fn an_error_from_the_idp_is_shown_and_nothing_is_stored() {
    // prompt=none without a session: the IdP redirects with an error.
    let corp = Corp::start(
        IdpOptions::default(),
        "extra_params = { prompt = \"none\" }",
    );
    let out = corp.login(&curl_browser(), &[]);
    assert_fails_with(&out, "the IdP answered `login_required`");
    assert!(stderr(&out).contains("End-User authentication is required"));
    let page = corp.page();
    assert!(
        page.contains("corp login failed") && page.contains("login_required"),
        "{page}"
    );
    corp.assert_nothing_stored();
}

#[test]
fn an_idp_error_page_leaves_the_login_waiting_until_ctrl_c() {
    // An unknown client: the IdP shows its own error page and never
    // redirects back.
    let idp = Idp::start(IdpOptions::default());
    let home = Home::with_config(&config(&format!(
        "issuer = \"{}\"\nclient_id = \"nobody\"",
        idp.issuer()
    )));
    let mut login = Running::start(login_command(&home, &curl_browser(), &[]));
    let page = wait_for_file(&home.path().join("page.html"));
    assert!(page.contains("invalid_client"), "{page}");
    assert!(login.is_running());
    login.interrupt();
    let out = login.finish(LOGIN_WITHIN);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_nothing_stored(&home);

    // The device flow gets the same refusal as JSON, in words.
    let out = Running::start(login_command(
        &home,
        &recording_browser(),
        &["--method", "device"],
    ))
    .finish(LOGIN_WITHIN);
    assert_fails_with(
        &out,
        "the device authorization endpoint answered 401 `invalid_client` (client authentication failed)",
    );
    assert_nothing_stored(&home);
}

#[test]
fn an_unreachable_issuer_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = Home::with_config(&config(&format!(
        "issuer = \"http://127.0.0.1:{port}\"\nclient_id = \"authhost-cli\""
    )));
    let started = Instant::now();
    let out = Running::start(login_command(&home, &recording_browser(), &[])).finish(LOGIN_WITHIN);
    assert_fails_with(
        &out,
        &format!("cannot read the discovery document of http://127.0.0.1:{port}"),
    );
    assert!(
        stderr(&out).contains("connection refused"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!home.path().join("url.txt").exists());
    assert_nothing_stored(&home);
}

#[test]
fn unknown_options_are_named() {
    let home = Home::with_config(&config(
        "issuer = \"https://login.example.com\"\nclient_id = \"c\"\nisuer = \"x\"",
    ));
    let out = home.run(&["login", "corp"]);
    assert_fails_with(
        &out,
        "[providers.corp] has an unknown key `isuer`; did you mean `issuer`?",
    );
    assert!(stderr(&out).contains("config.toml"), "{}", stderr(&out));
}

/// Serves one discovery document on 127.0.0.1 whose token endpoint is on
/// another origin; returns its issuer.
fn discovery_with_token_endpoint_at(token_endpoint: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let document = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": token_endpoint,
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut head);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{document}",
                document.len()
            );
        }
    });
    issuer
}

#[test]
fn a_discovered_endpoint_on_another_origin_needs_its_option() {
    let issuer = discovery_with_token_endpoint_at("http://127.0.0.1:9/token");
    let home = Home::with_config(&config(&format!(
        "issuer = \"{issuer}\"\nclient_id = \"authhost-cli\""
    )));
    let out = Running::start(login_command(&home, &recording_browser(), &[])).finish(LOGIN_WITHIN);
    assert_fails_with(
        &out,
        "the discovery document's token endpoint is on http://127.0.0.1:9, which this provider \
         may not reach: set `token_url` in [providers.corp]",
    );
    assert!(
        !home.path().join("url.txt").exists(),
        "the browser was opened"
    );
    assert_nothing_stored(&home);
}
