//! The credential lifecycle with real processes: OAuth logins refreshed
//! before they expire, once across any number of `authhost` processes;
//! helpers run once for a crowd of callers; refused refreshes, network
//! failures and `kill -9` mid-refresh; exit codes; `authhost status`; and
//! components of WIT 0.1.0, 0.2.0 and 0.3.0 side by side.
//!
//! The token service is a test server on 127.0.0.1 that behaves like a
//! strict OAuth server with rotating refresh tokens: each refresh token
//! works once, and presenting a used one revokes the whole grant (reuse
//! detection), as real identity providers do.

use crate::support;

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::http::{Request, Response, Server};
use support::{
    Home, assert_fails_with, assert_success, stderr, stdout, testkit_home, workspace_component,
};

/// The state of the test token service.
#[derive(Default)]
struct Grant {
    /// Access tokens issued, with their expiry (ms since the epoch).
    access: Vec<(String, u64)>,
    /// The refresh token that works now.
    refresh: Option<String>,
    /// Refresh tokens already exchanged.
    used: HashSet<String>,
    /// The refresh token exchanged last.
    last_consumed: Option<String>,
    /// Set by reuse detection or `/revoke`: nothing is accepted any more.
    revoked: bool,
    issued: usize,
}

/// A strict OAuth token service with rotating refresh tokens.
pub(crate) struct TokenService {
    grant: Mutex<Grant>,
    /// Lifetime of the access tokens it issues, in seconds.
    pub(crate) ttl_s: AtomicU64,
    /// How long a refresh request is held before it is answered.
    pub(crate) refresh_delay_ms: AtomicU64,
    /// Accept the refresh token exchanged last again, as long as none of
    /// the tokens issued for it has been presented (a rotation grace period,
    /// as some identity providers have): a client killed after the service
    /// rotated but before it stored the answer can still log in.
    grace: AtomicBool,
    refreshes: AtomicUsize,
    revocations: AtomicUsize,
    /// JSON fields added to every token answer (`,"api_key":"…"`).
    answer_extra: Mutex<String>,
    /// The refresh tokens presented to `/token` and `/revoke`.
    presented: Mutex<Vec<String>>,
}

impl TokenService {
    pub(crate) fn start(ttl_s: u64) -> (Arc<TokenService>, Server) {
        let service = Arc::new(TokenService {
            grant: Mutex::default(),
            ttl_s: AtomicU64::new(ttl_s),
            refresh_delay_ms: AtomicU64::new(0),
            grace: AtomicBool::new(false),
            refreshes: AtomicUsize::new(0),
            revocations: AtomicUsize::new(0),
            answer_extra: Mutex::default(),
            presented: Mutex::default(),
        });
        let handler = service.clone();
        let server = Server::start(move |req| handler.handle(req));
        (service, server)
    }

