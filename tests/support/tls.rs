//! An HTTPS server on 127.0.0.1 whose certificate is signed by a test CA
//! (made with `openssl`), for tests of what authhost trusts: it answers
//! every GET with 200 and a fixed body, and counts the requests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::assert_success;

const SERVER: &str = r#"
import http.server, ssl, sys
cert, key, body = sys.argv[1], sys.argv[2], sys.argv[3].encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_GET(self):
        print("request " + self.path, flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("port %d" % server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A test CA and a server certificate for `127.0.0.1` signed by it.
pub struct Certificates {
    /// The CA's certificate (PEM).
    pub ca: PathBuf,
    /// The server's certificate (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
}

impl Certificates {
    /// Makes them in `dir` with `openssl`.
    pub fn make(dir: &Path) -> Certificates {
        let ca = dir.join("ca.pem");
        let ca_key = dir.join("ca.key");
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        let csr = dir.join("cert.csr");
        let ext = dir.join("cert.ext");
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let openssl = |args: &[&str], paths: &[(&str, &Path)]| {
            let mut cmd = Command::new("openssl");
            cmd.args(args);
            for (flag, path) in paths {
                cmd.arg(flag).arg(path);
            }
            assert_success(&cmd.output().expect("openssl"));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-nodes", "-days", "1", "-subj", "/CN=authhost test CA"],
            ]
            .concat(),
            &[("-keyout", &ca_key), ("-out", &ca)],
        );
        openssl(
            &[&["req"][..], &ec, &["-nodes", "-subj", "/CN=127.0.0.1"]].concat(),
            &[("-keyout", &key), ("-out", &csr)],
        );
        openssl(
            &["x509", "-req", "-days", "1", "-CAcreateserial"],
            &[
                ("-in", &csr),
                ("-CA", &ca),
                ("-CAkey", &ca_key),
                ("-extfile", &ext),
                ("-out", &cert),
            ],
        );
        Certificates { ca, cert, key }
    }
}

/// A running HTTPS server; killed when dropped.
pub struct TlsServer {
    child: Child,
    port: u16,
    requests: Arc<AtomicUsize>,
    ca: PathBuf,
}

impl TlsServer {
    /// Makes a CA and a certificate for `127.0.0.1` in `dir`, and starts a
    /// server that answers `body`.
    pub fn start(dir: &Path, body: &str) -> TlsServer {
        let Certificates { ca, cert, key } = Certificates::make(dir);
        let mut child = Command::new("python3")
            .args(["-c", SERVER])
            .arg(&cert)
            .arg(&key)
            .arg(body)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port = first.strip_prefix("port ").unwrap().parse().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line.starts_with("request ") {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        TlsServer {
            child,
            port,
            requests,
            ca,
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`, as a proxy is asked for it.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The test CA's certificate (PEM), for `SSL_CERT_FILE`.
    pub fn ca(&self) -> &Path {
        &self.ca
    }

    /// How many requests were answered so far (printed before each answer).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The count of requests once it reaches `n`, or after 5 seconds (the
    /// server's lines are read by a thread of their own).
    pub fn wait_for_requests(&self, n: usize) -> usize {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.requests() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.requests()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
