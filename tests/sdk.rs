//! The Rust SDK (`plugins/sdk`) as a plugin author meets it: packaged and
//! used from a crate made with `cargo new` outside this repository, and its
//! OAuth helpers (the device login, token requests with form bodies,
//! revocation) run by the `authhost` binary against a strict local service.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use support::acme::oauth_error;
use support::http::{Request, Response, Server};
use support::{
    Home, assert_fails_with, assert_success, cargo, stderr, stdout, without_cargo_settings,
    workspace_component, workspace_root,
};

/// The SDK packaged by `scripts/package-sdk.sh` and unpacked, once per run
/// of this test binary; its own target directory keeps the run's lock out
/// of the way.
pub(crate) fn packaged_sdk() -> &'static Path {
    static PACKAGE: OnceLock<PathBuf> = OnceLock::new();
    PACKAGE.get_or_init(|| {
        let root = workspace_root();
        let target = root.join("target").join("sdk-package");
        // The test may run on uncommitted changes; the script's own check
        // of them is for packages meant to leave the machine.
        let mut script = Command::new(root.join("scripts/package-sdk.sh"));
        let status = without_cargo_settings(&mut script)
            .args(["--no-verify", "--allow-dirty", "--offline"])
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(status.success(), "scripts/package-sdk.sh failed");
        target.join("package").join("authhost-sdk")
    })
}

/// The fenced blocks of `markdown` whose info string is `lang`, in order.
pub(crate) fn code_blocks(markdown: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            Some(block) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None if line.trim() == format!("```{lang}") => current = Some(String::new()),
            None => {}
        }
    }
    blocks
}

#[track_caller]
pub(crate) fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A provider crate `name` made as the SDK's README says, in a temporary
/// folder outside the workspace: `cargo new --lib`, `cargo add` of the
/// unpacked SDK package (offline: the package brings its WIT and names
/// every dependency itself) and of `extra` dependencies (`cargo add`
/// arguments), the README's `Cargo.toml` lines, `lib_rs` as `src/lib.rs`,
/// then a build for `wasm32-wasip2`. Returns the component.
pub(crate) fn build_outside(name: &str, extra: &[&[&str]], lib_rs: &str) -> PathBuf {
    let readme = std::fs::read_to_string(workspace_root().join("plugins/sdk/README.md")).unwrap();
    let manifest_lines = &code_blocks(&readme, "toml")[0];
    let outside = tempfile::tempdir().unwrap();
    run(cargo(outside.path()).args(["new", "--lib", "--vcs", "none", "--offline", name]));
    let dir = outside.path().join(name);
    // The versions this checkout builds with: no index is needed, and the
    // dependencies built for the examples are reused.
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    run(cargo(&dir)
        .args(["add", "--offline", "authhost-sdk", "--path"])
        .arg(packaged_sdk()));
    for args in extra {
        run(cargo(&dir).args(["add", "--offline"]).args(*args));
    }
    let mut cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    cargo_toml.push('\n');
    cargo_toml.push_str(manifest_lines);
    std::fs::write(dir.join("Cargo.toml"), cargo_toml).unwrap();
    std::fs::write(dir.join("src/lib.rs"), lib_rs).unwrap();
    let target = workspace_root().join("target").join("examples");
    run(cargo(&dir)
        .args([
            "build",
            "--offline",
            "--target",
            "wasm32-wasip2",
            "--release",
        ])
        .arg("--target-dir")
        .arg(&target));
    target
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")))
}

/// The SDK's README, followed in a temporary folder outside the workspace:
/// `cargo new --lib`, `cargo add` of the unpacked package (offline: the
/// package brings its WIT and names every dependency itself), the README's
/// `Cargo.toml` lines and `src/lib.rs`, a build for `wasm32-wasip2`, then
/// the component installed, logged in with and checked by `authhost`.
#[test]
fn a_provider_made_with_cargo_new_builds_against_the_packaged_sdk() {
    let sdk = packaged_sdk();
    let manifest = std::fs::read_to_string(sdk.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains(".workspace"), "{manifest}");
    assert_eq!(
        std::fs::read(sdk.join("wit/provider.wit")).unwrap(),
        std::fs::read(workspace_root().join("wit/0.3.0/provider.wit")).unwrap(),
        "the packaged WIT is not the repository's"
    );

    let readme = std::fs::read_to_string(workspace_root().join("plugins/sdk/README.md")).unwrap();
    assert!(readme.contains("cargo new --lib hello-provider"));
    assert!(readme.contains("cargo add authhost-sdk --path ../authhost-sdk"));
    let rust = &code_blocks(&readme, "rust")[0];
    let wasm = build_outside("hello-provider", &[], rust);

    let home = Home::new();
    let out = home.run(&["plugins", "inspect", wasm.to_str().unwrap()]);
    assert_success(&out);
    assert!(stdout(&out).contains("Hello (example)"), "{}", stdout(&out));
    let out = home.run(&["plugins", "install", wasm.to_str().unwrap(), "--grant"]);
    assert_success(&out);
    let out = home.run_with_stdin(&["login", "hello"], "k3y-from-outside\n");
    assert_success(&out);
    assert_eq!(stdout(&home.run(&["token", "hello"])), "k3y-from-outside\n");

    // `Check` is the one optional trait: `status --check` runs it.
    let out = home.run(&["status", "hello", "--check", "--json"]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["extra"]["typed"], "at the terminal", "{report}");
    assert_eq!(report[0]["check"]["ok"], true, "{report}");
    assert_eq!(
        report[0]["check"]["account"]["details"][0],
        serde_json::json!(["key", "16 characters"])
    );
}

