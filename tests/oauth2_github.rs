//! The README's GitHub example of the `oauth2` provider, as written, with a
//! real OpenID Connect provider on 127.0.0.1 standing in for github.com:
//! with only a device endpoint configured, `authhost login github` is the
//! device login.

use crate::oauth2::{Agent, LOGIN_WITHIN, Running, recording_browser, wait_for_file};
use crate::support;

use support::idp::{Idp, IdpOptions};
use support::{Home, assert_fails_with, assert_success, stderr, stdout};

/// The README's `[providers.github]` table of the oauth2 examples.
fn readme_example() -> String {
    let readme = std::fs::read_to_string(support::workspace_root().join("README.md")).unwrap();
    let from = readme
        .find("GitHub's device flow")
        .expect("the GitHub example in the README");
    let block = readme[from..]
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    assert!(
        block.starts_with("[providers.github]\nplugin = \"oauth2\""),
        "{block}"
    );
    block.to_owned()
}

#[test]
fn the_readme_github_example_logs_in_with_the_device_flow_by_default() {
    let example = readme_example();
    let client_id = example
        .lines()
        .find_map(|l| l.strip_prefix("client_id = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("a client_id")
        .to_owned();
    // Tokens that outlive the test, as an OAuth app's do at GitHub.
    let idp = Idp::start(IdpOptions {
        client_id,
        access_ttl: 3600,
        ..IdpOptions::default()
    });
    // The IdP stands in for github.com: only the addresses change, and
    // GitHub's scope for one the IdP knows (it drops scopes it does not
    // know, and finishes only a login that asks for one).
    let config = example
        .replace(
            "https://github.com/login/device/code",
            &idp.url("/device/auth"),
        )
        .replace(
            "https://github.com/login/oauth/access_token",
            &idp.url("/token"),
        )
        .replace("scopes = [\"read:user\"]", "scopes = [\"openid\"]");
    assert!(config.contains("scopes = [\"openid\"]"), "{config}");
    assert!(
        config
            .lines()
            .all(|l| l.starts_with('#') || !l.contains("github.com")),
        "{config}"
    );
    let home = Home::with_config(&config);

    let mut cmd = home.cmd();
    cmd.args(["login", "github"])
        .env("BROWSER", recording_browser())
        .env("AUTHHOST_TEST_URL_FILE", home.path().join("url.txt"));
    let login = Running::start(cmd);
    let complete = wait_for_file(&home.path().join("url.txt"));
    assert!(
        complete.starts_with(&idp.url("/device?user_code=")),
        "{complete}"
    );
    Agent::new(&idp).approve_device(&complete, None);
    let out = login.finish(LOGIN_WITHIN);
    assert_success(&out);
    assert!(stderr(&out).contains("enter the code"), "{}", stderr(&out));
    let stored = home.store_json()["github"].clone();
    let access = stored["access"].as_str().expect("an access token");
    assert_eq!(
        stdout(&home.run(&["token", "github"])),
        format!("{access}\n")
    );

    // Without the device endpoint, the error names the device method.
    let without: String = config
        .lines()
        .filter(|l| !l.starts_with("device_authorization_url"))
        .map(|l| format!("{l}\n"))
        .collect();
    home.write_config(&without);
    let out = home.run(&["login", "github", "--force"]);
    assert_fails_with(
        &out,
        "there is no authorization endpoint for a browser login",
    );
    assert_fails_with(&out, "`--method device`");
}
