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
//! object `{"key": "...", "expires_at": ...}` (`expires_at` optional: RFC
//! 3339 text such as `2030-01-31T12:00:00Z` or `...+02:00`, or Unix
//! seconds); the key is then reused until the earlier of `ttl_ms` and
//! `expires_at`, and a key that has already expired is an error. Output that
//! starts with `{` must be such an object. The command runs with
//! `AUTHHOST_PROVIDER` and `AUTHHOST_REASON` (`login`, `token` or `refresh`)
//! in its environment, and is killed with everything it started after
//! `timeout_ms` (the host caps it at 10 minutes).
//!
//! The host calls `resolve` both for `authhost token` and for `authhost
//! login` of the `command` method; `login` does the same as `resolve`.
//! `authhost status --check` runs the command afresh (through `resolve`)
//! and `check` reports that it produced a key, and how long it is.
//!
//! The command text and its output are secrets: no error or log line
//! contains them. A failing command's error shows its exit code and a short
//! one-line excerpt of its stderr, with the command's output and anything
//! that looks like a key blanked out (`[redacted]`).

use std::time::UNIX_EPOCH;

use authhost_sdk::prelude::*;
use serde::Deserialize;

const DEFAULT_TIMEOUT_MS: u32 = 10_000;
const DEFAULT_TTL_MS: u64 = 300_000;
const MAX_OUTPUT: u32 = 1 << 20;
/// How much of a failing command's stderr an error shows.
const STDERR_EXCERPT: usize = 120;
/// The shortest word of the command's stdout that is blanked out of its
/// stderr (the whole trimmed stdout is blanked from 4 characters on).
const MIN_REDACTED_WORD: usize = 6;

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
#[serde(
    untagged,
    expecting = "`command` must be a string (run by the shell) or an array of strings (a program and its arguments)"
)]
enum CommandLine {
    Shell(String),
    Argv(Vec<String>),
}

impl Options {
    /// The options of `provider` from the host.
    fn load(provider: &str) -> Result<Options, Error> {
        Options::parse(&config::json(), provider)
    }

    /// Options from their JSON; unknown keys are errors that name them.
    fn parse(json: &str, provider: &str) -> Result<Options, Error> {
        let options: Options = config::parse(json, provider)?;
        if options.timeout_ms == Some(0) {
            return Err(Error::Other(format!(
                "`timeout_ms` in [providers.{provider}] must be at least 1"
            )));
        }
        Ok(options)
    }

    /// The command to run, or an error telling the user to configure one.
    fn command(self, provider: &str) -> Result<process::Command, Error> {
        match self.command {
            Some(CommandLine::Shell(line)) if !line.trim().is_empty() => {
                Ok(process::Command::Shell(line))
            }
            Some(CommandLine::Argv(argv)) if argv.first().is_some_and(|p| !p.is_empty()) => {
                Ok(process::Command::Argv(argv))
            }
            _ => Err(Error::Other(format!(
                "set `command` in [providers.{provider}] of config.toml \
                 (a string runs through the shell, an array runs a program)"
            ))),
        }
    }
}

struct ShellHelper;

impl Provider for ShellHelper {
    /// Runs nothing.
    fn describe() -> Description {
        Description::new(
            "shell-helper",
            "Shell command (apiKeyHelper)",
            "Gets a key by running your command, e.g. a password manager's CLI",
        )
        .method("command", "Run the configured command", MethodKind::Helper)
        .capability("process")
        .options(["command", "timeout_ms", "ttl_ms"])
    }

    /// The host runs helper methods through `resolve`; `login` does the same
    /// for hosts that call it anyway.
    fn login(_method: String, _options: Vec<(String, String)>) -> Result<Credential, Error> {
        Self::resolve(Reason::Login, None).map(|resolved| resolved.credential)
    }
}

// Keys from a command are not renewed (the host runs it again) nor revoked
// (the command's own store owns them): `resolve` and `check` are the
// optional exports.
impl Resolve for ShellHelper {
    /// Runs the command and returns its key, reusable for `ttl_ms` at most.
    /// Nothing is stored for a helper, so `stored` is unused.
    fn resolve(reason: Reason, _stored: Option<Credential>) -> Result<Resolved, Error> {
        let provider = config::provider_name();
        let options = Options::load(&provider)?;
        let timeout_ms = options.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        let ttl_ms = options.ttl_ms.unwrap_or(DEFAULT_TTL_MS);
        let command = options.command(&provider)?;
        let stdout = run_helper(command, provider, reason, timeout_ms)?;
        let now = clock::now_ms();
        let (key, expires_ms) = parse_output(stdout.trim(), now)?;
        let cache_until = cache_until(now, ttl_ms, expires_ms);
        let reuse = match cache_until {
            Some(until) => format!("reusable for {} ms", until.saturating_sub(now)),
            None => "not to be reused".to_owned(),
        };
        log::debug(&format!("the helper command gave a key, {reuse}"));
        Ok(Resolved {
            credential: Credential::api_key(key),
            cache_until,
        })
    }
}

