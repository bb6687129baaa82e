//! `authhost login [PROVIDER]`: logs in and stores the credential; without
//! a provider, a list to pick from at a terminal (`login/picker.rs`).

mod picker;

use std::process::ExitCode;

use authhost::{Host, HostOptions, LoginOptions, Saved, StoreBackend};

use super::{EXIT_USAGE, Io};

/// `authhost login`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The provider, e.g. `anthropic` or `openrouter`; without one, a
    /// list to pick from (at a terminal).
    #[arg(add = super::completions::provider())]
    provider: Option<String>,
    /// The login method (see `authhost plugins list`); `api-key` reads a
    /// key from stdin, or prompts without echo at a terminal.
    #[arg(long)]
    method: Option<String>,
    /// Print the login URL instead of opening a browser.
    #[arg(long)]
    no_browser: bool,
    /// Replace a stored credential without asking.
    #[arg(long)]
    force: bool,
}

/// Logs in; exits 2 when no provider was named or picked.
pub async fn run(io: &Io, host: &Host, args: Args) -> anyhow::Result<ExitCode> {
    let provider = match args.provider {
        Some(provider) => provider,
        None => match picker::pick(io, host).await? {
            Some(provider) => provider,
            None => return Ok(ExitCode::from(EXIT_USAGE)),
        },
    };
    let mut options = LoginOptions::default()
        .no_browser(args.no_browser)
        .force(args.force);
    if let Some(method) = args.method {
        options = options.method(method);
    }
    let outcome = tokio::select! {
        outcome = host.login(&provider, options) => outcome?,
        _ = tokio::signal::ctrl_c() => return Err(authhost::Error::Cancelled.into()),
    };
    let saved = match outcome.saved {
        Saved::Stored => match host.store_backend() {
            StoreBackend::Keyring => "stored in the OS keyring".to_owned(),
            StoreBackend::File => {
                format!("stored in {}", crate::cli::files(host).store_file.display())
            }
            other => format!("stored in {}", other.place()),
        },
        Saved::Cached(Some(until)) => {
            let seconds = until.saturating_sub(authhost::credential::now_ms()) / 1000;
            format!("the helper works; its key is cached for {seconds} s")
        }
        Saved::Cached(None) => "the helper works; its key is not cached".to_owned(),
        _ => "saved".to_owned(),
    };
    for warning in &outcome.warnings {
        errln!(io, "warning: {warning}");
    }
    let replaced = if outcome.replaced {
        "; replaced the stored credential"
    } else {
        ""
    };
    errln!(
        io,
        "Logged in to {provider} ({}; {saved}{replaced})",
        outcome.kind
    );
    Ok(ExitCode::SUCCESS)
}

/// The login methods of every plugin, and the catalog's providers, for
/// `login --help`; `None` when the host cannot be opened.
pub fn methods_help() -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let host = Host::open(HostOptions::from_env().ok()?).ok()?;
    let plugins = runtime.block_on(host.plugins()).ok()?;
    let mut text =
        String::from("Login methods, by plugin (`--method ID`; the first is the default):\n");
    for plugin in &plugins {
        if let Some(metadata) = &plugin.metadata {
            let methods: Vec<String> = metadata
                .methods
                .iter()
                .map(|m| format!("{} ({})", m.id, m.label))
                .collect();
            text.push_str(&format!("  {:<14} {}\n", plugin.id, methods.join(", ")));
        }
    }
    let catalog: Vec<&str> = authhost::catalog::entries()
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    text.push_str(&format!(
        "\nWell-known providers (no configuration needed): {}",
        catalog.join(", ")
    ));
    std::mem::forget(host);
    Some(text)
}
