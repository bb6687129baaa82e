//! Linkers made to measure: the WASI interfaces every guest imports are
//! always linked, and the larger groups (filesystem, sockets, random,
//! wasi:http) only for components that import them. Defining a host
//! function costs time at start-up, and `authhost token` pays it on every
//! run: a shell-helper links about half of what a full WASI linker holds.
//!
//! The groups together are exactly what `wasmtime_wasi::p2::add_to_linker_async`
//! and `wasmtime_wasi_http::p2::add_only_http_to_linker_async` link; wasi:http
//! comes with authhost's limits on top ([`http_limits`]).

mod http_limits;

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sockets};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};

use super::state::PluginState;
use super::wit::SUPPORTED;

/// The optional groups of interfaces a component imports, and the version
/// of authhost's own interfaces it was built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Needs {
    filesystem: bool,
    sockets: bool,
    random: bool,
    http: bool,
    /// Index into [`SUPPORTED`].
    version: usize,
}

impl Needs {
    /// Number of distinct values of [`Needs::index`].
    pub(super) const COUNT: usize = 16 * SUPPORTED.len();

    /// The groups `component` imports; `version` is the supported version
    /// that serves it (one of [`SUPPORTED`]).
    pub(super) fn of(engine: &Engine, component: &Component, version: &str) -> Needs {
        let mut needs = Needs {
            version: SUPPORTED.iter().position(|v| *v == version).unwrap_or(0),
            ..Needs::default()
        };
        for (name, _) in component.component_type().imports(engine) {
            match name.split('/').next().unwrap_or_default() {
                "wasi:filesystem" => needs.filesystem = true,
                "wasi:sockets" => needs.sockets = true,
                "wasi:random" => needs.random = true,
                "wasi:http" => needs.http = true,
                _ => {}
            }
        }
        needs
    }

    /// A distinct number below [`Needs::COUNT`] for each value.
    pub(super) fn index(self) -> usize {
        usize::from(self.filesystem)
            | usize::from(self.sockets) << 1
            | usize::from(self.random) << 2
            | usize::from(self.http) << 3
            | self.version << 4
    }
}

/// A linker with authhost's interfaces, the WASI interfaces every guest
/// imports (io, clocks, cli), and the groups in `needs`.
pub(super) fn linker(engine: &Engine, needs: Needs) -> wasmtime::Result<Linker<PluginState>> {
    type T = PluginState;
    let mut linker = Linker::new(engine);
    let l = &mut linker;
    wasmtime_wasi_io::add_to_linker_async(l)?;
    clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    if needs.random {
        random::random::add_to_linker::<T, WasiRandom>(l, T::random)?;
        random::insecure::add_to_linker::<T, WasiRandom>(l, T::random)?;
        random::insecure_seed::add_to_linker::<T, WasiRandom>(l, T::random)?;
    }
    if needs.filesystem {
        filesystem::types::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
        filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    }
    if needs.sockets {
        let options = sockets::network::LinkOptions::default();
        sockets::tcp_create_socket::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
        sockets::instance_network::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
        sockets::network::add_to_linker::<T, WasiSockets>(l, &options, T::sockets)?;
        sockets::ip_name_lookup::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
        sockets::tcp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
        sockets::udp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
        sockets::udp_create_socket::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    }
    if needs.http {
        http_limits::add_to_linker(l)?;
    }
    super::wit::add_to_linker(l, SUPPORTED[needs.version])?;
    Ok(linker)
}
