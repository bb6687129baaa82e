//! `authhost plugins install FILE [--force] [--grant]`: installs a
//! component, shows what it requests and grants it when asked to.

use std::path::PathBuf;
use std::process::ExitCode;

use authhost::Host;
use authhost::interact::Interaction;

use crate::cli::{Io, table};

/// `authhost plugins install`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The component file (`.wasm`).
    path: PathBuf,
    /// Replace an installed plugin with the same id (another build), or
    /// another plugin's file of the same name.
    #[arg(long)]
    force: bool,
    /// Grant everything it requests, without asking.
    #[arg(long, visible_alias = "yes", short = 'y')]
    grant: bool,
}

/// `plugins install --help`.
pub const HELP: &str = "\
Examples:
  authhost plugins install ./acme.wasm            check, copy, compile; offer to grant
  authhost plugins install ./acme.wasm --grant    and grant all it requests (scripts)
  authhost plugins install ./acme-2.wasm --force  replace the installed build of acme

What happens:
  The file is read once and must be a WebAssembly component built against a
  supported authhost:provider version whose `describe` answers; nothing else
  of it runs. It is written to the plugins folder as ID.wasm (mode 0600, via a
  temporary file and a rename) and compiled once (a notice shows at a
  terminal). Another build with the same id, or another plugin in ID.wasm, is
  replaced only with --force. Then its requests are listed, `http:{OPTION}`
  ones filled in from the providers that use it (`[providers.NAME] OPTION`),
  and at a terminal you are asked whether to grant them; --grant grants them
  without asking; otherwise the `authhost plugins grant` command is printed.
  Grants are bound to this build: installing another build suspends them.";

/// Installs, shows what the plugin requests, and grants it when asked to
/// (or when the user says yes at a terminal).
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let installed = host.install(&args.path, args.force).await?;
    let id = &installed.info.id;
    let name = installed
        .info
        .metadata
        .as_ref()
        .map(|m| m.display_name.clone())
        .unwrap_or_default();
    for file in installed.replaced.iter().filter(|f| **f != installed.file) {
        errln!(io, "Removed {} (replaced)", file.display());
    }
    if installed.unchanged {
        errln!(
            io,
            "{id} ({name}) is already installed as {}",
            installed.file.display()
        );
    } else {
        errln!(
            io,
            "Installed {id} ({name}, WIT {}) as {}",
            installed.info.wit_version.as_deref().unwrap_or("?"),
            installed.file.display()
        );
    }
    for template in &installed.templates {
        errln!(
            io,
            "  {template}: HTTP to the origin of that option, granted per provider \
             (`authhost plugins grant {id} --all-requested --provider NAME` after setting it)"
        );
    }
    if installed.requested.is_empty() {
        errln!(io, "It requests no capability.");
        return Ok(ExitCode::SUCCESS);
    }
    let missing = &installed.info.missing;
    let granted_already = missing.is_empty() && installed.info.grants_suspended.is_none();
    // At a terminal the question lists what it asks for; elsewhere the
    // listing is shown on its own.
    if args.grant || granted_already || !io.stdin_is_terminal() {
        err!(
            io,
            "It requests:\n{}",
            authhost::capability::capability_lines(&installed.requested)
        );
    }
    if granted_already {
        errln!(io, "All of it is granted already.");
        return Ok(ExitCode::SUCCESS);
    }
    let command = format!("authhost plugins grant {id} --all-requested");
    let grant = args.grant
        || authhost::interact::Terminal
            .confirm(&authhost::capability::grant_question(
                id,
                None,
                &installed.requested,
            ))
            .await
            == Some(true);
    if grant {
        host.grant_installed(&installed)?;
        errln!(
            io,
            "Granted {} to {id} in {}",
            table::capabilities(&installed.requested),
            crate::cli::files(host).config_file.display()
        );
    } else {
        errln!(io, "Not granted; to grant it all later: {command}");
    }
    Ok(ExitCode::SUCCESS)
}
