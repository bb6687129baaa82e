//! The credential lifecycle with real processes: OAuth logins refreshed
//! before they expire, once across any number of `authhost` processes;
//! helpers run once for a crowd of callers; refused refreshes, network
//! failures and `kill -9` mid-refresh; exit codes; `authhost status`; and
//! components of WIT 0.1.0 and 0.2.0 side by side.
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

    fn revoked(&self) -> bool {
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
    home.cmd()
        .args(["token", "p"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
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
    assert_eq!(p["wit_version"], "0.2.0");
    assert_eq!(p["extra"]["account"], "alice@example.com");
    assert_eq!(p["refreshable"], true);
    assert_eq!(p["check"]["ok"], true);
    assert_eq!(p["check"]["account"]["account"], "alice@example.com");
    assert_eq!(
        p["check"]["account"]["details"][0],
        serde_json::json!(["plan", "pro"])
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("a-1"));

    let listed: serde_json::Value =
        serde_json::from_slice(&home.run(&["list", "--json"]).stdout).unwrap();
    let p = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "p")
        .unwrap();
    assert_eq!(p["extra"]["account"], "alice@example.com");

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

#[test]
fn twenty_processes_asking_a_cold_helper_run_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let home = counting_helper(&log, "sk-shared", "0.3", "");
    let children: Vec<Child> = (0..20).map(|_| spawn_token(&home)).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_success(&out);
        assert_eq!(stdout(&out), "sk-shared\n");
    }
    assert_eq!(runs(&log), 1, "the helper ran more than once");
}

#[test]
fn expired_helper_keys_are_deleted_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let home = counting_helper(&log, "sk-short-lived", "0", "ttl_ms = 300");
    assert_eq!(token(&home), "sk-short-lived");
    let cache = home.path().join("cache").join("credentials.json");
    assert!(
        std::fs::read_to_string(&cache)
            .unwrap()
            .contains("sk-short-lived")
    );
    std::thread::sleep(Duration::from_millis(400));
    // The next call finds the entry stale: it is gone from disk before the
    // helper runs again (here it fails).
    home.write_config(
        "[providers.p]\nplugin = \"shell-helper\"\ncommand = \"exit 3\"\nttl_ms = 300\n",
    );
    let out = home.run(&["token", "p"]);
    assert!(!out.status.success());
    assert!(
        !std::fs::read_to_string(&cache)
            .unwrap()
            .contains("sk-short-lived"),
        "an expired key stayed in the cache file"
    );
}

#[test]
fn a_plugin_derives_tokens_from_the_stored_login() {
    let home = testkit_home(
        "[providers.kit]\nplugin = \"testkit\"\nmode = \"derive\"\nkey = \"long-lived\"\nttl_ms = 60000\n",
    );
    assert_success(&home.run(&["login", "kit"]));
    let store = home.store_json();
    assert_eq!(store["kit"]["key"], "long-lived");
    assert_eq!(store["kit"]["resolve"], true);
    assert_eq!(store["kit"]["login"], "kit-user");
    let out = home.run(&["token", "kit"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "derived:long-lived\n");
    let out = home.run(&["status", "kit"]);
    assert!(stdout(&out).contains("derived"), "{}", stdout(&out));
}

#[test]
fn components_of_wit_0_1_and_0_2_work_side_by_side() {
    let home = testkit_home(&format!(
        "[providers.old]\nplugin = \"legacy-kit\"\nkey = \"old-key\"\naccess = \"old-access\"\nexpires = {}\n\n[providers.new]\nplugin = \"testkit\"\nkey = \"new-key\"\n",
        now_ms() + 3_600_000
    ));
    std::fs::copy(
        workspace_component("legacy-kit"),
        home.plugins_dir().join("legacy.wasm"),
    )
    .unwrap();
    let plugins: serde_json::Value =
        serde_json::from_slice(&home.run(&["plugins", "list", "--json"]).stdout).unwrap();
    let version = |id: &str| {
        plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["wit_version"].clone())
    };
    assert_eq!(version("legacy-kit"), Some("0.1.0".into()));
    assert_eq!(version("testkit"), Some("0.2.0".into()));
    assert_eq!(version("openrouter"), Some("0.2.0".into()));
    // Reading its configuration while describing itself gets `{}`, not a
    // trap.
    let legacy = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "legacy-kit")
        .unwrap();
    assert!(legacy["error"].is_null(), "{legacy}");
    assert!(
        legacy["metadata"]["description"]
            .as_str()
            .unwrap()
            .contains("config at describe: {}"),
        "{legacy}"
    );
    let listed = stdout(&home.run(&["plugins", "list"]));
    assert!(
        listed.contains("0.1.0") && listed.contains("0.2.0"),
        "{listed}"
    );

    let out = home.run(&["token", "old"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "old-key\n");
    assert_eq!(stdout(&home.run(&["token", "new"])), "new-key\n");

    // A 0.1.0 login is stored and used as it is (not handed to `resolve`,
    // which 0.1.0 cannot receive).
    assert_success(&home.run(&["login", "old"]));
    assert_eq!(home.store_json()["old"]["resolve"], serde_json::Value::Null);
    assert_eq!(stdout(&home.run(&["token", "old"])), "old-access\n");
}

