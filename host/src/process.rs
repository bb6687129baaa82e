//! Running a program on behalf of a plugin (the `process` capability).
//!
//! The program runs in its own process group (a Job Object on Windows,
//! [`group`]) with an empty stdin; its stdout and stderr are collected up to
//! a cap. The whole group is killed at the timeout, on overflow, when the
//! call is dropped, and a moment after the program exits, so a grandchild
//! that holds stdout open can neither keep the caller waiting nor outlive the
//! call. On Linux and macOS, processes that left the group (`setsid`
//! daemons, double forks) are found by a random tag in their environment and
//! killed too ([`tag`]); on Windows nothing leaves the job. Shell lines run
//! through `/bin/sh -c`, or `cmd.exe /d /s /c` on Windows ([`shell`]).
//!
//! What a plugin asks for is hostile input: the program is a name looked up
//! on the user's `PATH` or an absolute path ([`program`]), and the
//! environment variables it may add are limited to a namespace no shell,
//! loader or interpreter reads ([`environment`]).

mod environment;
mod group;
mod program;
mod shell;
mod tag;

pub use program::resolve_program;

use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use group::ProcessGroup;
use tag::RunTag;

/// What to run.
#[derive(Clone, PartialEq, Eq)]
pub enum Command {
    /// A command line for the platform shell (`/bin/sh -c` on Unix,
    /// `cmd.exe /d /s /c` on Windows).
    Shell(String),
    /// A program and its arguments, run without a shell. The program is a
    /// name looked up on the user's `PATH` (never the working directory) or
    /// an absolute path.
    Argv(Vec<String>),
}

impl Command {
    /// The program as a `process:NAME` grant names it: `sh` (`cmd` on
    /// Windows) for a shell line, `argv[0]` exactly as given otherwise (a
    /// name, or a path that only an identical absolute grant or `process`
    /// allows).
    pub fn program(&self) -> &str {
        match self {
            Command::Shell(_) => SHELL_NAME,
            Command::Argv(argv) => argv.first().map_or("", String::as_str),
        }
    }
}

/// A request to run a program to completion.
pub struct RunSpec {
    /// What to run.
    pub command: Command,
    /// Extra environment variables, on top of the inherited environment.
    /// Only names `AUTHHOST_*` that authhost does not read itself are
    /// accepted (see [`run`]).
    pub env: Vec<(String, String)>,
    /// Kill the process group after this long.
    pub timeout: Duration,
    /// Fail when stdout or stderr grows beyond this many bytes.
    pub max_output: usize,
}

/// How a program ended. `Debug` shows the output's sizes, not its bytes,
/// which may be secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// The exit code; `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

impl std::fmt::Debug for RunOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOutput")
            .field("exit_code", &self.exit_code)
            .field("stdout", &format_args!("<{} bytes>", self.stdout.len()))
            .field("stderr", &format_args!("<{} bytes>", self.stderr.len()))
            .finish()
    }
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
    /// The program name is not on the user's `PATH`.
    #[error("`{program}` was not found on PATH (empty and relative entries are skipped)")]
    NotFound {
        /// The name, as asked for (control characters escaped).
        program: String,
    },
    /// `argv[0]` is a relative path.
    #[error(
        "`{program}` is a relative path: give a program name (looked up on PATH) or an absolute path"
    )]
    RelativePath {
        /// The path, as asked for (control characters escaped).
        program: String,
    },
    /// An environment variable a plugin may not set.
    #[error(
        "the environment variable `{name}` was refused: a plugin may set only AUTHHOST_* \
         variables (A-Z, 0-9, _) that authhost does not read itself"
    )]
    EnvRefused {
        /// The variable's name (control characters escaped).
        name: String,
    },
    /// An environment variable with a bad value, or too many variables.
    #[error("the environment variable `{name}` was refused: {reason}")]
    EnvInvalid {
        /// The variable's name (control characters escaped).
        name: String,
        /// Why (never the value).
        reason: String,
    },
}

/// After the program exits, how long to keep reading output that a
/// background child may still be writing.
const DRAIN_GRACE: Duration = Duration::from_millis(150);
/// After killing the group, how long to wait for the pipes to close. Only a
/// process that left the group (a daemon that called `setsid`) can hold them
/// longer, and what it writes is not waited for.
const CLOSE_GRACE: Duration = Duration::from_millis(50);
/// After killing the group at a timeout, how long to wait to reap the
/// program. SIGKILL ends it at once unless it is stuck in the kernel; then
/// `kill_on_drop` and tokio's orphan reaper take over.
const REAP_GRACE: Duration = Duration::from_millis(100);