/// The fields of a form, sorted.
pub(crate) type Form = Vec<(String, String)>;

/// The fields of a form body, sorted, or the error a strict OAuth server
/// answers: the body must be a form framed by its `content-length`.
pub(crate) fn form(req: &Request) -> Result<Form, Response> {
    let framed = req.header("transfer-encoding").is_none()
        && req.header("content-length") == Some(&req.body.len().to_string());
    if !framed || req.header("content-type") != Some("application/x-www-form-urlencoded") {
        return Err(oauth_error(400, "invalid_request", "a form with a length"));
    }
    let mut fields: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect();
    fields.sort();
    Ok(fields)
}

pub(crate) fn fields(pairs: &[(&str, &str)]) -> Form {
    let mut fields: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    fields.sort();
    fields
}

pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A strict device login service: the code `dc-1` (user code `WDJB-MJHT`,
/// polled every second, living `expires_in` seconds), then the answers of
/// `polls` in turn, the last one again and again; refresh token `rt-1` is
/// accepted, and revocations are recorded.
struct Idp {
    server: Server,
    /// When each poll came.
    polled: Arc<Mutex<Vec<Instant>>>,
    /// The fields of each revocation.
    revoked: Arc<Mutex<Vec<Form>>>,
}

fn idp(expires_in: u64, polls: Vec<&'static str>) -> Idp {
    let polled = Arc::new(Mutex::new(Vec::new()));
    let revoked = Arc::new(Mutex::new(Vec::new()));
    let (poll_log, revoke_log) = (polled.clone(), revoked.clone());
    let server = Server::start(move |req| {
        let fields = match form(req) {
            Ok(fields) => fields,
            Err(refused) => return refused,
        };
        let json = |body: String| Response::new(200, "application/json", body);
        match req.target.as_str() {
            "/device"
                if fields == self::fields(&[("client_id", "kit"), ("scope", "offline_access")]) =>
            {
                json(
                    serde_json::json!({
                        "device_code": "dc-1",
                        "user_code": "WDJB-MJHT",
                        "verification_uri": "https://idp.example/activate",
                        "expires_in": expires_in,
                        "interval": 1,
                    })
                    .to_string(),
                )
            }
            "/token"
                if fields
                    == self::fields(&[
                        ("grant_type", DEVICE_GRANT),
                        ("device_code", "dc-1"),
                        ("client_id", "kit"),
                    ]) =>
            {
                let mut log = poll_log.lock().unwrap();
                log.push(Instant::now());
                let answer = polls[(log.len() - 1).min(polls.len() - 1)];
                match answer {
                    "tokens" => json(r#"{"access_token":"at-1","token_type":"Bearer","refresh_token":"rt-1","expires_in":3600}"#.into()),
                    code => oauth_error(400, code, "as scripted"),
                }
            }
            "/token"
                if fields
                    == self::fields(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", "rt-1"),
                        ("client_id", "kit"),
                    ]) =>
            {
                json(r#"{"access_token":"at-2","token_type":"Bearer","expires_in":3600}"#.into())
            }
            "/revoke" => {
                revoke_log.lock().unwrap().push(fields);
                Response::new(200, "text/plain", "")
            }
            _ => oauth_error(400, "invalid_grant", "not a grant this service knows"),
        }
    });
    Idp {
        server,
        polled,
        revoked,
    }
}

/// A home with the device kit as provider `dev`, pointed at `idp` and
/// granted its origin.
fn device_home(idp: &Idp, options: &str) -> Home {
    let home = Home::with_config(&format!(
        "[providers.dev]\nplugin = \"device-kit\"\nbase_url = \"{url}\"\n{options}\n\n\
         [plugins.device-kit]\ngrant = [\"http:{url}\"]\n",
        url = idp.server.url()
    ));
    std::fs::copy(
        workspace_component("device-kit"),
        home.plugins_dir().join("device-kit.wasm"),
    )
    .unwrap();
    home
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// The SDK's device login in a real component: the code and the page are
/// shown on stderr, the token endpoint is polled each second with form
/// bodies, six seconds apart after `slow_down`, and the tokens are stored.
#[test]
fn a_device_login_waits_out_pending_and_slow_down() {
    let idp = idp(600, vec!["authorization_pending", "slow_down", "tokens"]);
    let home = device_home(&idp, "");
    let out = home.run(&["login", "dev"]);
    assert_success(&out);
    // The host marks each line of the plugin's messages with its id.
    let err: Vec<String> = stderr(&out)
        .lines()
        .map(|line| line.trim_start_matches("[device-kit] ").to_owned())
        .collect();
    let err = err.join("\n");
    assert!(
        err.contains(
            "To log in, open\n  https://idp.example/activate\nand enter the code\n  WDJB-MJHT"
        ),
        "{err}"
    );
    assert!(
        err.contains("checking every 1 s; the code expires in 10 min"),
        "{err}"
    );
    let store = home.store_json();
    assert_eq!(store["dev"]["access"], "at-1", "{store}");
    assert_eq!(store["dev"]["refresh"], "rt-1");

    let polled = idp.polled.lock().unwrap().clone();
    assert_eq!(polled.len(), 3);
    let gaps = gaps(&polled);
    assert!(
        gaps[0] >= Duration::from_millis(950) && gaps[0] < Duration::from_secs(5),
        "{gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_millis(5950) && gaps[1] < Duration::from_secs(11),
        "slow_down did not add 5 s: {gaps:?}"
    );
}

/// `access_denied` is a refusal, `expired_token` and the code's lifetime
/// end the wait; none stores anything.
#[test]
fn a_refused_or_expired_device_login_stores_nothing() {
    let idp_denied = idp(600, vec!["authorization_pending", "access_denied"]);
    let home = device_home(&idp_denied, "");
    let out = home.run(&["login", "dev"]);
    assert_fails_with(
        &out,
        "denied: the login was refused on the verification page",
    );
    assert_eq!(idp_denied.polled.lock().unwrap().len(), 2);
    assert_eq!(home.store_json(), serde_json::Value::Null);

    let expired = idp(600, vec!["expired_token"]);
    let home = device_home(&expired, "");
    let out = home.run(&["login", "dev"]);
    assert_fails_with(&out, "the code expired before the login was approved");

    // A code that lives 3 s, polled each second: three polls, then the end,
    // without waiting for the service to say so.
    let short = idp(3, vec!["authorization_pending"]);
    let home = device_home(&short, "");
    let started = Instant::now();
    let out = home.run(&["login", "dev"]);
    assert_fails_with(
        &out,
        "the code expired before the login was approved (after 3 s)",
    );
    // Polling would otherwise go on for the login time limit (15 min).
    assert!(started.elapsed() < Duration::from_secs(120));
    assert!(short.polled.lock().unwrap().len() <= 3);
    assert_eq!(home.store_json(), serde_json::Value::Null);
}

/// The refresh and the revocation go through `oauth::request_token` and
/// `oauth::revoke` (forms again); a refused refresh token is `denied`,
/// which makes `token` ask for a new login with exit code 4.
#[test]
fn refresh_and_revoke_post_forms_and_a_refused_refresh_token_asks_for_a_login() {
    let idp = idp(600, vec!["tokens"]);
    let home = device_home(&idp, "");
    assert_success(&home.run(&["login", "dev"]));
    let out = home.run(&["token", "dev", "--refresh"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "at-2\n");

    let out = home.run(&["logout", "dev"]);
    assert_success(&out);
    assert_eq!(
        *idp.revoked.lock().unwrap(),
        vec![fields(&[
            ("token", "rt-1"),
            ("token_type_hint", "refresh_token"),
            ("client_id", "kit"),
        ])]
    );

    // Another service that knows no refresh token.
    let strict = idp_refusing_refresh();
    let home = device_home(&strict, "");
    assert_success(&home.run(&["login", "dev"]));
    let out = home.run(&["token", "dev", "--refresh"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_fails_with(&out, "has expired or was revoked");
}

/// A device login service whose refresh tokens are never accepted.
fn idp_refusing_refresh() -> Idp {
    let polled = Arc::new(Mutex::new(Vec::new()));
    let server = Server::start(|req| {
        let json = |body: &str| Response::new(200, "application/json", body.to_owned());
        match (req.target.as_str(), form(req)) {
            (_, Err(refused)) => refused,
            ("/device", Ok(_)) => json(
                r#"{"device_code":"dc-2","user_code":"U","verification_uri":"https://idp.example/a","interval":1}"#,
            ),
            ("/token", Ok(f)) if f.contains(&("grant_type".into(), DEVICE_GRANT.into())) => json(
                r#"{"access_token":"at-1","token_type":"Bearer","refresh_token":"rt-old","expires_in":3600}"#,
            ),
            _ => oauth_error(400, "invalid_grant", "refresh token revoked"),
        }
    });
    Idp {
        server,
        polled,
        revoked: Arc::new(Mutex::new(Vec::new())),
    }
}
