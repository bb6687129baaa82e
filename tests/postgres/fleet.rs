//! One refresh per expiry across machines: three homes on one database,
//! ten `authhost token` processes on each at expiry, against the real
//! OpenID Connect provider of `support::idp` (refresh-token rotation and
//! reuse detection); and a refresher killed with `kill -9` while it holds
//! the lease.

use std::time::{Duration, Instant};

use super::Shared;
use crate::support::crowd::{one_token_for_all, spawn_token};
use crate::support::idp::{Idp, IdpOptions};
use crate::support::{self, Home, assert_success, stderr, stdout};

/// `[providers.corp]` logging in to `idp`, refreshed at expiry, not before.
fn corp_config(idp: &Idp) -> String {
    format!(
        "[providers.corp]\nplugin = \"oauth2\"\nscopes = [\"openid\", \"offline_access\", \"email\"]\n\
         issuer = \"{}\"\nclient_id = \"{}\"\n\n[credentials]\nrefresh_margin_s = 0\n\n\
         [limits]\nlogin_timeout_ms = 60000\n",
        idp.issuer(),
        idp.client_id()
    )
}

/// Logs `home` in to `corp` with curl as the browser.
fn log_in(home: &Home) {
    let browser = support::workspace_root().join("tests/oauth2/curl-browser.sh");
    let out = home
        .cmd()
        .args(["login", "corp"])
        .env("BROWSER", browser)
        .env("AUTHHOST_TEST_PAGE", home.path().join("page.html"))
        .env("AUTHHOST_TEST_URL_FILE", home.path().join("url.txt"))
        .output()
        .unwrap();
    assert_success(&out);
}

/// Waits until the access token stored for `corp` has expired.
fn wait_for_expiry(shared: &Shared) {
    let expires: u64 = shared
        .psql("SELECT expires FROM authhost_credentials WHERE provider = 'corp'")
        .trim()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    if expires + 100 > now {
        std::thread::sleep(Duration::from_millis(expires + 100 - now));
    }
}

#[test]
fn thirty_processes_on_three_machines_refresh_once() {
    let idp = Idp::start(IdpOptions {
        access_ttl: 2,
        ..IdpOptions::default()
    });
    let shared = Shared::new();
    let machines: Vec<Home> = (0..3).map(|_| shared.machine(&corp_config(&idp))).collect();
    log_in(&machines[0]);
    // A login on one machine is a token on the others.
    let first = stdout(&machines[2].run(&["token", "corp"]));
    assert!(!first.trim().is_empty());
    wait_for_expiry(&shared);

    let token = one_token_for_all(&machines, 10, "corp");
    assert_ne!(token, first, "a new token");
    assert_eq!(
        idp.wait_for_count("grant.success", Some("refresh_token"), 1),
        1
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        idp.count("grant.success", Some("refresh_token")),
        1,
        "{:?}",
        idp.events()
    );
    assert_eq!(idp.count("grant.revoked", None), 0, "{:?}", idp.events());
    assert_eq!(idp.count("grant.error", None), 0, "{:?}", idp.events());
    // The refreshed login is what every machine reads now.
    for home in &machines {
        assert_eq!(stdout(&home.run(&["token", "corp"])), token);
    }
}

#[test]
fn a_holder_killed_with_kill_9_loses_its_lease_when_it_runs_out() {
    let shared = Shared::new();
    // The helper of the first machine hangs; the lease lasts the call
    // timeout (3 s) plus a margin of 10 s.
    let limits = "[limits]\ncall_timeout_ms = 3000\n";
    let hanging = shared.machine(&format!(
        "[providers.slow]\nplugin = \"shell-helper\"\ncommand = \"sleep 60\"\n{limits}"
    ));
    let working = shared.machine(&format!(
        "[providers.slow]\nplugin = \"shell-helper\"\ncommand = \"echo sk-from-the-second\"\n{limits}"
    ));
    let mut holder = spawn_token(&hanging, "slow");
    // Until it holds the lease.
    let deadline = Instant::now() + Duration::from_secs(20);
    let held =
        "SELECT count(*) FROM authhost_leases WHERE provider = 'slow' AND holder IS NOT NULL";
    while shared.cluster.try_psql(&shared.db, held).as_deref() != Some("1\n") {
        assert!(
            Instant::now() < deadline,
            "the first process never took the lease"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let taken = Instant::now();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let out = working.run(&["token", "slow"]);
    let waited = taken.elapsed();
    assert_eq!(stdout(&out), "sk-from-the-second\n", "{}", stderr(&out));
    assert!(
        waited >= Duration::from_secs(9),
        "took the lease before it ran out: {waited:?}"
    );
    assert!(waited < Duration::from_secs(20), "{waited:?}");
}

/// The fence: a holder whose lease was taken over (here by hand, as if it
/// had run out) and whose entry another process wrote since never
/// overwrites it with what its refresh brought.
#[test]
fn a_holder_that_lost_its_lease_writes_nothing() {
    use std::sync::atomic::Ordering;
    let (service, server) = crate::lifecycle::TokenService::start(1);
    let shared = Shared::new();
    let url = server.url();
    let home = shared.machine(&format!(
        "[providers.p]\nplugin = \"refresher\"\nbase_url = \"{url}\"\n\n[plugins.refresher]\ngrant = [\"http:{url}\"]\n"
    ));
    std::fs::copy(
        support::workspace_component("refresher"),
        home.plugins_dir().join("refresher.wasm"),
    )
    .unwrap();
    // A login that has expired (a 1-second token), and a slow refresh.
    assert_success(&home.run(&["login", "p"]));
    std::thread::sleep(Duration::from_millis(1100));
    service.ttl_s.store(3600, Ordering::SeqCst);
    service.refresh_delay_ms.store(1500, Ordering::SeqCst);
    let holder = spawn_token(&home, "p");
    let held = "SELECT count(*) FROM authhost_leases WHERE provider = 'p' AND holder IS NOT NULL";
    let deadline = Instant::now() + Duration::from_secs(20);
    while shared.cluster.try_psql(&shared.db, held).as_deref() != Some("1\n") {
        assert!(
            Instant::now() < deadline,
            "the process never took the lease"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Another process takes the lease over and writes the entry.
    shared.psql(
        "UPDATE authhost_leases SET holder = 'another', expires_at = now() + interval '1 minute'",
    );
    shared.psql("UPDATE authhost_credentials SET version = version + 1");
    let before = shared.psql("SELECT md5(sealed), version FROM authhost_credentials");
    let out = holder.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    assert_eq!(service.refreshes(), 1, "the refresh happened");
    assert_eq!(
        shared.psql("SELECT md5(sealed), version FROM authhost_credentials"),
        before,
        "the entry was overwritten"
    );
}
