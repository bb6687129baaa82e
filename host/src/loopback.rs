//! The loopback HTTP listener a plugin uses to receive an OAuth redirect (the
//! `loopback` capability).
//!
//! It binds 127.0.0.1 only and serves HTTP/1.1 with hyper. Every listener of
//! the process is served by one thread of its own, started on first use (so
//! that the connections are isolated from the caller's runtime and the last
//! answers are still written while the caller's process winds down; a
//! listener costs a socket and a task, not a thread). Each
//! request is handed to the caller, which answers it through
//! [`Listener::respond`]. Everything a client controls is bounded: header size
//! and count (hyper's limits), the time to send the headers, the life of a
//! connection, the number of open connections (when all are taken, the
//! oldest that has not sent a request makes way, so idle clients cannot lock
//! the browser out), and the number of requests waiting for the caller
//! (beyond it they get 503 at once). Request bodies are never read.

//!
//! The server is the `interactive-login` Cargo feature (on by default, and
//! needed by the `cli` feature); without it [`Listener::bind`] fails with an
//! error naming the feature, and no HTTP server is compiled in.

#[cfg(not(feature = "interactive-login"))]
mod off;
#[cfg(feature = "interactive-login")]
mod server;

#[cfg(not(feature = "interactive-login"))]
pub use off::Listener;
#[cfg(feature = "interactive-login")]
pub use server::Listener;
#[cfg(all(feature = "interactive-login", fuzzing))]
pub(crate) use server::serve_connection;

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
    /// Extra headers; `content-length`, `connection` and `cache-control` are
    /// set by the listener.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}
