//! `authhost token PROVIDER [--refresh] [--format plain|json|kube]`: the
//! provider's key on stdout, for another tool's key helper.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use authhost::{Host, TokenOptions};

use super::Io;

/// `authhost token`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The provider.
    #[arg(add = super::completions::provider())]
    provider: String,
    /// Get a fresh credential: refresh an OAuth login now, or run a
    /// helper instead of using its cached key.
    #[arg(long)]
    refresh: bool,
    /// How to print it: the key alone (`plain`), a JSON object with its
    /// kind and expiry (`json`), or a Kubernetes `ExecCredential`
    /// (`kube`, for a kubeconfig's `exec` entry).
    #[arg(long, value_enum, default_value_t = Format::Plain)]
    format: Format,
}

/// How `authhost token` prints the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// The key alone, on one line.
    Plain,
    /// `{"token", "expires_at", "provider", "kind"}`.
    Json,
    /// A `client.authentication.k8s.io/v1` `ExecCredential`.
    Kube,
}

/// Prints the key, one line, flushed at once.
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let options = TokenOptions::default().refresh(args.refresh);
    let token = host.token(&args.provider, options).await?;
    let text = match args.format {
        Format::Plain => token.expose_secret().to_owned(),
        Format::Json => token_json(&args.provider, &token).to_string(),
        Format::Kube => kube_credential(&token).to_string(),
    };
    let mut stdout = io.out();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
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
