//! Outbound HTTP over `wasi:http`, with what a provider needs and a generic
//! client leaves out:
//!
//! - a body of known size goes out with its `content-length` (a client that
//!   streams it `transfer-encoding: chunked` is refused by many token
//!   endpoints and proxies);
//! - the response body is read up to a cap ([`Request::max_response`]);
//! - a connect timeout and a timeout for the whole exchange;
//! - failures become the WIT [`Error`] in words: `could not resolve
//!   openrouter.ai`, `connection refused by 127.0.0.1:4567`, `timed out`;
//!   a request the host refuses is `capability-denied` naming the grant
//!   (`http:https://api.example.com`);
//! - HTML form bodies ([`Request::form`]), which OAuth endpoints require.
//!
//! Redirects are not followed: the response carries the `location` header.
//!
//! ```no_run
//! # use authhost_sdk::http;
//! # fn demo() -> Result<(), authhost_sdk::types::Error> {
//! let response = http::Request::post("https://api.example.com/oauth/token")
//!     .json(&serde_json::json!({ "grant_type": "password" }))
//!     .send()?;
//! if response.status == 200 {
//!     let token: serde_json::Value = response.json()?;
//! }
//! # Ok(()) }
//! ```
//!
//! Built on `wstd`'s client; its types are not part of this API.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wstd::future::FutureExt as _;
use wstd::http::body::util::{BodyExt as _, LengthLimitError, Limited};
use wstd::http::{Body, Client, ErrorCode, Method};

use crate::types::Error;

mod failure;

use failure::{read_error, seconds, send_error, size};

/// The largest response body read unless [`Request::max_response`] says
/// otherwise: 1 MiB.
pub const DEFAULT_MAX_RESPONSE: usize = 1 << 20;
/// The time to connect unless [`Request::connect_timeout`] says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The time for the whole exchange, body included, unless
/// [`Request::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A request being built. Nothing is sent before [`Request::send`]. Its
/// `Debug` output shows the method and the origin only (headers, query and
/// body may hold secrets).
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    /// The body, or why it could not be made (reported by `send`).
    body: Result<Option<Vec<u8>>, String>,
    connect_timeout: Duration,
    timeout: Duration,
    max_response: usize,
}

/// An answer: its status, headers and (capped) body. Its `Debug` output
/// shows the status and the body's length only.
#[derive(Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body, at most the request's `max_response` bytes.
    pub body: Vec<u8>,
}

/// `GET url` with the defaults.
pub fn get(url: &str) -> Result<Response, Error> {
    Request::get(url).send()
}

/// `POST url` with `body` as JSON, with the defaults.
pub fn post_json(url: &str, body: &impl Serialize) -> Result<Response, Error> {
    Request::post(url).json(body).send()
}

/// `POST url` with `fields` as a form ([`Request::form`]), with the
/// defaults.
pub fn post_form<K: AsRef<str>, V: AsRef<str>>(
    url: &str,
    fields: impl IntoIterator<Item = (K, V)>,
) -> Result<Response, Error> {
    Request::post(url).form(fields).send()
}

/// `fields` encoded as `application/x-www-form-urlencoded`: `name=value`
/// pairs joined by `&`, each percent-encoded (a space as `+`).
pub fn form_body<K: AsRef<str>, V: AsRef<str>>(fields: impl IntoIterator<Item = (K, V)>) -> String {
    let mut encoder = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        encoder.append_pair(name.as_ref(), value.as_ref());
    }
    encoder.finish()
}

impl Request {
    /// A request with `method` to `url` (http or https).
    pub fn new(method: &str, url: &str) -> Request {
        let (method, body) = match Method::from_bytes(method.as_bytes()) {
            Ok(method) => (method, Ok(None)),
            Err(_) => (Method::GET, Err(format!("invalid HTTP method `{method}`"))),
        };
        Request {
            method,
            url: url.to_owned(),
            headers: Vec::new(),
            body,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_response: DEFAULT_MAX_RESPONSE,
        }
    }

