//! The contract's imports, implemented once for every version: each
//! version module calls [`impl_imports!`] where its bindings are in scope.
//! The import interfaces have kept their shape across versions, so the
//! same code compiles against each version's generated types; each
//! function converts and calls the shared implementation in
//! [`crate::runtime::imports`].

/// Implements the import traits of the bindings in scope (`types`,
/// `process`, `loopback`, `browser`, `interact`, `config`, `log`) for
/// `PluginState`, and the conversions of the `error` variant.
macro_rules! impl_imports {
    () => {
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
                let event =
                    imports::loopback_next(self, &listener, timeout_ms, paste_label).await?;
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

            async fn prompt(
                &mut self,
                label: String,
                secret: bool,
            ) -> Result<String, types::Error> {
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
    };
}
