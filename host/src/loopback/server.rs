//! The loopback listener's HTTP server (hyper, HTTP/1.1 on 127.0.0.1).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::{Request, Response};

/// Connections served at once. A new one beyond it replaces the oldest
/// that has not sent a request yet, or is closed when there is none.
const MAX_CONNECTIONS: usize = 64;
/// Requests waiting for the caller; more are answered 503 at once.
const MAX_QUEUED: usize = 32;
/// Time a client has to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest life of one connection.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest request head hyper buffers.
const MAX_HEAD: usize = 64 * 1024;
/// Longest time dropping a [`Listener`] waits for its answers to be written.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Pause after a failed `accept`.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Signals (by disconnecting) that a connection is finished: its answer is
/// written or it is gone. A std channel, so that `Drop` can wait on it.
type Finished = std::sync::mpsc::Receiver<()>;

/// A request waiting for its answer.
pub(crate) struct Pending {
    pub(crate) request: Request,
    pub(crate) reply: oneshot::Sender<Response>,
    finished: Finished,
}

/// An HTTP server on 127.0.0.1 whose requests are answered by the caller.
///
/// Dropping it closes the port, answers unanswered requests with 503, and
/// waits (briefly, at most two seconds) until the answers are written, so
/// that a page answered just before the process exits still reaches the
/// browser.
pub struct Listener {
    port: u16,
    requests: mpsc::Receiver<Pending>,
    waiting: HashMap<u64, (oneshot::Sender<Response>, Finished)>,
    /// Connections answered whose answer may not be written yet.
    answered: Vec<Finished>,
    next_ticket: u64,
    /// Dropped to stop accepting and, after the grace period, the thread.
    _stop: oneshot::Sender<()>,
}

