//! The built-in `oauth2` provider against a real OpenID Connect provider
//! (`tests/idp`: the npm package `oidc-provider`, a public native client
//! with PKCE required, rotating refresh tokens, short-lived access tokens
//! and the device flow), with real browsers: headless Chromium through the
//! IdP's own login and consent pages, curl, and a user agent written here
//! that stops before the redirect so a test can tamper with it.

use crate::support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::idp::{self, HttpResponse, Idp, IdpOptions, Interactions};
use support::{Home, assert_fails_with, assert_success, stderr, stdout};

/// The most any login in these tests may take.
pub(crate) const LOGIN_WITHIN: Duration = Duration::from_secs(90);

fn script(path: &str) -> PathBuf {
    support::workspace_root().join(path)
}

/// `BROWSER` for curl following the redirects with cookies.
fn curl_browser() -> String {
    script("tests/oauth2/curl-browser.sh").display().to_string()
}

/// `BROWSER` for a browser that only writes the URL to
/// `$AUTHHOST_TEST_URL_FILE`.
pub(crate) fn recording_browser() -> String {
    script("tests/openrouter/record-url.sh")
        .display()
        .to_string()
}

/// `BROWSER` for headless Chromium filling in the IdP's forms.
fn chromium_browser() -> String {
    format!("node '{}'", script("tests/idp/browser.mjs").display())
}

/// An IdP and a home whose `[providers.corp]` logs in to it.
struct Corp {
    idp: Idp,
    home: Home,
}

impl Corp {
    /// The IdP with `options`, and `corp` with the usual options plus
    /// `extra` lines.
    fn start(options: IdpOptions, extra: &str) -> Corp {
        let idp = Idp::start(options);
        let home = Home::with_config(&config(&format!(
            "issuer = \"{}\"\nclient_id = \"{}\"\n{extra}",
            idp.issuer(),
            idp.client_id()
        )));
        Corp { idp, home }
    }

    fn auto() -> Corp {
        Corp::start(IdpOptions::default(), "")
    }

    /// Access tokens that live `seconds`.
    fn short_lived(seconds: u64) -> Corp {
        Corp::start(
            IdpOptions {
                access_ttl: seconds,
                ..IdpOptions::default()
            },
            "",
        )
    }

    fn page_file(&self) -> PathBuf {
        self.home.path().join("page.html")
    }

    fn url_file(&self) -> PathBuf {
        self.home.path().join("url.txt")
    }

    /// `authhost login corp ARGS` with `browser` as BROWSER.
    fn login_command(&self, browser: &str, args: &[&str]) -> Command {
        login_command(&self.home, browser, args)
    }

    /// Runs `authhost login corp ARGS` to its end.
    fn login(&self, browser: &str, args: &[&str]) -> Output {
        Running::start(self.login_command(browser, args)).finish(LOGIN_WITHIN)
    }

    /// The page the browser stand-in saved.
    fn page(&self) -> String {
        wait_for_file(&self.page_file())
    }

    /// What `auth.json` holds for `corp`.
    fn stored(&self) -> Value {
        self.home.store_json()["corp"].clone()
    }

    fn assert_nothing_stored(&self) {
        assert_nothing_stored(&self.home);
    }

    /// Logs in with curl; returns the stored credential.
    fn logged_in(&self) -> Value {
        let out = self.login(&curl_browser(), &[]);
        assert_success(&out);
        self.stored()
    }

    /// Waits until the stored access token has expired.
    fn wait_for_expiry(&self) {
        let expires = self.stored()["expires"].as_u64().expect("an expiry");
        let now = now_ms();
        if expires + 100 > now {
            std::thread::sleep(Duration::from_millis(expires + 100 - now));
        }
    }

    /// `grant.success` events with this grant type, after waiting for
    /// `at_least`.
    fn grants(&self, grant_type: &str, at_least: usize) -> usize {
        self.idp
            .wait_for_count("grant.success", Some(grant_type), at_least)
    }
}

