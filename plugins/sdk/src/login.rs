//! The parts of a browser login every OAuth provider repeats: show the
//! authorization URL (and open it), wait for the redirect to the loopback
//! listener or a line the user pastes, and answer the browser with a small
//! page once the outcome is known.
//!
//! ```no_run
//! # use authhost_sdk::prelude::*;
//! # use authhost_sdk::login::{self, page};
//! # fn demo(url: &str) -> Result<(), Error> {
//! let listener = loopback::Listener::bind(None)?;
//! login::show_url("Log in to Acme in your browser", url, false, "the redirect URL it ends on");
//! let code = login::wait(&listener, login::DEFAULT_WAIT, Some("…or paste the redirect URL here:"), |event| {
//!     match event {
//!         loopback::Event::Request((ticket, _request)) => {
//!             listener.respond(ticket, &page::not_found());
//!             Ok(None)
//!         }
//!         loopback::Event::Pasted(line) => Ok(Some(line)),
//!     }
//! })?;
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use crate::bindings::authhost::provider::{browser, interact};
use crate::loopback::{Event, Listener, Request};
use crate::types::Error;

/// How long a login waits for the browser unless told otherwise: 5
/// minutes.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);

/// Shows `intro` and `url` on the terminal and, unless `no_browser`, opens
/// `url` in the browser (saying so when that fails). With `no_browser`,
/// tells the user to open it anywhere and paste `what_to_paste` here.
pub fn show_url(intro: &str, url: &str, no_browser: bool, what_to_paste: &str) {
    interact::message(&format!("{intro}:\n  {url}"));
    if no_browser {
        interact::message(&format!(
            "Open it in any browser. If that browser cannot reach this machine, \
             paste {what_to_paste} here."
        ));
        return;
    }
    if let Err(e) = browser::open(url) {
        interact::message(&format!(
            "Could not open a browser ({}); open the URL above yourself.",
            crate::describe(&e)
        ));
    }
}

/// Waits up to `timeout` for the events of `listener` (requests, and lines
/// pasted at the terminal when `paste_label` is given), handing each to
/// `on_event` until it returns an outcome or an error. A request
/// `on_event` does not answer gets 503 when the listener is dropped.
///
/// When the time is up: `error::timeout` saying no callback came, and to
/// run `authhost login PROVIDER` again.
pub fn wait<T>(
    listener: &Listener,
    timeout: Duration,
    paste_label: Option<&str>,
    mut on_event: impl FnMut(Event) -> Result<Option<T>, Error>,
) -> Result<T, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out(timeout));
        }
        let left_ms = u32::try_from(left.as_millis()).unwrap_or(u32::MAX).max(1);
        let event = match listener.next(left_ms, paste_label) {
            Err(Error::Timeout(_)) => return Err(timed_out(timeout)),
            other => other?,
        };
        if let Some(outcome) = on_event(event)? {
            return Ok(outcome);
        }
    }
}

impl Request {
    /// A `GET` of `path_and_query` without headers, as the listener reports
    /// one (for tests of callback handling).
    pub fn get(path_and_query: &str) -> Request {
        Request {
            method: "GET".into(),
            path_and_query: path_and_query.into(),
            headers: Vec::new(),
        }
    }
}

/// The path and the query (empty when there is none) of a request to the
/// listener, as sent: nothing is decoded or normalised, so compare the
/// path with the callback path exactly.
pub fn path_and_query(request: &Request) -> (&str, &str) {
    request
        .path_and_query
        .split_once('?')
        .unwrap_or((&request.path_and_query, ""))
}

fn timed_out(timeout: Duration) -> Error {
    let waited = if timeout.as_millis() < 1000 {
        format!("{} ms", timeout.as_millis())
    } else {
        format!("{} s", timeout.as_secs())
    };
    Error::Timeout(format!(
        "no callback from the browser within {waited}; run `authhost login {}` again",
        crate::config::provider_name()
    ))
}

/// The small self-contained pages the browser gets from the listener: no
/// script, no outside resource, text escaped.
pub mod page {
    use crate::loopback::Response;

    /// An HTML page with `title` as heading and `text` below it.
    pub fn html(status: u16, title: &str, text: &str) -> Response {
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em}}</style>\
             </head><body><h1>{title}</h1><p>{text}</p></body></html>",
            title = escape(title),
            text = escape(text),
        );
        Response {
            status,
            headers: vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                (
                    "content-security-policy".into(),
                    "default-src 'none'; style-src 'unsafe-inline'".into(),
                ),
                ("cache-control".into(), "no-store".into()),
                ("referrer-policy".into(), "no-referrer".into()),
            ],
            body: body.into_bytes(),
        }
    }

    /// The login worked (200).
    pub fn success(title: &str, text: &str) -> Response {
        html(200, title, text)
    }

    /// The login failed, with why (400).
    pub fn failure(title: &str, reason: &str) -> Response {
        html(400, title, reason)
    }

    /// A request to the callback path that is not a usable callback (400).
    pub fn bad_request(reason: &str) -> Response {
        html(400, "Bad request", reason)
    }

    /// Anything that is not the callback (404).
    pub fn not_found() -> Response {
        html(
            404,
            "Not found",
            "This is not the page authhost is waiting for.",
        )
    }

    /// HTML-escapes text.
    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn text_is_escaped() {
            let page = super::failure("Login failed", "<script>alert('x')</script>");
            assert_eq!(page.status, 400);
            let body = String::from_utf8(page.body).unwrap();
            assert!(!body.contains("<script>"));
            assert!(body.contains("&lt;script&gt;"));
        }
    }
}
