//! Failures of `wasi:http` requests in words: the WIT [`Error`] a
//! provider returns and the user reads (`could not resolve openrouter.ai`,
//! `connection refused by 127.0.0.1:4567`), with a refused request as
//! `capability-denied` naming the grant.

use std::time::Duration;

use wstd::http::ErrorCode;

use super::Target;
use crate::types::Error;

/// The error for a request that got no answer.
pub(super) fn send_error(error: &wstd::http::Error, target: &Target) -> Error {
    match error.downcast_ref::<ErrorCode>() {
        Some(code) => code_error(code, target),
        None => match error.downcast_ref::<wstd::http::error::HeaderError>() {
            Some(_) => Error::Other(format!(
                "the host refused a header of the request to {}",
                target.authority
            )),
            None => Error::Network(format!("cannot reach {}", target.authority)),
        },
    }
}

/// The error for an answer whose body could not be read to the end.
pub(super) fn read_error(code: Option<&ErrorCode>, target: &Target) -> Error {
    match code {
        Some(
            ErrorCode::ConnectionReadTimeout
            | ErrorCode::HttpResponseTimeout
            | ErrorCode::ConnectionTimeout,
        ) => Error::Timeout(format!(
            "{} stopped sending its answer (timed out)",
            target.authority
        )),
        _ => Error::Network(format!(
            "the connection to {} failed while reading the answer",
            target.authority
        )),
    }
}

/// A `wasi:http` error code in words.
fn code_error(code: &ErrorCode, target: &Target) -> Error {
    let at = &target.authority;
    let network = Error::Network;
    match code {
        ErrorCode::HttpRequestDenied => Error::CapabilityDenied(format!("http:{}", target.origin)),
        ErrorCode::DnsTimeout => Error::Timeout(format!(
            "could not resolve {}: the lookup timed out",
            target.host
        )),
        ErrorCode::DnsError(_) | ErrorCode::DestinationNotFound => {
            network(format!("could not resolve {}", target.host))
        }
        ErrorCode::ConnectionRefused => network(format!("connection refused by {at}")),
        ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::DestinationIpUnroutable => network(format!("{at} cannot be reached")),
        ErrorCode::ConnectionTimeout => Error::Timeout(format!("connecting to {at} timed out")),
        ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => Error::Timeout(format!("{at} timed out")),
        ErrorCode::ConnectionTerminated | ErrorCode::HttpResponseIncomplete => {
            network(format!("{at} closed the connection before answering"))
        }
        ErrorCode::ConnectionLimitReached => {
            network(format!("too many connections to {at} are open"))
        }
        ErrorCode::TlsProtocolError | ErrorCode::TlsAlertReceived(_) => {
            network(format!("the TLS handshake with {at} failed"))
        }
        ErrorCode::TlsCertificateError => {
            network(format!("the TLS certificate of {at} is not valid"))
        }
        ErrorCode::HttpRequestLengthRequired => {
            Error::InvalidResponse(format!("{at} wants a content-length"))
        }
        ErrorCode::HttpRequestBodySize(_) => {
            Error::Other(format!("the request body for {at} has the wrong size"))
        }
        ErrorCode::HttpRequestMethodInvalid
        | ErrorCode::HttpRequestUriInvalid
        | ErrorCode::HttpRequestUriTooLong => {
            Error::Other(format!("the request to {at} is not valid HTTP"))
        }
        ErrorCode::HttpRequestHeaderSectionSize(_) | ErrorCode::HttpRequestHeaderSize(_) => {
            Error::Other(format!("the headers of the request to {at} are too large"))
        }
        ErrorCode::HttpResponseHeaderSectionSize(_) | ErrorCode::HttpResponseHeaderSize(_) => {
            Error::InvalidResponse(format!("{at} answered with headers that are too large"))
        }
        ErrorCode::HttpResponseBodySize(_) => {
            Error::InvalidResponse(format!("{at} answered with a body of the wrong size"))
        }
        ErrorCode::HttpProtocolError
        | ErrorCode::HttpResponseTransferCoding(_)
        | ErrorCode::HttpResponseContentCoding(_)
        | ErrorCode::HttpUpgradeFailed => {
            Error::InvalidResponse(format!("{at} did not answer with valid HTTP"))
        }
        ErrorCode::LoopDetected => network(format!("{at} reported a loop")),
        _ => network(format!("cannot reach {at}")),
    }
}

/// `5 s`, `1.5 s`, `800 ms`.
pub(super) fn seconds(duration: Duration) -> String {
    if duration.as_millis() < 1000 {
        format!("{} ms", duration.as_millis())
    } else if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// `64 KiB`, `1 MiB`, `100 bytes`.
pub(super) fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{message, target};
    use super::*;

    #[test]
    fn failures_are_in_words() {
        let openrouter = target("https://openrouter.ai/api/v1/auth/keys?x=1");
        let dns = ErrorCode::DnsError(wasip2::http::types::DnsErrorPayload {
            rcode: Some("address not available".into()),
            info_code: None,
        });
        let error = code_error(&dns, &openrouter);
        assert!(matches!(error, Error::Network(_)));
        assert_eq!(message(error), "could not resolve openrouter.ai");
        let local = target("http://127.0.0.1:4567/x");
        assert_eq!(
            message(code_error(&ErrorCode::ConnectionRefused, &local)),
            "connection refused by 127.0.0.1:4567"
        );
        let timeout = code_error(&ErrorCode::ConnectionTimeout, &local);
        assert!(
            matches!(&timeout, Error::Timeout(m) if m.contains("timed out")),
            "{timeout:?}"
        );
        assert!(matches!(
            code_error(&ErrorCode::HttpRequestDenied, &openrouter),
            Error::CapabilityDenied(m) if m == "http:https://openrouter.ai"
        ));
        let internal = code_error(&ErrorCode::InternalError(Some("x".into())), &local);
        assert_eq!(message(internal), "cannot reach 127.0.0.1:4567");
    }

    #[test]
    fn sizes_and_durations_in_words() {
        assert_eq!(size(64 * 1024), "64 KiB");
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size(100), "100 bytes");
        assert_eq!(seconds(Duration::from_millis(800)), "800 ms");
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }
}
