//! Single-flight: concurrent requests for one provider's credential share
//! one run of its plugin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::error::Error;
use crate::events::Source;
use crate::store::credential::Credential;

/// A renewed credential and where it came from.
pub(super) type Renewed = (Credential, Source);

type Flight = Arc<OnceCell<Result<Renewed, Arc<Error>>>>;

/// The runs in progress, by provider.
#[derive(Default)]
pub(super) struct Flights {
    inflight: Mutex<HashMap<String, Flight>>,
}

impl Flights {
    /// Runs `run` for `provider`, unless a run for it is in progress: then
    /// waits for that run and returns its result. Every waiter gets the
    /// same variant of a failure ([`Error::duplicate`]).
    pub async fn share<F>(&self, provider: &str, run: F) -> Result<Renewed, Error>
    where
        F: Future<Output = Result<Renewed, Error>>,
    {
        let flight = self.lock().entry(provider.to_owned()).or_default().clone();
        let result = flight
            .get_or_init(|| async { run.await.map_err(Arc::new) })
            .await
            .clone();
        {
            let mut inflight = self.lock();
            if inflight
                .get(provider)
                .is_some_and(|f| Arc::ptr_eq(f, &flight))
            {
                inflight.remove(provider);
            }
        }
        result.map_err(|shared| shared.duplicate())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Flight>> {
        self.inflight.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_get_the_same_error_variant() {
        let flights = Flights::default();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let run = || async {
            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Err::<Renewed, _>(Error::NoCredential("p".into()))
        };
        let (a, b) = tokio::join!(flights.share("p", run()), flights.share("p", run()));
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(matches!(a, Err(Error::NoCredential(_))));
        assert!(matches!(b, Err(Error::NoCredential(_))));
    }
}
