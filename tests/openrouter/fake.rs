//! A fake OpenRouter for the login tests, strict about the documented API:
//!
//! - `GET /auth?callback_url=…&code_challenge=…&code_challenge_method=S256`
//!   checks its parameters and redirects (302) to `callback_url?code=…`, or
//!   to `callback_url?error=access_denied` when the user "denies";
//! - `POST /api/v1/auth/keys` with a JSON body of exactly `code`,
//!   `code_verifier` and `code_challenge_method` checks
//!   `base64url(sha256(verifier)) == challenge` and answers
//!   `{"key": "sk-or-v1-…", "user_id": null}`; 403 for an unknown, reused or
//!   mismatched code, 400 for a bad body or method value, 405 for a wrong
//!   HTTP method, and 411 for a body sent without a `content-length`
//!   (`transfer-encoding: chunked`), as many token endpoints and proxies
//!   answer.
//!
//! Every request is recorded with the status it got. The hostile modes
//! answer a valid exchange the way a broken or malicious service would: with
//! the wrong content type, a body cut short, too big or too slow.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::support::http::{Framing, Request, Response, Server};

/// How the fake behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The user approves; the exchange works.
    Approve,
    /// The user denies on the consent page.
    Deny,
    /// The challenge is remembered wrongly, so the verifier never matches
    /// (403).
    WrongChallenge,
    /// The key endpoint fails with 502.
    ServerError,
    /// The key endpoint answers 200 with something that is not JSON.
    Malformed,
    /// The key endpoint answers 200 with an HTML page (that mentions the
    /// code) instead of JSON.
    HtmlPage,
    /// The key endpoint answers 200 with the usual JSON key, labelled
    /// `text/html`.
    JsonAsHtml,
    /// The key endpoint announces more body than it sends, then closes.
    Truncated,
    /// The key endpoint answers a valid key padded to 10 MB, with its
    /// `content-length`.
    Huge,
    /// As [`Mode::Huge`], without a `content-length`: the body runs until
    /// the connection closes.
    HugeUntilClose,
    /// The key endpoint sends its headers, then the body one byte a second.
    SlowBody,
    /// The exchange works, but the key endpoint takes two seconds to answer.
    SlowExchange,
}

/// The size of the [`Mode::Huge`] bodies.
const HUGE_BODY: usize = 10 << 20;
/// How long [`Mode::SlowExchange`] takes to answer.
const SLOW_EXCHANGE: Duration = Duration::from_secs(2);

/// A request the fake received and the status it answered.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request.
    pub request: Request,
    /// The status it got.
    pub status: u16,
}

#[derive(Default)]
struct State {
    /// Challenge (and method) remembered per issued code.
    codes: HashMap<String, String>,
    /// Codes already exchanged (or tried).
    used: HashSet<String>,
    /// Keys sent in an answer (for the hostile modes, perhaps only in part
    /// or never in full).
    keys: Vec<String>,
    /// Every request, in order.
    seen: Vec<Seen>,
    /// For fresh codes.
    counter: u64,
}

/// A running fake OpenRouter.
pub struct FakeOpenRouter {
    server: Server,
    state: Arc<Mutex<State>>,
    /// Key requests received so far, counted on arrival (before the
    /// answer), with a signal for [`FakeOpenRouter::wait_for_exchange`].
    arrived: Arc<(Mutex<usize>, Condvar)>,
}

impl FakeOpenRouter {
    /// Starts the fake on a free port of 127.0.0.1.
    pub fn start(mode: Mode) -> FakeOpenRouter {
        let state = Arc::new(Mutex::new(State::default()));
        let arrived = Arc::new((Mutex::new(0), Condvar::new()));
        let (shared, arriving) = (state.clone(), arrived.clone());
        let server = Server::start(move |request| {
            if request.target.starts_with("/api/v1/auth/keys") {
                *arriving.0.lock().unwrap() += 1;
                arriving.1.notify_all();
                if mode == Mode::SlowExchange {
                    std::thread::sleep(SLOW_EXCHANGE);
                }
            }
            let mut state = shared.lock().unwrap();
            let response = route(&mut state, mode, request);
            state.seen.push(Seen {
                request: request.clone(),
                status: response.status,
            });
            response
        });
        FakeOpenRouter {
            server,
            state,
            arrived,
        }
    }

