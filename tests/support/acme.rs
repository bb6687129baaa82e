//! The example provider's service, Acme (`examples/acme-provider`): a
//! strict fake of its token endpoint, and its login at a terminal.

use super::http::{Response, Server};
use super::pty::Step;

/// The prompts of `authhost login acme` and what alice types at them.
pub const LOGIN_STEPS: [Step<'static>; 5] = [
    Step::Expect("Acme user name: "),
    Step::Send("alice\n"),
    Step::Expect("Acme password: "),
    Step::Send("hunter2\n"),
    Step::Expect("Logged in to acme"),
];

/// A fake Acme token endpoint that accepts alice / hunter2 (a password
/// grant, JSON only, as the example provider sends it).
pub fn acme_server() -> Server {
    Server::start(|req| {
        if req.method != "POST" || req.target != "/oauth/token" {
            return Response::new(404, "text/plain", "not found");
        }
        if req.header("content-type") != Some("application/json") {
            return Response::new(415, "text/plain", "json only");
        }
        let body: serde_json::Value = match serde_json::from_slice(&req.body) {
            Ok(body) => body,
            Err(_) => return Response::new(400, "text/plain", "bad json"),
        };
        if body["grant_type"] == "password"
            && body["username"] == "alice"
            && body["password"] == "hunter2"
        {
            Response::new(
                200,
                "application/json",
                r#"{"access_token":"acme-access-1","refresh_token":"acme-refresh-1","expires_in":3600}"#,
            )
        } else {
            Response::new(401, "application/json", r#"{"error":"invalid_grant"}"#)
        }
    })
}
