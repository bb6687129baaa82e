//! Polling the token endpoint during a device login (RFC 8628 section
//! 3.4-3.5), as a state machine that does no I/O: it is told each answer
//! and the time, and says how long to wait, whether to go on, or how the
//! login ended.

use std::time::Duration;

use super::device::DeviceAuthorization;
use super::response::{ErrorResponse, TokenResponse};
use crate::http::Response;
use crate::types::Error;

/// What `slow_down` adds to the interval (RFC 8628 section 3.5).
pub const SLOW_DOWN: Duration = Duration::from_secs(5);
/// The longest interval a failed request backs off to.
pub const MAX_BACK_OFF: Duration = Duration::from_secs(60);
/// The endpoint polled, as errors name it.
pub const TOKEN_ENDPOINT: &str = "the token endpoint";

/// Where a device login's polling stands.
#[derive(Debug, Clone)]
pub struct Poll {
    /// The wait before the next request.
    interval: Duration,
    /// When polling ends, on the caller's monotonic clock.
    deadline: Duration,
    /// How long polling may last in all, for messages.
    lifetime: Duration,
}

/// How one request went.
#[derive(Debug)]
pub enum Polled {
    /// Not approved yet (`authorization_pending`, or `slow_down`): ask
    /// again after the next wait.
    Pending,
    /// No answer, or the service failed (a network error, a timeout, a
    /// 5xx): the wait doubled, ask again. The error is for the user.
    Unanswered(Error),
    /// Approved: the tokens.
    Done(TokenResponse),
}

impl Poll {
    /// Polling for `authorization` from `now` on, for at most `max_wait`
    /// (and no longer than the code lives).
    pub fn new(authorization: &DeviceAuthorization, now: Duration, max_wait: Duration) -> Poll {
        let lifetime = authorization.lifetime().min(max_wait);
        Poll {
            interval: authorization.interval(),
            deadline: now.saturating_add(lifetime),
            lifetime,
        }
    }

    /// The wait between two requests now.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How long to wait before the next request, at `now`; `timeout` when
    /// that request would come after the deadline.
    pub fn wait(&self, now: Duration) -> Result<Duration, Error> {
        if now.saturating_add(self.interval) > self.deadline {
            return Err(self.expired());
        }
        Ok(self.interval)
    }

    /// Takes the outcome of a request to the token endpoint.
    pub fn answer(&mut self, answer: Result<Response, Error>) -> Result<Polled, Error> {
        let response = match answer {
            Ok(response) => response,
            Err(error @ (Error::Network(_) | Error::Timeout(_))) => return Ok(self.back_off(error)),
            Err(error) => return Err(error),
        };
        let Some(error) = ErrorResponse::parse(&response) else {
            if response.status >= 500 {
                let error =
                    Error::Network(format!("{TOKEN_ENDPOINT} answered {}", response.status));
                return Ok(self.back_off(error));
            }
            return TokenResponse::parse(&response, TOKEN_ENDPOINT).map(Polled::Done);
        };
        match error.error.as_str() {
            "authorization_pending" => Ok(Polled::Pending),
            "slow_down" => {
                self.interval = self.interval.saturating_add(SLOW_DOWN);
                Ok(Polled::Pending)
            }
            "access_denied" => Err(Error::Denied(format!(
                "the login was refused on the verification page ({})",
                error.message(response.status, TOKEN_ENDPOINT)
            ))),
            "expired_token" => Err(self.expired()),
            _ => match error.to_error(response.status, TOKEN_ENDPOINT) {
                error @ Error::Network(_) => Ok(self.back_off(error)),
                error => Err(error),
            },
        }
    }

    /// Doubles the wait (at most [`MAX_BACK_OFF`]) after a failure.
    fn back_off(&mut self, error: Error) -> Polled {
        self.interval = self
            .interval
            .saturating_mul(2)
            .min(MAX_BACK_OFF)
            .max(self.interval);
        Polled::Unanswered(error)
    }

    fn expired(&self) -> Error {
        Error::Timeout(format!(
            "the code expired before the login was approved (after {}); log in again",
            lifetime(self.lifetime)
        ))
    }
}

