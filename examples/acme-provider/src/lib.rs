//! Acme: an example third-party authhost provider.
//!
//! It logs in with a user name and password: it asks the user for both
//! (the `prompt` capability), posts them to Acme's token endpoint (outbound
//! HTTP, which needs an `http:` grant for that origin) and returns the OAuth
//! tokens it gets, which authhost stores with the account's e-mail address
//! beside them.
//!
//! It also implements two of the optional exports, which it lists in
//! `features`:
//!
//! - `refresh`: Acme's access tokens last an hour; authhost calls `refresh`
//!   shortly before one expires (once, however many programs ask for a
//!   token at that moment) and stores what it returns.
//! - `check`: `authhost status acme --check` asks Acme whom the token
//!   belongs to and what plan the account is on.

use std::time::Duration;

use authhost_sdk::prelude::*;
use serde::Deserialize;

/// Used when the user's `[providers.acme]` sets no `base_url`.
const DEFAULT_BASE_URL: &str = "https://api.acme.example";

/// `[providers.acme]` in the user's config.toml.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    base_url: Option<String>,
}

impl Options {
    fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/')
    }
}

/// What Acme's token endpoint answers.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    /// Lifetime of the access token in seconds.
    expires_in: Option<u64>,
    /// The account's e-mail address, when Acme sends it.
    email: Option<String>,
}

/// What Acme's `GET /v1/me` answers.
#[derive(Deserialize)]
struct Me {
    email: String,
    plan: Option<String>,
}

struct Acme;

impl Provider for Acme {
    fn describe() -> Metadata {
        Metadata {
            id: "acme".into(),
            display_name: "Acme AI (example)".into(),
            description: "Example provider: logs in with an Acme user name and password".into(),
            methods: vec![AuthMethod {
                id: "password".into(),
                label: "Log in with your Acme account".into(),
                kind: MethodKind::Oauth,
            }],
            // Ask for exactly what `login` uses; the user grants these in
            // `[plugins.acme] grant = [...]`. Metadata is the same for every
            // provider instance (`describe` sees no configuration): the host
            // fills in the origin of each instance's `base_url` option.
            capabilities: vec![
                "prompt".into(),
                format!("http:{{base_url={DEFAULT_BASE_URL}}}"),
            ],
            // The optional exports this provider implements; authhost calls
            // no other.
            features: Features::REFRESH | Features::CHECK,
            // The keys of `[providers.acme]` it reads: authhost refuses
            // others (a typo) before the plugin runs.
            options: Some(["base_url"].map(String::from).to_vec()),
        }
    }

    fn login(method: String, _options: Vec<(String, String)>) -> Result<Credential, Error> {
        if method != "password" {
            return Err(Error::Other(format!("unknown method {method}")));
        }
        let options: Options = config::options()?;
        let user = interact::prompt("Acme user name: ", false)?;
        let password = interact::prompt("Acme password: ", true)?;
        log::debug(&format!("requesting a token for {user}"));
        let body = serde_json::json!({
            "grant_type": "password",
            "username": user,
            "password": password,
        });
        let credential = request_token(options.base_url(), &body)?;
        interact::message("Acme login complete");
        Ok(credential)
    }

    /// Exchanges the stored refresh token for new tokens. An answer without
    /// a refresh token keeps the old one (authhost does that); a refused
    /// refresh token is `Error::Denied`, which tells the user to log in
    /// again.
    fn refresh(stored: Credential) -> Result<Credential, Error> {
        let Secret::Oauth(OauthTokens {
            refresh: Some(refresh),
            ..
        }) = &stored.secret
        else {
            return Err(Error::Denied("no refresh token is stored".into()));
        };
        let options: Options = config::options()?;
        let body = serde_json::json!({ "grant_type": "refresh_token", "refresh_token": refresh });
        request_token(options.base_url(), &body)
    }

    /// Asks Acme whom the access token belongs to.
    fn check(credential: Credential) -> Result<AccountInfo, Error> {
        let options: Options = config::options()?;
        let response = http::Request::get(&format!("{}/v1/me", options.base_url()))
            .header(
                "authorization",
                &format!("Bearer {}", credential.secret_text()),
            )
            .timeout(Duration::from_secs(30))
            .send()?;
        if response.status == 401 {
            return Err(Error::Denied("Acme does not accept the token".into()));
        }
        if !response.is_success() {
            return Err(Error::Network(format!(
                "Acme answered HTTP {}",
                response.status
            )));
        }
        let me: Me = response.json()?;
        Ok(AccountInfo {
            account: Some(me.email),
            expires: None,
            details: vec![("plan".into(), me.plan.unwrap_or_else(|| "free".into()))],
        })
    }

    // Acme keys come from `login`, not from a helper, and Acme has no
    // revocation endpoint: `features` lists neither, so authhost never
    // calls these.
    fn resolve(_reason: Reason, _stored: Option<Credential>) -> Result<Resolved, Error> {
        Err(Error::unsupported("resolve"))
    }

    fn revoke(_stored: Credential) -> Result<(), Error> {
        Err(Error::unsupported("revoke"))
    }
}

/// Posts `body` to Acme's token endpoint; a request the host refuses comes
/// back as `capability-denied` naming the grant the user must add.
fn request_token(base_url: &str, body: &serde_json::Value) -> Result<Credential, Error> {
    let response = http::Request::post(&format!("{base_url}/oauth/token"))
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()?;
    if response.status == 400 || response.status == 401 || response.status == 403 {
        return Err(Error::Denied(
            "Acme rejected the user name and password, or the refresh token".into(),
        ));
    }
    if !response.is_success() {
        return Err(Error::Network(format!(
            "Acme answered HTTP {}",
            response.status
        )));
    }
    let token: TokenResponse = response.json()?;
    let credential = Credential::oauth(OauthTokens {
        access: token.access_token,
        refresh: token.refresh_token,
        expires: token
            .expires_in
            .map(|s| clock::after(Duration::from_secs(s))),
    });
    // Not a secret: stored beside the tokens and shown by `authhost status`.
    Ok(match token.email {
        Some(email) => credential.with_extra("email", email),
        None => credential,
    })
}

authhost_sdk::export!(Acme);
