//! The device authorization grant (RFC 8628): the service gives a short
//! code, the user enters it at the service's page on any device (a phone,
//! another computer's browser), and the provider polls the token endpoint
//! until the login is approved, refused or expired.
//!
//! ```no_run
//! # use authhost_sdk::prelude::*;
//! # fn demo() -> Result<Credential, Error> {
//! let tokens = oauth::DeviceFlow::new(
//!     "https://login.acme.example/oauth/device/code",
//!     "https://login.acme.example/oauth/token",
//!     "authhost-cli",
//! )
//! .scopes(["openid", "offline_access"])
//! .run()?;
//! Ok(tokens.credential())
//! # }
//! ```
//!
//! [`DeviceFlow::run`] shows the code and the page through
//! `interact::message` (which needs no grant) and waits between requests
//! with the host's clock ([`clock::sleep`], which costs no CPU time); it
//! needs only the `http:` grants of the two endpoints. Its I/O goes through
//! [`Io`], so a test can run it against a script ([`DeviceFlow::run_with`]).

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::poll::{Poll, Polled, TOKEN_ENDPOINT, lifetime};
use super::response::{TokenResponse, parse_answer, seconds};
use crate::http::{self, Response};
use crate::types::Error;
use crate::{clock, interact, text};

/// The grant type of the token requests.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The interval when the service names none (RFC 8628 section 3.2).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// How long a code lives when the service does not say, and how long
/// [`DeviceFlow`] polls unless told otherwise: 15 minutes, authhost's
/// login time limit.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(900);
/// The time for each request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The endpoint that gives the code, as errors name it.
const DEVICE_ENDPOINT: &str = "the device authorization endpoint";

/// What the device authorization endpoint answered (RFC 8628 section
/// 3.2). Its `Debug` output leaves the device code out.
#[derive(Clone, Deserialize)]
pub struct DeviceAuthorization {
    /// The code the provider polls with. A secret.
    pub device_code: String,
    /// The code the user enters.
    pub user_code: String,
    /// The page where the user enters it (`verification_url` in some
    /// services' answers).
    #[serde(alias = "verification_url")]
    pub verification_uri: String,
    /// The page with the code in it already, when the service has one.
    #[serde(default, alias = "verification_url_complete")]
    pub verification_uri_complete: Option<String>,
    /// How long the codes live, in seconds.
    #[serde(default, deserialize_with = "seconds")]
    pub expires_in: Option<u64>,
    /// The wait between two requests, in seconds.
    #[serde(default, deserialize_with = "seconds")]
    pub interval: Option<u64>,
}

impl DeviceAuthorization {
    /// Reads the device authorization endpoint's answer; errors as for
    /// [`TokenResponse::parse`].
    pub fn parse(response: &Response) -> Result<DeviceAuthorization, Error> {
        let authorization: DeviceAuthorization = parse_answer(response, DEVICE_ENDPOINT)?;
        for (field, value) in [
            ("device_code", &authorization.device_code),
            ("user_code", &authorization.user_code),
            ("verification_uri", &authorization.verification_uri),
        ] {
            if value.trim().is_empty() {
                return Err(Error::InvalidResponse(format!(
                    "{DEVICE_ENDPOINT} answered {} with an empty `{field}`",
                    response.status
                )));
            }
        }
        Ok(authorization)
    }

    /// The wait between two requests: `interval`, [`DEFAULT_INTERVAL`]
    /// without one, at least a second.
    pub fn interval(&self) -> Duration {
        self.interval
            .map_or(DEFAULT_INTERVAL, Duration::from_secs)
            .max(Duration::from_secs(1))
    }

    /// How long the codes live: `expires_in`, or [`DEFAULT_MAX_WAIT`].
    pub fn lifetime(&self) -> Duration {
        self.expires_in
            .filter(|&secs| secs > 0)
            .map_or(DEFAULT_MAX_WAIT, Duration::from_secs)
    }

