//! The device login (RFC 8628): the IdP gives a code the user enters at its
//! verification page, on any device, while this provider polls the token
//! endpoint. The `oauth2` crate polls at the server's interval, slows down
//! on `slow_down` and stops at `expires_in`; Ctrl-C ends the whole call.

use std::time::{Duration, Instant};

use authhost_sdk::prelude::*;
use oauth2::{
    DeviceAuthorizationResponse, DeviceAuthorizationUrl, EmptyExtraDeviceAuthorizationFields,
    Scope, TokenUrl,
};

use crate::client::{self, Http, TokenResponse};
use crate::endpoints::{Endpoint, Endpoints};
use crate::options::Options;
use crate::tokens::{fact, lifetime};

/// Logs in with a device code; the token response and the endpoints used.
pub fn login(options: &Options, no_browser: bool) -> Result<(TokenResponse, Endpoints), Error> {
    let endpoints = Endpoints::find(options, None, &[Endpoint::Device, Endpoint::Token], true)?;
    let device = endpoints.require(Endpoint::Device)?;
    let token = endpoints.require(Endpoint::Token)?;
    let client = client::new(options)
        .set_device_authorization_url(DeviceAuthorizationUrl::from_url(device))
        .set_token_uri(TokenUrl::from_url(token));

    let http = Http::new();
    let mut request = client
        .exchange_device_code()
        .add_scopes(options.scopes().into_iter().map(Scope::new));
    for (name, value) in options.extra_params() {
        request = request.add_extra_param(name, value);
    }
    let details: DeviceAuthorizationResponse<EmptyExtraDeviceAuthorizationFields> = request
        .request(&http)
        .map_err(|e| client::error(e, "the device authorization endpoint", &http))?;

    show(&details, no_browser);
    let started = Instant::now();
    let polling = Http::polling();
    let tokens = client
        .exchange_device_access_token(&details)
        .request(&polling, clock::sleep, None)
        .map_err(|e| {
            let error = client::error(e, "the token endpoint", &polling);
            // Past its lifetime the IdP may have forgotten the code
            // (`invalid_grant`) rather than call it expired.
            let expired = started.elapsed() + Duration::from_secs(1) >= details.expires_in();
            match error {
                Error::Timeout(_) => code_expired(&details),
                Error::Denied(_) if expired => code_expired(&details),
                Error::Denied(why) => Error::Denied(format!(
                    "{why}; the login was refused on the verification page"
                )),
                other => other,
            }
        })?;
    Ok((tokens, endpoints))
}

fn code_expired(
    details: &DeviceAuthorizationResponse<EmptyExtraDeviceAuthorizationFields>,
) -> Error {
    Error::Timeout(format!(
        "the code expired before it was approved (after {}); run `authhost login {} \
         --method device` again",
        lifetime(details.expires_in()),
        config::provider_name()
    ))
}

/// Tells the user where to go and what to enter; opens the page that
/// carries the code when there is one and a browser may be used.
fn show(
    details: &DeviceAuthorizationResponse<EmptyExtraDeviceAuthorizationFields>,
    no_browser: bool,
) {
    let uri = details.verification_uri().as_str();
    let code = fact(details.user_code().secret());
    interact::message(&format!(
        "To log in to {}, open\n  {uri}\nand enter the code\n  {code}",
        config::provider_name()
    ));
    if let Some(complete) = details.verification_uri_complete() {
        let complete = complete.secret();
        interact::message(&format!("(or open {complete}, which carries the code)"));
        if !no_browser && let Err(e) = browser::open(complete) {
            interact::message(&format!(
                "Could not open a browser ({}); open the URL above on any device.",
                authhost_sdk::describe(&e)
            ));
        }
    }
    let interval = details.interval().max(Duration::from_secs(1));
    interact::message(&format!(
        "Waiting for the approval (checking every {}; the code expires in {}; Ctrl-C to stop)…",
        lifetime(interval),
        lifetime(details.expires_in())
    ));
}
