//! The loopback listener of a build without the `interactive-login`
//! feature: there is no HTTP server, and binding one says why.

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use super::{Request, Response};

/// What [`Listener::bind`] says in a build without the server.
pub(crate) const UNAVAILABLE: &str = "this build of authhost has no interactive login \
     (the `interactive-login` Cargo feature): it cannot listen for a browser's redirect";

/// A listener that cannot exist: [`Listener::bind`] always fails.
pub struct Listener {
    never: Infallible,
}

impl Listener {
    /// Fails: the build has no loopback server.
    pub async fn bind(_port: Option<u16>) -> io::Result<Listener> {
        Err(io::Error::new(io::ErrorKind::Unsupported, UNAVAILABLE))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        match self.never {}
    }

    /// The next request.
    pub async fn next(&mut self, _timeout: Duration) -> Option<(u64, Request)> {
        match self.never {}
    }

    /// Answers a request.
    pub fn respond(&mut self, _ticket: u64, _response: Response) {
        match self.never {}
    }
}
