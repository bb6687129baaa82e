//! The data of one plugin call's `Store`: WASI contexts, the grants in force,
//! limits, and what the call is about.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::component::{Resource, ResourceTable, ResourceTableError};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::guest_output::GuestOutput;
use super::limits::{self, CpuBudget, Limiter, MAX_LISTENERS};
use crate::capability::{Denied, Granter, Use};
use crate::interact::Interaction;
use crate::loopback::Listener;
use crate::sanitize;

/// What a plugin call is about, shared with the import implementations.
pub struct CallContext {
    /// The plugin id.
    pub plugin: String,
    /// Whether the plugin is built into authhost (its messages are then
    /// authhost's own words, not attributed to a third party).
    pub builtin: bool,
    /// The provider instance (`[providers.NAME]`).
    pub provider: String,
    /// The provider's options as a JSON object.
    pub config_json: String,
    /// How to reach the user.
    pub interaction: Arc<dyn Interaction>,
}

/// The grants of one call. Empty (deny everything) until the host has read
/// the plugin's metadata and set them, so `describe` can use nothing.
pub struct Grants {
    plugin: String,
    granter: OnceLock<Granter>,
    /// What was denied during the call, so the host can name the missing
    /// grant whatever the plugin then returns.
    denied: Mutex<Vec<String>>,
}

impl Grants {
    fn new(plugin: &str) -> Grants {
        Grants {
            plugin: plugin.to_owned(),
            granter: OnceLock::new(),
            denied: Mutex::new(Vec::new()),
        }
    }

    /// Puts `granter` in force (once per call).
    pub fn set(&self, granter: Granter) {
        let _ = self.granter.set(granter);
    }

    /// True until [`Grants::set`]: the instance is describing itself.
    pub fn unset(&self) -> bool {
        self.granter.get().is_none()
    }

    /// Whether [`Grants::set`] has been called: false during `describe`.
    pub fn are_set(&self) -> bool {
        self.granter.get().is_some()
    }

    /// Asks the granter; denies everything before [`Grants::set`]. Denials
    /// are remembered (see [`Grants::denied`]).
    pub fn check(&self, use_: Use<'_>) -> Result<(), Denied> {
        let result = match self.granter.get() {
            Some(granter) => granter.check(use_),
            // Describing: everything is denied, quietly (components built
            // against 0.1.0 may call imports from `describe`).
            None => Err(Granter::deny_all(self.plugin.clone()).denial(use_)),
        };
        if let Err(denied) = &result {
            let mut list = self.denied.lock().unwrap_or_else(|e| e.into_inner());
            if !list.contains(&denied.capability) && list.len() < 16 {
                list.push(denied.capability.clone());
            }
        }
        result
    }

    /// The capabilities denied so far in this call, sanitised (a program
    /// name comes from the plugin).
    pub fn denied(&self) -> Denials {
        let list = self.denied.lock().unwrap_or_else(|e| e.into_inner());
        Denials {
            plugin: sanitize::plugin_text(&self.plugin, 64),
            capabilities: list.iter().map(|c| sanitize::short(c)).collect(),
        }
    }
}

/// What the host denied a plugin during one call (an `http:` request to an
/// origin it was not granted, a program, a port), so that the error the user
/// sees names the missing grant whatever the plugin returned: a JavaScript
/// `fetch` reports a refused request as a failed connection, and a plugin
/// may not catch it at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Denials {
    /// The plugin id.
    pub plugin: String,
    /// The capabilities denied, as they would be granted (`http:ORIGIN`),
    /// in the order the plugin first used them.
    pub capabilities: Vec<String>,
}

impl Denials {
    /// True when nothing was denied.
    pub fn is_empty(&self) -> bool {
        self.capabilities.is_empty()
    }

    /// The command that grants what was denied:
    /// `authhost plugins grant ID CAPABILITY...`.
    pub fn grant_command(&self) -> String {
        format!(
            "authhost plugins grant {} {}",
            self.plugin,
            self.capabilities.join(" ")
        )
    }

    /// A sentence for an error: what was denied and how to grant it; `None`
    /// when nothing was.
    pub fn note(&self) -> Option<String> {
        (!self.is_empty()).then(|| {
            format!(
                "authhost denied `{}` during this call; to allow it: `{}`",
                self.capabilities.join("`, `"),
                self.grant_command()
            )
        })
    }
}

/// The `T` of `Store<T>` for plugin calls.
pub struct PluginState {
    wasi: WasiCtx,
    /// The guest's stderr, whose last lines are shown with a crash.
    pub stderr: GuestOutput,
    /// Every handle the plugin holds (WASI streams and sockets, wasi:http
    /// fields, requests and bodies, listeners); its capacity is the call's
    /// handle limit ([`limits::handles_for`]).
    pub(crate) table: ResourceTable,
    /// An empty table that refuses every entry: what wasi:http works on
    /// until the grants are set, so that `describe` can create nothing.
    refusing: ResourceTable,
    http: WasiHttpCtx,
    hooks: HttpHooks,
    pub(crate) limiter: Limiter,
    pub(crate) cpu: CpuBudget,
    pub(crate) grants: Arc<Grants>,
    pub(crate) call: Arc<CallContext>,
    /// Log lines and messages the plugin may still emit in this call.
    pub(crate) lines_left: u32,
    /// Loopback listeners opened in this call.
    listeners_opened: u32,
}