/// A `config.toml` with `[providers.corp]` of plugin `oauth2` holding
/// `options`; access tokens are refreshed when they have expired, not
/// before, and every login gives up after a minute.
fn config(options: &str) -> String {
    format!(
        "[providers.corp]\nplugin = \"oauth2\"\nscopes = [\"openid\", \"offline_access\", \"email\"]\n\
         {options}\n\n[credentials]\nrefresh_margin_s = 0\n\n[limits]\nlogin_timeout_ms = 60000\n"
    )
}

fn login_command(home: &Home, browser: &str, args: &[&str]) -> Command {
    let mut cmd = home.cmd();
    cmd.args(["login", "corp"])
        .args(args)
        .env("BROWSER", browser)
        .env("AUTHHOST_TEST_PAGE", home.path().join("page.html"))
        .env("AUTHHOST_TEST_URL_FILE", home.path().join("url.txt"));
    cmd
}

#[track_caller]
fn assert_nothing_stored(home: &Home) {
    let stored = home.store_json();
    assert!(
        stored.is_null() || stored.get("corp").is_none(),
        "something was stored: {stored}"
    );
    let out = home.run(&["token", "corp"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub(crate) fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text.trim().to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

/// The value of query parameter `name` in `url`.
fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no `{name}` in {url}"))
        .1
        .into_owned()
}

/// `url` with query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

/// An `authhost` process whose stderr is read line by line as it comes.
pub(crate) struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    all: Option<std::thread::JoinHandle<String>>,
}

impl Running {
    pub(crate) fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let all = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(err).lines() {
                let line = line.unwrap_or_default();
                let _ = tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        Running {
            child,
            lines,
            all: Some(all),
        }
    }

    /// With stdin piped, for pasting.
    fn start_with_stdin(mut cmd: Command) -> Running {
        cmd.stdin(Stdio::piped());
        Running::start(cmd)
    }

    /// The next stderr line for which `pick` gives something.
    fn line<T>(&self, mut pick: impl FnMut(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(found) = pick(&line) {
                        return found;
                    }
                }
                Err(e) => panic!("the expected line never came ({e:?})"),
            }
        }
    }

    fn paste(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin piped");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the end (killing it after `within`): its output.
    pub(crate) fn finish(mut self, within: Duration) -> Output {
        let deadline = Instant::now() + within;
        let status: ExitStatus = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let err = self.all.take().unwrap().join().unwrap();
                panic!("still running after {within:?}; stderr:\n{err}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = Vec::new();
        if let Some(mut pipe) = self.child.stdout.take() {
            use std::io::Read;
            pipe.read_to_end(&mut out).unwrap();
        }
        Output {
            status,
            stdout: out,
            stderr: self.all.take().unwrap().join().unwrap().into_bytes(),
        }
    }

    /// Sends SIGINT (Ctrl-C).
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A browser's cookies: (name, value, path).
#[derive(Default)]
struct Jar(Vec<(String, String, String)>);

impl Jar {
    /// The `cookie` header for a request to `path`.
    fn header(&self, path: &str) -> String {
        self.0
            .iter()
            .filter(|(_, _, p)| path.starts_with(p.as_str()))
            .map(|(n, v, _)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn store(&mut self, response: &HttpResponse) {
        for (name, value) in &response.headers {
            if name != "set-cookie" {
                continue;
            }
            let mut parts = value.split(';').map(str::trim);
            let Some((cookie, content)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let path = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.eq_ignore_ascii_case("path"))
                .map_or("/", |(_, v)| v)
                .to_owned();
            self.0.retain(|(n, _, p)| !(n == cookie && *p == path));
            self.0.push((cookie.to_owned(), content.to_owned(), path));
        }
    }
}

/// A user at a browser, in plain HTTP: cookies, and redirects followed
/// while they stay at the IdP.
pub(crate) struct Agent<'a> {
    idp: &'a Idp,
    jar: Jar,
}

impl<'a> Agent<'a> {
    pub(crate) fn new(idp: &'a Idp) -> Agent<'a> {
        Agent {
            idp,
            jar: Jar::default(),
        }
    }

    fn headers(&self, url: &str) -> Vec<(String, String)> {
        let path = url
            .strip_prefix("http://")
            .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        let cookie = self.jar.header(path);
        if cookie.is_empty() {
            Vec::new()
        } else {
            vec![("cookie".into(), cookie)]
        }
    }

    fn get(&mut self, url: &str) -> HttpResponse {
        let headers = self.headers(url);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = idp::get(url, &headers);
        self.jar.store(&response);
        response
    }

    fn post(&mut self, url: &str, form: &[(&str, &str)]) -> HttpResponse {
        let headers = self.headers(url);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = idp::post_form(url, &headers, form);
        self.jar.store(&response);
        response
    }

    /// Follows redirects while they stay at the IdP: the last answer, and
    /// where it redirects to outside the IdP, if it does.
    fn follow(&mut self, mut response: HttpResponse) -> (HttpResponse, Option<String>) {
        for _ in 0..10 {
            if !(300..400).contains(&response.status) {
                return (response, None);
            }
            let location = response.header("location").expect("a location").to_owned();
            let next = if location.starts_with('/') {
                self.idp.url(&location)
            } else {
                location
            };
            if !next.starts_with(&format!("{}/", self.idp.issuer())) {
                return (response, Some(next));
            }
            response = self.get(&next);
        }
        panic!("more than 10 redirects");
    }

    /// Logs in at `auth_url` (`--interactions auto`) and returns the
    /// redirect the IdP sends the browser, without following it.
    fn authorize(&mut self, auth_url: &str) -> String {
        let response = self.get(auth_url);
        let (last, redirect) = self.follow(response);
        redirect.unwrap_or_else(|| panic!("no redirect back: {} {}", last.status, last.text()))
    }

    /// Approves a device login at `page` (the verification URI, or the
    /// complete one), entering `user_code` when given.
    pub(crate) fn approve_device(&mut self, page: &str, user_code: Option<&str>) {
        let form = self.get(page);
        assert_eq!(form.status, 200, "{}", form.text());
        let html = form.text();
        let hidden = |name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = html.find(&marker).map(|i| i + marker.len())?;
            Some(html[start..].split('"').next()?.to_owned())
        };
        let xsrf = hidden("xsrf").expect("an xsrf field");
        let code = user_code
            .map(str::to_owned)
            .or_else(|| hidden("user_code"))
            .expect("a user code");
        let answer = self.post(
            &self.idp.url("/device"),
            &[("xsrf", &xsrf), ("user_code", &code), ("confirm", "yes")],
        );
        let (done, _) = self.follow(answer);
        assert_eq!(done.status, 200, "{}", done.text());
        assert!(done.text().contains("Success"), "{}", done.text());
    }
}

// --- browser logins -----------------------------------------------------

#[test]
fn headless_chromium_logs_in_through_the_idp_pages() {
    let corp = Corp::start(
        IdpOptions {
            interactions: Interactions::Forms,
            ..IdpOptions::default()
        },
        "",
    );
    let out = corp.login(&chromium_browser(), &[]);
    assert_success(&out);
    let page = corp.page();
    assert!(
        page.contains("Logged in to corp") && page.contains("You can close this tab"),
        "{page}"
    );
    assert_eq!(corp.grants("authorization_code", 1), 1);

    let stored = corp.stored();
    assert_eq!(stored["type"], "oauth", "{stored}");
    assert_eq!(stored["sub"], "carol", "{stored}");
    assert_eq!(stored["issuer"], corp.idp.issuer());
    assert!(stored["refresh"].is_string() && stored["expires"].is_u64());
    let access = stored["access"].as_str().unwrap();
    for secret in [access, stored["refresh"].as_str().unwrap()] {
        assert!(!stderr(&out).contains(secret), "{}", stderr(&out));
    }
    let token = corp.home.run(&["token", "corp"]);
    assert_success(&token);
    assert_eq!(stdout(&token), format!("{access}\n"));

    let status = corp.home.run(&["status", "corp", "--check"]);
    assert_success(&status);
    let text = stdout(&status);
    assert!(
        text.contains("carol@example.com") && text.contains("the userinfo endpoint"),
        "{text}"
    );

    let logout = corp.home.run(&["logout", "corp"]);
    assert_success(&logout);
    assert!(
        stderr(&logout).contains("Revoked the login of corp"),
        "{}",
        stderr(&logout)
    );
    assert_eq!(corp.idp.wait_for_count("grant.revoked", None, 1), 1);
    corp.assert_nothing_stored();
}

#[test]
fn curl_logs_in_with_pkce_state_and_a_loopback_redirect() {
    let corp = Corp::auto();
    let out = corp.login(&curl_browser(), &[]);
    assert_success(&out);
    assert!(corp.page().contains("Logged in to corp"), "{}", corp.page());
    let err = stderr(&out);
    let auth_url = err
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{}/auth?", corp.idp.issuer())))
        .unwrap_or_else(|| panic!("no authorization URL printed:\n{err}"));
    assert_eq!(param(auth_url, "code_challenge_method"), "S256");
    assert_eq!(param(auth_url, "code_challenge").len(), 43);
    assert!(param(auth_url, "state").len() >= 22);
    assert_eq!(param(auth_url, "client_id"), "authhost-cli");
    let redirect = param(auth_url, "redirect_uri");
    let port = redirect
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/callback"))
        .unwrap_or_else(|| panic!("redirect URI {redirect}"));
    assert!(port.parse::<u16>().is_ok(), "{redirect}");
    assert!(err.contains("Logged in to corp"), "{err}");

    let stored = corp.stored();
    assert_eq!(stored["token_url"], corp.idp.url("/token"));
    assert_eq!(stored["revocation_url"], corp.idp.url("/token/revocation"));
    let token = corp.home.run(&["token", "corp"]);
    assert_eq!(
        stdout(&token),
        format!("{}\n", stored["access"].as_str().unwrap())
    );
    let json = corp.home.run(&["status", "corp", "--check", "--json"]);
    assert_success(&json);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        report[0]["check"]["account"]["account"], "alice@example.com",
        "{report}"
    );
    assert!(!stdout(&json).contains(stored["access"].as_str().unwrap()));
}

#[test]
fn pasting_the_redirect_url_logs_in_without_a_browser() {
    let corp = Corp::auto();
    let mut login =
        Running::start_with_stdin(corp.login_command(&recording_browser(), &["--no-browser"]));
    let prefix = format!("{}/auth?", corp.idp.issuer());
    let auth_url = login.line(|l| l.trim().starts_with(&prefix).then(|| l.trim().to_owned()));
    let redirect = Agent::new(&corp.idp).authorize(&auth_url);
    // A line that is not the redirect, the redirect of another login, then
    // the real one.
    login.paste("not the url");
    login.paste(&with_param(&redirect, "state", "another-login"));
    login.paste(&redirect);
    let out = login.finish(LOGIN_WITHIN);
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("paste the redirect URL"), "{err}");
    assert!(err.contains("not the redirect URL"), "{err}");
    assert!(err.contains("the redirect of another login"), "{err}");
    assert!(!corp.url_file().exists(), "the browser was opened");
    assert_eq!(corp.grants("authorization_code", 1), 1);
    assert!(corp.stored()["access"].is_string());
}

// --- device logins ------------------------------------------------------

#[test]
fn a_device_login_approved_by_the_user_opens_the_complete_uri() {
    let corp = Corp::auto();
    let login = Running::start(corp.login_command(&recording_browser(), &["--method", "device"]));
    let complete = wait_for_file(&corp.url_file());
    assert!(
        complete.starts_with(&corp.idp.url("/device?user_code=")),
        "{complete}"
    );
    Agent::new(&corp.idp).approve_device(&complete, None);
    let out = login.finish(LOGIN_WITHIN);
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("enter the code"), "{err}");
    assert_eq!(
        corp.grants("urn:ietf:params:oauth:grant-type:device_code", 1),
        1
    );
    let stored = corp.stored();
    assert_eq!(stored["sub"], "alice", "{stored}");
    assert!(stored["refresh"].is_string());
    let token = corp.home.run(&["token", "corp"]);
    assert_eq!(
        stdout(&token),
        format!("{}\n", stored["access"].as_str().unwrap())
    );
}

