//! `authhost login openrouter` end to end against a local fake OpenRouter,
//! with stand-in browsers and a real headless Chromium.

mod fake;
mod raw;

use crate::support;

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
        let sets_timeout = extra
            .lines()
            .any(|line| line.trim_start().starts_with("timeout_ms"));
        let timeout = if sets_timeout {
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
        serde_json::json!({"openrouter": {"type": "api", "key": keys[0], "plugin": "openrouter"}})
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
    // The JSON body went out with its length, not chunked (the fake answers
    // 411 to that).
    let length = exchange.body.len().to_string();
    assert_eq!(exchange.header("content-length"), Some(length.as_str()));
    assert_eq!(exchange.header("transfer-encoding"), None);
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
    let prefix = format!("http://127.0.0.1:{}/callback/", login.port);
    let nonce = callback.strip_prefix(&prefix).expect(&callback);
    assert!(
        nonce.len() >= 22
            && nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{nonce}"
    );
}

/// The fake is as strict as the services it stands for: a key request
/// whose body comes chunked, without a length, gets 411, so the logins
/// above prove that the plugin sends the length.
#[test]
fn the_fake_refuses_a_key_request_without_a_content_length() {
    let fake = FakeOpenRouter::start(Mode::Approve);
    let port: u16 = fake.url().rsplit_once(':').unwrap().1.parse().unwrap();
    let body = r#"{"code":"c","code_verifier":"v","code_challenge_method":"S256"}"#;
    let head =
        "POST /api/v1/auth/keys HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n";
    let chunked = format!(
        "{head}transfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let within = Duration::from_secs(10);
    assert_eq!(
        raw::send(port, chunked.as_bytes(), within, "chunked"),
        raw::Answer::Status(411)
    );
    // With its length the same request passes that check (and is refused
    // for its unknown code).
    let exact = format!("{head}content-length: {}\r\n\r\n{body}", body.len());
    assert_eq!(
        raw::send(port, exact.as_bytes(), within, "with a length"),
        raw::Answer::Status(403)
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

/// A login waiting for its callback: `authhost login openrouter` runs with
/// a browser that only records the URL, and the fake's consent page has
/// already answered that URL with the redirect to the real callback.
struct Waiting {
    login: Login,
    child: Child,
    stderr: Option<std::thread::JoinHandle<String>>,
    /// The real callback URL, with the real code.
    redirect: String,
    /// The port the listener is on.
    port: u16,
    /// The nonce in the callback path.
    nonce: String,
    /// The real code.
    code: String,
}

impl Waiting {
    fn start(mode: Mode) -> Waiting {
        let login = Login::new(mode);
        let mut child = login
            .command(&script("record-url.sh"), &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (_urls, stderr) = watch_stderr(&mut child);
        let auth_url = wait_for_file(&login.url_file);
        let (status, body, redirect) = curl(&auth_url);
        assert_eq!(status, 302, "{body}");
        let url = url::Url::parse(&redirect).unwrap();
        let port = url.port().unwrap();
        let nonce = url.path().strip_prefix("/callback/").unwrap().to_owned();
        let code = url
            .query_pairs()
            .find(|(name, _)| name == "code")
            .unwrap()
            .1
            .into_owned();
        Waiting {
            login,
            child,
            stderr: Some(stderr),
            redirect,
            port,
            nonce,
            code,
        }
    }

    /// `http://localhost:PORT` of the listener.
    fn origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// A raw `METHOD TARGET` request with a `Host` header and no body.
    fn request(&self, method: &str, target: &str) -> Vec<u8> {
        format!(
            "{method} {target} HTTP/1.1\r\nHost: localhost:{}\r\n\r\n",
            self.port
        )
        .into_bytes()
    }

    /// Sends the real callback as the browser would and waits for the login
    /// to end; asserts the success page and status. Returns stderr.
    fn complete(&mut self) -> String {
        let (status, body, _) = curl(&self.redirect);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Logged in to OpenRouter"), "{body}");
        self.finish()
    }

    /// Waits for the login to end; asserts it succeeded. Returns stderr.
    fn finish(&mut self) -> String {
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        assert!(status.success(), "{status}: {stderr}");
        stderr
    }

    /// Asserts that the fake exchanged only the real code, once.
    fn assert_only_the_real_code_was_exchanged(&self) {
        let codes: Vec<String> = self
            .login
            .fake
            .exchanges()
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                body["code"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(codes, std::slice::from_ref(&self.code));
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        // A failed test must not leave the login running.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn a_forged_callback_is_refused_and_the_real_one_completes() {
    let mut waiting = Waiting::start(Mode::Approve);
    let (path_end, query) = waiting.redirect.split_once('?').unwrap();
    let base = path_end.rsplit_once('/').unwrap().0;
    for forged in [
        format!("{base}/wrongnonce?{query}"),
        format!("{base}/../callback/x?{query}"),
        format!("{}/favicon.ico", waiting.origin()),
        format!("{}/", waiting.origin()),
    ] {
        let (status, body, _) = curl(&forged);
        assert_eq!(status, 404, "{forged}: {body}");
    }
    let (status, body, _) = curl(&format!("{path_end}?state=x"));
    assert_eq!(status, 400, "a callback without a code: {body}");
    assert!(
        waiting.login.fake.exchanges().is_empty(),
        "a forged callback was exchanged"
    );
    waiting.complete();
    assert_eq!(waiting.login.fake.keys().len(), 1);
    waiting.assert_only_the_real_code_was_exchanged();
    assert!(waiting.login.home.store_json()["openrouter"]["key"].is_string());
}

/// The longest a request the listener refuses may take to be answered or
/// closed; well below its 10 s limit for sending the request head, so that
/// a request left to that limit counts as a hang.
const PROMPT: Duration = Duration::from_secs(8);
/// The listener's limit for sending a request head (`HEADER_TIMEOUT` in
/// `host/src/loopback.rs`), with a generous margin: slow and idle clients
/// must be cut off within it.
const CUT_OFF: Duration = Duration::from_secs(25);

/// Something like a TLS ClientHello: what a browser sends to an `https://`
/// URL.
fn tls_client_hello() -> Vec<u8> {
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xc4, 0x01, 0x00, 0x00, 0xc0, 0x03, 0x03,
    ];
    hello.extend((0u8..32).map(|i| i.wrapping_mul(37)));
    hello.extend([0x00, 0x00, 0x04, 0x13, 0x01, 0x13, 0x02, 0x01, 0x00]);
    hello.extend(std::iter::repeat_n(0u8, 150));
    hello
}

/// Requests for the callback path (with a forged code) that are not HTTP,
/// or too big to accept.
fn garbage(waiting: &Waiting) -> Vec<(&'static str, Vec<u8>)> {
    let callback = format!("/callback/{}", waiting.nonce);
    let long_line = format!("{callback}?code={}", "a".repeat(1 << 20));
    let mut many_headers = format!("GET {callback}?code=forged-headers HTTP/1.1\r\n");
    for i in 0..10_000 {
        many_headers.push_str(&format!("x-h{i}: {i}\r\n"));
    }
    many_headers.push_str("\r\n");
    let nul = format!("GET {callback}\0?code=forged-nul HTTP/1.1\r\n\r\n");
    vec![
        ("a TLS ClientHello", tls_client_hello()),
        (
            "binary noise",
            (0..4096u32).map(|i| (i * 7919) as u8).collect(),
        ),
        (
            "an HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        ),
        ("a 1 MB request line", waiting.request("GET", &long_line)),
        ("10,000 headers", many_headers.into_bytes()),
        ("a NUL byte in the path", nul.into_bytes()),
    ]
}

/// Look-alikes of `/callback/NONCE` that a lax server would normalise into
/// it, and near misses.
fn lookalike_paths(nonce: &str) -> Vec<String> {
    let encoded: String = nonce.bytes().map(|b| format!("%{b:02X}")).collect();
    let lower_encoded: String = nonce.bytes().map(|b| format!("%{b:02x}")).collect();
    let paths = [
        format!("/callback/../callback/{nonce}"),
        format!("/callback/./{nonce}"),
        format!("/x/../callback/{nonce}"),
        format!("/callback/{encoded}"),
        format!("/callback/{lower_encoded}"),
        format!("/%63allback/{nonce}"),
        format!("/callback%2F{nonce}"),
        format!("/callback/{nonce}/"),
        format!("/callback/{nonce}/."),
        format!("//callback/{nonce}"),
        format!("/callback//{nonce}"),
        format!("/callback/{nonce}%00"),
        format!("/callback/{nonce}%20"),
        format!("/callback/{nonce};x"),
        format!("/CALLBACK/{nonce}"),
        format!("/callback/{}", nonce.to_uppercase()),
        format!("/callback/{}", nonce.to_lowercase()),
        format!("/callback/{}", &nonce[..nonce.len() - 1]),
        format!("/callback/{nonce}x"),
    ];
    // A case change may leave a nonce as it was.
    let exact = format!("/callback/{nonce}");
    paths.into_iter().filter(|p| *p != exact).collect()
}

#[test]
fn hostile_requests_to_the_callback_port_are_refused_and_the_real_callback_completes() {
    let mut waiting = Waiting::start(Mode::Approve);
    let (port, callback) = (waiting.port, format!("/callback/{}", waiting.nonce));
    // A slow client on the callback path, one byte a second, all along.
    let slow = raw::Dribbler::start(
        port,
        waiting.request("GET", &format!("{callback}?code=forged-slowly")),
        CUT_OFF,
    );

    for (what, bytes) in garbage(&waiting) {
        let answer = raw::send(port, &bytes, PROMPT, what);
        assert!(answer.is_refusal(), "{what}: {answer:?}");
        assert_ne!(answer, raw::Answer::Refused, "{what}: the listener is gone");
    }
    // The right path with a code (or a denial), but not a GET.
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"] {
        for query in [
            format!("code=forged-{method}"),
            "error=access_denied".into(),
        ] {
            let target = format!("{callback}?{query}");
            let answer = raw::send(port, &waiting.request(method, &target), PROMPT, method);
            assert_eq!(answer, raw::Answer::Status(404), "{method} {target}");
        }
    }
    let announced = format!(
        "POST {callback}?code=forged-body HTTP/1.1\r\nHost: localhost\r\n\
         content-length: 1000000\r\n\r\ncode=forged-in-body"
    );
    let answer = raw::send(port, announced.as_bytes(), PROMPT, "a body never sent");
    assert_eq!(answer, raw::Answer::Status(404));
    // Look-alike paths, with a code or a denial.
    for path in lookalike_paths(&waiting.nonce) {
        for query in ["code=forged", "error=access_denied"] {
            let target = format!("{path}?{query}");
            let answer = raw::send(port, &waiting.request("GET", &target), PROMPT, &target);
            assert_eq!(answer, raw::Answer::Status(404), "{target}");
        }
    }

    assert!(
        waiting.login.fake.exchanges().is_empty(),
        "a hostile request was exchanged: {:?}",
        waiting.login.fake.exchanges()
    );
    // All of that was answered while the slow client was still sending...
    assert!(!slow.ended(), "the slow client was cut off too early");
    // ...which it could not do for long.
    let slow = slow.join();
    assert!(
        slow.answer.as_ref().is_some_and(raw::Answer::is_refusal) && slow.after < CUT_OFF,
        "the slow client was not cut off in time: {slow:?}"
    );

    let stderr = waiting.complete();
    waiting.assert_only_the_real_code_was_exchanged();
    let key = &waiting.login.fake.keys()[0];
    assert_eq!(
        waiting.login.home.store_json(),
        serde_json::json!({"openrouter": {"type": "api", "key": key, "plugin": "openrouter"}})
    );
    assert!(
        !stderr.contains(key) && !stderr.contains(&waiting.code),
        "{stderr}"
    );
}

#[test]
fn held_connections_are_cut_off_and_the_real_callback_then_completes() {
    let mut waiting = Waiting::start(Mode::Approve);
    let opened = std::time::Instant::now();
    let mut held: Vec<std::net::TcpStream> = (0..200)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", waiting.port)).unwrap())
        .collect();
    // Beyond the listener's limit on open connections, it closes them at
    // once; it closes the others when they have sent no request in time.
    std::thread::sleep(Duration::from_secs(1));
    let at_once = held.iter().filter(|s| raw::ended_already(s)).count();
    let deadline = opened + CUT_OFF;
    for (i, stream) in held.iter_mut().enumerate() {
        let answer = raw::read_to_end(stream, deadline).unwrap_or_else(|got| {
            panic!(
                "held connection {i} still open after {CUT_OFF:?} (got {:?})",
                String::from_utf8_lossy(&got)
            )
        });
        assert!(answer.is_refusal(), "held connection {i}: {answer:?}");
    }
    drop(held);
    assert!(at_once > 0, "all 200 connections were kept open");
    assert!(waiting.login.fake.exchanges().is_empty());

    waiting.complete();
    waiting.assert_only_the_real_code_was_exchanged();
    assert!(waiting.login.home.store_json()["openrouter"]["key"].is_string());
}

#[test]
fn a_second_callback_is_refused_and_the_stored_key_is_unchanged() {
    let mut waiting = Waiting::start(Mode::SlowExchange);
    let browser = {
        let redirect = waiting.redirect.clone();
        std::thread::spawn(move || curl(&redirect))
    };
    // The first callback is being exchanged: a second one, with the real
    // code or another, waits at most until the login ends.
    assert!(
        waiting
            .login
            .fake
            .wait_for_exchange(Duration::from_secs(30)),
        "the real callback was not exchanged"
    );
    let replay = format!("/callback/{}?code={}", waiting.nonce, waiting.code);
    let other = format!("/callback/{}?code=forged-second", waiting.nonce);
    assert_all_refused(&waiting, &[&replay, &other]);
    let (status, body, _) = browser.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Logged in to OpenRouter"), "{body}");
    waiting.finish();
    let stored = waiting.login.home.store_json();
    assert!(stored["openrouter"]["key"].is_string(), "{stored}");

    // After the login, nothing listens any more.
    assert_all_refused(&waiting, &[&replay, &other]);
    waiting.assert_only_the_real_code_was_exchanged();
    assert_eq!(waiting.login.home.store_json(), stored);
}

/// Sends a GET of each target to the listener; asserts each is refused.
#[track_caller]
fn assert_all_refused(waiting: &Waiting, targets: &[&str]) {
    for target in targets {
        let answer = raw::send(
            waiting.port,
            &waiting.request("GET", target),
            PROMPT,
            target,
        );
        assert!(answer.is_refusal(), "{target}: {answer:?}");
    }
}

#[test]
fn the_callback_listener_listens_on_127_0_0_1_only() {
    let mut waiting = Waiting::start(Mode::Approve);
    let port = waiting.port;
    // 127.0.0.1 in /proc/net/tcp's byte order.
    assert_eq!(raw::listening_addresses(port), ["0100007F"]);
    let refused = |addr: std::net::SocketAddr| {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err()
    };
    assert!(refused((std::net::Ipv6Addr::LOCALHOST, port).into()));
    if let Some(ip) = raw::non_loopback_ipv4() {
        assert!(refused((ip, port).into()), "reachable on {ip}:{port}");
    }
    waiting.complete();
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

/// The paste fallback at a real terminal: while the login waits for the
/// browser, the redirect URL pasted at the terminal completes it.
#[test]
fn pasting_the_redirect_url_at_a_real_terminal_completes_the_login() {
    use support::pty::{Step, run_command_at_terminal};
    let login = Login::new(Mode::Approve);
    let paste = login.home.path().join("paste.txt");
    let url_file = login.url_file.clone();
    let paste_file = paste.clone();
    // The browser elsewhere: it follows the login URL to OpenRouter's
    // redirect, which the user copies.
    let browser = std::thread::spawn(move || {
        for _ in 0..600 {
            if let Ok(url) = std::fs::read_to_string(&url_file)
                && !url.trim().is_empty()
            {
                let (status, _, redirect) = curl(url.trim());
                assert_eq!(status, 302);
                std::fs::write(&paste_file, redirect).unwrap();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no login URL recorded");
    });
    let record = format!(
        "BROWSER={}",
        support::workspace_root()
            .join("tests/openrouter/record-url.sh")
            .display()
    );
    let url_env = format!("AUTHHOST_TEST_URL_FILE={}", login.url_file.display());
    let command = [
        "env",
        &record,
        &url_env,
        support::authhost_bin(),
        "login",
        "openrouter",
    ];
    let steps = [
        Step::Expect("paste the redirect URL"),
        Step::SendFile(&paste),
        Step::Expect("Logged in to openrouter"),
    ];
    let out = run_command_at_terminal(&login.home, &command, &steps, 60);
    browser.join().unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
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

/// `status --check` asks OpenRouter's key endpoint about the stored key.
#[test]
fn status_check_asks_openrouter_about_the_key() {
    let login = Login::new(Mode::Approve);
    assert_success(&login.run(&script("curl-browser.sh")));
    let key = login.fake.keys()[0].clone();
    let out = login
        .home
        .run(&["status", "openrouter", "--check", "--json"]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = &report[0]["check"];
    assert_eq!(check["ok"], true, "{report}");
    assert_eq!(
        check["account"]["account"],
        format!("{}...{}", &key[..12], &key[key.len() - 3..])
    );
    let details = check["account"]["details"].to_string();
    assert!(
        details.contains("$1.25") && details.contains("$10.00 (monthly)"),
        "{details}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&key));

    // A key OpenRouter does not know: the check fails in words.
    std::fs::write(
        login.home.store_path(),
        r#"{"openrouter": {"type": "api", "key": "sk-or-v1-deleted"}}"#,
    )
    .unwrap();
    let out = login.home.run(&["status", "openrouter", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("does not accept the stored key"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unknown_options_are_named() {
    let login = Login::with_options(Mode::Approve, "callback = 3");
    let out = login.run(&script("curl-browser.sh"));
    assert_fails_with(&out, "[providers.openrouter] has an unknown key `callback`");
    assert!(stderr(&out).contains("`callback_port`"), "{}", stderr(&out));
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

/// Idle clients holding every connection slot of the listener cannot lock
/// the browser out: a new connection takes the slot of the oldest one that
/// has sent no request.
#[test]
fn the_real_callback_gets_through_while_idle_connections_are_held() {
    let mut waiting = Waiting::start(Mode::Approve);
    let _held: Vec<std::net::TcpStream> = (0..200)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", waiting.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    waiting.complete();
    waiting.assert_only_the_real_code_was_exchanged();
}

/// Asserts that neither stdout nor stderr of `out` shows a code or a
/// verifier the fake received, nor any key (whole or in part).
#[track_caller]
fn assert_no_secret_printed(login: &Login, out: &std::process::Output) {
    let printed = format!("{}{}", stdout(out), stderr(out));
    let exchanges = login.fake.exchanges();
    assert!(!exchanges.is_empty(), "the code was never exchanged");
    for exchange in exchanges {
        let body: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
        for field in ["code", "code_verifier"] {
            let secret = body[field].as_str().unwrap();
            assert!(!printed.contains(secret), "{field} printed:\n{printed}");
        }
    }
    assert!(
        !printed.contains("sk-or-v1-"),
        "a key was printed:\n{printed}"
    );
}

/// Runs a login whose key exchange the fake answers in `mode` (with `extra`
/// configuration); asserts that it fails within `within` saying `expected`,
/// stores nothing and prints no secret. Returns the page the browser got.
#[track_caller]
fn assert_exchange_fails(mode: Mode, extra: &str, expected: &str, within: Duration) -> String {
    let login = Login::with_options(mode, extra);
    let started = std::time::Instant::now();
    let out = login.run(&script("curl-browser.sh"));
    let took = started.elapsed();
    assert_fails_with(&out, expected);
    assert!(took < within, "{mode:?}: the login took {took:?}");
    login.assert_nothing_stored();
    assert_no_secret_printed(&login, &out);
    let page = login.page();
    assert!(!page.contains("sk-or-v1-"), "{mode:?}: {page}");
    page
}

#[test]
fn hostile_key_exchange_answers_end_the_login_with_a_clear_error() {
    let quickly = Duration::from_secs(15);
    for (mode, expected) in [
        (
            Mode::HtmlPage,
            "with an HTML page (is a proxy in the way?), without a `key` in a JSON object",
        ),
        (Mode::Truncated, "failed while reading the answer"),
        (Mode::Huge, "with a body over 64 KiB"),
        (Mode::HugeUntilClose, "with a body over 64 KiB"),
    ] {
        let page = assert_exchange_fails(mode, "", expected, quickly);
        assert!(page.contains("login failed"), "{mode:?}: {page}");
    }
}

#[test]
fn a_key_exchange_answer_that_never_ends_is_stopped_by_the_login_timeout() {
    // The plugin gives the whole exchange 60 s; the host's login timeout
    // stops it sooner.
    assert_exchange_fails(
        Mode::SlowBody,
        "[limits]\nlogin_timeout_ms = 5000",
        "did not answer within 5000 ms (limit `login_timeout_ms`)",
        Duration::from_secs(20),
    );
}

/// The plugin reads the key from a 200's body whatever its content type:
/// what counts is a JSON object with a non-empty `key`.
#[test]
fn a_json_key_labelled_text_html_is_accepted() {
    let login = Login::new(Mode::JsonAsHtml);
    let out = login.run(&script("curl-browser.sh"));
    assert_success(&out);
    let keys = login.fake.keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        stdout(&login.home.run(&["token", "openrouter"])),
        format!("{}\n", keys[0])
    );
    assert_no_secret_printed(&login, &out);
}
