//! `authhost login openrouter` end to end against a local fake OpenRouter,
//! with stand-in browsers and a real headless Chromium.

#[path = "openrouter/fake.rs"]
mod fake;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fake::{FakeOpenRouter, Mode};
use support::{Home, assert_fails_with, assert_success, stderr, stdout};

fn script(name: &str) -> PathBuf {
    support::workspace_root()
        .join("tests/openrouter")
        .join(name)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Login {
    home: Home,
    fake: FakeOpenRouter,
    port: u16,
    page: PathBuf,
    url_file: PathBuf,
}

impl Login {
    fn new(mode: Mode) -> Login {
        Login::with_options(mode, "")
    }

    fn with_options(mode: Mode, extra: &str) -> Login {
        let fake = FakeOpenRouter::start(mode);
        let port = free_port();
        // Every login gives up after a minute at most, so no test hangs.
        let timeout = if extra.contains("timeout_ms") {
            ""
        } else {
            "timeout_ms = 60000"
        };
        let home = Home::with_config(&format!(
            "[providers.openrouter]\nbase_url = \"{}\"\ncallback_port = {port}\n{timeout}\n{extra}\n",
            fake.url()
        ));
        let page = home.path().join("page.html");
        let url_file = home.path().join("url.txt");
        Login {
            home,
            fake,
            port,
            page,
            url_file,
        }
    }

    /// `authhost login openrouter ARGS` with `browser` as BROWSER.
    fn command(&self, browser: &Path, args: &[&str]) -> std::process::Command {
        let mut cmd = self.home.cmd();
        cmd.args(["login", "openrouter"])
            .args(args)
            .env("BROWSER", browser)
            .env("AUTHHOST_TEST_PAGE", &self.page)
            .env("AUTHHOST_TEST_URL_FILE", &self.url_file);
        cmd
    }

    fn run(&self, browser: &Path) -> std::process::Output {
        self.command(browser, &[]).output().unwrap()
    }

    fn page(&self) -> String {
        for _ in 0..100 {
            if let Ok(text) = std::fs::read_to_string(&self.page)
                && !text.is_empty()
            {
                return text;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        String::new()
    }

    fn assert_nothing_stored(&self) {
        assert_eq!(self.home.store_json(), serde_json::Value::Null);
        let out = self.home.run(&["token", "openrouter"]);
        assert!(!out.status.success());
    }
}

/// `curl URL`: (status, body, redirect target).
fn curl(url: &str) -> (u16, String, String) {
    let out = std::process::Command::new("curl")
        .args([
            "--silent",
            "--max-time",
            "30",
            "--write-out",
            "\n%{http_code} %{redirect_url}",
            url,
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    let (body, meta) = text.rsplit_once('\n').unwrap();
    let (status, redirect) = meta.split_once(' ').unwrap_or((meta, ""));
    (
        status.parse().unwrap_or(0),
        body.to_owned(),
        redirect.to_owned(),
    )
}

/// The login URL printed on stderr, read while the process runs.
fn watch_stderr(child: &mut Child) -> (mpsc::Receiver<String>, std::thread::JoinHandle<String>) {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let all = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            if let Some(url) = line
                .trim()
                .strip_prefix("http")
                .map(|rest| format!("http{rest}"))
            {
                let _ = tx.send(url);
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (rx, all)
}

#[test]
fn login_stores_the_key_and_the_browser_gets_the_success_page() {
    let login = Login::new(Mode::Approve);
    let out = login.run(&script("curl-browser.sh"));
    assert_success(&out);
    let keys = login.fake.keys();
    assert_eq!(keys.len(), 1);
    assert!(
        stderr(&out).contains("Logged in to openrouter"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(&keys[0]), "the key was printed");
    assert!(
        login.page().contains("Logged in to OpenRouter"),
        "{}",
        login.page()
    );

    assert_eq!(
        stdout(&login.home.run(&["token", "openrouter"])),
        format!("{}\n", keys[0])
    );
    assert_eq!(
        login.home.store_json(),
        serde_json::json!({"openrouter": {"type": "api", "key": keys[0]}})
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(login.home.store_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    // The fake accepted every request the plugin and the browser made.
    for seen in login.fake.seen() {
        assert!(
            seen.status < 400,
            "{} {} -> {}",
            seen.request.method,
            seen.request.target,
            seen.status
        );
    }
    let exchange = &login.fake.exchanges()[0];
    assert_eq!(exchange.header("x-title"), Some("authhost"));
    assert!(exchange.header("http-referer").is_some());
    // Neither the code nor the verifier shows up on the terminal.
    let body: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    for secret in ["code", "code_verifier"] {
        let value = body[secret].as_str().unwrap();
        assert!(
            !stderr(&out).contains(value),
            "{secret} printed: {}",
            stderr(&out)
        );
    }
    // The callback path carries a nonce of at least 128 bits.
    let auth_url = stderr(&out)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{}/auth?", login.fake.url()))
                .map(str::to_owned)
        })
        .expect("auth URL printed");
    let callback = url::form_urlencoded::parse(auth_url.as_bytes())
        .find(|(k, _)| k == "callback_url")
        .unwrap()
        .1
        .into_owned();
    let prefix = format!("http://localhost:{}/callback/", login.port);
    let nonce = callback.strip_prefix(&prefix).expect(&callback);
    assert!(
        nonce.len() >= 22
            && nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{nonce}"
    );
}

#[test]
fn a_denied_login_stores_nothing() {
    let login = Login::new(Mode::Deny);
    let out = login.run(&script("curl-browser.sh"));
    assert_fails_with(&out, "denied: access_denied");
    assert!(login.page().contains("denied"), "{}", login.page());
    login.assert_nothing_stored();
}

#[test]
fn a_wrong_verifier_is_refused_by_the_service() {
    let login = Login::new(Mode::WrongChallenge);
    let out = login.run(&script("curl-browser.sh"));
    assert_fails_with(&out, "refused the code or the verifier (403");
    assert!(login.page().contains("login failed"), "{}", login.page());
    login.assert_nothing_stored();
}

#[test]
fn service_errors_and_malformed_answers_store_nothing() {
    for (mode, expected) in [
        (Mode::ServerError, "answered 502: upstream unavailable"),
        (Mode::Malformed, "without a `key`"),
    ] {
        let login = Login::new(mode);
        let out = login.run(&script("curl-browser.sh"));
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains(expected),
            "{mode:?}: {}",
            stderr(&out)
        );
        login.assert_nothing_stored();
    }
}

#[test]
fn a_busy_callback_port_falls_back_to_a_free_one() {
    let login = Login::new(Mode::Approve);
    let _occupied = std::net::TcpListener::bind(("127.0.0.1", login.port)).unwrap();
    let out = login.run(&script("curl-browser.sh"));
    assert_success(&out);
    assert!(
        stderr(&out).contains(&format!("Port {} is in use; listening on port", login.port)),
        "{}",
        stderr(&out)
    );
    assert_eq!(login.fake.keys().len(), 1);
}

#[test]
fn a_forged_callback_is_refused_and_the_real_one_completes() {
    let login = Login::new(Mode::Approve);
    let mut child = login
        .command(&script("record-url.sh"), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_urls, all) = watch_stderr(&mut child);
    let auth_url = wait_for_file(&login.url_file);
    let (status, _, redirect) = curl(&auth_url);
    assert_eq!(status, 302);
    let (path_end, query) = redirect.split_once('?').unwrap();
    let base = path_end.rsplit_once('/').unwrap().0;
    for forged in [
        format!("{base}/wrongnonce?{query}"),
        format!("{base}/../callback/x?{query}"),
        format!("http://localhost:{}/favicon.ico", login.port),
        format!("http://localhost:{}/", login.port),
    ] {
        let (status, body, _) = curl(&forged);
        assert_eq!(status, 404, "{forged}: {body}");
    }
    let (status, body, _) = curl(&format!("{path_end}?state=x"));
    assert_eq!(status, 400, "a callback without a code: {body}");
    assert!(
        login.fake.exchanges().is_empty(),
        "a forged callback was exchanged"
    );
    let (status, body, _) = curl(&redirect);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Logged in to OpenRouter"));
    assert!(child.wait().unwrap().success(), "{}", all.join().unwrap());
    assert_eq!(login.fake.keys().len(), 1);
    assert_eq!(login.fake.exchanges().len(), 1);
    assert!(login.home.store_json()["openrouter"]["key"].is_string());
}

fn wait_for_file(path: &Path) -> String {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text.trim().to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

/// Runs `login --no-browser`, pastes the lines `paste` makes of the
/// redirect URL.
fn login_by_pasting(paste: impl Fn(&str) -> String) -> (Login, String) {
    let login = Login::new(Mode::Approve);
    let mut child = login
        .command(Path::new("/bin/false"), &["--no-browser"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (urls, all) = watch_stderr(&mut child);
    let auth_url = urls
        .recv_timeout(Duration::from_secs(30))
        .expect("no login URL printed");
    assert!(auth_url.contains("/auth?callback_url="), "{auth_url}");
    let (status, _, redirect) = curl(&auth_url);
    assert_eq!(status, 302);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", paste(&redirect)).unwrap();
    let ok = child.wait().unwrap().success();
    let err = all.join().unwrap();
    assert!(ok, "{err}");
    (login, err)
}

#[test]
fn pasting_the_redirect_url_completes_the_login() {
    let (login, err) = login_by_pasting(|redirect| redirect.to_owned());
    assert!(err.contains("paste the redirect URL"), "{err}");
    assert_eq!(login.fake.keys().len(), 1);
    let key = &login.fake.keys()[0];
    assert_eq!(
        stdout(&login.home.run(&["token", "openrouter"])),
        format!("{key}\n")
    );
}

#[test]
fn a_pasted_url_of_another_login_is_reported_and_the_wait_goes_on() {
    let (login, err) = login_by_pasting(|redirect| {
        let (path, query) = redirect.split_once('?').unwrap();
        let other = format!("{}/other-nonce?{query}", path.rsplit_once('/').unwrap().0);
        format!("{other}\nnot a url at all\n{redirect}")
    });
    assert!(err.contains("not the redirect of this login"), "{err}");
    assert!(err.contains("neither the redirect URL nor a code"), "{err}");
    assert_eq!(login.fake.exchanges().len(), 1);
    assert_eq!(login.fake.keys().len(), 1);
}

#[test]
fn pasting_just_the_code_completes_the_login() {
    let (login, _) =
        login_by_pasting(|redirect| redirect.split_once("code=").unwrap().1.to_owned());
    assert_eq!(login.fake.keys().len(), 1);
}

#[test]
fn waiting_ends_with_a_timeout_and_stores_nothing() {
    let login = Login::with_options(Mode::Approve, "timeout_ms = 800");
    let started = std::time::Instant::now();
    let out = login
        .command(Path::new("/bin/true"), &["--no-browser"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr(&out).contains("no callback from the browser within"),
        "{}",
        stderr(&out)
    );
    login.assert_nothing_stored();
}

#[test]
fn unknown_options_are_named() {
    let login = Login::with_options(Mode::Approve, "callback = 3");
    let out = login.run(&script("curl-browser.sh"));
    assert_fails_with(&out, "unknown field `callback`");
}

#[test]
fn headless_chromium_completes_the_login() {
    assert!(
        std::process::Command::new("chromium")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "Chromium is required for this test: run tests/run.sh, which installs it"
    );
    let login = Login::new(Mode::Approve);
    let out = login.run(&script("headless-chromium.sh"));
    assert_success(&out);
    assert_eq!(login.fake.keys().len(), 1);
    let page = login.page();
    assert!(
        page.contains("Logged in to OpenRouter") && page.contains("You can close this tab"),
        "{page}"
    );
    let key = &login.fake.keys()[0];
    assert_eq!(
        stdout(&login.home.run(&["token", "openrouter"])),
        format!("{key}\n")
    );
}
