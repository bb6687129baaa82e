//! Device logins: approved at the complete URI, polled at the interval
//! and slower after `slow_down`, and a code that expires unapproved.

use super::*;

#[test]
fn a_device_login_approved_by_the_user_opens_the_complete_uri() {
    let corp = Corp::auto();
    let login = Running::start(corp.login_command(&recording_browser(), &["--method", "device"]));
    let complete = wait_for_file(&corp.url_file());
    assert!(
        complete.starts_with(&corp.idp.url("/device?user_code=")),
        "{complete}"
    );
    Agent::new(&corp.idp).approve_device(&complete, None);
    let out = login.finish(LOGIN_WITHIN);
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("enter the code"), "{err}");
    assert_eq!(
        corp.grants("urn:ietf:params:oauth:grant-type:device_code", 1),
        1
    );
    let stored = corp.stored();
    assert_eq!(stored["sub"], "alice", "{stored}");
    assert!(stored["refresh"].is_string());
    let token = corp.home.run(&["token", "corp"]);
    assert_eq!(
        stdout(&token),
        format!("{}\n", stored["access"].as_str().unwrap())
    );
}

#[test]
fn device_polling_honours_the_interval_and_slow_down() {
    let corp = Corp::start(
        IdpOptions {
            slow_down: 1,
            ..IdpOptions::default()
        },
        "",
    );
    let login = Running::start(corp.login_command(
        &recording_browser(),
        &["--method", "device", "--no-browser"],
    ));
    // The user reads the URI and the code on the terminal and types the
    // code in at that page.
    let uri = login.line(|l| {
        let l = l.trim();
        (l.starts_with("http") && !l.contains("user_code")).then(|| l.to_owned())
    });
    assert_eq!(uri, corp.idp.url("/device"));
    login.line(|l| l.contains("enter the code").then_some(()));
    let code = login.line(|l| Some(l.trim().to_owned()));
    assert_eq!(
        corp.idp.wait_for_count("device.slow_down", None, 1),
        1,
        "{:?}",
        corp.idp.events()
    );
    Agent::new(&corp.idp).approve_device(&uri, Some(&code));
    let out = login.finish(LOGIN_WITHIN);
    assert_success(&out);
    assert!(!corp.url_file().exists(), "the browser was opened");

    // Polls: pending at the interval (1 s), then one answered `slow_down`,
    // then the next at least 5 s later than the interval asks.
    let events = corp.idp.events();
    let polls: Vec<(u64, &Value)> = events
        .iter()
        .filter(|e| {
            e["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
                || e["event"] == "device.slow_down"
        })
        .map(|e| (e["at"].as_u64().unwrap(), e))
        .collect();
    let slowed = polls
        .iter()
        .position(|(_, e)| e["event"] == "device.slow_down")
        .unwrap();
    let after = polls[slowed + 1..]
        .iter()
        .find(|(_, e)| e["event"] != "device.slow_down")
        .expect("a poll after slow_down");
    let gap = after.0 - polls[slowed].0;
    assert!(
        gap >= 5_500,
        "polled again {gap} ms after slow_down: {polls:?}"
    );
    let requests: Vec<u64> = polls
        .iter()
        .filter(|(_, e)| e["event"] != "device.slow_down")
        .map(|(at, _)| *at)
        .collect();
    for pair in requests.windows(2) {
        assert!(pair[1] - pair[0] >= 900, "polled too fast: {requests:?}");
    }
    assert!(corp.stored()["access"].is_string());
}

#[test]
fn an_unapproved_device_code_expires_and_nothing_is_stored() {
    let corp = Corp::start(
        IdpOptions {
            device_ttl: 3,
            ..IdpOptions::default()
        },
        "",
    );
    let started = Instant::now();
    let out = corp.login(&recording_browser(), &["--method", "device"]);
    assert_fails_with(&out, "the code expired before it was approved");
    assert!(started.elapsed() < Duration::from_secs(20));
    corp.assert_nothing_stored();
}
