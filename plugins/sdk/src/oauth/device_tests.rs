//! The whole device login against a scripted service on a virtual clock.

use std::collections::VecDeque;

use super::*;

const DEVICE_URL: &str = "https://idp.example/device";
const TOKEN_URL: &str = "https://idp.example/token";

/// A request: when, where, and its fields.
type Sent = (Duration, String, Vec<(String, String)>);

/// A service that answers from a script, a clock that moves only when
/// slept on or when a request takes time, and what the user was shown.
struct Script {
    answers: VecDeque<Result<Response, Error>>,
    /// Each request.
    requests: Vec<Sent>,
    shown: Vec<String>,
    slept: Vec<Duration>,
    now: Duration,
}

impl Script {
    fn new(answers: Vec<Result<Response, Error>>) -> Script {
        Script {
            answers: answers.into(),
            requests: Vec::new(),
            shown: Vec::new(),
            slept: Vec::new(),
            now: Duration::from_secs(1000),
        }
    }

    fn polls(&self) -> Vec<Duration> {
        self.requests
            .iter()
            .filter(|(_, url, _)| url == TOKEN_URL)
            .map(|(at, _, _)| *at - Duration::from_secs(1000))
            .collect()
    }
}

impl Io for Script {
    fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> Result<Response, Error> {
        self.requests
            .push((self.now, url.to_owned(), fields.to_vec()));
        // Each request takes a little time.
        self.now += Duration::from_millis(100);
        self.answers.pop_front().expect("a request past the script")
    }

    fn now(&self) -> Duration {
        self.now
    }

    fn sleep(&mut self, duration: Duration) {
        self.slept.push(duration);
        self.now += duration;
    }

    fn show(&mut self, text: &str) {
        self.shown.push(text.to_owned());
    }
}

fn json(status: u16, body: &str) -> Result<Response, Error> {
    Ok(Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    })
}

fn code(expires_in: u64, interval: u64) -> Result<Response, Error> {
    json(
        200,
        &format!(
            r#"{{"device_code":"dc-1","user_code":"WDJB-MJHT","verification_uri":"https://idp.example/activate",
                "verification_uri_complete":"https://idp.example/activate?user_code=WDJB-MJHT",
                "expires_in":{expires_in},"interval":{interval}}}"#
        ),
    )
}