    /// Waits until a request to the key endpoint has arrived (it may not be
    /// answered yet); false if none came within `timeout`.
    pub fn wait_for_exchange(&self, timeout: Duration) -> bool {
        let (count, signal) = &*self.arrived;
        let count = count.lock().unwrap();
        let (count, _) = signal
            .wait_timeout_while(count, timeout, |n| *n == 0)
            .unwrap();
        *count > 0
    }

    /// `http://127.0.0.1:PORT`, the `base_url` to configure.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The requests to the key endpoint so far.
    pub fn exchanges(&self) -> Vec<Request> {
        self.seen()
            .into_iter()
            .map(|s| s.request)
            .filter(|r| r.target.starts_with("/api/v1/auth/keys"))
            .collect()
    }

    /// The keys sent so far.
    pub fn keys(&self) -> Vec<String> {
        self.state.lock().unwrap().keys.clone()
    }
}

fn route(state: &mut State, mode: Mode, request: &Request) -> Response {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    match (request.method.as_str(), path) {
        ("GET", "/auth") => authorize(state, mode, query),
        (_, "/auth") => error(405, "method not allowed"),
        ("POST", "/api/v1/auth/keys") => exchange(state, mode, request),
        ("GET", "/api/v1/key") => key_info(state, request),
        (_, "/api/v1/auth/keys") => error(405, "method not allowed"),
        _ => error(404, "not found"),
    }
}

/// `GET /auth`: the consent page, approved or denied at once.
fn authorize(state: &mut State, mode: Mode, query: &str) -> Response {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |name: &str| {
        let values: Vec<&String> = params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect();
        match values.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        }
    };
    let known = ["callback_url", "code_challenge", "code_challenge_method"];
    if let Some((unknown, _)) = params.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return error(400, &format!("unknown parameter {unknown}"));
    }
    let Some(callback) = param("callback_url").filter(|c| valid_callback(c)) else {
        return error(
            400,
            "callback_url must be one http://localhost or 127.0.0.1 URL",
        );
    };
    let Some(challenge) = param("code_challenge").filter(|c| valid_s256_challenge(c)) else {
        return error(400, "code_challenge must be one base64url SHA-256 digest");
    };
    if param("code_challenge_method").as_deref() != Some("S256") {
        return error(400, "code_challenge_method must be S256");
    }
    if mode == Mode::Deny {
        return Response::redirect(&format!("{callback}?error=access_denied"));
    }
    state.counter += 1;
    let code = format!(
        "code-{}-{}",
        state.counter,
        hex(&Sha256::digest(challenge.as_bytes()))[..16].to_owned()
    );
    let remembered = if mode == Mode::WrongChallenge {
        // Another last character (one of 16: it holds the digest's last 4
        // bits), so the verifier never matches.
        let other = if challenge.ends_with('A') { 'E' } else { 'A' };
        format!("{}{other}", &challenge[..42])
    } else {
        challenge
    };
    state.codes.insert(code.clone(), remembered);
    Response::redirect(&format!("{callback}?code={code}"))
}

