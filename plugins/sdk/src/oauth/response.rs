//! What OAuth endpoints answer: token responses (RFC 6749 section 5.1) and
//! error responses (section 5.2: `error`, `error_description`), read into
//! the SDK's types and [`Error`] without echoing anything secret.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::clock;
use crate::http::Response;
use crate::text;
use crate::types::{Credential, Error, OauthTokens};

/// A token endpoint's answer to a successful request. Its `Debug` output
/// shows no token.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer`, usually.
    #[serde(default)]
    pub token_type: Option<String>,
    /// The access token's lifetime, in seconds (also read when the service
    /// sends it as text, `"3600"`).
    #[serde(default, deserialize_with = "seconds")]
    pub expires_in: Option<u64>,
    /// The refresh token, when the service issued one.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The scopes granted, space-separated, when the service says.
    #[serde(default)]
    pub scope: Option<String>,
    /// The OpenID Connect ID token, when there is one.
    #[serde(default)]
    pub id_token: Option<String>,
    /// Every other field of the answer (a service's own: `email`,
    /// `account_id`, …).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl TokenResponse {
    /// Reads the answer of a token endpoint (named `endpoint` in errors,
    /// e.g. "the token endpoint"). An OAuth error, whatever the status
    /// (some services answer `200` with one), is its [`ErrorResponse`]'s
    /// error; an answer that is not a token response is
    /// `invalid-response` (or `network` for a 5xx), saying what was wrong
    /// but never quoting the body.
    pub fn parse(response: &Response, endpoint: &str) -> Result<TokenResponse, Error> {
        let tokens: TokenResponse = parse_answer(response, endpoint)?;
        if tokens.access_token.trim().is_empty() {
            return Err(Error::InvalidResponse(format!(
                "{endpoint} answered {} with an empty access token",
                response.status
            )));
        }
        Ok(tokens)
    }

    /// The credential to store: OAuth tokens with the access token, the
    /// refresh token (when not empty) and the expiry `expires_in` from now.
    pub fn credential(&self) -> Credential {
        Credential::oauth(OauthTokens {
            access: self.access_token.clone(),
            refresh: self.refresh_token.clone().filter(|r| !r.is_empty()),
            expires: self
                .expires_in
                .map(|secs| clock::after(Duration::from_secs(secs))),
        })
    }

    /// The field `name` of [`extra`](TokenResponse::extra), when it is text.
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extra.get(name).and_then(|v| v.as_str())
    }
}

/// Shows the kind of token and what came with it, never a token.
impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| ".."))
            .field("scope", &self.scope)
            .field("id_token", &self.id_token.as_ref().map(|_| ".."))
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// An OAuth error answer: `{"error": "invalid_grant", "error_description":
/// "…"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorResponse {
    /// The error code: `invalid_grant`, `access_denied`,
    /// `authorization_pending`, …
    pub error: String,
    /// The service's words about it, if any.
    #[serde(default)]
    pub error_description: Option<String>,
    /// A page about it, if any.
    #[serde(default)]
    pub error_uri: Option<String>,
}

impl ErrorResponse {
    /// The OAuth error `response` carries: a JSON (or form) body with a
    /// text `error` and no `access_token`, whatever the status.
    pub fn parse(response: &Response) -> Option<ErrorResponse> {
        let fields = fields(response)?;
        if fields.contains_key("access_token") {
            return None;
        }
        serde_json::from_value(serde_json::Value::Object(fields)).ok()
    }

    /// The error in words, as the user reads it: ``the token endpoint
    /// answered 400 `invalid_grant` (the code has expired)``, with the
    /// description on one short line and anything like a secret blanked
    /// out.
    pub fn message(&self, status: u16, endpoint: &str) -> String {
        let description = match self.error_description.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => format!(
                " ({})",
                text::redact_secret_like(&text::one_line(text, 300))
            ),
            _ => String::new(),
        };
        format!(
            "{endpoint} answered {status} `{}`{description}",
            text::one_line(&self.error, 60)
        )
    }

    /// The error as the SDK's [`Error`]:
    ///
    /// - `invalid_grant` (a refresh token or code no longer accepted) and
    ///   `access_denied` (the user refused): `denied`, which tells the host
    ///   the user must log in again;
    /// - `expired_token`: `timeout`;
    /// - `server_error`, `temporarily_unavailable`, any code with a 5xx
    ///   status: `network` (try again later);
    /// - anything else (`invalid_client`, `invalid_scope`, …): `other`.
    pub fn to_error(&self, status: u16, endpoint: &str) -> Error {
        let message = self.message(status, endpoint);
        match self.error.as_str() {
            "invalid_grant" | "access_denied" => Error::Denied(message),
            "expired_token" => Error::Timeout(message),
            "server_error" | "temporarily_unavailable" => Error::Network(message),
            _ if status >= 500 => Error::Network(message),
            _ => Error::Other(message),
        }
    }
}

