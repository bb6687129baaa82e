//! Running `authhost` at a real pseudo-terminal (`tests/pty/drive.py`), as
//! a person at a keyboard would: stdin, stdout and stderr are the terminal,
//! and a prompt that opens `/dev/tty` gets it too.

use std::process::{Command, Output};

use super::{Home, authhost_bin, workspace_root};

/// One step of a terminal session.
pub enum Step<'a> {
    /// Wait until this text has appeared on the terminal.
    Expect(&'a str),
    /// Type this (`"\n"` is Enter, `"\u{3}"` is Ctrl-C).
    Send(&'a str),
    /// Wait until this file exists and is not empty, then type its
    /// contents and Enter (text another thread of the test makes).
    SendFile(&'a std::path::Path),
}

/// Runs `authhost ARGS` in `home` at a pseudo-terminal, playing `steps`;
/// everything the terminal showed is the output's stdout. A step or the
/// command that takes longer than `timeout_s` is killed (exit code 124).
pub fn run_at_terminal(home: &Home, args: &[&str], steps: &[Step], timeout_s: u32) -> Output {
    let mut command = vec![authhost_bin()];
    command.extend_from_slice(args);
    run_command_at_terminal(home, &command, steps, timeout_s)
}

/// As [`run_at_terminal`], for any command (`authhost` is
/// [`authhost_bin`]).
pub fn run_command_at_terminal(
    home: &Home,
    command: &[&str],
    steps: &[Step],
    timeout_s: u32,
) -> Output {
    let script: Vec<serde_json::Value> = steps
        .iter()
        .map(|step| match step {
            Step::Expect(text) => serde_json::json!(["expect", text]),
            Step::Send(text) => serde_json::json!(["send", text]),
            Step::SendFile(path) => serde_json::json!(["send_file", path.display().to_string()]),
        })
        .collect();
    Command::new("python3")
        .arg(workspace_root().join("tests/pty/drive.py"))
        .args(["--timeout", &timeout_s.to_string()])
        .args(["--script", &serde_json::Value::Array(script).to_string()])
        .arg("--")
        .args(command)
        .env("AUTHHOST_HOME", home.path())
        .env("TERM", "dumb")
        .env_remove("RUST_LOG")
        .env_remove("BROWSER")
        .env_remove("AUTHHOST_LOG")
        .output()
        .expect("python3 runs tests/pty/drive.py")
}
