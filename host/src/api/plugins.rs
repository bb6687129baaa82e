//! The plugin operations of [`Host`]: list, inspect, install, grant,
//! revoke and remove.

use std::path::Path;

use super::{Host, Inspection, Installed, PluginInfo, Removed};
use crate::capability::{Capability, policy};
use crate::error::{Error, PluginFailure};
use crate::plugins::{Plugin, builtin};
use crate::runner;

impl Host {
    /// Creates the plugins folder (mode 0700) when it is missing, so that
    /// the user sees where to put a plugin.
    pub fn create_plugins_dir(&self) -> Result<(), Error> {
        crate::files::create_private_dir(&self.files("plugins folder")?.plugins_dir)
    }

    /// Every plugin, built-in first, with its grants and load errors.
    pub async fn plugins(&self) -> Result<Vec<PluginInfo>, Error> {
        let mut infos = Vec::new();
        for (id, plugin) in self.runner.plugins.builtins().await {
            infos.push(match plugin {
                Ok(plugin) => self.info(&plugin),
                Err(failure) => failed_info(id, "built-in".into(), &failure),
            });
        }
        let folder = self.runner.plugins.folder().await;
        infos.extend(folder.plugins.iter().map(|p| self.info(p)));
        for (path, failure) in &folder.failures {
            infos.push(failed_info(&file_name(path), display(path), failure));
        }
        Ok(infos)
    }

    /// Examines a component file as the plugins folder would: validates,
    /// compiles and links it, and calls only its `describe` export, with no
    /// capability granted. Never runs `login` or `resolve`.
    pub async fn inspect(&self, path: &Path) -> Inspection {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut info = match self.runner.plugins.inspect_file(path).await {
            Ok(plugin) => self.info(&plugin),
            Err(failure) => failed_info(&file_name(path), display(path), &failure),
        };
        if info.error.is_none() && builtin(&info.id).is_some() {
            info.error = Some(format!(
                "its id `{}` clashes with a built-in plugin",
                info.id
            ));
        }
        Inspection {
            size,
            would_load: info.error.is_none(),
            info,
        }
    }

    /// Grants `capabilities` to the folder plugin `id` in `config.toml`
    /// (keeping the file's comments and formatting), bound to the plugin's
    /// current file: the grants are suspended when the file changes.
    /// Returns the capabilities that were not granted yet.
    pub async fn grant(
        &self,
        id: &str,
        capabilities: &[Capability],
    ) -> Result<Vec<Capability>, Error> {
        if builtin(id).is_some() {
            return Err(Error::Config {
                path: self.runner.config_file.clone(),
                message: format!(
                    "`{id}` is a built-in plugin; its capabilities are fixed in authhost"
                ),
            });
        }
        let digest = self.runner.plugins.get(id).await?.map(|p| p.digest.clone());
        crate::config::add_grants(
            &self.files("config.toml")?.config_file,
            id,
            capabilities,
            digest.as_deref(),
        )
    }

    /// Takes `capabilities` back from the folder plugin `id` in
    /// `config.toml`; returns those it had.
    pub async fn revoke(
        &self,
        id: &str,
        capabilities: &[Capability],
    ) -> Result<Vec<Capability>, Error> {
        crate::config::remove_grants(&self.files("config.toml")?.config_file, id, capabilities)
    }

    /// What the folder plugin `id` requests, with `http:{OPTION}` requests
    /// expanded for `provider`, or, without one, for every provider
    /// instance that uses the plugin (the provider named like it when none
    /// does): the exact capabilities to grant. An option that is not an
    /// http(s) URL is an error naming the provider and the option.
    pub async fn requested(
        &self,
        id: &str,
        provider: Option<&str>,
    ) -> Result<Vec<Capability>, Error> {
        let Some(plugin) = self.runner.plugins.get(id).await? else {
            return Err(Error::UnknownPlugin {
                provider: provider.unwrap_or(id).to_owned(),
                plugin: id.to_owned(),
            });
        };
        self.requests_of(&plugin, provider)
    }

    /// [`Host::requested`] for a described plugin.
    fn requests_of(
        &self,
        plugin: &Plugin,
        provider: Option<&str>,
    ) -> Result<Vec<Capability>, Error> {
        let id = plugin.metadata.id.as_str();
        let names: Vec<&str> = match provider {
            Some(name) if self.runner.config.plugin_of(name) != id => {
                return Err(Error::Config {
                    path: self.runner.config_file.clone(),
                    message: format!(
                        "provider `{name}` uses plugin `{}`, not `{id}`",
                        self.runner.config.plugin_of(name)
                    ),
                });
            }
            Some(name) => vec![name],
            None => self.providers_of(id),
        };
        let mut requested: Vec<Capability> = Vec::new();
        for name in names {
            let (caps, invalid) = policy::expand(
                &plugin.metadata.requested,
                name,
                self.runner
                    .config
                    .provider(name)
                    .as_deref()
                    .map(|p| &p.options),
            );
            if !invalid.is_empty() {
                return Err(Error::Config {
                    path: self.runner.config_file.clone(),
                    message: invalid.join("; "),
                });
            }
            for cap in caps {
                if !requested.contains(&cap) {
                    requested.push(cap);
                }
            }
        }
        Ok(requested)
    }

