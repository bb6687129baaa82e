//! The connection to the database: the URL read once (its password kept
//! out of every message), TLS through rustls for `sslmode=prefer`,
//! `require` and `verify-full`, one connection per process made on first
//! use and made again after the database went away (a restart), and the
//! notifications it receives handed to whoever waits for a lease.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, Client};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::Error;

/// How long a connection may take unless the URL's `connect_timeout` says
/// otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the store is and how to reach it.
#[derive(Clone)]
pub(super) struct Target {
    config: tokio_postgres::Config,
    tls: rustls::ClientConfig,
    /// `postgres://HOST:PORT/DATABASE`: the store in messages.
    described: String,
    timeout: Duration,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("store", &self.described)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// The target of `url` (`[store] url`, `AUTHHOST_STORE_URL`).
    pub fn parse(url: &SecretString) -> Result<Target, Error> {
        let invalid = |described: &str, why: &str| Error::StoreUnavailable {
            store: described.to_owned(),
            reason: format!(
                "its URL ([store] url or AUTHHOST_STORE_URL) {why}; the form is postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=verify-full"
            ),
        };
        let mut parsed = url::Url::parse(url.expose_secret())
            .map_err(|_| invalid("postgres", "is not a URL"))?;
        let described = describe(&parsed);
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(invalid(&described, "does not start with postgres://"));
        }
        let mut sslmode = "prefer".to_owned();
        let mut root_file = None;
        let mut kept = Vec::new();
        for (name, value) in parsed.query_pairs() {
            match &*name {
                "sslmode" => sslmode = value.into_owned(),
                "sslrootcert" => root_file = Some(value.into_owned()),
                _ => kept.push((name.into_owned(), value.into_owned())),
            }
        }
        parsed.set_query(None);
        if !kept.is_empty() {
            parsed.query_pairs_mut().extend_pairs(kept);
        }
        let mut config: tokio_postgres::Config = parsed
            .as_str()
            .parse()
            .map_err(|_| invalid(&described, "cannot be understood"))?;
        let (mode, verify) = match sslmode.as_str() {
            "disable" => (tokio_postgres::config::SslMode::Disable, false),
            "prefer" => (tokio_postgres::config::SslMode::Prefer, false),
            "require" => (tokio_postgres::config::SslMode::Require, false),
            "verify-full" => (tokio_postgres::config::SslMode::Require, true),
            _ => {
                return Err(invalid(
                    &described,
                    "has an sslmode other than disable, prefer, require or verify-full",
                ));
            }
        };
        config.ssl_mode(mode);
        let timeout = config.get_connect_timeout().copied().unwrap_or_else(|| {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
            DEFAULT_CONNECT_TIMEOUT
        });
        if config.get_application_name().is_none() {
            config.application_name("authhost");
        }
        let tls =
            tls_config(verify, root_file.as_deref()).map_err(|why| Error::StoreUnavailable {
                store: described.clone(),
                reason: why,
            })?;
        Ok(Target {
            config,
            tls,
            described,
            timeout,
        })
    }

    /// The store in messages: `postgres://HOST:PORT/DATABASE`.
    pub fn described(&self) -> &str {
        &self.described
    }

    /// An error about this store.
    pub fn unavailable(&self, reason: impl Into<String>) -> Error {
        Error::StoreUnavailable {
            store: self.described.clone(),
            reason: reason.into(),
        }
    }

    /// An error of the driver about this store, in words without the URL.
    pub fn failed(&self, doing: &str, error: &tokio_postgres::Error) -> Error {
        let why = match error.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => {
                let mut text = error.to_string();
                if let Some(source) = std::error::Error::source(error) {
                    text = format!("{text}: {source}");
                }
                text
            }
        };
        self.unavailable(format!(
            "{doing}: {}",
            crate::sanitize::plugin_text(&why, 300)
        ))
    }

    /// Connects, within the connect timeout; notifications go to `notify`.
    async fn connect(&self, notify: broadcast::Sender<String>) -> Result<Client, Error> {
        let tls = MakeRustlsConnect::new(self.tls.clone());
        let connecting = self.config.connect(tls);
        let (client, mut connection) = match tokio::time::timeout(self.timeout, connecting).await {
            Ok(Ok(connected)) => connected,
            Ok(Err(error)) => return Err(self.failed("cannot connect", &error)),
            Err(_) => {
                return Err(self.unavailable(format!(
                    "no answer within the connect timeout ({} s)",
                    self.timeout.as_secs_f32()
                )));
            }
        };
        tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(note))) => {
                        let _ = notify.send(note.payload().to_owned());
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tracing::debug!("the store's connection ended: {error}");
                        break;
                    }
                    None => break,
                }
            }
        });
        Ok(client)
    }
}

/// The description of the store at `url`, without user or password.
fn describe(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("localhost");
    let port = url.port().unwrap_or(5432);
    let db = url.path().trim_start_matches('/');
    format!(
        "postgres://{}:{port}/{}",
        crate::sanitize::plugin_text(host, 200),
        crate::sanitize::plugin_text(db, 200)
    )
}

