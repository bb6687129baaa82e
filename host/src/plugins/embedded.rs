//! Components the embedding program handed over as bytes
//! ([`crate::HostBuilder::plugin`]): described like the files of the
//! plugins folder, and scanned with them (see `folder.rs`).

use super::*;

impl Plugins {
    /// The embedded component `bytes`, labelled `label`: described from
    /// `index` when the same contents were described before (its code is
    /// then compiled on first use), otherwise compiled and described now.
    pub(super) async fn load_bytes(
        &self,
        label: &str,
        bytes: &[u8],
        index: &mut Index,
    ) -> Result<Plugin, PluginFailure> {
        let component = ComponentBytes::hash(bytes);
        let digest = component.sha256().to_owned();
        let mut loaded_now = None;
        let outcome = match index.described(&digest) {
            Some(described) => described.outcome(),
            None => {
                let (result, loaded) = self
                    .describe_new(&component, label, label.to_owned(), index)
                    .await?;
                loaded_now = loaded;
                result
            }
        };
        let (wit_version, raw) = outcome?;
        Ok(Plugin {
            source: PluginSource::Embedded(label.to_owned()),
            metadata: metadata::from_wit(raw)?,
            wit_version,
            digest,
            identity: None,
            component: OnceCell::new_with(loaded_now),
        })
    }
}