impl Listener {
    /// Listens on `127.0.0.1:port`, or on a free port when `port` is `None`.
    /// A busy port fails with [`io::ErrorKind::AddrInUse`].
    pub async fn bind(port: Option<u16>) -> io::Result<Listener> {
        let server = server()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port.unwrap_or(0)));
        let socket = std::net::TcpListener::bind(addr)?;
        socket.set_nonblocking(true)?;
        let port = socket.local_addr()?.port();
        let (tx, requests) = mpsc::channel(MAX_QUEUED);
        let (stop, stopped) = oneshot::channel();
        server.spawn(serve(socket, tx, stopped));
        Ok(Listener {
            port,
            requests,
            waiting: HashMap::new(),
            answered: Vec::new(),
            next_ticket: 1,
            _stop: stop,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits up to `timeout` for the next request; `None` when none came.
    /// Returns the request with a ticket for [`Listener::respond`].
    pub async fn next(&mut self, timeout: Duration) -> Option<(u64, Request)> {
        // Forget requests whose client has gone away unanswered.
        self.waiting.retain(|_, (reply, _)| !reply.is_closed());
        let pending = tokio::time::timeout(timeout, self.requests.recv())
            .await
            .ok()??;
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiting
            .insert(ticket, (pending.reply, pending.finished));
        Some((ticket, pending.request))
    }

    /// Answers the request that came with `ticket`. Unknown or already
    /// answered tickets are ignored.
    pub fn respond(&mut self, ticket: u64, response: Response) {
        if let Some((reply, finished)) = self.waiting.remove(&ticket) {
            let _ = reply.send(response);
            self.answered
                .retain(|f| matches!(f.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty)));
            self.answered.push(finished);
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut finishing = std::mem::take(&mut self.answered);
        // Dropping a reply sender makes its connection answer 503.
        finishing.extend(self.waiting.drain().map(|(_, (_, finished))| finished));
        self.requests.close();
        while let Ok(pending) = self.requests.try_recv() {
            finishing.push(pending.finished);
        }
        // The connections are served by the listeners' own thread, so this
        // short blocking wait cannot starve them.
        let deadline = Instant::now() + CLOSE_GRACE;
        for finished in finishing {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = finished.recv_timeout(left);
        }
        // `_stop` is dropped next: the server closes the port and cuts the
        // connections still open (those that never sent a request).
    }
}

/// The runtime serving every listener, on a thread of its own that lives as
/// long as the process; started by the first [`Listener::bind`].
fn server() -> io::Result<tokio::runtime::Handle> {
    static SERVER: Mutex<Option<tokio::runtime::Handle>> = Mutex::new(None);
    let mut server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handle) = server.as_ref() {
        return Ok(handle.clone());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("authhost-loopback".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
    *server = Some(handle.clone());
    Ok(handle)
}

/// Serves one listener until `stop` is dropped, then closes its port and
/// cuts the connections still open.
async fn serve(
    socket: std::net::TcpListener,
    requests: mpsc::Sender<Pending>,
    stop: oneshot::Receiver<()>,
) {
    let Ok(socket) = TcpListener::from_std(socket) else {
        return;
    };
    let mut open = VecDeque::new();
    tokio::select! {
        _ = accept_loop(socket, requests, &mut open) => {}
        _ = stop => {}
    }
    for connection in open {
        connection.task.abort();
    }
}

/// A connection being served.
struct Open {
    task: tokio::task::AbortHandle,
    /// Set once the client has sent a whole request head.
    requested: Arc<AtomicBool>,
}

/// Accepts connections on `socket`; `open` holds those being served.
async fn accept_loop(
    socket: TcpListener,
    requests: mpsc::Sender<Pending>,
    open: &mut VecDeque<Open>,
) {
    loop {
        let stream = match socket.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors or a connection reset before
                // accept: pause instead of spinning.
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        open.retain(|c| !c.task.is_finished());
        if open.len() >= MAX_CONNECTIONS {
            // Make room by cutting the oldest connection that has not sent a
            // request (idle or slow clients cannot lock the browser out);
            // when every one has, refuse the new one.
            match open
                .iter()
                .position(|c| !c.requested.load(Ordering::Relaxed))
            {
                Some(oldest_idle) => {
                    if let Some(idle) = open.remove(oldest_idle) {
                        idle.task.abort();
                    }
                }
                None => {
                    drop(stream);
                    continue;
                }
            }
        }
        let requested = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(serve_connection(
            stream,
            requests.clone(),
            requested.clone(),
        ));
        open.push_back(Open {
            task: task.abort_handle(),
            requested,
        });
    }
}

/// Serves one connection: at most one request, handed to the [`Listener`],
/// under the header and connection time limits. Sets `requested` when the
/// request head has arrived.
pub(crate) async fn serve_connection<S>(
    stream: S,
    requests: mpsc::Sender<Pending>,
    requested: Arc<AtomicBool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // Disconnects, and so signals, when this connection ends in any way.
    let (_finishing, finished) = std::sync::mpsc::channel::<()>();
    let finished = Arc::new(Mutex::new(Some(finished)));
    let service = service_fn(move |req| {
        requested.store(true, Ordering::Relaxed);
        let finished = finished.lock().ok().and_then(|mut f| f.take());
        handle(req, requests.clone(), finished)
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
}

/// Hands one request to the [`Listener`] and waits for its answer; 503 when
/// the queue is full or the listener is gone.
async fn handle(
    req: hyper::Request<Incoming>,
    requests: mpsc::Sender<Pending>,
    finished: Option<Finished>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    // One request per connection (no keep-alive), so this is always `Some`.
    let Some(finished) = finished else {
        return Ok(unavailable());
    };
    let (reply, answer) = oneshot::channel();
    let pending = Pending {
        request: to_request(&req),
        reply,
        finished,
    };
    if requests.try_send(pending).is_err() {
        return Ok(unavailable());
    }
    Ok(match answer.await {
        Ok(response) => build(response),
        Err(_) => unavailable(),
    })
}

/// The method, target and headers of `req` (its body is never read).
fn to_request(req: &hyper::Request<Incoming>) -> Request {
    Request {
        method: req.method().as_str().to_owned(),
        path_and_query: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into()),
        headers: req
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
    }
}

/// The hyper response for the caller's answer; hyper sets `content-length`
/// from the body, and the framing headers are ours, not the caller's.
fn build(response: Response) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        let framing = ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        if !framing {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    builder
        .header("connection", "close")
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| {
            // An invalid status or header from the plugin.
            let mut r = hyper::Response::new(Full::new(Bytes::from_static(b"invalid response")));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

/// 503: nobody is waiting for requests (queue full or listener dropped).
fn unavailable() -> hyper::Response<Full<Bytes>> {
    let mut response =
        hyper::Response::new(Full::new(Bytes::from_static(b"not waiting for requests\n")));
    *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(
        "connection",
        hyper::header::HeaderValue::from_static("close"),
    );
    response
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
