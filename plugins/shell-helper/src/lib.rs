//! The built-in `shell-helper` provider: gets an API key at run time by
//! running the user's command (an "apiKeyHelper": `op read ...`, a vault
//! CLI, a gateway's `echo '-'`).
//!
//! ```toml
//! [providers.anthropic]
//! plugin = "shell-helper"
//! command = "op read 'op://Personal/ANTHROPIC_API_KEY/credential'"  # through the shell
//! # command = ["op", "read", "op://Personal/ANTHROPIC_API_KEY/credential"]  # no shell
//! timeout_ms = 10000   # default 10 s
//! ttl_ms = 300000      # reuse a key this long; default 5 minutes; 0 = every time
//! ```
//!
//! The command's stdout, trimmed, is the key. It may instead print a JSON
//! object `{"key": "...", "expires_at": ...}` (RFC 3339 text or Unix
//! seconds); the key is then reused until the earlier of `ttl_ms` and
//! `expires_at`. The command runs with `AUTHHOST_PROVIDER` and
//! `AUTHHOST_REASON` (`login`, `token` or `refresh`) in its environment.
//!
//! The command text and its output are secrets: no error or log line
//! contains them. A failing command's error shows its exit code and a short
//! excerpt of its stderr.

wit_bindgen::generate!({ path: "../../wit", world: "plugin" });

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authhost::provider::types::{Credential, Error};
use authhost::provider::{config, log, process};
use exports::authhost::provider::provider::{
    AuthMethod, Guest, Metadata, MethodKind, Reason, Resolved,
};
use serde::Deserialize;

const DEFAULT_TIMEOUT_MS: u32 = 10_000;
const DEFAULT_TTL_MS: u64 = 300_000;
const MAX_OUTPUT: u32 = 1 << 20;
/// How much of a failing command's stderr an error shows.
const STDERR_EXCERPT: usize = 200;

/// `[providers.NAME]` options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    command: Option<CommandLine>,
    timeout_ms: Option<u32>,
    ttl_ms: Option<u64>,
}

/// A string runs through the shell; an array runs without one.
#[derive(Deserialize)]
#[serde(untagged)]
enum CommandLine {
    Shell(String),
    Argv(Vec<String>),
}

/// The optional structured output.
#[derive(Deserialize)]
struct Structured {
    key: String,
    expires_at: Option<Expiry>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Expiry {
    UnixSeconds(u64),
    Rfc3339(String),
}

struct ShellHelper;

impl Guest for ShellHelper {
    fn describe() -> Metadata {
        Metadata {
            id: "shell-helper".into(),
            display_name: "Shell command (apiKeyHelper)".into(),
            description: "Gets a key by running your command, e.g. a password manager's CLI".into(),
            methods: vec![AuthMethod {
                id: "command".into(),
                label: "Run the configured command".into(),
                kind: MethodKind::Helper,
            }],
            capabilities: vec!["process".into()],
            resolves: true,
        }
    }

    /// The host runs helper methods through `resolve`; `login` is here only
    /// for completeness and does the same.
    fn login(_method: String, _options: Vec<(String, String)>) -> Result<Credential, Error> {
        Self::resolve(Reason::Login).map(|resolved| resolved.credential)
    }

    fn resolve(reason: Reason) -> Result<Resolved, Error> {
        let provider = config::provider_name();
        let options: Options = serde_json::from_str(&config::get())
            .map_err(|e| Error::Other(format!("invalid [providers.{provider}] options: {e}")))?;
        let command = match options.command {
            Some(CommandLine::Shell(line)) if !line.trim().is_empty() => process::Command::Shell(line),
            Some(CommandLine::Argv(argv)) if !argv.is_empty() => process::Command::Argv(argv),
            _ => {
                return Err(Error::Other(format!(
                    "set `command` in [providers.{provider}] of config.toml (a string for the shell, or an array)"
                )));
            }
        };
        let reason = match reason {
            Reason::Login => "login",
            Reason::Token => "token",
            Reason::Refresh => "refresh",
        };
        log::write(log::Level::Debug, &format!("running the helper command ({reason})"));
        let output = process::run(&process::RunRequest {
            command,
            env: vec![
                ("AUTHHOST_PROVIDER".into(), provider),
                ("AUTHHOST_REASON".into(), reason.into()),
            ],
            timeout_ms: options.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
            max_output: MAX_OUTPUT,
        })
        .map_err(|e| match e {
            Error::InvalidResponse(_) => Error::InvalidResponse("the command wrote more than 1 MiB".into()),
            other => other,
        })?;
        if output.exit_code != Some(0) {
            return Err(Error::Other(failure(output.exit_code, &output.stderr)));
        }
        let stdout = String::from_utf8(output.stdout)
            .map_err(|_| Error::InvalidResponse("the command's output is not UTF-8 text".into()))?;
        let (key, expires_ms) = parse_output(stdout.trim())?;
        let now = now_ms();
        let ttl = options.ttl_ms.unwrap_or(DEFAULT_TTL_MS);
        let cache_until = match (ttl, expires_ms) {
            (0, _) => None,
            (ttl, Some(expires)) => Some(expires.min(now.saturating_add(ttl))),
            (ttl, None) => Some(now.saturating_add(ttl)),
        };
        Ok(Resolved {
            credential: Credential::ApiKey(key),
            cache_until,
        })
    }
}

/// The key and its expiry (ms since the epoch) from the command's output.
fn parse_output(text: &str) -> Result<(String, Option<u64>), Error> {
    if text.is_empty() {
        return Err(Error::InvalidResponse("the command printed nothing".into()));
    }
    if !text.starts_with('{') {
        return Ok((text.to_owned(), None));
    }
    let structured: Structured = serde_json::from_str(text).map_err(|_| {
        Error::InvalidResponse("the command printed a JSON object without a string `key`".into())
    })?;
    let key = structured.key.trim().to_owned();
    if key.is_empty() {
        return Err(Error::InvalidResponse("the command printed an empty `key`".into()));
    }
    let expires = match structured.expires_at {
        None => None,
        Some(Expiry::UnixSeconds(s)) => Some(s.saturating_mul(1000)),
        Some(Expiry::Rfc3339(text)) => {
            let time = humantime::parse_rfc3339_weak(&text).map_err(|_| {
                Error::InvalidResponse("`expires_at` is neither RFC 3339 nor Unix seconds".into())
            })?;
            Some(time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as u64)
        }
    };
    if expires.is_some_and(|e| e <= now_ms()) {
        return Err(Error::InvalidResponse("the command printed a key that has already expired".into()));
    }
    Ok((key, expires))
}

/// "exited with code 2; stderr: ..." without stdout or the command.
fn failure(code: Option<i32>, stderr: &[u8]) -> String {
    let mut text = match code {
        Some(code) => format!("the command exited with code {code}"),
        None => "the command was killed by a signal".to_owned(),
    };
    let stderr = String::from_utf8_lossy(stderr);
    let stderr = stderr.trim();
    if !stderr.is_empty() {
        let excerpt: String = stderr.chars().take(STDERR_EXCERPT).collect();
        let excerpt = excerpt.replace(['\n', '\r'], " ");
        let cut = if excerpt.chars().count() < stderr.chars().count() { "…" } else { "" };
        text.push_str(&format!("; stderr: {excerpt}{cut}"));
    }
    text
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

export!(ShellHelper);
