//! Logins without a browser: the redirect URL or just the code pasted,
//! through a pipe and at a real terminal, and a wait that times out.

use super::*;

/// Runs `login --no-browser`, pastes the lines `paste` makes of the
/// redirect URL.
fn login_by_pasting(paste: impl Fn(&str) -> String) -> (Login, String) {
    let login = Login::new(Mode::Approve);
    let mut child = login
        .command(Path::new("/bin/false"), &["--no-browser"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (urls, all) = watch_stderr(&mut child);
    let auth_url = urls
        .recv_timeout(Duration::from_secs(30))
        .expect("no login URL printed");
    assert!(auth_url.contains("/auth?callback_url="), "{auth_url}");
    let (status, _, redirect) = curl(&auth_url);
    assert_eq!(status, 302);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", paste(&redirect)).unwrap();
    let ok = child.wait().unwrap().success();
    let err = all.join().unwrap();
    assert!(ok, "{err}");
    (login, err)
}

#[test]
fn pasting_the_redirect_url_completes_the_login() {
    let (login, err) = login_by_pasting(|redirect| redirect.to_owned());
    assert!(err.contains("paste the redirect URL"), "{err}");
    assert_eq!(login.fake.keys().len(), 1);
    let key = &login.fake.keys()[0];
    assert_eq!(
        stdout(&login.home.run(&["token", "openrouter"])),
        format!("{key}\n")
    );
}

#[test]
fn a_pasted_url_of_another_login_is_reported_and_the_wait_goes_on() {
    let (login, err) = login_by_pasting(|redirect| {
        let (path, query) = redirect.split_once('?').unwrap();
        let other = format!("{}/other-nonce?{query}", path.rsplit_once('/').unwrap().0);
        format!("{other}\nnot a url at all\n{redirect}")
    });
    assert!(err.contains("not the redirect of this login"), "{err}");
    assert!(err.contains("neither the redirect URL nor a code"), "{err}");
    assert_eq!(login.fake.exchanges().len(), 1);
    assert_eq!(login.fake.keys().len(), 1);
}

/// The paste fallback at a real terminal: while the login waits for the
/// browser, the redirect URL pasted at the terminal completes it.
#[test]
fn pasting_the_redirect_url_at_a_real_terminal_completes_the_login() {
    use support::pty::{Step, run_command_at_terminal};
    let login = Login::new(Mode::Approve);
    let paste = login.home.path().join("paste.txt");
    let url_file = login.url_file.clone();
    let paste_file = paste.clone();
    // The browser elsewhere: it follows the login URL to OpenRouter's
    // redirect, which the user copies.
    let browser = std::thread::spawn(move || {
        for _ in 0..600 {
            if let Ok(url) = std::fs::read_to_string(&url_file)
                && !url.trim().is_empty()
            {
                let (status, _, redirect) = curl(url.trim());
                assert_eq!(status, 302);
                std::fs::write(&paste_file, redirect).unwrap();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no login URL recorded");
    });
    let record = format!(
        "BROWSER={}",
        support::workspace_root()
            .join("tests/openrouter/record-url.sh")
            .display()
    );
    let url_env = format!("AUTHHOST_TEST_URL_FILE={}", login.url_file.display());
    let command = [
        "env",
        &record,
        &url_env,
        support::authhost_bin(),
        "login",
        "openrouter",
    ];
    let steps = [
        Step::Expect("paste the redirect URL"),
        Step::SendFile(&paste),
        Step::Expect("Logged in to openrouter"),
    ];
    let out = run_command_at_terminal(&login.home, &command, &steps, 60);
    browser.join().unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(login.fake.keys().len(), 1);
}

#[test]
fn pasting_just_the_code_completes_the_login() {
    let (login, _) =
        login_by_pasting(|redirect| redirect.split_once("code=").unwrap().1.to_owned());
    assert_eq!(login.fake.keys().len(), 1);
}

#[test]
fn waiting_ends_with_a_timeout_and_stores_nothing() {
    let login = Login::with_options(Mode::Approve, "timeout_ms = 800");
    let started = std::time::Instant::now();
    let out = login
        .command(Path::new("/bin/true"), &["--no-browser"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr(&out).contains("no callback from the browser within"),
        "{}",
        stderr(&out)
    );
    login.assert_nothing_stored();
}
