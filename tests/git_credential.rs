//! `authhost git-credential` as a real git's credential helper, against a
//! git server on 127.0.0.1 that requires basic auth and runs `git
//! http-backend` (see `support::git_http`).

use crate::support;

use std::path::Path;
use std::process::Output;

use support::git_http::{GitServer, git, git_command};
use support::{Home, assert_fails_with, assert_success, authhost_bin, stderr, stdout};

const KEY: &str = "forge-key-1234";

fn config(server: &GitServer, extra: &str) -> String {
    format!(
        "[providers.forge]\nplugin = \"api-key\"\ngit_hosts = [\"http://{}\"]\n{extra}\n\
         [providers.elsewhere]\nplugin = \"api-key\"\ngit_hosts = [\"git.example.com\"]\n",
        server.host()
    )
}

fn login(home: &Home, provider: &str, key: &str) {
    let out = home.run_with_stdin(&["login", provider, "--method", "api-key"], key);
    assert_success(&out);
}

/// `git ARGS` in `dir` with authhost as its only credential helper (and
/// `more` helpers after it).
fn git_with_authhost(home: &Home, dir: &Path, more: &[&str], args: &[&str]) -> Output {
    let mut cmd = git_command(dir);
    cmd.env("AUTHHOST_HOME", home.path())
        .env_remove("AUTHHOST_STORE")
        .arg("-c")
        .arg(format!(
            "credential.helper=!'{}' git-credential",
            authhost_bin()
        ));
    for helper in more {
        cmd.arg("-c").arg(format!("credential.helper={helper}"));
    }
    cmd.args(args).output().unwrap()
}

/// A git credential helper after authhost that answers with the right key
/// (what a prompt or another helper would give git).
fn helper_answering_the_key() -> String {
    format!("!f() {{ echo username=x-access-token; echo password={KEY}; }}; f")
}

#[test]
fn git_clones_and_pushes_with_the_providers_key() {
    let server = GitServer::start("x-access-token", KEY);
    let home = Home::with_config(&config(&server, ""));
    login(&home, "forge", KEY);
    let dir = tempfile::tempdir().unwrap();

    let out = git_with_authhost(
        &home,
        dir.path(),
        &[],
        &["clone", "-q", &server.url(), "clone"],
    );
    assert_success(&out);
    let work = dir.path().join("clone");
    assert_eq!(
        std::fs::read_to_string(work.join("README")).unwrap(),
        "hello\n"
    );

    std::fs::write(work.join("NEW"), "pushed\n").unwrap();
    git(&work, &["add", "NEW"]);
    git(&work, &["commit", "-q", "-m", "second"]);
    let out = git_with_authhost(&home, &work, &[], &["push", "-q", "origin", "main"]);
    assert_success(&out);
    let log = git_command(&server.repo())
        .args(["log", "--format=%s", "main"])
        .output()
        .unwrap();
    assert_eq!(stdout(&log), "second\nfirst\n");

    let seen = server.seen();
    assert!(seen.iter().any(|s| s.accepted));
    assert!(
        seen.iter()
            .filter_map(|s| s.credentials.as_ref())
            .all(|c| c == &("x-access-token".to_owned(), KEY.to_owned())),
        "{seen:?}"
    );
}

