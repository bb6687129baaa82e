//! Running a program on behalf of a plugin (the `process` capability).
//!
//! The program runs in its own process group with an empty stdin; its stdout
//! and stderr are collected up to a cap; at the timeout the whole group is
//! killed, so a grandchild that holds stdout open cannot keep the caller
//! waiting.

use std::time::Duration;

/// What to run.
#[derive(Clone, PartialEq, Eq)]
pub enum Command {
    /// A command line for the platform shell (`/bin/sh -c` on Unix,
    /// `cmd.exe /d /s /c` on Windows).
    Shell(String),
    /// A program and its arguments, run without a shell.
    Argv(Vec<String>),
}

/// A request to run a program to completion.
pub struct RunSpec {
    /// What to run.
    pub command: Command,
    /// Extra environment variables, on top of the inherited environment.
    pub env: Vec<(String, String)>,
    /// Kill the process group after this long.
    pub timeout: Duration,
    /// Fail when stdout or stderr grows beyond this many bytes.
    pub max_output: usize,
}

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// The exit code; `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

/// Why a program could not be run to completion. Never contains the command
/// line or its output, which may be secret.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The timeout passed; the process group was killed.
    #[error("the command did not finish within {} ms and was killed", .0.as_millis())]
    Timeout(Duration),
    /// stdout or stderr exceeded the cap; the process group was killed.
    #[error("the command wrote more than {limit} bytes")]
    OutputTooLarge {
        /// The cap that was exceeded.
        limit: usize,
    },
    /// The program could not be started.
    #[error("could not start `{program}`")]
    Spawn {
        /// The program's name (argv[0] or the shell).
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An empty argv.
    #[error("no program to run (empty command)")]
    Empty,
}

/// Runs `spec` to completion.
pub async fn run(spec: RunSpec) -> Result<RunOutput, RunError> {
    let _ = spec;
    todo!("process::run")
}