/// Reads a successful OAuth answer as `T` (see [`TokenResponse::parse`]).
pub(crate) fn parse_answer<T: DeserializeOwned>(
    response: &Response,
    endpoint: &str,
) -> Result<T, Error> {
    let status = response.status;
    if let Some(error) = ErrorResponse::parse(response) {
        return Err(error.to_error(status, endpoint));
    }
    if status >= 500 {
        return Err(Error::Network(format!(
            "{endpoint} answered {status}; try again later"
        )));
    }
    let html = response.body.trim_ascii_start().starts_with(b"<");
    if !response.is_success() {
        let what = if html {
            "an HTML page"
        } else {
            "no OAuth error"
        };
        return Err(Error::InvalidResponse(format!(
            "{endpoint} answered {status} with {what}"
        )));
    }
    let Some(fields) = fields(response) else {
        let what = if html {
            "an HTML page, not JSON"
        } else {
            "something that is not JSON"
        };
        return Err(Error::InvalidResponse(format!(
            "{endpoint} answered {status} with {what}"
        )));
    };
    serde_path_to_error::deserialize(serde_json::Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // Name the field, never quote a value.
        let what = match inner.strip_prefix("missing field ") {
            Some(field) => format!("JSON without {field}"),
            None if path != "." => format!("JSON with an unusable `{path}`"),
            None => "JSON of an unexpected shape".to_owned(),
        };
        Error::InvalidResponse(format!("{endpoint} answered {status} with {what}"))
    })
}

/// The fields of a JSON object body, or of a form body
/// (`application/x-www-form-urlencoded`, what some services answer
/// without `accept: application/json`).
fn fields(response: &Response) -> Option<serde_json::Map<String, serde_json::Value>> {
    if let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(&response.body) {
        return Some(fields);
    }
    let form = response
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    form.then(|| {
        url::form_urlencoded::parse(&response.body)
            .into_owned()
            .map(|(name, value)| (name, serde_json::Value::String(value)))
            .collect()
    })
}

