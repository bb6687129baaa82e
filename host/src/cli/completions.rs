//! Shell completion and `authhost man`: the command line described for
//! shells and for `man`, made from the parser itself.
//!
//! Completion is dynamic (clap_complete's `CompleteEnv`): the script
//! `authhost completions bash|zsh|fish` prints registers authhost itself
//! as the completer, so provider names complete from `config.toml`, the
//! catalog and the store as they are at the moment of the <TAB>. PowerShell
//! and elvish get the static script (commands and options only).

use std::ffi::{OsStr, OsString};
use std::process::ExitCode;

use anyhow::Context;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::EnvCompleter;

use super::Io;
use super::args::Cli;

/// The environment variable that asks authhost for completions (set by
/// the registration script, never by hand).
const COMPLETE_VAR: &str = "AUTHHOST_COMPLETE";

/// `authhost completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Answers the shell when the registration script runs authhost for
/// completions (`AUTHHOST_COMPLETE` set), and exits; otherwise returns.
pub fn answer_the_shell() {
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .var(COMPLETE_VAR)
        .complete();
}

/// Prints the completion script for the shell: for bash, zsh and fish the
/// registration of authhost's dynamic completion (provider names too).
pub fn run(io: &Io, args: &Args) -> anyhow::Result<ExitCode> {
    use clap_complete::Shell;
    // Made whole first: the generator panics on a failed write.
    let mut script = Vec::new();
    let dynamic: Option<&dyn EnvCompleter> = match args.shell {
        Shell::Bash => Some(&clap_complete::env::Bash),
        Shell::Zsh => Some(&clap_complete::env::Zsh),
        Shell::Fish => Some(&clap_complete::env::Fish),
        _ => None,
    };
    match dynamic {
        Some(shell) => {
            let completer = completer().to_string_lossy().into_owned();
            shell
                .write_registration(
                    COMPLETE_VAR,
                    "authhost",
                    "authhost",
                    &completer,
                    &mut script,
                )
                .context("cannot write the completion script")?;
        }
        None => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "authhost", &mut script);
        }
    }
    io.out_bytes(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// The program the shell runs for completions: this one, by its absolute
/// path when it was started by a path, else `authhost` from `PATH`.
fn completer() -> OsString {
    let Some(argv0) = std::env::args_os().next() else {
        return "authhost".into();
    };
    if std::path::Path::new(&argv0).components().nth(1).is_none() {
        return "authhost".into();
    }
    std::path::absolute(&argv0)
        .map(OsString::from)
        .unwrap_or(argv0)
}

/// Completes a provider's name (for `token`, `login`, `logout`, `status`).
pub fn provider() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| providers_starting_with("", current))
}

/// Completes `exec --env [NAME=]PROVIDER`: the provider after `NAME=`.
pub fn env_provider() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| {
        let current = current.to_string_lossy();
        match current.split_once('=') {
            Some((name, provider)) => {
                providers_starting_with(&format!("{name}="), OsStr::new(provider))
            }
            None => providers_starting_with("", OsStr::new(current.as_ref())),
        }
    })
}

/// The provider names that start with `current`, each after `prefix`:
/// configured, in the catalog, stored, and the plugins that are
/// providers. Only the catalog when the host cannot be opened.
fn providers_starting_with(prefix: &str, current: &OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    names()
        .into_iter()
        .filter(|name| name.starts_with(current.as_ref()))
        .map(|name| CompletionCandidate::new(format!("{prefix}{name}")))
        .collect()
}

fn names() -> Vec<String> {
    let catalog = || {
        authhost::catalog::entries()
            .iter()
            .map(|e| e.id.clone())
            .collect()
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return catalog();
    };
    let host = authhost::HostOptions::from_env().and_then(|options| {
        authhost::Host::open(options.interaction(std::sync::Arc::new(authhost::interact::Silent)))
    });
    match host {
        Ok(host) => {
            let names = runtime.block_on(host.provider_names());
            std::mem::forget(host);
            names
        }
        Err(_) => catalog(),
    }
}

/// `authhost man`: prints the manual page (roff).
pub fn man(io: &Io) -> anyhow::Result<ExitCode> {
    let command = <Cli as clap::CommandFactory>::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .context("cannot write the manual page")?;
    io.out_bytes(&page)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::process::ExitCode;

    use clap::ValueEnum;

    use super::Args;
    use crate::cli::Io;

    #[test]
    fn every_shell_gets_a_script_on_stdout() {
        use clap_complete::Shell;
        for shell in Shell::value_variants() {
            let (io, out, err) = Io::in_memory();
            let code = super::run(&io, &Args { shell: *shell }).unwrap();
            assert_eq!(code, ExitCode::SUCCESS);
            let script = out.text();
            assert!(script.contains("authhost"), "{shell}: {script}");
            // bash, zsh and fish ask authhost itself; the others get the
            // commands written out.
            let dynamic = matches!(shell, Shell::Bash | Shell::Zsh | Shell::Fish);
            let needle = if dynamic {
                super::COMPLETE_VAR
            } else {
                "git-credential"
            };
            assert!(script.contains(needle), "{shell}: {script}");
            assert_eq!(err.text(), "", "{shell}");
        }
    }

    #[test]
    fn the_manual_page_is_roff() {
        let (io, out, _) = Io::in_memory();
        super::man(&io).unwrap();
        assert!(
            out.text().starts_with(".ie \\n(.g .ds Aq"),
            "{}",
            out.text()
        );
        assert!(out.text().contains(".TH authhost 1"), "{}", out.text());
    }
}