/// The TLS configuration: with `verify`, the server's certificate is
/// checked against the bundled Mozilla roots, `SSL_CERT_FILE` and the
/// URL's `sslrootcert`, and its name against the host (libpq's
/// `verify-full`); without, the connection is encrypted but the server is
/// not checked (libpq's `require` and `prefer`).
fn tls_config(verify: bool, root_file: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set TLS up: {e}"))?;
    if !verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(unchecked::Unchecked(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    let env_file = std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|v| !v.is_empty());
    for (file, must) in [(env_file.as_deref(), false), (root_file, true)] {
        let Some(file) = file else { continue };
        let certs: Vec<CertificateDer<'static>> = match std::fs::read(file) {
            Ok(bytes) => CertificateDer::pem_slice_iter(&bytes)
                .filter_map(Result::ok)
                .collect(),
            Err(e) if must => return Err(format!("cannot read sslrootcert {file}: {e}")),
            Err(_) => continue,
        };
        roots.add_parsable_certificates(certs);
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// The verifier of `sslmode=require`: any certificate, its signatures
/// still checked (the handshake is sound, the peer unknown).
mod unchecked {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    #[derive(Debug)]
    pub(super) struct Unchecked(pub Arc<CryptoProvider>);

    impl ServerCertVerifier for Unchecked {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

/// The process's one connection, made on first use and again when the
/// database closed it.
pub(super) struct Connection {
    target: Target,
    client: Mutex<Option<Arc<Client>>>,
    /// One connection attempt at a time.
    connecting: tokio::sync::Mutex<()>,
    notify: broadcast::Sender<String>,
    /// Run on every new connection before it is used (the schema check).
    prepare: Box<dyn Fn(Client) -> Prepared + Send + Sync>,
}

/// What [`Connection`]'s `prepare` returns.
pub(super) type Prepared =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Client, Error>> + Send>>;

impl Connection {
    /// The connection to `target`, each new one passed through `prepare`.
    pub fn new(
        target: Target,
        prepare: impl Fn(Client) -> Prepared + Send + Sync + 'static,
    ) -> Connection {
        Connection {
            target,
            client: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            notify: broadcast::channel(256).0,
            prepare: Box::new(prepare),
        }
    }

    /// The store this connects to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// A receiver of the notifications of every connection from now on.
    pub fn notifications(&self) -> broadcast::Receiver<String> {
        self.notify.subscribe()
    }

    /// The open connection, made now if there is none.
    pub async fn client(&self) -> Result<Arc<Client>, Error> {
        if let Some(client) = self.current() {
            return Ok(client);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(client) = self.current() {
            return Ok(client);
        }
        let client = self.target.connect(self.notify.clone()).await?;
        let client = Arc::new((self.prepare)(client).await?);
        *self.client.lock().unwrap_or_else(|e| e.into_inner()) = Some(client.clone());
        Ok(client)
    }

    fn current(&self) -> Option<Arc<Client>> {
        let guard = self.client.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().filter(|c| !c.is_closed()).cloned()
    }

    /// Runs `op` on the connection; when the connection turns out closed
    /// (the database restarted), once more on a new one. Errors say what
    /// was being done (`doing`).
    pub async fn run<T, F, Fut>(&self, doing: &str, op: F) -> Result<T, Error>
    where
        F: Fn(Arc<Client>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let client = self.client().await?;
        match op(client.clone()).await {
            Ok(value) => Ok(value),
            Err(error) if error.is_closed() || client.is_closed() => {
                tracing::debug!(store = self.target.described(), "reconnecting: {error}");
                let client = self.client().await?;
                op(client)
                    .await
                    .map_err(|error| self.target.failed(doing, &error))
            }
            Err(error) => Err(self.target.failed(doing, &error)),
        }
    }

    /// As [`Connection::run`], but while the database cannot be reached
    /// (it is restarting, a failover is under way) it tries again, at
    /// growing intervals, for up to `patience`: for a write that must not
    /// be lost, such as the tokens a refresh just obtained, whose refresh
    /// token the service may already have rotated. An error the database
    /// itself answered is returned at once.
    pub async fn run_patiently<T, F, Fut>(
        &self,
        doing: &str,
        patience: Duration,
        op: F,
    ) -> Result<T, Error>
    where
        F: Fn(Arc<Client>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let deadline = tokio::time::Instant::now() + patience;
        let mut pause = Duration::from_millis(100);
        let mut warned = false;
        loop {
            let reached = match self.client().await {
                Ok(client) => match op(client.clone()).await {
                    Ok(value) => return Ok(value),
                    // The database answered: trying again changes nothing.
                    Err(error) if error.as_db_error().is_some() => {
                        return Err(self.target.failed(doing, &error));
                    }
                    Err(error) => self.target.failed(doing, &error),
                },
                Err(error) => error,
            };
            if tokio::time::Instant::now() + pause > deadline {
                return Err(reached);
            }
            if !warned {
                tracing::warn!(
                    store = self.target.described(),
                    "the store cannot be reached ({reached}); trying again for up to {} s",
                    patience.as_secs()
                );
                warned = true;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}