#[test]
fn device_polling_honours_the_interval_and_slow_down() {
    let corp = Corp::start(
        IdpOptions {
            slow_down: 1,
            ..IdpOptions::default()
        },
        "",
    );
    let login = Running::start(corp.login_command(
        &recording_browser(),
        &["--method", "device", "--no-browser"],
    ));
    // The user reads the URI and the code on the terminal and types the
    // code in at that page.
    let uri = login.line(|l| {
        let l = l.trim();
        (l.starts_with("http") && !l.contains("user_code")).then(|| l.to_owned())
    });
    assert_eq!(uri, corp.idp.url("/device"));
    login.line(|l| l.contains("enter the code").then_some(()));
    let code = login.line(|l| Some(l.trim().to_owned()));
    assert_eq!(
        corp.idp.wait_for_count("device.slow_down", None, 1),
        1,
        "{:?}",
        corp.idp.events()
    );
    Agent::new(&corp.idp).approve_device(&uri, Some(&code));
    let out = login.finish(LOGIN_WITHIN);
    assert_success(&out);
    assert!(!corp.url_file().exists(), "the browser was opened");

    // Polls: pending at the interval (1 s), then one answered `slow_down`,
    // then the next at least 5 s later than the interval asks.
    let events = corp.idp.events();
    let polls: Vec<(u64, &Value)> = events
        .iter()
        .filter(|e| {
            e["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
                || e["event"] == "device.slow_down"
        })
        .map(|e| (e["at"].as_u64().unwrap(), e))
        .collect();
    let slowed = polls
        .iter()
        .position(|(_, e)| e["event"] == "device.slow_down")
        .unwrap();
    let after = polls[slowed + 1..]
        .iter()
        .find(|(_, e)| e["event"] != "device.slow_down")
        .expect("a poll after slow_down");
    let gap = after.0 - polls[slowed].0;
    assert!(
        gap >= 5_500,
        "polled again {gap} ms after slow_down: {polls:?}"
    );
    let requests: Vec<u64> = polls
        .iter()
        .filter(|(_, e)| e["event"] != "device.slow_down")
        .map(|(at, _)| *at)
        .collect();
    for pair in requests.windows(2) {
        assert!(pair[1] - pair[0] >= 900, "polled too fast: {requests:?}");
    }
    assert!(corp.stored()["access"].is_string());
}

#[test]
fn an_unapproved_device_code_expires_and_nothing_is_stored() {
    let corp = Corp::start(
        IdpOptions {
            device_ttl: 3,
            ..IdpOptions::default()
        },
        "",
    );
    let started = Instant::now();
    let out = corp.login(&recording_browser(), &["--method", "device"]);
    assert_fails_with(&out, "the code expired before it was approved");
    assert!(started.elapsed() < Duration::from_secs(20));
    corp.assert_nothing_stored();
}

// --- keeping the login alive ---------------------------------------------

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
    let children: Vec<Child> = (0..20)
        .map(|_| {
            corp.home
                .cmd()
                .args(["token", "corp"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert_success(out);
    }
    let tokens: std::collections::BTreeSet<String> = outputs.iter().map(stdout).collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
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

// --- what must fail, and store nothing -----------------------------------

/// A login whose redirect the test holds: the redirect the IdP answered
/// the authorization URL with, not yet delivered.
struct Held {
    login: Running,
    redirect: String,
}

impl Held {
    fn start(corp: &Corp) -> Held {
        let login = Running::start(corp.login_command(&recording_browser(), &[]));
        let auth_url = wait_for_file(&corp.url_file());
        let redirect = Agent::new(&corp.idp).authorize(&auth_url);
        Held { login, redirect }
    }

    /// Sends `redirect` to the listener as the browser would: its answer.
    fn deliver(&self, redirect: &str) -> HttpResponse {
        idp::get(redirect, &[])
    }
}

/// Delivers the held redirect changed by `tamper`; asserts that the
/// browser and the terminal get `expected`, no code reaches the token
/// endpoint and nothing is stored.
fn assert_tampered_redirect_fails(tamper: impl Fn(&str) -> String, expected: &str) {
    let corp = Corp::auto();
    let held = Held::start(&corp);
    let answer = held.deliver(&tamper(&held.redirect));
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains(expected), "{}", answer.text());
    let out = held.login.finish(LOGIN_WITHIN);
    assert_fails_with(&out, expected);
    assert_eq!(corp.idp.count("grant.success", None), 0);
    assert_eq!(corp.idp.count("grant.error", None), 0);
    corp.assert_nothing_stored();
}

#[test]
fn a_wrong_state_is_refused() {
    assert_tampered_redirect_fails(
        |redirect| with_param(redirect, "state", "forged-state-0123456789"),
        "`state` is not this login",
    );
}

#[test]
fn a_wrong_iss_is_refused() {
    assert_tampered_redirect_fails(
        |redirect| with_param(redirect, "iss", "https://evil.example"),
        "names the issuer `https://evil.example`",
    );
}

#[test]
fn a_replayed_code_is_refused_by_the_idp() {
    let corp = Corp::auto();
    // The first login completes with its code.
    let first = Held::start(&corp);
    let answer = first.deliver(&first.redirect);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_success(&first.login.finish(LOGIN_WITHIN));
    let code = param(&first.redirect, "code");

    // A second login, in another home, is sent that code with its own
    // state, as an attacker replaying it would.
    let other =
        Home::with_config(&std::fs::read_to_string(corp.home.path().join("config.toml")).unwrap());
    let login = Running::start(login_command(&other, &recording_browser(), &[]));
    let auth_url = wait_for_file(&other.path().join("url.txt"));
    let redirect_uri = param(&auth_url, "redirect_uri");
    let replay = format!(
        "{redirect_uri}?code={code}&state={}&iss={}",
        param(&auth_url, "state"),
        idp::form_encode(corp.idp.issuer())
    );
    let answer = idp::get(&replay, &[]);
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.text().contains("invalid_grant"), "{}", answer.text());
    let out = login.finish(LOGIN_WITHIN);
    assert_fails_with(&out, "answered 400 `invalid_grant`");
    assert_nothing_stored(&other);
    assert_eq!(corp.grants("authorization_code", 1), 1);
    assert!(
        corp.idp
            .wait_for_count("grant.error", Some("authorization_code"), 1)
            >= 1
    );
}

#[test]
fn an_error_from_the_idp_is_shown_and_nothing_is_stored() {
    // prompt=none without a session: the IdP redirects with an error.
    let corp = Corp::start(
        IdpOptions::default(),
        "extra_params = { prompt = \"none\" }",
    );
    let out = corp.login(&curl_browser(), &[]);
    assert_fails_with(&out, "the IdP answered `login_required`");
    assert!(stderr(&out).contains("End-User authentication is required"));
    let page = corp.page();
    assert!(
        page.contains("corp login failed") && page.contains("login_required"),
        "{page}"
    );
    corp.assert_nothing_stored();
}

#[test]
fn an_idp_error_page_leaves_the_login_waiting_until_ctrl_c() {
    // An unknown client: the IdP shows its own error page and never
    // redirects back.
    let idp = Idp::start(IdpOptions::default());
    let home = Home::with_config(&config(&format!(
        "issuer = \"{}\"\nclient_id = \"nobody\"",
        idp.issuer()
    )));
    let mut login = Running::start(login_command(&home, &curl_browser(), &[]));
    let page = wait_for_file(&home.path().join("page.html"));
    assert!(page.contains("invalid_client"), "{page}");
    assert!(login.is_running());
    login.interrupt();
    let out = login.finish(LOGIN_WITHIN);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_nothing_stored(&home);

    // The device flow gets the same refusal as JSON, in words.
    let out = Running::start(login_command(
        &home,
        &recording_browser(),
        &["--method", "device"],
    ))
    .finish(LOGIN_WITHIN);
    assert_fails_with(
        &out,
        "the device authorization endpoint answered 401 `invalid_client` (client authentication failed)",
    );
    assert_nothing_stored(&home);
}

#[test]
fn an_unreachable_issuer_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = Home::with_config(&config(&format!(
        "issuer = \"http://127.0.0.1:{port}\"\nclient_id = \"authhost-cli\""
    )));
    let started = Instant::now();
    let out = Running::start(login_command(&home, &recording_browser(), &[])).finish(LOGIN_WITHIN);
    assert_fails_with(
        &out,
        &format!("cannot read the discovery document of http://127.0.0.1:{port}"),
    );
    assert!(
        stderr(&out).contains("connection refused"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!home.path().join("url.txt").exists());
    assert_nothing_stored(&home);
}

#[test]
fn unknown_options_are_named() {
    let home = Home::with_config(&config(
        "issuer = \"https://login.example.com\"\nclient_id = \"c\"\nisuer = \"x\"",
    ));
    let out = home.run(&["login", "corp"]);
    assert_fails_with(
        &out,
        "[providers.corp] has an unknown key `isuer`; did you mean `issuer`?",
    );
    assert!(stderr(&out).contains("config.toml"), "{}", stderr(&out));
}

/// Serves one discovery document on 127.0.0.1 whose token endpoint is on
/// another origin; returns its issuer.
fn discovery_with_token_endpoint_at(token_endpoint: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let document = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": token_endpoint,
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut head);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{document}",
                document.len()
            );
        }
    });
    issuer
}