    /// What the user is told: where to go and what to enter.
    pub fn instructions(&self) -> String {
        let uri = text::one_line(&self.verification_uri, 500);
        let code = text::one_line(&self.user_code, 100);
        let mut lines = format!("To log in, open\n  {uri}\nand enter the code\n  {code}");
        if let Some(complete) = &self.verification_uri_complete {
            let complete = text::one_line(complete, 600);
            lines.push_str(&format!("\n(or open {complete}, which carries the code)"));
        }
        lines
    }
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// What a device login does outside itself. [`HostIo`] is the real one.
pub trait Io {
    /// `POST url` with `fields` as a form; the answer, whatever its status.
    fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> Result<Response, Error>;
    /// The time on a monotonic clock.
    fn now(&self) -> Duration;
    /// Waits for `duration`.
    fn sleep(&mut self, duration: Duration);
    /// Tells the user `text`.
    fn show(&mut self, text: &str);
}

/// The host's I/O: [`http`] requests, the monotonic clock,
/// [`clock::sleep`] and `interact::message`.
pub struct HostIo {
    started: Instant,
}

impl HostIo {
    /// I/O through the host, with the clock starting now.
    pub fn new() -> HostIo {
        HostIo {
            started: Instant::now(),
        }
    }
}

impl Default for HostIo {
    fn default() -> HostIo {
        HostIo::new()
    }
}

impl Io for HostIo {
    fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> Result<Response, Error> {
        http::Request::post(url)
            .form(fields.iter().map(|(k, v)| (k, v)))
            .timeout(REQUEST_TIMEOUT)
            .send()
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn sleep(&mut self, duration: Duration) {
        clock::sleep(duration);
    }

    fn show(&mut self, text: &str) {
        interact::message(text);
    }
}

/// A device login at one service, built with its methods and run with
/// [`DeviceFlow::run`].
#[derive(Clone)]
pub struct DeviceFlow {
    device_authorization_url: String,
    token_url: String,
    client_id: String,
    client_secret: Option<String>,
    scopes: Vec<String>,
    params: Vec<(String, String)>,
    max_wait: Duration,
}

impl DeviceFlow {
    /// A login of client `client_id` at the service with these endpoints.
    pub fn new(device_authorization_url: &str, token_url: &str, client_id: &str) -> DeviceFlow {
        DeviceFlow {
            device_authorization_url: device_authorization_url.to_owned(),
            token_url: token_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: None,
            scopes: Vec::new(),
            params: Vec::new(),
            max_wait: DEFAULT_MAX_WAIT,
        }
    }

    /// Asks for these scopes too (`scope`, space-separated).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> DeviceFlow {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Sends the client secret with both requests (`client_secret`), for
    /// a service that wants one from an installed application.
    pub fn client_secret(mut self, secret: &str) -> DeviceFlow {
        self.client_secret = Some(secret.to_owned());
        self
    }

    /// Adds a field to the device authorization request (`audience`,
    /// `resource`, …).
    pub fn param(mut self, name: &str, value: &str) -> DeviceFlow {
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Polls for at most `max_wait` ([`DEFAULT_MAX_WAIT`] unless set), and
    /// never past the code's `expires_in`.
    pub fn max_wait(mut self, max_wait: Duration) -> DeviceFlow {
        self.max_wait = max_wait;
        self
    }

    /// Runs the login through the host: asks for a code, shows it, and
    /// polls until the tokens come. `denied` when the user refused,
    /// `timeout` when the code expired or `max_wait` passed.
    pub fn run(&self) -> Result<TokenResponse, Error> {
        self.run_with(&mut HostIo::new())
    }

    /// [`DeviceFlow::run`] through `io`.
    pub fn run_with(&self, io: &mut impl Io) -> Result<TokenResponse, Error> {
        let authorization = self.authorize(io)?;
        io.show(&authorization.instructions());
        self.poll(&authorization, io)
    }

    /// Asks the device authorization endpoint for a code.
    pub fn authorize(&self, io: &mut impl Io) -> Result<DeviceAuthorization, Error> {
        let mut fields = self.client_fields();
        if !self.scopes.is_empty() {
            fields.push(("scope".into(), self.scopes.join(" ")));
        }
        fields.extend(self.params.iter().cloned());
        let response = io.post_form(&self.device_authorization_url, &fields)?;
        DeviceAuthorization::parse(&response)
    }

    /// Polls the token endpoint for `authorization` until the login ends.
    pub fn poll(
        &self,
        authorization: &DeviceAuthorization,
        io: &mut impl Io,
    ) -> Result<TokenResponse, Error> {
        let mut poll = Poll::new(authorization, io.now(), self.max_wait);
        io.show(&format!(
            "Waiting for the approval (checking every {}; the code expires in {}; Ctrl-C to stop)…",
            lifetime(poll.interval()),
            lifetime(authorization.lifetime())
        ));
        let mut fields = vec![
            ("grant_type".to_owned(), GRANT_TYPE.to_owned()),
            ("device_code".to_owned(), authorization.device_code.clone()),
        ];
        fields.extend(self.client_fields());
        loop {
            let wait = poll.wait(io.now())?;
            io.sleep(wait);
            match poll.answer(io.post_form(&self.token_url, &fields))? {
                Polled::Done(tokens) => return Ok(tokens),
                Polled::Pending => {}
                Polled::Unanswered(error) => io.show(&format!(
                    "{} did not answer ({}); trying again in {}…",
                    capitalized(TOKEN_ENDPOINT),
                    crate::describe(&error),
                    lifetime(poll.interval())
                )),
            }
        }
    }

    /// `client_id`, and `client_secret` when there is one.
    fn client_fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![("client_id".to_owned(), self.client_id.clone())];
        if let Some(secret) = &self.client_secret {
            fields.push(("client_secret".to_owned(), secret.clone()));
        }
        fields
    }
}

/// Shows the endpoints and the settings, never the client secret.
impl std::fmt::Debug for DeviceFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceFlow")
            .field("device_authorization_url", &self.device_authorization_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
