//! `authhost git-credential get|store|erase`: git's credential-helper
//! protocol on stdin and stdout (see `authhost::git`).

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use authhost::Host;
use authhost::git::{Operation, Request};
use authhost::interact::ControllingTerminal;
use secrecy::ExposeSecret;

use super::Io;

/// `authhost git-credential`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What git asks: `get` a credential, `store` one that worked,
    /// `erase` one that was rejected.
    operation: GitOperation,
}

/// The operations of git's credential-helper protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GitOperation {
    /// Print `username=` and `password=` for a matching provider, nothing
    /// otherwise.
    Get,
    /// git reports a credential that worked (kept only with `git_store`).
    Store,
    /// git reports a credential that was rejected (forgotten only with
    /// `git_store`).
    Erase,
}

/// `authhost git-credential --help`.
pub const HELP: &str = "\
A git credential helper: gives git a provider's key for the hosts listed in its
`git_hosts`.

  # config.toml
  [providers.github]
  plugin = \"shell-helper\"            # or any provider with a stored key
  git_hosts = [\"github.com\"]         # also \"host/path-prefix\", \"http://127.0.0.1:3000\"
  git_username = \"x-access-token\"    # the default; GitLab wants \"oauth2\"

  git config --global credential.https://github.com.helper '!authhost git-credential'

git writes `key=value` lines (protocol, host, path, username) on stdin. For
`get`, authhost prints `username=` and `password=` (and `password_expiry_utc=`
for a token with an expiry) when a provider's `git_hosts` matches, and nothing
when none does, so git asks its next helper. A pattern without a scheme matches
https only; write `http://HOST` to allow plain HTTP. The longest matching path
prefix wins. The username is `git_username`, else the one in the URL, else
`x-access-token`.

`store` and `erase` do nothing unless the provider has `git_store = true`: then
`store` keeps a password git obtained elsewhere (typed at its prompt) as the
provider's API key, and `erase` removes the stored key when git reports that
exact key rejected (locally only; nothing is revoked). Without it, a rejection
by one git host never deletes a key other tools use.

Nothing but the answer is written to stdout; errors go to stderr.";

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
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let operation = match args.operation {
        GitOperation::Get => Operation::Get,
        GitOperation::Store => Operation::Store,
        GitOperation::Erase => Operation::Erase,
    };
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
        return Ok(ExitCode::SUCCESS);
    };
    let text = answer.to_protocol()?;
    let mut stdout = io.out();
    stdout
        .write_all(text.expose_secret().as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}
