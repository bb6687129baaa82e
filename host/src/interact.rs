//! Talking to the user: messages, prompts, and lines pasted while a plugin
//! waits for a browser redirect.
//!
//! The CLI uses [`Terminal`]; an embedding program can supply its own
//! [`Interaction`] (a GUI dialog, or one that refuses every prompt).

use std::future::Future;
use std::io::{BufRead, IsTerminal, Write};
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};

use tokio::sync::mpsc;

/// A boxed future, as returned by [`Interaction`] methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How the host talks to the user.
pub trait Interaction: Send + Sync {
    /// Shows a line of text (never a secret).
    fn message(&self, text: &str);

    /// Asks for a line; `secret` hides what is typed. `None` when the user
    /// cannot or did not answer (no terminal, end of input).
    fn prompt<'a>(&'a self, label: &'a str, secret: bool) -> BoxFuture<'a, Option<String>>;

    /// Waits for a line the user pastes while something else is waited for,
    /// showing `label` first. Never resolves when no input can come; the
    /// caller races it against its other event.
    fn pasted_line<'a>(&'a self, label: &'a str) -> BoxFuture<'a, String>;

    /// Asks a yes/no question. `None` when nobody can be asked (no
    /// terminal): the caller goes on as a script would want.
    fn confirm<'a>(&'a self, question: &'a str) -> BoxFuture<'a, Option<bool>> {
        let _ = question;
        Box::pin(async { None })
    }
}

/// Writes `text` to stderr; a closed stderr (nobody reads it) drops it
/// instead of panicking.
fn show(text: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(text).and_then(|()| err.flush());
}

/// An [`Interaction`] that shows nothing and answers no prompt.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Interaction for Silent {
    fn message(&self, text: &str) {
        tracing::info!("{text}");
    }

    fn prompt<'a>(&'a self, _label: &'a str, _secret: bool) -> BoxFuture<'a, Option<String>> {
        Box::pin(async { None })
    }

    fn pasted_line<'a>(&'a self, _label: &'a str) -> BoxFuture<'a, String> {
        Box::pin(std::future::pending())
    }
}

/// The terminal: messages on stderr, prompts on stderr reading stdin (a
/// secret prompt at a terminal does not echo).
///
/// When stdin is a pipe, one background thread reads it, so a pasted line
/// is never lost between waits. When stdin is a terminal, a line is read
/// only while someone waits for one, and a wait that is given up (the
/// browser's redirect came first) stops reading: nothing is left reading
/// the terminal to swallow the line typed at the next prompt, which for a
/// secret is read from the terminal device with echo off.
#[derive(Debug, Default, Clone, Copy)]
pub struct Terminal;

impl Interaction for Terminal {
    fn message(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }

    fn prompt<'a>(&'a self, label: &'a str, secret: bool) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            if secret && std::io::stdin().is_terminal() {
                #[cfg(unix)]
                return terminal::secret_line(label).await;
                #[cfg(not(unix))]
                {
                    let label = label.to_owned();
                    return tokio::task::spawn_blocking(move || {
                        rpassword::prompt_password(label).ok()
                    })
                    .await
                    .ok()
                    .flatten()
                    .map(|line| line.trim().to_owned());
                }
            }
            if std::io::stdin().is_terminal() {
                show(format_args!("{label}"));
            }
            next_stdin_line().await
        })
    }

    fn confirm<'a>(&'a self, question: &'a str) -> BoxFuture<'a, Option<bool>> {
        Box::pin(async move {
            if !std::io::stdin().is_terminal() {
                return None;
            }
            show(format_args!("{question} [y/N] "));
            #[cfg(unix)]
            let answer = terminal::any_line().await.unwrap_or_default();
            #[cfg(not(unix))]
            let answer = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map(|_| line)
            })
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
            Some(is_yes(&answer))
        })
    }

    fn pasted_line<'a>(&'a self, label: &'a str) -> BoxFuture<'a, String> {
        Box::pin(async move {
            // Show the label once, not again each time the wait resumes.
            static SHOWN: Mutex<String> = Mutex::new(String::new());
            {
                let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
                if std::io::stdin().is_terminal() && *shown != label {
                    show(format_args!("{label}\n"));
                    label.clone_into(&mut shown);
                }
            }
            match next_stdin_line().await {
                Some(line) => line,
                None => std::future::pending().await,
            }
        })
    }
}

