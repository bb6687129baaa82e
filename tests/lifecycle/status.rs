//! What `status`, `logout` and the exit codes say of a login kept alive
//! by the token service.

use super::*;

#[test]
fn status_reads_local_state_and_checks_on_request() {
    let (service, server) = TokenService::start(3600);
    let home = refresher_home(&server);
    let out = home.run(&["status", "p"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    assert!(stdout(&out).contains("not logged in"), "{}", stdout(&out));

    login(&home);
    let connections = server.connections();
    let out = home.run(&["status", "p"]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("oauth tokens, stored"), "{text}");
    assert!(text.contains("expires in"), "{text}");
    assert!(
        text.contains("account:") && text.contains("alice@example.com"),
        "{text}"
    );
    assert!(!text.contains("a-1") && !text.contains("r-1"), "{text}");
    assert_eq!(
        server.connections(),
        connections,
        "status without --check ran the plugin"
    );

    let out = home.run(&["status", "p", "--check", "--json"]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &report[0];
    assert_eq!(p["provider"], "p");
    assert_eq!(p["wit_version"], "0.3.0");
    assert_eq!(p["extra"]["account"], "alice@example.com");
    assert_eq!(p["refreshable"], true);
    assert_eq!(p["check"]["ok"], true);
    assert_eq!(p["check"]["account"]["account"], "alice@example.com");
    assert_eq!(
        p["check"]["account"]["details"][0],
        serde_json::json!(["plan", "pro"])
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("a-1"));

    let p = crate::support::listed(&home, "p");
    assert_eq!(p["extra"]["account"], "alice@example.com");

    // With the provider's variable set, `check` is handed that key (the
    // one `token` prints), not the stored login: one the service never
    // issued is refused.
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    home.write_config(&config.replace(
        "plugin = \"refresher\"",
        "plugin = \"refresher\"\nenv = \"P_TOKEN\"",
    ));
    let with_env = |args: &[&str]| {
        home.cmd()
            .args(args)
            .env("P_TOKEN", "not-issued")
            .output()
            .unwrap()
    };
    assert_eq!(stdout(&with_env(&["token", "p"])), "not-issued\n");
    let out = with_env(&["status", "p", "--check"]);
    assert!(
        stdout(&out).contains("does not know this token"),
        "{}",
        stdout(&out)
    );
    home.write_config(&config);

    // A check the service refuses needs a new login.
    service.grant.lock().unwrap().revoked = true;
    let out = home.run(&["status", "p", "--check"]);
    assert_eq!(exit_code(&out), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("check:") && stdout(&out).contains("failed"));
}

#[test]
fn logout_revokes_the_login_at_the_service() {
    let (service, server) = TokenService::start(3600);
    let home = refresher_home(&server);
    login(&home);
    let out = home.run(&["logout", "p"]);
    assert_success(&out);
    assert!(stderr(&out).contains("Revoked"), "{}", stderr(&out));
    assert_eq!(service.revocations.load(Ordering::SeqCst), 1);
    assert!(service.revoked());
    assert!(home.store_json().get("p").is_none());

    // Revoking fails: the credential is removed all the same, with a warning.
    login(&home);
    drop(server);
    let out = home.run(&["logout", "p"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("could not revoke"),
        "{}",
        stderr(&out)
    );
    assert!(home.store_json().get("p").is_none());
}

#[test]
fn exit_codes_tell_a_missing_login_from_other_errors() {
    let home = Home::new();
    let out = home.run(&["token", "openrouter"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    assert_fails_with(&out, "authhost login openrouter");
    let out = home.run(&["token", "no-such-provider"]);
    assert_eq!(exit_code(&out), Some(2), "{}", stderr(&out));
    let out = home.run(&["token"]);
    assert_eq!(exit_code(&out), Some(2), "{}", stderr(&out));
    let out = home.run(&["--help"]);
    assert!(
        stdout(&out).contains("4    login needed"),
        "{}",
        stdout(&out)
    );

    // Expired tokens of a plugin that cannot refresh: log in again.
    std::fs::write(
        home.store_path(),
        r#"{"openrouter": {"type": "oauth", "access": "old", "expires": 1000}}"#,
    )
    .unwrap();
    let out = home.run(&["token", "openrouter"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    assert_fails_with(&out, "the login for `openrouter` has expired");
}