/// `12 min`, `45 s`: a duration in words.
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

    fn authorization(expires_in: Option<u64>, interval: Option<u64>) -> DeviceAuthorization {
        DeviceAuthorization {
            device_code: "dc".into(),
            user_code: "WDJB-MJHT".into(),
            verification_uri: "https://idp.example/device".into(),
            verification_uri_complete: None,
            expires_in,
            interval,
        }
    }

    fn answer(status: u16, body: &str) -> Result<Response, Error> {
        Ok(Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        })
    }

    fn error(code: &str) -> Result<Response, Error> {
        answer(400, &format!(r#"{{"error":"{code}"}}"#))
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn pending_then_approved() {
        let mut poll = Poll::new(&authorization(Some(600), Some(5)), S(0), S(900));
        assert_eq!(poll.wait(S(0)).unwrap(), S(5));
        assert!(matches!(
            poll.answer(error("authorization_pending")),
            Ok(Polled::Pending)
        ));
        assert_eq!(poll.wait(S(5)).unwrap(), S(5));
        match poll.answer(answer(
            200,
            r#"{"access_token":"at","token_type":"Bearer"}"#,
        )) {
            Ok(Polled::Done(tokens)) => assert_eq!(tokens.access_token, "at"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn slow_down_adds_five_seconds_for_good() {
        let mut poll = Poll::new(&authorization(Some(600), Some(5)), S(0), S(900));
        assert!(matches!(
            poll.answer(error("slow_down")),
            Ok(Polled::Pending)
        ));
        assert_eq!(poll.wait(S(5)).unwrap(), S(10));
        assert!(matches!(
            poll.answer(error("authorization_pending")),
            Ok(Polled::Pending)
        ));
        assert_eq!(poll.interval(), S(10), "the interval stays slowed down");
        assert!(matches!(
            poll.answer(error("slow_down")),
            Ok(Polled::Pending)
        ));
        assert_eq!(poll.interval(), S(15));
    }

    #[test]
    fn a_refusal_is_denied_and_an_expired_code_a_timeout() {
        let mut poll = Poll::new(&authorization(Some(600), None), S(0), S(900));
        let denied = poll.answer(error("access_denied")).unwrap_err();
        assert!(
            matches!(&denied, Error::Denied(m) if m.starts_with("the login was refused on the verification page (the token endpoint answered 400 `access_denied`")),
            "{denied:?}"
        );
        let expired = poll.answer(error("expired_token")).unwrap_err();
        assert!(
            matches!(&expired, Error::Timeout(m) if m == "the code expired before the login was approved (after 10 min); log in again"),
            "{expired:?}"
        );
        let refused = poll.answer(error("invalid_client")).unwrap_err();
        assert!(matches!(refused, Error::Other(m) if m.contains("`invalid_client`")));
        let denied = poll
            .answer(Err(Error::CapabilityDenied(
                "http:https://idp.example".into(),
            )))
            .unwrap_err();
        assert!(matches!(denied, Error::CapabilityDenied(_)));
    }

    #[test]
    fn polling_stops_at_the_deadline() {
        // The code lives 12 s; polls every 5 s: at 5 and 10, not at 15.
        let poll = Poll::new(&authorization(Some(12), Some(5)), S(100), S(900));
        assert_eq!(poll.wait(S(100)).unwrap(), S(5));
        assert_eq!(poll.wait(S(105)).unwrap(), S(5));
        let late = poll.wait(S(110)).unwrap_err();
        assert!(
            matches!(&late, Error::Timeout(m) if m.contains("(after 12 s)")),
            "{late:?}"
        );
        // The caller's limit, when shorter than the code's life.
        let poll = Poll::new(&authorization(Some(900), Some(5)), S(0), S(8));
        assert_eq!(poll.wait(S(0)).unwrap(), S(5));
        assert!(poll.wait(S(5)).is_err());
    }

    #[test]
    fn failures_back_off_and_polling_goes_on() {
        let mut poll = Poll::new(&authorization(Some(600), Some(5)), S(0), S(900));
        let unanswered = poll.answer(Err(Error::Network("connection refused".into())));
        assert!(matches!(
            unanswered,
            Ok(Polled::Unanswered(Error::Network(_)))
        ));
        assert_eq!(poll.interval(), S(10));
        assert!(matches!(
            poll.answer(Err(Error::Timeout("timed out".into()))),
            Ok(Polled::Unanswered(_))
        ));
        assert_eq!(poll.interval(), S(20));
        assert!(matches!(
            poll.answer(answer(503, "<html>busy</html>")),
            Ok(Polled::Unanswered(Error::Network(m))) if m == "the token endpoint answered 503"
        ));
        assert!(matches!(
            poll.answer(error("temporarily_unavailable")),
            Ok(Polled::Unanswered(_))
        ));
        assert_eq!(poll.interval(), MAX_BACK_OFF);
        assert!(matches!(
            poll.answer(error("authorization_pending")),
            Ok(Polled::Pending)
        ));
    }

    #[test]
    fn a_pending_answer_with_status_200_is_pending() {
        // GitHub answers its errors with 200.
        let mut poll = Poll::new(&authorization(Some(600), Some(5)), S(0), S(900));
        assert!(matches!(
            poll.answer(answer(200, r#"{"error":"authorization_pending"}"#)),
            Ok(Polled::Pending)
        ));
        let broken = poll.answer(answer(200, "<html>login</html>")).unwrap_err();
        assert!(matches!(broken, Error::InvalidResponse(_)));
    }

    #[test]
    fn lifetimes_in_words() {
        assert_eq!(lifetime(S(600)), "10 min");
        assert_eq!(lifetime(S(90)), "90 s");
    }
}