    fn handle(&self, req: &Request) -> Response {
        let form = form(&req.body);
        for key in ["refresh_token", "token"] {
            if let Some(token) = form.get(key) {
                self.presented.lock().unwrap().push(token.clone());
            }
        }
        match (req.method.as_str(), req.target.as_str()) {
            ("POST", "/token")
                if req.header("content-type") == Some("application/x-www-form-urlencoded") =>
            {
                match form.get("grant_type").map(String::as_str) {
                    Some("password") => {
                        let mut grant = self.grant.lock().unwrap();
                        *grant = Grant::default();
                        self.issue(&mut grant)
                    }
                    Some("refresh_token") => self.refresh(form.get("refresh_token")),
                    _ => json(400, r#"{"error":"unsupported_grant_type"}"#),
                }
            }
            ("GET", "/me") => {
                let grant = self.grant.lock().unwrap();
                let bearer = req.header("authorization").unwrap_or_default();
                let known = grant
                    .access
                    .iter()
                    .find(|(token, _)| bearer == format!("Bearer {token}"));
                match known {
                    Some((_, expires)) if !grant.revoked && *expires > now_ms() => json(
                        200,
                        &format!(
                            r#"{{"account":"alice@example.com","plan":"pro","expires":{expires}}}"#
                        ),
                    ),
                    _ => json(401, r#"{"error":"invalid_token"}"#),
                }
            }
            ("POST", "/revoke") => {
                self.revocations.fetch_add(1, Ordering::SeqCst);
                let mut grant = self.grant.lock().unwrap();
                if form.get("token") == grant.refresh.as_ref() {
                    grant.revoked = true;
                }
                json(200, "{}")
            }
            _ => json(404, r#"{"error":"not_found"}"#),
        }
    }

    fn refresh(&self, presented: Option<&String>) -> Response {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(
            self.refresh_delay_ms.load(Ordering::SeqCst),
        ));
        let mut grant = self.grant.lock().unwrap();
        let Some(presented) = presented else {
            return json(400, r#"{"error":"invalid_request"}"#);
        };
        if grant.revoked {
            return json(400, r#"{"error":"invalid_grant"}"#);
        }
        let current = grant.refresh.as_ref() == Some(presented);
        let graced =
            self.grace.load(Ordering::SeqCst) && grant.last_consumed.as_ref() == Some(presented);
        if current || graced {
            grant.used.insert(presented.clone());
            grant.last_consumed = Some(presented.clone());
            return self.issue(&mut grant);
        }
        if grant.used.contains(presented) {
            // Reuse of a rotated refresh token: revoke the whole grant.
            grant.revoked = true;
        }
        json(400, r#"{"error":"invalid_grant"}"#)
    }

    fn issue(&self, grant: &mut Grant) -> Response {
        grant.issued += 1;
        let ttl = self.ttl_s.load(Ordering::SeqCst);
        let access = format!("a-{}", grant.issued);
        let refresh = format!("r-{}", grant.issued);
        grant.access.push((access.clone(), now_ms() + ttl * 1000));
        grant.refresh = Some(refresh.clone());
        let extra = self.answer_extra.lock().unwrap();
        json(
            200,
            &format!(
                r#"{{"access_token":"{access}","refresh_token":"{refresh}","expires_in":{ttl},"token_type":"Bearer","account":"alice@example.com"{extra}}}"#
            ),
        )
    }

    pub(crate) fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }

    pub(crate) fn revoked(&self) -> bool {
        self.grant.lock().unwrap().revoked
    }
}

fn json(status: u16, body: &str) -> Response {
    Response::new(status, "application/json", body.to_owned())
}

fn form(body: &[u8]) -> std::collections::HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A home with the `refresher` component as provider `p`, pointed at
/// `server` and granted its origin.
fn refresher_home(server: &Server) -> Home {
    let home = Home::with_config(&format!(
        "[providers.p]\nplugin = \"refresher\"\nbase_url = \"{url}\"\n\n[plugins.refresher]\ngrant = [\"http:{url}\"]\n",
        url = server.url()
    ));
    std::fs::copy(
        workspace_component("refresher"),
        home.plugins_dir().join("refresher.wasm"),
    )
    .unwrap();
    home
}

fn login(home: &Home) {
    assert_success(&home.run(&["login", "p"]));
}

fn token(home: &Home) -> String {
    let out = home.run(&["token", "p"]);
    assert_success(&out);
    stdout(&out).trim_end().to_owned()
}

/// Spawns `authhost token p` without waiting.
fn spawn_token(home: &Home) -> Child {
    crate::support::crowd::spawn_token(home, "p")
}

fn exit_code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn a_valid_login_is_printed_without_refreshing_and_an_expiring_one_is_refreshed() {
    let (service, server) = TokenService::start(3600);
    let home = refresher_home(&server);
    login(&home);
    assert_eq!(token(&home), "a-1");
    assert_eq!(service.refreshes(), 0);
    let store = home.store_json();
    assert_eq!(store["p"]["account"], "alice@example.com");

    // Within the refresh margin (60 s by default): refreshed first, and the
    // rotated refresh token is stored.
    expire_soon(&home);
    assert_eq!(token(&home), "a-2");
    assert_eq!(service.refreshes(), 1);
    let store = home.store_json();
    assert_eq!(store["p"]["access"], "a-2");
    assert_eq!(store["p"]["refresh"], "r-2");
    assert!(store["p"]["expires"].as_u64().unwrap() > now_ms() + 3_000_000);
    assert_eq!(store["p"]["account"], "alice@example.com");
    assert_eq!(token(&home), "a-2");
    assert_eq!(service.refreshes(), 1);

    // `token --refresh` refreshes a valid login too.
    let out = home.run(&["token", "p", "--refresh"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "a-3\n");
    assert_eq!(home.store_json()["p"]["refresh"], "r-3");
}

/// The refresh margin (60 s by default) scales with the token's lifetime:
/// a token issued for 30 s is renewed in its last quarter (7.5 s), not at
/// every use because it lives shorter than the margin.
#[test]
fn a_token_that_lives_shorter_than_the_margin_is_not_refreshed_at_every_use() {
    let (service, server) = TokenService::start(30);
    let home = refresher_home(&server);
    login(&home);
    for _ in 0..5 {
        assert_eq!(token(&home), "a-1");
    }
    assert_eq!(
        service.refreshes(),
        0,
        "no refresh while 30 s tokens are fresh"
    );
    let store = home.store_json();
    let lifetime = store["p"]["expires"].as_u64().unwrap() - store["p"]["issued"].as_u64().unwrap();
    assert!((29_000..=31_000).contains(&lifetime), "{store}");

    // In its last quarter it is renewed, once; the new token is fresh again.
    set_expiry(&home, now_ms() + 5_000);
    let mut store = home.store_json();
    store["p"]["issued"] = (now_ms() - 25_000).into();
    std::fs::write(home.store_path(), store.to_string()).unwrap();
    assert_eq!(token(&home), "a-2");
    assert_eq!(token(&home), "a-2");
    assert_eq!(service.refreshes(), 1);
}

#[test]
fn twenty_processes_at_expiry_make_one_refresh() {
    let (service, server) = TokenService::start(1);
    let home = refresher_home(&server);
    login(&home);
    expire_soon(&home);
    service.ttl_s.store(3600, Ordering::SeqCst);
    // Hold the refresh so that every process asks while it is in flight.
    service.refresh_delay_ms.store(300, Ordering::SeqCst);
    let children: Vec<Child> = (0..20).map(|_| spawn_token(&home)).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_success(&out);
        assert_eq!(stdout(&out), "a-2\n", "{}", stderr(&out));
    }
    assert_eq!(
        service.refreshes(),
        1,
        "one refresh request for 20 processes"
    );
    assert!(
        !service.revoked(),
        "the grant was revoked by a reused token"
    );
    assert_eq!(home.store_json()["p"]["refresh"], "r-2");
}

#[test]
fn threads_of_one_embedding_program_share_one_refresh() {
    let (service, server) = TokenService::start(1);
    let home = refresher_home(&server);
    login(&home);
    expire_soon(&home);
    service.ttl_s.store(3600, Ordering::SeqCst);
    service.refresh_delay_ms.store(200, Ordering::SeqCst);
    let host =
        Arc::new(authhost::Host::open(authhost::HostOptions::with_home(home.path())).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tokens = runtime.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let host = host.clone();
                tokio::spawn(async move {
                    host.token("p", authhost::TokenOptions::default())
                        .await
                        .map(|t| t.expose_secret().to_owned())
                })
            })
            .collect();
        let mut tokens = Vec::new();
        for task in tasks {
            tokens.push(task.await.unwrap().unwrap());
        }
        tokens
    });
    assert!(tokens.iter().all(|t| t == "a-2"), "{tokens:?}");
    assert_eq!(service.refreshes(), 1);
}

#[test]
fn a_refused_refresh_asks_for_a_new_login_and_keeps_the_stored_one() {
    let (service, server) = TokenService::start(1);
    let home = refresher_home(&server);
    login(&home);
    expire_soon(&home);
    let before = home.store_json();
    service.grant.lock().unwrap().revoked = true;
    let out = home.run(&["token", "p"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    assert_fails_with(&out, "the login for `p` has expired or was revoked");
    assert!(
        stderr(&out).contains("authhost login p"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("r-1"), "{}", stderr(&out));
    assert_eq!(home.store_json(), before, "the stored login was changed");

    // `status` says so without running anything, and exits 4 as `token`
    // does.
    let out = home.run(&["status", "p"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("refused to renew it") && text.contains("authhost login p"),
        "{text}"
    );
    assert!(!text.contains("renewed automatically"), "{text}");
    let out = home.run(&["status", "p", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json[0]["refresh_refused"].is_u64() || json["refresh_refused"].is_u64(),
        "{json}"
    );

    // A new login is renewed automatically again.
    service.grant.lock().unwrap().revoked = false;
    login(&home);
    let out = home.run(&["status", "p"]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("renewed automatically"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_network_failure_keeps_using_a_still_valid_token() {
    let (service, server) = TokenService::start(30);
    let home = refresher_home(&server);
    login(&home);
    expire_soon(&home);
    drop(server);
    drop(service);
    let out = home.run(&["token", "p"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "a-1\n");
    assert!(
        stderr(&out).contains("could not refresh the login"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kill_9_while_refreshing_never_loses_the_login() {
    let (service, server) = TokenService::start(1);
    service.grace.store(true, Ordering::SeqCst);
    let home = refresher_home(&server);
    login(&home);
    service.ttl_s.store(1, Ordering::SeqCst);
    service.refresh_delay_ms.store(20, Ordering::SeqCst);
    for round in 0..12u64 {
        std::thread::sleep(Duration::from_millis(1100));
        let mut child = spawn_token(&home);
        std::thread::sleep(Duration::from_millis(5 + round * 13));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the moment, the store is whole and holds a login.
        let store = home.store_json();
        assert_eq!(store["p"]["type"], "oauth", "round {round}: {store}");
        assert!(store["p"]["refresh"].is_string(), "round {round}: {store}");
    }
    // The lock died with its process; the next call refreshes or uses what
    // the killed one stored.
    service.ttl_s.store(3600, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    let out = home.run(&["token", "p"]);
    assert_success(&out);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(stdout(&out).starts_with("a-"), "{}", stdout(&out));
    assert!(!service.revoked(), "the grant was revoked");
}

/// Sets the expiry of `p`'s stored login to `expires` (ms since the
/// epoch), as if it were about to expire: a token issued for an hour, so
/// that its refresh margin is the configured one (60 s).
fn set_expiry(home: &Home, expires: u64) {
    let mut store = home.store_json();
    store["p"]["expires"] = expires.into();
    store["p"]["issued"] = expires.saturating_sub(3_600_000).into();
    std::fs::write(home.store_path(), store.to_string()).unwrap();
}

/// Ages `p`'s stored login to 30 s before its expiry: inside the refresh
/// margin.
fn expire_soon(home: &Home) {
    set_expiry(home, now_ms() + 30_000);
}

/// A shell-helper provider `p` whose command appends a line to `log` and
/// prints `key` after `delay` seconds.
fn counting_helper(log: &std::path::Path, key: &str, delay: &str, extra: &str) -> Home {
    let command = format!("echo run >> '{}'; sleep {delay}; echo {key}", log.display());
    Home::with_config(&format!(
        "[providers.p]\nplugin = \"shell-helper\"\ncommand = {command:?}\n{extra}\n"
    ))
}

fn runs(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

mod helpers;
mod locks;
mod status;
mod switching;