/// The user id tests give files to when running as root.
const NOBODY: u32 = 65534;

/// Whether the tests run as root (and so can give files to other users).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    tempfile::tempfile().unwrap().metadata().unwrap().uid() == 0
}

/// Waits for `child`, failing the test if it has not exited within
/// `limit` (a hang, not a slow run).
fn output_within(mut child: Child, limit: Duration) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// Runs `authhost token p` in `home` (failing the test on a hang) and
/// returns its stderr, asserting that it failed.
#[track_caller]
fn token_failure(home: &Home) -> String {
    let out = output_within(spawn_token(home), Duration::from_secs(60));
    assert!(!out.status.success(), "succeeded: {}", stdout(&out));
    stderr(&out)
}

/// Lock files are used only in a folder that is the user's alone, only as
/// regular files of the user's, never through a symbolic link: the provider
/// lock a helper run takes, the helper cache's lock and `auth.json.lock`.
#[test]
fn lock_files_and_their_folders_must_be_the_users_alone() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let helper = || counting_helper(&log, "sk-locked", "0", "ttl_ms = 60000");

    // The folder of provider locks.
    let home = helper();
    let locks = home.path().join("cache/locks");
    std::fs::create_dir_all(&locks).unwrap();
    std::fs::set_permissions(&locks, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = token_failure(&home);
    assert!(
        err.contains(&format!(
            "{} is writable by other users (mode 777)",
            locks.display()
        )) && err.contains("chmod 700"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&locks).unwrap().count(),
        0,
        "created a lock file"
    );
    if running_as_root() {
        std::fs::set_permissions(&locks, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&locks, Some(NOBODY), None).unwrap();
        let err = token_failure(&home);
        assert!(
            err.contains(&format!("{} is owned by user {NOBODY}", locks.display())),
            "{err}"
        );
        // A lock file of another user's in a folder of the user's.
        std::os::unix::fs::chown(&locks, Some(0), None).unwrap();
        let lock = locks.join("p.lock");
        std::fs::write(&lock, "").unwrap();
        std::os::unix::fs::chown(&lock, Some(NOBODY), None).unwrap();
        let err = token_failure(&home);
        assert!(
            err.contains(&format!("{} is owned by user {NOBODY}", lock.display()))
                && err.contains("remove it"),
            "{err}"
        );
    }
    assert_eq!(runs(&log), 0, "the helper ran without its lock");

    // Symbolic links where lock files go: nothing is created where they
    // point, and the error names the link.
    let target = dir.path().join("target");
    let home = helper();
    std::fs::create_dir_all(home.path().join("cache/locks")).unwrap();
    let lock = home.path().join("cache/locks/p.lock");
    symlink(&target, &lock).unwrap();
    let err = token_failure(&home);
    assert!(
        err.contains(&format!("{} is a symbolic link", lock.display())),
        "{err}"
    );
    assert_eq!(runs(&log), 0);
    std::fs::remove_file(&lock).unwrap();
    let cache_lock = home.path().join("cache/credentials.json.lock");
    symlink(&target, &cache_lock).unwrap();
    let err = token_failure(&home);
    assert!(
        err.contains(&format!("{} is a symbolic link", cache_lock.display())),
        "{err}"
    );
    assert!(!err.contains("sk-locked"), "{err}");
    let store_lock = home.path().join("auth.json.lock");
    symlink(&target, &store_lock).unwrap();
    let out = home.run_with_stdin(&["login", "openrouter", "--method", "api-key"], "sk-new\n");
    assert_fails_with(
        &out,
        &format!("{} is a symbolic link", store_lock.display()),
    );
    assert!(!home.store_path().exists());
    assert!(!target.exists(), "created a file where a link points");
}

