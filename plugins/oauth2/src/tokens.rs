//! From a token response to the credential the host stores, and what an
//! ID token says about the user.

use std::time::Duration;

use authhost_sdk::clock;
use authhost_sdk::text;
use authhost_sdk::types::{Credential, Error, OauthTokens};
use base64::Engine as _;
use oauth2::TokenResponse as _;
use serde::Deserialize;

use crate::client::TokenResponse;
use crate::endpoints::Endpoints;
use crate::options::TokenKind;

/// The longest value of an `extra` fact taken from the IdP.
const MAX_FACT: usize = 256;

/// What an ID token (or a userinfo answer) says about the user; read for
/// display only, so the token's signature is not checked.
#[derive(Debug, Default, Deserialize)]
pub struct Claims {
    /// The subject: the user's id at the IdP.
    pub sub: Option<String>,
    /// The e-mail address.
    pub email: Option<String>,
    /// The user name.
    pub preferred_username: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: Option<u64>,
}

impl Claims {
    /// The claims of a JWT (its middle part), if it is one.
    pub fn of_jwt(jwt: &str) -> Option<Claims> {
        let payload = jwt.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The best name for the account: the e-mail address, the user name,
    /// the display name or the subject.
    pub fn account(&self) -> Option<String> {
        [&self.email, &self.preferred_username, &self.name, &self.sub]
            .into_iter()
            .flatten()
            .find(|v| !v.trim().is_empty())
            .map(|v| fact(v))
    }

    /// The facts kept beside the credential: `sub`, `email`, `name`.
    fn facts(&self) -> Vec<(&'static str, String)> {
        let name = self.preferred_username.as_ref().or(self.name.as_ref());
        [
            ("sub", self.sub.as_ref()),
            ("email", self.email.as_ref()),
            ("name", name),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.trim().is_empty()).map(|v| (k, fact(v))))
        .collect()
    }
}

/// A value from the IdP made fit to show and store: one line, short.
pub fn fact(value: &str) -> String {
    text::one_line(value, MAX_FACT)
}

/// The credential for `response`: the access token (or the ID token, with
/// `token = "id"`), the refresh token and the expiry, with the non-secret
/// facts in `extra`: those of `previous` (a refresh), updated with the
/// issuer, the endpoints to use later, the granted scope and who the user
/// is.
pub fn credential(
    response: &TokenResponse,
    kind: TokenKind,
    endpoints: &Endpoints,
    previous: &[(String, String)],
) -> Result<Credential, Error> {
    let id_token = response
        .extra_fields()
        .id_token
        .as_deref()
        .filter(|t| !t.is_empty());
    let claims = id_token.and_then(Claims::of_jwt);
    let expires_in = response.expires_in().map(clock::after);
    let (secret, expires) = match kind {
        TokenKind::Access => {
            let access = response.access_token().secret();
            if access.is_empty() {
                return Err(Error::InvalidResponse(
                    "the token endpoint returned an empty access token".into(),
                ));
            }
            (access.clone(), expires_in)
        }
        TokenKind::Id => {
            let Some(id) = id_token else {
                return Err(Error::InvalidResponse(
                    "the token endpoint returned no ID token, which `token = \"id\"` needs \
                     (is `openid` among `scopes`?)"
                        .into(),
                ));
            };
            let exp = claims
                .as_ref()
                .and_then(|c| c.exp)
                .map(|s| s.saturating_mul(1000));
            (id.to_owned(), exp.or(expires_in))
        }
    };
    let tokens = OauthTokens {
        access: secret,
        refresh: response
            .refresh_token()
            .map(|r| r.secret().clone())
            .filter(|r| !r.is_empty()),
        expires,
    };
    let mut credential = Credential::oauth(tokens);
    credential.extra = previous.to_vec();
    let mut set = |name: &str, value: String| {
        credential.extra.retain(|(k, _)| k != name);
        credential.extra.push((name.to_owned(), value));
    };
    if let Some(issuer) = &endpoints.issuer {
        set("issuer", issuer.clone());
    }
    for (name, url) in endpoints.recorded() {
        set(name, url);
    }
    if let Some(scopes) = response.scopes() {
        let scope: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        set("scope", fact(&scope.join(" ")));
    }
    for (name, value) in claims.iter().flat_map(Claims::facts) {
        set(name, value);
    }
    Ok(credential)
}

