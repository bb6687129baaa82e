//! The OpenID Connect provider the OAuth tests log in to (`tests/idp`):
//! it starts, its discovery document names the endpoints those tests use,
//! and its events and controls reach the test.

use crate::support;

use support::idp::{self, Idp, IdpOptions};

#[test]
fn discovery_names_the_endpoints() {
    let idp = Idp::start(IdpOptions::default());
    assert_eq!(idp.issuer(), format!("http://127.0.0.1:{}", idp.port()));

    let response = idp::get(&idp.url("/.well-known/openid-configuration"), &[]);
    assert_eq!(response.status, 200, "{}", response.text());
    let doc = response.json();
    assert_eq!(doc["issuer"], idp.issuer());
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "device_authorization_endpoint",
        "revocation_endpoint",
        "userinfo_endpoint",
    ] {
        let url = doc[endpoint]
            .as_str()
            .unwrap_or_else(|| panic!("no {endpoint} in {doc:#}"));
        assert!(url.starts_with(idp.issuer()), "{endpoint}: {url}");
    }
    // RFC 9207: the authorization response names the issuer.
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let listed = |key: &str, value: &str| {
        doc[key]
            .as_array()
            .is_some_and(|values| values.iter().any(|v| v == value))
    };
    assert!(
        listed("code_challenge_methods_supported", "S256"),
        "{doc:#}"
    );
    for grant_type in [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        assert!(listed("grant_types_supported", grant_type), "{doc:#}");
    }
    for scope in ["openid", "offline_access", "email", "profile"] {
        assert!(listed("scopes_supported", scope), "{doc:#}");
    }
}

#[test]
fn events_and_controls_reach_the_test() {
    let idp = Idp::start(IdpOptions {
        client_id: "harness".into(),
        ..IdpOptions::default()
    });

    // A refresh token the provider never issued.
    let response = idp::post_form(
        &idp.url("/token"),
        &[],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "not-a-token"),
            ("client_id", idp.client_id()),
        ],
    );
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "invalid_grant");
    assert_eq!(
        idp.wait_for_count("grant.error", Some("refresh_token"), 1),
        1,
        "{:?}",
        idp.events()
    );
    let error = idp
        .events()
        .into_iter()
        .find(|e| e["event"] == "grant.error");
    assert_eq!(error.unwrap()["error"], "invalid_grant");
    assert_eq!(idp.count("grant.success", None), 0);

    // A device authorization: a pending poll, then no grants to revoke.
    let response = idp::post_form(
        &idp.url("/device/auth"),
        &[],
        &[("client_id", idp.client_id()), ("scope", "openid email")],
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let device = response.json();
    assert_eq!(device["interval"], 1);
    assert!(
        device["verification_uri_complete"]
            .as_str()
            .unwrap()
            .starts_with(&idp.url("/device?user_code="))
    );
    let poll = idp::post_form(
        &idp.url("/token"),
        &[],
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device["device_code"].as_str().unwrap()),
            ("client_id", idp.client_id()),
        ],
    );
    assert_eq!(poll.json()["error"], "authorization_pending");
    assert_eq!(idp.revoke_all(), 0);
}
