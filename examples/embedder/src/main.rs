//! A small LLM gateway that embeds the `authhost` crate, built outside the
//! authhost workspace against the crate exactly as it is published, without
//! its default features (no command line, no OS keyring).
//!
//! The gateway is configured in code, with no file anywhere:
//! - `openai`: a key the service stores in the host's memory at start;
//! - `vault`: a shell-helper provider (the built-in component shipped in the
//!   package) whose command prints a key, cached for a minute;
//! - a metrics hook counting where keys came from and what failed.
//!
//! It then serves 64 concurrent requests, turning each into an
//! `Authorization` header or an HTTP status chosen by the error's `code()`
//! and `is_transient()`, and checks every result: one helper run for all
//! the `vault` requests, the stored key for `openai`, 401 for a provider
//! with no key. Built without the `interactive-login` feature, a login in
//! the browser fails at once with an error naming it. It exits non-zero at
//! the first mismatch.
//!
//! ```sh
//! examples/embedder/run.sh
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, ensure};
use authhost::{Event, Host, LoginOptions, ProviderSettings, TokenOptions};

/// What the gateway counts: keys served by source, plugin runs, failures
/// by error code (what a Prometheus exporter would publish).
#[derive(Default, Debug)]
struct Metrics {
    served: BTreeMap<String, u64>,
    plugin_runs: u64,
    failures: BTreeMap<&'static str, u64>,
}

/// The gateway's answer to one request.
#[derive(Debug, PartialEq)]
enum Answer {
    /// Forward upstream with this header.
    Forward(String),
    /// Refuse with this HTTP status.
    Refuse(u16),
}

/// Authorizes a request for `provider`: a header, or the status the
/// error's code calls for. Messages go to the log, never to the client.
async fn authorize(host: &Host, provider: &str) -> Answer {
    match host.token(provider, TokenOptions::default()).await {
        Ok(token) => Answer::Forward(format!("Bearer {}", token.expose_secret())),
        Err(error) if error.needs_login() => Answer::Refuse(401),
        Err(error) if error.is_transient() => Answer::Refuse(503),
        Err(error) if error.code() == "unknown-provider" => Answer::Refuse(404),
        Err(error) => {
            eprintln!("gateway: {provider}: {} ({})", error, error.code());
            Answer::Refuse(500)
        }
    }
}

fn build(metrics: Arc<Mutex<Metrics>>) -> Result<Host, authhost::Error> {
    Host::builder()
        .provider("openai", ProviderSettings::new())
        .provider(
            "vault",
            ProviderSettings::new()
                .plugin("shell-helper")
                .option("command", "printf sk-from-vault")
                .option("ttl_ms", 60_000),
        )
        .on_event(move |event| {
            let mut metrics = metrics.lock().unwrap();
            match event {
                Event::TokenServed { source, .. } => {
                    *metrics
                        .served
                        .entry(source.as_str().to_owned())
                        .or_default() += 1;
                }
                Event::PluginRun { .. } => metrics.plugin_runs += 1,
                Event::Failed { code, .. } => *metrics.failures.entry(code).or_default() += 1,
                _ => {}
            }
        })
        .build()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let metrics = Arc::new(Mutex::new(Metrics::default()));
    let host = Arc::new(build(metrics.clone()).context("building the host")?);
    ensure!(host.paths().is_none(), "a host built in code has no files");
    host.store_key("openai", "sk-openai-0123456789".into())
        .await
        .context("storing the openai key")?;

    let providers = ["openai", "vault", "groq", "nonsense-provider"];
    let requests: Vec<_> = (0..64)
        .map(|i| {
            let host = host.clone();
            let provider = providers[i % providers.len()];
            tokio::spawn(async move { (provider, authorize(&host, provider).await) })
        })
        .collect();
    let mut answers: BTreeMap<&str, Vec<Answer>> = BTreeMap::new();
    for request in requests {
        let (provider, answer) = request.await?;
        answers.entry(provider).or_default().push(answer);
    }

    let all = |provider: &str, expected: Answer| {
        let got = &answers[provider];
        ensure!(
            got.len() == 16 && got.iter().all(|a| *a == expected),
            "{provider}: expected {expected:?} 16 times, got {got:?}"
        );
        Ok(())
    };
    all(
        "openai",
        Answer::Forward("Bearer sk-openai-0123456789".into()),
    )?;
    all("vault", Answer::Forward("Bearer sk-from-vault".into()))?;
    all("groq", Answer::Refuse(401))?;
    all("nonsense-provider", Answer::Refuse(404))?;

    // Built without `interactive-login`: a login in the browser fails at
    // once, naming the feature, instead of waiting for a redirect.
    let oauth = Host::builder()
        .provider(
            "corp",
            ProviderSettings::new()
                .plugin("oauth2")
                .option("client_id", "gateway")
                .option("authorization_url", "https://login.corp.example/authorize")
                .option("token_url", "https://login.corp.example/token"),
        )
        .build()
        .context("building the OAuth host")?;
    let refused = oauth
        .login("corp", LoginOptions::default().no_browser(true))
        .await;
    match refused {
        Err(error) => ensure!(
            authhost::error_chain(&error).contains("interactive-login"),
            "the browser login's error does not name the feature: {}",
            authhost::error_chain(&error)
        ),
        Ok(outcome) => anyhow::bail!("a browser login succeeded without a server: {outcome:?}"),
    }

    let metrics = metrics.lock().unwrap();
    ensure!(
        metrics.plugin_runs == 1,
        "one helper run serves every concurrent vault request: {metrics:?}"
    );
    ensure!(
        metrics.served.values().sum::<u64>() == 32,
        "32 keys served: {metrics:?}"
    );
    ensure!(
        metrics.failures.get("no-credential") == Some(&16)
            && metrics.failures.get("unknown-provider") == Some(&16),
        "failures counted by code: {metrics:?}"
    );
    println!(
        "embedder: ok (WIT {}: 64 requests, keys by source {:?}, {} plugin run, failures {:?})",
        authhost::WIT_VERSION,
        metrics.served,
        metrics.plugin_runs,
        metrics.failures
    );
    Ok(())
}