/// `12 min`, `45 s`: a lifetime in words.
pub fn lifetime(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 120 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authhost_sdk::types::Secret;

    fn jwt(claims: &serde_json::Value) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            engine.encode(br#"{"alg":"RS256"}"#),
            engine.encode(claims.to_string())
        )
    }

    #[test]
    fn claims_are_read_from_the_payload() {
        let token = jwt(&serde_json::json!({
            "sub": "alice", "email": "alice@example.com", "exp": 1_900_000_000u64, "aud": "x"
        }));
        let claims = Claims::of_jwt(&token).unwrap();
        assert_eq!(claims.sub.as_deref(), Some("alice"));
        assert_eq!(claims.exp, Some(1_900_000_000));
        assert_eq!(claims.account().as_deref(), Some("alice@example.com"));
        assert_eq!(
            claims.facts(),
            [
                ("sub", "alice".to_owned()),
                ("email", "alice@example.com".to_owned())
            ]
        );
        assert!(Claims::of_jwt("opaque-access-token").is_none());
        assert!(Claims::of_jwt("a.!!!.c").is_none());
    }

    fn response(json: serde_json::Value) -> TokenResponse {
        serde_json::from_value(json).unwrap()
    }

    fn oauth(credential: &Credential) -> &OauthTokens {
        match &credential.secret {
            Secret::Oauth(tokens) => tokens,
            Secret::ApiKey(_) => panic!("not OAuth tokens"),
        }
    }

    #[test]
    fn a_token_response_becomes_the_stored_credential() {
        use crate::endpoints::Endpoint;
        let endpoints = Endpoints::fixed(
            Some("https://login.example.com"),
            &[
                (Endpoint::Token, "https://login.example.com/token"),
                (Endpoint::Device, "https://login.example.com/device"),
            ],
        );
        let id_token = jwt(&serde_json::json!({"sub": "bob", "exp": 1_900_000_000u64}));
        let answer = response(serde_json::json!({
            "access_token": "at-1", "token_type": "Bearer", "expires_in": 60,
            "refresh_token": "rt-1", "scope": "openid email", "id_token": id_token,
        }));
        let previous = [("email".to_owned(), "bob@example.com".to_owned())];
        let access = credential(&answer, TokenKind::Access, &endpoints, &previous).unwrap();
        let tokens = oauth(&access);
        assert_eq!(
            (tokens.access.as_str(), tokens.refresh.as_deref()),
            ("at-1", Some("rt-1"))
        );
        let expires = tokens.expires.unwrap();
        assert!(
            expires > clock::now_ms() + 55_000 && expires <= clock::after(Duration::from_secs(60))
        );
        for (name, value) in [
            ("email", "bob@example.com"),
            ("issuer", "https://login.example.com"),
            ("token_url", "https://login.example.com/token"),
            ("scope", "openid email"),
            ("sub", "bob"),
        ] {
            assert_eq!(access.extra(name), Some(value), "{name}");
        }
        // The device endpoint is not needed after the login.
        assert_eq!(access.extra("device_authorization_url"), None);

        let id = credential(&answer, TokenKind::Id, &endpoints, &[]).unwrap();
        assert_eq!(oauth(&id).access, id_token);
        assert_eq!(oauth(&id).expires, Some(1_900_000_000_000));

        let plain = response(serde_json::json!({"access_token": "at-2", "token_type": "bearer"}));
        let renewed = credential(&plain, TokenKind::Access, &endpoints, &access.extra).unwrap();
        assert_eq!(
            oauth(&renewed).refresh,
            None,
            "the host keeps the old refresh token"
        );
        assert_eq!(renewed.extra("sub"), Some("bob"));
        let missing = credential(&plain, TokenKind::Id, &endpoints, &[]).unwrap_err();
        assert!(matches!(missing, Error::InvalidResponse(m) if m.contains("no ID token")));
    }

    #[test]
    fn facts_are_one_short_line() {
        assert_eq!(fact("a\nb\u{1b}[31m"), "a b [31m");
        assert_eq!(fact(&"x".repeat(1000)).len(), MAX_FACT);
    }

    #[test]
    fn lifetimes_in_words() {
        assert_eq!(lifetime(Duration::from_secs(600)), "10 min");
        assert_eq!(lifetime(Duration::from_secs(90)), "90 s");
    }
}
