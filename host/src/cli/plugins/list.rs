//! `authhost plugins list [--json]`: every plugin with its WIT version,
//! login methods, capabilities and load error.

use std::process::ExitCode;

use authhost::{Host, PluginInfo};

use crate::cli::{Io, table};

/// `authhost plugins list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Lists the plugins (creating the plugins folder if it is missing).
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    host.create_plugins_dir()?;
    let plugins = host.plugins().await?;
    if args.json {
        io.print_json(&plugins)?;
    } else {
        print(io, &plugins)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The plugins as a table.
fn print(io: &Io, plugins: &[PluginInfo]) -> std::io::Result<()> {
    let rows: Vec<[String; 5]> = plugins
        .iter()
        .map(|p| {
            let detail = match &p.error {
                Some(error) => format!("error: {error}"),
                None => {
                    let list = table::capabilities;
                    let mut detail = format!("granted: {}", table::or_none(list(&p.granted)));
                    if !p.missing.is_empty() {
                        detail.push_str(&format!("; missing: {}", list(&p.missing)));
                    }
                    if p.grants_suspended.is_some() {
                        detail
                            .push_str("; grants suspended: the file changed since they were made");
                    }
                    detail
                }
            };
            let wit = p.wit_version.clone().unwrap_or_else(|| "-".into());
            let methods = p.metadata.as_ref().map_or_else(
                || "-".to_owned(),
                |m| {
                    m.methods
                        .iter()
                        .map(|m| m.id.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                },
            );
            [p.id.clone(), p.source.clone(), wit, methods, detail]
        })
        .collect();
    table::print(
        io,
        ["ID", "SOURCE", "WIT", "METHODS", "CAPABILITIES"],
        &rows,
    )
}
