//! `authhost git-credential` as a real git's credential helper, against a
//! git server on 127.0.0.1 that requires basic auth and runs `git
//! http-backend` (see `support::git_http`).

mod support;

use std::path::Path;
use std::process::Output;

use support::git_http::{GitServer, git, git_command};
use support::{Home, assert_success, authhost_bin, stderr, stdout};

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