#[test]
fn a_discovered_endpoint_on_another_origin_needs_its_option() {
    let issuer = discovery_with_token_endpoint_at("http://127.0.0.1:9/token");
    let home = Home::with_config(&config(&format!(
        "issuer = \"{issuer}\"\nclient_id = \"authhost-cli\""
    )));
    let out = Running::start(login_command(&home, &recording_browser(), &[])).finish(LOGIN_WITHIN);
    assert_fails_with(
        &out,
        "the discovery document's token endpoint is on http://127.0.0.1:9, which this provider \
         may not reach: set `token_url` in [providers.corp]",
    );
    assert!(
        !home.path().join("url.txt").exists(),
        "the browser was opened"
    );
    assert_nothing_stored(&home);
}

// --- explicit endpoints, and the ID token ---------------------------------

#[test]
fn explicit_endpoints_and_the_id_token() {
    let idp = Idp::start(IdpOptions::default());
    let home = Home::with_config(&config(&format!(
        "client_id = \"authhost-cli\"\ntoken = \"id\"\n\
         authorization_url = \"{0}/auth\"\ntoken_url = \"{0}/token\"\n\
         revocation_url = \"{0}/token/revocation\"\nuserinfo_url = \"{0}/me\"",
        idp.issuer()
    )));
    let out = Running::start(login_command(&home, &curl_browser(), &[])).finish(LOGIN_WITHIN);
    assert_success(&out);
    let token = home.run(&["token", "corp"]);
    assert_success(&token);
    let jwt = stdout(&token).trim().to_owned();
    let payload = jwt.split('.').nth(1).expect("a JWT");
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], idp.issuer());
    assert_eq!(claims["aud"], "authhost-cli");
    let stored = home.store_json()["corp"].clone();
    assert_eq!(stored["expires"], claims["exp"].as_u64().unwrap() * 1000);

    let status = home.run(&["status", "corp", "--check"]);
    assert_success(&status);
    assert!(
        stdout(&status).contains("the ID token"),
        "{}",
        stdout(&status)
    );
    let logout = home.run(&["logout", "corp"]);
    assert!(
        stderr(&logout).contains("Revoked the login of corp"),
        "{}",
        stderr(&logout)
    );
    assert_eq!(idp.wait_for_count("grant.revoked", None, 1), 1);
}
