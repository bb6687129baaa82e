//! Where the IdP's endpoints are: the options, the endpoints recorded at
//! login (in the credential's `extra`), or the issuer's discovery document.
//!
//! The host lets this provider reach the origins of its URL options and
//! nothing else, so an endpoint the discovery document puts on another
//! origin is refused here, before any request, with the option to set.

use authhost_sdk::config;
use authhost_sdk::http;
use authhost_sdk::text;
use authhost_sdk::types::{Credential, Error};
use serde::Deserialize;
use url::Url;

use crate::options::{self, Options};

/// The largest discovery document read.
const MAX_DOCUMENT: usize = 512 * 1024;

/// An endpoint of the IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Where the browser logs in.
    Authorization,
    /// Where codes and refresh tokens become tokens.
    Token,
    /// Where device logins start (RFC 8628).
    Device,
    /// Where tokens are revoked (RFC 7009).
    Revocation,
    /// Where the access token tells who the user is.
    Userinfo,
}

impl Endpoint {
    /// The option that names it.
    pub fn option(self) -> &'static str {
        match self {
            Endpoint::Authorization => "authorization_url",
            Endpoint::Token => "token_url",
            Endpoint::Device => "device_authorization_url",
            Endpoint::Revocation => "revocation_url",
            Endpoint::Userinfo => "userinfo_url",
        }
    }

    /// Its name in words.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Authorization => "authorization endpoint",
            Endpoint::Token => "token endpoint",
            Endpoint::Device => "device authorization endpoint",
            Endpoint::Revocation => "revocation endpoint",
            Endpoint::Userinfo => "userinfo endpoint",
        }
    }

    /// Its key in a discovery document.
    fn metadata_key(self) -> &'static str {
        match self {
            Endpoint::Authorization => "authorization_endpoint",
            Endpoint::Token => "token_endpoint",
            Endpoint::Device => "device_authorization_endpoint",
            Endpoint::Revocation => "revocation_endpoint",
            Endpoint::Userinfo => "userinfo_endpoint",
        }
    }

    /// Whether this provider sends requests to it (the authorization
    /// endpoint is only opened in the browser).
    fn is_fetched(self) -> bool {
        self != Endpoint::Authorization
    }

    /// The endpoints recorded in a credential's `extra`, under the name of
    /// their option.
    pub const RECORDED: [Endpoint; 3] = [Endpoint::Token, Endpoint::Revocation, Endpoint::Userinfo];

    const ALL: [Endpoint; 5] = [
        Endpoint::Authorization,
        Endpoint::Token,
        Endpoint::Device,
        Endpoint::Revocation,
        Endpoint::Userinfo,
    ];
}

/// Where one endpoint is, or why it is not usable.
#[derive(Debug, Clone)]
enum Found {
    At(Url),
    /// The discovery document names it on an origin this provider may not
    /// reach.
    OutOfReach(Url),
    /// The discovery document names it with a URL that is not https.
    Insecure(String),
    Missing,
}

/// The endpoints of the IdP, as far as they were needed.
#[derive(Debug, Clone)]
pub struct Endpoints {
    found: Vec<(Endpoint, Found)>,
    /// The issuer, when known: what `iss` in an authorization response
    /// must be (RFC 9207).
    pub issuer: Option<String>,
    /// The discovery document says authorization responses carry `iss`,
    /// so one without it is refused.
    pub iss_required: bool,
    /// Discovery was asked and done.
    discovered: bool,
}

