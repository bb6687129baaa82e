//! `authhost exec`: runs a command with providers' keys in its environment.
//!
//! The keys are obtained first, all of them (a provider that fails stops
//! everything before the command starts), then the command runs directly
//! (no shell) with the keys added to its environment only: nothing is
//! written to a file. Its standard streams are authhost's, its exit code
//! becomes authhost's (128 + N when signal N ended it), and SIGINT and
//! SIGTERM sent to authhost are passed on to it. On Windows the console
//! gives Ctrl-C and Ctrl-Break to the command itself; authhost waits for
//! it and reports its exit code (1 for a code above 255).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{Context, bail};
use authhost::{Host, TokenOptions};

use super::{EXIT_USAGE, Io};

/// `authhost exec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A variable to set: `NAME=PROVIDER`, or `PROVIDER` for the
    /// provider's own variable (its `env` in config.toml, else the
    /// catalog's, e.g. ANTHROPIC_API_KEY). Repeatable.
    #[arg(long = "env", value_name = "[NAME=]PROVIDER", add = super::completions::env_provider())]
    env: Vec<String>,
    /// Every provider with a stored key or a configured helper, in its
    /// own variable.
    #[arg(long)]
    all: bool,
    /// The command and its arguments (run directly, without a shell).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// Exit code when the command cannot be found (as shells use it).
const EXIT_NOT_FOUND: u8 = 127;
/// Exit code when the command cannot be run (as shells use it).
const EXIT_CANNOT_RUN: u8 = 126;

/// Gets the keys, then runs the command; its exit code is authhost's.
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let Some((program, program_args)) = args.command.split_first() else {
        bail!("no command given: `authhost exec --env PROVIDER -- COMMAND ARGS...`");
    };
    let wanted = match variables(host, &args.env, args.all).await {
        Ok(wanted) => wanted,
        Err(Usage(message)) => {
            errln!(io, "error: {message}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let mut keys = Vec::with_capacity(wanted.len());
    for (name, provider) in &wanted {
        let token = host
            .token(provider, TokenOptions::default())
            .await
            .with_context(|| {
                format!("cannot get the key of `{provider}` for ${name}; the command was not run")
            })?;
        tracing::debug!(provider, "exec: ${name} is set");
        keys.push((name.clone(), token.expose_secret().to_owned()));
    }
    let mut child = tokio::process::Command::new(program);
    child.args(program_args).envs(keys);
    run_child(io, child, program).await
}

/// A usage error of `exec`, in words.
struct Usage(String);

/// The variables to set, by name, with the provider whose key goes in each.
async fn variables(
    host: &Host,
    specs: &[String],
    all: bool,
) -> Result<BTreeMap<String, String>, Usage> {
    let mut wanted = BTreeMap::new();
    if all {
        let providers = host
            .list()
            .await
            .map_err(|e| Usage(format!("cannot list the providers: {e}")))?;
        for p in providers {
            let has_key = p.credential.is_some()
                || p.from_env.is_some()
                || (p.helper && p.configured && p.error.is_none());
            if let (true, Some(name)) = (has_key, p.env) {
                wanted.insert(name, p.provider);
            }
        }
    }
    let mut explicit = BTreeMap::new();
    for spec in specs {
        // An unknown name is a typo first: never advise configuring it.
        let named = spec.split_once('=').map_or(spec.as_str(), |(_, p)| p);
        if !named.is_empty()
            && let Err(error) = host.known_provider(named).await
        {
            let hint = super::hint::hint(&error).map_or(String::new(), |h| format!("\nhint: {h}"));
            return Err(Usage(format!("{error}{hint}")));
        }
        let (name, provider) = match spec.split_once('=') {
            Some((name, provider)) => (name.to_owned(), provider.to_owned()),
            None => match host.env_var(spec) {
                Some(name) => (name, spec.clone()),
                None => {
                    return Err(Usage(format!(
                        "provider `{spec}` has no environment variable of its own: use `--env NAME={spec}` (or set `env` in its [providers.{spec}] table)"
                    )));
                }
            },
        };
        if name.is_empty() || name.contains('\0') || provider.is_empty() {
            return Err(Usage(format!(
                "`--env {spec}`: expected NAME=PROVIDER or PROVIDER"
            )));
        }
        if let Some(other) = explicit.insert(name.clone(), provider.clone())
            && other != provider
        {
            return Err(Usage(format!(
                "${name} is given twice, for `{other}` and for `{provider}`"
            )));
        }
    }
    wanted.extend(explicit);
    if wanted.is_empty() && !all {
        return Err(Usage(
            "name the providers whose keys the command gets: `--env PROVIDER`, `--env NAME=PROVIDER` or `--all`".into(),
        ));
    }
    Ok(wanted)
}

/// Starts `command`, passes signals on to it, and returns its exit code.
async fn run_child(
    io: &Io,
    mut command: tokio::process::Command,
    program: &OsString,
) -> anyhow::Result<ExitCode> {
    let shown = program.to_string_lossy();
    // The handlers are in place before the child starts, so that no signal
    // in between ends authhost and leaves the child behind.
    #[cfg(unix)]
    let mut signals = Signals::new()?;
    // On Windows Ctrl-C and Ctrl-Break reach every process on the console,
    // the child included: authhost outlives them and reports the child's
    // exit code, as a shell would.
    #[cfg(windows)]
    let mut console = ConsoleInterrupts::new()?;
    let mut child = match command.kill_on_drop(false).spawn() {
        Ok(child) => child,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                EXIT_NOT_FOUND
            } else {
                EXIT_CANNOT_RUN
            };
            errln!(io, "error: cannot run `{shown}`: {e}");
            return Ok(ExitCode::from(code));
        }
    };
    #[cfg(unix)]
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            signal = signals.next() => {
                if let Some(pid) = child.id().and_then(|id| rustix::process::Pid::from_raw(id as i32)) {
                    let _ = rustix::process::kill_process(pid, signal);
                }
            }
        }
    };
    #[cfg(windows)]
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            () = console.next() => {}
        }
    };
    #[cfg(not(any(unix, windows)))]
    let status = child.wait().await;
    let status = status.with_context(|| format!("cannot wait for `{shown}`"))?;
    Ok(ExitCode::from(exit_code(status)))
}