/// A lock another process holds forever ends `token` after the call
/// timeout plus the margin, with an error naming the lock file; once it is
/// released, `token` works.
#[test]
fn a_lock_held_forever_ends_token_after_the_call_timeout() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let home = counting_helper(
        &log,
        "sk-after",
        "0",
        "ttl_ms = 0\n\n[limits]\ncall_timeout_ms = 1000",
    );
    let lock = home.path().join("cache/locks/p.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\n\
             f = open(sys.argv[1], 'a')\n\
             fcntl.flock(f, fcntl.LOCK_EX)\n\
             print('held', flush=True)\n\
             time.sleep(600)",
        ])
        .arg(&lock)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "held\n");

    let started = Instant::now();
    let err = token_failure(&home);
    let took = started.elapsed();
    assert!(
        err.contains(&format!(
            "gave up after 6 s waiting for the lock file {}",
            lock.display()
        )) && err.contains("fuser -v"),
        "{err}"
    );
    assert!(took >= Duration::from_secs(6), "gave up after {took:?}");
    assert_eq!(runs(&log), 0);

    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(token(&home), "sk-after");
}

/// While a helper hangs past the call timeout, four `token` processes take
/// about one timeout in all, not one each in turn: the helper runs once,
/// and the three that waited report its failure.
#[test]
fn waiters_report_a_hung_renewal_instead_of_repeating_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let home = counting_helper(
        &log,
        "sk-never",
        "30",
        "timeout_ms = 600000\n\n[limits]\ncall_timeout_ms = 3000",
    );
    let started = Instant::now();
    let first = spawn_token(&home);
    // The others start while the first one's helper runs (it has the lock).
    while runs(&log) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the helper never ran"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let waiters: Vec<Child> = (0..3).map(|_| spawn_token(&home)).collect();
    let timeout = "did not answer within 3000 ms (limit `call_timeout_ms`)";
    let out = output_within(first, Duration::from_secs(60));
    assert!(!out.status.success());
    assert!(stderr(&out).contains(timeout), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("another authhost process"),
        "{}",
        stderr(&out)
    );
    for waiter in waiters {
        let out = output_within(waiter, Duration::from_secs(60));
        assert!(!out.status.success(), "{}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("p: another authhost process tried just now and failed")
                && err.contains(timeout),
            "{err}"
        );
    }
    let took = started.elapsed();
    assert_eq!(runs(&log), 1, "a waiter ran the helper again");
    // The longest any of them may wait: the call timeout plus the margin.
    assert!(took < Duration::from_secs(8), "took {took:?}");
    eprintln!("four processes while a helper hangs: {took:?}");
}

/// The latest expiry authhost keeps or prints: 9999-12-31T23:59:59Z.
const LATEST_EXPIRY_MS: u64 = 253_402_300_799_000;

