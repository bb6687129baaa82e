//! Writing to stdout and stderr without ever panicking.
//!
//! Rust ignores `SIGPIPE`, so a write to a pipe whose reader has gone
//! (`authhost paths | head -1`) fails with `BrokenPipe`, and `println!`
//! turns that into a panic (exit 101 and a backtrace). Every line the CLI
//! prints goes through the macros here instead:
//!
//! - [`outln!`] writes to stdout. A closed stdout is a normal end
//!   for a command-line tool (ripgrep and gh treat it so): nobody reads
//!   what comes next, so authhost ends at once, quietly, with exit 0.
//!   Any other write error ends it with a message and exit 1.
//! - [`errln!`] / [`err!`] write messages to stderr. A message nobody can
//!   read is dropped and the command goes on: a closed stderr must not cost
//!   the key `authhost token` prints on stdout.

use std::fmt;
use std::io::Write;

/// `println!` to stdout, ending the process quietly if stdout is closed.
macro_rules! outln {
    () => { $crate::cli::output::stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::output::stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` that drops the message when stderr is closed.
macro_rules! errln {
    () => { $crate::cli::output::stderr(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::output::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that drops the message when stderr is closed.
macro_rules! err {
    ($($arg:tt)*) => { $crate::cli::output::stderr(format_args!($($arg)*)) };
}

/// Writes `text` to stdout (see the module docs for a failed write).
pub fn stdout(text: fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        stdout_failed(&error);
    }
}

/// Writes bytes to stdout (a manual page, a completion script).
pub fn stdout_bytes(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        stdout_failed(&error);
    }
}

/// Writes `text` to stderr; a message that cannot be written is dropped.
pub fn stderr(text: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// Ends the process after a failed write to stdout: quietly with exit 0
/// when the reader has gone, else with the error and exit 1.
fn stdout_failed(error: &std::io::Error) -> ! {
    if is_closed_pipe(error) {
        std::process::exit(0);
    }
    stderr(format_args!("error: cannot write to stdout: {error}\n"));
    std::process::exit(1);
}

/// Whether `error` says that the reader of a pipe has gone.
pub fn is_closed_pipe(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe
}

/// The writer of log lines: stderr, where a line that cannot be written
/// is dropped (the log subscriber would report the failure on stderr
/// itself, and panic doing so when stderr is a closed pipe).
pub fn log_writer() -> LogWriter {
    LogWriter
}

/// See [`log_writer`].
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}
