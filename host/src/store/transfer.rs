//! Moving every credential from one engine to another (`authhost store
//! migrate --to postgres`, and back to `file` or `keyring`), one at a
//! time, in the order that keeps each readable from at least one place at
//! every moment: the credential is written to the new store first, and
//! removed from the old one only after that, and only if it did not change
//! meanwhile (another process stored a newer one: it is left for a rerun).

use super::{Migration, Store};
use crate::Error;

/// Moves every entry of `from` to `to`, calling `progress` after each.
pub(crate) async fn transfer(
    from: &dyn Store,
    to: &dyn Store,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Migration, Error> {
    let mut migration = Migration::default();
    let providers: Vec<String> = from.listing().await?.keys().cloned().collect();
    for provider in providers {
        let Some(entry) = from.get(&provider).await? else {
            continue;
        };
        let encoded = serde_json::to_value(&entry).ok();
        let there = to.get(&provider).await?;
        if there.as_ref().and_then(|t| serde_json::to_value(t).ok()) != encoded {
            to.put(&provider, Some(&entry)).await?;
        }
        // Written there; now, and only now, the old copy goes.
        let again = from.get(&provider).await?;
        if again.as_ref().and_then(|a| serde_json::to_value(a).ok()) != encoded {
            migration.changed.push(provider);
            continue;
        }
        from.put(&provider, None).await?;
        progress(&provider);
        migration.moved.push(provider);
    }
    Ok(migration)
}
