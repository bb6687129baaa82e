//! The loopback HTTP listener a plugin uses to receive an OAuth redirect (the
//! `loopback` capability).
//!
//! It binds 127.0.0.1 only, serves HTTP/1.1 with hyper, and hands each request
//! to the plugin, which answers it through [`Listener::respond`].

use std::io;
use std::time::Duration;

/// A request the listener received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path and query, e.g. `/callback/abc?code=xyz`.
    pub path_and_query: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// An HTTP server on 127.0.0.1 whose requests are answered by the caller.
/// Dropping it closes the port and answers unanswered requests with 503.
pub struct Listener {
    port: u16,
}

impl Listener {
    /// Listens on `127.0.0.1:port`, or on a free port when `port` is `None`.
    /// A busy port fails with [`io::ErrorKind::AddrInUse`].
    pub async fn bind(port: Option<u16>) -> io::Result<Listener> {
        let _ = port;
        todo!("Listener::bind")
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits up to `timeout` for the next request; `None` when none came.
    /// Returns the request with a ticket for [`Listener::respond`].
    pub async fn next(&mut self, timeout: Duration) -> Option<(u64, Request)> {
        let _ = timeout;
        todo!("Listener::next")
    }

    /// Answers the request that came with `ticket`. Unknown or already
    /// answered tickets are ignored.
    pub fn respond(&mut self, ticket: u64, response: Response) {
        let _ = (ticket, response);
        todo!("Listener::respond")
    }
}
