//! The guide's device-login provider (`docs/writing-a-provider.md`, "A
//! device login"), built as a third party would build it: `cargo new`
//! outside this repository, the packaged SDK, the guide's `src/lib.rs` as
//! it is printed. It then logs in against a strict local service that
//! rotates refresh tokens and revokes a grant whose old refresh token comes
//! back (reuse detection), and ten processes at expiry make one refresh.

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sdk::{DEVICE_GRANT, build_outside, code_blocks, fields, form};
use crate::support;
use support::acme::oauth_error;
use support::http::{Response, Server};
use support::{Home, assert_success, stderr, stdout, workspace_root};

const CLIENT: &str = "authhost-cli";

/// What the service has seen and decided.
#[derive(Default)]
struct Grant {
    /// The number of the current refresh token (`rt-N`); 0 before login.
    generation: u32,
    /// Device-grant polls so far.
    polls: u32,
    /// Refresh requests answered with tokens.
    refreshes: u32,
    /// An old refresh token came back: the grant is revoked.
    reuse_detected: bool,
    /// Tokens revoked at `/revoke`.
    revoked: Vec<String>,
}

/// A device-login service at `/device`, `/token`, `/revoke`: strict forms
/// (see `crate::sdk::form`), one pending poll before the tokens, access
/// tokens living `ttl_s` (2 s for the first, an hour after), refresh tokens
/// rotated at every refresh, and reuse of an old one revoking the grant.
fn service(first_ttl_s: u64) -> (Server, Arc<Mutex<Grant>>) {
    let grant = Arc::new(Mutex::new(Grant::default()));
    let state = grant.clone();
    let server = Server::start(move |req| {
        let fields = match form(req) {
            Ok(fields) => fields,
            Err(refused) => return refused,
        };
        let mut grant = state.lock().unwrap();
        let tokens = |n: u32, ttl: u64| {
            Response::new(
                200,
                "application/json",
                serde_json::json!({
                    "access_token": format!("at-{n}"),
                    "refresh_token": format!("rt-{n}"),
                    "token_type": "Bearer",
                    "expires_in": ttl,
                })
                .to_string(),
            )
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        match (req.target.as_str(), field("grant_type").as_str()) {
            ("/device", _)
                if fields
                    == self::fields(&[("client_id", CLIENT), ("scope", "offline_access")]) =>
            {
                Response::new(
                    200,
                    "application/json",
                    serde_json::json!({
                        "device_code": "dc-1",
                        "user_code": "WDJB-MJHT",
                        "verification_uri": "https://login.corp.example/activate",
                        "expires_in": 60,
                        "interval": 1,
                    })
                    .to_string(),
                )
            }
            ("/token", DEVICE_GRANT)
                if fields
                    == self::fields(&[
                        ("grant_type", DEVICE_GRANT),
                        ("device_code", "dc-1"),
                        ("client_id", CLIENT),
                    ]) =>
            {
                grant.polls += 1;
                if grant.polls == 1 {
                    return oauth_error(400, "authorization_pending", "not yet");
                }
                grant.generation = 1;
                tokens(1, first_ttl_s)
            }
            ("/token", "refresh_token") if field("client_id") == CLIENT => {
                let presented = field("refresh_token");
                if grant.reuse_detected {
                    return oauth_error(400, "invalid_grant", "the grant was revoked");
                }
                if presented != format!("rt-{}", grant.generation) {
                    // An old refresh token: somebody copied it. Revoke all.
                    grant.reuse_detected = true;
                    return oauth_error(400, "invalid_grant", "refresh token reused");
                }
                grant.generation += 1;
                grant.refreshes += 1;
                tokens(grant.generation, 3600)
            }
            ("/revoke", _) if field("client_id") == CLIENT => {
                grant.revoked.push(field("token"));
                Response::new(200, "text/plain", "")
            }
            _ => oauth_error(400, "invalid_request", "not a request this service knows"),
        }
    });
    (server, grant)
}

/// The guide's provider, built outside the repository against the packaged
/// SDK: the component's path.
fn build_the_guides_provider() -> std::path::PathBuf {
    let guide =
        std::fs::read_to_string(workspace_root().join("docs/writing-a-provider.md")).unwrap();
    let source = &code_blocks(&guide, "rust,device-provider")[0];
    build_outside("corp-device", &[&["serde", "--features", "derive"]], source)
}

/// A home with the guide's provider installed (`plugins install`, as the
/// guide says) as provider `corp` of `server`, granted its origin.
fn corp_home(wasm: &std::path::Path, server: &Server) -> Home {
    let home = Home::new();
    assert_success(&home.run(&["plugins", "install", wasm.to_str().unwrap()]));
    home.write_config(&format!(
        "[providers.corp]\nplugin = \"corp-device\"\nbase_url = \"{url}\"\n\n\
         [plugins.corp-device]\ngrant = [\"http:{url}\"]\n",
        url = server.url()
    ));
    home
}

fn spawn_token(home: &Home) -> Child {
    home.cmd()
        .args(["token", "corp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_guides_device_provider_refreshes_a_rotating_login_once_per_expiry() {
    let wasm = build_the_guides_provider();
    let (server, grant) = service(2);
    let home = corp_home(&wasm, &server);
    // Built against the SDK's WIT (0.3.0), its method is of kind `device`.
    let inspected = stdout(&home.run(&["plugins", "inspect", wasm.to_str().unwrap()]));
    assert!(
        inspected.contains("authhost:provider@0.3.0")
            && inspected.contains("device (device), api-key (api-key)"),
        "{inspected}"
    );

    let out = home.run_with_stdin(&["login", "corp"], "");
    assert_success(&out);
    let shown = stderr(&out);
    assert!(
        shown.contains("WDJB-MJHT") && shown.contains("https://login.corp.example/activate"),
        "{shown}"
    );
    assert_eq!(
        grant.lock().unwrap().polls,
        2,
        "one pending poll, then tokens"
    );
    assert_eq!(stdout(&home.run(&["token", "corp"])), "at-1\n");

    // At expiry, ten processes: one refresh, the rotated token stored, no
    // refresh token presented twice.
    std::thread::sleep(Duration::from_millis(2100));
    let children: Vec<Child> = (0..10).map(|_| spawn_token(&home)).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_success(&out);
        assert_eq!(stdout(&out), "at-2\n", "{}", stderr(&out));
    }
    {
        let grant = grant.lock().unwrap();
        assert_eq!(grant.refreshes, 1, "one refresh for ten processes");
        assert!(!grant.reuse_detected, "a refresh token was presented twice");
    }
    assert_eq!(home.store_json()["corp"]["refresh"], "rt-2");
    assert_eq!(stdout(&home.run(&["token", "corp"])), "at-2\n");

    // `logout` revokes the current refresh token at the service.
    let out = home.run(&["logout", "corp"]);
    assert_success(&out);
    assert_eq!(grant.lock().unwrap().revoked, ["rt-2"]);
}

/// The service above is as strict as the real ones: an old refresh token
/// revokes the grant, and the provider then asks for a new login.
#[test]
fn the_service_revokes_a_grant_whose_old_refresh_token_comes_back() {
    let wasm = build_the_guides_provider();
    let (server, grant) = service(3600);
    let home = corp_home(&wasm, &server);
    assert_success(&home.run_with_stdin(&["login", "corp"], ""));
    let copied = home.store_json();
    assert_eq!(stdout(&home.run(&["token", "corp", "--refresh"])), "at-2\n");

    // A second machine with a copy of the first login presents rt-1.
    std::fs::write(home.store_path(), copied.to_string()).unwrap();
    let out = home.run(&["token", "corp", "--refresh"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("authhost login corp"),
        "{}",
        stderr(&out)
    );
    assert!(grant.lock().unwrap().reuse_detected);
}
