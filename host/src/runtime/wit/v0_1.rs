//! `authhost:provider@0.1.0` (`wit/0.1.0/`): bindings, conversions to the
//! version-neutral types, and the imports, each a call into
//! [`crate::runtime::imports`].

provider_bindings!("wit/0.1.0", "0.1.0");

use self::authhost::provider::{browser, config, interact, log, loopback, process, types};
use self::exports::authhost::provider::provider as export;

pub(super) async fn describe(
    plugin: &Plugin,
    store: &mut Store<PluginState>,
) -> wasmtime::Result<Metadata> {
    let m = plugin
        .authhost_provider_provider()
        .call_describe(store)
        .await?;
    Ok(Metadata {
        id: m.id,
        display_name: m.display_name,
        description: m.description,
        methods: m
            .methods
            .into_iter()
            .map(|method| Method {
                id: method.id,
                label: method.label,
                kind: match method.kind {
                    export::MethodKind::ApiKey => MethodKind::ApiKey,
                    export::MethodKind::Oauth => MethodKind::OAuth,
                    export::MethodKind::Helper => MethodKind::Helper,
                },
            })
            .collect(),
        capabilities: m.capabilities,
        resolves: m.resolves,
        refreshes: false,
        checks: false,
        revokes: false,
        resolves_from_stored: false,
        options: None,
    })
}

pub(super) async fn login(
    plugin: &Plugin,
    store: &mut Store<PluginState>,
    method: &str,
    options: &[(String, String)],
) -> wasmtime::Result<Result<Credential, WitError>> {
    let result = plugin
        .authhost_provider_provider()
        .call_login(store, method, options)
        .await?;
    Ok(result.map(credential).map_err(error_from))
}

/// 0.1.0's `resolve` takes no stored credential.
pub(super) async fn resolve(
    plugin: &Plugin,
    store: &mut Store<PluginState>,
    reason: Reason,
    _stored: Option<&Credential>,
) -> wasmtime::Result<Result<Resolved, WitError>> {
    let reason = match reason {
        Reason::Login => export::Reason::Login,
        Reason::Token => export::Reason::Token,
        Reason::Refresh => export::Reason::Refresh,
    };
    let result = plugin
        .authhost_provider_provider()
        .call_resolve(store, reason)
        .await?;
    Ok(result
        .map(|r| Resolved {
            credential: credential(r.credential),
            cache_until: r.cache_until,
        })
        .map_err(error_from))
}

// 0.1.0 has no `refresh`, `check` or `revoke`; its metadata says so, and
// the host calls none of them.

pub(super) async fn refresh(
    _plugin: &Plugin,
    _store: &mut Store<PluginState>,
    _stored: &Credential,
) -> wasmtime::Result<Result<Credential, WitError>> {
    Ok(Err(not_in_version("refresh")))
}

pub(super) async fn check(
    _plugin: &Plugin,
    _store: &mut Store<PluginState>,
    _credential: &Credential,
) -> wasmtime::Result<Result<AccountInfo, WitError>> {
    Ok(Err(not_in_version("check")))
}

pub(super) async fn revoke(
    _plugin: &Plugin,
    _store: &mut Store<PluginState>,
    _stored: &Credential,
) -> wasmtime::Result<Result<(), WitError>> {
    Ok(Err(not_in_version("revoke")))
}

fn not_in_version(export: &str) -> WitError {
    WitError::Other(format!(
        "plugins built for authhost:provider@{VERSION} have no `{export}`"
    ))
}

fn credential(c: types::Credential) -> Credential {
    let secret = match c {
        types::Credential::ApiKey(key) => Secret::ApiKey(key),
        types::Credential::Oauth(t) => Secret::OAuth {
            access: t.access,
            refresh: t.refresh,
            expires: t.expires,
        },
    };
    Credential {
        secret,
        extra: Vec::new(),
    }
}

impl_imports!();
