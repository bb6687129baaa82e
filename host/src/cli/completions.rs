//! `authhost completions SHELL` and `authhost man`: the command line
//! described for shells and for `man`, made from the parser itself. Neither
//! opens the host.

use std::process::ExitCode;

use anyhow::Context;

use super::Io;
use super::args::Cli;

/// `authhost completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Prints the completion script for the shell.
pub fn run(io: &Io, args: &Args) -> anyhow::Result<ExitCode> {
    // Made whole first: the generator panics on a failed write.
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "authhost", &mut script);
    io.out_bytes(&script)?;
    Ok(ExitCode::SUCCESS)
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
        for shell in clap_complete::Shell::value_variants() {
            let (io, out, err) = Io::in_memory();
            let code = super::run(&io, &Args { shell: *shell }).unwrap();
            assert_eq!(code, ExitCode::SUCCESS);
            let script = out.text();
            assert!(script.contains("authhost"), "{shell}: {script}");
            assert!(script.contains("git-credential"), "{shell}: {script}");
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
