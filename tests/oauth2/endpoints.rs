//! Endpoints configured by hand instead of discovered, with the ID token
//! as the secret.

use super::*;

#[test]
fn explicit_endpoints_and_the_id_token() {
    let idp = Idp::start(IdpOptions::default());
    let home = Home::with_config(&config(&format!(
        "client_id = \"authhost-cli\"\ntoken = \"id\"\n\
         authorization_url = \"{0}/auth\"\ntoken_url = \"{0}/token\"\n\
         revocation_url = \"{0}/token/revocation\"\nuserinfo_url = \"{0}/me\"",
        idp.issuer()
    )));
    let out = Running::start(login_command(&home, &curl_browser(), &[])).finish(LOGIN_WITHIN);
    assert_success(&out);
    let token = home.run(&["token", "corp"]);
    assert_success(&token);
    let jwt = stdout(&token).trim().to_owned();
    let payload = jwt.split('.').nth(1).expect("a JWT");
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], idp.issuer());
    assert_eq!(claims["aud"], "authhost-cli");
    let stored = home.store_json()["corp"].clone();
    assert_eq!(stored["expires"], claims["exp"].as_u64().unwrap() * 1000);

    let status = home.run(&["status", "corp", "--check"]);
    assert_success(&status);
    assert!(
        stdout(&status).contains("the ID token"),
        "{}",
        stdout(&status)
    );
    let logout = home.run(&["logout", "corp"]);
    assert!(
        stderr(&logout).contains("Revoked the login of corp"),
        "{}",
        stderr(&logout)
    );
    assert_eq!(idp.wait_for_count("grant.revoked", None, 1), 1);
}