/// The part of a discovery document used here.
#[derive(Deserialize)]
struct Document {
    issuer: String,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl Endpoints {
    /// The endpoints `needed` for a call: from the options first, then from
    /// `stored` (the endpoints recorded at login), then from the issuer's
    /// discovery document, fetched only when one is still missing (or
    /// `always_discover`, at login, for the `iss` rules).
    pub fn find(
        options: &Options,
        stored: Option<&Credential>,
        needed: &[Endpoint],
        always_discover: bool,
    ) -> Result<Endpoints, Error> {
        let mut endpoints = Endpoints {
            found: Vec::new(),
            issuer: options
                .issuer
                .as_deref()
                .map(|i| i.trim_end_matches('/').to_owned()),
            iss_required: false,
            discovered: false,
        };
        for &endpoint in &Endpoint::ALL {
            let configured = options
                .url_option(endpoint.option())
                .and_then(|u| Url::parse(u).ok());
            let recorded = stored
                .filter(|_| Endpoint::RECORDED.contains(&endpoint))
                .and_then(|c| c.extra(endpoint.option()))
                .and_then(|u| Url::parse(u).ok())
                .filter(|u| options::is_secure(u) && options.may_reach(u));
            if let Some(url) = configured.or(recorded) {
                endpoints.found.push((endpoint, Found::At(url)));
            }
        }
        let missing = needed.iter().any(|e| endpoints.get(*e).is_none());
        if (missing || always_discover) && options.issuer.is_some() {
            endpoints.discover(options)?;
        }
        Ok(endpoints)
    }

    /// Endpoints at fixed URLs, for tests.
    #[cfg(test)]
    pub fn fixed(issuer: Option<&str>, at: &[(Endpoint, &str)]) -> Endpoints {
        Endpoints {
            found: at
                .iter()
                .map(|(e, u)| (*e, Found::At(Url::parse(u).unwrap())))
                .collect(),
            issuer: issuer.map(str::to_owned),
            iss_required: false,
            discovered: false,
        }
    }

    fn get(&self, endpoint: Endpoint) -> Option<&Found> {
        self.found
            .iter()
            .find(|(e, _)| *e == endpoint)
            .map(|(_, f)| f)
    }

    /// The URL of `endpoint`, or an error saying which option to set.
    pub fn require(&self, endpoint: Endpoint) -> Result<Url, Error> {
        let option = endpoint.option();
        let provider = config::provider_name();
        match self.get(endpoint) {
            Some(Found::At(url)) => Ok(url.clone()),
            Some(Found::OutOfReach(url)) => Err(Error::Other(format!(
                "the discovery document's {} is on {}, which this provider may not reach: \
                 set `{option}` in [providers.{provider}]",
                endpoint.label(),
                url.origin().ascii_serialization()
            ))),
            Some(Found::Insecure(url)) => Err(Error::InvalidResponse(format!(
                "the discovery document's {} is not an https URL ({url}); \
                 set `{option}` in [providers.{provider}]",
                endpoint.label()
            ))),
            Some(Found::Missing) | None => {
                let source = if self.discovered {
                    "the IdP's discovery document names no"
                } else {
                    "there is no"
                };
                Err(Error::Other(format!(
                    "{source} {}: set `{option}` in [providers.{provider}]",
                    endpoint.label()
                )))
            }
        }
    }

    /// Whether nothing names `endpoint` (neither the options nor the
    /// discovery document).
    pub fn is_missing(&self, endpoint: Endpoint) -> bool {
        matches!(self.get(endpoint), None | Some(Found::Missing))
    }

    /// The URL of `endpoint`, if it is known and usable.
    pub fn url(&self, endpoint: Endpoint) -> Option<Url> {
        match self.get(endpoint) {
            Some(Found::At(url)) => Some(url.clone()),
            _ => None,
        }
    }

    /// The endpoints to record in a credential: (option name, URL).
    pub fn recorded(&self) -> Vec<(&'static str, String)> {
        Endpoint::RECORDED
            .iter()
            .filter_map(|e| self.url(*e).map(|u| (e.option(), u.to_string())))
            // The host keeps facts of at most 1024 bytes.
            .filter(|(_, url)| url.len() <= 1024)
            .collect()
    }

    /// Fetches the discovery document and fills in the endpoints the
    /// options do not name.
    fn discover(&mut self, options: &Options) -> Result<(), Error> {
        let Some(issuer) = self.issuer.clone() else {
            return Ok(());
        };
        let document = fetch_document(&issuer)?;
        let named = document.issuer.trim_end_matches('/');
        if named != issuer {
            return Err(Error::InvalidResponse(format!(
                "the discovery document of {issuer} names the issuer `{}`; \
                 set `issuer` to exactly the issuer the IdP names",
                text::one_line(&document.issuer, 200)
            )));
        }
        self.iss_required = document.authorization_response_iss_parameter_supported;
        self.discovered = true;
        for &endpoint in &Endpoint::ALL {
            if self.get(endpoint).is_some() {
                continue;
            }
            let found = match document.rest.get(endpoint.metadata_key()) {
                Some(serde_json::Value::String(value)) => judge(options, endpoint, value),
                _ => Found::Missing,
            };
            self.found.push((endpoint, found));
        }
        Ok(())
    }
}

/// Whether the discovered `value` of `endpoint` can be used.
fn judge(options: &Options, endpoint: Endpoint, value: &str) -> Found {
    match Url::parse(value) {
        Ok(url) if !options::is_secure(&url) => Found::Insecure(text::one_line(value, 200)),
        Ok(url) if endpoint.is_fetched() && !options.may_reach(&url) => Found::OutOfReach(url),
        Ok(url) => Found::At(url),
        Err(_) => Found::Insecure(text::one_line(value, 200)),
    }
}

/// The discovery document of `issuer`: OpenID Connect's
/// `/.well-known/openid-configuration`, or, when there is none, RFC 8414's
/// `/.well-known/oauth-authorization-server`.
fn fetch_document(issuer: &str) -> Result<Document, Error> {
    let oidc = format!("{issuer}/.well-known/openid-configuration");
    let response = get_document(&oidc, issuer)?;
    let (url, response) = if response.status == 404 {
        let oauth = rfc8414_url(issuer)?;
        let fallback = get_document(&oauth, issuer)?;
        (oauth, fallback)
    } else {
        (oidc, response)
    };
    if response.status != 200 {
        return Err(Error::InvalidResponse(format!(
            "the discovery document of {issuer} could not be read: {url} answered {}; \
             check `issuer`, or set the endpoints instead",
            response.status
        )));
    }
    response.json::<Document>().map_err(|e| {
        Error::InvalidResponse(format!(
            "the discovery document at {url} is not usable: {}",
            authhost_sdk::describe(&e)
        ))
    })
}

fn get_document(url: &str, issuer: &str) -> Result<http::Response, Error> {
    http::Request::get(url)
        .header("accept", "application/json")
        .max_response(MAX_DOCUMENT)
        .send()
        .map_err(|e| {
            let context =
                |m: String| format!("cannot read the discovery document of {issuer}: {m}");
            match e {
                Error::Timeout(m) => Error::Timeout(context(m)),
                Error::Network(m) => Error::Network(context(m)),
                other => other,
            }
        })
}

/// `https://host/.well-known/oauth-authorization-server/path` for issuer
/// `https://host/path` (RFC 8414 section 3.1).
fn rfc8414_url(issuer: &str) -> Result<String, Error> {
    let url = Url::parse(issuer).map_err(|e| Error::Other(format!("invalid `issuer`: {e}")))?;
    let path = url.path().trim_end_matches('/');
    Ok(format!(
        "{}/.well-known/oauth-authorization-server{path}",
        url.origin().ascii_serialization()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: &str) -> Options {
        authhost_sdk::config::parse(json, "corp").unwrap()
    }

    #[test]
    fn discovered_endpoints_are_judged_by_reach_and_scheme() {
        let google = options(
            r#"{"client_id": "c", "issuer": "https://accounts.google.com",
                "token_url": "https://oauth2.googleapis.com/token"}"#,
        );
        assert!(matches!(
            judge(
                &google,
                Endpoint::Revocation,
                "https://oauth2.googleapis.com/revoke"
            ),
            Found::At(_)
        ));
        assert!(matches!(
            judge(
                &google,
                Endpoint::Userinfo,
                "https://openidconnect.googleapis.com/v1/userinfo"
            ),
            Found::OutOfReach(_)
        ));
        assert!(matches!(
            judge(
                &google,
                Endpoint::Authorization,
                "https://elsewhere.example/auth"
            ),
            Found::At(_)
        ));
        assert!(matches!(
            judge(&google, Endpoint::Token, "http://accounts.google.com/token"),
            Found::Insecure(_)
        ));
    }

    #[test]
    fn rfc8414_inserts_the_well_known_part_before_the_path() {
        assert_eq!(
            rfc8414_url("https://a.example/tenant/1").unwrap(),
            "https://a.example/.well-known/oauth-authorization-server/tenant/1"
        );
        assert_eq!(
            rfc8414_url("https://a.example").unwrap(),
            "https://a.example/.well-known/oauth-authorization-server"
        );
    }
}
