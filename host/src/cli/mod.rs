//! Command-line parsing and output. All work is done by [`authhost::Host`].
//!
//! This module parses argv ([`args`]), sets up logging, hands each command
//! to its module's `run` with the [`Io`] that `main` built, and turns the
//! outcome into text on stderr and an exit code.

// First: its macros are used by the modules below.
#[macro_use]
mod streams;

mod args;
mod completions;
mod exec;
mod git_credential;
mod hint;
mod list;
mod login;
mod logout;
mod paths;
mod plugins;
mod status;
mod store;
mod table;
mod token;

use std::io::Write;
use std::process::ExitCode;

use authhost::{Host, HostOptions};

use args::{Cli, Command};
pub use streams::Io;

/// Exit code: a usage error (as clap uses it).
const EXIT_USAGE: u8 = 2;
/// Exit code: the user must log in (as `gh` uses it).
const EXIT_LOGIN_NEEDED: u8 = 4;
/// Exit code: cancelled.
const EXIT_CANCELLED: u8 = 130;

/// Runs the CLI over `io` and returns its exit code.
pub fn main(io: &Io) -> ExitCode {
    completions::answer_the_shell();
    let cli = parse();
    init_logging(cli.verbose, io);
    let command = match cli.command {
        Command::Completions(args) => return outcome(io, completions::run(io, &args)),
        Command::Man => return outcome(io, completions::man(io)),
        command => command,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return report(
                io,
                &anyhow::Error::new(e).context("cannot start the async runtime"),
            );
        }
    };
    outcome(io, runtime.block_on(run(io, command)))
}

/// Parses the command line. `login --help` also lists each provider's
/// login methods, which takes loading the plugins: only then.
fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let login_help = args.iter().any(|a| a == "login") && args.iter().any(|a| a == "--help");
    let mut command = Cli::command();
    if login_help && let Some(methods) = login::methods_help() {
        command = command.mut_subcommand("login", |login| login.after_long_help(methods));
    }
    let matches = command.get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn init_logging(verbose: u8, io: &Io) {
    // authhost's own lines only, up to -vv; the engine's (wasmtime,
    // cranelift, the HTTP client) at -vvv or through AUTHHOST_LOG.
    let default = match verbose {
        0 => "authhost=warn",
        1 => "authhost=debug",
        2 => "authhost=trace",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTHHOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only for a person at a terminal, and never with NO_COLOR.
    let colour =
        io.stderr_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(streams::log_writer)
        .with_target(false)
        .without_time()
        .init();
}

/// The exit code of a command's outcome, its error reported.
fn outcome(io: &Io, result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| report(io, &e))
}

/// Prints the error and its causes, one line each, and picks the exit code.
/// An error caused by a closed stdout is no error: the reader has gone, so
/// the command ends quietly with exit 0.
fn report(io: &Io, error: &anyhow::Error) -> ExitCode {
    let closed_pipe = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(streams::is_closed_pipe);
    if closed_pipe {
        return ExitCode::SUCCESS;
    }
    let mut text = format!("error: {error}\n");
    for cause in error.chain().skip(1) {
        text.push_str(&format!("  caused by: {cause}\n"));
    }
    let library_error = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<authhost::Error>());
    if let Some(hint) = library_error.and_then(hint::hint) {
        text.push_str(&format!("hint: {hint}\n"));
    }
    let _ = io.err().write_all(text.as_bytes());
    match error.downcast_ref::<authhost::Error>() {
        Some(authhost::Error::Cancelled) => ExitCode::from(EXIT_CANCELLED),
        Some(authhost::Error::UnknownProvider { .. } | authhost::Error::NotAProvider { .. }) => {
            ExitCode::from(EXIT_USAGE)
        }
        Some(e) if e.needs_login() => ExitCode::from(EXIT_LOGIN_NEEDED),
        _ => ExitCode::FAILURE,
    }
}

/// The files of the command line's host (it always opens one with files).
pub(crate) fn files(host: &Host) -> &authhost::Paths {
    host.paths()
        .expect("the command line opens its host with files")
}

/// Opens the host and runs a command that needs one.
async fn run(io: &Io, command: Command) -> anyhow::Result<ExitCode> {
    // A person at a terminal sees why a first run takes seconds.
    let mut options = HostOptions::from_env()?.compile_notices(io.stderr_is_terminal());
    if matches!(command, Command::GitCredential(_)) {
        options = options.interaction(std::sync::Arc::new(git_credential::interaction()));
    }
    let host = Host::open(options)?;
    let result = dispatch(io, &host, command).await;
    // The process ends next: tearing down the engine and the compiled
    // plugins would cost more than the rest of `authhost token`. Nothing in
    // the host is pending (the store writes are done and synced).
    std::mem::forget(host);
    result
}

/// Hands the command to its module.
async fn dispatch(io: &Io, host: &Host, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Login(args) => login::run(io, host, args).await,
        Command::Logout(args) => logout::run(io, host, &args).await,
        Command::List(args) => list::run(io, host, &args).await,
        Command::Status(args) => status::run(io, host, &args).await,
        Command::Token(args) => token::run(io, host, &args).await,
        Command::Exec(args) => exec::run(io, host, &args).await,
        Command::Plugins { command } => plugins::run(io, host, command).await,
        Command::Store { command } => store::run(io, host, &command).await,
        Command::GitCredential(args) => git_credential::run(io, host, &args).await,
        Command::Paths(args) => paths::run(io, host, &args),
        Command::Completions(_) | Command::Man => unreachable!("handled before the host opens"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind, Write};
    use std::process::ExitCode;

    use clap::Parser;

    use super::streams::Buffer;
    use super::{Cli, Command, Io, completions, outcome};

    /// A stdout whose every write fails with its kind of error.
    struct Failing(ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(Error::new(self.0, "the write failed"))
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Err(Error::new(self.0, "the flush failed"))
        }
    }

    /// Runs `authhost completions bash` with a stdout that fails with
    /// `kind`; returns the exit code and the text on stderr.
    fn completions_into(kind: ErrorKind) -> (ExitCode, String) {
        let err = Buffer::default();
        let io = Io::with_writers(Failing(kind), err.clone());
        let Command::Completions(args) =
            Cli::parse_from(["authhost", "completions", "bash"]).command
        else {
            unreachable!("parsed as another command")
        };
        (outcome(&io, completions::run(&io, &args)), err.text())
    }

    #[test]
    fn a_closed_stdout_ends_the_command_quietly_with_exit_0() {
        assert_eq!(
            completions_into(ErrorKind::BrokenPipe),
            (ExitCode::SUCCESS, String::new())
        );
    }

    #[test]
    fn another_failed_write_is_reported_with_exit_1() {
        assert_eq!(
            completions_into(ErrorKind::StorageFull),
            (
                ExitCode::FAILURE,
                "error: cannot write to stdout: the write failed\n".to_owned()
            )
        );
    }
}
