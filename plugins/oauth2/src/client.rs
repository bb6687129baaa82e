//! The `oauth2` crate's client, with its requests sent through
//! `authhost_sdk::http` (so through the host's grants), and its errors in
//! words.

use std::cell::Cell;
use std::time::Duration;

use authhost_sdk::http;
use authhost_sdk::text;
use authhost_sdk::types::Error;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, ErrorResponseType, ExtraTokenFields,
    HttpRequest, HttpResponse, RequestTokenError, StandardErrorResponse, StandardRevocableToken,
    StandardTokenResponse, SyncHttpClient,
};
use serde::{Deserialize, Serialize};

use crate::options::Options;

/// The largest answer read from an endpoint.
const MAX_RESPONSE: usize = 256 * 1024;
/// Time to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Time for a whole exchange.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The OpenID Connect field of a token response: the ID token.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct IdTokenField {
    /// The ID token (a JWT), when the IdP sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

/// A token response, with the ID token.
pub type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// The client type, with no endpoint set (each flow sets the ones it uses).
pub type Client = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
>;

/// The client for `options`: its id, and its secret in the request body
/// when there is one (what installed-app IdPs document).
pub fn new(options: &Options) -> Client {
    let client =
        Client::new(ClientId::new(options.client_id.clone())).set_auth_type(AuthType::RequestBody);
    match &options.client_secret {
        Some(secret) => client.set_client_secret(ClientSecret::new(secret.clone())),
        None => client,
    }
}

/// The `oauth2` crate's HTTP client: `authhost_sdk::http`, remembering the
/// status of the last answer for error messages.
pub struct Http {
    last_status: Cell<Option<u16>>,
    /// Say on the terminal when a request fails (device polling retries).
    report_failures: bool,
    /// Send every request here instead of where the crate addressed it.
    target: Option<url::Url>,
}

/// A request that got no answer.
#[derive(Debug)]
pub struct HttpFailure(pub Error);

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&authhost_sdk::describe(&self.0))
    }
}

impl std::error::Error for HttpFailure {}

impl Http {
    /// A client for one-shot requests.
    pub fn new() -> Http {
        Http {
            last_status: Cell::new(None),
            report_failures: false,
            target: None,
        }
    }

    /// A client for polling: a failed request is reported on the terminal
    /// (the `oauth2` crate backs off and tries again).
    pub fn polling() -> Http {
        Http {
            last_status: Cell::new(None),
            report_failures: true,
            target: None,
        }
    }

    /// The same client, sending every request to `url`.
    pub fn sending_to(self, url: url::Url) -> Http {
        Http {
            target: Some(url),
            ..self
        }
    }

    /// The status of the last answer.
    pub fn last_status(&self) -> Option<u16> {
        self.last_status.get()
    }

    fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpFailure> {
        self.last_status.set(None);
        let (parts, body) = request.into_parts();
        let url = match &self.target {
            Some(url) => url.to_string(),
            None => parts.uri.to_string(),
        };
        let mut outgoing = http::Request::new(parts.method.as_str(), &url)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .max_response(MAX_RESPONSE);
        let mut content_type = None;
        for (name, value) in &parts.headers {
            let value = value.to_str().map_err(|_| {
                HttpFailure(Error::Other(format!("the header `{name}` is not text")))
            })?;
            if name == oauth2::http::header::CONTENT_TYPE {
                content_type = Some(value.to_owned());
            } else {
                outgoing = outgoing.header(name.as_str(), value);
            }
        }
        if !body.is_empty() || content_type.is_some() {
            let content_type =
                content_type.unwrap_or_else(|| "application/x-www-form-urlencoded".into());
            outgoing = outgoing.body(&content_type, body);
        }
        let response = outgoing.send().map_err(HttpFailure)?;
        self.last_status.set(Some(response.status));
        let status = error_status(&response);
        let mut builder = oauth2::http::Response::builder().status(status);
        for (name, value) in &response.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder.body(response.body).map_err(|_| {
            HttpFailure(Error::InvalidResponse(
                "the answer has headers that are not valid HTTP".into(),
            ))
        })
    }
}

impl SyncHttpClient for Http {
    type Error = HttpFailure;

    fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpFailure> {
        let result = self.send(request);
        if self.report_failures
            && let Err(HttpFailure(error)) = &result
        {
            authhost_sdk::interact::message(&format!(
                "The token endpoint did not answer ({}); trying again…",
                authhost_sdk::describe(error)
            ));
        }
        result
    }
}

/// The status to hand the `oauth2` crate: a `200` whose JSON body is an
/// OAuth error (`{"error": "authorization_pending"}`, as GitHub answers)
/// counts as the `400` the specifications call for.
fn error_status(response: &http::Response) -> u16 {
    if response.status == 200 {
        #[derive(Deserialize)]
        struct Probe {
            error: Option<String>,
            access_token: Option<serde_json::Value>,
        }
        if let Ok(Probe {
            error: Some(_),
            access_token: None,
        }) = serde_json::from_slice::<Probe>(&response.body)
        {
            return 400;
        }
    }
    response.status
}

