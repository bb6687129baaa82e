//! Checking and converting what plugins return.

use super::{API_KEY_METHOD, AuthMethod, MethodKind, Plugin, PluginInfo, PluginMetadata};
use crate::capability::Capability;
use crate::credential::Credential;
use crate::error::{Error, PluginFailure, ProviderError};
use crate::runtime::{self, WitCredential, WitError};

pub(super) fn failed_info(id: &str, source: String, failure: &PluginFailure) -> PluginInfo {
    PluginInfo {
        id: id.to_owned(),
        source,
        wit_version: None,
        metadata: None,
        granted: Vec::new(),
        missing: Vec::new(),
        error: Some(failure.to_string()),
    }
}

pub(super) fn plugin_has_method(plugin: &Plugin, id: &str) -> bool {
    plugin
        .metadata
        .methods
        .iter()
        .any(|m| m.id == id && m.kind != MethodKind::ApiKey)
}

pub(super) fn parse_capabilities(texts: &[String]) -> Result<Vec<Capability>, PluginFailure> {
    texts
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|e| PluginFailure::Invalid(format!("requests an invalid capability: {e}")))
        })
        .collect()
}

pub(super) fn metadata_from_wit(m: runtime::Metadata) -> Result<PluginMetadata, PluginFailure> {
    crate::config::check_name(&m.id).map_err(PluginFailure::Invalid)?;
    let too_long = [&m.display_name, &m.description]
        .into_iter()
        .chain(
            m.methods
                .iter()
                .flat_map(|method| [&method.id, &method.label]),
        )
        .chain(&m.capabilities)
        .any(|text| text.len() > MAX_METADATA_TEXT);
    if m.methods.len() > MAX_METHODS || m.capabilities.len() > MAX_CAPABILITIES || too_long {
        return Err(PluginFailure::Invalid(format!(
            "metadata over the limits ({MAX_METHODS} methods, {MAX_CAPABILITIES} capabilities, {MAX_METADATA_TEXT} bytes a text)"
        )));
    }
    let mut methods: Vec<AuthMethod> = m
        .methods
        .into_iter()
        .map(|method| AuthMethod {
            id: method.id,
            label: method.label,
            kind: match method.kind {
                runtime::MethodKind::ApiKey => MethodKind::ApiKey,
                runtime::MethodKind::Oauth => MethodKind::OAuth,
                runtime::MethodKind::Helper => MethodKind::Helper,
            },
        })
        .collect();
    if !methods.iter().any(|method| method.id == API_KEY_METHOD) {
        methods.push(AuthMethod {
            id: API_KEY_METHOD.into(),
            label: "Paste an API key".into(),
            kind: MethodKind::ApiKey,
        });
    }
    Ok(PluginMetadata {
        requested: parse_capabilities(&m.capabilities)?,
        id: m.id,
        display_name: m.display_name,
        description: m.description,
        methods,
        resolves: m.resolves,
    })
}

/// The longest secret a plugin may return.
const MAX_SECRET: usize = 64 << 10;
/// Bounds on what `describe` may return.
const MAX_METHODS: usize = 32;
const MAX_CAPABILITIES: usize = 64;
const MAX_METADATA_TEXT: usize = 1024;

pub(super) fn credential_from_wit(
    plugin: &str,
    credential: WitCredential,
) -> Result<Credential, Error> {
    let invalid = |what: &str| Error::plugin(plugin, PluginFailure::Invalid(what.to_owned()));
    let longest = match &credential {
        WitCredential::ApiKey(key) => key.len(),
        WitCredential::Oauth(t) => t
            .access
            .len()
            .max(t.refresh.as_ref().map_or(0, String::len)),
    };
    if longest > MAX_SECRET {
        return Err(invalid(&format!(
            "a secret of {longest} bytes (at most {MAX_SECRET} are accepted)"
        )));
    }
    let controls = match &credential {
        WitCredential::ApiKey(key) => has_control(key),
        WitCredential::Oauth(t) => {
            has_control(&t.access) || t.refresh.as_deref().is_some_and(has_control)
        }
    };
    if controls {
        // A line break or an escape sequence would corrupt `authhost token`
        // output, a terminal, or the header the secret goes into.
        return Err(invalid("a secret with control characters"));
    }
    match credential {
        WitCredential::ApiKey(key) if key.trim().is_empty() => Err(invalid("an empty API key")),
        WitCredential::ApiKey(key) => Ok(Credential::api_key(key)),
        WitCredential::Oauth(tokens) if tokens.access.is_empty() => {
            Err(invalid("an empty access token"))
        }
        WitCredential::Oauth(tokens) => Ok(Credential::OAuth {
            access: tokens.access.into(),
            refresh: tokens.refresh.map(Into::into),
            expires: tokens.expires,
        }),
    }
}

fn has_control(secret: &str) -> bool {
    secret.chars().any(char::is_control)
}

pub(super) fn provider_error(provider: &str, error: WitError) -> Error {
    let error = match error {
        WitError::Cancelled => return Error::Cancelled,
        WitError::Denied(m) => ProviderError::Denied(m),
        WitError::Timeout(m) => ProviderError::Timeout(m),
        WitError::Network(m) => ProviderError::Network(m),
        WitError::InvalidResponse(m) => ProviderError::InvalidResponse(m),
        WitError::CapabilityDenied(m) => ProviderError::CapabilityDenied(m),
        WitError::Other(m) => ProviderError::Other(m),
    };
    Error::Provider {
        provider: provider.to_owned(),
        error,
    }
}