/// The terminal of a helper whose stdin and stdout belong to the program
/// that runs it, as `authhost git-credential`'s belong to git: messages go
/// to stderr, and a yes/no question is asked at the controlling terminal
/// (`/dev/tty`), which the helper shares with the person who ran that
/// program. Nobody is asked ([`Interaction::confirm`] is `None`) when
/// there is no controlling terminal (a script, a CI job), when `ask` is
/// false, and on Windows. Keys are never prompted for.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct ControllingTerminal {
    /// Whether questions are asked at all (`false` for git's
    /// `GIT_TERMINAL_PROMPT=0`, "never prompt").
    pub ask: bool,
}

impl Interaction for ControllingTerminal {
    fn message(&self, text: &str) {
        Terminal.message(text);
    }

    fn prompt<'a>(&'a self, _label: &'a str, _secret: bool) -> BoxFuture<'a, Option<String>> {
        Box::pin(async { None })
    }

    fn pasted_line<'a>(&'a self, _label: &'a str) -> BoxFuture<'a, String> {
        Box::pin(std::future::pending())
    }

    fn confirm<'a>(&'a self, question: &'a str) -> BoxFuture<'a, Option<bool>> {
        Box::pin(async move {
            if !self.ask {
                return None;
            }
            #[cfg(unix)]
            let answer = terminal::tty_line(&format!("{question} [y/N] "), false).await;
            #[cfg(not(unix))]
            let answer: Option<String> = {
                let _ = question;
                None
            };
            answer.map(|answer| is_yes(&answer))
        })
    }
}

/// Whether `answer` to a yes/no question means yes.
fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// The next non-empty trimmed line of stdin; `None` at end of input.
async fn next_stdin_line() -> Option<String> {
    #[cfg(unix)]
    if std::io::stdin().is_terminal() {
        return terminal::next_line().await;
    }
    piped_line().await
}

/// The next non-empty trimmed line of a piped stdin, read ahead by one
/// thread for the whole process.
async fn piped_line() -> Option<String> {
    static LINES: OnceLock<tokio::sync::Mutex<mpsc::Receiver<String>>> = OnceLock::new();
    let lines = LINES.get_or_init(|| {
        let (tx, rx) = mpsc::channel(16);
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let line = line.trim().to_owned();
                if !line.is_empty() && tx.blocking_send(line).is_err() {
                    break;
                }
            }
        });
        tokio::sync::Mutex::new(rx)
    });
    lines.lock().await.recv().await
}

/// Lines from a terminal on stdin, read on demand.
#[cfg(unix)]
mod terminal {
    use std::os::fd::AsFd;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use rustix::event::{PollFd, PollFlags, poll};

    /// How often a waiting read checks whether it is still wanted.
    const CHECK: Duration = Duration::from_millis(50);

    /// Sets the flag when the wait is dropped (given up or finished).
    struct GiveUp(Arc<AtomicBool>);

    impl Drop for GiveUp {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// The next non-empty trimmed line typed at the terminal; `None` at end
    /// of input. Dropping the future stops the read within [`CHECK`].
    pub(super) async fn next_line() -> Option<String> {
        let given_up = Arc::new(AtomicBool::new(false));
        let _guard = GiveUp(given_up.clone());
        loop {
            let flag = given_up.clone();
            let line = tokio::task::spawn_blocking(move || {
                let stdin = std::io::stdin();
                read_line(stdin.as_fd(), &flag)
            })
            .await
            .ok()??;
            let line = line.trim();
            if !line.is_empty() {
                return Some(line.to_owned());
            }
        }
    }

