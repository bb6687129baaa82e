//! Raw TCP clients for probing authhost's loopback callback listener with
//! what no browser sends: garbage, huge or endless requests, held
//! connections.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the listener ended a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP status line with this status, then the end of the connection.
    Status(u16),
    /// The connection was closed or reset without a status line.
    Closed,
    /// The connection was refused: nothing listens on the port.
    Refused,
}

impl Answer {
    /// Anything but a successful (2xx) or redirecting (3xx) answer.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Answer::Status(200..=399))
    }
}

/// Connects to `127.0.0.1:port`, sends `bytes` and reads until the listener
/// ends the connection. Panics, naming `what`, when that takes longer than
/// `within`: the listener must never leave a client hanging.
#[track_caller]
pub fn send(port: u16, bytes: &[u8], within: Duration, what: &str) -> Answer {
    let deadline = Instant::now() + within;
    let mut stream = match TcpStream::connect(("127.0.0.1", port)) {
        Ok(stream) => stream,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Answer::Refused,
        // The listener closed while this connection waited to be accepted
        // (the login ended meanwhile): the kernel resets it.
        Err(e) if e.kind() == ErrorKind::ConnectionReset => return Answer::Closed,
        Err(e) => panic!("{what}: cannot connect: {e}"),
    };
    stream.set_write_timeout(Some(within)).unwrap();
    // The listener may answer and close before it has read everything; the
    // write failing then is expected.
    let _ = stream.write_all(bytes);
    match read_to_end(&mut stream, deadline) {
        Ok(answer) => answer,
        Err(got) => panic!(
            "{what}: no answer and no close within {within:?} (got {:?})",
            String::from_utf8_lossy(&got[..got.len().min(200)])
        ),
    }
}

/// Reads until the end of the connection: the answer, or what arrived when
/// `deadline` passed first.
pub fn read_to_end(stream: &mut TcpStream, deadline: Instant) -> Result<Answer, Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(got);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // Reset: closed.
            Err(_) => break,
        }
    }
    Ok(status_of(&got))
}

/// Whether the listener has already answered or closed `stream`, without
/// waiting.
pub fn ended_already(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let ended = !matches!(stream.peek(&mut [0; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).unwrap();
    ended
}

/// The status of `HTTP/1.x NNN ...` at the start of `bytes`.
fn status_of(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]);
    let mut words = text.split(' ');
    match (words.next(), words.next().and_then(|s| s.parse().ok())) {
        (Some(version), Some(status)) if version.starts_with("HTTP/1.") => Answer::Status(status),
        _ => Answer::Closed,
    }
}

/// A client sending a request one byte a second, as a slowloris would.
pub struct Dribbler {
    ended: Arc<AtomicBool>,
    thread: JoinHandle<Dribbled>,
}

/// How a [`Dribbler`] ended.
#[derive(Debug)]
pub struct Dribbled {
    /// How the listener ended the connection; `None` if it was still open
    /// when the dribbler gave up.
    pub answer: Option<Answer>,
    /// Time from connecting to the end.
    pub after: Duration,
}

impl Dribbler {
    /// Connects to `127.0.0.1:port` and sends `bytes`, one a second, until
    /// the listener ends the connection or `give_up` has passed.
    pub fn start(port: u16, bytes: Vec<u8>, give_up: Duration) -> Dribbler {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        let ended = Arc::new(AtomicBool::new(false));
        let flag = ended.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut sent = 0;
            let answer = loop {
                if started.elapsed() > give_up {
                    break None;
                }
                if sent < bytes.len() {
                    if stream.write_all(&bytes[sent..=sent]).is_err() {
                        break Some(Answer::Closed);
                    }
                    sent += 1;
                }
                // Waiting a second for the listener to react is the pause
                // between two bytes.
                let mut peek = [0; 1];
                stream
                    .set_read_timeout(Some(Duration::from_secs(1)))
                    .unwrap();
                match stream.peek(&mut peek) {
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    _ => {
                        let deadline = Instant::now() + Duration::from_secs(5);
                        break Some(read_to_end(&mut stream, deadline).unwrap_or(Answer::Closed));
                    }
                }
            };
            flag.store(true, Ordering::SeqCst);
            Dribbled {
                answer,
                after: started.elapsed(),
            }
        });
        Dribbler { ended, thread }
    }

    /// Whether the connection has ended.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Waits for the end.
    pub fn join(self) -> Dribbled {
        self.thread.join().unwrap()
    }
}

/// The local addresses listening on TCP `port`, from `/proc/net/tcp` and
/// `/proc/net/tcp6` (e.g. `0100007F`, 127.0.0.1 in the kernel's byte order).
pub fn listening_addresses(port: u16) -> Vec<String> {
    const LISTEN: &str = "0A";
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            let Some((address, hex_port)) = local.split_once(':') else {
                continue;
            };
            if *state == LISTEN && u16::from_str_radix(hex_port, 16) == Ok(port) {
                found.push(address.to_owned());
            }
        }
    }
    found
}

/// This machine's IPv4 address on its default route, if it has one that is
/// not a loopback address (no packet is sent to find it).
pub fn non_loopback_ipv4() -> Option<std::net::Ipv4Addr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // TEST-NET-1: never routed anywhere; connecting a UDP socket only picks
    // the local address.
    socket.connect("192.0.2.1:9").ok()?;
    match socket.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}
