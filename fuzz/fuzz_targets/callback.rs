//! The OAuth callback path: raw bytes from a client of the loopback
//! listener, through its HTTP handling, to the OpenRouter plugin deciding
//! whether a request is the callback; and the same bytes as a line pasted
//! at the terminal.
//!
//! Checks: nothing panics or hangs; every client gets an HTTP answer or
//! a closed connection; at most one request per connection reaches the
//! plugin; only `GET /callback/<nonce>` exactly is taken as the callback;
//! text shown to the user has no control characters.

#![no_main]

use authhost::fuzzing::{Request, Response};
use libfuzzer_sys::fuzz_target;
use openrouter::callback::{self, Callback};

const NONCE: &str = "n0nce";

fn check_request(request: &Request) {
    let as_wit = openrouter::authhost::provider::loopback::Request {
        method: request.method.clone(),
        path_and_query: request.path_and_query.clone(),
        headers: request.headers.clone(),
    };
    match callback::from_request(&as_wit, NONCE) {
        Callback::Code(_) | Callback::Denied(_) => {
            let path = request.path_and_query.split('?').next().unwrap_or("");
            assert_eq!(request.method, "GET");
            assert_eq!(path, format!("/callback/{NONCE}"));
        }
        Callback::Ignore(_) => {}
    }
    if let Callback::Denied(reason) = callback::from_request(&as_wit, NONCE) {
        assert!(!reason.chars().any(char::is_control), "{reason:?}");
        assert!(reason.chars().count() <= 100);
    }
}

fuzz_target!(|data: &[u8]| {
    let (requests, received) = authhost::fuzzing::loopback_exchange(data, |request| {
        check_request(request);
        Response {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"ok".to_vec(),
        }
    });
    assert!(requests.len() <= 1, "one request per connection");
    // hyper answers an HTTP/1.0 request in HTTP/1.0.
    assert!(
        received.is_empty()
            || received.starts_with(b"HTTP/1.1 ")
            || received.starts_with(b"HTTP/1.0 "),
        "{:?}",
        String::from_utf8_lossy(&received[..received.len().min(64)])
    );
    if let Ok(line) = std::str::from_utf8(data) {
        if let Ok(Callback::Denied(reason)) = callback::from_pasted(line, NONCE) {
            assert!(!reason.chars().any(char::is_control), "{reason:?}");
        }
    }
});
