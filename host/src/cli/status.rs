//! `authhost status [PROVIDER] [--check] [--json]`: the login state of
//! providers, like `gh auth status`. Without `--check` it reads only local
//! files; with it, each provider's plugin asks its service about the
//! credential.

use std::process::ExitCode;

use authhost::credential::now_ms;
use authhost::{AccountInfo, Host, ProviderStatus};
use serde::Serialize;

use super::{EXIT_LOGIN_NEEDED, Io, hint, table};

/// `authhost status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The provider; all providers when omitted.
    #[arg(add = super::completions::provider())]
    provider: Option<String>,
    /// Also ask each provider's service about its credential (whom it
    /// belongs to, expiry, usage): runs the plugin, a helper included.
    #[arg(long)]
    check: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// One provider in `status --json`.
#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    status: ProviderStatus,
    /// What `--check` found; absent without `--check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<Check>,
}

/// The outcome of `--check` for one provider.
#[derive(Serialize)]
struct Check {
    /// Whether the service accepted the credential.
    ok: bool,
    /// Whether the plugin can check credentials at all.
    supported: bool,
    /// What the service said about the credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<AccountInfo>,
    /// Why the check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Whether the failure means the user must log in again.
    needs_login: bool,
}

/// Runs the command; exits 4 when a provider named on the command line
/// needs a login, 1 when a check failed for another reason.
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let Args {
        ref provider,
        check,
        json,
    } = *args;
    let provider = provider.as_deref();
    let statuses = match provider {
        Some(provider) => vec![host.status(provider).await?],
        None => host
            .list()
            .await?
            .into_iter()
            .filter(|s| s.configured || s.credential.is_some() || s.cached)
            .collect(),
    };
    let mut reports = Vec::with_capacity(statuses.len());
    for status in statuses {
        let check = if check && status.error.is_none() && !status.needs_login {
            Some(run_check(host, &status.provider).await)
        } else {
            None
        };
        reports.push(Report { status, check });
    }
    if json {
        io.print_json(&reports)?;
    } else if reports.is_empty() {
        errln!(
            io,
            "No provider is configured or logged in (see `authhost login --help`)"
        );
    } else {
        for report in &reports {
            print_report(io, report)?;
        }
    }
    let needs_login = reports
        .iter()
        .any(|r| r.status.needs_login || r.check.as_ref().is_some_and(|c| c.needs_login));
    let failed = reports
        .iter()
        .any(|r| r.status.error.is_some() || r.check.as_ref().is_some_and(|c| !c.ok));
    Ok(if provider.is_some() && needs_login {
        ExitCode::from(EXIT_LOGIN_NEEDED)
    } else if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn run_check(host: &Host, provider: &str) -> Check {
    match host.check(provider).await {
        Ok(Some(account)) => Check {
            ok: true,
            supported: true,
            account: Some(account),
            error: None,
            needs_login: false,
        },
        Ok(None) => Check {
            ok: true,
            supported: false,
            account: None,
            error: None,
            needs_login: false,
        },
        Err(error) => Check {
            ok: false,
            supported: true,
            account: None,
            needs_login: error.needs_login(),
            error: Some(hint::with_hint(authhost::error_chain(&error), &error)),
        },
    }
}

fn print_report(io: &Io, report: &Report) -> std::io::Result<()> {
    let s = &report.status;
    let wit = s
        .wit_version
        .as_deref()
        .map(|v| format!(", WIT {v}"))
        .unwrap_or_default();
    outln!(io, "{} (plugin {}{wit})", s.provider, s.plugin)?;
    let line = |label: &str, value: &str| outln!(io, "  {:<12} {value}", format!("{label}:"));
    line("state", &state(s))?;
    for (name, value) in &s.extra {
        line(name, value)?;
    }
    if s.error.is_none() && (!s.granted.is_empty() || !s.missing.is_empty()) {
        // The exact capabilities for this provider: `http:{base_url}`
        // filled in from its own `base_url`.
        let list = table::capabilities;
        let mut text = format!("granted: {}", table::or_none(list(&s.granted)));
        if !s.missing.is_empty() {
            text.push_str(&format!(
                "; missing: {} (`authhost plugins grant {} --all-requested --provider {}`)",
                list(&s.missing),
                s.plugin,
                s.provider
            ));
        }
        line("capabilities", &text)?;
    }
    if let Some(check) = &report.check {
        match (&check.error, &check.account) {
            (Some(error), _) => line("check", &format!("failed: {error}"))?,
            (None, None) => line("check", "this provider's plugin cannot check credentials")?,
            (None, Some(account)) => {
                line("check", "ok")?;
                if let Some(who) = &account.account {
                    line("account", who)?;
                }
                if let Some(expires) = account.expires {
                    line("expires", &when(expires))?;
                }
                for (label, value) in &account.details {
                    line(label, value)?;
                }
            }
        }
    }
    Ok(())
}

/// The state of a provider in words.
fn state(s: &ProviderStatus) -> String {
    if let Some(error) = &s.error {
        return format!("error: {error}");
    }
    if let Some(var) = &s.from_env {
        return format!("from ${var} (ahead of anything stored)");
    }
    let login = format!("run `authhost login {}`", s.provider);
    let Some(kind) = s.credential else {
        return match (s.helper, s.cached_until) {
            (true, Some(until)) => format!("helper; its key is cached, {}", until_text(until)),
            (true, None) => "helper; runs when a key is needed".into(),
            (false, _) => format!("not logged in; {login}"),
        };
    };
    let mut text = match s.stored_in {
        Some(authhost::StoreBackend::Keyring) => format!("{kind}, stored in the OS keyring"),
        Some(authhost::StoreBackend::Postgres) => format!("{kind}, stored in the PostgreSQL store"),
        _ => format!("{kind}, stored in auth.json"),
    };
    if let Some(why) = &s.made_by_another {
        text.push_str(&format!(
            "; made by {why}: handed to no plugin, {login} to log in again"
        ));
        return text;
    }
    if s.derived {
        text.push_str("; tokens are derived from it when needed");
    }
    if let Some(expires) = s.expires {
        text.push_str(&format!("; access token {}", expiry_text(expires)));
        if s.refresh_refused.is_some() {
            text.push_str(&format!(
                "; the service refused to renew it: the login is over, {login}"
            ));
        } else if s.refreshable {
            text.push_str("; renewed automatically");
        } else if s.needs_login {
            text.push_str(&format!("; {login}"));
        }
    }
    text
}

fn expiry_text(expires: u64) -> String {
    let now = now_ms();
    if expires > now {
        format!("expires in {}", duration((expires - now) / 1000))
    } else {
        format!("expired {} ago", duration((now - expires) / 1000))
    }
}

fn until_text(until: u64) -> String {
    format!(
        "for {} more",
        duration(until.saturating_sub(now_ms()) / 1000)
    )
}

/// A time (ms since the epoch) relative to now.
fn when(ms: u64) -> String {
    let now = now_ms();
    if ms > now {
        format!("in {}", duration((ms - now) / 1000))
    } else {
        format!("{} ago", duration((now - ms) / 1000))
    }
}

/// A number of seconds for people: `45 s`, `12 min`, `3 h`, `9 days`.
fn duration(seconds: u64) -> String {
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7_200 => format!("{} min", seconds / 60),
        7_200..172_800 => format!("{} h", seconds / 3_600),
        _ => format!("{} days", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(600), "10 min");
        assert_eq!(duration(3 * 3600), "3 h");
        assert_eq!(duration(30 * 86_400), "30 days");
    }
}
