//! Entry points for the fuzz targets in `fuzz/` (compiled only with
//! `--cfg fuzzing`, which `cargo fuzz` sets): each feeds untrusted bytes to
//! the same code the host runs on them.

use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::Error;
pub use crate::capability::Capability;
pub use crate::config::{Config, edit_grants};
pub use crate::loopback::{Request, Response};
use crate::store::json_file as store;

/// Writes `raw` to the loopback listener's connection handling as one
/// client would (then closes its sending side), answers every request it
/// hands over with `answer(request)`, and returns those requests and the
/// bytes the client received.
pub fn loopback_exchange(
    raw: &[u8],
    answer: impl Fn(&Request) -> Response,
) -> (Vec<Request>, Vec<u8>) {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
    }
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let (mut client, server) = tokio::io::duplex(8 * 1024);
            let (tx, mut pending) = mpsc::channel(4);
            let serving = tokio::spawn(crate::loopback::serve_connection(
                server,
                tx,
                Default::default(),
            ));
            let raw = raw.to_vec();
            let (mut reader, mut writer) = tokio::io::split(&mut client);
            let send = async move {
                // The server may stop reading (a bad request): that is fine.
                let _ = writer.write_all(&raw).await;
                let _ = writer.shutdown().await;
            };
            let mut received = Vec::new();
            let receive = reader.read_to_end(&mut received);
            let mut requests = Vec::new();
            let serve = async {
                while let Some(request) = pending.recv().await {
                    let response = answer(&request.request);
                    requests.push(request.request.clone());
                    let _ = request.reply.send(response);
                }
            };
            // The client closes its side, so the connection ends without
            // waiting for a timeout; a hang is a finding (`-timeout`).
            let _ = tokio::join!(send, receive, serve);
            serving.abort();
            (requests, received)
        })
    })
}

/// Parses store file contents and decodes every entry as a credential, as
/// `authhost token` and `authhost list` do.
pub fn store_entries(
    bytes: &[u8],
) -> Result<Vec<(String, Value, Result<crate::Credential, Error>)>, String> {
    let map: Map<String, Value> = store::parse(bytes)?;
    let store = store::JsonStore::new("/fuzz/auth.json", std::time::Duration::ZERO);
    Ok(map
        .into_iter()
        .map(|(key, value)| {
            let decoded = store.decode(&key, value.clone());
            (key, value, decoded)
        })
        .collect())
}