/// A number of seconds, as a JSON number or as text; `null` is none.
pub(crate) fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Whole(u64),
        Fraction(f64),
        Text(String),
    }
    let unusable = || serde::de::Error::custom("not a number of seconds");
    match Option::<Seconds>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Seconds::Whole(secs)) => Ok(Some(secs)),
        Some(Seconds::Fraction(secs)) if secs.is_finite() && secs >= 0.0 => Ok(Some(secs as u64)),
        Some(Seconds::Text(text)) => text.trim().parse().map(Some).map_err(|_| unusable()),
        Some(Seconds::Fraction(_)) => Err(unusable()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Secret;

    const TOKEN: &str = "the token endpoint";

    fn answer(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn parse(status: u16, body: &str) -> Result<TokenResponse, Error> {
        TokenResponse::parse(&answer(status, body), TOKEN)
    }

    #[test]
    fn a_token_response_becomes_the_credential() {
        let tokens = parse(
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,
                "refresh_token":"rt-1","scope":"openid email","email":"a@acme.example"}"#,
        )
        .unwrap();
        assert_eq!(tokens.token_type.as_deref(), Some("Bearer"));
        assert_eq!(tokens.scope.as_deref(), Some("openid email"));
        assert_eq!(tokens.extra("email"), Some("a@acme.example"));
        let credential = tokens.credential();
        let Secret::Oauth(oauth) = &credential.secret else {
            panic!("not OAuth tokens");
        };
        assert_eq!(oauth.access, "at-1");
        assert_eq!(oauth.refresh.as_deref(), Some("rt-1"));
        let expires = oauth.expires.unwrap();
        let now = clock::now_ms();
        assert!((now + 3_590_000..=now + 3_600_000).contains(&expires));

        // Lifetimes as text or fractions, an empty refresh token, no expiry.
        let text = parse(200, r#"{"access_token":"a","expires_in":"60"}"#).unwrap();
        assert_eq!(text.expires_in, Some(60));
        let fraction = parse(200, r#"{"access_token":"a","expires_in":59.9}"#).unwrap();
        assert_eq!(fraction.expires_in, Some(59));
        let bare = parse(200, r#"{"access_token":"a","refresh_token":""}"#).unwrap();
        let Secret::Oauth(oauth) = bare.credential().secret else {
            panic!()
        };
        assert_eq!((oauth.refresh, oauth.expires), (None, None));
    }

    #[test]
    fn a_form_encoded_answer_is_read_too() {
        let response = Response {
            status: 200,
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            )],
            body: b"access_token=gho_1&scope=repo&token_type=bearer&expires_in=28800".to_vec(),
        };
        let tokens = TokenResponse::parse(&response, TOKEN).unwrap();
        assert_eq!(tokens.access_token, "gho_1");
        assert_eq!(tokens.expires_in, Some(28800));
        let refused = Response {
            body: b"error=bad_verification_code&error_description=The+code+is+wrong".to_vec(),
            ..response
        };
        assert!(matches!(
            TokenResponse::parse(&refused, TOKEN),
            Err(Error::Other(m)) if m == "the token endpoint answered 200 `bad_verification_code` (The code is wrong)"
        ));
    }

    #[test]
    fn oauth_errors_become_the_sdk_errors() {
        let cases = [
            (400, "invalid_grant", "denied"),
            (400, "access_denied", "denied"),
            (400, "expired_token", "timeout"),
            (503, "temporarily_unavailable", "network"),
            (400, "server_error", "network"),
            (502, "weird", "network"),
            (401, "invalid_client", "other"),
            (400, "invalid_scope", "other"),
            (200, "authorization_pending", "other"),
        ];
        for (status, code, kind) in cases {
            let body = format!(r#"{{"error":"{code}","error_description":"why"}}"#);
            let error = parse(status, &body).unwrap_err();
            let expected = format!("the token endpoint answered {status} `{code}` (why)");
            let (found, text) = match &error {
                Error::Denied(m) => ("denied", m),
                Error::Timeout(m) => ("timeout", m),
                Error::Network(m) => ("network", m),
                Error::Other(m) => ("other", m),
                other => panic!("{code}: {other:?}"),
            };
            assert_eq!((found, text.as_str()), (kind, expected.as_str()), "{code}");
        }
        let bare = parse(400, r#"{"error":"invalid_request"}"#).unwrap_err();
        assert!(
            matches!(&bare, Error::Other(m) if m == "the token endpoint answered 400 `invalid_request`"),
            "{bare:?}"
        );
    }

    #[test]
    fn error_descriptions_are_one_short_line_without_secrets() {
        let error = ErrorResponse {
            error: "invalid_grant\n\u{1b}[31mred".into(),
            error_description: Some(format!(
                "code AbCdEf0123456789xyzAbCdEf was used\n{}",
                "x".repeat(1000)
            )),
            error_uri: None,
        };
        let text = error.message(400, TOKEN);
        assert!(!text.contains("AbCdEf0123456789"), "{text}");
        assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text}");
        assert!(text.len() < 500, "{}", text.len());
    }

    #[test]
    fn unusable_answers_do_not_echo_the_body() {
        let secret = "sk-secret-0123456789abcdef";
        let cases = [
            (
                200,
                format!("<html>{secret}</html>"),
                "an HTML page, not JSON",
            ),
            (200, secret.to_owned(), "something that is not JSON"),
            (
                200,
                format!(r#"{{"token":"{secret}"}}"#),
                "JSON without `access_token`",
            ),
            (
                200,
                format!(r#"{{"access_token":"{secret}","expires_in":"soon"}}"#),
                "JSON with an unusable `expires_in`",
            ),
            (
                200,
                format!(r#"{{"access_token":5,"x":"{secret}"}}"#),
                "JSON with an unusable `access_token`",
            ),
            (
                200,
                r#"{"access_token":" "}"#.into(),
                "an empty access token",
            ),
            (
                401,
                format!("<html>{secret}</html>"),
                "401 with an HTML page",
            ),
            (
                403,
                format!(r#"{{"message":"{secret}"}}"#),
                "403 with no OAuth error",
            ),
            (
                502,
                format!("<html>{secret}</html>"),
                "502; try again later",
            ),
        ];
        for (status, body, says) in cases {
            let error = parse(status, &body).unwrap_err();
            let text = format!("{error:?}");
            assert!(text.contains(says), "{body}: {text}");
            assert!(!text.contains(secret), "{text}");
            let network = status >= 500;
            assert_eq!(matches!(error, Error::Network(_)), network, "{text}");
        }
    }

    #[test]
    fn debug_output_shows_no_token() {
        let tokens = parse(
            200,
            r#"{"access_token":"at-s3cret","refresh_token":"rt-s3cret","id_token":"id-s3cret","x":"1"}"#,
        )
        .unwrap();
        let text = format!("{tokens:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("\"x\""), "{text}");
    }
}
