//! A program that embeds the `authhost` crate as a dependency, built outside
//! the authhost workspace against the crate exactly as it is published.
//!
//! It opens a host on a fresh temporary `AUTHHOST_HOME`-style folder, stores
//! an API key through the library's login, reads it back (also from a second
//! `Host`, as another process would), resolves a key from a shell-helper
//! provider (the built-in component shipped in the package) and checks every
//! result. It exits non-zero at the first mismatch.
//!
//! ```sh
//! examples/embedder/run.sh
//! ```

use std::sync::Arc;

use anyhow::{Context, ensure};
use authhost::interact::{BoxFuture, Interaction};
use authhost::{CredentialKind, Host, HostOptions, LoginOptions, Saved, TokenOptions};

/// The key the program "types" at the login prompt.
const STORED_KEY: &str = "sk-embedder-0123456789";

/// An [`Interaction`] that answers every prompt with one scripted line, as a
/// GUI embedding authhost would answer from its own dialog.
struct Scripted(&'static str);

impl Interaction for Scripted {
    fn message(&self, _text: &str) {}

    fn prompt<'a>(&'a self, _label: &'a str, _secret: bool) -> BoxFuture<'a, Option<String>> {
        let answer = self.0.to_owned();
        Box::pin(async move { Some(answer) })
    }

    fn pasted_line<'a>(&'a self, _label: &'a str) -> BoxFuture<'a, String> {
        Box::pin(std::future::pending())
    }
}

fn open(home: &std::path::Path) -> anyhow::Result<Host> {
    let options = HostOptions::with_home(home).interaction(Arc::new(Scripted(STORED_KEY)));
    Host::open(options).map_err(|e| anyhow::anyhow!(authhost::error_chain(&e)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let home = tempfile::tempdir().context("creating a temporary home")?;
    std::fs::write(
        home.path().join("config.toml"),
        "[providers.helper]\nplugin = \"shell-helper\"\ncommand = \"echo key\"\n",
    )
    .context("writing config.toml")?;
    let host = open(home.path())?;
    let failed = |e: authhost::Error| anyhow::anyhow!(authhost::error_chain(&e));

    // Both built-in components travel with the package and load.
    let plugins = host.plugins().await.map_err(failed)?;
    for id in ["shell-helper", "openrouter"] {
        let plugin = plugins
            .iter()
            .find(|p| p.id == id)
            .with_context(|| format!("no built-in plugin {id}"))?;
        ensure!(
            plugin.source == "built-in",
            "{id}: source {}",
            plugin.source
        );
        ensure!(
            plugin.error.is_none() && plugin.metadata.is_some(),
            "{id} did not load: {:?}",
            plugin.error
        );
        ensure!(
            plugin.wit_version.as_deref() == Some(authhost::WIT_VERSION),
            "{id}: WIT {:?}",
            plugin.wit_version
        );
    }

    // Store a key with the host's own api-key login, then read it back.
    let login = LoginOptions::default()
        .method(authhost::API_KEY_METHOD)
        .no_browser(true);
    let outcome = host.login("openrouter", login).await.map_err(failed)?;
    ensure!(
        outcome.kind == CredentialKind::Api && outcome.saved == Saved::Stored,
        "login: {outcome:?}"
    );
    let token = host
        .token("openrouter", TokenOptions::default())
        .await
        .map_err(failed)?;
    ensure!(
        token.expose_secret() == STORED_KEY,
        "the stored key did not come back"
    );
    let other = open(home.path())?;
    let token = other
        .token("openrouter", TokenOptions::default())
        .await
        .map_err(failed)?;
    ensure!(
        token.expose_secret() == STORED_KEY,
        "a second host did not read the stored key"
    );

    // A shell-helper provider: the built-in component runs `echo key`.
    let token = host
        .token("helper", TokenOptions::default())
        .await
        .map_err(failed)?;
    ensure!(
        token.expose_secret() == "key",
        "the helper's key is not `key`"
    );

    let list = host.list().await.map_err(failed)?;
    let status = |name: &str| list.iter().find(|p| p.provider == name);
    let openrouter = status("openrouter").context("openrouter is not listed")?;
    ensure!(
        openrouter.credential == Some(CredentialKind::Api),
        "openrouter: {openrouter:?}"
    );
    let helper = status("helper").context("helper is not listed")?;
    ensure!(
        helper.plugin == "shell-helper" && helper.configured && helper.helper && helper.cached,
        "helper: {helper:?}"
    );

    ensure!(
        host.logout("openrouter").await.map_err(failed)?.removed,
        "logout found nothing to remove"
    );
    let after = host.token("openrouter", TokenOptions::default()).await;
    ensure!(
        matches!(&after, Err(e) if e.needs_login()),
        "after logout, token should need a login: {after:?}"
    );

    println!(
        "embedder: ok (WIT {}: stored, read and removed a key; the shell-helper provider \
         resolved)",
        authhost::WIT_VERSION
    );
    Ok(())
}
