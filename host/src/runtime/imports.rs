//! The host side of the contract's imports, independent of the WIT version:
//! each version module in [`super::wit`] converts its types and calls these.
//!
//! Each capability check is one call to the granter
//! ([`super::state::Grants::check`]); nothing here reaches a process, a
//! socket, a URL or the user without it. While a plugin describes itself it
//! has no grants, sees an empty configuration, and its messages and log
//! lines are dropped: `describe` can use nothing.

use std::time::Duration;

use wasmtime::component::Resource;

use super::state::PluginState;
use super::wit::WitError;
use crate::capability::{Denied, Use};
use crate::loopback::{Listener, Request, Response};
use crate::process::{Command, RunError, RunSpec};
use crate::sanitize;

/// Caps on what a guest may ask of `process.run`.
const MAX_PROCESS_TIMEOUT: Duration = Duration::from_secs(600);
const MAX_PROCESS_OUTPUT: usize = 16 << 20;
/// Longest prompt or paste label shown, in characters.
const MAX_LABEL: usize = 200;
/// Longest message line shown, in characters: room for a long login URL.
const MAX_MESSAGE: usize = 4096;
/// Most lines of one message shown.
const MAX_MESSAGE_LINES: usize = 20;

/// What to run (`process.run`).
pub(crate) enum RunCommand {
    Shell(String),
    Argv(Vec<String>),
}

/// A `process.run` request.
pub(crate) struct RunRequest {
    pub command: RunCommand,
    pub env: Vec<(String, String)>,
    pub timeout_ms: u32,
    pub max_output: u32,
}

/// How the program ended.
pub(crate) struct RunOutput {
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// What `listener.next` received.
pub(crate) enum Event {
    Request(u64, Request),
    Pasted(String),
}

impl PluginState {
    /// Asks the granter (which records a denial).
    fn check(&self, use_: Use<'_>) -> Result<(), WitError> {
        self.grants
            .check(use_)
            .map_err(|d: Denied| WitError::CapabilityDenied(d.capability))
    }

