//! Resolving credentials in-process with the `authhost` library.
//!
//! ```sh
//! cargo run --release --example embed -- openrouter
//! ```
//!
//! Prints which providers are known, then fetches a token for each provider
//! named on the command line and shows only its length: a real program would
//! put it in an `Authorization` header.

use std::sync::Arc;

use authhost::{Host, HostOptions, TokenOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // `from_env` honours AUTHHOST_HOME, like the CLI. A GUI would pass its own
    // `Interaction` with `.interaction(...)`.
    let host = Arc::new(Host::open(HostOptions::from_env()?)?);

    for provider in host.list().await? {
        let state = match provider.credential {
            Some(kind) => kind.to_string(),
            None if provider.helper => "helper".to_owned(),
            None => "nothing stored".to_owned(),
        };
        println!("{:<16} {state}", provider.provider);
    }

    // Concurrent requests for one helper provider run its command once.
    let mut tasks = Vec::new();
    for provider in std::env::args().skip(1) {
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let token = host.token(&provider, TokenOptions::default()).await;
            (provider, token)
        }));
    }
    for task in tasks {
        let (provider, token) = task.await?;
        match token {
            Ok(token) => println!(
                "{provider}: a {}-character token",
                token.expose_secret().len()
            ),
            Err(e) => println!("{provider}: {}", authhost::error_chain(&e)),
        }
    }
    Ok(())
}
