//! Keeping a login alive: refreshed after expiry, once for twenty
//! processes at once, and a revoked grant that asks for a new login.

use super::*;

#[test]
fn token_refreshes_transparently_after_expiry() {
    let corp = Corp::short_lived(2);
    let first = corp.logged_in();
    let access = first["access"].as_str().unwrap();
    assert_eq!(
        stdout(&corp.home.run(&["token", "corp"])),
        format!("{access}\n")
    );
    corp.wait_for_expiry();

    let renewed = corp.home.run(&["token", "corp"]);
    assert_success(&renewed);
    let new_access = stdout(&renewed).trim().to_owned();
    assert_ne!(new_access, access);
    assert_eq!(corp.grants("refresh_token", 1), 1);
    let stored = corp.stored();
    assert_eq!(stored["access"], new_access.as_str());
    assert_ne!(
        stored["refresh"], first["refresh"],
        "the rotated refresh token"
    );
    assert!(stored["expires"].as_u64() > first["expires"].as_u64());
    assert_eq!(stored["sub"], "alice", "the facts are kept: {stored}");
    // Fresh again: no second refresh.
    assert_eq!(
        stdout(&corp.home.run(&["token", "corp"])),
        format!("{new_access}\n")
    );
    assert_eq!(corp.idp.count("grant.success", Some("refresh_token")), 1);
}

#[test]
fn twenty_processes_at_expiry_refresh_once() {
    let corp = Corp::short_lived(2);
    corp.logged_in();
    corp.wait_for_expiry();
    support::crowd::one_token_for_all([&corp.home], 20, "corp");
    assert_eq!(corp.grants("refresh_token", 1), 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        corp.idp.count("grant.success", Some("refresh_token")),
        1,
        "{:?}",
        corp.idp.events()
    );
    assert_eq!(corp.idp.count("grant.revoked", None), 0);
    assert_eq!(corp.idp.count("grant.error", None), 0);
}

#[test]
fn a_revoked_grant_asks_for_a_new_login_with_exit_code_4() {
    let corp = Corp::short_lived(2);
    corp.logged_in();
    assert_eq!(corp.idp.revoke_all(), 1);
    corp.wait_for_expiry();
    let out = corp.home.run(&["token", "corp"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("expired or was revoked") && err.contains("run `authhost login corp`"),
        "{err}"
    );
    assert!(err.contains("invalid_grant"), "{err}");
    assert_eq!(
        corp.idp
            .wait_for_count("grant.error", Some("refresh_token"), 1),
        1
    );
    assert_eq!(corp.idp.count("grant.success", Some("refresh_token")), 0);
}