    /// Counts one log line or message; false once the plugin has used up
    /// its allowance (a plugin that logs in a loop cannot flood the
    /// terminal), and always while it describes itself.
    fn take_line(&mut self) -> bool {
        if self.describing() {
            return false;
        }
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

pub(crate) async fn process_run(
    state: &mut PluginState,
    request: RunRequest,
) -> Result<RunOutput, WitError> {
    let command = match request.command {
        RunCommand::Shell(line) => Command::Shell(line),
        RunCommand::Argv(argv) => Command::Argv(argv),
    };
    // argv[0] exactly as given: a name (run from the user's PATH) or a
    // path that only `process` or the identical absolute grant allows.
    state.check(Use::Process {
        program: command.program(),
    })?;
    let spec = RunSpec {
        command,
        env: request.env,
        timeout: Duration::from_millis(request.timeout_ms.into()).min(MAX_PROCESS_TIMEOUT),
        max_output: (request.max_output as usize).min(MAX_PROCESS_OUTPUT),
    };
    match crate::process::run(spec).await {
        Ok(out) => Ok(RunOutput {
            exit_code: out.exit_code,
            stdout: out.stdout,
            stderr: out.stderr,
        }),
        Err(e @ RunError::Timeout(_)) => Err(WitError::Timeout(e.to_string())),
        Err(e @ RunError::OutputTooLarge { .. }) => Err(WitError::InvalidResponse(e.to_string())),
        Err(e) => Err(WitError::Other(crate::error::error_chain(&e))),
    }
}

pub(crate) async fn loopback_bind(
    state: &mut PluginState,
    port: Option<u16>,
) -> wasmtime::Result<Result<Resource<Listener>, WitError>> {
    if let Err(e) = state.check(Use::Loopback { port }) {
        return Ok(Err(e));
    }
    if let Err(limit) = state.listener_allowed() {
        return Ok(Err(WitError::Other(limit)));
    }
    match Listener::bind(port).await {
        Ok(listener) => Ok(Ok(state.keep_listener(listener)?)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Ok(Err(WitError::Other(format!(
            "port {} is in use",
            port.unwrap_or_default()
        )))),
        Err(e) => Ok(Err(WitError::Other(format!(
            "cannot listen on 127.0.0.1: {e}"
        )))),
    }
}

pub(crate) fn loopback_port(
    state: &mut PluginState,
    listener: &Resource<Listener>,
) -> wasmtime::Result<u16> {
    Ok(state.table.get(listener)?.port())
}

pub(crate) async fn loopback_next(
    state: &mut PluginState,
    listener: &Resource<Listener>,
    timeout_ms: u32,
    paste_label: Option<String>,
) -> wasmtime::Result<Result<Event, WitError>> {
    if paste_label.is_some()
        && let Err(e) = state.check(Use::Prompt)
    {
        return Ok(Err(e));
    }
    let interaction = state.call.interaction.clone();
    let label = paste_label.map(|l| state.label(&l));
    let timeout = Duration::from_millis(timeout_ms.into());
    let listener = state.table.get_mut(listener)?;
    let pasted = async {
        match &label {
            Some(label) => interaction.pasted_line(label).await,
            None => std::future::pending().await,
        }
    };
    Ok(tokio::select! {
        request = listener.next(timeout) => match request {
            Some((ticket, r)) => Ok(Event::Request(ticket, r)),
            None => Err(WitError::Timeout(format!("no request arrived within {timeout_ms} ms"))),
        },
        line = pasted => Ok(Event::Pasted(line)),
    })
}

pub(crate) fn loopback_respond(
    state: &mut PluginState,
    listener: &Resource<Listener>,
    ticket: u64,
    response: Response,
) -> wasmtime::Result<()> {
    state.table.get_mut(listener)?.respond(ticket, response);
    Ok(())
}

pub(crate) fn loopback_drop(
    state: &mut PluginState,
    listener: Resource<Listener>,
) -> wasmtime::Result<()> {
    state.table.delete(listener)?;
    Ok(())
}

pub(crate) fn browser_open(state: &mut PluginState, url: &str) -> Result<(), WitError> {
    state.check(Use::Browser)?;
    let parsed = url::Url::parse(url).map_err(|e| WitError::Other(format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(WitError::Other(
            "only http and https URLs can be opened".into(),
        ));
    }
    crate::browser::open(parsed.as_str())
        .map_err(|e| WitError::Other(format!("cannot start the browser: {e}")))
}

/// Shows a message: each of its lines (at most [`MAX_MESSAGE_LINES`]) on a
/// line of its own, sanitised, and for a folder plugin prefixed with its id.
pub(crate) fn message(state: &mut PluginState, text: &str) {
    if state.take_line() {
        let lines = text.trim_end_matches('\n').split('\n');
        for line in lines.take(MAX_MESSAGE_LINES) {
            let line = state.line(line);
            state.call.interaction.message(&line);
        }
    }
}

pub(crate) async fn prompt(
    state: &mut PluginState,
    label: &str,
    secret: bool,
) -> Result<String, WitError> {
    state.check(Use::Prompt)?;
    let interaction = state.call.interaction.clone();
    let label = state.label(label);
    interaction
        .prompt(&label, secret)
        .await
        .ok_or(WitError::Cancelled)
}

pub(crate) fn provider_name(state: &mut PluginState) -> String {
    if state.describing() {
        return String::new();
    }
    state.call.provider.clone()
}

pub(crate) fn config_get(state: &mut PluginState) -> String {
    if state.describing() {
        return "{}".into();
    }
    state.call.config_json.clone()
}

pub(crate) fn log_write(state: &mut PluginState, level: tracing::Level, message: &str) {
    if !state.take_line() {
        return;
    }
    let plugin = sanitize::plugin_text(&state.call.plugin, 64);
    let message = sanitize::short(message);
    match level {
        tracing::Level::TRACE => tracing::trace!(plugin, "{message}"),
        tracing::Level::DEBUG => tracing::debug!(plugin, "{message}"),
        tracing::Level::INFO => tracing::info!(plugin, "{message}"),
        tracing::Level::WARN => tracing::warn!(plugin, "{message}"),
        _ => tracing::error!(plugin, "{message}"),
    }
}

impl PluginState {
    /// A message line of this plugin for the user: sanitised, and
    /// attributed unless the plugin is built in.
    fn line(&self, text: &str) -> String {
        if self.call.builtin {
            sanitize::plugin_text(text, MAX_MESSAGE)
        } else {
            sanitize::attributed(&self.call.plugin, text, MAX_MESSAGE)
        }
    }

    /// A prompt label of this plugin, as [`PluginState::line`] but shorter.
    fn label(&self, text: &str) -> String {
        if self.call.builtin {
            sanitize::plugin_text(text, MAX_LABEL)
        } else {
            sanitize::attributed(&self.call.plugin, text, MAX_LABEL)
        }
    }
}
