//! Providers written in JavaScript (componentize-js) and Python
//! (componentize-py): the examples in `examples/js-provider` and
//! `examples/py-provider`, built from source by `scripts/build-examples.sh`
//! with the pinned toolchains, dropped into a plugins folder and run end to
//! end by the `authhost` binary against a local Acme token endpoint.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use support::acme::oauth_error;
use support::http::{Request, Response, Server};
use support::{Home, assert_fails_with, assert_success, stderr, stdout, workspace_root};

/// The component of example `which` (`js` or `py`), built by the project's
/// script (which does nothing when the component is up to date).
fn example(which: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let root = workspace_root();
    let status = Command::new(root.join("scripts/build-examples.sh"))
        .arg(which)
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(status.success(), "scripts/build-examples.sh {which} failed");
    let path = root.join(format!("target/examples/{which}-provider.wasm"));
    assert!(path.is_file(), "{} missing after the build", path.display());
    path
}

/// A strict fake of Acme: `POST /oauth/token` with a form body
/// (`application/x-www-form-urlencoded`, framed by its `content-length`)
/// of exactly the fields of a password or refresh-token grant, and `GET
/// /v1/me` with the bearer token it issued. User `broken` gets a 200 answer
/// that is not JSON.
fn acme_server() -> Server {
    Server::start(|req| match (req.method.as_str(), req.target.as_str()) {
        ("POST", "/oauth/token") => token(req),
        ("GET", "/v1/me") if req.header("authorization") == Some("Bearer acme-access-1") => {
            Response::new(
                200,
                "application/json",
                r#"{"email":"alice@acme.example","plan":"pro"}"#,
            )
        }
        ("GET", "/v1/me") => Response::new(401, "application/json", r#"{"error":"bad token"}"#),
        _ => Response::new(404, "text/plain", "not found"),
    })
}

fn token(req: &Request) -> Response {
    let json = |body: &str| Response::new(200, "application/json", body.to_owned());
    let refused = Response::new(401, "application/json", r#"{"error":"invalid_grant"}"#);
    let framed = req.header("transfer-encoding").is_none()
        && req.header("content-length") == Some(&req.body.len().to_string());
    let media_type = req
        .header("content-type")
        .and_then(|t| t.split(';').next())
        .map(str::trim);
    if !framed || media_type != Some("application/x-www-form-urlencoded") {
        return oauth_error(400, "invalid_request", "a form with a content-length");
    }
    let body: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect();
    let field = |name: &str| {
        body.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut keys: Vec<&str> = body.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    match (field("grant_type"), keys.as_slice()) {
        (Some("password"), ["grant_type", "password", "username"]) => {
            match (field("username"), field("password")) {
                (Some("alice"), Some("hunter2")) => json(
                    r#"{"access_token":"acme-access-1","refresh_token":"acme-refresh-1","expires_in":3600,"email":"alice@acme.example"}"#,
                ),
                (Some("broken"), _) => Response::new(200, "text/html", "<html>oops</html>"),
                _ => refused,
            }
        }
        (Some("refresh_token"), ["grant_type", "refresh_token"])
            if field("refresh_token") == Some("acme-refresh-1") =>
        {
            json(r#"{"access_token":"acme-access-2","expires_in":3600}"#)
        }
        _ => refused,
    }
}

/// A home with the component at `wasm` installed as plugin `id`, and
/// provider `id` pointed at `server`.
fn home_with(id: &str, wasm: &Path, server: &Server) -> Home {
    let home = Home::with_config(&format!(
        "[providers.{id}]\nbase_url = \"{}\"\n",
        server.url()
    ));
    std::fs::copy(wasm, home.plugins_dir().join(format!("{id}.wasm"))).unwrap();
    home
}

/// Everything a user does with a provider, in one home (each language's
/// component is compiled once, on its first load): see what it asks for,
/// be refused each capability not granted, grant, log in, get the token,
/// check it, renew it, and see the provider's own error and its crash.
fn end_to_end(id: &str, wasm: &Path, crash_says: &str) {
    let server = acme_server();
    let home = home_with(id, wasm, &server);
    let http = format!("http:{}", server.url());

    // What it asks for: its `http:{base_url=...}` request is shown as the
    // origin of this provider's `base_url`.
    let plugins: serde_json::Value =
        serde_json::from_slice(&home.run(&["plugins", "list", "--json"]).stdout).unwrap();
    let plugin = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed: {plugins}"));
    assert_eq!(plugin["missing"], serde_json::json!(["prompt", http]));

    // Nothing granted: the prompt is refused.
    let out = home.run_with_stdin(&["login", id], "alice\nhunter2\n");
    assert_fails_with(&out, "capability denied: `prompt`");

    // The prompt but not the origin: the request is refused before it
    // leaves, and the error names the grant, whatever the plugin made of it
    // (`fetch` throws a TypeError; the Python helper returns
    // `capability-denied`).
    assert_success(&home.run(&["plugins", "grant", id, "prompt"]));
    let out = home.run_with_stdin(&["login", id], "alice\nhunter2\n");
    assert_fails_with(
        &out,
        &format!("to allow it: `authhost plugins grant {id} {http}`"),
    );
    assert_eq!(server.connections(), 0, "a refused request reached Acme");
    assert_eq!(home.store_json(), serde_json::Value::Null);

    // Granted: the login goes through, and the tokens are stored with
    // their expiry (a u64: a BigInt in JavaScript) and the account's
    // address.
    assert_success(&home.run(&["plugins", "grant", id, &http]));
    let out = home.run_with_stdin(&["login", id], "alice\nhunter2\n");
    assert_success(&out);
    assert!(
        stderr(&out).contains("Acme login complete"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("hunter2"));
    let stored = &home.store_json()[id];
    assert_eq!(stored["type"], "oauth", "{stored}");
    assert_eq!(stored["access"], "acme-access-1");
    assert_eq!(stored["refresh"], "acme-refresh-1");
    let expires = stored["expires"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        (now + 3_500_000..now + 3_700_000).contains(&expires),
        "expires {expires}, now {now}"
    );
    let token = home.run(&["token", id]);
    assert_success(&token);
    assert_eq!(stdout(&token), "acme-access-1\n");

    // `check`: whom the token belongs to.
    let out = home.run(&["status", id, "--check"]);
    assert_success(&out);
    let text = stdout(&out) + &stderr(&out);
    assert!(
        text.contains("alice@acme.example") && text.contains("pro"),
        "{text}"
    );

    // `refresh`: `token --refresh` renews the OAuth tokens; Acme sent no
    // new refresh token, so the old one is kept.
    let out = home.run(&["token", id, "--refresh"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "acme-access-2\n");
    assert_eq!(home.store_json()[id]["refresh"], "acme-refresh-1");

    // The plugin's own error (`denied`, thrown as a value / raised as
    // `Err`) reaches the user; the stored login is kept.
    let out = home.run_with_stdin(&["login", id], "alice\nwrong\n");
    assert_fails_with(&out, "denied: Acme rejected the user name and password");
    assert_eq!(home.store_json()[id]["access"], "acme-access-2");

    // An exception the plugin does not catch is a crash, shown with the end
    // of what the plugin wrote to stderr.
    let out = home.run_with_stdin(&["login", id], "broken\nx\n");
    assert_fails_with(&out, "crashed");
    assert_fails_with(&out, crash_says);
}

#[test]
fn a_javascript_provider_logs_in_over_fetch_and_is_held_to_its_grants() {
    end_to_end("acme-js", &example("js"), "SyntaxError");
}

#[test]
fn a_python_provider_logs_in_over_wasi_http_and_is_held_to_its_grants() {
    end_to_end("acme-py", &example("py"), "JSONDecodeError");
}