/// The exit code that reports `status` to authhost's caller: the command's
/// own, or 128 + N when signal N ended it (as shells report it).
fn exit_code(status: std::process::ExitStatus) -> u8 {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return 128u8.saturating_add(signal as u8);
    }
    // Windows exit codes are 32 bits (0xC000013A after Ctrl-C): one that
    // does not fit is reported as 1, never as a success.
    status
        .code()
        .map_or(1, |code| u8::try_from(code).unwrap_or(1))
}

/// Ctrl-C and Ctrl-Break, caught so that they do not end authhost before
/// the child.
#[cfg(windows)]
struct ConsoleInterrupts {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
}

#[cfg(windows)]
impl ConsoleInterrupts {
    fn new() -> anyhow::Result<ConsoleInterrupts> {
        Ok(ConsoleInterrupts {
            ctrl_c: tokio::signal::windows::ctrl_c().context("cannot handle Ctrl-C")?,
            ctrl_break: tokio::signal::windows::ctrl_break().context("cannot handle Ctrl-Break")?,
        })
    }

    /// The next interrupt (the child got it too).
    async fn next(&mut self) {
        tokio::select! {
            Some(()) = self.ctrl_c.recv() => {}
            Some(()) = self.ctrl_break.recv() => {}
            else => std::future::pending::<()>().await,
        }
    }
}

/// SIGINT and SIGTERM, caught for the child's sake.
#[cfg(unix)]
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            term: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        })
    }

    /// The next signal to pass on. A SIGINT is not passed on when authhost
    /// is in its terminal's foreground: Ctrl-C sends it to the whole
    /// foreground process group, the child included, and a program that
    /// counts presses (press Ctrl-C again to quit) must get it once.
    async fn next(&mut self) -> rustix::process::Signal {
        loop {
            tokio::select! {
                Some(()) = self.int.recv() => {
                    if !in_terminal_foreground() {
                        return rustix::process::Signal::INT;
                    }
                }
                Some(()) = self.term.recv() => return rustix::process::Signal::TERM,
                // No more signals can come (the runtime is shutting down).
                else => std::future::pending::<()>().await,
            }
        }
    }
}

/// Whether authhost's process group is the foreground group of the terminal
/// on one of its standard streams.
#[cfg(unix)]
fn in_terminal_foreground() -> bool {
    use std::os::fd::AsFd;
    let group = rustix::process::getpgrp();
    let foreground = |fd: std::os::fd::BorrowedFd<'_>| {
        rustix::termios::tcgetpgrp(fd).is_ok_and(|pgrp| pgrp == group)
    };
    foreground(std::io::stdin().as_fd())
        || foreground(std::io::stdout().as_fd())
        || foreground(std::io::stderr().as_fd())
}