    /// A `GET` request.
    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: &str) -> Request {
        Request::new("POST", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends `body` as JSON (`content-type: application/json`, `accept:
    /// application/json` unless set).
    pub fn json(self, body: &impl Serialize) -> Request {
        let bytes = serde_json::to_vec(body).map_err(|e| format!("cannot encode the body: {e}"));
        let request = self.with_default_header("accept", "application/json");
        match bytes {
            Ok(bytes) => request.body("application/json", bytes),
            Err(e) => Request {
                body: Err(e),
                ..request
            },
        }
    }

    /// Sends `fields` as an HTML form (`content-type:
    /// application/x-www-form-urlencoded`, `accept: application/json`
    /// unless set), the body OAuth endpoints require (RFC 6749 token
    /// requests, RFC 7009 revocation, RFC 8628 device authorization). Like
    /// every body it goes out with its `content-length`, never chunked.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(
        self,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Request {
        let body = form_body(fields);
        self.with_default_header("accept", "application/json")
            .body("application/x-www-form-urlencoded", body)
    }

    /// Sends `body` as `content_type`, e.g. `application/x-www-form-urlencoded`.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Request {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        self.headers
            .push(("content-type".into(), content_type.to_owned()));
        if self.body.is_ok() {
            self.body = Ok(Some(body.into()));
        }
        self
    }

    /// Gives up connecting after `timeout`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Request {
        self.connect_timeout = timeout;
        self
    }

    /// Gives up the whole exchange, body included, after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = timeout;
        self
    }

    /// Reads at most `bytes` of the response body; a longer one is an
    /// `invalid-response` error.
    pub fn max_response(mut self, bytes: usize) -> Request {
        self.max_response = bytes;
        self
    }

    fn with_default_header(mut self, name: &str, value: &str) -> Request {
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            self.headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Sends the request and reads the answer. Any status is an answer;
    /// only a failure to get one is an error.
    pub fn send(self) -> Result<Response, Error> {
        let target = Target::parse(&self.url)?;
        let body = self.body.clone().map_err(Error::Other)?;
        let request = self.build(&target, body)?;
        let timeout = self.timeout;
        let (connect, max) = (self.connect_timeout, self.max_response);
        wstd::runtime::block_on(async {
            exchange(request, &target, connect, timeout, max)
                .timeout(wstd::time::Duration::from(timeout))
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout(format!(
                        "{} did not answer within {}",
                        target.authority,
                        seconds(timeout)
                    )))
                })
        })
    }

    /// The `wstd` request, with a `content-length` for a body.
    fn build(
        &self,
        target: &Target,
        body: Option<Vec<u8>>,
    ) -> Result<wstd::http::Request<Body>, Error> {
        let mut builder = wstd::http::Request::builder()
            .method(self.method.clone())
            .uri(target.url.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let sets_length = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
        let body = match body {
            Some(bytes) => {
                if !sets_length {
                    builder = builder.header("content-length", bytes.len().to_string());
                }
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        builder
            .body(body)
            .map_err(|e| Error::Other(format!("cannot build the request: {e}")))
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = url::Url::parse(&self.url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| "(invalid URL)".into());
        f.debug_struct("Request")
            .field("method", &self.method.as_str())
            .field("origin", &origin)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON. The error says what was wrong without echoing the
    /// body (which may hold a secret).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let what = if self.body.trim_ascii_start().starts_with(b"<") {
                "an HTML page"
            } else {
                "unexpected JSON"
            };
            // Only messages that name a field: others may quote a value.
            let text = crate::config::without_position(&e);
            let reason = if text.starts_with("missing field") || text.starts_with("unknown field") {
                format!(": {text}")
            } else {
                String::new()
            };
            Error::InvalidResponse(format!("the answer ({}) is {what}{reason}", self.status))
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Where a request goes, for messages.
struct Target {
    url: url::Url,
    /// `host` (for DNS errors).
    host: String,
    /// `host:port`.
    authority: String,
    /// `scheme://host[:port]`, as in `http:` grants.
    origin: String,
}

impl Target {
    fn parse(text: &str) -> Result<Target, Error> {
        let url = url::Url::parse(text)
            .map_err(|e| Error::Other(format!("invalid URL for an HTTP request: {e}")))?;
        let host = match url.host_str() {
            Some(host) if matches!(url.scheme(), "http" | "https") => host.to_owned(),
            _ => {
                return Err(Error::Other(format!(
                    "only http and https URLs with a host can be requested, not `{}:`",
                    url.scheme()
                )));
            }
        };
        let port = url.port_or_known_default().unwrap_or(0);
        Ok(Target {
            authority: format!("{host}:{port}"),
            origin: url.origin().ascii_serialization(),
            host,
            url,
        })
    }
}

/// Sends `request` and reads at most `max` bytes of the answer.
async fn exchange(
    request: wstd::http::Request<Body>,
    target: &Target,
    connect_timeout: Duration,
    timeout: Duration,
    max: usize,
) -> Result<Response, Error> {
    let mut client = Client::new();
    client.set_connect_timeout(connect_timeout);
    client.set_first_byte_timeout(timeout);
    client.set_between_bytes_timeout(timeout);
    let response = client
        .send(request)
        .await
        .map_err(|e| send_error(&e, target))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let limited = Limited::new(response.into_body().into_boxed_body(), max);
    let body = limited.collect().await.map_err(|e| {
        if e.is::<LengthLimitError>() {
            Error::InvalidResponse(format!(
                "{} answered {status} with a body over {}",
                target.authority,
                size(max)
            ))
        } else {
            read_error(e.downcast_ref::<ErrorCode>(), target)
        }
    })?;
    Ok(Response {
        status,
        headers,
        body: body.to_bytes().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `url` as a request target (test helper, also of `failure`'s tests).
    pub(super) fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    /// The words of `error` (test helper, also of `failure`'s tests).
    pub(super) fn message(error: Error) -> String {
        match error {
            Error::Network(m)
            | Error::Timeout(m)
            | Error::InvalidResponse(m)
            | Error::CapabilityDenied(m)
            | Error::Other(m)
            | Error::Denied(m) => m,
            Error::Cancelled => "cancelled".into(),
        }
    }

    #[test]
    fn only_http_urls_with_a_host_are_requested() {
        assert_eq!(target("https://a.example").authority, "a.example:443");
        assert_eq!(target("http://a.example/").origin, "http://a.example");
        for bad in ["file:///etc/passwd", "data:text/plain,x", "not a url"] {
            assert!(matches!(Target::parse(bad), Err(Error::Other(_))), "{bad}");
        }
    }

    #[test]
    fn a_body_gets_its_content_length() {
        let request = Request::post("http://127.0.0.1:1/keys").json(&serde_json::json!({"a": 1}));
        let body = request.body.clone().unwrap();
        let built = request.build(&target(&request.url), body).unwrap();
        assert_eq!(built.headers()["content-length"], "7");
        assert_eq!(built.headers()["content-type"], "application/json");
        assert_eq!(built.headers()["accept"], "application/json");
        let get = Request::get("http://127.0.0.1:1/");
        let built = get.build(&target(&get.url), None).unwrap();
        assert!(built.headers().get("content-length").is_none());
    }

    #[test]
    fn a_form_is_encoded_and_sent_with_its_length() {
        let request = Request::post("http://127.0.0.1:1/token").form([
            ("grant_type", "password"),
            ("username", "alice smith"),
            ("password", "p&ss=w0rd+é"),
        ]);
        let body = request.body.clone().unwrap();
        let text = String::from_utf8(body.clone().unwrap()).unwrap();
        assert_eq!(
            text,
            "grant_type=password&username=alice+smith&password=p%26ss%3Dw0rd%2B%C3%A9"
        );
        let built = request.build(&target(&request.url), body).unwrap();
        assert_eq!(built.headers()["content-length"], text.len().to_string());
        assert_eq!(
            built.headers()["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(built.headers()["accept"], "application/json");
        assert!(built.headers().get("transfer-encoding").is_none());
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(decoded[2], ("password".into(), "p&ss=w0rd+é".into()));
        // An `accept` of the caller's own is kept.
        let own = Request::post("http://127.0.0.1:1/token")
            .header("accept", "application/vnd.acme+json")
            .form([("a", "b")]);
        let accepts: Vec<_> = own.headers.iter().filter(|(n, _)| n == "accept").collect();
        assert_eq!(accepts.len(), 1);
        assert_eq!(accepts[0].1, "application/vnd.acme+json");
    }

    #[test]
    fn json_errors_do_not_echo_the_body() {
        let response = |body: &str| Response {
            status: 200,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        };
        let html = response("<html>sk-secret</html>")
            .json::<serde_json::Value>()
            .unwrap_err();
        assert_eq!(message(html), "the answer (200) is an HTML page");
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Key {
            key: String,
        }
        let missing = response(r#"{"other": "sk-secret"}"#)
            .json::<Key>()
            .unwrap_err();
        let text = message(missing);
        assert!(text.contains("missing field `key`"), "{text}");
        assert!(!text.contains("sk-secret"), "{text}");
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let request = Request::post("https://a.example/token?code=c0de")
            .header("authorization", "Bearer s3cret")
            .json(&serde_json::json!({"password": "hunter2"}));
        let text = format!("{request:?}");
        assert!(text.contains("https://a.example"), "{text}");
        for secret in ["c0de", "s3cret", "hunter2"] {
            assert!(!text.contains(secret), "{text}");
        }
        let response = Response {
            status: 200,
            headers: vec![("set-cookie".into(), "s3cret".into())],
            body: b"{\"key\": \"s3cret\"}".to_vec(),
        };
        assert!(!format!("{response:?}").contains("s3cret"));
    }
}
