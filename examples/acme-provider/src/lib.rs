//! Acme: an example third-party authhost provider.
//!
//! It logs in with a user name and password: it asks the user for both
//! (the `prompt` capability), posts them to Acme's OAuth token endpoint as
//! the form a token endpoint requires (outbound HTTP, which needs an
//! `http:` grant for that origin) and returns the OAuth tokens it gets,
//! which authhost stores with the account's e-mail address beside them.
//!
//! It also implements two of the optional exports, one trait each, which
//! authhost learns from `describe` (the SDK lists them in `features`):
//!
//! - `Refresh`: Acme's access tokens last an hour; authhost calls `refresh`
//!   shortly before one expires (once, however many programs ask for a
//!   token at that moment) and stores what it returns.
//! - `Check`: `authhost status acme --check` asks Acme whom the token
//!   belongs to and what plan the account is on.
//!
//! `resolve` and `revoke` are not implemented: authhost never calls them.

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

    fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base_url())
    }
}

/// What Acme's `GET /v1/me` answers.
#[derive(Deserialize)]
struct Me {
    email: String,
    plan: Option<String>,
}

struct Acme;

impl Provider for Acme {
    fn describe() -> Description {
        Description::new(
            "acme",
            "Acme AI (example)",
            "Example provider: logs in with an Acme user name and password",
        )
        .method(
            "password",
            "Log in with your Acme account",
            MethodKind::Oauth,
        )
        // Ask for exactly what `login` uses; the user grants these in
        // `[plugins.acme] grant = [...]`. The description is the same for
        // every provider instance (`describe` sees no configuration): the
        // host fills in the origin of each instance's `base_url` option.
        .capability("prompt")
        .capability(format!("http:{{base_url={DEFAULT_BASE_URL}}}"))
        // The keys of `[providers.acme]` it reads: authhost refuses others
        // (a typo) before the plugin runs.
        .options(["base_url"])
    }

    fn login(method: String, _flags: Vec<(String, String)>) -> Result<Credential, Error> {
        if method != "password" {
            return Err(Error::Other(format!("unknown method {method}")));
        }
        let options: Options = config::options()?;
        let user = interact::prompt("Acme user name: ", false)?;
        let password = interact::prompt("Acme password: ", true)?;
        log::debug(&format!("requesting a token for {user}"));
        // A form body with its content-length; a refused password comes
        // back as the OAuth error `invalid_grant`, which is `Error::Denied`.
        let tokens = oauth::request_token(
            &options.token_url(),
            [
                ("grant_type", "password"),
                ("username", &user),
                ("password", &password),
            ],
        )?;
        interact::message("Acme login complete");
        Ok(credential(&tokens))
    }
}

impl Refresh for Acme {
    /// Exchanges the stored refresh token for new tokens. An answer without
    /// a refresh token keeps the old one (authhost does that); a refused
    /// refresh token is `Error::Denied`, which tells the user to log in
    /// again.
    fn refresh(stored: Credential) -> Result<Credential, Error> {
        let Some(refresh) = stored.refresh_token() else {
            return Err(Error::Denied("no refresh token is stored".into()));
        };
        let options: Options = config::options()?;
        let tokens = oauth::request_token(
            &options.token_url(),
            [("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )?;
        Ok(credential(&tokens))
    }
}

impl Check for Acme {
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
}

/// The credential to store for Acme's answer: the tokens, and the
/// account's e-mail address beside them when Acme sends it (not a secret:
/// `authhost status` shows it).
fn credential(tokens: &oauth::TokenResponse) -> Credential {
    let credential = tokens.credential();
    match tokens.extra("email") {
        Some(email) => credential.with_extra("email", email),
        None => credential,
    }
}

authhost_sdk::export!(Acme);
