//! `authhost status --check`: `GET BASE/api/v1/key` with the key as a
//! bearer token answers what OpenRouter knows about the key: its label, its
//! credit limit and usage, and when it expires.

use std::time::{Duration, UNIX_EPOCH};

use authhost_sdk::http;
use authhost_sdk::types::{AccountInfo, Error};
use serde::Deserialize;

/// The largest response body read.
const MAX_RESPONSE: usize = 64 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
struct Answer {
    data: KeyData,
}

/// The fields of the answer shown; OpenRouter sends more.
#[derive(Deserialize)]
struct KeyData {
    label: Option<String>,
    usage: Option<f64>,
    limit: Option<f64>,
    limit_remaining: Option<f64>,
    limit_reset: Option<String>,
    is_free_tier: Option<bool>,
    expires_at: Option<String>,
}

/// Asks OpenRouter about `key`.
pub fn check(base_url: &str, key: &str) -> Result<AccountInfo, Error> {
    let response = http::Request::get(&format!("{base_url}/api/v1/key"))
        .header("authorization", &format!("Bearer {key}"))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .max_response(MAX_RESPONSE)
        .send()?;
    match response.status {
        200 => {
            let answer: Answer = response.json()?;
            Ok(account(answer.data))
        }
        401 | 403 => Err(Error::Denied(format!(
            "OpenRouter does not accept the stored key ({}); it may have been deleted",
            response.status
        ))),
        500..=599 => Err(Error::Network(format!(
            "OpenRouter answered {}; try again later",
            response.status
        ))),
        status => Err(Error::InvalidResponse(format!(
            "the key information request answered with unexpected status {status}"
        ))),
    }
}

fn account(data: KeyData) -> AccountInfo {
    let money = |v: f64| format!("${v:.2}");
    let mut details = Vec::new();
    if let Some(usage) = data.usage {
        details.push(("usage".to_owned(), money(usage)));
    }
    let limit = match (data.limit, data.limit_reset.as_deref()) {
        (None, _) => "none".to_owned(),
        (Some(limit), Some(reset)) => format!("{} ({reset})", money(limit)),
        (Some(limit), None) => money(limit),
    };
    details.push(("limit".to_owned(), limit));
    if let Some(left) = data.limit_remaining {
        details.push(("remaining".to_owned(), money(left)));
    }
    if let Some(free) = data.is_free_tier {
        details.push((
            "free tier".to_owned(),
            if free { "yes" } else { "no" }.into(),
        ));
    }
    let expires = data.expires_at.as_deref().and_then(parse_time);
    if let (Some(text), None) = (&data.expires_at, expires) {
        details.push(("expires".to_owned(), text.clone()));
    }
    AccountInfo {
        account: data.label,
        expires,
        details,
    }
}

/// An RFC 3339 time in UTC as ms since the epoch.
fn parse_time(text: &str) -> Option<u64> {
    let time = humantime::parse_rfc3339_weak(text.strip_suffix('Z').unwrap_or(text)).ok()?;
    time.duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_answer_is_shown() {
        let answer: Answer = serde_json::from_str(
            r#"{"data": {"label": "sk-or-v1-au7...890", "limit": 100, "usage": 25.5,
                "limit_remaining": 74.5, "limit_reset": "monthly", "is_free_tier": false,
                "expires_at": "2027-12-31T23:59:59Z", "rate_limit": {"requests": 1000, "interval": "1h"}}}"#,
        )
        .unwrap();
        let info = account(answer.data);
        assert_eq!(info.account.as_deref(), Some("sk-or-v1-au7...890"));
        assert_eq!(info.expires, Some(1_830_297_599_000));
        assert!(
            info.details
                .contains(&("limit".into(), "$100.00 (monthly)".into()))
        );
        assert!(info.details.contains(&("usage".into(), "$25.50".into())));
        let open: Answer =
            serde_json::from_str(r#"{"data": {"label": "k", "limit": null, "usage": 0}}"#).unwrap();
        assert!(
            account(open.data)
                .details
                .contains(&("limit".into(), "none".into()))
        );
    }
}
