//! `authhost status --check`: who the credential belongs to and when it
//! expires, from the IdP's userinfo endpoint when there is one, otherwise
//! from what the login recorded (or the ID token itself, with
//! `token = "id"`).

use authhost_sdk::http;
use authhost_sdk::types::{AccountInfo, Credential, Error};

use crate::endpoints::{Endpoint, Endpoints};
use crate::options::{Options, TokenKind};
use crate::tokens::{Claims, fact};

/// The largest userinfo answer read.
const MAX_USERINFO: usize = 64 * 1024;

/// Checks `credential` (see the module docs).
pub fn check(options: &Options, credential: &Credential) -> Result<AccountInfo, Error> {
    let expires = credential.expires();
    let (claims, source) = if options.token == TokenKind::Id {
        let claims = Claims::of_jwt(credential.secret_text())
            .ok_or_else(|| Error::InvalidResponse("the stored ID token is not a JWT".into()))?;
        (claims, "the ID token (not checked with the IdP)")
    } else {
        let endpoints = Endpoints::find(options, Some(credential), &[Endpoint::Userinfo], false)?;
        match endpoints.url(Endpoint::Userinfo) {
            Some(url) => (
                userinfo(url.as_str(), credential.secret_text())?,
                "the userinfo endpoint",
            ),
            None if endpoints.is_missing(Endpoint::Userinfo) => (
                recorded(credential),
                "the login (the IdP names no userinfo endpoint)",
            ),
            None => (
                recorded(credential),
                "the login (set `userinfo_url` to ask the IdP)",
            ),
        }
    };
    let mut details = Vec::new();
    for (label, value) in [
        ("subject", &claims.sub),
        ("email", &claims.email),
        ("user name", &claims.preferred_username),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            details.push((label.to_owned(), fact(value)));
        }
    }
    details.push(("checked with".to_owned(), source.to_owned()));
    Ok(AccountInfo {
        account: claims.account(),
        expires,
        details,
    })
}

/// What the login recorded about the user.
fn recorded(credential: &Credential) -> Claims {
    let get = |name: &str| credential.extra(name).map(str::to_owned);
    Claims {
        sub: get("sub"),
        email: get("email"),
        preferred_username: get("name"),
        ..Claims::default()
    }
}

/// Asks the userinfo endpoint about `access_token`.
fn userinfo(url: &str, access_token: &str) -> Result<Claims, Error> {
    let response = http::Request::get(url)
        .header("authorization", &format!("Bearer {access_token}"))
        .header("accept", "application/json")
        .max_response(MAX_USERINFO)
        .send()?;
    match response.status {
        200 => {
            let jwt = response
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/jwt"));
            if jwt {
                return Claims::of_jwt(response.text().trim()).ok_or_else(|| {
                    Error::InvalidResponse("the userinfo endpoint answered with a bad JWT".into())
                });
            }
            response.json()
        }
        401 | 403 => {
            // RFC 6750: the reason is in `WWW-Authenticate`.
            let reason = response
                .header("www-authenticate")
                .and_then(|h| h.split("error=\"").nth(1))
                .and_then(|rest| rest.split('"').next())
                .map(|code| format!(": `{}`", fact(code)))
                .unwrap_or_default();
            Err(Error::Denied(format!(
                "the userinfo endpoint refused the access token ({}{reason}); \
                 run `authhost token {provider} --refresh`, or log in again",
                response.status,
                provider = authhost_sdk::config::provider_name()
            )))
        }
        status if status >= 500 => Err(Error::Network(format!(
            "the userinfo endpoint answered {status}; try again later"
        ))),
        status => Err(Error::InvalidResponse(format!(
            "the userinfo endpoint answered {status}"
        ))),
    }
}
