//! Command-line parsing and output. All work is done by [`authhost::Host`].

// First: its macros are used by the modules below.
#[macro_use]
mod output;

mod exec;
mod git_credential;
mod picker;
mod status;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use authhost::{
    Host, HostOptions, LoginOptions, PluginInfo, ProviderStatus, Saved, StoreBackend, TokenOptions,
};
use clap::{Parser, Subcommand};

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
struct Cli {
    /// Log more to stderr: -v for debug, -vv for trace. Secrets are never
    /// logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

/// The exit codes, as `-h` and `--help` show them.
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0    success
  1    error
  2    usage error (unknown command or option)
  4    login needed: no credential, the login expired or was revoked, or
       it was made by another plugin (run `authhost login PROVIDER`)
  130  cancelled (Ctrl-C, or a prompt closed)"
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

/// `plugins install --help`.
const INSTALL_HELP: &str = "\
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

/// `plugins remove --help`.
const REMOVE_HELP: &str = "\
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

/// Exit code: a usage error (as clap uses it).
const EXIT_USAGE: u8 = 2;
/// Exit code: the user must log in (as `gh` uses it).
const EXIT_LOGIN_NEEDED: u8 = 4;
/// Exit code: cancelled.
const EXIT_CANCELLED: u8 = 130;

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in to a provider and store the credential.
    Login {
        /// The provider, e.g. `anthropic` or `openrouter`; without one, a
        /// list to pick from (at a terminal).
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
    },
    /// Remove a provider's stored and cached credentials.
    Logout {
        /// The provider.
        provider: String,
    },
    /// List providers and whether a credential is stored (never the secret).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the login state of one provider or of all: the credential's
    /// kind, expiry and account facts. Reads only local files unless
    /// `--check` is given.
    Status {
        /// The provider; all providers when omitted.
        provider: Option<String>,
        /// Also ask each provider's service about its credential (whom it
        /// belongs to, expiry, usage): runs the plugin, a helper included.
        #[arg(long)]
        check: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a provider's key on stdout, for use as another tool's key
    /// helper.
    Token {
        /// The provider.
        provider: String,
        /// Get a fresh credential: refresh an OAuth login now, or run a
        /// helper instead of using its cached key.
        #[arg(long)]
        refresh: bool,
        /// How to print it: the key alone (`plain`), a JSON object with its
        /// kind and expiry (`json`), or a Kubernetes `ExecCredential`
        /// (`kube`, for a kubeconfig's `exec` entry).
        #[arg(long, value_enum, default_value_t = TokenFormat::Plain)]
        format: TokenFormat,
    },
    /// Run a command with providers' keys in its environment (and nowhere
    /// else): `authhost exec --env anthropic -- aider`. Its exit code is
    /// authhost's; SIGINT and SIGTERM are passed on to it.
    Exec {
        /// A variable to set: `NAME=PROVIDER`, or `PROVIDER` for the
        /// provider's own variable (its `env` in config.toml, else the
        /// catalog's, e.g. ANTHROPIC_API_KEY). Repeatable.
        #[arg(long = "env", value_name = "[NAME=]PROVIDER")]
        env: Vec<String>,
        /// Every provider with a stored key or a configured helper, in its
        /// own variable.
        #[arg(long)]
        all: bool,
        /// The command and its arguments (run directly, without a shell).
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<std::ffi::OsString>,
    },
    /// Inspect plugins.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Where credentials are stored: auth.json, or the OS keyring.
    #[command(long_about = STORE_HELP)]
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// A git credential helper: gives git a provider's key for the hosts in
    /// its `git_hosts`.
    #[command(name = "git-credential", long_about = GIT_CREDENTIAL_HELP)]
    GitCredential {
        /// What git asks: `get` a credential, `store` one that worked,
        /// `erase` one that was rejected.
        operation: GitOperation,
    },
    /// Print where authhost keeps its files, and where secrets go.
    Paths {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: `authhost completions bash >
    /// ~/.local/share/bash-completion/completions/authhost`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `authhost man | man -l -`.
    Man,
}

/// `authhost store`.
#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Move every stored credential's secrets to the OS keyring or back to
    /// auth.json, and make that the store for new credentials.
    #[command(long_about = MIGRATE_HELP)]
    Migrate {
        /// Where the secrets go.
        #[arg(long, value_enum)]
        to: BackendArg,
    },
}

/// A store backend on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BackendArg {
    /// auth.json (mode 0600).
    File,
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
}

