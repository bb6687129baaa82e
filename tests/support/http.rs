//! A small HTTP/1.1 server on 127.0.0.1 for tests, with a handler per
//! request and a count of the connections it accepted. A response can also
//! be framed the way a hostile or broken server would frame it ([`Framing`]).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Lowercase names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The first of `headers` (lowercase names) called `name`.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// What to answer.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// How the body is declared and sent.
    pub framing: Framing,
}

/// How a response body is declared and sent. Every response ends with the
/// server closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// `content-length` of the body, then the body.
    #[default]
    Exact,
    /// `content-length: declared` (more than the body), then only the body:
    /// the answer is cut short.
    Truncated {
        /// The length announced.
        declared: usize,
    },
    /// No `content-length`: the body runs until the connection closes.
    UntilClose,
    /// `content-length` of the body, then one byte of it per `interval`.
    Trickle {
        /// The pause before each byte.
        interval: Duration,
    },
}

impl Response {
    /// A response with a body and a content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            framing: Framing::Exact,
        }
    }

    /// The same response, sent with `framing`.
    pub fn framed(self, framing: Framing) -> Response {
        Response { framing, ..self }
    }

    /// A redirect to `location`.
    pub fn redirect(location: &str) -> Response {
        Response {
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
            framing: Framing::Exact,
        }
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A running server; stops accepting when dropped.
pub struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (count, stopped) = (connections.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                std::thread::spawn(move || serve(stream, &*handler));
            }
        });
        Server {
            addr,
            connections,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve(stream: TcpStream, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let Ok(head) = read_head(&mut reader) else {
        return;
    };
    let Ok(body) = read_body(&mut reader, &head) else {
        return;
    };
    let response = handler(&Request {
        method: head.method,
        target: head.target,
        headers: head.headers,
        body,
    });
    let _ = write_response(stream, &response);
}

/// The request line and headers of a request, its body not read yet.
pub struct Head {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Lowercase names and values.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first header called `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// Reads a request's line and headers; an error when the connection ends
/// before a request line.
pub fn read_head(reader: &mut impl BufRead) -> std::io::Result<Head> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    Ok(Head {
        method,
        target,
        headers,
    })
}

/// Reads the body `head` announces: chunked, or `content-length` bytes
/// (none without either).
pub fn read_body(reader: &mut impl BufRead, head: &Head) -> std::io::Result<Vec<u8>> {
    if head
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        return read_chunked(reader);
    }
    let length = head
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0usize);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

/// Writes `response` framed as it asks, then closes the connection.
fn write_response(mut stream: TcpStream, response: &Response) -> std::io::Result<()> {
    let length = match response.framing {
        Framing::Exact | Framing::Trickle { .. } => Some(response.body.len()),
        Framing::Truncated { declared } => Some(declared),
        Framing::UntilClose => None,
    };
    let mut head = format!("HTTP/1.1 {} X\r\nconnection: close\r\n", response.status);
    if let Some(length) = length {
        head.push_str(&format!("content-length: {length}\r\n"));
    }
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.set_nodelay(true)?;
    stream.write_all(head.as_bytes())?;
    match response.framing {
        Framing::Trickle { interval } => {
            for byte in &response.body {
                std::thread::sleep(interval);
                stream.write_all(std::slice::from_ref(byte))?;
            }
        }
        _ => stream.write_all(&response.body)?,
    }
    stream.shutdown(std::net::Shutdown::Both)
}

/// A `transfer-encoding: chunked` body (without trailers).
fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size");
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = size.trim().split(';').next().ok_or_else(invalid)?;
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid())?;
        // The chunk and the CRLF after it (after the last, empty, chunk:
        // the CRLF that ends the body).
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}