    /// The next line typed at the terminal, empty or not; `None` at end of
    /// input.
    pub(super) async fn any_line() -> Option<String> {
        let given_up = Arc::new(AtomicBool::new(false));
        let _guard = GiveUp(given_up.clone());
        let flag = given_up.clone();
        tokio::task::spawn_blocking(move || {
            let stdin = std::io::stdin();
            read_line(stdin.as_fd(), &flag)
        })
        .await
        .ok()
        .flatten()
    }

    /// Asks for a secret at the controlling terminal with echo off; echo is
    /// turned back on however the wait ends (an answer, end of input, or
    /// the future dropped at Ctrl-C). `None` when there is no terminal or
    /// no answer.
    pub(super) async fn secret_line(label: &str) -> Option<String> {
        tty_line(label, true).await
    }

    /// Shows `label` at the controlling terminal (`/dev/tty`) and reads a
    /// line there, trimmed, with echo off when `hidden`. `None` when there
    /// is no controlling terminal or no answer (end of input).
    pub(super) async fn tty_line(label: &str, hidden: bool) -> Option<String> {
        let given_up = Arc::new(AtomicBool::new(false));
        let _guard = GiveUp(given_up.clone());
        let label = label.to_owned();
        tokio::task::spawn_blocking(move || {
            let tty = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .ok()?;
            let echo_off = if hidden {
                Some(EchoOff::new(&tty)?)
            } else {
                None
            };
            let mut out = &tty;
            let _ = std::io::Write::write_all(&mut out, label.as_bytes());
            let line = read_line(tty.as_fd(), &given_up);
            if echo_off.is_some() {
                // The Enter the user typed was not echoed.
                let _ = std::io::Write::write_all(&mut out, b"\n");
            }
            line.map(|l| l.trim().to_owned())
        })
        .await
        .ok()
        .flatten()
    }

    /// Echo turned off on a terminal until dropped.
    struct EchoOff<'a> {
        tty: &'a std::fs::File,
        saved: rustix::termios::Termios,
    }

    impl<'a> EchoOff<'a> {
        fn new(tty: &'a std::fs::File) -> Option<EchoOff<'a>> {
            use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
            let saved = tcgetattr(tty).ok()?;
            let mut quiet = saved.clone();
            quiet.local_modes.remove(LocalModes::ECHO);
            tcsetattr(tty, OptionalActions::Flush, &quiet).ok()?;
            Some(EchoOff { tty, saved })
        }
    }

    impl Drop for EchoOff<'_> {
        fn drop(&mut self) {
            let _ = rustix::termios::tcsetattr(
                self.tty,
                rustix::termios::OptionalActions::Now,
                &self.saved,
            );
        }
    }

    /// Reads one line from `fd`, byte by byte once it is readable (a
    /// terminal in canonical mode hands over whole lines), checking
    /// `given_up` between polls. `None` at end of input, on an error, or
    /// when given up before any byte was read.
    fn read_line(fd: std::os::fd::BorrowedFd<'_>, given_up: &AtomicBool) -> Option<String> {
        let mut line = Vec::new();
        loop {
            if line.is_empty() && given_up.load(Ordering::SeqCst) {
                return None;
            }
            let mut fds = [PollFd::new(&fd, PollFlags::IN)];
            let timeout = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: CHECK.as_nanos() as _,
            };
            match poll(&mut fds, Some(&timeout)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return None,
            }
            let mut byte = [0u8; 1];
            match rustix::io::read(fd, &mut byte) {
                Ok(0) => {
                    return (!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned());
                }
                Ok(_) if byte[0] == b'\n' => {
                    return Some(String::from_utf8_lossy(&line).into_owned());
                }
                Ok(_) => line.push(byte[0]),
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(_) => return None,
            }
        }
    }
}
