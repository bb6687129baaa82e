//! `authhost plugins SUBCOMMAND`: the plugins, built-in and in the plugins
//! folder, and their grants. One module per subcommand.

mod grant;
mod inspect;
mod install;
mod list;
mod remove;

use std::process::ExitCode;

use authhost::Host;

use super::Io;

/// `authhost plugins`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List built-in and folder plugins with their capabilities and errors.
    List(list::Args),
    /// Examine a `.wasm` file: id, WIT version, requested capabilities, size
    /// and whether it would load. Runs only its `describe` export, with no
    /// capabilities.
    Inspect(inspect::Args),
    /// Grant capabilities to a folder plugin (written to config.toml,
    /// keeping its comments and formatting).
    Grant(grant::GrantArgs),
    /// Install a provider component into the plugins folder: it is checked
    /// (a component for a supported WIT version that describes itself),
    /// copied as ID.wasm (owner-only) and compiled once; then what it
    /// requests is shown and, at a terminal, offered for granting.
    #[command(after_long_help = install::HELP)]
    Install(install::Args),
    /// Remove a folder plugin: its file, its compiled code, its index
    /// entries and its grants in config.toml. Asks first at a terminal.
    #[command(after_long_help = remove::HELP)]
    Remove(remove::Args),
    /// Take capabilities back from a folder plugin.
    Revoke(grant::RevokeArgs),
}

/// Hands the subcommand to its module.
pub async fn run(io: &Io, host: &Host, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List(args) => list::run(io, host, &args).await,
        Command::Inspect(args) => inspect::run(io, host, &args).await,
        Command::Grant(args) => grant::grant(io, host, args).await,
        Command::Install(args) => install::run(io, host, &args).await,
        Command::Remove(args) => remove::run(io, host, &args).await,
        Command::Revoke(args) => grant::revoke(io, host, &args).await,
    }
}
