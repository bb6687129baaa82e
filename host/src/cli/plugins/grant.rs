//! `authhost plugins grant` and `authhost plugins revoke`: a folder
//! plugin's grants in config.toml.

use std::process::ExitCode;

use authhost::Host;
use authhost::capability::Capability;

use crate::cli::{Io, table};

/// `authhost plugins grant`.
#[derive(Debug, clap::Args)]
pub struct GrantArgs {
    /// The plugin id.
    id: String,
    /// Capabilities: process[:NAME], loopback[:PORT], browser, prompt,
    /// http:SCHEME://HOST[:PORT].
    #[arg(
        required_unless_present = "all_requested",
        conflicts_with = "all_requested"
    )]
    capabilities: Vec<Capability>,
    /// Grant everything the plugin requests, after showing what that
    /// is: `http:{OPTION}` requests become the origin of that option in
    /// each provider that uses the plugin (or in `--provider`).
    #[arg(long)]
    all_requested: bool,
    /// With `--all-requested`: fill `http:{OPTION}` requests in from
    /// this provider's options only.
    #[arg(long, requires = "all_requested", value_name = "NAME")]
    provider: Option<String>,
}

/// `authhost plugins revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The plugin id.
    id: String,
    /// The capabilities, as granted.
    #[arg(required = true)]
    capabilities: Vec<Capability>,
}

/// Grants the capabilities named, or all that the plugin requests.
pub async fn grant(io: &Io, host: &Host, args: GrantArgs) -> anyhow::Result<ExitCode> {
    let id = &args.id;
    let file = &crate::cli::files(host).config_file;
    let capabilities = if args.all_requested {
        let requested = host.requested(id, args.provider.as_deref()).await?;
        let shown: Vec<String> = requested.iter().map(ToString::to_string).collect();
        errln!(
            io,
            "{id} requests: {}",
            if shown.is_empty() {
                "nothing".to_owned()
            } else {
                shown.join(", ")
            }
        );
        requested
    } else {
        args.capabilities
    };
    // Grants made for another build of the plugin's file are suspended;
    // granting binds them to the file there is now.
    let suspended = host
        .plugins()
        .await?
        .into_iter()
        .any(|p| p.id == *id && p.grants_suspended.is_some());
    let added = host.grant(id, &capabilities).await?;
    if added.is_empty() && suspended {
        errln!(
            io,
            "Granted {} to the current build of {id} in {} (its grants were suspended since its file changed)",
            table::capabilities(&capabilities),
            file.display()
        );
    } else if added.is_empty() {
        errln!(io, "{id} already had those grants");
    } else {
        errln!(
            io,
            "Granted {} to {id} in {}",
            table::capabilities(&added),
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Takes the capabilities back.
pub async fn revoke(io: &Io, host: &Host, args: &RevokeArgs) -> anyhow::Result<ExitCode> {
    let id = &args.id;
    let file = &crate::cli::files(host).config_file;
    let removed = host.revoke(id, &args.capabilities).await?;
    if removed.is_empty() {
        errln!(io, "{id} had none of those grants");
    } else {
        errln!(
            io,
            "Revoked {} from {id} in {}",
            table::capabilities(&removed),
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