/// Log lines and messages a plugin may emit per call; the rest are dropped.
pub const MAX_LINES: u32 = 1000;

impl PluginState {
    /// A fresh state: no files, no environment, no arguments, stdout and
    /// stderr to the log (see [`GuestOutput`]), and sockets only through the
    /// granter.
    pub fn new(call: Arc<CallContext>, max_memory: usize, cpu: CpuBudget) -> PluginState {
        let grants = Arc::new(Grants::new(&call.plugin));
        let socket_grants = grants.clone();
        let stderr = GuestOutput::new(&call.plugin, "stderr");
        let wasi = WasiCtxBuilder::new()
            .stdout(GuestOutput::new(&call.plugin, "stdout"))
            .stderr(stderr.clone())
            .allow_ip_name_lookup(false)
            .allow_udp(false)
            // TCP is enabled, but every address goes through the granter:
            // binding 127.0.0.1 under a loopback grant is all it allows.
            .allow_tcp(true)
            .socket_addr_check(move |addr: SocketAddr, use_: SocketAddrUse| {
                let bind = matches!(use_, SocketAddrUse::TcpBind | SocketAddrUse::UdpBind);
                let allowed = socket_grants.check(Use::Socket { addr, bind }).is_ok();
                Box::pin(async move { allowed })
            })
            .build();
        // Every handle counts against the memory limit: each kind is kept
        // under `HANDLE_BYTES` of host memory, and the table holds at most
        // as many as `max_memory` pays for.
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits::handles_for(max_memory as u64));
        let mut refusing = ResourceTable::new();
        refusing.set_max_capacity(0);
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(limits::FIELDS_BYTES);
        PluginState {
            wasi,
            table,
            refusing,
            http,
            hooks: HttpHooks {
                grants: grants.clone(),
            },
            limiter: Limiter::new(max_memory),
            cpu,
            grants,
            call,
            lines_left: MAX_LINES,
            listeners_opened: 0,
            stderr,
        }
    }

    /// True while the plugin describes itself: no grants are set, and its
    /// imports give nothing.
    pub fn describing(&self) -> bool {
        self.grants.unset()
    }

    /// Whether the plugin may create wasi:http resources: only once the
    /// call's grants are set (never in `describe`).
    pub(crate) fn http_allowed(&self) -> bool {
        self.grants.are_set()
    }

    /// `Err` with the reason to give the plugin when it has opened
    /// [`MAX_LISTENERS`] loopback listeners in this call already.
    pub(crate) fn listener_allowed(&self) -> Result<(), String> {
        if self.listeners_opened >= MAX_LISTENERS {
            return Err(format!(
                "too many loopback listeners: a call may open at most {MAX_LISTENERS}"
            ));
        }
        Ok(())
    }

    /// Counts a listener the plugin opened and puts it in its table.
    pub(crate) fn keep_listener(
        &mut self,
        listener: Listener,
    ) -> Result<Resource<Listener>, ResourceTableError> {
        self.listeners_opened += 1;
        self.table.push(listener)
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_io::IoView for PluginState {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl WasiHttpView for PluginState {
    /// Every wasi:http call goes through here. Before the grants are set it
    /// works on a table that holds nothing and refuses every entry, so no
    /// wasi:http resource can exist in `describe` (the constructors already
    /// refuse with a clear error, see `linking`; this is the backstop).
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        let table = if self.grants.are_set() {
            &mut self.table
        } else {
            &mut self.refusing
        };
        WasiHttpCtxView {
            ctx: &mut self.http,
            table,
            hooks: &mut self.hooks,
        }
    }
}

/// Outbound HTTP: every request goes through the granter before a
/// connection is opened. The host follows no redirects, so each hop a guest
/// library follows is a new request, checked again. A request body buffers
/// at most two writes of [`limits::BODY_CHUNK_BYTES`] before it is sent.
struct HttpHooks {
    grants: Arc<Grants>,
}

/// Defaults for requests that set no timeouts of their own.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(60);
const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(60);

type IoFuture = super::outbound::IoFuture;
type SendResult = Result<super::outbound::Sent, wasmtime_wasi_http::Error>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: IoFuture,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https");
        let default_port = if scheme == "http" { 80 } else { 443 };
        let use_ = Use::Http {
            scheme,
            host: uri.host().unwrap_or(""),
            port: uri.port_u16().unwrap_or(default_port),
        };
        if self.grants.check(use_).is_err() {
            return Box::new(async move {
                // Take (and discard) what the guest writes of the body, so
                // its HTTP library reports the denial rather than a broken
                // body stream. Nothing is sent anywhere.
                drain(request.into_body()).await;
                Err(wasmtime_wasi_http::Error::HttpRequestDenied)
            });
        }
        let mut options = options.unwrap_or_default();
        options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
        options.first_byte_timeout.get_or_insert(FIRST_BYTE_TIMEOUT);
        options
            .between_bytes_timeout
            .get_or_insert(BETWEEN_BYTES_TIMEOUT);
        Box::new(super::outbound::send(request, options))
    }

    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        1
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        limits::BODY_CHUNK_BYTES
    }
}

/// Reads and drops up to 1 MiB of a denied request's body, for at most a few
/// seconds.
async fn drain(mut body: wasmtime_wasi_http::WasiBody) {
    use http_body_util::BodyExt;
    const LIMIT: usize = 1 << 20;
    let mut seen = 0;
    let read = async {
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > LIMIT {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
}