impl Check for ShellHelper {
    /// Reports on the key the command just produced (the host ran it
    /// through `resolve` for `status --check`): it never shows the key.
    fn check(credential: Credential) -> Result<AccountInfo, Error> {
        let length = credential.secret_text().chars().count();
        Ok(AccountInfo {
            account: None,
            expires: None,
            details: vec![
                ("command".into(), "ran and printed a key".into()),
                ("key length".into(), format!("{length} characters")),
            ],
        })
    }
}

/// Runs the helper command and returns its stdout; a command that fails,
/// hangs or floods is an error (with its exit code and a stderr excerpt,
/// never its stdout).
fn run_helper(
    command: process::Command,
    provider: String,
    reason: Reason,
    timeout_ms: u32,
) -> Result<String, Error> {
    let reason = match reason {
        Reason::Login => "login",
        Reason::Token => "token",
        Reason::Refresh => "refresh",
    };
    log::debug(&format!("running the helper command ({reason})"));
    let output = process::run(&process::RunRequest {
        command,
        env: vec![
            ("AUTHHOST_PROVIDER".into(), provider),
            ("AUTHHOST_REASON".into(), reason.into()),
        ],
        timeout_ms,
        max_output: MAX_OUTPUT,
    })
    .map_err(|e| match e {
        Error::InvalidResponse(_) => invalid("the command wrote more than 1 MiB"),
        other => other,
    })?;
    if output.exit_code != Some(0) {
        return Err(Error::Other(failure(
            output.exit_code,
            &output.stderr,
            &output.stdout,
        )));
    }
    String::from_utf8(output.stdout).map_err(|_| invalid("the command's output is not UTF-8 text"))
}

/// Until when the key may be reused (ms since the epoch): `ttl` from `now`,
/// bounded by the key's own expiry; never when `ttl` is 0.
fn cache_until(now: u64, ttl: u64, expires: Option<u64>) -> Option<u64> {
    if ttl == 0 {
        return None;
    }
    let until = now.saturating_add(ttl);
    Some(expires.map_or(until, |expires| expires.min(until)))
}

/// The key and its expiry (ms since the epoch) from the command's trimmed
/// output. Errors never contain the output.
fn parse_output(text: &str, now: u64) -> Result<(String, Option<u64>), Error> {
    if text.is_empty() {
        return Err(invalid("the command printed nothing"));
    }
    if !text.starts_with('{') {
        return Ok((text.to_owned(), None));
    }
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(text) else {
        return Err(invalid(
            "the command printed text starting with `{` that is not a JSON object",
        ));
    };
    let key = match object.get("key") {
        Some(serde_json::Value::String(key)) => key.trim(),
        _ => {
            return Err(invalid(
                "the command printed a JSON object without a string `key`",
            ));
        }
    };
    if key.is_empty() {
        return Err(invalid("the command printed an empty `key`"));
    }
    let expires = match object.get("expires_at") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(seconds)) => seconds.as_f64().map(seconds_to_ms),
        Some(serde_json::Value::String(text)) => Some(parse_rfc3339(text).ok_or_else(|| {
            invalid("`expires_at` is not an RFC 3339 time such as 2030-01-31T12:00:00Z")
        })?),
        Some(_) => {
            return Err(invalid(
                "`expires_at` must be RFC 3339 text or Unix seconds",
            ));
        }
    };
    if expires.is_some_and(|expires| expires <= now) {
        return Err(invalid(
            "the command printed a key that has already expired (`expires_at`)",
        ));
    }
    Ok((key.to_owned(), expires))
}

fn invalid(message: &str) -> Error {
    Error::InvalidResponse(message.to_owned())
}

/// Unix seconds (possibly fractional or negative) in ms, 0 for the past.
fn seconds_to_ms(seconds: f64) -> u64 {
    // `as` saturates: negative becomes 0, huge becomes u64::MAX.
    (seconds * 1000.0) as u64
}

