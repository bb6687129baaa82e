//! A plugin's stdout and stderr. A guest cannot reach the terminal through
//! them: each complete line goes to the log (debug level, attributed to the
//! plugin, sanitised, at most [`MAX_LOGGED`] lines a call), and the last
//! [`TAIL`] lines of stderr are kept, to be shown with a crash. That is
//! where a Rust guest's panic message, an uncaught JavaScript exception or
//! a Python traceback ends up.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi_io::bytes::Bytes;
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{OutputStream, StreamResult};

use crate::sanitize;

/// Lines of one stream logged per call; later ones are counted, not logged.
const MAX_LOGGED: u32 = 200;
/// Lines of stderr kept for a crash report.
const TAIL: usize = 8;
/// The longest line kept, in bytes; a longer one is cut there.
const MAX_LINE: usize = 2048;
/// The longest line shown, in characters.
const SHOWN: usize = 400;

/// One of a plugin's output streams.
#[derive(Clone)]
pub(crate) struct GuestOutput {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    plugin: String,
    stream: &'static str,
    partial: Vec<u8>,
    tail: VecDeque<String>,
    logged: u32,
    dropped: u64,
}

impl GuestOutput {
    /// The stream `stream` (`stdout` or `stderr`) of `plugin`.
    pub fn new(plugin: &str, stream: &'static str) -> GuestOutput {
        GuestOutput {
            inner: Arc::new(Mutex::new(Inner {
                plugin: sanitize::plugin_text(plugin, 64),
                stream,
                partial: Vec::new(),
                tail: VecDeque::new(),
                logged: 0,
                dropped: 0,
            })),
        }
    }

    /// The last lines written (an unfinished last line included),
    /// sanitised, oldest first.
    pub fn tail(&self) -> Vec<String> {
        let inner = self.lock();
        let mut lines: Vec<String> = inner.tail.iter().cloned().collect();
        if !inner.partial.is_empty() {
            lines.push(shown(&inner.partial));
            if lines.len() > TAIL {
                lines.remove(0);
            }
        }
        lines
    }

    fn take(&self, bytes: &[u8]) {
        let mut inner = self.lock();
        for &byte in bytes {
            if byte == b'\n' {
                let line = std::mem::take(&mut inner.partial);
                inner.line(&line);
            } else if inner.partial.len() < MAX_LINE {
                inner.partial.push(byte);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn line(&mut self, bytes: &[u8]) {
        let line = shown(bytes);
        if self.logged < MAX_LOGGED {
            self.logged += 1;
            tracing::debug!(plugin = %self.plugin, stream = self.stream, "{line}");
        } else {
            self.dropped += 1;
            if self.dropped == 1 {
                tracing::debug!(
                    plugin = %self.plugin,
                    stream = self.stream,
                    "more than {MAX_LOGGED} lines; the rest are not logged"
                );
            }
        }
        self.tail.push_back(line);
        if self.tail.len() > TAIL {
            self.tail.pop_front();
        }
    }
}

fn shown(bytes: &[u8]) -> String {
    sanitize::plugin_text(String::from_utf8_lossy(bytes).trim_end(), SHOWN)
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi_io::async_trait]
impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always room: what does not fit is dropped, never an error.
        Ok(64 << 10)
    }
}

#[wasmtime_wasi_io::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_kept_sanitised_and_bounded() {
        let out = GuestOutput::new("p", "stderr");
        for i in 0..20 {
            out.take(format!("line {i}\n").as_bytes());
        }
        out.take(b"\x1b[31mpanicked at boom");
        let tail = out.tail();
        assert_eq!(tail.len(), TAIL);
        assert_eq!(tail[0], "line 13");
        assert_eq!(tail.last().unwrap(), "\\u{1b}[31mpanicked at boom");
        out.take(&vec![b'x'; 100_000]);
        assert!(out.lock().partial.len() <= MAX_LINE);
    }
}
