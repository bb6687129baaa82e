//! A real OpenID Connect provider on 127.0.0.1 for the OAuth tests:
//! `tests/idp/idp.mjs` (the npm package `oidc-provider`) run by Node.js, with
//! the events it prints collected as they come, and a plain HTTP/1.1 client
//! for talking to it.
//!
//! `tests/idp/idp.mjs` documents the client it registers, its endpoints, the
//! events and the HTTP steps of a login. Its npm packages must be installed
//! (`npm ci --prefix tests/idp`, which `tests/run.sh` runs).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long the provider may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for an event the caller expects.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the provider's login and consent interactions are completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interactions {
    /// Every login is account `alice` (alice@example.com) and consent is
    /// given at once: following the redirects, with cookies, logs in.
    #[default]
    Auto,
    /// The provider's own login and consent pages, for a browser to fill in
    /// (any login name, any password).
    Forms,
}

/// How to run the provider.
#[derive(Debug, Clone)]
pub struct IdpOptions {
    /// The port on 127.0.0.1; `None` for a free one.
    pub port: Option<u16>,
    /// Lifetime of access tokens, in seconds.
    pub access_ttl: u64,
    /// The id of the one registered client (public, native, PKCE).
    pub client_id: String,
    /// How interactions are completed.
    pub interactions: Interactions,
    /// The `interval` of device authorization responses, in seconds.
    pub device_interval: u64,
    /// Lifetime of device codes, in seconds.
    pub device_ttl: u64,
    /// How many pending device-code polls are answered `slow_down`.
    pub slow_down: u32,
}

impl Default for IdpOptions {
    fn default() -> IdpOptions {
        IdpOptions {
            port: None,
            access_ttl: 60,
            client_id: "authhost-cli".into(),
            interactions: Interactions::Auto,
            device_interval: 1,
            device_ttl: 600,
            slow_down: 0,
        }
    }
}

/// The JSON lines printed so far, and a signal for each new one.
#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<Value>>,
    added: Condvar,
}

/// A running provider; killed when dropped.
pub struct Idp {
    child: Child,
    stdin: Mutex<Option<ChildStdin>>,
    issuer: String,
    port: u16,
    client_id: String,
    events: Arc<Lines>,
    stderr: Arc<Mutex<String>>,
}