/// Runs `spec` to completion.
///
/// `spec.env` is checked first: a variable outside the allowed namespace is
/// refused with [`RunError::EnvRefused`] naming it, and nothing runs. An
/// `argv[0]` that is a bare name runs the program of that name on the
/// user's `PATH` ([`resolve_program`]), never one in the working directory
/// or on a `PATH` the caller supplies; a relative path is refused.
///
/// The program starts in a new process group (a Job Object on Windows) with
/// stdin empty and the environment inherited plus `spec.env` plus a random
/// run tag. When it exits, output still being written by background children
/// is read for a short grace, then the rest of the group is killed, so the
/// call never waits on a grandchild. Then, on Linux and macOS, every process
/// still carrying the run's tag (a daemon that called `setsid`, a double
/// fork) is killed; on Windows whatever is left in the job is killed.
///
/// At `spec.timeout`, or when stdout or stderr exceeds `spec.max_output`, the
/// whole group and every tagged process are killed and an error returned at
/// once. Dropping the future kills them too.
///
/// On Linux the group is only signalled while its leader is unreaped, so its
/// id cannot have been reused by an unrelated process, and tagged processes
/// are signalled through pidfds. On macOS the leader is reaped on exit and
/// the group is killed afterwards only when something still holds its
/// output pipes; the tag finds the rest.
pub async fn run(spec: RunSpec) -> Result<RunOutput, RunError> {
    environment::check(&spec.env)?;
    // Declared before the group, so dropped after it: however the call ends,
    // the tagged processes are swept last.
    let mut tag = RunTag::new();
    let (mut child, program) = spawn(&spec.command, &spec.env, &tag)?;
    tag.started(child.id());
    let mut group = ProcessGroup::of(&child).map_err(|source| RunError::Spawn {
        program: program.clone(),
        source,
    })?;
    let exit_watch = ExitWatch::new(&child);
    let mut stdout = Pipe::start(
        child.stdout.take().expect("stdout is piped"),
        spec.max_output,
    );
    let mut stderr = Pipe::start(
        child.stderr.take().expect("stderr is piped"),
        spec.max_output,
    );
    let deadline = deadline_after(spec.timeout);

    let ended = tokio::select! {
        exit = exit_watch.wait(&mut child) => Ended::Exited(exit),
        () = tokio::time::sleep_until(deadline) => Ended::Failed(RunError::Timeout(spec.timeout)),
        () = stdout.overflowed() => Ended::Failed(RunError::OutputTooLarge { limit: spec.max_output }),
        () = stderr.overflowed() => Ended::Failed(RunError::OutputTooLarge { limit: spec.max_output }),
    };
    let wait_failed = |source| RunError::Spawn {
        program: program.clone(),
        source,
    };
    let exit = match ended {
        Ended::Exited(exit) => exit.map_err(wait_failed)?,
        Ended::Failed(error) => {
            stop(&mut child, &mut group).await;
            tag.sweep_in_background().await;
            return Err(error);
        }
    };

    // The program has exited, but a background child may still hold the
    // pipes: read what comes within a short grace, then kill the group.
    let grace = (Instant::now() + DRAIN_GRACE).min(deadline);
    let drained = stdout.closed_by(grace).await & stderr.closed_by(grace).await;
    let status = match exit {
        Exit::Unreaped => {
            // The leader is a zombie, so the group id is still ours.
            group.kill();
            child.wait().await.map_err(wait_failed)?
        }
        Exit::Reaped(status) => {
            if !drained {
                group.kill();
            }
            status
        }
    };
    group.disarm();
    // Processes that left the group: daemons, double forks.
    tag.sweep_in_background().await;
    if !drained {
        let close = Instant::now() + CLOSE_GRACE;
        stdout.closed_by(close).await;
        stderr.closed_by(close).await;
    }

    match (stdout.finish(), stderr.finish()) {
        (Some(stdout), Some(stderr)) => Ok(RunOutput {
            exit_code: status.code(),
            stdout,
            stderr,
        }),
        _ => Err(RunError::OutputTooLarge {
            limit: spec.max_output,
        }),
    }
}

/// How the wait for the program ended.
enum Ended {
    /// It exited (or waiting for it failed).
    Exited(std::io::Result<Exit>),
    /// The timeout passed or the output overflowed.
    Failed(RunError),
}

/// `timeout` from now; a timeout too large to represent never passes (in
/// practice).
fn deadline_after(timeout: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + CENTURY)
}

/// Starts the program with piped stdout and stderr and the run's tag in its
/// environment; also returns its name for errors.
fn spawn(
    command: &Command,
    env: &[(String, String)],
    tag: &RunTag,
) -> Result<(Child, String), RunError> {
    let program = match command {
        Command::Shell(_) => SHELL_NAME.to_owned(),
        Command::Argv(argv) => match argv.first() {
            Some(program) if !program.is_empty() => environment::shown(program),
            _ => return Err(RunError::Empty),
        },
    };
    let mut cmd = build(command)?;
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .env(tag::TAG_NAME, tag.value())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    group::prepare(&mut cmd);
    match cmd.spawn() {
        Ok(child) => Ok((child, program)),
        Err(source) => Err(RunError::Spawn { program, source }),
    }
}

