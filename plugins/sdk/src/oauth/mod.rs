//! OAuth 2.0 for providers: the requests the flows users meet make, and
//! what their endpoints answer.
//!
//! - [`request_token`]: a token request (RFC 6749 section 4; a password,
//!   code, refresh or client credentials grant) sent as the form body the
//!   specification requires, with its `content-length`, and its answer read
//!   into a [`TokenResponse`], or an OAuth error (`error`,
//!   `error_description`) into the SDK's [`Error`] (see
//!   [`ErrorResponse::to_error`]: `invalid_grant` is `denied`, so a refused
//!   refresh token makes the user log in again).
//! - [`revoke`]: token revocation (RFC 7009).
//! - [`DeviceFlow`]: the device authorization grant (RFC 8628), polling
//!   with `authorization_pending`, `slow_down`, `access_denied`,
//!   `expired_token` and a deadline.
//! - [`Pkce`]: the verifier and S256 challenge of an authorization code
//!   login (RFC 7636), with [`crate::login`] for the browser and the
//!   redirect.
//!
//! ```no_run
//! # use authhost_sdk::prelude::*;
//! # fn demo(refresh_token: &str) -> Result<Credential, Error> {
//! let tokens = oauth::request_token(
//!     "https://login.acme.example/oauth/token",
//!     [
//!         ("grant_type", "refresh_token"),
//!         ("refresh_token", refresh_token),
//!         ("client_id", "authhost-cli"),
//!     ],
//! )?;
//! Ok(tokens.credential())
//! # }
//! ```

pub mod device;
pub mod poll;
mod response;

use std::time::Duration;

pub use crate::pkce::Pkce;
pub use device::DeviceFlow;
pub use response::{ErrorResponse, TokenResponse};

use crate::http;
use crate::types::Error;

/// The time for a request to a token or revocation endpoint.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `POST`s `fields` as a form to the token endpoint `token_url` and reads
/// the tokens it answers with (see [`TokenResponse::parse`] for the
/// errors).
pub fn request_token<K: AsRef<str>, V: AsRef<str>>(
    token_url: &str,
    fields: impl IntoIterator<Item = (K, V)>,
) -> Result<TokenResponse, Error> {
    let response = http::Request::post(token_url)
        .form(fields)
        .timeout(REQUEST_TIMEOUT)
        .send()?;
    TokenResponse::parse(&response, "the token endpoint")
}

/// Revokes a token at `revocation_url` (RFC 7009): `fields` are `token`
/// and, as the service wants them, `token_type_hint` and the client's
/// `client_id`. Any 2xx is success (the service answers 200 for a token it
/// does not know, too); an OAuth error is its error, and a 5xx is
/// `network`.
pub fn revoke<K: AsRef<str>, V: AsRef<str>>(
    revocation_url: &str,
    fields: impl IntoIterator<Item = (K, V)>,
) -> Result<(), Error> {
    let response = http::Request::post(revocation_url)
        .form(fields)
        .timeout(REQUEST_TIMEOUT)
        .send()?;
    revoked(&response)
}

/// How a revocation went, from the endpoint's answer.
fn revoked(response: &http::Response) -> Result<(), Error> {
    const ENDPOINT: &str = "the revocation endpoint";
    if let Some(error) = ErrorResponse::parse(response) {
        return Err(error.to_error(response.status, ENDPOINT));
    }
    match response.status {
        200..=299 => Ok(()),
        status @ 500..=599 => Err(Error::Network(format!(
            "{ENDPOINT} answered {status}; try again later"
        ))),
        status => Err(Error::InvalidResponse(format!(
            "{ENDPOINT} answered {status} with no OAuth error"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> http::Response {
        http::Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_revocation_succeeds_with_any_2xx() {
        assert!(revoked(&answer(200, "")).is_ok());
        assert!(revoked(&answer(204, "")).is_ok());
        assert!(matches!(
            revoked(&answer(400, r#"{"error":"unsupported_token_type"}"#)),
            Err(Error::Other(m)) if m == "the revocation endpoint answered 400 `unsupported_token_type`"
        ));
        assert!(matches!(
            revoked(&answer(503, "busy")),
            Err(Error::Network(_))
        ));
        assert!(matches!(
            revoked(&answer(404, "<html>")),
            Err(Error::InvalidResponse(_))
        ));
    }
}
