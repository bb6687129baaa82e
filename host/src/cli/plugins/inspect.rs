//! `authhost plugins inspect FILE|ID [--json]`: what a `.wasm` file is and
//! whether it would load, from its `describe` export alone; or, for the id
//! of a plugin already there (a built-in, or one in the plugins folder),
//! the same facts of that plugin.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use authhost::{Host, PluginInfo};

use crate::cli::{Io, table};

/// `authhost plugins inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The component file, or the id of a plugin already there (`oauth2`).
    #[arg(value_name = "FILE|ID")]
    path: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Describes the file or the plugin; exits 1 when it would not load.
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let (info, size) = match plugin_id(&args.path) {
        Some(id) => (installed(host, id).await?, None),
        None => {
            let inspection = host.inspect(&args.path).await;
            (inspection.info, Some(inspection.size))
        }
    };
    let would_load = info.error.is_none();
    if args.json {
        let mut json = serde_json::to_value(&info)?;
        json["would_load"] = would_load.into();
        if let Some(size) = size {
            json["size"] = size.into();
        }
        io.print_json(&json)?;
    } else {
        print(io, &info, size)?;
    }
    Ok(if would_load {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The argument as a plugin id: no file of that name, and shaped like an
/// id (lowercase ASCII letters, digits and `-`); anything else is a file.
fn plugin_id(path: &Path) -> Option<&str> {
    let text = path.to_str()?;
    let id_shaped = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (id_shaped && !path.exists()).then_some(text)
}

/// The plugin `id` among the built-ins and the plugins folder's.
async fn installed(host: &Host, id: &str) -> anyhow::Result<PluginInfo> {
    let plugins = host.plugins().await?;
    let ids: Vec<&str> = plugins.iter().map(|p| p.id.as_str()).collect();
    if let Some(info) = plugins.iter().find(|p| p.id == id) {
        return Ok(info.clone());
    }
    let closest = ids
        .iter()
        .map(|known| (strsim::normalized_damerau_levenshtein(id, known), *known))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, known)| format!("; did you mean `{known}`?"))
        .unwrap_or_default();
    anyhow::bail!(
        "no file `{id}` and no plugin of that id{closest} (plugins: {})",
        ids.join(", ")
    )
}

/// The plugin, one fact a line; `size` for a file.
fn print(io: &Io, info: &PluginInfo, size: Option<u64>) -> std::io::Result<()> {
    let list =
        |caps: &[authhost::capability::Capability]| table::or_none(table::capabilities(caps));
    match size {
        Some(size) => {
            outln!(io, "file:        {}", info.source)?;
            outln!(io, "size:        {size} bytes")?;
        }
        None => outln!(io, "source:      {}", info.source)?,
    }
    if let Some(metadata) = &info.metadata {
        outln!(io, "id:          {}", metadata.id)?;
        outln!(io, "name:        {}", metadata.display_name)?;
        outln!(io, "description: {}", metadata.description)?;
        outln!(
            io,
            "wit:         authhost:provider@{}",
            info.wit_version.as_deref().unwrap_or("?")
        )?;
        let methods: Vec<String> = metadata
            .methods
            .iter()
            .map(|m| format!("{} ({})", m.id, m.kind))
            .collect();
        outln!(io, "methods:     {}", methods.join(", "))?;
        let requested: Vec<String> = metadata.requested.iter().map(ToString::to_string).collect();
        outln!(io, "requests:    {}", table::or_none(requested.join(", ")))?;
        outln!(io, "granted:     {}", list(&info.granted))?;
        outln!(io, "missing:     {}", list(&info.missing))?;
        for (name, file) in &info.programs {
            match file {
                Some(file) => outln!(io, "program:     {name} runs {}", file.display())?,
                None => outln!(io, "program:     {name} is not on your PATH")?,
            }
        }
        if let Some(reason) = &info.grants_suspended {
            outln!(io, "grants:      suspended: {reason}")?;
        }
    }
    match &info.error {
        None => outln!(io, "would load:  yes"),
        Some(error) => outln!(io, "would load:  no ({error})"),
    }
}
