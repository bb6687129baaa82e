//! Mistakes named in words (unknown configuration keys, unknown
//! providers), with no secret in listings, logs or errors.

use super::*;

#[test]
fn unknown_config_keys_are_named() {
    let home = Home::with_config(
        "[providers.openrouter]\nplugin = \"openrouter\"\n\n[limits]\nmemroy_mib = 3\n",
    );
    let out = home.run(&["list"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("memroy_mib"), "{err}");
    assert!(err.contains("config.toml"), "{err}");
}

#[test]
fn secrets_stay_out_of_listings_logs_and_errors() {
    let canary = "sk-canary-7f3a9";
    let home = testkit_home(&format!(
        "[providers.kit]\nplugin = \"testkit\"\nkey = \"{canary}\"\nttl_ms = 60000\n\n[providers.bad]\nplugin = \"testkit\"\nmode = \"nope\"\nkey = \"{canary}\"\n"
    ));
    let out = home.run_with_stdin(
        &["-vv", "login", "openrouter", "--method", "api-key"],
        &format!("{canary}\n"),
    );
    assert_success(&out);
    assert!(!stderr(&out).contains(canary));
    let out = home.run(&["-vv", "token", "kit"]);
    assert_eq!(stdout(&out), format!("{canary}\n"));
    assert!(!stderr(&out).contains(canary), "{}", stderr(&out));
    for args in [
        &["-vv", "list", "--json"][..],
        &["-vv", "list"],
        &["-vv", "plugins", "list", "--json"],
        &["-vv", "token", "bad"],
        &["-vv", "token", "nobody"],
        &["-vv", "logout", "kit"],
    ] {
        let out = home.run(args);
        assert!(!stdout(&out).contains(canary), "{args:?}: {}", stdout(&out));
        assert!(!stderr(&out).contains(canary), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn unknown_providers_are_reported() {
    let home = Home::new();
    let out = home.run(&["token", "nobody"]);
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("unknown provider `nobody`"),
        "{}",
        stderr(&out)
    );
}
