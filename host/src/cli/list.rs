//! `authhost list [--all] [--json]`: the providers in use (configured,
//! stored, or a plugin that is itself a provider) and what is stored for
//! each (never the secret); `--all` adds the catalog's.

use std::process::ExitCode;

use authhost::{Host, ProviderStatus, StoreBackend};

use super::{Io, table};

/// `authhost list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON: an array of objects, one per provider (its name,
    /// plugin, what is stored, never a secret).
    #[arg(long)]
    json: bool,
    /// Also list the well-known providers not logged in to (they need no
    /// configuration: `authhost login NAME`).
    #[arg(long)]
    all: bool,
}

/// Lists the providers.
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let providers = if args.all {
        host.list_all().await?
    } else {
        host.list().await?
    };
    if args.json {
        io.print_json(&providers)?;
    } else {
        print(io, &providers, host.store_backend())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The providers as a table; `backend` is where new secrets go.
fn print(io: &Io, providers: &[ProviderStatus], backend: StoreBackend) -> std::io::Result<()> {
    let rows: Vec<[String; 3]> = providers
        .iter()
        .map(|p| {
            let state = match (&p.error, p.credential, p.helper) {
                (Some(error), _, _) => format!("error: {error}"),
                (None, _, _) if p.from_env.is_some() => {
                    format!("from ${}", p.from_env.as_deref().unwrap_or_default())
                }
                (None, Some(kind), _) if p.made_by_another.is_some() => {
                    format!("{kind} of another plugin: log in again")
                }
                (None, Some(kind), _) => match (p.stored_in, backend) {
                    (Some(StoreBackend::Keyring), _) => format!("{kind} (keyring)"),
                    (_, StoreBackend::Keyring) => format!("{kind} (auth.json)"),
                    _ => kind.to_string(),
                },
                (None, None, true) if p.cached => "helper (key cached)".into(),
                (None, None, true) if p.configured => "helper".into(),
                (None, None, true) => "helper (not configured)".into(),
                (None, None, false) => "not logged in".into(),
            };
            [p.provider.clone(), p.plugin.clone(), state]
        })
        .collect();
    table::print(io, ["PROVIDER", "PLUGIN", "CREDENTIAL"], &rows)
}