/// `POST /api/v1/auth/keys`.
fn exchange(state: &mut State, mode: Mode, request: &Request) -> Response {
    let declared = request
        .header("content-length")
        .and_then(|n| n.parse().ok());
    if request.header("transfer-encoding").is_some() || declared != Some(request.body.len()) {
        return error(411, "Length Required: send the body with a content-length");
    }
    let json_type = request.header("content-type").is_some_and(|t| {
        t.split(';')
            .next()
            .unwrap()
            .trim()
            .eq_ignore_ascii_case("application/json")
    });
    if !json_type {
        return error(400, "content-type must be application/json");
    }
    let body: serde_json::Map<String, serde_json::Value> =
        match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(_) => return error(400, "the body must be a JSON object"),
        };
    let mut fields: Vec<&str> = body.keys().map(String::as_str).collect();
    fields.sort_unstable();
    if fields != ["code", "code_challenge_method", "code_verifier"] {
        return error(
            400,
            "expected exactly code, code_verifier, code_challenge_method",
        );
    }
    let text = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    let (code, verifier, method) = (
        text("code"),
        text("code_verifier"),
        text("code_challenge_method"),
    );
    if method != "S256" {
        return error(400, "invalid code_challenge_method");
    }
    let Some(challenge) = state.codes.get(&code).cloned() else {
        return error(403, "invalid code");
    };
    if !state.used.insert(code.clone()) {
        return error(403, "invalid code: already used");
    }
    if !valid_verifier(&verifier) || base64url(&Sha256::digest(verifier.as_bytes())) != challenge {
        return error(403, "invalid code_verifier");
    }
    let key = format!("sk-or-v1-{}", hex(&Sha256::digest(verifier.as_bytes())));
    let json = serde_json::json!({ "key": key, "user_id": null }).to_string();
    let answer = match mode {
        Mode::ServerError => return error(502, "upstream unavailable"),
        Mode::Malformed => {
            return Response::new(200, "application/json", "{\"key\": \"sk-or-v1-trunc");
        }
        Mode::HtmlPage => {
            let page = format!(
                "<!doctype html><html><body><h1>Sign in</h1><p>{code} {key}</p></body></html>"
            );
            Response::new(200, "text/html; charset=utf-8", page)
        }
        Mode::JsonAsHtml => Response::new(200, "text/html", json),
        Mode::Truncated => {
            let half = json[..json.len() / 2].to_owned();
            Response::new(200, "application/json", half).framed(Framing::Truncated {
                declared: json.len(),
            })
        }
        Mode::Huge | Mode::HugeUntilClose => {
            // A valid answer, but 10 MB long.
            let json = |padding: &str| {
                format!(r#"{{"key":"{key}","user_id":null,"padding":"{padding}"}}"#)
            };
            let padding = "x".repeat(HUGE_BODY - json("").len());
            let framing = if mode == Mode::Huge {
                Framing::Exact
            } else {
                Framing::UntilClose
            };
            Response::new(200, "application/json", json(&padding)).framed(framing)
        }
        Mode::SlowBody => Response::new(200, "application/json", json).framed(Framing::Trickle {
            interval: Duration::from_secs(1),
        }),
        Mode::Approve | Mode::Deny | Mode::WrongChallenge | Mode::SlowExchange => {
            Response::new(200, "application/json", json)
        }
    };
    state.keys.push(key);
    answer
}

/// `GET /api/v1/key`: what OpenRouter's documented answer says about the
/// key sent as a bearer token (one this fake issued), else 401.
fn key_info(state: &State, request: &Request) -> Response {
    let key = request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "));
    match key {
        Some(key) if state.keys.iter().any(|k| k == key) => {
            let label = format!("{}...{}", &key[..12], &key[key.len() - 3..]);
            let body = serde_json::json!({ "data": {
                "label": label, "limit": 10, "usage": 1.25, "limit_remaining": 8.75,
                "limit_reset": "monthly", "is_free_tier": false, "expires_at": null,
                "rate_limit": { "requests": 1000, "interval": "1h" },
            }});
            Response::new(200, "application/json", body.to_string())
        }
        _ => error(401, "No auth credentials found"),
    }
}

/// An OpenRouter-style JSON error.
fn error(status: u16, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": status, "message": message } });
    Response::new(status, "application/json", body.to_string())
}

/// `http://localhost:PORT/…` or `http://127.0.0.1:PORT/…`, without a query.
fn valid_callback(callback: &str) -> bool {
    url::Url::parse(callback).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(u.host_str(), Some("localhost" | "127.0.0.1"))
            && u.port().is_some()
            && u.query().is_none()
            && u.fragment().is_none()
    })
}

/// 43 characters of base64url without padding: an encoded SHA-256 digest.
fn valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636: 43-128 characters of `[A-Za-z0-9-._~]`.
fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Base64url without padding.
pub fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn base64url_matches_rfc_7636_appendix_b() {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    assert_eq!(
        base64url(&Sha256::digest(verifier.as_bytes())),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}