impl From<BackendArg> for StoreBackend {
    fn from(arg: BackendArg) -> StoreBackend {
        match arg {
            BackendArg::File => StoreBackend::File,
            BackendArg::Keyring => StoreBackend::Keyring,
        }
    }
}

/// The operations of git's credential-helper protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GitOperation {
    /// Print `username=` and `password=` for a matching provider, nothing
    /// otherwise.
    Get,
    /// git reports a credential that worked (kept only with `git_store`).
    Store,
    /// git reports a credential that was rejected (forgotten only with
    /// `git_store`).
    Erase,
}

/// `authhost store --help`.
const STORE_HELP: &str = "\
Where credentials are stored.

With `[store] backend = \"file\"` (the default) each credential is kept whole in
auth.json (mode 0600). With `[store] backend = \"keyring\"` in config.toml, or
AUTHHOST_STORE=keyring, the secrets (API keys, access and refresh tokens) go to
the OS keyring: the Secret Service on Linux (GNOME Keyring, KWallet, KeePassXC),
the Keychain on macOS, the Credential Manager on Windows. auth.json then holds
only what is not secret: the kind, the expiry, account facts and a reference to
the keyring item (service `authhost`).

Each entry says where its secrets are, so both kinds are read under either
backend; the backend decides where new and renewed credentials go.
`authhost store migrate` moves the existing ones.";

/// `authhost store migrate --help`.
const MIGRATE_HELP: &str = "\
Move every stored credential's secrets to the OS keyring (`--to keyring`) or
back into auth.json (`--to file`), then set `[store] backend` in config.toml so
that new and renewed credentials go there too.

One credential at a time, in an order that keeps each readable throughout:
the new copy is written first, then auth.json is switched over atomically, then
the old copy is deleted. If the move is interrupted (a crash, a keyring that
stops answering), run it again: it moves what is left and leaves the rest.

Examples:
  authhost store migrate --to keyring
  authhost store migrate --to file      back to auth.json, e.g. for a headless server

When the keyring cannot be used (no D-Bus session, no Secret Service, a locked
keyring) nothing is moved and the error says what to do.";

/// `authhost git-credential --help`.
const GIT_CREDENTIAL_HELP: &str = "\
A git credential helper: gives git a provider's key for the hosts listed in its
`git_hosts`.

  # config.toml
  [providers.github]
  plugin = \"shell-helper\"            # or any provider with a stored key
  git_hosts = [\"github.com\"]         # also \"host/path-prefix\", \"http://127.0.0.1:3000\"
  git_username = \"x-access-token\"    # the default; GitLab wants \"oauth2\"

  git config --global credential.https://github.com.helper '!authhost git-credential'

git writes `key=value` lines (protocol, host, path, username) on stdin. For
`get`, authhost prints `username=` and `password=` (and `password_expiry_utc=`
for a token with an expiry) when a provider's `git_hosts` matches, and nothing
when none does, so git asks its next helper. A pattern without a scheme matches
https only; write `http://HOST` to allow plain HTTP. The longest matching path
prefix wins. The username is `git_username`, else the one in the URL, else
`x-access-token`.

`store` and `erase` do nothing unless the provider has `git_store = true`: then
`store` keeps a password git obtained elsewhere (typed at its prompt) as the
provider's API key, and `erase` removes the stored key when git reports that
exact key rejected (locally only; nothing is revoked). Without it, a rejection
by one git host never deletes a key other tools use.

Nothing but the answer is written to stdout; errors go to stderr.";

/// How `authhost token` prints the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TokenFormat {
    /// The key alone, on one line.
    Plain,
    /// `{"token", "expires_at", "provider", "kind"}`.
    Json,
    /// A `client.authentication.k8s.io/v1` `ExecCredential`.
    Kube,
}