/// A failed request to `endpoint` (e.g. "the token endpoint") in words.
///
/// - An OAuth error answer: its `error` and `error_description`;
///   `invalid_grant` and `access_denied` are `denied` (the user must log in
///   again), `expired_token` a timeout, a 5xx a network error.
/// - No answer: the SDK's error (network, timeout, capability).
/// - An answer that is not a usable one: `invalid-response` with the status
///   and what was wrong, never the body (it may hold a secret).
pub fn error<T: ErrorResponseType + std::fmt::Display + 'static>(
    error: RequestTokenError<HttpFailure, StandardErrorResponse<T>>,
    endpoint: &str,
    http: &Http,
) -> Error {
    let status = http.last_status();
    let server_failed = status.is_some_and(|s| s >= 500);
    let at = match status {
        Some(status) => format!("{endpoint} answered {status}"),
        None => format!("{endpoint} answered"),
    };
    match error {
        RequestTokenError::ServerResponse(answer) => {
            let code = serde_json::to_value(answer.error())
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let message = format!(
                "{at} `{}`{}",
                text::one_line(&code, 60),
                description(answer.error_description().map(String::as_str))
            );
            match code.as_str() {
                "invalid_grant" | "access_denied" => Error::Denied(message),
                "expired_token" => Error::Timeout(message),
                "server_error" | "temporarily_unavailable" => Error::Network(message),
                _ if server_failed => Error::Network(message),
                _ => Error::Other(message),
            }
        }
        RequestTokenError::Request(HttpFailure(error)) => error,
        RequestTokenError::Parse(parse, body) => {
            if server_failed {
                return Error::Network(format!("{at}; try again later"));
            }
            let what = if body.trim_ascii_start().starts_with(b"<") {
                "an HTML page, not JSON".to_owned()
            } else {
                let field = parse.path().to_string();
                let kind = parse.inner().classify();
                match kind {
                    serde_json::error::Category::Data if field != "." => {
                        format!("JSON with an unusable field `{field}`")
                    }
                    serde_json::error::Category::Data => {
                        let text = parse.inner().to_string();
                        if text.starts_with("missing field") {
                            format!(
                                "JSON without a required field ({})",
                                text.split(" at line").next().unwrap_or(&text)
                            )
                        } else {
                            "JSON of an unexpected shape".into()
                        }
                    }
                    _ => "not valid JSON".into(),
                }
            };
            Error::InvalidResponse(format!("{at} with {what}"))
        }
        RequestTokenError::Other(reason) if server_failed => Error::Network(format!(
            "{at} ({}); try again later",
            text::one_line(&reason, 200)
        )),
        RequestTokenError::Other(reason) => {
            Error::InvalidResponse(format!("{at}: {}", text::one_line(&reason, 200)))
        }
    }
}

/// `": description"` of an IdP's `error_description`: one line, short,
/// anything like a secret blanked out.
pub fn description(text: Option<&str>) -> String {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => format!(" ({})", text::redact_secret_like(&text::one_line(t, 300))),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth2::basic::BasicErrorResponseType;

    fn response(status: u16, body: &str) -> http::Response {
        http::Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn an_error_answered_with_200_counts_as_400() {
        assert_eq!(
            error_status(&response(200, r#"{"error":"authorization_pending"}"#)),
            400
        );
        assert_eq!(
            error_status(&response(
                200,
                r#"{"access_token":"a","token_type":"bearer"}"#
            )),
            200
        );
        assert_eq!(error_status(&response(200, "not json")), 200);
        assert_eq!(error_status(&response(401, r#"{"error":"x"}"#)), 401);
    }

    fn server(code: BasicErrorResponseType, description: &str) -> Error {
        let http = Http::new();
        http.last_status.set(Some(400));
        error(
            RequestTokenError::ServerResponse(StandardErrorResponse::new(
                code,
                Some(description.into()),
                None,
            )),
            "the token endpoint",
            &http,
        )
    }

    #[test]
    fn oauth_errors_are_in_words_and_kinds() {
        let refused = server(
            BasicErrorResponseType::InvalidGrant,
            "grant request is invalid",
        );
        assert!(
            matches!(&refused, Error::Denied(m)
                if m == "the token endpoint answered 400 `invalid_grant` (grant request is invalid)"),
            "{refused:?}"
        );
        let client = server(BasicErrorResponseType::InvalidClient, "no such client");
        assert!(matches!(&client, Error::Other(m) if m.contains("`invalid_client`")));
        let secret = server(
            BasicErrorResponseType::InvalidRequest,
            "code AbCdEf0123456789xyzAbCdEf is used",
        );
        assert!(
            matches!(&secret, Error::Other(m) if !m.contains("AbCdEf0123456789")),
            "{secret:?}"
        );
    }

    #[test]
    fn unusable_answers_do_not_echo_the_body() {
        let http = Http::new();
        http.last_status.set(Some(200));
        let body = br#"{"access_token": 5, "token_type": "bearer"}"#.to_vec();
        let parse = serde_path_to_error::deserialize::<_, TokenResponse>(
            &mut serde_json::Deserializer::from_slice(&body),
        )
        .unwrap_err();
        let e: RequestTokenError<HttpFailure, BasicErrorResponse> =
            RequestTokenError::Parse(parse, body);
        let text = format!("{:?}", error(e, "the token endpoint", &http));
        assert!(text.contains("unusable field `access_token`"), "{text}");
        http.last_status.set(Some(502));
        let e: RequestTokenError<HttpFailure, BasicErrorResponse> =
            RequestTokenError::Other("server returned empty error response".into());
        assert!(matches!(
            error(e, "the token endpoint", &http),
            Error::Network(_)
        ));
    }
}
