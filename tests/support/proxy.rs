//! A forward proxy on 127.0.0.1 that records what it is asked: `CONNECT
//! host:port` opens a tunnel (the bytes are copied both ways, TLS stays
//! end to end); a request in absolute form (`GET http://host/path`) is
//! forwarded in origin form. With credentials set, a request without the
//! matching `Proxy-Authorization` gets a 407.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::read_head;

/// What the proxy was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    /// `CONNECT`, `GET`, ...
    pub method: String,
    /// `host:port` for CONNECT, the absolute URL otherwise.
    pub target: String,
    /// The `Proxy-Authorization` header, if any.
    pub authorization: Option<String>,
}

/// A running proxy (it stops with the test process).
pub struct Proxy {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<Asked>>>,
}

impl Proxy {
    /// Starts a proxy; `authorization` is the `Proxy-Authorization` value it
    /// requires, if any.
    pub fn start(authorization: Option<String>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let record = asked.clone();
        let required = Arc::new(authorization);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (record, required) = (record.clone(), required.clone());
                std::thread::spawn(move || serve(stream, &record, required.as_deref()));
            }
        });
        Proxy { addr, asked }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything asked so far.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }
}

fn serve(client: TcpStream, record: &Mutex<Vec<Asked>>, required: Option<&str>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(20)));
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let Ok(head) = read_head(&mut reader) else {
        return;
    };
    let authorization = head.header("proxy-authorization").map(str::to_owned);
    record.lock().unwrap().push(Asked {
        method: head.method.clone(),
        target: head.target.clone(),
        authorization: authorization.clone(),
    });
    let mut client = client;
    if required.is_some() && authorization.as_deref() != required {
        let _ = client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
        return;
    }
    if head.method == "CONNECT" {
        let Ok(server) = TcpStream::connect(&head.target) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        // The client sends nothing before the answer, so the reader holds
        // no buffered bytes of the tunnel.
        pipe(reader.into_inner(), server);
        return;
    }
    let Some(rest) = head.target.strip_prefix("http://") else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let Ok(mut server) = TcpStream::connect(authority) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    let mut request = format!("{} {path} HTTP/1.1\r\n", head.method);
    for (name, value) in &head.headers {
        if name != "proxy-authorization" && name != "connection" {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str("connection: close\r\n\r\n");
    if server.write_all(request.as_bytes()).is_err() {
        return;
    }
    // The rest (a body, if any) and the answer are copied as they come.
    pipe_with(reader, server, client);
}

/// Copies bytes both ways until either side closes.
fn pipe(client: TcpStream, server: TcpStream) {
    let reader = BufReader::new(client.try_clone().unwrap());
    pipe_with(reader, server, client);
}

fn pipe_with(mut from_client: BufReader<TcpStream>, server: TcpStream, mut to_client: TcpStream) {
    let mut to_server = server.try_clone().unwrap();
    let upstream = std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_server);
        let _ = to_server.shutdown(Shutdown::Write);
    });
    let mut from_server = server;
    let mut buf = [0; 16 * 1024];
    loop {
        match from_server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to_client.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_client.shutdown(Shutdown::Both);
    let _ = upstream.join();
}