#[derive(Debug, Subcommand)]
enum PluginsCommand {
    /// List built-in and folder plugins with their capabilities and errors.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Examine a `.wasm` file: id, WIT version, requested capabilities, size
    /// and whether it would load. Runs only its `describe` export, with no
    /// capabilities.
    Inspect {
        /// The component file.
        path: std::path::PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Grant capabilities to a folder plugin (written to config.toml,
    /// keeping its comments and formatting).
    Grant {
        /// The plugin id.
        id: String,
        /// Capabilities: process[:NAME], loopback[:PORT], browser, prompt,
        /// http:SCHEME://HOST[:PORT].
        #[arg(
            required_unless_present = "all_requested",
            conflicts_with = "all_requested"
        )]
        capabilities: Vec<authhost::capability::Capability>,
        /// Grant everything the plugin requests, after showing what that
        /// is: `http:{OPTION}` requests become the origin of that option in
        /// each provider that uses the plugin (or in `--provider`).
        #[arg(long)]
        all_requested: bool,
        /// With `--all-requested`: fill `http:{OPTION}` requests in from
        /// this provider's options only.
        #[arg(long, requires = "all_requested", value_name = "NAME")]
        provider: Option<String>,
    },
    /// Install a provider component into the plugins folder: it is checked
    /// (a component for a supported WIT version that describes itself),
    /// copied as ID.wasm (owner-only) and compiled once; then what it
    /// requests is shown and, at a terminal, offered for granting.
    #[command(after_long_help = INSTALL_HELP)]
    Install {
        /// The component file (`.wasm`).
        path: std::path::PathBuf,
        /// Replace an installed plugin with the same id (another build), or
        /// another plugin's file of the same name.
        #[arg(long)]
        force: bool,
        /// Grant everything it requests, without asking.
        #[arg(long, visible_alias = "yes", short = 'y')]
        grant: bool,
    },
    /// Remove a folder plugin: its file, its compiled code, its index
    /// entries and its grants in config.toml. Asks first at a terminal.
    #[command(after_long_help = REMOVE_HELP)]
    Remove {
        /// The plugin id (as `authhost plugins list` shows it).
        id: String,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Take capabilities back from a folder plugin.
    Revoke {
        /// The plugin id.
        id: String,
        /// The capabilities, as granted.
        #[arg(required = true)]
        capabilities: Vec<authhost::capability::Capability>,
    },
}

/// Runs the CLI and returns its exit code.
pub fn main() -> ExitCode {
    let cli = parse();
    init_logging(cli.verbose);
    match &cli.command {
        Command::Completions { shell } => {
            // Made whole first: the generator panics on a failed write.
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "authhost", &mut script);
            output::stdout_bytes(&script);
            return ExitCode::SUCCESS;
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            if let Err(e) = clap_mangen::Man::new(command).render(&mut page) {
                return report(&anyhow::Error::new(e).context("cannot write the manual page"));
            }
            output::stdout_bytes(&page);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// Parses the command line. `login --help` also lists each provider's
/// login methods, which takes loading the plugins: only then.
fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let login_help = args.iter().any(|a| a == "login") && args.iter().any(|a| a == "--help");
    let mut command = Cli::command();
    if login_help && let Some(methods) = login_methods() {
        command = command.mut_subcommand("login", |login| login.after_long_help(methods));
    }
    let matches = command.get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The login methods of every plugin, and the catalog's providers, for
/// `login --help`; `None` when the host cannot be opened.
fn login_methods() -> Option<String> {
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

fn init_logging(verbose: u8) {
    // authhost's own lines only, up to -vv; the engine's (wasmtime,
    // cranelift, the HTTP client) at -vvv or through AUTHHOST_LOG.
    let default = match verbose {
        0 => "authhost=warn",
        1 => "authhost=debug",
        2 => "authhost=trace",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTHHOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only for a person at a terminal, and never with NO_COLOR.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(output::log_writer)
        .with_target(false)
        .without_time()
        .init();
}

/// Prints the error and its causes, one line each, and picks the exit code.
/// An error caused by a closed stdout is no error: the reader has gone, so
/// the command ends quietly with exit 0.
fn report(error: &anyhow::Error) -> ExitCode {
    let closed_pipe = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(output::is_closed_pipe);
    if closed_pipe {
        return ExitCode::SUCCESS;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {error}");
    for cause in error.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    match error.downcast_ref::<authhost::Error>() {
        Some(authhost::Error::Cancelled) => ExitCode::from(EXIT_CANCELLED),
        Some(e) if e.needs_login() => ExitCode::from(EXIT_LOGIN_NEEDED),
        _ => ExitCode::FAILURE,
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    // A person at a terminal sees why a first run takes seconds.
    let notices = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut options = HostOptions::from_env()?.compile_notices(notices);
    if matches!(command, Command::GitCredential { .. }) {
        options = options.interaction(std::sync::Arc::new(git_credential::interaction()));
    }
    let host = Host::open(options)?;
    let result = execute(&host, command).await;
    // The process ends next: tearing down the engine and the compiled
    // plugins would cost more than the rest of `authhost token`. Nothing in
    // the host is pending (the store writes are done and synced).
    std::mem::forget(host);
    result
}

async fn execute(host: &Host, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Token {
            provider,
            refresh,
            format,
        } => {
            let options = TokenOptions::default().refresh(refresh);
            let token = host.token(&provider, options).await?;
            let text = match format {
                TokenFormat::Plain => token.expose_secret().to_owned(),
                TokenFormat::Json => token_json(&provider, &token).to_string(),
                TokenFormat::Kube => kube_credential(&token).to_string(),
            };
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{text}")
                .and_then(|()| stdout.flush())
                .context("cannot write to stdout")?;
        }
        Command::Exec { env, all, command } => {
            return exec::run(host, &env, all, &command).await;
        }
        Command::GitCredential { operation } => {
            let operation = match operation {
                GitOperation::Get => authhost::git::Operation::Get,
                GitOperation::Store => authhost::git::Operation::Store,
                GitOperation::Erase => authhost::git::Operation::Erase,
            };
            git_credential::run(host, operation).await?;
        }
        Command::Store {
            command: StoreCommand::Migrate { to },
        } => migrate(host, to.into()).await?,
        Command::Login {
            provider,
            method,
            no_browser,
            force,
        } => {
            let provider = match provider {
                Some(provider) => provider,
                None => match picker::pick(host).await? {
                    Some(provider) => provider,
                    None => return Ok(ExitCode::from(EXIT_USAGE)),
                },
            };
            let mut options = LoginOptions::default().no_browser(no_browser).force(force);
            if let Some(method) = method {
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
                        format!("stored in {}", host.paths().store_file.display())
                    }
                },
                Saved::Cached(Some(until)) => {
                    let seconds = until.saturating_sub(authhost::credential::now_ms()) / 1000;
                    format!("the helper works; its key is cached for {seconds} s")
                }
                Saved::Cached(None) => "the helper works; its key is not cached".to_owned(),
                _ => "saved".to_owned(),
            };
            for warning in &outcome.warnings {
                errln!("warning: {warning}");
            }
            let verb = if outcome.replaced {
                "replaced the stored credential"
            } else {
                "logged in"
            };
            errln!(
                "Logged in to {provider} ({}; {saved}; {verb})",
                outcome.kind
            );
        }
        Command::Logout { provider } => {
            let outcome = host.logout(&provider).await?;
            if let Some(error) = &outcome.revoke_error {
                errln!("warning: could not revoke the login at the service: {error}");
            }
            if let Some(why) = &outcome.revoke_skipped {
                eprintln!(
                    "warning: did not revoke the login at the service: {why}; revoke it there if it may have leaked"
                );
            }
            match (outcome.removed, outcome.revoked) {
                (true, true) => {
                    errln!("Revoked the login of {provider} and removed its credentials")
                }
                (true, false) => errln!("Removed the credentials of {provider}"),
                (false, _) => errln!("Nothing was stored for {provider}"),
            }
        }
        Command::Status {
            provider,
            check,
            json,
        } => return status::run(host, provider.as_deref(), check, json).await,
        Command::List { json } => {
            let providers = host.list().await?;
            if json {
                print_json(&providers)?;
            } else {
                print_providers(&providers, host.store_backend());
            }
        }
        Command::Plugins {
            command: PluginsCommand::List { json },
        } => {
            host.create_plugins_dir()?;
            let plugins = host.plugins().await?;
            if json {
                print_json(&plugins)?;
            } else {
                print_plugins(&plugins);
            }
        }
        Command::Plugins {
            command: PluginsCommand::Inspect { path, json },
        } => {
            let inspection = host.inspect(&path).await;
            if json {
                print_json(&inspection)?;
            } else {
                print_inspection(&inspection);
            }
            if !inspection.would_load {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Paths { json } => {
            let paths = host.paths();
            let rows = [
                ("config", paths.config_file.clone()),
                ("store", paths.store_file.clone()),
                ("plugins", paths.plugins_dir.clone()),
                ("cache", paths.cache_dir.clone()),
            ];
            let backend = host.store_backend();
            if json {
                let mut map: serde_json::Map<String, serde_json::Value> = rows
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.display().to_string().into()))
                    .collect();
                map.insert("backend".into(), backend.name().into());
                print_json(&map)?;
            } else {
                for (name, path) in rows {
                    outln!("{name:<8} {}", path.display());
                }
                let secrets = match backend {
                    StoreBackend::File => "file (secrets in auth.json)",
                    StoreBackend::Keyring => {
                        "keyring (secrets in the OS keyring; auth.json holds the rest)"
                    }
                };
                outln!("{:<8} {secrets}", "backend");
            }
        }
        Command::Completions { .. } | Command::Man => unreachable!("handled before the host opens"),
        Command::Plugins {
            command: PluginsCommand::Install { path, force, grant },
        } => return install(host, &path, force, grant).await,
        Command::Plugins {
            command: PluginsCommand::Remove { id, yes },
        } => {
            use authhost::interact::Interaction;
            if !yes {
                let question = format!(
                    "Remove plugin {}: its file, compiled code and grants?",
                    id.escape_debug()
                );
                if authhost::interact::Terminal.confirm(&question).await == Some(false) {
                    return Err(authhost::Error::Cancelled.into());
                }
            }
            let removed = host.remove_plugin(&id).await?;
            for file in &removed.files {
                errln!("Removed {}", file.display());
            }
            if removed.grants_removed {
                errln!(
                    "Removed [plugins.{id}] from {}",
                    host.paths().config_file.display()
                );
            }
        }
        Command::Plugins {
            command: PluginsCommand::Revoke { id, capabilities },
        } => {
            let file = &host.paths().config_file;
            let removed = host.revoke(&id, &capabilities).await?;
            if removed.is_empty() {
                errln!("{id} had none of those grants");
            } else {
                let removed: Vec<String> = removed.iter().map(ToString::to_string).collect();
                errln!(
                    "Revoked {} from {id} in {}",
                    removed.join(", "),
                    file.display()
                );
            }
        }
        Command::Plugins {
            command:
                PluginsCommand::Grant {
                    id,
                    capabilities,
                    all_requested,
                    provider,
                },
        } => {
            let file = &host.paths().config_file;
            let capabilities = if all_requested {
                let requested = host.requested(&id, provider.as_deref()).await?;
                let shown: Vec<String> = requested.iter().map(ToString::to_string).collect();
                errln!(
                    "{id} requests: {}",
                    if shown.is_empty() {
                        "nothing".to_owned()
                    } else {
                        shown.join(", ")
                    }
                );
                requested
            } else {
                capabilities
            };
            let added = host.grant(&id, &capabilities).await?;
            if added.is_empty() {
                errln!("{id} already had those grants");
            } else {
                let added: Vec<String> = added.iter().map(ToString::to_string).collect();
                errln!("Granted {} to {id} in {}", added.join(", "), file.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `authhost plugins install`: installs, shows what the plugin requests,
/// and grants it when asked to (or when the user says yes at a terminal).
async fn install(
    host: &Host,
    path: &std::path::Path,
    force: bool,
    grant: bool,
) -> anyhow::Result<ExitCode> {
    use authhost::interact::Interaction;
    let installed = host.install(path, force).await?;
    let id = &installed.info.id;
    let name = installed
        .info
        .metadata
        .as_ref()
        .map(|m| m.display_name.clone())
        .unwrap_or_default();
    for file in installed.replaced.iter().filter(|f| **f != installed.file) {
        errln!("Removed {} (replaced)", file.display());
    }
    if installed.unchanged {
        errln!(
            "{id} ({name}) is already installed as {}",
            installed.file.display()
        );
    } else {
        errln!(
            "Installed {id} ({name}, WIT {}) as {}",
            installed.info.wit_version.as_deref().unwrap_or("?"),
            installed.file.display()
        );
    }
    let list = |caps: &[authhost::capability::Capability]| {
        caps.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for template in &installed.templates {
        errln!(
            "  {template}: HTTP to the origin of that option, granted per provider \
             (`authhost plugins grant {id} --all-requested --provider NAME` after setting it)"
        );
    }
    if installed.requested.is_empty() {
        errln!("It requests no capability.");
        return Ok(ExitCode::SUCCESS);
    }
    let missing = &installed.info.missing;
    let granted_already = missing.is_empty() && installed.info.grants_suspended.is_none();
    // At a terminal the question lists what it asks for; elsewhere the
    // listing is shown on its own.
    if grant || granted_already || !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        err!(
            "It requests:\n{}",
            authhost::capability::capability_lines(&installed.requested)
        );
    }
    if granted_already {
        errln!("All of it is granted already.");
        return Ok(ExitCode::SUCCESS);
    }
    let command = format!("authhost plugins grant {id} --all-requested");
    let grant = grant
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
            "Granted {} to {id} in {}",
            list(&installed.requested),
            host.paths().config_file.display()
        );
    } else {
        errln!("Not granted; to grant it all later: {command}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `authhost token --format json`: the key with what is known about it.
fn token_json(provider: &str, token: &authhost::Token) -> serde_json::Value {
    serde_json::json!({
        "token": token.expose_secret(),
        "expires_at": token.expires().map(authhost::credential::rfc3339),
        "provider": provider,
        "kind": token.kind(),
    })
}

/// `authhost token --format kube`: a `client.authentication.k8s.io/v1`
/// `ExecCredential`, as kubectl's `exec` credential plugins print it
/// (without `expirationTimestamp` when the expiry is unknown: kubectl then
/// keeps the token for the session), in the version kubectl asked for.
fn kube_credential(token: &authhost::Token) -> serde_json::Value {
    let mut status = serde_json::Map::new();
    status.insert("token".into(), token.expose_secret().into());
    if let Some(expires) = token.expires() {
        status.insert(
            "expirationTimestamp".into(),
            authhost::credential::rfc3339(expires).into(),
        );
    }
    serde_json::json!({
        "apiVersion": kube_api_version(),
        "kind": "ExecCredential",
        "status": status,
    })
}

/// The `ExecCredential` version kubectl asks for: kubectl sets
/// `KUBERNETES_EXEC_INFO` to an `ExecCredential` of the version the
/// kubeconfig names; `v1beta1` is answered in kind (kubectl before 1.22
/// knows no other), anything else with `v1`.
fn kube_api_version() -> &'static str {
    const V1: &str = "client.authentication.k8s.io/v1";
    const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
    let asked = std::env::var("KUBERNETES_EXEC_INFO")
        .ok()
        .and_then(|info| serde_json::from_str::<serde_json::Value>(&info).ok())
        .and_then(|info| info.get("apiVersion")?.as_str().map(str::to_owned));
    match asked.as_deref() {
        Some(V1BETA1) => V1BETA1,
        _ => V1,
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `authhost store migrate`.
async fn migrate(host: &Host, to: StoreBackend) -> anyhow::Result<()> {
    let place = match to {
        StoreBackend::Keyring => "the OS keyring",
        StoreBackend::File => "auth.json",
    };
    let migration = host
        .migrate_store(to, move |provider| {
            errln!("Moved {provider} to {place}");
        })
        .await?;
    let config = host.paths().config_file.display();
    errln!(
        "Moved {} credential(s) to {place}; {} were there already",
        migration.moved.len(),
        migration.already.len()
    );
    if !migration.changed.is_empty() {
        anyhow::bail!(
            "these changed while they were being moved (another authhost stored a credential): {}; run `authhost store migrate --to {to}` again",
            migration.changed.join(", ")
        );
    }
    errln!("New credentials go to {place} (`[store] backend = \"{to}\"` in {config})");
    if let Ok(value) = std::env::var("AUTHHOST_STORE")
        && !value.is_empty()
        && value != to.name()
    {
        errln!(
            "warning: AUTHHOST_STORE={value} is set in this environment and overrides config.toml"
        );
    }
    Ok(())
}

fn print_providers(providers: &[ProviderStatus], backend: StoreBackend) {
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
                (None, None, false) => "-".into(),
            };
            [p.provider.clone(), p.plugin.clone(), state]
        })
        .collect();
    print_table(["PROVIDER", "PLUGIN", "CREDENTIAL"], &rows);
}

fn print_plugins(plugins: &[PluginInfo]) {
    let rows: Vec<[String; 5]> = plugins
        .iter()
        .map(|p| {
            let detail = match &p.error {
                Some(error) => format!("error: {error}"),
                None => {
                    let list = |caps: &[authhost::capability::Capability]| {
                        caps.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let mut detail = format!("granted: {}", or_none(list(&p.granted)));
                    if !p.missing.is_empty() {
                        detail.push_str(&format!("; missing: {}", list(&p.missing)));
                    }
                    if p.grants_suspended.is_some() {
                        detail
                            .push_str("; grants suspended: the file changed since they were made");
                    }
                    detail
                }
            };
            let wit = p.wit_version.clone().unwrap_or_else(|| "-".into());
            let methods = p.metadata.as_ref().map_or_else(
                || "-".to_owned(),
                |m| {
                    m.methods
                        .iter()
                        .map(|m| m.id.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                },
            );
            [p.id.clone(), p.source.clone(), wit, methods, detail]
        })
        .collect();
    print_table(["ID", "SOURCE", "WIT", "METHODS", "CAPABILITIES"], &rows);
}

fn print_inspection(inspection: &authhost::Inspection) {
    let info = &inspection.info;
    let list = |caps: &[authhost::capability::Capability]| {
        or_none(
            caps.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    outln!("file:        {}", info.source);
    outln!("size:        {} bytes", inspection.size);
    if let Some(metadata) = &info.metadata {
        outln!("id:          {}", metadata.id);
        outln!("name:        {}", metadata.display_name);
        outln!("description: {}", metadata.description);
        outln!(
            "wit:         authhost:provider@{}",
            info.wit_version.as_deref().unwrap_or("?")
        );
        let methods: Vec<&str> = metadata.methods.iter().map(|m| m.id.as_str()).collect();
        outln!("methods:     {}", methods.join(", "));
        let requested: Vec<String> = metadata.requested.iter().map(ToString::to_string).collect();
        outln!("requests:    {}", or_none(requested.join(", ")));
        outln!("granted:     {}", list(&info.granted));
        outln!("missing:     {}", list(&info.missing));
        for (name, file) in &info.programs {
            match file {
                Some(file) => outln!("program:     {name} runs {}", file.display()),
                None => outln!("program:     {name} is not on your PATH"),
            }
        }
        if let Some(reason) = &info.grants_suspended {
            outln!("grants:      suspended: {reason}");
        }
    }
    match &info.error {
        None => outln!("would load:  yes"),
        Some(error) => outln!("would load:  no ({error})"),
    }
}

fn or_none(text: String) -> String {
    if text.is_empty() { "none".into() } else { text }
}

fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        outln!("{}", text.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
