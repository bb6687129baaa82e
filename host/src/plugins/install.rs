//! Changing the plugins folder: [`Plugins::install`] copies a checked
//! component in, [`Plugins::remove`] takes one out.

use super::*;

impl Plugins {
    /// Installs the component file at `path` in the plugins folder: reads it
    /// once, checks that it loads and describes itself (compiling it, with
    /// the notice), then writes those bytes atomically, mode 0600, as
    /// `ID.wasm`. A different component with the same id (in any file),
    /// or another plugin in `ID.wasm`, is replaced only with `force`; the
    /// same component already installed is left as it is.
    pub async fn install(&self, path: &Path, force: bool) -> Result<Installed, Error> {
        // The folder as it is, before anything is compiled: a scan that
        // finds it changed evicts compiled code it does not know.
        let dir = self.folder_dir()?;
        let folder = self.folder().await;
        let label = path.file_name().unwrap_or_default().to_string_lossy();
        let shown = crate::sanitize::short(&label);
        let failed = |f: PluginFailure| Error::plugin(&shown, f);
        let bytes = read_component_file(path).map_err(failed)?;
        let component = ComponentBytes::hash(&bytes);
        let digest = component.sha256().to_owned();
        let runtime = self.runtime().map_err(failed)?;
        let loaded = runtime.load(&component, &label).map_err(failed)?;
        let raw = self
            .describe(&runtime, &loaded, shown.clone())
            .await
            .map_err(failed)?;
        let metadata = metadata::from_wit(raw.clone()).map_err(failed)?;
        let id = metadata.id.clone();
        let refuse = |reason: String| Error::PluginRefused {
            id: id.clone(),
            reason,
        };
        if builtin(&id).is_some() {
            return Err(refuse(
                "its id is a built-in plugin's; a folder plugin cannot replace it".into(),
            ));
        }
        let dest = dir.join(format!("{id}.wasm"));
        let mut replaced = Vec::new();
        let mut unchanged = false;
        for (claim, file, sha) in &folder.claims {
            if claim == &id && sha == &digest && file == &dest {
                unchanged = true;
            } else if claim == &id || file == &dest {
                if !force {
                    return Err(refuse(format!(
                        "{} already holds {} (sha256 {}…); use --force to replace it",
                        crate::sanitize::short(&file.display().to_string()),
                        if claim == &id {
                            "a different build of it".to_owned()
                        } else {
                            format!("plugin `{claim}`")
                        },
                        &sha[..12]
                    )));
                }
                replaced.push(file.clone());
            }
        }
        if !unchanged {
            crate::files::create_private_dir(dir)?;
            crate::files::write_atomic(&dest, &bytes, crate::files::Access::Private)?;
            for file in replaced.iter().filter(|f| **f != dest) {
                std::fs::remove_file(file).map_err(|e| Error::io("cannot remove", file, e))?;
            }
        }
        // Record the description, so that no later command describes it
        // again, and drop what the replaced files left.
        let mut index = self.load_index();
        let identity = Identity::of(&dest).map_err(|e| Error::io("cannot read", &dest, e))?;
        index.set_file(&dest, identity, &digest);
        if let Some(described) = Described::of(&Ok((loaded.wit_version.clone(), raw))) {
            index.set_described(&digest, described);
        }
        let present = self.folder_files();
        let present: Vec<&Path> = present.iter().map(PathBuf::as_path).collect();
        let contents = index.contents(&present);
        self.save_index(index, Some(&present));
        self.evict_compiled(&contents);
        Ok(Installed {
            plugin: Plugin {
                source: PluginSource::Folder(dest.clone()),
                metadata,
                wit_version: loaded.wit_version.clone(),
                digest,
                identity: None,
                component: OnceCell::new_with(Some(Ok(loaded))),
            },
            file: dest,
            replaced,
            unchanged,
        })
    }

    /// Removes the folder plugin `id`: every file that reports that id,
    /// their compiled components and their entries in the index. Returns
    /// the files removed (none when no file has the id).
    pub async fn remove(&self, id: &str) -> Result<Vec<(PathBuf, String)>, Error> {
        if builtin(id).is_some() {
            return Err(Error::PluginRefused {
                id: id.to_owned(),
                reason: "it is built into authhost and cannot be removed \
                         (a provider that should not use it can name another plugin)"
                    .into(),
            });
        }
        self.folder_dir()?;
        let folder = self.folder().await;
        let mut removed = Vec::new();
        for (claim, file, sha) in &folder.claims {
            if claim == id {
                std::fs::remove_file(file).map_err(|e| Error::io("cannot remove", file, e))?;
                removed.push((file.clone(), sha.clone()));
            }
        }
        let cache = self.component_cache();
        for (_, sha) in &removed {
            cache.remove_compiled(sha);
        }
        let index = self.load_index();
        let present = self.folder_files();
        let present: Vec<&Path> = present.iter().map(PathBuf::as_path).collect();
        self.save_index(index, Some(&present));
        Ok(removed)
    }
}