    /// The configured provider instances that use plugin `id`, or the
    /// provider named like it when none does.
    fn providers_of<'a>(&'a self, id: &'a str) -> Vec<&'a str> {
        let names: Vec<&str> = self
            .runner
            .config
            .providers
            .keys()
            .map(String::as_str)
            .filter(|name| self.runner.config.plugin_of(name) == id)
            .collect();
        if names.is_empty() { vec![id] } else { names }
    }

    /// Installs the component file at `path` in the plugins folder (see
    /// `authhost plugins install`): it must load and describe itself; it
    /// is copied atomically, owner-only, as `ID.wasm`, and compiled once.
    /// A different plugin with the same id, or in that file, is replaced
    /// only with `force`. Grants nothing: see [`Host::grant_installed`].
    pub async fn install(&self, path: &Path, force: bool) -> Result<Installed, Error> {
        let installed = self.runner.plugins.install(path, force).await?;
        let requested = self.requests_of(&installed.plugin, None)?;
        let info = self.info(&installed.plugin);
        let templates = installed
            .plugin
            .metadata
            .requested
            .iter()
            .filter(|r| matches!(r, crate::capability::Request::HttpFromOption { .. }))
            .cloned()
            .collect();
        Ok(Installed {
            info,
            file: installed.file,
            replaced: installed.replaced,
            unchanged: installed.unchanged,
            requested,
            templates,
            digest: installed.plugin.digest.clone(),
        })
    }

    /// Grants an installed plugin everything it requests
    /// ([`Installed::requested`]), bound to the installed file. Returns
    /// the capabilities that were not granted yet.
    pub fn grant_installed(&self, installed: &Installed) -> Result<Vec<Capability>, Error> {
        crate::config::add_grants(
            &self.files("config.toml")?.config_file,
            &installed.info.id,
            &installed.requested,
            Some(&installed.digest),
        )
    }

    /// Removes the folder plugin `id` (see `authhost plugins remove`): its
    /// file (every file that reports the id), its compiled code, its
    /// entries in the plugins index and its `[plugins.ID]` grants. A
    /// built-in is refused. Credentials stored for its providers are kept.
    pub async fn remove_plugin(&self, id: &str) -> Result<Removed, Error> {
        let files = self.runner.plugins.remove(id).await?;
        let grants_removed =
            crate::config::remove_plugin_table(&self.files("config.toml")?.config_file, id)?;
        if files.is_empty() && !grants_removed {
            return Err(Error::UnknownPlugin {
                provider: id.to_owned(),
                plugin: crate::sanitize::short(id),
            });
        }
        Ok(Removed {
            files: files.into_iter().map(|(file, _)| file).collect(),
            grants_removed,
        })
    }

    fn info(&self, plugin: &Plugin) -> PluginInfo {
        let id = &plugin.metadata.id;
        let decision = runner::decide(plugin, &self.runner.provider(id), &self.runner.config);
        PluginInfo {
            id: id.clone(),
            source: plugin.source.describe(),
            wit_version: Some(plugin.wit_version.clone()),
            metadata: Some(plugin.metadata.clone()),
            programs: programs(decision.effective.iter().chain(&decision.missing)),
            granted: decision.effective,
            missing: decision.missing,
            grants_suspended: decision.suspended,
            error: None,
        }
    }
}

fn failed_info(id: &str, source: String, failure: &PluginFailure) -> PluginInfo {
    PluginInfo {
        id: id.to_owned(),
        source,
        wit_version: None,
        metadata: None,
        granted: Vec::new(),
        missing: Vec::new(),
        grants_suspended: None,
        programs: Vec::new(),
        error: Some(crate::sanitize::short(&failure.to_string())),
    }
}

/// The file each `process:NAME` capability in `capabilities` runs.
fn programs<'a>(
    capabilities: impl Iterator<Item = &'a Capability>,
) -> Vec<(String, Option<std::path::PathBuf>)> {
    let mut out: Vec<(String, Option<std::path::PathBuf>)> = Vec::new();
    for capability in capabilities {
        if let Capability::Process(Some(name)) = capability
            && !out.iter().any(|(known, _)| known == name)
        {
            out.push((name.clone(), crate::process::resolve_program(name)));
        }
    }
    out
}

/// A file's name, safe to print.
fn file_name(path: &Path) -> String {
    crate::sanitize::short(&path.file_name().unwrap_or_default().to_string_lossy())
}

/// A path, safe to print.
fn display(path: &Path) -> String {
    crate::sanitize::short(&path.display().to_string())
}