/// An RFC 3339 time (`Z` or a `+HH:MM` / `-HH:MM` offset; the zone may be
/// left out for UTC) in ms since the epoch.
fn parse_rfc3339(text: &str) -> Option<u64> {
    let (local, offset_seconds) = split_zone(text.trim());
    let local = humantime::parse_rfc3339_weak(local).ok()?;
    let local_ms = i128::try_from(local.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
    u64::try_from(local_ms - i128::from(offset_seconds) * 1000).ok()
}

/// Splits a time into the part humantime reads (UTC) and its zone's offset
/// east of UTC, in seconds.
fn split_zone(text: &str) -> (&str, i64) {
    if let Some(local) = text.strip_suffix(['Z', 'z']) {
        return (local, 0);
    }
    let at = text.len().saturating_sub(6);
    match (text.get(..at), text.get(at..).and_then(parse_offset)) {
        (Some(local), Some(offset)) => (local, offset),
        _ => (text, 0),
    }
}

/// `+05:30` → 19800; `-08:00` → -28800.
fn parse_offset(zone: &str) -> Option<i64> {
    let bytes = zone.as_bytes();
    let sign = match bytes.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = zone.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() != 6 || bytes[3] != b':' {
        return None;
    }
    let (hours, minutes) = (digits(1..3)?, digits(4..6)?);
    (hours < 24 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// "the command exited with code 2; stderr: ..." — never stdout or the
/// command. The stderr excerpt is short, on one line, without control
/// characters (no terminal escapes from a hostile program), and with
/// whatever may be the key blanked out first: the command's own output
/// (whole and word by word) and words that look like secrets.
fn failure(code: Option<i32>, stderr: &[u8], stdout: &[u8]) -> String {
    let mut text = match code {
        Some(code) => format!("the command exited with code {code}"),
        None => "the command was killed by a signal".to_owned(),
    };
    let stderr = String::from_utf8_lossy(stderr);
    let stdout = String::from_utf8_lossy(stdout);
    let redacted = text::redact_secret_like(&text::redact(&stderr, &output_secrets(&stdout)));
    let excerpt = text::excerpt(&redacted, STDERR_EXCERPT);
    if !excerpt.is_empty() {
        text.push_str("; stderr: ");
        text.push_str(&excerpt);
    }
    text
}

/// What of the command's stdout is blanked out of its stderr: the trimmed
/// output and its longer words (a key inside `{"key": "..."}`), longest
/// first.
fn output_secrets(stdout: &str) -> Vec<&str> {
    let whole = stdout.trim();
    let mut secrets: Vec<&str> = whole
        .split(|c: char| c.is_whitespace() || "\"'{}[]:,;=".contains(c))
        .filter(|word| word.chars().count() >= MIN_REDACTED_WORD)
        .collect();
    if whole.chars().count() >= 4 {
        secrets.push(whole);
    }
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    secrets.dedup();
    secrets
}

authhost_sdk::export!(ShellHelper);

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn message(error: Error) -> String {
        match error {
            Error::InvalidResponse(text) | Error::Other(text) => text,
            other => panic!("unexpected error kind: {other:?}"),
        }
    }

    #[test]
    fn plain_output_is_the_key() {
        assert_eq!(
            parse_output("sk-1", NOW).unwrap(),
            ("sk-1".to_owned(), None)
        );
        assert!(message(parse_output("", NOW).unwrap_err()).contains("printed nothing"));
    }

    #[test]
    fn json_output_gives_the_key_and_its_expiry() {
        let (key, expires) =
            parse_output(r#"{"key": " sk-2 ", "expires_at": 1800000060}"#, NOW).unwrap();
        assert_eq!((key.as_str(), expires), ("sk-2", Some(NOW + 60_000)));
        let (_, expires) =
            parse_output(r#"{"key": "k", "expires_at": 1800000060.5}"#, NOW).unwrap();
        assert_eq!(expires, Some(NOW + 60_500));
        // NOW is 2027-01-15T08:00:00Z.
        let (_, expires) = parse_output(
            r#"{"key": "k", "expires_at": "2027-01-15T09:01:00+01:00"}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(expires, Some(NOW + 60_000));
        let (_, expires) = parse_output(r#"{"key": "k", "extra": 1}"#, NOW).unwrap();
        assert_eq!(expires, None);
    }

    #[test]
    fn bad_json_output_is_an_error_without_the_output() {
        for text in [
            r#"{"token": "sk-secret"}"#,
            r#"{"key": 5}"#,
            r#"{"key": "  "}"#,
            r#"{sk-secret"#,
            r#"{"key": "sk-secret", "expires_at": "soon"}"#,
            r#"{"key": "sk-secret", "expires_at": true}"#,
            r#"{"key": "sk-secret", "expires_at": 1000}"#,
            r#"{"key": "sk-secret", "expires_at": -5}"#,
            r#"{"key": "sk-secret", "expires_at": "2020-01-01T00:00:00Z"}"#,
        ] {
            let error = message(parse_output(text, NOW).unwrap_err());
            assert!(!error.contains("secret"), "{text}: {error}");
        }
        let error = message(parse_output(r#"{"key": "k", "expires_at": 1000}"#, NOW).unwrap_err());
        assert!(error.contains("already expired"), "{error}");
    }

    #[test]
    fn rfc3339_times_with_offsets() {
        let utc = parse_rfc3339("2030-01-31T12:00:00Z").unwrap();
        assert_eq!(utc, 1_896_091_200_000);
        assert_eq!(parse_rfc3339("2030-01-31T12:00:00"), Some(utc));
        assert_eq!(parse_rfc3339("2030-01-31T14:30:00+02:30"), Some(utc));
        assert_eq!(parse_rfc3339("2030-01-31T04:00:00-08:00"), Some(utc));
        assert_eq!(parse_rfc3339("2030-01-31T12:00:00.250Z"), Some(utc + 250));
        assert_eq!(parse_rfc3339("2030-01-31T12:00:00+2:300"), None);
        assert_eq!(parse_rfc3339("tomorrow"), None);
    }

    fn options(json: &str) -> Result<process::Command, String> {
        Options::parse(json, "p")
            .and_then(|o| o.command("p"))
            .map_err(message)
    }

    #[test]
    fn options_are_checked_without_echoing_the_command() {
        assert!(matches!(
            options(r#"{"command": "op read x"}"#),
            Ok(process::Command::Shell(_))
        ));
        assert!(matches!(
            options(r#"{"command": ["op", "read"]}"#),
            Ok(process::Command::Argv(_))
        ));
        let unknown = options(r#"{"command": "echo k", "timeout": 5}"#).unwrap_err();
        assert!(unknown.contains("unknown field `timeout`"), "{unknown}");
        assert!(!unknown.contains("line 1"), "{unknown}");
        for json in [
            r#"{}"#,
            r#"{"command": " "}"#,
            r#"{"command": []}"#,
            r#"{"command": [""]}"#,
        ] {
            let missing = options(json).unwrap_err();
            assert!(
                missing.contains("set `command` in [providers.p]"),
                "{json}: {missing}"
            );
        }
        let typed = options(r#"{"command": {"secret-cmd": 1}}"#).unwrap_err();
        assert!(
            typed.ends_with(
                "a string (run by the shell) or an array of strings (a program and its arguments)"
            ),
            "{typed}"
        );
        assert!(!typed.contains("secret-cmd"), "{typed}");
        let zero = options(r#"{"command": "x", "timeout_ms": 0}"#).unwrap_err();
        assert!(zero.contains("at least 1"), "{zero}");
    }

    #[test]
    fn cache_lifetime() {
        assert_eq!(cache_until(NOW, 0, Some(NOW + 10)), None);
        assert_eq!(cache_until(NOW, 1000, None), Some(NOW + 1000));
        assert_eq!(cache_until(NOW, 1000, Some(NOW + 10)), Some(NOW + 10));
        assert_eq!(cache_until(NOW, 1000, Some(NOW + 5000)), Some(NOW + 1000));
        assert_eq!(cache_until(NOW, u64::MAX, None), Some(u64::MAX));
    }

    #[test]
    fn failures_show_the_exit_code_and_a_clean_stderr_excerpt() {
        assert_eq!(failure(Some(4), b"", b""), "the command exited with code 4");
        assert_eq!(
            failure(Some(1), b"  vault: locked\n\x1b[31mred\x1b[0m\n", b""),
            "the command exited with code 1; stderr: vault: locked  [31mred [0m"
        );
        let long = failure(None, "é".repeat(500).as_bytes(), b"");
        assert!(long.starts_with("the command was killed by a signal; stderr: éé"));
        assert!(long.ends_with('…'));
        assert_eq!(long.chars().filter(|&c| c == 'é').count(), STDERR_EXCERPT);
        assert!(!failure(Some(1), "x".repeat(STDERR_EXCERPT).as_bytes(), b"").ends_with('…'));
    }

    #[test]
    fn failures_blank_the_output_and_secret_looking_words() {
        let secret = "sk-ant-api03-Q1w2E3r4T5y6U7i8O9p0";
        let stderr = format!("error: bad key {secret}\nretry later");
        let text = failure(Some(1), stderr.as_bytes(), b"");
        assert_eq!(
            text,
            "the command exited with code 1; stderr: error: bad key [redacted] retry later"
        );
        // A short key is blanked because it is what the command printed.
        let text = failure(Some(2), b"could not use hunter22 today", b"  hunter22\n");
        assert_eq!(
            text,
            "the command exited with code 2; stderr: could not use [redacted] today"
        );
        let json = br#"{"key": "pass-phrase", "expires_at": 1}"#;
        let text = failure(Some(3), b"rejected pass-phrase", json);
        assert!(!text.contains("pass-phrase"), "{text}");
        // A secret cut by the excerpt's end is blanked before the cut.
        let stderr = format!("{} {secret}", "é".repeat(STDERR_EXCERPT - 10));
        let text = failure(Some(1), stderr.as_bytes(), b"");
        assert!(!text.contains("sk-ant-api03"), "{text}");
    }
}
