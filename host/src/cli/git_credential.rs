//! `authhost git-credential get|store|erase`: git's credential-helper
//! protocol on stdin and stdout (see `authhost::git`).

use std::io::{BufRead, Read, Write};

use anyhow::Context;
use authhost::Host;
use authhost::git::{Operation, Request};
use authhost::interact::ControllingTerminal;
use secrecy::ExposeSecret;

/// How `git-credential` talks to the user: git owns stdin and stdout, so a
/// question (replacing a stored key at `store`) is asked at the controlling
/// terminal, unless git was told never to prompt (`GIT_TERMINAL_PROMPT`
/// false, as git reads it: `0`, `false`, `no`, `off` or empty).
pub fn interaction() -> ControllingTerminal {
    let never = std::env::var("GIT_TERMINAL_PROMPT").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no" | "off"
        )
    });
    ControllingTerminal { ask: !never }
}

/// Reads git's request from stdin and, for `get`, writes the answer (or
/// nothing) to stdout. Nothing else ever goes to stdout.
pub async fn run(host: &Host, operation: Operation) -> anyhow::Result<()> {
    // Up to a blank line or the end of input (64 KiB at most).
    let mut input = String::new();
    let mut stdin = std::io::stdin().lock().take(64 * 1024);
    loop {
        let mut line = String::new();
        let read = stdin
            .read_line(&mut line)
            .context("cannot read git's request from stdin")?;
        if read == 0 || line.trim_end_matches(['\r', '\n']).is_empty() {
            break;
        }
        input.push_str(&line);
    }
    let request = Request::parse(&input)?;
    let Some(answer) = host.git_credential(operation, &request).await? else {
        return Ok(());
    };
    let text = answer.to_protocol()?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.expose_secret().as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}
