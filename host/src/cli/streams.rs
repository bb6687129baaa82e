//! The command line's standard streams, as every command receives them.
//!
//! `main` builds one [`Io`] over the process's stdout and stderr and hands
//! it to each command, which writes to it and never to the process's
//! streams directly; a test hands in memory instead (`Io::in_memory`).
//!
//! Rust ignores `SIGPIPE`, so a write to a pipe whose reader has gone
//! (`authhost paths | head -1`) fails with `BrokenPipe` (where `println!`
//! would panic: exit 101 and a backtrace). Hence the macros here:
//!
//! - [`outln!`] writes a line to stdout and returns the outcome, for `?`.
//!   A failed write says `cannot write to stdout: …` and keeps its kind,
//!   so that [`super::report`] sees a closed stdout: a normal end for a
//!   command-line tool (ripgrep and gh treat it so). Nobody reads what
//!   comes next, so the command stops there and authhost ends quietly
//!   with exit 0. Any other write error ends it with that message and
//!   exit 1.
//! - [`errln!`] / [`err!`] write messages to stderr. A message nobody can
//!   read is dropped and the command goes on: a closed stderr must not cost
//!   the key `authhost token` prints on stdout.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};

/// `println!` to the [`Io`]'s stdout: `outln!(io, "…")?`.
macro_rules! outln {
    ($io:expr) => { $io.out_fmt(format_args!("\n")) };
    ($io:expr, $($arg:tt)*) => { $io.out_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` to the [`Io`]'s stderr, dropping the message when stderr is
/// closed.
macro_rules! errln {
    ($io:expr) => { $io.err_fmt(format_args!("\n")) };
    ($io:expr, $($arg:tt)*) => { $io.err_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` to the [`Io`]'s stderr, dropping the message when stderr is
/// closed.
macro_rules! err {
    ($io:expr, $($arg:tt)*) => { $io.err_fmt(format_args!($($arg)*)) };
}

/// The streams a command writes to, and what they are connected to.
pub struct Io {
    out: Stream,
    err: Stream,
    stdin_is_terminal: bool,
    stderr_is_terminal: bool,
}

impl Io {
    /// The process's own stdout and stderr.
    pub fn system() -> Io {
        Io {
            out: Stream::new(std::io::stdout()),
            err: Stream::new(std::io::stderr()),
            stdin_is_terminal: std::io::stdin().is_terminal(),
            stderr_is_terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Stdout, for output that is written whole and checked by the caller
    /// (a key, git's answer).
    pub fn out(&self) -> Stream {
        self.out.clone()
    }

    /// Stderr, for a writer that outlives a borrow of the `Io` (a progress
    /// callback) or whose errors matter (the provider picker).
    pub fn err(&self) -> Stream {
        self.err.clone()
    }

    /// Whether stdin is a terminal: a person can be asked.
    pub fn stdin_is_terminal(&self) -> bool {
        self.stdin_is_terminal
    }

    /// Whether stderr is a terminal: a person sees what goes there.
    pub fn stderr_is_terminal(&self) -> bool {
        self.stderr_is_terminal
    }

    /// Writes `text` to stdout and flushes it (see the module docs for a
    /// failed write). Used by [`outln!`].
    pub fn out_fmt(&self, text: fmt::Arguments<'_>) -> std::io::Result<()> {
        let mut out = self.out.0.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_fmt(text)
            .and_then(|()| out.flush())
            .map_err(stdout_failed)
    }

    /// Writes bytes to stdout (a manual page, a completion script).
    pub fn out_bytes(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut out = self.out.0.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(stdout_failed)
    }

    /// Prints `value` as pretty JSON on stdout.
    pub fn print_json(&self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        outln!(self, "{}", serde_json::to_string_pretty(value)?)?;
        Ok(())
    }

    /// Writes `text` to stderr; a message that cannot be written is dropped.
    /// Used by [`errln!`] and [`err!`].
    pub fn err_fmt(&self, text: fmt::Arguments<'_>) {
        let _ = self
            .err
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_fmt(text);
    }
}

/// One output stream, shared by every clone: writes through any of them
/// reach the same writer, a whole `write_fmt` at a time.
#[derive(Clone)]
pub struct Stream(Arc<Mutex<dyn Write + Send>>);

impl Stream {
    fn new(writer: impl Write + Send + 'static) -> Stream {
        Stream(Arc::new(Mutex::new(writer)))
    }

    fn with<T>(&self, f: impl FnOnce(&mut dyn Write) -> T) -> T {
        f(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.with(|w| w.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.with(|w| w.write_all(buf))
    }

    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> std::io::Result<()> {
        self.with(|w| w.write_fmt(args))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.with(|w| w.flush())
    }
}

/// What a failed write to stdout says: `cannot write to stdout: …`, of the
/// same kind as `error` (so that a closed pipe is still recognised).
fn stdout_failed(error: std::io::Error) -> std::io::Error {
    std::io::Error::new(error.kind(), StdoutFailed(error))
}

/// See [`stdout_failed`].
#[derive(Debug)]
struct StdoutFailed(std::io::Error);

impl fmt::Display for StdoutFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write to stdout: {}", self.0)
    }
}

impl std::error::Error for StdoutFailed {}

/// Whether `error` says that the reader of a pipe has gone.
pub fn is_closed_pipe(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe
}

/// The writer of log lines: stderr, where a line that cannot be written
/// is dropped (the log subscriber would report the failure on stderr
/// itself, and panic doing so when stderr is a closed pipe). Logging is
/// set up once for the process, so it writes to the process's stderr.
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

/// What a test reads back from an in-memory stream.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Buffer {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[cfg(test)]
impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl Io {
    /// An `Io` over the given writers, with no terminal anywhere.
    pub fn with_writers(out: impl Write + Send + 'static, err: impl Write + Send + 'static) -> Io {
        Io {
            out: Stream::new(out),
            err: Stream::new(err),
            stdin_is_terminal: false,
            stderr_is_terminal: false,
        }
    }

    /// An `Io` writing into memory, and what was written to its stdout and
    /// its stderr.
    pub fn in_memory() -> (Io, Buffer, Buffer) {
        let (out, err) = (Buffer::default(), Buffer::default());
        (Io::with_writers(out.clone(), err.clone()), out, err)
    }
}