#[test]
fn get_prints_only_the_answer_and_nothing_for_other_hosts() {
    let server = GitServer::start("x-access-token", KEY);
    let home = Home::with_config(&config(&server, "git_username = \"bot\""));
    login(&home, "forge", KEY);
    let request = format!("protocol=http\nhost={}\npath=repo.git\n\n", server.host());
    let out = home.run_with_stdin(&["git-credential", "get"], &request);
    assert_success(&out);
    assert_eq!(stdout(&out), format!("username=bot\npassword={KEY}\n"));

    // Another host, or the same one over https (the pattern says http):
    // nothing at all, so git asks its next helper.
    for request in [
        "protocol=https\nhost=example.org\n\n".to_owned(),
        format!("protocol=https\nhost={}\n\n", server.host()),
    ] {
        let out = home.run_with_stdin(&["git-credential", "get"], &request);
        assert_success(&out);
        assert_eq!(stdout(&out), "", "{request}");
        assert_eq!(stderr(&out), "", "{request}");
    }
    // A matching provider without a key: an error on stderr, stdout empty.
    let out = home.run_with_stdin(
        &["git-credential", "get"],
        "protocol=https\nhost=git.example.com\n\n",
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("authhost login elsewhere"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_wrong_key_fails_and_other_hosts_get_nothing_from_authhost() {
    let server = GitServer::start("x-access-token", KEY);
    let dir = tempfile::tempdir().unwrap();

    // The provider's key is wrong: the clone fails, and without
    // `git_store` git's `erase` leaves the key alone.
    let home = Home::with_config(&config(&server, ""));
    login(&home, "forge", "forge-key-wrong");
    let out = git_with_authhost(&home, dir.path(), &[], &["clone", "-q", &server.url(), "a"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(server.seen().iter().any(|s| s.credentials
        == Some(("x-access-token".into(), "forge-key-wrong".into()))
        && !s.accepted));
    assert_success(&home.run(&["token", "forge"]));

    // No provider serves the host: authhost gives nothing, git asks the
    // next helper, whose credentials work.
    let home = Home::with_config(
        "[providers.forge]\nplugin = \"api-key\"\ngit_hosts = [\"git.example.com\"]\n",
    );
    login(&home, "forge", KEY);
    let before = server.seen().len();
    let out = git_with_authhost(&home, dir.path(), &[], &["clone", "-q", &server.url(), "b"]);
    assert!(!out.status.success());
    assert!(
        server.seen()[before..]
            .iter()
            .all(|s| s.credentials.is_none()),
        "authhost answered for a host no provider serves: {:?}",
        server.seen()
    );
    let next = helper_answering_the_key();
    let out = git_with_authhost(
        &home,
        dir.path(),
        &[&next],
        &["clone", "-q", &server.url(), "c"],
    );
    assert_success(&out);
}

#[test]
fn git_store_lets_git_keep_and_forget_the_key() {
    let server = GitServer::start("x-access-token", KEY);
    let home = Home::with_config(&config(&server, "git_store = true"));
    let dir = tempfile::tempdir().unwrap();

    // A key git got from the next helper (a prompt, say) is kept.
    let next = helper_answering_the_key();
    let out = git_with_authhost(
        &home,
        dir.path(),
        &[&next],
        &["clone", "-q", &server.url(), "a"],
    );
    assert_success(&out);
    let token = home.run(&["token", "forge"]);
    assert_success(&token);
    assert_eq!(stdout(&token).trim_end(), KEY);

    // A key the server rejects is forgotten (locally; nothing is revoked).
    login(&home, "forge", "forge-key-revoked");
    let out = git_with_authhost(&home, dir.path(), &[], &["clone", "-q", &server.url(), "b"]);
    assert!(!out.status.success());
    let token = home.run(&["token", "forge"]);
    assert_eq!(token.status.code(), Some(4), "{}", stderr(&token));

    // `erase` of some other password leaves a stored key alone.
    login(&home, "forge", KEY);
    let request = format!(
        "protocol=http\nhost={}\nusername=x-access-token\npassword=other\n\n",
        server.host()
    );
    assert_success(&home.run_with_stdin(&["git-credential", "erase"], &request));
    assert_success(&home.run(&["token", "forge"]));
}

/// `store` of `password` for the test server's host, as git would send it.
fn store_request(server: &GitServer, password: &str) -> String {
    format!(
        "protocol=http\nhost={}\nusername=x-access-token\npassword={password}\n\n",
        server.host()
    )
}

/// `authhost git-credential store` fed `request`, with no controlling
/// terminal (`setsid`): nobody can be asked anything.
fn store_without_a_terminal(home: &Home, request: &str) -> Output {
    let mut cmd = std::process::Command::new("setsid");
    cmd.args(["-w", authhost_bin(), "git-credential", "store"])
        .env("AUTHHOST_HOME", home.path())
        .env_remove("AUTHHOST_STORE")
        .env_remove("AUTHHOST_LOG")
        .env_remove("GIT_TERMINAL_PROMPT");
    support::output_with_stdin(&mut cmd, request)
}

/// A password git reports goes through the checks of a pasted key: no
/// control characters (terminal escapes, NUL, tabs) and no spaces, not even
/// at its ends, where trimming would store a key other than the one git
/// used. Nothing is stored and the password is not repeated.
#[test]
fn git_store_refuses_what_a_pasted_key_may_not_contain() {
    let server = GitServer::start("x-access-token", KEY);
    let home = Home::with_config(&config(&server, "git_store = true"));
    for bad in [
        "forge-key CANARY",
        "forge-key\u{1b}]0;CANARY\u{7}",
        "forge-key\u{1b}[2JCANARY",
        "forge-key\tCANARY",
        "forge-key\0CANARY",
        " forge-key-CANARY",
        "forge-key-CANARY ",
    ] {
        let out = home.run_with_stdin(&["git-credential", "store"], &store_request(&server, bad));
        assert_fails_with(&out, "the password git reported");
        let err = stderr(&out);
        assert!(err.contains("nothing was stored"), "{bad:?}: {err}");
        assert!(!err.contains("CANARY"), "{bad:?}: {err}");
        assert_eq!(stdout(&out), "");
        assert_eq!(home.store_json(), serde_json::Value::Null, "{bad:?}");
    }

    // Through a real git: a URL-embedded password with a space and an
    // escape (percent-encoded) that the server accepts. The clone works,
    // git shows authhost's refusal, and nothing is stored.
    let odd = "forge key\u{1b}[31m";
    let server = GitServer::start("x-access-token", odd);
    let home = Home::with_config(&config(&server, "git_store = true"));
    let url = format!(
        "http://x-access-token:forge%20key%1B%5B31m@{}/repo.git",
        server.host()
    );
    let dir = tempfile::tempdir().unwrap();
    let out = git_with_authhost(&home, dir.path(), &[], &["clone", "-q", &url, "a"]);
    assert_success(&out);
    assert!(
        server.seen().iter().any(|s| s.accepted),
        "{:?}",
        server.seen()
    );
    assert!(
        stderr(&out).contains("the password git reported contains a control character"),
        "{}",
        stderr(&out)
    );
    assert_eq!(home.store_json(), serde_json::Value::Null);
}

/// A password in a remote URL (`https://user:TOKEN@host/…`, a submodule's
/// say) reaches `store` after it worked: it never silently replaces the
/// provider's stored key. With nobody to ask, `store` fails, says how to
/// replace the key on purpose, and keeps it; the same key again is a
/// quiet no-op.
#[test]
fn git_store_never_replaces_a_different_key_unasked() {
    const OTHER: &str = "someone-elses-token-CANARY";
    let server = GitServer::start("someone", OTHER);
    let home = Home::with_config(&config(&server, "git_store = true"));
    login(&home, "forge", KEY);
    let stored = std::fs::read(home.store_path()).unwrap();

    // A real git, told never to prompt (`GIT_TERMINAL_PROMPT=0`).
    let url = format!("http://someone:{OTHER}@{}/repo.git", server.host());
    let dir = tempfile::tempdir().unwrap();
    let out = git_with_authhost(&home, dir.path(), &[], &["clone", "-q", &url, "a"]);
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("authhost login forge --force"), "{err}");
    assert!(err.contains("the stored key was kept"), "{err}");
    assert!(!err.contains("CANARY"), "{err}");
    assert_eq!(stdout(&home.run(&["token", "forge"])), format!("{KEY}\n"));

    // No controlling terminal at all: refused, exit 1, key unchanged.
    let out = store_without_a_terminal(&home, &store_request(&server, OTHER));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("authhost login forge --force"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("CANARY"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(std::fs::read(home.store_path()).unwrap(), stored);

    // The stored key itself: nothing to do, nothing said.
    let out = store_without_a_terminal(&home, &store_request(&server, KEY));
    assert_success(&out);
    assert_eq!(stderr(&out), "");
    assert_eq!(stdout(&out), "");
    assert_eq!(std::fs::read(home.store_path()).unwrap(), stored);
}

/// At a terminal, git's `store` of a different password asks there (git
/// owns the helper's stdin and stdout, so the question goes to the
/// controlling terminal): "n" keeps the stored key, "y" replaces it.
#[test]
fn git_store_asks_at_the_terminal_before_replacing_a_key() {
    use support::pty::{Step, run_command_at_terminal};
    const OTHER: &str = "forge-key-from-the-url";
    let server = GitServer::start("someone", OTHER);
    let home = Home::with_config(&config(&server, "git_store = true"));
    login(&home, "forge", KEY);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://someone:{OTHER}@{}/repo.git", server.host());
    let helper = format!("credential.helper=!'{}' git-credential", authhost_bin());
    let question = "Replace the stored key with it? [y/N] ";

    for (answer, clone, kept) in [("n", "a", KEY), ("y", "b", OTHER)] {
        let command = [
            "env",
            "-u",
            "GIT_TERMINAL_PROMPT",
            "-u",
            "AUTHHOST_STORE",
            "GIT_CONFIG_NOSYSTEM=1",
            "GIT_CONFIG_GLOBAL=/dev/null",
            "git",
            "-C",
            dir.path().to_str().unwrap(),
            "-c",
            &helper,
            "clone",
            "-q",
            &url,
            clone,
        ];
        let steps = [
            Step::Expect("git used a password for 127.0.0.1:"),
            Step::Expect(question),
            Step::Send(&format!("{answer}\n")),
        ];
        let out = run_command_at_terminal(&home, &command, &steps, 60);
        let screen = stdout(&out);
        assert!(out.status.success(), "{screen}");
        assert!(!screen.contains(OTHER), "{screen}");
        assert!(dir.path().join(clone).join("README").is_file(), "{screen}");
        assert_eq!(
            stdout(&home.run(&["token", "forge"])),
            format!("{kept}\n"),
            "after {answer}: {screen}"
        );
    }
}
