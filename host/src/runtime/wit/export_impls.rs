//! The contract's exports from 0.2.0 on, called once for every such
//! version: each version module calls [`impl_exports!`] where its bindings
//! are in scope. From 0.2.0 the export functions and the credential types
//! keep their shape; a version only adds cases (0.3.0: the `device` method
//! kind), which the module converts in its own `method_kind`.

/// Defines the calls of the bindings in scope (`Plugin`, `export`, `types`)
/// to the version-neutral types: `describe`, `login`, `resolve`, `refresh`,
/// `check`, `revoke`, and the conversions of `credential`. The module
/// provides `fn method_kind(export::MethodKind) -> MethodKind` and
/// `error_from` (from [`impl_imports!`]).
macro_rules! impl_exports {
    () => {
        pub(super) async fn describe(
            plugin: &Plugin,
            store: &mut Store<PluginState>,
        ) -> wasmtime::Result<Metadata> {
            let m = plugin
                .authhost_provider_provider()
                .call_describe(store)
                .await?;
            let features = m.features;
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
                        kind: method_kind(method.kind),
                    })
                    .collect(),
                capabilities: m.capabilities,
                resolves: features.contains(export::Features::RESOLVE),
                refreshes: features.contains(export::Features::REFRESH),
                checks: features.contains(export::Features::CHECK),
                revokes: features.contains(export::Features::REVOKE),
                resolves_from_stored: true,
                options: m.options,
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
            Ok(result.map(credential_from).map_err(error_from))
        }

        pub(super) async fn resolve(
            plugin: &Plugin,
            store: &mut Store<PluginState>,
            reason: Reason,
            stored: Option<&Credential>,
        ) -> wasmtime::Result<Result<Resolved, WitError>> {
            let reason = match reason {
                Reason::Login => export::Reason::Login,
                Reason::Token => export::Reason::Token,
                Reason::Refresh => export::Reason::Refresh,
            };
            let stored = stored.map(credential_to);
            let result = plugin
                .authhost_provider_provider()
                .call_resolve(store, reason, stored.as_ref())
                .await?;
            Ok(result
                .map(|r| Resolved {
                    credential: credential_from(r.credential),
                    cache_until: r.cache_until,
                })
                .map_err(error_from))
        }

        pub(super) async fn refresh(
            plugin: &Plugin,
            store: &mut Store<PluginState>,
            stored: &Credential,
        ) -> wasmtime::Result<Result<Credential, WitError>> {
            let result = plugin
                .authhost_provider_provider()
                .call_refresh(store, &credential_to(stored))
                .await?;
            Ok(result.map(credential_from).map_err(error_from))
        }

        pub(super) async fn check(
            plugin: &Plugin,
            store: &mut Store<PluginState>,
            credential: &Credential,
        ) -> wasmtime::Result<Result<AccountInfo, WitError>> {
            let result = plugin
                .authhost_provider_provider()
                .call_check(store, &credential_to(credential))
                .await?;
            Ok(result
                .map(|info| AccountInfo {
                    account: info.account,
                    expires: info.expires,
                    details: info.details,
                })
                .map_err(error_from))
        }

        pub(super) async fn revoke(
            plugin: &Plugin,
            store: &mut Store<PluginState>,
            stored: &Credential,
        ) -> wasmtime::Result<Result<(), WitError>> {
            let result = plugin
                .authhost_provider_provider()
                .call_revoke(store, &credential_to(stored))
                .await?;
            Ok(result.map_err(error_from))
        }

        fn credential_from(c: types::Credential) -> Credential {
            let secret = match c.secret {
                types::Secret::ApiKey(key) => Secret::ApiKey(key),
                types::Secret::Oauth(t) => Secret::OAuth {
                    access: t.access,
                    refresh: t.refresh,
                    expires: t.expires,
                },
            };
            Credential {
                secret,
                extra: c.extra,
            }
        }

        fn credential_to(c: &Credential) -> types::Credential {
            let secret = match &c.secret {
                Secret::ApiKey(key) => types::Secret::ApiKey(key.clone()),
                Secret::OAuth {
                    access,
                    refresh,
                    expires,
                } => types::Secret::Oauth(types::OauthTokens {
                    access: access.clone(),
                    refresh: refresh.clone(),
                    expires: *expires,
                }),
            };
            types::Credential {
                secret,
                extra: c.extra.clone(),
            }
        }
    };
}
