//! A git server over HTTP on 127.0.0.1 for credential-helper tests: it
//! requires basic auth with one user name and password, then serves the
//! repositories under its root through `git http-backend` as a CGI program
//! (clone, fetch and push).

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine;

use super::http::{read_body, read_head};

/// What one request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The user name and password of its `Authorization` header, if any.
    pub credentials: Option<(String, String)>,
    /// Whether they were accepted.
    pub accepted: bool,
}

/// The server; it stops serving when dropped (its thread ends with the
/// test process).
pub struct GitServer {
    root: tempfile::TempDir,
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl GitServer {
    /// A server that accepts `user` with `password`, with a bare repository
    /// `repo.git` holding one commit on `main`.
    pub fn start(user: &str, password: &str) -> GitServer {
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("repo.git");
        git(
            root.path(),
            &["init", "--bare", "-q", "-b", "main", "repo.git"],
        );
        git(&repo, &["config", "http.receivepack", "true"]);
        let work = root.path().join("seed");
        git(root.path(), &["init", "-q", "-b", "main", "seed"]);
        std::fs::write(work.join("README"), "hello\n").unwrap();
        git(&work, &["add", "README"]);
        git(&work, &["commit", "-q", "-m", "first"]);
        git(&work, &["push", "-q", repo.to_str().unwrap(), "main"]);

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let project_root = root.path().to_path_buf();
        let expected = (user.to_owned(), password.to_owned());
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let (root, expected, record) =
                    (project_root.clone(), expected.clone(), record.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &root, &expected, &record);
                });
            }
        });
        GitServer { root, port, seen }
    }

    /// The URL of `repo.git`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/repo.git", self.port)
    }

    /// `127.0.0.1:PORT`, as git names the host.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What the requests so far presented.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The bare repository.
    pub fn repo(&self) -> PathBuf {
        self.root.path().join("repo.git")
    }
}

/// `git ARGS` in `dir`, isolated from the user's configuration.
pub fn git(dir: &Path, args: &[&str]) {
    let out = git_command(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `git` command in `dir` that reads no global or system configuration
/// and never prompts.
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "false")
        .env_remove("SSH_ASKPASS")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .stdin(Stdio::null());
    cmd
}

fn serve(
    stream: TcpStream,
    root: &Path,
    expected: &(String, String),
    seen: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let head = read_head(&mut reader)?;
    let header = |name: &str| head.header(name);
    let credentials = header("authorization")
        .and_then(|v| v.strip_prefix("Basic ").map(str::to_owned))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(u, p)| (u.to_owned(), p.to_owned()))
        });
    let accepted = credentials.as_ref() == Some(expected);
    seen.lock().unwrap().push(Seen {
        credentials: credentials.clone(),
        accepted,
    });
    if !accepted {
        writer.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let body = read_body(&mut reader, &head)?;
    let (path, query) = head.target.split_once('?').unwrap_or((&head.target, ""));
    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("REQUEST_METHOD", &head.method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_USER", &expected.0)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(encoding) = header("content-encoding") {
        cgi.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some(protocol) = header("git-protocol") {
        cgi.env("GIT_PROTOCOL", protocol);
    }
    let mut child = cgi.spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let writer_thread = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut output = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut output)?;
    child.wait()?;
    let _ = writer_thread.join();
    // CGI headers, a blank line, the body.
    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (head, body) = match split {
        Some((i, n)) => (
            String::from_utf8_lossy(&output[..i]).into_owned(),
            &output[i + n..],
        ),
        None => (String::new(), &output[..]),
    };
    let mut status = "200 OK".to_owned();
    let mut response_headers = String::new();
    for line in head.lines() {
        if let Some(value) = line.strip_prefix("Status:") {
            status = value.trim().to_owned();
        } else if !line.is_empty() {
            response_headers.push_str(line.trim_end());
            response_headers.push_str("\r\n");
        }
    }
    write!(
        writer,
        "HTTP/1.1 {status}\r\n{response_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    writer.write_all(body)?;
    writer.flush()
}
