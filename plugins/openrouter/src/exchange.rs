//! Exchanging the authorization code for an API key:
//! `POST BASE/api/v1/auth/keys`.

use std::time::Duration;

use authhost_sdk::http;
use authhost_sdk::text;
use authhost_sdk::types::Error;
use serde::Deserialize;

/// Identifies authhost to OpenRouter (`HTTP-Referer`).
const REFERER: &str = "https://github.com/authhost/authhost";
/// Names authhost to OpenRouter (`X-Title`).
const TITLE: &str = "authhost";
/// The largest response body read.
const MAX_RESPONSE: usize = 64 * 1024;
/// Time to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Time for the whole exchange, body included.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(60);

/// The part of a successful answer we use.
#[derive(Deserialize)]
struct KeyResponse {
    key: String,
    #[serde(default)]
    user_id: Option<serde_json::Value>,
}

/// What the exchange gave. `Debug` leaves the key out.
pub struct Exchanged {
    /// The permanent API key.
    pub key: String,
    /// The OpenRouter user the key belongs to, when OpenRouter says.
    pub user_id: Option<String>,
}

impl std::fmt::Debug for Exchanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchanged")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// What the exchange sends: the code and the PKCE verifier.
pub struct Grant<'a> {
    /// The authorization code from the callback.
    pub code: &'a str,
    /// The PKCE verifier whose challenge went into the auth URL.
    pub verifier: &'a str,
}

/// Exchanges the grant for the key at `base_url`.
pub fn run(base_url: &str, grant: &Grant) -> Result<Exchanged, Error> {
    let (status, body) = post(base_url, grant)?;
    interpret(status, &body, grant)
}

/// Sends the request (JSON, with its `content-length`); the status and at
/// most [`MAX_RESPONSE`] bytes of body.
fn post(base_url: &str, grant: &Grant<'_>) -> Result<(u16, Vec<u8>), Error> {
    let json = serde_json::json!({
        "code": grant.code,
        "code_verifier": grant.verifier,
        "code_challenge_method": "S256",
    });
    let response = http::Request::post(&format!("{base_url}/api/v1/auth/keys"))
        .header("http-referer", REFERER)
        .header("x-title", TITLE)
        .json(&json)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .max_response(MAX_RESPONSE)
        .send()?;
    Ok((response.status, response.body))
}

/// The key from a 200, or the error the status means.
fn interpret(status: u16, body: &[u8], grant: &Grant) -> Result<Exchanged, Error> {
    let detail = || detail(body, grant);
    match status {
        200 => {
            let parsed: KeyResponse = serde_json::from_slice(body).map_err(|_| {
                let html = body.trim_ascii_start().starts_with(b"<");
                let what = if html {
                    " with an HTML page (is a proxy in the way?),"
                } else {
                    ""
                };
                Error::InvalidResponse(format!(
                    "the key exchange answered 200{what} without a `key` in a JSON object"
                ))
            })?;
            if parsed.key.trim().is_empty() {
                return Err(Error::InvalidResponse(
                    "the key exchange returned an empty key".into(),
                ));
            }
            let user_id = match parsed.user_id {
                Some(serde_json::Value::String(id)) if !id.is_empty() => Some(id),
                Some(serde_json::Value::Number(id)) => Some(id.to_string()),
                _ => None,
            };
            Ok(Exchanged {
                key: parsed.key,
                user_id,
            })
        }
        403 => Err(Error::Denied(format!(
            "OpenRouter refused the code or the verifier (403{})",
            detail()
        ))),
        400 => Err(Error::InvalidResponse(format!(
            "OpenRouter rejected the key request (400{})",
            detail()
        ))),
        500..=599 => Err(Error::Network(format!(
            "OpenRouter answered {status}{}; try again later",
            detail()
        ))),
        _ => Err(Error::InvalidResponse(format!(
            "the key exchange answered with unexpected status {status}{}",
            detail()
        ))),
    }
}

/// ": message" from an error body (`{"error": {"message"}}`, `{"message"}`,
/// `{"error": "..."}` or short plain text): one line of at most 200
/// printable characters, with the code and the verifier blanked out.
fn detail(body: &[u8], grant: &Grant) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = match &json {
        Some(v) => v["error"]["message"]
            .as_str()
            .or(v["message"].as_str())
            .or(v["error"].as_str())
            .map(str::to_owned),
        None => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            (!text.is_empty() && !text.starts_with('<')).then(|| text.to_owned())
        }
    };
    let Some(message) = message else {
        return String::new();
    };
    let message = text::redact(&message, &[grant.code, grant.verifier]);
    format!(": {}", text::one_line(&message, 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRANT: Grant = Grant {
        code: "the-code",
        verifier: "the-verifier",
    };

    #[test]
    fn a_200_with_a_key_is_the_key() {
        let key = interpret(200, br#"{"key":"sk-or-v1-x","user_id":null}"#, &GRANT);
        let exchanged = key.unwrap();
        assert_eq!(exchanged.key, "sk-or-v1-x");
        assert_eq!(exchanged.user_id, None);
        let with_user = interpret(200, br#"{"key":"k","user_id":"user_1"}"#, &GRANT).unwrap();
        assert_eq!(with_user.user_id.as_deref(), Some("user_1"));
    }

    #[test]
    fn unusable_200s_are_invalid_responses() {
        for body in [&b"not json"[..], b"{}", br#"{"key":""}"#, br#"{"key":1}"#] {
            let err = interpret(200, body, &GRANT).unwrap_err();
            assert!(matches!(err, Error::InvalidResponse(_)), "{body:?}");
        }
    }

    #[test]
    fn statuses_map_to_error_kinds() {
        let body = br#"{"error":{"message":"bad"}}"#;
        assert!(matches!(interpret(403, body, &GRANT), Err(Error::Denied(m)) if m.contains("bad")));
        assert!(
            matches!(interpret(400, body, &GRANT), Err(Error::InvalidResponse(m)) if m.contains("bad"))
        );
        assert!(matches!(
            interpret(502, b"", &GRANT),
            Err(Error::Network(_))
        ));
        assert!(matches!(
            interpret(404, b"", &GRANT),
            Err(Error::InvalidResponse(_))
        ));
    }

    #[test]
    fn details_never_echo_secrets_or_control_characters() {
        let body = br#"{"message":"code the-code with the-verifier\u001b[31m is bad"}"#;
        let text = detail(body, &GRANT);
        assert!(
            !text.contains("the-code") && !text.contains("the-verifier"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "{text}");
        assert_eq!(detail(b"<html>oops</html>", &GRANT), "");
        assert_eq!(detail(&[b'x'; 1000], &GRANT).len(), 202);
    }
}
