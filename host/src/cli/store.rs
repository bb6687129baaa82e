//! `authhost store migrate --to file|keyring|postgres`: moves the stored
//! credentials between auth.json, the OS keyring and a PostgreSQL store;
//! `authhost store keygen`: a new key for the PostgreSQL store.

use std::process::ExitCode;

use authhost::{Host, StoreBackend};

use super::Io;

/// `authhost store`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Move every stored credential's secrets to the OS keyring or back to
    /// auth.json, and make that the store for new credentials.
    #[command(long_about = MIGRATE_HELP)]
    Migrate {
        /// Where the secrets go.
        #[arg(long, value_enum)]
        to: BackendArg,
    },
    /// Print a new key for the PostgreSQL store (`[store] key_file` or
    /// AUTHHOST_STORE_KEY): 32 random bytes, base64.
    #[command(long_about = KEYGEN_HELP)]
    Keygen,
}

/// A store backend on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// auth.json (mode 0600).
    File,
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// The PostgreSQL store of `[store] url` (shared by several machines).
    Postgres,
}

impl From<BackendArg> for StoreBackend {
    fn from(arg: BackendArg) -> StoreBackend {
        match arg {
            BackendArg::File => StoreBackend::File,
            BackendArg::Keyring => StoreBackend::Keyring,
            BackendArg::Postgres => StoreBackend::Postgres,
        }
    }
}

/// `authhost store --help`.
pub const HELP: &str = "\
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
`authhost store migrate` moves the existing ones.

With `[store] backend = \"postgres\"` (or AUTHHOST_STORE=postgres) credentials
live in a PostgreSQL database that several machines share (`url`, or
AUTHHOST_STORE_URL), each sealed with the store key (`key_file`, or
AUTHHOST_STORE_KEY; make one with `authhost store keygen`); an expiring login
is refreshed once for all of them. Helper results stay per machine.";

/// `authhost store keygen --help`.
const KEYGEN_HELP: &str = "\
Print a new key for the PostgreSQL store: 32 random bytes, base64. Keep it
in a file only you can read (one every user may read is warned about, one
every user may change is refused) and name it in config.toml, or put it in
AUTHHOST_STORE_KEY; every machine that shares the store needs the same key.

  (umask 077; authhost store keygen > ~/.config/authhost/store.key)
  # config.toml:
  [store]
  backend = \"postgres\"
  url = \"postgres://authhost:PASSWORD@db.internal:5432/authhost?sslmode=verify-full\"
  key_file = \"/home/me/.config/authhost/store.key\"";

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

/// Runs `authhost store SUBCOMMAND`.
pub async fn run(io: &Io, host: &Host, command: &Command) -> anyhow::Result<ExitCode> {
    match *command {
        Command::Migrate { to } => migrate(io, host, to.into()).await?,
        Command::Keygen => {
            use secrecy::ExposeSecret;
            outln!(
                io,
                "{}",
                authhost::StoreSettings::generate_key().expose_secret()
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `authhost store migrate`: progress and the outcome on stderr.
async fn migrate(io: &Io, host: &Host, to: StoreBackend) -> anyhow::Result<()> {
    let place = to.place();
    let mut progress = io.err();
    let migration = host
        .migrate_store(to, move |provider| {
            use std::io::Write;
            // A message nobody can read is dropped, as `errln!` does.
            let _ = writeln!(progress, "Moved {provider} to {place}");
        })
        .await?;
    let config = crate::cli::files(host).config_file.display();
    errln!(
        io,
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
    errln!(
        io,
        "New credentials go to {place} (`[store] backend = \"{to}\"` in {config})"
    );
    if let Ok(value) = std::env::var("AUTHHOST_STORE")
        && !value.is_empty()
        && value != to.name()
    {
        errln!(
            io,
            "warning: AUTHHOST_STORE={value} is set in this environment and overrides config.toml"
        );
    }
    Ok(())
}
