//! `authhost paths [--json]`: where authhost keeps its files, and where
//! secrets go.

use std::process::ExitCode;

use authhost::{Host, Paths, StoreBackend};

use super::Io;

/// `authhost paths`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Prints the paths of `host`.
pub fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let store = (host.store_backend(), host.store_place());
    print(io, crate::cli::files(host), store, args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// The files and folders, and the store backend with where it keeps the
/// credentials, as text or JSON.
fn print(
    io: &Io,
    paths: &Paths,
    (backend, place): (StoreBackend, String),
    json: bool,
) -> anyhow::Result<()> {
    let rows = [
        ("config", &paths.config_file),
        ("store", &paths.store_file),
        ("plugins", &paths.plugins_dir),
        ("cache", &paths.cache_dir),
    ];
    if json {
        let mut map: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(k, v)| (k.to_string(), v.display().to_string().into()))
            .collect();
        map.insert("backend".into(), backend.name().into());
        map.insert("credentials".into(), place.into());
        io.print_json(&map)?;
    } else {
        for (name, path) in rows {
            outln!(io, "{name:<8} {}", path.display())?;
        }
        let secrets = match backend {
            StoreBackend::File => "file (secrets in auth.json)",
            StoreBackend::Keyring => {
                "keyring (secrets in the OS keyring; auth.json holds the rest)"
            }
            other => &format!("{other} (credentials in {place})"),
        };
        outln!(io, "{:<8} {secrets}", "backend")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use authhost::{Paths, StoreBackend};

    use crate::cli::Io;

    #[test]
    fn paths_are_printed_one_per_line() {
        let (io, out, err) = Io::in_memory();
        let paths = Paths::in_home("/h");
        let store = (StoreBackend::Keyring, "the OS keyring".to_owned());
        super::print(&io, &paths, store, false).unwrap();
        assert_eq!(
            out.text(),
            "config   /h/config.toml\n\
             store    /h/auth.json\n\
             plugins  /h/plugins\n\
             cache    /h/cache\n\
             backend  keyring (secrets in the OS keyring; auth.json holds the rest)\n"
        );
        assert_eq!(err.text(), "");
    }

    #[test]
    fn paths_as_json_name_the_backend() {
        let (io, out, _) = Io::in_memory();
        let store = (StoreBackend::File, "auth.json".to_owned());
        super::print(&io, &Paths::in_home("/h"), store, true).unwrap();
        let json: serde_json::Value = serde_json::from_str(&out.text()).unwrap();
        assert_eq!(json["backend"], "file");
        assert_eq!(json["store"], "/h/auth.json");
    }
}
