//! Sending a plugin's HTTP request once the granter has allowed its
//! destination: directly, or through the proxy the environment names
//! ([`proxy`]: `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`), over TLS that
//! trusts the bundled roots and `SSL_CERT_FILE` ([`tls`]).
//!
//! This is wasmtime-wasi-http's `default_send_request` with the route
//! chosen here: an `https://` request through a proxy opens a `CONNECT`
//! tunnel to the destination ([`tunnel`]) and speaks TLS to the destination
//! inside it; an `http://` request through a proxy is sent to the proxy in
//! absolute form (`GET http://host/path`). The proxy never changes what is
//! checked: the granter has already judged the request's own origin.
//!
//! The environment is read once per process, at the first request.

mod proxy;
mod tls;
mod tunnel;

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use proxy::Proxies;

/// What a request's connection does after the response head: the rest of
/// the exchange, whose failure is reported to the guest.
pub(super) type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// The response and its connection's future.
pub(super) type Sent = (http::Response<WasiBody>, IoFuture);

/// The environment's proxies.
fn proxies() -> &'static Proxies {
    static PROXIES: OnceLock<Proxies> = OnceLock::new();
    PROXIES.get_or_init(Proxies::from_env)
}

/// The TLS configuration (made at the first `https://` request).
fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static TLS: OnceLock<Result<Arc<rustls::ClientConfig>, rustls::Error>> = OnceLock::new();
    TLS.get_or_init(tls::client_config)
        .clone()
        .map_err(|e| Error::Tls(io::Error::other(e.to_string())))
}

trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static> Stream for T {}

/// Sends `req` with the timeouts of `options` (each set by the caller).
pub(super) async fn send(
    mut req: http::Request<WasiBody>,
    options: RequestOptions,
) -> Result<Sent, Error> {
    let uri = req.uri();
    let use_tls = uri.scheme() == Some(&Scheme::HTTPS);
    let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?.to_owned();
    let port = uri.port_u16().unwrap_or(if use_tls { 443 } else { 80 });
    let target = format!("{host}:{port}");
    let connect_timeout = options.connect_timeout.unwrap_or(Duration::from_secs(600));
    let first_byte_timeout = options
        .first_byte_timeout
        .unwrap_or(Duration::from_secs(600));
    let between_bytes_timeout = options
        .between_bytes_timeout
        .unwrap_or(Duration::from_secs(600));

    let proxy = proxies().for_destination(use_tls, &host, port);
    let connect = async {
        let address = proxy.map_or(target.as_str(), |p| p.address.as_str());
        let mut stream = TcpStream::connect(address).await.map_err(Error::Connect)?;
        if let (true, Some(proxy)) = (use_tls, proxy) {
            tracing::debug!("tunnelling to {target} through the proxy {}", proxy.address);
            tunnel::open(&mut stream, proxy, &target)
                .await
                .map_err(Error::Connect)?;
        }
        Ok::<_, Error>(stream)
    };
    let stream = match tokio::time::timeout(connect_timeout, connect).await {
        Ok(stream) => stream?,
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    let stream: Box<dyn Stream> = if use_tls {
        let connector = tokio_rustls::TlsConnector::from(tls_config()?);
        let name = server_name(&host)?;
        let handshake = connector.connect(name, stream);
        match tokio::time::timeout(connect_timeout, handshake).await {
            Ok(stream) => Box::new(stream.map_err(Error::Tls)?),
            Err(_) => return Err(Error::ConnectionTimeout),
        }
    } else {
        Box::new(stream)
    };
    let (mut sender, conn) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::Builder::new().handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;

    match proxy {
        // A proxy is sent the absolute form, and its credentials.
        Some(proxy) if !use_tls => {
            tracing::debug!("sending to {target} through the proxy {}", proxy.address);
            if let Some(authorization) = proxy.authorization() {
                let mut value = http::HeaderValue::from_str(authorization)
                    .map_err(|_| Error::HttpRequestUriInvalid)?;
                value.set_sensitive(true);
                req.headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, value);
            }
        }
        // A server is sent the path and query only.
        _ => {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            *req.uri_mut() = http::Uri::builder()
                .path_and_query(path)
                .build()
                .map_err(|_| Error::HttpRequestUriInvalid)?;
        }
    }

    let send = async move {
        let res = tokio::time::timeout(first_byte_timeout, sender.send_request(req))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(Error::from)?;
        // A zero interval panics in tokio; 1ns is as good as zero.
        let between = between_bytes_timeout.max(Duration::new(0, 1));
        let mut timeout = tokio::time::interval(between);
        timeout.reset();
        Ok::<_, Error>(res.map(|incoming| TimedBody { incoming, timeout }))
    };
    let mut send = pin!(send);
    let mut conn = Some(conn);
    // Wait for the response while driving the connection.
    let res = std::future::poll_fn(|cx| match send.as_mut().poll(cx) {
        Poll::Ready(res) => Poll::Ready(res),
        Poll::Pending => {
            let Some(fut) = conn.as_mut() else {
                return Poll::Pending;
            };
            let done = ready!(Pin::new(fut).poll(cx));
            conn = None;
            match done {
                Ok(()) => send.as_mut().poll(cx),
                Err(err) => Poll::Ready(Err(Error::from(err))),
            }
        }
    })
    .await?;
    let io = async move {
        let Some(conn) = conn.take() else {
            return Ok(());
        };
        match conn.await {
            Err(err) if err.is_timeout() => Err(Error::HttpResponseTimeout),
            Err(err) => Err(err.into()),
            Ok(()) => Ok(()),
        }
    };
    Ok((res.map(BodyExt::boxed_unsync), Box::new(io) as IoFuture))
}

/// The TLS name of `host` (an IP address or a DNS name).
fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(rustls::pki_types::ServerName::from(ip));
    }
    rustls::pki_types::ServerName::try_from(bare.to_owned()).map_err(Error::InvalidDnsNameError)
}

/// A response body that fails when no byte arrives within the
/// between-bytes timeout.
struct TimedBody {
    incoming: hyper::body::Incoming,
    timeout: tokio::time::Interval,
}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(err))) if err.is_timeout() => {
                Poll::Ready(Some(Err(Error::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(Error::from(err)))),
            Poll::Ready(Some(Ok(frame))) => {
                self.timeout.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.timeout.poll_tick(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.incoming.size_hint()
    }
}
