//! An HTTP `CONNECT` tunnel through a proxy, for `https://` requests: the
//! proxy sees the destination's `host:port` and then only TLS.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::proxy::Proxy;

/// The longest proxy answer head read.
const HEAD_BYTES: usize = 16 * 1024;

/// Asks `proxy` (connected as `stream`) for a tunnel to `target`
/// (`host:port`); on success the stream carries the destination's bytes.
pub(super) async fn open(stream: &mut TcpStream, proxy: &Proxy, target: &str) -> io::Result<()> {
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(authorization) = proxy.authorization() {
        request.push_str("Proxy-Authorization: ");
        request.push_str(authorization);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    drop(request);
    let head = read_head(stream).await?;
    let status = head
        .split(|&b| b == b'\r')
        .next()
        .and_then(|line| std::str::from_utf8(line).ok())
        .and_then(|line| {
            let mut parts = line.split_whitespace();
            let version = parts.next()?;
            version.starts_with("HTTP/1.").then_some(())?;
            parts.next()?.parse::<u16>().ok()
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the proxy's answer to CONNECT is not HTTP",
            )
        })?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!(
                "the proxy {} refused the tunnel (status {status})",
                proxy.address
            ),
        ))
    }
}

/// Reads the proxy's answer up to the blank line, one byte at a time so
/// that nothing of the tunnel's bytes is taken.
async fn read_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(128);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the proxy's answer to CONNECT is too long",
            ));
        }
        head.push(stream.read_u8().await?);
    }
    Ok(head)
}
