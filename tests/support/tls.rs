//! HTTPS servers on 127.0.0.1 whose certificate is signed by a test CA
//! (made with `openssl`), for tests of what authhost and the tools it
//! serves trust: [`TlsServer`] answers every GET with 200 and a fixed body
//! and counts the requests; [`PythonTlsServer`] runs a request handler a
//! test writes in Python.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::assert_success;

/// The handler of [`TlsServer`]: 200 and `body` for every GET, each
/// request's path printed first.
const ANSWER_EVERY_GET: &str = r#"
import http.server, sys
body = sys.argv[3].encode()
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
"#;

/// What follows a handler in every server: `Handler` served over TLS with
/// the certificate and key named by the first two arguments, on a port the
/// system picks, which it prints first (`port N`).
const SERVE: &str = r#"
import http.server, ssl, sys
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
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

/// A running Python HTTPS server; killed when dropped.
pub struct PythonTlsServer {
    child: Child,
    port: u16,
    ca: PathBuf,
}

impl PythonTlsServer {
    /// Makes a CA and a certificate for `127.0.0.1` in `dir`, and runs
    /// `handler`, Python that defines a `http.server` request handler class
    /// `Handler`, as `python3 -c HANDLER CERT KEY ARGS…`. Each line the
    /// handler prints is given to `on_line`, on a thread of its own.
    pub fn start(
        dir: &Path,
        handler: &str,
        args: &[&str],
        mut on_line: impl FnMut(&str) + Send + 'static,
    ) -> PythonTlsServer {
        let Certificates { ca, cert, key } = Certificates::make(dir);
        let mut child = Command::new("python3")
            .args(["-c", &format!("{handler}{SERVE}")])
            .arg(&cert)
            .arg(&key)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port = first.strip_prefix("port ").unwrap().parse().unwrap();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                on_line(&line);
            }
        });
        PythonTlsServer { child, port, ca }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The test CA's certificate (PEM), the one to trust.
    pub fn ca(&self) -> &Path {
        &self.ca
    }
}

impl Drop for PythonTlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running HTTPS server that answers every GET with a fixed body and
/// counts the requests; killed when dropped.
pub struct TlsServer {
    server: PythonTlsServer,
    requests: Arc<AtomicUsize>,
}

impl TlsServer {
    /// Makes a CA and a certificate for `127.0.0.1` in `dir`, and starts a
    /// server that answers `body`.
    pub fn start(dir: &Path, body: &str) -> TlsServer {
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        let server = PythonTlsServer::start(dir, ANSWER_EVERY_GET, &[body], move |line| {
            if line.starts_with("request ") {
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        TlsServer { server, requests }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.port())
    }

    /// `127.0.0.1:PORT`, as a proxy is asked for it.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.server.port())
    }

    /// The test CA's certificate (PEM), for `SSL_CERT_FILE`.
    pub fn ca(&self) -> &Path {
        self.server.ca()
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
