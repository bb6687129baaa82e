//! Running a program on behalf of a plugin (the `process` capability).
//!
//! The program runs in its own process group with an empty stdin; its stdout
//! and stderr are collected up to a cap; at the timeout the whole group is
//! killed, so a grandchild that holds stdout open cannot keep the caller
//! waiting.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

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

/// After the program exits, how long to keep reading output that a
/// background child may still be writing.
const DRAIN_GRACE: Duration = Duration::from_millis(150);
/// After killing the group, how long to wait for the pipes to close.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// Runs `spec` to completion.
pub async fn run(spec: RunSpec) -> Result<RunOutput, RunError> {
    let program = match &spec.command {
        Command::Shell(_) => shell_name().to_owned(),
        Command::Argv(argv) => argv.first().cloned().ok_or(RunError::Empty)?,
    };
    let mut cmd = command(&spec.command);
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|source| RunError::Spawn { program, source })?;
    // Kills the group when this function returns, however it returns.
    let group = ProcessGroup(child.id());

    let mut stdout = Pipe::start(child.stdout.take().expect("stdout is piped"), spec.max_output);
    let mut stderr = Pipe::start(child.stderr.take().expect("stderr is piped"), spec.max_output);
    let deadline = tokio::time::Instant::now() + spec.timeout;

    let status = tokio::select! {
        status = child.wait() => status.map_err(|source| RunError::Spawn { program: "the command".into(), source })?,
        () = tokio::time::sleep_until(deadline) => {
            group.kill();
            return Err(RunError::Timeout(spec.timeout));
        }
        () = stdout.overflowed() => return Err(RunError::OutputTooLarge { limit: spec.max_output }),
        () = stderr.overflowed() => return Err(RunError::OutputTooLarge { limit: spec.max_output }),
    };

    // The program has exited, but a background child may still hold the
    // pipes: read what comes within a short grace, then kill the group so
    // the pipes close.
    let grace = (tokio::time::Instant::now() + DRAIN_GRACE).min(deadline);
    if !stdout.closed_by(grace).await || !stderr.closed_by(grace).await {
        group.kill();
        let close = tokio::time::Instant::now() + CLOSE_GRACE;
        stdout.closed_by(close).await;
        stderr.closed_by(close).await;
    }
    let (stdout, stderr) = (stdout.finish(), stderr.finish());
    match (stdout, stderr) {
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

#[cfg(unix)]
fn shell_name() -> &'static str {
    "sh"
}

#[cfg(windows)]
fn shell_name() -> &'static str {
    "cmd"
}

fn command(command: &Command) -> tokio::process::Command {
    match command {
        #[cfg(unix)]
        Command::Shell(line) => {
            let mut cmd = tokio::process::Command::new("/bin/sh");
            cmd.arg("-c").arg(line);
            cmd
        }
        #[cfg(windows)]
        Command::Shell(line) => {
            let mut cmd = tokio::process::Command::new("cmd.exe");
            cmd.args(["/d", "/s", "/c"]).raw_arg(line);
            cmd
        }
        Command::Argv(argv) => {
            let mut cmd = tokio::process::Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            cmd
        }
    }
}

/// The process group of a child started with `process_group(0)`; killed on
/// drop so nothing it started outlives the call.
struct ProcessGroup(Option<u32>);

#[cfg(windows)]
impl ProcessGroup {
    fn kill(&self) {
        // Windows has no process groups here; `kill_on_drop` ends the child.
    }
}

#[cfg(unix)]
impl ProcessGroup {
    fn kill(&self) {
        if let Some(pid) = self.0.and_then(|pid| rustix::process::Pid::from_raw(pid as i32)) {
            // ESRCH (the group is gone already) is fine.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
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
    async fn closed_by(&mut self, deadline: tokio::time::Instant) -> bool {
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
    fn finish(self) -> Option<Vec<u8>> {
        if let Some(task) = &self.task {
            task.abort();
        }
        if self.overflowed.load(Ordering::SeqCst) {
            return None;
        }
        Some(std::mem::take(&mut *self.buffer.lock().unwrap_or_else(|e| e.into_inner())))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::Instant;

    fn spec(command: Command, timeout_ms: u64) -> RunSpec {
        RunSpec {
            command,
            env: vec![("AUTHHOST_TEST_VAR".into(), "from env".into())],
            timeout: Duration::from_millis(timeout_ms),
            max_output: 1 << 20,
        }
    }

    fn shell(line: &str) -> Command {
        Command::Shell(line.into())
    }

    #[tokio::test]
    async fn captures_exit_code_output_and_env() {
        let out = run(spec(shell("printf 'out'; printf \"$AUTHHOST_TEST_VAR\" >&2; exit 3"), 5000))
            .await
            .unwrap();
        assert_eq!(out.exit_code, Some(3));
        assert_eq!(out.stdout, b"out");
        assert_eq!(out.stderr, b"from env");
    }

    #[tokio::test]
    async fn argv_arrives_intact() {
        let arg = r#"it's "quoted" $HOME; `x`"#;
        let argv = vec!["printf".into(), "%s".into(), arg.into()];
        let out = run(spec(Command::Argv(argv), 5000)).await.unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), arg);
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let marker = "61.4242";
        let started = Instant::now();
        let err = run(spec(shell(&format!("sleep {marker} & sleep {marker}")), 300))
            .await
            .unwrap_err();
        assert!(matches!(err, RunError::Timeout(_)), "{err}");
        assert!(started.elapsed() < Duration::from_millis(1300), "{:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let survivors = std::process::Command::new("pgrep").args(["-f", &format!("sleep {marker}")]).output().unwrap();
        assert!(survivors.stdout.is_empty(), "survivors: {}", String::from_utf8_lossy(&survivors.stdout));
    }

    #[tokio::test]
    async fn a_background_child_holding_stdout_does_not_block() {
        let marker = "62.4242";
        let started = Instant::now();
        let out = run(spec(shell(&format!("echo key; sleep {marker} &")), 10_000)).await.unwrap();
        assert_eq!(out.stdout, b"key\n");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let survivors = std::process::Command::new("pgrep").args(["-f", &format!("sleep {marker}")]).output().unwrap();
        assert!(survivors.stdout.is_empty());
    }

    #[tokio::test]
    async fn output_over_the_cap_fails() {
        let mut s = spec(shell("yes"), 10_000);
        s.max_output = 4096;
        let started = Instant::now();
        let err = run(s).await.unwrap_err();
        assert!(matches!(err, RunError::OutputTooLarge { limit: 4096 }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn missing_programs_and_empty_argv_are_errors() {
        let err = run(spec(Command::Argv(vec!["/nonexistent/prog".into()]), 1000)).await.unwrap_err();
        assert!(matches!(err, RunError::Spawn { .. }), "{err}");
        let err = run(spec(Command::Argv(vec![]), 1000)).await.unwrap_err();
        assert!(matches!(err, RunError::Empty));
    }
}
