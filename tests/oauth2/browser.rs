//! Logins through a browser: headless Chromium on the IdP's own pages,
//! curl with PKCE, `state` and a loopback redirect, and the redirect URL
//! pasted when no browser opens.

use super::*;

#[test]
fn headless_chromium_logs_in_through_the_idp_pages() {
    let corp = Corp::start(
        IdpOptions {
            interactions: Interactions::Forms,
            ..IdpOptions::default()
        },
        "",
    );
    let out = corp.login(&chromium_browser(), &[]);
    assert_success(&out);
    let page = corp.page();
    assert!(
        page.contains("Logged in to corp") && page.contains("You can close this tab"),
        "{page}"
    );
    assert_eq!(corp.grants("authorization_code", 1), 1);

    let stored = corp.stored();
    assert_eq!(stored["type"], "oauth", "{stored}");
    assert_eq!(stored["sub"], "carol", "{stored}");
    assert_eq!(stored["issuer"], corp.idp.issuer());
    assert!(stored["refresh"].is_string() && stored["expires"].is_u64());
    let access = stored["access"].as_str().unwrap();
    for secret in [access, stored["refresh"].as_str().unwrap()] {
        assert!(!stderr(&out).contains(secret), "{}", stderr(&out));
    }
    let token = corp.home.run(&["token", "corp"]);
    assert_success(&token);
    assert_eq!(stdout(&token), format!("{access}\n"));

    let status = corp.home.run(&["status", "corp", "--check"]);
    assert_success(&status);
    let text = stdout(&status);
    assert!(
        text.contains("carol@example.com") && text.contains("the userinfo endpoint"),
        "{text}"
    );

    let logout = corp.home.run(&["logout", "corp"]);
    assert_success(&logout);
    assert!(
        stderr(&logout).contains("Revoked the login of corp"),
        "{}",
        stderr(&logout)
    );
    assert_eq!(corp.idp.wait_for_count("grant.revoked", None, 1), 1);
    corp.assert_nothing_stored();
}

#[test]
fn curl_logs_in_with_pkce_state_and_a_loopback_redirect() {
    let corp = Corp::auto();
    let out = corp.login(&curl_browser(), &[]);
    assert_success(&out);
    assert!(corp.page().contains("Logged in to corp"), "{}", corp.page());
    let err = stderr(&out);
    let auth_url = err
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{}/auth?", corp.idp.issuer())))
        .unwrap_or_else(|| panic!("no authorization URL printed:\n{err}"));
    assert_eq!(param(auth_url, "code_challenge_method"), "S256");
    assert_eq!(param(auth_url, "code_challenge").len(), 43);
    assert!(param(auth_url, "state").len() >= 22);
    assert_eq!(param(auth_url, "client_id"), "authhost-cli");
    let redirect = param(auth_url, "redirect_uri");
    let port = redirect
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/callback"))
        .unwrap_or_else(|| panic!("redirect URI {redirect}"));
    assert!(port.parse::<u16>().is_ok(), "{redirect}");
    assert!(err.contains("Logged in to corp"), "{err}");

    let stored = corp.stored();
    assert_eq!(stored["token_url"], corp.idp.url("/token"));
    assert_eq!(stored["revocation_url"], corp.idp.url("/token/revocation"));
    let token = corp.home.run(&["token", "corp"]);
    assert_eq!(
        stdout(&token),
        format!("{}\n", stored["access"].as_str().unwrap())
    );
    let json = corp.home.run(&["status", "corp", "--check", "--json"]);
    assert_success(&json);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        report[0]["check"]["account"]["account"], "alice@example.com",
        "{report}"
    );
    assert!(!stdout(&json).contains(stored["access"].as_str().unwrap()));
}

#[test]
fn pasting_the_redirect_url_logs_in_without_a_browser() {
    let corp = Corp::auto();
    let mut login =
        Running::start_with_stdin(corp.login_command(&recording_browser(), &["--no-browser"]));
    let prefix = format!("{}/auth?", corp.idp.issuer());
    let auth_url = login.line(|l| l.trim().starts_with(&prefix).then(|| l.trim().to_owned()));
    let redirect = Agent::new(&corp.idp).authorize(&auth_url);
    // A line that is not the redirect, the redirect of another login, then
    // the real one.
    login.paste("not the url");
    login.paste(&with_param(&redirect, "state", "another-login"));
    login.paste(&redirect);
    let out = login.finish(LOGIN_WITHIN);
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("paste the redirect URL"), "{err}");
    assert!(err.contains("not the redirect URL"), "{err}");
    assert!(err.contains("the redirect of another login"), "{err}");
    assert!(!corp.url_file().exists(), "the browser was opened");
    assert_eq!(corp.grants("authorization_code", 1), 1);
    assert!(corp.stored()["access"].is_string());
}
