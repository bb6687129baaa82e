//! `authhost plugins remove ID [--yes]`: removes a folder plugin and its
//! grants.

use std::process::ExitCode;

use authhost::Host;
use authhost::interact::Interaction;

use crate::cli::Io;

/// `authhost plugins remove`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin id (as `authhost plugins list` shows it).
    id: String,
    /// Do not ask.
    #[arg(long, short = 'y')]
    yes: bool,
}

/// `plugins remove --help`.
pub const HELP: &str = "\
Examples:
  authhost plugins remove acme        asks first at a terminal
  authhost plugins remove acme --yes  no question (scripts)

What is removed:
  every file in the plugins folder that reports the id, its compiled code in
  cache/components/, its entries in cache/plugins.json and its [plugins.ID]
  table (grants) in config.toml, keeping the rest of the file as it is.
  Credentials stored for its providers and their [providers.NAME] tables are
  kept (`authhost logout NAME` removes a credential). Built-in plugins cannot
  be removed.";

/// Removes the plugin, after asking at a terminal unless `--yes`.
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let id = &args.id;
    if !args.yes {
        let question = format!(
            "Remove plugin {}: its file, compiled code and grants?",
            id.escape_debug()
        );
        if authhost::interact::Terminal.confirm(&question).await == Some(false) {
            return Err(authhost::Error::Declined(format!(
                "kept plugin {}: nothing was removed",
                id.escape_debug()
            ))
            .into());
        }
    }
    let removed = host.remove_plugin(id).await?;
    for file in &removed.files {
        errln!(io, "Removed {}", file.display());
    }
    if removed.grants_removed {
        errln!(
            io,
            "Removed [plugins.{id}] from {}",
            crate::cli::files(host).config_file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
