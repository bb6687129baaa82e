//! The certificate authorities plugin HTTPS trusts: the Mozilla roots
//! bundled with authhost (`webpki-roots`, what wasmtime-wasi-http trusts),
//! plus every certificate in the PEM file `SSL_CERT_FILE` names, as curl
//! and git read it. rustls reads no system store of its own (that takes
//! another crate), so a company CA is added through this variable; on most
//! Linux systems it names the system bundle anyway.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A TLS client configuration with the roots above.
pub(crate) fn client_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        add_pem_file(&mut roots, Path::new(&file), "SSL_CERT_FILE");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Adds the certificates of one PEM file; a file that cannot be read or
/// holds no valid certificate is skipped with a warning.
fn add_pem_file(roots: &mut rustls::RootCertStore, path: &Path, variable: &str) {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot read {variable}: {e}");
            return;
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(Result::ok)
        .collect();
    let (added, ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        tracing::warn!(path = %path.display(), "{variable} holds no usable certificate");
    } else if ignored > 0 {
        tracing::debug!(path = %path.display(), "{variable}: {ignored} certificates ignored");
    }
}
