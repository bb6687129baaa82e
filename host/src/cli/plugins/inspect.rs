//! `authhost plugins inspect FILE [--json]`: what a `.wasm` file is and
//! whether it would load, from its `describe` export alone.

use std::path::PathBuf;
use std::process::ExitCode;

use authhost::{Host, Inspection};

use crate::cli::{Io, table};

/// `authhost plugins inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The component file.
    path: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Describes the file; exits 1 when it would not load.
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let inspection = host.inspect(&args.path).await;
    if args.json {
        io.print_json(&inspection)?;
    } else {
        print(io, &inspection)?;
    }
    Ok(if inspection.would_load {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The inspection, one fact a line.
fn print(io: &Io, inspection: &Inspection) -> std::io::Result<()> {
    let info = &inspection.info;
    let list =
        |caps: &[authhost::capability::Capability]| table::or_none(table::capabilities(caps));
    outln!(io, "file:        {}", info.source)?;
    outln!(io, "size:        {} bytes", inspection.size)?;
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
