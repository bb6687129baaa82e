//! Placeholder; replaced by the real provider.
wit_bindgen::generate!({ path: "../../wit", world: "plugin" });

use exports::authhost::provider::provider::{Guest, Metadata, Reason, Resolved};
use authhost::provider::types::{Credential, Error};

struct Component;

impl Guest for Component {
    fn describe() -> Metadata {
        Metadata {
            id: "shell-helper".into(),
            display_name: "shell-helper".into(),
            description: "placeholder".into(),
            methods: vec![],
            capabilities: vec![],
            resolves: false,
        }
    }
    fn login(_method: String, _options: Vec<(String, String)>) -> Result<Credential, Error> {
        Err(Error::Other("not implemented".into()))
    }
    fn resolve(_reason: Reason) -> Result<Resolved, Error> {
        Err(Error::Other("not implemented".into()))
    }
}

export!(Component);