impl Idp {
    /// Starts `node tests/idp/idp.mjs` with `options` and waits until it
    /// listens.
    pub fn start(options: IdpOptions) -> Idp {
        let script = super::workspace_root().join("tests/idp/idp.mjs");
        let mut cmd = Command::new("node");
        cmd.arg(&script)
            .args(["--access-ttl", &options.access_ttl.to_string()])
            .args(["--client-id", &options.client_id])
            .args(["--device-interval", &options.device_interval.to_string()])
            .args(["--device-ttl", &options.device_ttl.to_string()])
            .args(["--slow-down", &options.slow_down.to_string()])
            .args([
                "--interactions",
                match options.interactions {
                    Interactions::Auto => "auto",
                    Interactions::Forms => "forms",
                },
            ]);
        if let Some(port) = options.port {
            cmd.args(["--port", &port.to_string()]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `node` ({e}); tests/run.sh installs Node.js and npm")
            });

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = BufReader::new(child.stderr.take().unwrap());
        let err_buffer = stderr.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while matches!(err_pipe.read_line(&mut line), Ok(n) if n > 0) {
                err_buffer.lock().unwrap().push_str(&line);
                line.clear();
            }
        });

        // The first line says where it listens; every later one is an event.
        let events = Arc::new(Lines::default());
        let (first_tx, first_rx) = mpsc::channel();
        let out_pipe = BufReader::new(child.stdout.take().unwrap());
        let lines = events.clone();
        std::thread::spawn(move || {
            let mut first = Some(first_tx);
            for line in out_pipe.lines() {
                let Ok(line) = line else { break };
                let value: Value = match serde_json::from_str(&line) {
                    Ok(value) => value,
                    Err(_) => Value::String(line),
                };
                match first.take() {
                    Some(tx) => {
                        let _ = tx.send(value);
                    }
                    None => {
                        lines.lines.lock().unwrap().push(value);
                        lines.added.notify_all();
                    }
                }
            }
        });

        let stdin = child.stdin.take();
        let mut idp = Idp {
            child,
            stdin: Mutex::new(stdin),
            issuer: String::new(),
            port: 0,
            client_id: options.client_id,
            events,
            stderr,
        };
        let ready = match first_rx.recv_timeout(START_TIMEOUT) {
            Ok(ready) => ready,
            Err(e) => {
                let _ = idp.child.kill();
                let _ = idp.child.wait();
                // Let the stderr thread drain what is left.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "tests/idp/idp.mjs did not start ({}); are its npm packages \
                     installed (npm ci --prefix tests/idp)? stderr:\n{}",
                    match e {
                        mpsc::RecvTimeoutError::Timeout => "timed out",
                        mpsc::RecvTimeoutError::Disconnected => "exited",
                    },
                    idp.stderr()
                );
            }
        };
        idp.issuer = ready["issuer"]
            .as_str()
            .unwrap_or_else(|| panic!("unexpected first line {ready}"))
            .to_owned();
        idp.port = ready["port"].as_u64().unwrap() as u16;
        idp
    }

    /// `http://127.0.0.1:PORT`, the issuer and base URL of every endpoint.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The registered client's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// `issuer` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// Every event line read so far, oldest first, e.g.
    /// `{"event":"grant.success","grant_type":"refresh_token","at":1730000000000}`
    /// (`at`: when it was printed, in ms since the Unix epoch).
    ///
    /// The provider prints an event before it answers the request behind
    /// it, but the line is read on another thread: after a request, use
    /// [`Idp::wait_for_count`] rather than reading the count at once.
    pub fn events(&self) -> Vec<Value> {
        self.events.lines.lock().unwrap().clone()
    }

    /// How many events named `event` were read so far, only those with this
    /// `grant_type` when one is given.
    pub fn count(&self, event: &str, grant_type: Option<&str>) -> usize {
        count_in(&self.events.lines.lock().unwrap(), event, grant_type)
    }

    /// Waits up to 10 s until [`Idp::count`] reaches `at_least` and returns
    /// the count then (which is less on a timeout).
    pub fn wait_for_count(&self, event: &str, grant_type: Option<&str>, at_least: usize) -> usize {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        let mut lines = self.events.lines.lock().unwrap();
        loop {
            let count = count_in(&lines, event, grant_type);
            let now = Instant::now();
            if count >= at_least || now >= deadline {
                return count;
            }
            lines = self
                .events
                .added
                .wait_timeout(lines, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Revokes every grant with all its tokens, and forgets every session:
    /// each login so far is refused from now on, as if the user had revoked
    /// it. Returns how many grants were live.
    pub fn revoke_all(&self) -> usize {
        let before = self.count("revoke-all", None);
        self.command("revoke-all");
        let after = self.wait_for_count("revoke-all", None, before + 1);
        assert!(after > before, "no answer to revoke-all");
        let lines = self.events.lines.lock().unwrap();
        let answer = lines.iter().rev().find(|v| v["event"] == "revoke-all");
        answer.unwrap()["grants"].as_u64().unwrap() as usize
    }

    /// What the provider wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn command(&self, line: &str) {
        let mut stdin = self.stdin.lock().unwrap();
        let stdin = stdin.as_mut().expect("stdin closed");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("tests/idp/idp.mjs is gone ({e}):\n{}", self.stderr()));
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        // Closing stdin alone makes it exit; kill it all the same.
        self.stdin.lock().unwrap().take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn count_in(lines: &[Value], event: &str, grant_type: Option<&str>) -> usize {
    lines
        .iter()
        .filter(|v| v["event"] == event)
        .filter(|v| grant_type.is_none_or(|g| v["grant_type"] == g))
        .count()
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Lowercase names and values, in order (`set-cookie` may repeat).
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header called `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        super::http::header(&self.headers, name)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// `GET url` (`http://HOST:PORT/...`) with HTTP/1.1, one connection.
pub fn get(url: &str, headers: &[(&str, &str)]) -> HttpResponse {
    request("GET", url, headers, None)
}

/// `POST url` with an `application/x-www-form-urlencoded` body made of
/// `form` (values are percent-encoded here).
pub fn post_form(url: &str, headers: &[(&str, &str)], form: &[(&str, &str)]) -> HttpResponse {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = headers.to_vec();
    headers.push(("content-type", "application/x-www-form-urlencoded"));
    request("POST", url, &headers, Some(body.as_bytes()))
}

/// One request on its own connection (`connection: close`); the body, if
/// any, is sent with a `content-length`. Redirects are not followed.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> HttpResponse {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http URL: {url}"));
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    if let Some(body) = body {
        stream.write_all(body).unwrap();
    }

    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?} from {url}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = size.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size, 16).unwrap();
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut body).unwrap();
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
