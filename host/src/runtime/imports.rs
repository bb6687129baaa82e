//! The host side of the WIT imports. Each capability check is one call to
//! the granter ([`super::state::Grants::check`]); nothing here reaches a
//! process, a socket, a URL or the user without it.

use std::time::Duration;

use wasmtime::component::Resource;

use super::bindings::authhost::provider::{
    browser, config, interact, log, loopback, process, types,
};
use super::state::PluginState;
use crate::capability::{Denied, Use};
use crate::loopback::Listener;
use crate::process::{Command, RunError, RunSpec};

use types::Error;

/// Longest text accepted from a guest for a message or a log line.
const MAX_TEXT: usize = 4096;
/// Caps on what a guest may ask of `process.run`.
const MAX_PROCESS_TIMEOUT: Duration = Duration::from_secs(600);
const MAX_PROCESS_OUTPUT: usize = 16 << 20;

fn denied(d: Denied) -> Error {
    Error::CapabilityDenied(d.capability)
}

/// `text`, cut at [`MAX_TEXT`] bytes on a character boundary.
fn bounded(text: &str) -> &str {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl types::Host for PluginState {}

impl PluginState {
    /// Counts one log line or message; false once the plugin has used up
    /// its allowance (a plugin that logs in a loop cannot flood the
    /// terminal).
    fn take_line(&mut self) -> bool {
        match self.lines_left {
            0 => false,
            1 => {
                self.lines_left = 0;
                tracing::warn!(plugin = %self.call.plugin, "further log lines and messages of this call are dropped");
                false
            }
            _ => {
                self.lines_left -= 1;
                true
            }
        }
    }
}

impl process::Host for PluginState {
    async fn run(&mut self, request: process::RunRequest) -> Result<process::RunOutput, Error> {
        let command = match request.command {
            process::Command::Shell(line) => Command::Shell(line),
            process::Command::Argv(argv) => Command::Argv(argv),
        };
        // argv[0] exactly as given: a name (run from the user's PATH) or a
        // path that only `process` or the identical absolute grant allows.
        self.grants
            .check(Use::Process {
                program: command.program(),
            })
            .map_err(denied)?;
        let spec = RunSpec {
            command,
            env: request.env,
            timeout: Duration::from_millis(request.timeout_ms.into()).min(MAX_PROCESS_TIMEOUT),
            max_output: (request.max_output as usize).min(MAX_PROCESS_OUTPUT),
        };
        match crate::process::run(spec).await {
            Ok(out) => Ok(process::RunOutput {
                exit_code: out.exit_code,
                stdout: out.stdout,
                stderr: out.stderr,
            }),
            Err(e @ RunError::Timeout(_)) => Err(Error::Timeout(e.to_string())),
            Err(e @ RunError::OutputTooLarge { .. }) => Err(Error::InvalidResponse(e.to_string())),
            Err(e) => Err(Error::Other(crate::error_chain(&e))),
        }
    }
}

impl loopback::Host for PluginState {}

impl loopback::HostListener for PluginState {
    async fn bind(
        &mut self,
        port: Option<u16>,
    ) -> wasmtime::Result<Result<Resource<Listener>, Error>> {
        if let Err(d) = self.grants.check(Use::Loopback { port }) {
            return Ok(Err(denied(d)));
        }
        match Listener::bind(port).await {
            Ok(listener) => Ok(Ok(self.table.push(listener)?)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Ok(Err(Error::Other(format!(
                "port {} is in use",
                port.unwrap_or_default()
            )))),
            Err(e) => Ok(Err(Error::Other(format!(
                "cannot listen on 127.0.0.1: {e}"
            )))),
        }
    }

    async fn port(&mut self, listener: Resource<Listener>) -> wasmtime::Result<u16> {
        Ok(self.table.get(&listener)?.port())
    }

    async fn next(
        &mut self,
        listener: Resource<Listener>,
        timeout_ms: u32,
        paste_label: Option<String>,
    ) -> wasmtime::Result<Result<loopback::Event, Error>> {
        if paste_label.is_some()
            && let Err(d) = self.grants.check(Use::Prompt)
        {
            return Ok(Err(denied(d)));
        }
        let interaction = self.call.interaction.clone();
        let timeout = Duration::from_millis(timeout_ms.into());
        let listener = self.table.get_mut(&listener)?;
        let pasted = async {
            match &paste_label {
                Some(label) => interaction.pasted_line(bounded(label)).await,
                None => std::future::pending().await,
            }
        };
        Ok(tokio::select! {
            request = listener.next(timeout) => match request {
                Some((ticket, r)) => Ok(loopback::Event::Request((ticket, loopback::Request {
                    method: r.method,
                    path_and_query: r.path_and_query,
                    headers: r.headers,
                }))),
                None => Err(Error::Timeout(format!("no request arrived within {timeout_ms} ms"))),
            },
            line = pasted => Ok(loopback::Event::Pasted(line)),
        })
    }

    async fn respond(
        &mut self,
        listener: Resource<Listener>,
        ticket: u64,
        response: loopback::Response,
    ) -> wasmtime::Result<()> {
        self.table.get_mut(&listener)?.respond(
            ticket,
            crate::loopback::Response {
                status: response.status,
                headers: response.headers,
                body: response.body,
            },
        );
        Ok(())
    }

    async fn drop(&mut self, listener: Resource<Listener>) -> wasmtime::Result<()> {
        self.table.delete(listener)?;
        Ok(())
    }
}

impl browser::Host for PluginState {
    async fn open(&mut self, url: String) -> Result<(), Error> {
        self.grants.check(Use::Browser).map_err(denied)?;
        let parsed = url::Url::parse(&url).map_err(|e| Error::Other(format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Other(
                "only http and https URLs can be opened".into(),
            ));
        }
        crate::browser::open(parsed.as_str())
            .map_err(|e| Error::Other(format!("cannot start the browser: {e}")))
    }
}

impl interact::Host for PluginState {
    async fn message(&mut self, text: String) {
        if self.take_line() {
            self.call.interaction.message(bounded(&text));
        }
    }

    async fn prompt(&mut self, label: String, secret: bool) -> Result<String, Error> {
        self.grants.check(Use::Prompt).map_err(denied)?;
        let interaction = self.call.interaction.clone();
        interaction
            .prompt(bounded(&label), secret)
            .await
            .ok_or(Error::Cancelled)
    }
}

impl config::Host for PluginState {
    async fn provider_name(&mut self) -> String {
        self.call.provider.clone()
    }

    async fn get(&mut self) -> String {
        self.call.config_json.clone()
    }
}

impl log::Host for PluginState {
    async fn write(&mut self, level: log::Level, message: String) {
        if !self.take_line() {
            return;
        }
        let plugin = &self.call.plugin;
        let message = bounded(&message);
        match level {
            log::Level::Trace => tracing::trace!(plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}
