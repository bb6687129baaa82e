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
/// secret prompt at a terminal does not echo). Standard input is read by one
/// background thread, so a pasted line is never lost between waits.
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
                let label = label.to_owned();
                return tokio::task::spawn_blocking(move || rpassword::prompt_password(label).ok())
                    .await
                    .ok()
                    .flatten()
                    .map(|line| line.trim().to_owned());
            }
            if std::io::stdin().is_terminal() {
                eprint!("{label}");
            }
            next_stdin_line().await
        })
    }

    fn pasted_line<'a>(&'a self, label: &'a str) -> BoxFuture<'a, String> {
        Box::pin(async move {
            // Show the label once, not again each time the wait resumes.
            static SHOWN: Mutex<String> = Mutex::new(String::new());
            {
                let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
                if std::io::stdin().is_terminal() && *shown != label {
                    eprintln!("{label}");
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

/// The next non-empty trimmed line of stdin; `None` at end of input.
async fn next_stdin_line() -> Option<String> {
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
