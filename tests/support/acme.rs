//! The example provider's service, Acme (`examples/acme-provider`): a
//! strict fake of its OAuth token endpoint and its `GET /v1/me`, and its
//! login at a terminal.

use super::http::{Request, Response, Server};
use super::pty::Step;

/// The prompts of `authhost login acme` and what alice types at them.
pub const LOGIN_STEPS: [Step<'static>; 5] = [
    Step::Expect("Acme user name: "),
    Step::Send("alice\n"),
    Step::Expect("Acme password: "),
    Step::Send("hunter2\n"),
    Step::Expect("Logged in to acme"),
];

/// A fake Acme as strict as a real identity provider's token endpoint:
///
/// - `POST /oauth/token` takes only a form body
///   (`application/x-www-form-urlencoded`) framed by its `content-length`
///   (JSON or a chunked body is `400 invalid_request`), with exactly the
///   fields of a password grant (alice / hunter2) or of a refresh-token
///   grant (`acme-refresh-1`); anything else is `400 invalid_grant`.
/// - `GET /v1/me` with a bearer token it issued answers alice's address
///   and plan; without one, 401.
pub fn acme_server() -> Server {
    Server::start(|req| match (req.method.as_str(), req.target.as_str()) {
        ("POST", "/oauth/token") => token(req),
        ("GET", "/v1/me") => me(req),
        _ => Response::new(404, "text/plain", "not found"),
    })
}

/// An OAuth error answer.
pub fn oauth_error(status: u16, code: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": code, "error_description": description });
    Response::new(status, "application/json", body.to_string())
}

fn token(req: &Request) -> Response {
    if req.header("transfer-encoding").is_some() {
        return oauth_error(
            400,
            "invalid_request",
            "send the body with a content-length",
        );
    }
    if req.header("content-length") != Some(&req.body.len().to_string()) {
        return oauth_error(400, "invalid_request", "a content-length is required");
    }
    let media_type = req
        .header("content-type")
        .and_then(|t| t.split(';').next())
        .map(str::trim);
    if media_type != Some("application/x-www-form-urlencoded") {
        return oauth_error(
            400,
            "invalid_request",
            "token requests are forms (application/x-www-form-urlencoded)",
        );
    }
    let mut fields: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect();
    fields.sort();
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let json = |body: &str| Response::new(200, "application/json", body.to_owned());
    match fields.as_slice() {
        [
            ("grant_type", "password"),
            ("password", "hunter2"),
            ("username", "alice"),
        ] => json(
            r#"{"access_token":"acme-access-1","token_type":"Bearer","refresh_token":"acme-refresh-1","expires_in":3600,"email":"alice@acme.example"}"#,
        ),
        [
            ("grant_type", "refresh_token"),
            ("refresh_token", "acme-refresh-1"),
        ] => json(r#"{"access_token":"acme-access-2","token_type":"Bearer","expires_in":3600}"#),
        _ if fields.contains(&("grant_type", "refresh_token")) => {
            oauth_error(400, "invalid_grant", "unknown refresh token")
        }
        _ => oauth_error(400, "invalid_grant", "wrong user name or password"),
    }
}

fn me(req: &Request) -> Response {
    match req.header("authorization") {
        Some("Bearer acme-access-1" | "Bearer acme-access-2") => Response::new(
            200,
            "application/json",
            r#"{"email":"alice@acme.example","plan":"pro"}"#,
        ),
        _ => Response::new(401, "application/json", r#"{"error":"bad token"}"#),
    }
}
