//! Recognising the authorization response (the redirect to the loopback
//! listener, or the redirect URL pasted at the terminal) and checking it:
//! `state` (RFC 6749 section 10.12) and `iss` (RFC 9207).

use authhost_sdk::loopback::Request;

use crate::client;
use crate::tokens::fact;

/// What the login expects of an authorization response.
pub struct Expected<'a> {
    /// The path of the redirect URI.
    pub path: &'a str,
    /// The `state` sent with the authorization request.
    pub state: &'a str,
    /// The issuer, when known: `iss`, when present, must be this.
    pub issuer: Option<&'a str>,
    /// The IdP promised to send `iss` (its discovery document says so).
    pub iss_required: bool,
}

/// What a request or a pasted line means for the login.
#[derive(Debug, PartialEq, Eq)]
pub enum Response {
    /// The authorization code, its `state` and `iss` checked.
    Code(String),
    /// The IdP answered with an error, e.g. the user refused: the words to
    /// show.
    Refused(String),
    /// A response for this redirect URI that must end the login: its
    /// `state` or `iss` is wrong (a forged or mixed-up response).
    Rejected(String),
    /// On the redirect path, but neither a code nor an error: answered 400,
    /// and the wait goes on.
    Incomplete(String),
    /// Not the redirect (another path, a favicon, another method): answered
    /// 404, and the wait goes on.
    Ignore(String),
}

/// Classifies a request to the loopback listener: only `GET` of the
/// redirect path exactly (no normalisation) is the redirect.
pub fn from_request(request: &Request, expected: &Expected) -> Response {
    let (path, query) = authhost_sdk::login::path_and_query(request);
    if request.method != "GET" || path != expected.path {
        return Response::Ignore(format!(
            "not the redirect: {} {}",
            fact(&request.method),
            fact(path)
        ));
    }
    from_query(query, expected)
}