/// `text` parsed as an RFC 3339 timestamp, in ms since the epoch (panics
/// when it is not one).
fn parse_rfc3339(text: &str) -> u64 {
    let time = humantime::parse_rfc3339(text)
        .unwrap_or_else(|e| panic!("`{text}` is not an RFC 3339 timestamp: {e}"));
    time.duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn a_refresh_answering_with_an_api_key_is_an_error_and_keeps_the_login() {
    let (service, server) = TokenService::start(1);
    let home = refresher_home(&server);
    login(&home);
    expire_soon(&home);
    let before = home.store_json();
    service.ttl_s.store(3600, Ordering::SeqCst);
    *service.answer_extra.lock().unwrap() = r#","api_key":"sk-never-expires""#.into();
    let out = home.run(&["token", "p"]);
    assert_eq!(exit_code(&out), Some(1), "{}", stderr(&out));
    assert_fails_with(&out, "provider `p`, plugin `refresher`");
    assert_fails_with(&out, "an API key from `refresh`");
    assert!(!stdout(&out).contains("sk-never"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("sk-never"), "{}", stderr(&out));
    assert_eq!(service.refreshes(), 1);
    assert_eq!(home.store_json(), before, "the stored login was changed");
    assert_eq!(home.store_json()["p"]["type"], "oauth");
}

#[test]
fn an_expiry_past_year_9999_is_stored_and_printed_as_valid_rfc3339() {
    let (service, server) = TokenService::start(3600);
    *service.answer_extra.lock().unwrap() = format!(r#","expires_at":{}"#, u64::MAX);
    let home = refresher_home(&server);
    login(&home);
    assert_eq!(home.store_json()["p"]["expires"], LATEST_EXPIRY_MS);

    let out = home.run(&["token", "p", "--format", "json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = json["expires_at"].as_str().unwrap();
    assert_eq!(at, "9999-12-31T23:59:59Z");
    assert_eq!(parse_rfc3339(at), LATEST_EXPIRY_MS);

    let out = home.run(&["token", "p", "--format", "kube"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = json["status"]["expirationTimestamp"].as_str().unwrap();
    assert_eq!(parse_rfc3339(at), LATEST_EXPIRY_MS);

    let status: serde_json::Value =
        serde_json::from_slice(&home.run(&["status", "p", "--json"]).stdout).unwrap();
    assert_eq!(status[0]["expires"], LATEST_EXPIRY_MS);
    let listed: serde_json::Value =
        serde_json::from_slice(&home.run(&["list", "--json"]).stdout).unwrap();
    let p = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "p")
        .unwrap();
    assert_eq!(p["expires"], LATEST_EXPIRY_MS);

    // A refresh answering the same is clamped too, and so is an entry
    // another tool wrote with it.
    let out = home.run(&["token", "p", "--refresh", "--format", "json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["token"], "a-2");
    assert_eq!(
        parse_rfc3339(json["expires_at"].as_str().unwrap()),
        LATEST_EXPIRY_MS
    );
    assert_eq!(home.store_json()["p"]["expires"], LATEST_EXPIRY_MS);
    let mut store = home.store_json();
    store["p"]["expires"] = u64::MAX.into();
    std::fs::write(home.store_path(), store.to_string()).unwrap();
    let out = home.run(&["token", "p", "--format", "json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        parse_rfc3339(json["expires_at"].as_str().unwrap()),
        LATEST_EXPIRY_MS
    );
}

/// The refresher component patched to report the id `id` (nine
/// characters, like `refresher`): another plugin with the same code.
fn refresher_reporting(id: &str) -> Vec<u8> {
    let (from, to) = (b"plugin-id:refresher", format!("plugin-id:{id}"));
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(workspace_component("refresher")).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the id marker");
    bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
    bytes
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

#[test]
fn a_login_is_not_handed_to_the_plugin_a_provider_was_switched_to() {
    let (service, server) = TokenService::start(3600);
    let home = refresher_home(&server);
    login(&home);
    assert_eq!(home.store_json()["p"]["plugin"], "refresher");
    assert!(
        home.store_json()["p"]["plugin_sha256"]
            .as_str()
            .is_some_and(|s| s.len() == 64),
        "{}",
        home.store_json()
    );
    // Another plugin, granted the same origin: it would present the
    // refresh token to the service if it were handed the login.
    std::fs::write(
        home.plugins_dir().join("other.wasm"),
        refresher_reporting("refresh-b"),
    )
    .unwrap();
    home.write_config(&format!(
        "[providers.p]\nplugin = \"refresh-b\"\nbase_url = \"{url}\"\n\n[plugins.refresher]\ngrant = [\"http:{url}\"]\n\n[plugins.refresh-b]\ngrant = [\"http:{url}\"]\n",
        url = server.url()
    ));
    let before = home.store_json();
    let connections = server.connections();

    // Valid: not printed. About to expire: not refreshed.
    for expires in [None, Some(now_ms() + 30_000)] {
        if let Some(expires) = expires {
            set_expiry(&home, expires);
        }
        for args in [&["token", "p"][..], &["token", "p", "--refresh"]] {
            let out = home.run(args);
            assert_eq!(exit_code(&out), Some(4), "{args:?}: {}", stderr(&out));
            assert_fails_with(&out, "was made by plugin `refresher`");
            assert_fails_with(&out, "`refresh-b`");
            assert_fails_with(&out, "run `authhost login p` to log in again");
            assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        }
    }

    // `status` and `list` say so.
    let out = home.run(&["status", "p", "--check"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("made by plugin `refresher`"), "{text}");
    assert!(text.contains("authhost login p"), "{text}");
    assert!(!text.contains("renewed automatically"), "{text}");
    let status: serde_json::Value =
        serde_json::from_slice(&home.run(&["status", "p", "--json"]).stdout).unwrap();
    assert_eq!(status[0]["needs_login"], true);
    assert_eq!(status[0]["refreshable"], false);
    assert!(
        status[0]["made_by_another"]
            .as_str()
            .is_some_and(|why| why.contains("`refresher`") && why.contains("`refresh-b`")),
        "{status}"
    );
    let listed: serde_json::Value =
        serde_json::from_slice(&home.run(&["list", "--json"]).stdout).unwrap();
    let p = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "p")
        .unwrap();
    assert_eq!(p["needs_login"], true, "{p}");
    assert!(
        stdout(&home.run(&["list"])).contains("of another plugin: log in again"),
        "{}",
        stdout(&home.run(&["list"]))
    );

    // `logout` removes it without handing it to the new plugin's `revoke`.
    let out = home.run(&["logout", "p"]);
    assert_success(&out);
    let text = stderr(&out);
    assert!(
        text.contains("did not revoke the login at the service"),
        "{text}"
    );
    assert!(text.contains("made by plugin `refresher`"), "{text}");
    assert!(!text.contains("Revoked"), "{text}");
    assert!(home.store_json().get("p").is_none());

    // The new plugin never saw the old login.
    assert_eq!(server.connections(), connections);
    assert_eq!(service.refreshes(), 0);
    assert_eq!(service.revocations.load(Ordering::SeqCst), 0);
    assert!(service.presented.lock().unwrap().is_empty());
    assert!(!service.revoked());
    assert_eq!(before["p"]["refresh"], "r-1");

    // A login with the new plugin records it, and the new plugin renews
    // its own login.
    login(&home);
    assert_eq!(home.store_json()["p"]["plugin"], "refresh-b");
    assert_eq!(token(&home), "a-1");
    let out = home.run(&["token", "p", "--refresh"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "a-2\n");
}

#[test]
fn a_login_is_not_handed_to_another_build_of_its_folder_plugin() {
    let (service, server) = TokenService::start(3600);
    let home = refresher_home(&server);
    login(&home);
    let made_by = home.store_json()["p"]["plugin_sha256"].clone();
    // Another build of `refresher`: the same id, another SHA-256.
    let file = home.plugins_dir().join("refresher.wasm");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(&[0x00, 3, 1, b'x', 1]);
    std::fs::write(&file, bytes).unwrap();
    let connections = server.connections();

    // What would run the plugin with the login is refused.
    let out = home.run(&["token", "p", "--refresh"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    assert_fails_with(&out, "another build");
    assert_fails_with(&out, "authhost login p");
    set_expiry(&home, now_ms() + 30_000);
    let out = home.run(&["token", "p"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    let out = home.run(&["status", "p", "--check", "--json"]);
    assert_eq!(exit_code(&out), Some(4), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status[0]["needs_login"], true);
    assert!(status[0]["check"].is_null(), "{status}");
    assert!(
        status[0]["made_by_another"]
            .as_str()
            .is_some_and(|why| why.contains("another build")),
        "{status}"
    );
    let out = home.run(&["logout", "p"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("did not revoke the login at the service"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.connections(), connections);
    assert!(service.presented.lock().unwrap().is_empty());

    // A login with the new build records it.
    login(&home);
    let store = home.store_json();
    assert_ne!(store["p"]["plugin_sha256"], made_by);
    let out = home.run(&["token", "p", "--refresh"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "a-2\n");
}

#[test]
fn an_entry_from_before_the_plugin_was_recorded_keeps_working_and_gains_the_record() {
    let (service, server) = TokenService::start(3600);
    let home = refresher_home(&server);
    login(&home);
    // As the released version wrote it: no `plugin`, no `plugin_sha256`.
    let mut store = home.store_json();
    let entry = store["p"].as_object_mut().unwrap();
    let sha256 = entry.remove("plugin_sha256").unwrap();
    entry.remove("plugin").unwrap();
    std::fs::write(home.store_path(), store.to_string()).unwrap();
    assert_eq!(token(&home), "a-1");
    assert!(home.store_json()["p"].get("plugin").is_none());

    set_expiry(&home, now_ms() + 30_000);
    assert_eq!(token(&home), "a-2");
    assert_eq!(service.refreshes(), 1);
    let store = home.store_json();
    assert_eq!(store["p"]["plugin"], "refresher");
    assert_eq!(store["p"]["plugin_sha256"], sha256);
    assert_eq!(store["p"]["refresh"], "r-2");
    assert_eq!(store["p"]["account"], "alice@example.com");
}
