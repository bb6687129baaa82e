//! A reader that has gone: every command whose stdout or stderr is a
//! closed pipe, or a pipe into `head -c1`, ends quietly with exit 0.

use super::*;

/// Runs `authhost ARGS` with its stdout (`close_stdout`) and/or stderr
/// closed before it writes anything: each reader has gone. Returns the exit
/// code and what it wrote to the stream left open.
fn run_with_closed(
    home: &Home,
    args: &[&str],
    close_stdout: bool,
    close_stderr: bool,
) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = home.spawn(args);
    let mut open = String::new();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    match (close_stdout, close_stderr) {
        (true, true) => drop((stdout, stderr)),
        (true, false) => {
            drop(stdout);
            let mut stderr = stderr;
            stderr.read_to_string(&mut open).unwrap();
        }
        (false, true) => {
            drop(stderr);
            let mut stdout = stdout;
            stdout.read_to_string(&mut open).unwrap();
        }
        (false, false) => unreachable!(),
    }
    (child.wait().unwrap().code(), open)
}

/// A reader that has gone is a normal end: every command whose stdout or
/// stderr is a closed pipe ends quietly with exit 0, never with a panic;
/// with only stderr closed, the key still reaches stdout.
#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let home = Home::with_config(
        "[providers.helper]\nplugin = \"shell-helper\"\ncommand = \"echo helper-key\"\n",
    );
    assert_success(&home.run_with_stdin(
        &["login", "groq", "--method", "api-key"],
        "gsk_closed_pipe_key\n",
    ));
    let component = workspace_component("hostile-text");
    std::fs::copy(&component, home.plugins_dir().join("hostile.wasm")).unwrap();
    let component = component.to_str().unwrap();
    let stdout_commands: &[&[&str]] = &[
        &["paths"],
        &["paths", "--json"],
        &["list"],
        &["list", "--json"],
        &["status"],
        &["status", "--json"],
        &["plugins", "list"],
        &["plugins", "list", "--json"],
        &["plugins", "inspect", component],
        &["completions", "bash"],
        &["man"],
        &["token", "groq"],
        &["token", "groq", "--format", "json"],
        &["token", "helper"],
        &["--help"],
    ];
    for args in stdout_commands {
        let (code, err) = run_with_closed(&home, args, true, false);
        assert_eq!(code, Some(0), "{args:?} with stdout closed:\n{err}");
        assert!(!err.contains("panicked"), "{args:?}:\n{err}");
        assert!(!err.contains("Broken pipe"), "{args:?}:\n{err}");
    }
    // Messages on a closed stderr are dropped; the command does its work.
    let (code, key) = run_with_closed(&home, &["-vv", "token", "helper"], false, true);
    assert_eq!((code, key.as_str()), (Some(0), "helper-key\n"));
    let (code, key) = run_with_closed(&home, &["-v", "token", "groq"], false, true);
    assert_eq!((code, key.as_str()), (Some(0), "gsk_closed_pipe_key\n"));
    let stderr_commands: &[&[&str]] = &[
        &["login", "helper"],
        &["plugins", "grant", "hostile-aaaa", "prompt"],
        &["plugins", "revoke", "hostile-aaaa", "prompt"],
        &["logout", "groq"],
        &["logout", "groq"],
    ];
    for args in stderr_commands {
        let (code, out) = run_with_closed(&home, args, true, true);
        assert_eq!(code, Some(0), "{args:?} with both closed:\n{out}");
    }
    assert!(home.store_json().get("groq").is_none());
    // Through a real pipe into `head -c1`, as a person would.
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            "set -o pipefail; \"$0\" completions bash | head -c1 >/dev/null && \"$0\" paths | head -c1 >/dev/null",
            support::authhost_bin(),
        ])
        .env("AUTHHOST_HOME", home.path())
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stderr(&out), "");
}

/// Where a command's stdout goes in [`run_to_reader`].
#[derive(Clone, Copy, Debug)]
enum Reader {
    /// A pipe whose reading end was closed before authhost started.
    Closed,
    /// A pipe into `head -c1`, which reads one byte and exits.
    Head,
}

