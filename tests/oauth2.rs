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

mod browser;
mod device;
mod endpoints;
mod refresh;
mod refusals;
