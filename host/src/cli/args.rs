//! The top-level command line: global options, the list of commands and the
//! help text around them. Each command's own arguments are in its module.

use clap::{Parser, Subcommand};

use super::{
    completions, exec, git_credential, list, login, logout, paths, plugins, status, store, token,
};

/// One host for the API keys and logins of AI tools: every provider is a
/// sandboxed WebAssembly component.
///
/// Files live in $AUTHHOST_HOME when it is set (config.toml, auth.json,
/// plugins/, cache/), otherwise in the platform's config, data and cache
/// directories.
#[derive(Debug, Parser)]
#[command(
    name = "authhost",
    version,
    max_term_width = 100,
    after_help = EXIT_CODES,
    after_long_help = LONG_HELP
)]
pub struct Cli {
    /// Log more to stderr: -v for debug, -vv for trace. Secrets are never
    /// logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// The commands, each run by its module's `run`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to a provider and store the credential.
    Login(login::Args),
    /// Log out: revoke the login at the service (when its provider can),
    /// then remove the stored and cached credentials.
    Logout(logout::Args),
    /// List the providers in use and what is stored for each (never the
    /// secret); `--all` adds the well-known providers not logged in to.
    List(list::Args),
    /// Show the login state of one provider or of all: the credential's
    /// kind, expiry and account facts. Reads only local files unless
    /// `--check` is given.
    Status(status::Args),
    /// Print a provider's key on stdout, for use as another tool's key
    /// helper.
    Token(token::Args),
    /// Run a command with providers' keys in its environment (and nowhere
    /// else): `authhost exec --env anthropic -- aider`. Its exit code is
    /// authhost's; SIGINT and SIGTERM are passed on to it.
    Exec(exec::Args),
    /// Manage plugins: list, inspect, install, grant and revoke
    /// capabilities, remove.
    Plugins {
        #[command(subcommand)]
        command: plugins::Command,
    },
    /// Where credentials are stored: auth.json, or the OS keyring.
    #[command(long_about = store::HELP)]
    Store {
        #[command(subcommand)]
        command: store::Command,
    },
    /// A git credential helper: gives git a provider's key for the hosts in
    /// its `git_hosts`.
    #[command(name = "git-credential", long_about = git_credential::HELP)]
    GitCredential(git_credential::Args),
    /// Print where authhost keeps its files, and where secrets go.
    Paths(paths::Args),
    /// Print a shell completion script: `authhost completions bash >
    /// ~/.local/share/bash-completion/completions/authhost`.
    Completions(completions::Args),
    /// Print the manual page (roff): `authhost man | man -l -`.
    Man,
}

/// The exit codes, as `-h` and `--help` show them.
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0    success
  1    error, or a question answered \"no\" (nothing was changed)
  2    usage error: an unknown command, option or provider, or a missing
       argument
  4    login needed: no credential, the login expired or was revoked, or
       it was made by another plugin (run `authhost login PROVIDER`)
  130  cancelled (Ctrl-C)
Every command keeps to these; `authhost exec`, once its command runs,
exits with that command's code."
    };
}

/// `-h`: the exit codes.
const EXIT_CODES: &str = exit_codes!();

/// `--help`: examples, the environment and the exit codes.
const LONG_HELP: &str = concat!(
    "\
Examples:
  authhost login                          pick a provider and log in
  authhost login anthropic                paste an Anthropic API key (no echo)
  printf %s \"$KEY\" | authhost login openai --method api-key
  authhost login openrouter               OpenRouter's OAuth login in your browser
  authhost token anthropic                print the key, for another tool's key helper
  authhost token work --format kube       a kubectl ExecCredential (or `--format json`)
  authhost exec --env anthropic -- aider  run a program with ANTHROPIC_API_KEY set
  authhost store migrate --to keyring     move the secrets from auth.json to the OS keyring
  git config --global credential.https://github.com.helper '!authhost git-credential'
  authhost status --check                 who each key belongs to, its expiry and usage
  authhost completions bash > ~/.local/share/bash-completion/completions/authhost

Environment:
  AUTHHOST_HOME   keep every file under this directory (see `authhost paths`)
  AUTHHOST_STORE  `file` or `keyring`: where new secrets go (over `[store] backend`)
  AUTHHOST_LOG    a log filter, e.g. `authhost=debug` or `trace` (overrides -v)
  BROWSER         the command that opens login pages (the URL is its last argument)
  NO_COLOR        no colour in log lines (there is none when stderr is not a terminal)

",
    exit_codes!()
);