/// Kills the group and reaps the leader, briefly.
async fn stop(child: &mut Child, group: &mut ProcessGroup) {
    group.kill();
    if let Ok(Ok(_)) = tokio::time::timeout(REAP_GRACE, child.wait()).await {
        // Reaped: the group id may be reused from now on.
        group.disarm();
    }
}

/// The name `Command::Shell` reports in errors.
const SHELL_NAME: &str = shell::NAME;

/// The platform command for `command` (which is not an empty argv). A
/// program name is resolved on the user's `PATH` here, so the command runs
/// an absolute path; the program still sees the name as its `argv[0]`.
fn build(command: &Command) -> Result<tokio::process::Command, RunError> {
    Ok(match command {
        Command::Shell(line) => shell::command(line),
        Command::Argv(argv) => {
            let file = program::locate(&argv[0])?;
            let mut cmd = tokio::process::Command::new(file);
            #[cfg(unix)]
            cmd.arg0(&argv[0]);
            cmd.args(&argv[1..]);
            cmd
        }
    })
}

/// How the program's exit was observed.
enum Exit {
    /// It exited but is not reaped yet (a zombie): its pid, and so its
    /// group's id, cannot be reused until `Child::wait`.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Unreaped,
    /// It exited and was reaped.
    Reaped(ExitStatus),
}

/// Waits for the program to exit.
enum ExitWatch {
    /// A pidfd, readable once the process exits; it does not reap.
    #[cfg(target_os = "linux")]
    Pidfd(tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>),
    /// `Child::wait`, which reaps (other platforms, or no pidfd support).
    Reap,
}

impl ExitWatch {
    fn new(child: &Child) -> ExitWatch {
        #[cfg(target_os = "linux")]
        {
            use rustix::process::{Pid, PidfdFlags, pidfd_open};
            let pid = child
                .id()
                .and_then(|id| Pid::from_raw(i32::try_from(id).ok()?));
            let pidfd = pid.and_then(|pid| pidfd_open(pid, PidfdFlags::NONBLOCK).ok());
            let watched = pidfd.and_then(|fd| {
                // SAFETY: the `OwnedFd` is open, owned by the `AsyncFd` for
                // its whole life, and always returns the same descriptor.
                unsafe {
                    tokio::io::unix::AsyncFd::register_with_interest(
                        fd,
                        tokio::io::Interest::READABLE,
                    )
                }
                .ok()
            });
            if let Some(fd) = watched {
                return ExitWatch::Pidfd(fd);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = child;
        ExitWatch::Reap
    }

    async fn wait(&self, child: &mut Child) -> std::io::Result<Exit> {
        match self {
            #[cfg(target_os = "linux")]
            ExitWatch::Pidfd(fd) => {
                fd.readable().await?.retain_ready();
                Ok(Exit::Unreaped)
            }
            ExitWatch::Reap => child.wait().await.map(Exit::Reaped),
        }
    }
}

/// One output pipe, read by a task into a buffer of at most `cap` bytes.
struct Pipe {
    buffer: Arc<Mutex<Vec<u8>>>,
    overflowed: Arc<AtomicBool>,
    overflow: Arc<Notify>,
    task: Option<JoinHandle<()>>,
}

impl Pipe {
    fn start(mut reader: impl AsyncRead + Unpin + Send + 'static, cap: usize) -> Pipe {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let overflowed = Arc::new(AtomicBool::new(false));
        let overflow = Arc::new(Notify::new());
        let (buf, flag, notify) = (buffer.clone(), overflowed.clone(), overflow.clone());
        let task = tokio::spawn(async move {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = reader.read(&mut chunk).await {
                let mut buf = buf.lock().unwrap_or_else(|e| e.into_inner());
                if buf.len() + n > cap {
                    flag.store(true, Ordering::SeqCst);
                    notify.notify_one();
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        });
        Pipe {
            buffer,
            overflowed,
            overflow,
            task: Some(task),
        }
    }

    /// Resolves when the output exceeds its cap.
    async fn overflowed(&self) {
        self.overflow.notified().await;
    }

    /// Whether the pipe reached its end (or overflowed) by `deadline`.
    async fn closed_by(&mut self, deadline: Instant) -> bool {
        let Some(task) = &mut self.task else {
            return true;
        };
        if tokio::time::timeout_at(deadline, task).await.is_ok() {
            self.task = None;
            return true;
        }
        false
    }

    /// The output, or `None` when it exceeded the cap.
    fn finish(mut self) -> Option<Vec<u8>> {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if self.overflowed.load(Ordering::SeqCst) {
            return None;
        }
        Some(std::mem::take(
            &mut *self.buffer.lock().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

impl Drop for Pipe {
    /// Stops reading: a pipe held open by an escaped daemon must not keep a
    /// task (and the descriptor) alive.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(all(test, unix))]
mod tests;