fn oauth_error(code: &str) -> Result<Response, Error> {
    json(400, &format!(r#"{{"error":"{code}"}}"#))
}

fn tokens() -> Result<Response, Error> {
    json(
        200,
        r#"{"access_token":"at-1","token_type":"Bearer","refresh_token":"rt-1","expires_in":3600}"#,
    )
}

fn flow() -> DeviceFlow {
    DeviceFlow::new(DEVICE_URL, TOKEN_URL, "cli").scopes(["openid", "offline_access"])
}

fn ms(values: &[u64]) -> Vec<Duration> {
    values.iter().map(|&ms| Duration::from_millis(ms)).collect()
}

#[test]
fn the_code_is_shown_and_the_tokens_come_after_pending_and_slow_down() {
    let mut script = Script::new(vec![
        code(600, 2),
        oauth_error("authorization_pending"),
        oauth_error("slow_down"),
        oauth_error("authorization_pending"),
        tokens(),
    ]);
    let answer = flow()
        .param("audience", "api")
        .run_with(&mut script)
        .unwrap();
    assert_eq!(answer.access_token, "at-1");
    assert_eq!(answer.refresh_token.as_deref(), Some("rt-1"));

    // The requests: the code, then polls 2 s apart, 7 s after `slow_down`.
    let (_, url, fields) = &script.requests[0];
    assert_eq!(url, DEVICE_URL);
    let expected: Vec<(String, String)> = [
        ("client_id", "cli"),
        ("scope", "openid offline_access"),
        ("audience", "api"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    assert_eq!(fields, &expected);
    assert_eq!(script.slept, ms(&[2000, 2000, 7000, 7000]));
    assert_eq!(script.polls(), ms(&[2100, 4200, 11300, 18400]));
    for (_, url, fields) in &script.requests[1..] {
        assert_eq!(url, TOKEN_URL);
        let poll: Vec<(String, String)> = [
            ("grant_type", GRANT_TYPE),
            ("device_code", "dc-1"),
            ("client_id", "cli"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec();
        assert_eq!(fields, &poll, "no scope or audience in a poll");
    }

    // What the user saw: the page, the code, the page with the code, and
    // the pace.
    assert_eq!(
        script.shown[0],
        "To log in, open\n  https://idp.example/activate\nand enter the code\n  WDJB-MJHT\n\
         (or open https://idp.example/activate?user_code=WDJB-MJHT, which carries the code)"
    );
    assert_eq!(
        script.shown[1],
        "Waiting for the approval (checking every 2 s; the code expires in 10 min; Ctrl-C to stop)…"
    );
    assert_eq!(script.shown.len(), 2);
}

#[test]
fn a_refusal_ends_the_login_as_denied() {
    let mut script = Script::new(vec![
        code(600, 1),
        oauth_error("authorization_pending"),
        oauth_error("access_denied"),
    ]);
    let error = flow().run_with(&mut script).unwrap_err();
    assert!(
        matches!(&error, Error::Denied(m) if m.starts_with("the login was refused on the verification page")),
        "{error:?}"
    );
    assert_eq!(script.polls().len(), 2);
}

#[test]
fn an_expired_code_ends_the_login_as_a_timeout() {
    let mut script = Script::new(vec![code(600, 1), oauth_error("expired_token")]);
    let error = flow().run_with(&mut script).unwrap_err();
    assert!(
        matches!(&error, Error::Timeout(m) if m.contains("the code expired")),
        "{error:?}"
    );
}

#[test]
fn polling_ends_at_the_codes_expiry_or_the_callers_limit() {
    // The code lives 10 s and the interval is 3 s: polls at 3, 6 and 9 s.
    let pending = || oauth_error("authorization_pending");
    let mut script = Script::new(vec![code(10, 3), pending(), pending(), pending()]);
    let error = flow().run_with(&mut script).unwrap_err();
    assert!(
        matches!(&error, Error::Timeout(m) if m.contains("(after 10 s)")),
        "{error:?}"
    );
    assert_eq!(script.polls().len(), 3);
    assert!(script.answers.is_empty());

    let mut script = Script::new(vec![code(600, 5), pending(), pending()]);
    let error = flow()
        .max_wait(Duration::from_secs(12))
        .run_with(&mut script)
        .unwrap_err();
    assert!(
        matches!(&error, Error::Timeout(m) if m.contains("(after 12 s)")),
        "{error:?}"
    );
    assert_eq!(script.polls().len(), 2);
}

#[test]
fn an_unreachable_token_endpoint_is_retried_more_slowly() {
    let mut script = Script::new(vec![
        code(600, 2),
        Err(Error::Network(
            "connection refused by idp.example:443".into(),
        )),
        json(502, "<html>bad gateway</html>"),
        tokens(),
    ]);
    let answer = flow().run_with(&mut script).unwrap();
    assert_eq!(answer.access_token, "at-1");
    assert_eq!(script.slept, ms(&[2000, 4000, 8000]));
    assert_eq!(
        script.shown[2],
        "The token endpoint did not answer (network error: connection refused by \
         idp.example:443); trying again in 4 s…"
    );
    assert!(script.shown[3].contains("the token endpoint answered 502"));
}

#[test]
fn a_refused_request_or_a_bad_answer_ends_the_login_at_once() {
    let mut script = Script::new(vec![Err(Error::CapabilityDenied(
        "http:https://idp.example".into(),
    ))]);
    let error = flow().run_with(&mut script).unwrap_err();
    assert!(matches!(error, Error::CapabilityDenied(_)));
    assert!(script.shown.is_empty(), "no code to show");

    let mut script = Script::new(vec![json(
        400,
        r#"{"error":"invalid_client","error_description":"unknown client"}"#,
    )]);
    let error = flow().run_with(&mut script).unwrap_err();
    assert!(
        matches!(&error, Error::Other(m)
            if m == "the device authorization endpoint answered 400 `invalid_client` (unknown client)"),
        "{error:?}"
    );

    let mut script = Script::new(vec![json(200, r#"{"device_code":"dc","user_code":"U"}"#)]);
    let error = flow().run_with(&mut script).unwrap_err();
    assert!(
        matches!(&error, Error::InvalidResponse(m) if m.contains("without `verification_uri`")),
        "{error:?}"
    );
}

#[test]
fn a_client_secret_goes_with_both_requests_and_never_into_debug_output() {
    let mut script = Script::new(vec![code(600, 1), tokens()]);
    let flow = flow().client_secret("s3cret");
    flow.run_with(&mut script).unwrap();
    for (_, _, fields) in &script.requests {
        assert!(fields.contains(&("client_secret".into(), "s3cret".into())));
    }
    assert!(!format!("{flow:?}").contains("s3cret"));
}

#[test]
fn the_codes_answer_is_read_leniently_and_shown_safely() {
    let authorization = DeviceAuthorization::parse(
        &json(
            200,
            r#"{"device_code":"dc-s3cret","user_code":"AB\u001b[2JCD","verification_url":"https://www.google.com/device",
                "expires_in":"1800"}"#,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        authorization.verification_uri,
        "https://www.google.com/device"
    );
    assert_eq!(authorization.lifetime(), Duration::from_secs(1800));
    assert_eq!(authorization.interval(), DEFAULT_INTERVAL);
    let text = authorization.instructions();
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(!format!("{authorization:?}").contains("s3cret"));
    let zero = DeviceAuthorization {
        interval: Some(0),
        expires_in: Some(0),
        ..authorization
    };
    assert_eq!(zero.interval(), Duration::from_secs(1));
    assert_eq!(zero.lifetime(), DEFAULT_MAX_WAIT);
}
