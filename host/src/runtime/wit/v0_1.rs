//! `authhost:provider@0.1.0` (`wit/0.1.0/`): bindings, conversions to the
//! version-neutral types, and the imports, each a call into
//! [`crate::runtime::imports`].

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker, Resource};

use super::{Credential, Metadata, Method, Reason, Resolved, WitError};
use crate::loopback::Listener;
use crate::plugins::MethodKind;
use crate::runtime::imports::{self, Event, RunCommand, RunRequest};
use crate::runtime::state::PluginState;

wasmtime::component::bindgen!({
    world: "plugin",
    path: "wit/0.1.0",
    imports: {
        // Resource handles come from wasmtime; a bad one is a host bug, so
        // the listener's functions may trap instead of inventing an error.
        "authhost:provider/loopback": async | trappable,
        default: async,
    },
    exports: { default: async },
    with: {
        "authhost:provider/loopback.listener": crate::loopback::Listener,
    },
});

use self::authhost::provider::{browser, config, interact, log, loopback, process, types};
use self::exports::authhost::provider::provider as export;

/// The version this module implements.
pub const VERSION: &str = "0.1.0";

pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |state| state)
}

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

pub(super) async fn resolve(
    plugin: &Plugin,
    store: &mut Store<PluginState>,
    reason: Reason,
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

fn credential(c: types::Credential) -> Credential {
    match c {
        types::Credential::ApiKey(key) => Credential::ApiKey(key),
        types::Credential::Oauth(t) => Credential::OAuth {
            access: t.access,
            refresh: t.refresh,
            expires: t.expires,
        },
    }
}

fn error_from(e: types::Error) -> WitError {
    match e {
        types::Error::Cancelled => WitError::Cancelled,
        types::Error::Denied(m) => WitError::Denied(m),
        types::Error::Timeout(m) => WitError::Timeout(m),
        types::Error::Network(m) => WitError::Network(m),
        types::Error::InvalidResponse(m) => WitError::InvalidResponse(m),
        types::Error::CapabilityDenied(m) => WitError::CapabilityDenied(m),
        types::Error::Other(m) => WitError::Other(m),
    }
}

fn error_to(e: WitError) -> types::Error {
    match e {
        WitError::Cancelled => types::Error::Cancelled,
        WitError::Denied(m) => types::Error::Denied(m),
        WitError::Timeout(m) => types::Error::Timeout(m),
        WitError::Network(m) => types::Error::Network(m),
        WitError::InvalidResponse(m) => types::Error::InvalidResponse(m),
        WitError::CapabilityDenied(m) => types::Error::CapabilityDenied(m),
        WitError::Other(m) => types::Error::Other(m),
    }
}

impl types::Host for PluginState {}

impl process::Host for PluginState {
    async fn run(
        &mut self,
        request: process::RunRequest,
    ) -> Result<process::RunOutput, types::Error> {
        let request = RunRequest {
            command: match request.command {
                process::Command::Shell(line) => RunCommand::Shell(line),
                process::Command::Argv(argv) => RunCommand::Argv(argv),
            },
            env: request.env,
            timeout_ms: request.timeout_ms,
            max_output: request.max_output,
        };
        imports::process_run(self, request)
            .await
            .map(|out| process::RunOutput {
                exit_code: out.exit_code,
                stdout: out.stdout,
                stderr: out.stderr,
            })
            .map_err(error_to)
    }
}

impl loopback::Host for PluginState {}

impl loopback::HostListener for PluginState {
    async fn bind(
        &mut self,
        port: Option<u16>,
    ) -> wasmtime::Result<Result<Resource<Listener>, types::Error>> {
        Ok(imports::loopback_bind(self, port).await?.map_err(error_to))
    }

    async fn port(&mut self, listener: Resource<Listener>) -> wasmtime::Result<u16> {
        imports::loopback_port(self, &listener)
    }

    async fn next(
        &mut self,
        listener: Resource<Listener>,
        timeout_ms: u32,
        paste_label: Option<String>,
    ) -> wasmtime::Result<Result<loopback::Event, types::Error>> {
        let event = imports::loopback_next(self, &listener, timeout_ms, paste_label).await?;
        Ok(event
            .map(|event| match event {
                Event::Request(ticket, r) => loopback::Event::Request((
                    ticket,
                    loopback::Request {
                        method: r.method,
                        path_and_query: r.path_and_query,
                        headers: r.headers,
                    },
                )),
                Event::Pasted(line) => loopback::Event::Pasted(line),
            })
            .map_err(error_to))
    }

    async fn respond(
        &mut self,
        listener: Resource<Listener>,
        ticket: u64,
        response: loopback::Response,
    ) -> wasmtime::Result<()> {
        imports::loopback_respond(
            self,
            &listener,
            ticket,
            crate::loopback::Response {
                status: response.status,
                headers: response.headers,
                body: response.body,
            },
        )
    }

    async fn drop(&mut self, listener: Resource<Listener>) -> wasmtime::Result<()> {
        imports::loopback_drop(self, listener)
    }
}

impl browser::Host for PluginState {
    async fn open(&mut self, url: String) -> Result<(), types::Error> {
        imports::browser_open(self, &url).map_err(error_to)
    }
}

impl interact::Host for PluginState {
    async fn message(&mut self, text: String) {
        imports::message(self, &text);
    }

    async fn prompt(&mut self, label: String, secret: bool) -> Result<String, types::Error> {
        imports::prompt(self, &label, secret)
            .await
            .map_err(error_to)
    }
}

impl config::Host for PluginState {
    async fn provider_name(&mut self) -> String {
        imports::provider_name(self)
    }

    async fn get(&mut self) -> String {
        imports::config_get(self)
    }
}

impl log::Host for PluginState {
    async fn write(&mut self, level: log::Level, message: String) {
        let level = match level {
            log::Level::Trace => tracing::Level::TRACE,
            log::Level::Debug => tracing::Level::DEBUG,
            log::Level::Info => tracing::Level::INFO,
            log::Level::Warn => tracing::Level::WARN,
            log::Level::Error => tracing::Level::ERROR,
        };
        imports::log_write(self, level, &message);
    }
}