/// Runs `authhost ARGS` with `input` on stdin and its stdout going to
/// `reader`; returns authhost's own exit code and its stderr.
fn run_to_reader(home: &Home, args: &[&str], input: &str, reader: Reader) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut cmd = home.cmd();
    cmd.args(args).stdin(Stdio::piped()).stderr(Stdio::piped());
    let mut head = None;
    let mut child = match reader {
        Reader::Closed => {
            let (pipe_reader, pipe_writer) = std::io::pipe().unwrap();
            drop(pipe_reader);
            cmd.stdout(pipe_writer).spawn().unwrap()
        }
        Reader::Head => {
            let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
            // The pipe's reading end is handed to `head` and closed here
            // (the Command holding it is dropped at the end of the
            // statement), so that `head` is its only reader.
            head = Some(
                std::process::Command::new("head")
                    .arg("-c1")
                    .stdin(child.stdout.take().unwrap())
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
            child
        }
    };
    drop(cmd);
    // A command that does not read stdin may have ended already.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let code = child.wait().unwrap().code();
    if let Some(mut head) = head {
        assert!(head.wait().unwrap().success());
    }
    (code, err)
}

/// The shells `authhost completions` knows, as its usage error lists them.
fn completion_shells(home: &Home) -> Vec<String> {
    let out = home.run(&["completions", "no-such-shell"]);
    let text = stderr(&out);
    let listed = text
        .split_once("[possible values: ")
        .and_then(|(_, rest)| rest.split_once(']'))
        .unwrap_or_else(|| panic!("no shells listed:\n{text}"))
        .0;
    listed.split(", ").map(str::to_owned).collect()
}

/// Every command that prints, with its stdout a pipe nobody reads (closed
/// before authhost starts) and piped into `head -c1` (gone after the
/// first byte): authhost ends with exit 0 and writes nothing on stderr.
#[test]
fn every_printing_command_ends_quietly_when_its_reader_has_gone() {
    let home = Home::with_config(
        "[providers.helper]\nplugin = \"shell-helper\"\ncommand = \"echo helper-key\"\n\
         [providers.forge]\nplugin = \"api-key\"\ngit_hosts = [\"git.example.com\"]\n",
    );
    for (provider, key) in [("groq", "gsk_reader_gone_key\n"), ("forge", "forge-key\n")] {
        assert_success(&home.run_with_stdin(&["login", provider, "--method", "api-key"], key));
    }
    let component = workspace_component("hostile-text");
    std::fs::copy(&component, home.plugins_dir().join("hostile.wasm")).unwrap();
    let component = component.to_str().unwrap();
    let shells = completion_shells(&home);
    assert!(shells.len() >= 5, "{shells:?}");
    let git_request = "protocol=https\nhost=git.example.com\n\n";
    let mut commands: Vec<(Vec<&str>, &str)> = vec![
        (vec!["list"], ""),
        (vec!["list", "--json"], ""),
        (vec!["status"], ""),
        (vec!["status", "groq"], ""),
        (vec!["status", "--json"], ""),
        (vec!["token", "groq"], ""),
        (vec!["token", "groq", "--format", "json"], ""),
        (vec!["token", "groq", "--format", "kube"], ""),
        (vec!["token", "helper"], ""),
        (vec!["plugins", "list"], ""),
        (vec!["plugins", "list", "--json"], ""),
        (vec!["plugins", "inspect", component], ""),
        (vec!["plugins", "inspect", component, "--json"], ""),
        (vec!["paths"], ""),
        (vec!["paths", "--json"], ""),
        (vec!["man"], ""),
        (vec!["--help"], ""),
        (vec!["-h"], ""),
        (vec!["login", "--help"], ""),
        (vec!["plugins", "--help"], ""),
        (vec!["--version"], ""),
        // A child that prints (another authhost, which ends quietly too).
        (
            vec![
                "exec",
                "--env",
                "groq",
                "--",
                support::authhost_bin(),
                "paths",
            ],
            "",
        ),
        (vec!["git-credential", "get"], git_request),
    ];
    for shell in &shells {
        commands.push((vec!["completions", shell.as_str()], ""));
    }
    for (args, input) in &commands {
        for reader in [Reader::Closed, Reader::Head] {
            let (code, err) = run_to_reader(&home, args, input, reader);
            assert_eq!(code, Some(0), "{args:?} into {reader:?}:\n{err}");
            assert_eq!(err, "", "{args:?} into {reader:?}");
        }
    }
    // The commands above do print: each writes to an open stdout.
    for (args, input) in &commands {
        let out = home.run_with_stdin(args, input);
        assert_success(&out);
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
    }
    // `exec` reports its child's end as its own, as a shell would: a child
    // that a closed pipe ends (SIGPIPE) is 128 + 13, and authhost adds
    // nothing on stderr.
    let (code, err) = run_to_reader(
        &home,
        &["exec", "--env", "groq", "--", "sh", "-c", "echo printed"],
        "",
        Reader::Closed,
    );
    assert_eq!((code, err.as_str()), (Some(128 + 13), ""));
}
