//! A real `kubectl` whose kubeconfig runs `authhost token X --format kube`
//! as its exec credential plugin, against a stand-in API server on
//! 127.0.0.1 (HTTPS with a certificate made for the test) that accepts one
//! bearer token.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use support::tls::PythonTlsServer;
use support::{Home, assert_success, authhost_bin, stderr, stdout};

/// The stand-in API server's handler: `/version` for the right bearer
/// token, 401 otherwise; each request's token is printed on stdout.
const HANDLER: &str = r#"
import http.server, json, sys
want = sys.argv[3]
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        print("token " + auth.removeprefix("Bearer "), flush=True)
        if auth != "Bearer " + want:
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
            self.send_response(401)
        else:
            body = json.dumps({"major": "1", "minor": "30", "gitVersion": "v1.30.0-authhost",
                               "platform": "linux/amd64"})
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())
"#;

/// The stand-in API server, with the bearer tokens it was sent.
struct ApiServer {
    server: PythonTlsServer,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl ApiServer {
    /// Makes its certificates in `dir`; it accepts `token`.
    fn start(dir: &Path, token: &str) -> ApiServer {
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let record = tokens.clone();
        let server = PythonTlsServer::start(dir, HANDLER, &[token], move |line| {
            if let Some(token) = line.strip_prefix("token ") {
                record.lock().unwrap().push(token.to_owned());
            }
        });
        ApiServer { server, tokens }
    }

    /// The tokens of the requests since the last call (the server prints
    /// each before it answers, so they are all there once kubectl is done).
    fn take_tokens(&self) -> Vec<String> {
        std::mem::take(&mut *self.tokens.lock().unwrap())
    }
}

/// A kubeconfig whose user runs `authhost token PROVIDER --format kube`,
/// with ExecCredential version `api_version`.
fn kubeconfig(
    dir: &Path,
    server: &ApiServer,
    home: &Home,
    provider: &str,
    api_version: &str,
) -> PathBuf {
    let text = format!(
        r#"apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority: {ca}
users:
- name: authhost
  user:
    exec:
      apiVersion: client.authentication.k8s.io/{api_version}
      command: {bin}
      args: [token, {provider}, --format, kube]
      env:
      - name: AUTHHOST_HOME
        value: {home}
      interactiveMode: Never
contexts:
- name: local
  context:
    cluster: local
    user: authhost
current-context: local
"#,
        port = server.server.port(),
        ca = server.server.ca().display(),
        bin = authhost_bin(),
        home = home.path().display(),
    );
    let path = dir.join(format!("kubeconfig-{api_version}"));
    std::fs::write(&path, text).unwrap();
    path
}

fn kubectl(dir: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(config)
        .args(args)
        .env("HOME", dir)
        .env_remove("KUBECONFIG")
        .env_remove("AUTHHOST_STORE")
        .stdin(Stdio::null())
        .output()
        .expect("kubectl (tests/run.sh installs Debian's kubernetes-client when it is missing)")
}

/// The ExecCredential versions this kubectl reads: `v1` from 1.22 on.
fn api_versions() -> Vec<&'static str> {
    let out = Command::new("kubectl")
        .args(["version", "--client", "-o", "json"])
        .output()
        .expect("kubectl");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let minor: u32 = info["clientVersion"]["minor"]
        .as_str()
        .unwrap()
        .trim_end_matches('+')
        .parse()
        .unwrap();
    if minor >= 22 {
        vec!["v1beta1", "v1"]
    } else {
        vec!["v1beta1"]
    }
}

#[test]
fn kubectl_authenticates_with_authhost_as_its_exec_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::with_config("[providers.cluster]\nplugin = \"api-key\"\n");
    // An OAuth access token with an expiry: the ExecCredential carries its
    // expirationTimestamp, which kubectl must accept.
    std::fs::write(
        home.store_path(),
        r#"{"cluster": {"type": "oauth", "access": "kube-token-1", "expires": 4102444800000}}"#,
    )
    .unwrap();
    let server = ApiServer::start(dir.path(), "kube-token-1");
    for api_version in api_versions() {
        let config = kubeconfig(dir.path(), &server, &home, "cluster", api_version);
        let out = kubectl(dir.path(), &config, &["get", "--raw", "/version"]);
        assert_success(&out);
        assert!(
            stdout(&out).contains("v1.30.0-authhost"),
            "{}",
            stdout(&out)
        );
        let tokens = server.take_tokens();
        assert!(!tokens.is_empty(), "{api_version}");
        assert!(
            tokens.iter().all(|t| t == "kube-token-1"),
            "{api_version}: {tokens:?}"
        );
    }

    // An expiry past year 9999 (a plugin's or another tool's "never"):
    // printed as 9999-12-31T23:59:59Z, which kubectl accepts.
    std::fs::write(
        home.store_path(),
        format!(
            r#"{{"cluster": {{"type": "oauth", "access": "kube-token-1", "expires": {}}}}}"#,
            u64::MAX
        ),
    )
    .unwrap();
    let out = home.run(&["token", "cluster", "--format", "kube"]);
    assert!(
        stdout(&out).contains(r#""expirationTimestamp":"9999-12-31T23:59:59Z""#),
        "{}",
        stdout(&out)
    );
    for api_version in api_versions() {
        let config = kubeconfig(dir.path(), &server, &home, "cluster", api_version);
        let out = kubectl(dir.path(), &config, &["get", "--raw", "/version"]);
        assert_success(&out);
        assert!(server.take_tokens().iter().all(|t| t == "kube-token-1"));
    }

    // A key the server does not accept: kubectl fails, with the server's
    // refusal.
    let other = Home::with_config("[providers.cluster]\nplugin = \"api-key\"\n");
    let out = other.run_with_stdin(&["login", "cluster", "--method", "api-key"], "kube-wrong\n");
    assert_success(&out);
    let config = kubeconfig(dir.path(), &server, &other, "cluster", "v1beta1");
    let out = kubectl(dir.path(), &config, &["get", "--raw", "/version"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stderr(&out).contains("nauthorized"), "{}", stderr(&out));
    let tokens = server.take_tokens();
    assert!(!tokens.is_empty());
    assert!(tokens.iter().all(|t| t == "kube-wrong"), "{tokens:?}");

    // No credential: authhost's error reaches the user through kubectl.
    let empty = Home::with_config("[providers.cluster]\nplugin = \"api-key\"\n");
    let config = kubeconfig(dir.path(), &server, &empty, "cluster", "v1beta1");
    let out = kubectl(dir.path(), &config, &["get", "--raw", "/version"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("authhost login cluster"),
        "{}",
        stderr(&out)
    );
    assert!(server.take_tokens().is_empty());
}
