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
    /// Wait until this text is shown on the emulated screen, then record
    /// the screen ([`run_at_terminal_screens`] only).
    Screen(&'a str),
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
    drive(home, command, steps, timeout_s, None)
}

/// As [`run_at_terminal`], with the terminal emulated as well (pyte, 120 x
/// 50): also returns the screens recorded by [`Step::Screen`] steps, each
/// as its lines, as a person would have seen them after every escape
/// sequence, carriage return and backspace did its work.
pub fn run_at_terminal_screens(
    home: &Home,
    args: &[&str],
    steps: &[Step],
    timeout_s: u32,
) -> (Output, Vec<Vec<String>>) {
    let mut command = vec![authhost_bin()];
    command.extend_from_slice(args);
    let file = home.path().join("screens.json");
    let out = drive(home, &command, steps, timeout_s, Some(&file));
    let screens = std::fs::read(&file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    (out, screens)
}

/// As [`run_at_terminal_screens`], for any command (`authhost` is
/// [`authhost_bin`]; `env TERM=xterm authhost ...` for a terminal that can
/// move the cursor).
pub fn run_command_at_terminal_screens(
    home: &Home,
    command: &[&str],
    steps: &[Step],
    timeout_s: u32,
) -> (Output, Vec<Vec<String>>) {
    let file = home.path().join("screens.json");
    let out = drive(home, command, steps, timeout_s, Some(&file));
    let screens = std::fs::read(&file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    (out, screens)
}

/// The Python that runs the driver: the test environment's (with pyte) when
/// `tests/run.sh` made it, else the system's.
fn python() -> std::path::PathBuf {
    let venv = workspace_root().join("target/pty-venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

fn drive(
    home: &Home,
    command: &[&str],
    steps: &[Step],
    timeout_s: u32,
    screens: Option<&std::path::Path>,
) -> Output {
    let script: Vec<serde_json::Value> = steps
        .iter()
        .map(|step| match step {
            Step::Expect(text) => serde_json::json!(["expect", text]),
            Step::Send(text) => serde_json::json!(["send", text]),
            Step::SendFile(path) => serde_json::json!(["send_file", path.display().to_string()]),
            Step::Screen(text) => serde_json::json!(["screen", text]),
        })
        .collect();
    let mut driver = Command::new(python());
    driver
        .arg(workspace_root().join("tests/pty/drive.py"))
        .args(["--timeout", &timeout_s.to_string()]);
    if let Some(file) = screens {
        driver.arg("--screens").arg(file);
    }
    driver
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