/// Interprets a pasted line: the redirect URL (from the address bar of a
/// browser that could not reach this machine), or its query. `Err`
/// explains a line that is neither, or the redirect of another login; the
/// wait goes on.
pub fn from_pasted(line: &str, expected: &Expected) -> Result<Response, String> {
    let line = line.trim();
    let query = if line.contains('/') {
        let with_scheme = if line.contains("://") {
            line.to_owned()
        } else {
            format!("http://{line}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|_| NOT_UNDERSTOOD.to_owned())?;
        if url.path() != expected.path {
            return Err(format!(
                "That URL is not the redirect of this login (its path is not {}); still waiting.",
                expected.path
            ));
        }
        url.query().unwrap_or("").to_owned()
    } else if line.contains('=') {
        line.trim_start_matches('?').to_owned()
    } else {
        return Err(NOT_UNDERSTOOD.into());
    };
    let params = Params::parse(&query);
    if params.state.as_deref() != Some(expected.state) {
        // The user's own paste: most likely a stale tab or a typo.
        return Err(
            "That is the redirect of another login (its `state` differs); still waiting.".into(),
        );
    }
    match from_query(&query, expected) {
        Response::Incomplete(why) => Err(format!("{why}; still waiting.")),
        other => Ok(other),
    }
}

const NOT_UNDERSTOOD: &str = "That is not the redirect URL; paste the whole address the browser \
     ended on (it carries the code and the state).";

/// The parameters of an authorization response.
#[derive(Default)]
struct Params {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Params {
    /// The first value of each parameter.
    fn parse(query: &str) -> Params {
        let mut params = Params::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }
}

fn from_query(query: &str, expected: &Expected) -> Response {
    let params = Params::parse(query);
    if params.code.is_none() && params.error.is_none() {
        return Response::Incomplete("The redirect has neither a code nor an error".into());
    }
    match params.state.as_deref() {
        Some(state) if constant_time_eq(state.as_bytes(), expected.state.as_bytes()) => {}
        Some(_) => {
            return Response::Rejected(
                "the redirect's `state` is not this login's (a forged redirect, or one \
                 from an older login); nothing was exchanged"
                    .into(),
            );
        }
        None => {
            return Response::Rejected(
                "the redirect has no `state` (a forged redirect?); nothing was exchanged".into(),
            );
        }
    }
    match (params.iss.as_deref(), expected.issuer) {
        (Some(iss), Some(issuer)) if iss.trim_end_matches('/') != issuer => {
            return Response::Rejected(format!(
                "the redirect names the issuer `{}`, not {issuer} (a mix-up of identity \
                 providers?); nothing was exchanged",
                fact(iss)
            ));
        }
        (None, Some(issuer)) if expected.iss_required => {
            return Response::Rejected(format!(
                "the redirect has no `iss`, which {issuer} promises to send (RFC 9207); \
                 nothing was exchanged"
            ));
        }
        _ => {}
    }
    if let Some(error) = params.error {
        return Response::Refused(format!(
            "the IdP answered `{}`{}",
            fact(&error),
            client::description(params.error_description.as_deref())
        ));
    }
    match params.code {
        Some(code) if !code.is_empty() => Response::Code(code),
        _ => Response::Incomplete("The redirect has an empty code".into()),
    }
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPECTED: Expected = Expected {
        path: "/callback",
        state: "s1",
        issuer: Some("http://127.0.0.1:9"),
        iss_required: true,
    };

    fn get(path: &str) -> Request {
        Request::get(path)
    }

    #[test]
    fn the_right_redirect_gives_the_code() {
        let ok = "/callback?code=c0&state=s1&iss=http%3A%2F%2F127.0.0.1%3A9";
        assert_eq!(
            from_request(&get(ok), &EXPECTED),
            Response::Code("c0".into())
        );
        let lax = Expected {
            iss_required: false,
            ..EXPECTED
        };
        assert_eq!(
            from_request(&get("/callback?code=c0&state=s1"), &lax),
            Response::Code("c0".into())
        );
    }

    #[test]
    fn state_and_iss_are_checked() {
        for path in [
            "/callback?code=c0&state=s2&iss=http%3A%2F%2F127.0.0.1%3A9",
            "/callback?code=c0&iss=http%3A%2F%2F127.0.0.1%3A9",
            "/callback?code=c0&state=s1&iss=https%3A%2F%2Fevil.example",
            "/callback?code=c0&state=s1",
            "/callback?error=access_denied&state=s2",
        ] {
            assert!(
                matches!(from_request(&get(path), &EXPECTED), Response::Rejected(_)),
                "{path}"
            );
        }
        let Response::Rejected(why) = from_request(
            &get("/callback?code=c0&state=s1&iss=https%3A%2F%2Fevil.example"),
            &EXPECTED,
        ) else {
            panic!()
        };
        assert!(why.contains("`https://evil.example`"), "{why}");
    }

    #[test]
    fn errors_and_noise() {
        let refused = from_request(
            &get(
                "/callback?error=access_denied&error_description=no%0Athanks&state=s1&iss=http%3A%2F%2F127.0.0.1%3A9",
            ),
            &EXPECTED,
        );
        assert_eq!(
            refused,
            Response::Refused("the IdP answered `access_denied` (no thanks)".into())
        );
        assert!(matches!(
            from_request(&get("/callback"), &EXPECTED),
            Response::Incomplete(_)
        ));
        for path in [
            "/favicon.ico",
            "/callback/",
            "/CALLBACK?code=c0&state=s1",
            "/x/../callback?code=c0",
        ] {
            assert!(
                matches!(from_request(&get(path), &EXPECTED), Response::Ignore(_)),
                "{path}"
            );
        }
        let mut post = get("/callback?code=c0&state=s1");
        post.method = "POST".into();
        assert!(matches!(
            from_request(&post, &EXPECTED),
            Response::Ignore(_)
        ));
    }

    #[test]
    fn pasted_lines() {
        let url = "http://127.0.0.1:5000/callback?code=c0&state=s1&iss=http%3A%2F%2F127.0.0.1%3A9";
        assert_eq!(from_pasted(url, &EXPECTED), Ok(Response::Code("c0".into())));
        assert_eq!(
            from_pasted(&url["http://".len()..], &EXPECTED),
            Ok(Response::Code("c0".into()))
        );
        assert_eq!(
            from_pasted("code=c0&state=s1&iss=http%3A%2F%2F127.0.0.1%3A9", &EXPECTED),
            Ok(Response::Code("c0".into()))
        );
        assert!(
            from_pasted(&url.replace("state=s1", "state=s2"), &EXPECTED)
                .unwrap_err()
                .contains("another login")
        );
        assert!(from_pasted(&url.replace("/callback", "/other"), &EXPECTED).is_err());
        assert!(from_pasted("c0", &EXPECTED).is_err());
        assert!(from_pasted("http://127.0.0.1:5000/callback?state=s1", &EXPECTED).is_err());
        assert!(matches!(
            from_pasted(
                &url.replace("iss=http%3A%2F%2F127.0.0.1%3A9", "iss=x"),
                &EXPECTED
            ),
            Ok(Response::Rejected(_))
        ));
    }
}
