//! The loopback HTTP listener a plugin uses to receive an OAuth redirect (the
//! `loopback` capability).
//!
//! It binds 127.0.0.1 only and serves HTTP/1.1 with hyper. Each request is
//! handed to the plugin, which answers it through [`Listener::respond`].
//! Everything a client controls is bounded: header size and count (hyper's
//! limits), the time to send the headers, the number of open connections,
//! and the number of requests waiting for the plugin. Request bodies are
//! never read.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Connections served at once; more are closed on arrival.
const MAX_CONNECTIONS: usize = 64;
/// Requests waiting for the plugin; more are answered 503 at once.
const MAX_QUEUED: usize = 32;
/// Time a client has to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest life of one connection.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest request head hyper buffers.
const MAX_HEAD: usize = 64 * 1024;

/// A request the listener received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path and query, e.g. `/callback/abc?code=xyz`.
    pub path_and_query: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A request waiting for its answer.
struct Pending {
    request: Request,
    reply: oneshot::Sender<Response>,
}

/// An HTTP server on 127.0.0.1 whose requests are answered by the caller.
/// Dropping it closes the port and answers unanswered requests with 503.
pub struct Listener {
    port: u16,
    requests: mpsc::Receiver<Pending>,
    waiting: HashMap<u64, oneshot::Sender<Response>>,
    next_ticket: u64,
    accept: JoinHandle<()>,
}

impl Listener {
    /// Listens on `127.0.0.1:port`, or on a free port when `port` is `None`.
    /// A busy port fails with [`io::ErrorKind::AddrInUse`].
    pub async fn bind(port: Option<u16>) -> io::Result<Listener> {
        let socket = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port.unwrap_or(0)))).await?;
        let port = socket.local_addr()?.port();
        let (tx, requests) = mpsc::channel(MAX_QUEUED);
        let accept = tokio::spawn(accept_loop(socket, tx));
        Ok(Listener {
            port,
            requests,
            waiting: HashMap::new(),
            next_ticket: 1,
            accept,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits up to `timeout` for the next request; `None` when none came.
    /// Returns the request with a ticket for [`Listener::respond`].
    pub async fn next(&mut self, timeout: Duration) -> Option<(u64, Request)> {
        let pending = tokio::time::timeout(timeout, self.requests.recv()).await.ok()??;
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiting.insert(ticket, pending.reply);
        Some((ticket, pending.request))
    }

    /// Answers the request that came with `ticket`. Unknown or already
    /// answered tickets are ignored.
    pub fn respond(&mut self, ticket: u64, response: Response) {
        if let Some(reply) = self.waiting.remove(&ticket) {
            let _ = reply.send(response);
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Closes the port; the connections still open answer 503 as their
        // reply channels close with `waiting` and `requests`.
        self.accept.abort();
    }
}

async fn accept_loop(socket: TcpListener, requests: mpsc::Sender<Pending>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _)) = socket.accept().await else {
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let requests = requests.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, requests.clone()));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}

async fn handle(
    req: hyper::Request<Incoming>,
    requests: mpsc::Sender<Pending>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let request = Request {
        method: req.method().as_str().to_owned(),
        path_and_query: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into()),
        headers: req
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect(),
    };
    let (reply, answer) = oneshot::channel();
    if requests.try_send(Pending { request, reply }).is_err() {
        return Ok(unavailable());
    }
    Ok(match answer.await {
        Ok(response) => build(response),
        Err(_) => unavailable(),
    })
}

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

fn unavailable() -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(b"not waiting for requests\n")));
    *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
    response
        .headers_mut()
        .insert("connection", hyper::header::HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn send(port: u16, raw: &[u8]) -> String {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(raw).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn a_request_is_answered_by_the_caller() {
        let mut listener = Listener::bind(None).await.unwrap();
        let port = listener.port();
        let client = tokio::spawn(async move { send(port, b"GET /callback/x?code=1 HTTP/1.1\r\nHost: a\r\n\r\n").await });
        let (ticket, request) = listener.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.path_and_query, "/callback/x?code=1");
        assert!(request.headers.contains(&("host".into(), "a".into())));
        listener.respond(
            ticket,
            Response {
                status: 200,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: b"done".to_vec(),
            },
        );
        let answer = client.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("done"), "{answer}");
        assert!(answer.contains("cache-control: no-store"), "{answer}");
    }

    #[tokio::test]
    async fn a_busy_port_is_reported() {
        let first = Listener::bind(None).await.unwrap();
        let err = Listener::bind(Some(first.port())).await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }

    #[tokio::test]
    async fn nothing_arrives_before_the_timeout() {
        let mut listener = Listener::bind(None).await.unwrap();
        assert!(listener.next(Duration::from_millis(50)).await.is_none());
    }

    #[tokio::test]
    async fn dropping_answers_503_and_closes_the_port() {
        let mut listener = Listener::bind(None).await.unwrap();
        let port = listener.port();
        let client = tokio::spawn(async move { send(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await });
        let _unanswered = listener.next(Duration::from_secs(5)).await.unwrap();
        drop(listener);
        assert!(client.await.unwrap().starts_with("HTTP/1.1 503"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err());
    }

    #[tokio::test]
    async fn garbage_gets_an_error_not_a_request() {
        let mut listener = Listener::bind(None).await.unwrap();
        let answer = send(listener.port(), b"\x16\x03\x01 not http at all\r\n\r\n").await;
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 400"), "{answer}");
        let huge = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(1 << 20));
        let answer = send(listener.port(), huge.as_bytes()).await;
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 4"), "{}", &answer[..answer.len().min(80)]);
        assert!(listener.next(Duration::from_millis(50)).await.is_none());
    }
}
