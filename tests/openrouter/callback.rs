//! The loopback callback listener: forged, hostile, held and repeated
//! callbacks refused while the real one completes, on 127.0.0.1 only.

use super::*;

/// A login waiting for its callback: `authhost login openrouter` runs with
/// a browser that only records the URL, and the fake's consent page has
/// already answered that URL with the redirect to the real callback.
struct Waiting {
    login: Login,
    child: Child,
    stderr: Option<std::thread::JoinHandle<String>>,
    /// The real callback URL, with the real code.
    redirect: String,
    /// The port the listener is on.
    port: u16,
    /// The nonce in the callback path.
    nonce: String,
    /// The real code.
    code: String,
}

impl Waiting {
    fn start(mode: Mode) -> Waiting {
        let login = Login::new(mode);
        let mut child = login
            .command(&script("record-url.sh"), &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (_urls, stderr) = watch_stderr(&mut child);
        let auth_url = wait_for_file(&login.url_file);
        let (status, body, redirect) = curl(&auth_url);
        assert_eq!(status, 302, "{body}");
        let url = url::Url::parse(&redirect).unwrap();
        let port = url.port().unwrap();
        let nonce = url.path().strip_prefix("/callback/").unwrap().to_owned();
        let code = url
            .query_pairs()
            .find(|(name, _)| name == "code")
            .unwrap()
            .1
            .into_owned();
        Waiting {
            login,
            child,
            stderr: Some(stderr),
            redirect,
            port,
            nonce,
            code,
        }
    }

    /// `http://localhost:PORT` of the listener.
    fn origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// A raw `METHOD TARGET` request with a `Host` header and no body.
    fn request(&self, method: &str, target: &str) -> Vec<u8> {
        format!(
            "{method} {target} HTTP/1.1\r\nHost: localhost:{}\r\n\r\n",
            self.port
        )
        .into_bytes()
    }

    /// Sends the real callback as the browser would and waits for the login
    /// to end; asserts the success page and status. Returns stderr.
    fn complete(&mut self) -> String {
        let (status, body, _) = curl(&self.redirect);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Logged in to OpenRouter"), "{body}");
        self.finish()
    }

    /// Waits for the login to end; asserts it succeeded. Returns stderr.
    fn finish(&mut self) -> String {
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        assert!(status.success(), "{status}: {stderr}");
        stderr
    }

    /// Asserts that the fake exchanged only the real code, once.
    fn assert_only_the_real_code_was_exchanged(&self) {
        let codes: Vec<String> = self
            .login
            .fake
            .exchanges()
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                body["code"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(codes, std::slice::from_ref(&self.code));
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        // A failed test must not leave the login running.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn a_forged_callback_is_refused_and_the_real_one_completes() {
    let mut waiting = Waiting::start(Mode::Approve);
    let (path_end, query) = waiting.redirect.split_once('?').unwrap();
    let base = path_end.rsplit_once('/').unwrap().0;
    for forged in [
        format!("{base}/wrongnonce?{query}"),
        format!("{base}/../callback/x?{query}"),
        format!("{}/favicon.ico", waiting.origin()),
        format!("{}/", waiting.origin()),
    ] {
        let (status, body, _) = curl(&forged);
        assert_eq!(status, 404, "{forged}: {body}");
    }
    let (status, body, _) = curl(&format!("{path_end}?state=x"));
    assert_eq!(status, 400, "a callback without a code: {body}");
    assert!(
        waiting.login.fake.exchanges().is_empty(),
        "a forged callback was exchanged"
    );
    waiting.complete();
    assert_eq!(waiting.login.fake.keys().len(), 1);
    waiting.assert_only_the_real_code_was_exchanged();
    assert!(waiting.login.home.store_json()["openrouter"]["key"].is_string());
}

/// The longest a request the listener refuses may take to be answered or
/// closed; well below its 10 s limit for sending the request head, so that
/// a request left to that limit counts as a hang.
const PROMPT: Duration = Duration::from_secs(8);
/// The listener's limit for sending a request head (`HEADER_TIMEOUT` in
/// `host/src/loopback.rs`), with a generous margin: slow and idle clients
/// must be cut off within it.
const CUT_OFF: Duration = Duration::from_secs(25);

/// Something like a TLS ClientHello: what a browser sends to an `https://`
/// URL.
fn tls_client_hello() -> Vec<u8> {
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xc4, 0x01, 0x00, 0x00, 0xc0, 0x03, 0x03,
    ];
    hello.extend((0u8..32).map(|i| i.wrapping_mul(37)));
    hello.extend([0x00, 0x00, 0x04, 0x13, 0x01, 0x13, 0x02, 0x01, 0x00]);
    hello.extend(std::iter::repeat_n(0u8, 150));
    hello
}

/// Requests for the callback path (with a forged code) that are not HTTP,
/// or too big to accept.
fn garbage(waiting: &Waiting) -> Vec<(&'static str, Vec<u8>)> {
    let callback = format!("/callback/{}", waiting.nonce);
    let long_line = format!("{callback}?code={}", "a".repeat(1 << 20));
    let mut many_headers = format!("GET {callback}?code=forged-headers HTTP/1.1\r\n");
    for i in 0..10_000 {
        many_headers.push_str(&format!("x-h{i}: {i}\r\n"));
    }
    many_headers.push_str("\r\n");
    let nul = format!("GET {callback}\0?code=forged-nul HTTP/1.1\r\n\r\n");
    vec![
        ("a TLS ClientHello", tls_client_hello()),
        (
            "binary noise",
            (0..4096u32).map(|i| (i * 7919) as u8).collect(),
        ),
        (
            "an HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        ),
        ("a 1 MB request line", waiting.request("GET", &long_line)),
        ("10,000 headers", many_headers.into_bytes()),
        ("a NUL byte in the path", nul.into_bytes()),
    ]
}

/// Look-alikes of `/callback/NONCE` that a lax server would normalise into
/// it, and near misses.
fn lookalike_paths(nonce: &str) -> Vec<String> {
    let encoded: String = nonce.bytes().map(|b| format!("%{b:02X}")).collect();
    let lower_encoded: String = nonce.bytes().map(|b| format!("%{b:02x}")).collect();
    let paths = [
        format!("/callback/../callback/{nonce}"),
        format!("/callback/./{nonce}"),
        format!("/x/../callback/{nonce}"),
        format!("/callback/{encoded}"),
        format!("/callback/{lower_encoded}"),
        format!("/%63allback/{nonce}"),
        format!("/callback%2F{nonce}"),
        format!("/callback/{nonce}/"),
        format!("/callback/{nonce}/."),
        format!("//callback/{nonce}"),
        format!("/callback//{nonce}"),
        format!("/callback/{nonce}%00"),
        format!("/callback/{nonce}%20"),
        format!("/callback/{nonce};x"),
        format!("/CALLBACK/{nonce}"),
        format!("/callback/{}", nonce.to_uppercase()),
        format!("/callback/{}", nonce.to_lowercase()),
        format!("/callback/{}", &nonce[..nonce.len() - 1]),
        format!("/callback/{nonce}x"),
    ];
    // A case change may leave a nonce as it was.
    let exact = format!("/callback/{nonce}");
    paths.into_iter().filter(|p| *p != exact).collect()
}

#[test]
fn hostile_requests_to_the_callback_port_are_refused_and_the_real_callback_completes() {
    let mut waiting = Waiting::start(Mode::Approve);
    let (port, callback) = (waiting.port, format!("/callback/{}", waiting.nonce));
    // A slow client on the callback path, one byte a second, all along.
    let slow = raw::Dribbler::start(
        port,
        waiting.request("GET", &format!("{callback}?code=forged-slowly")),
        CUT_OFF,
    );

    for (what, bytes) in garbage(&waiting) {
        let answer = raw::send(port, &bytes, PROMPT, what);
        assert!(answer.is_refusal(), "{what}: {answer:?}");
        assert_ne!(answer, raw::Answer::Refused, "{what}: the listener is gone");
    }
    // The right path with a code (or a denial), but not a GET.
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"] {
        for query in [
            format!("code=forged-{method}"),
            "error=access_denied".into(),
        ] {
            let target = format!("{callback}?{query}");
            let answer = raw::send(port, &waiting.request(method, &target), PROMPT, method);
            assert_eq!(answer, raw::Answer::Status(404), "{method} {target}");
        }
    }
    let announced = format!(
        "POST {callback}?code=forged-body HTTP/1.1\r\nHost: localhost\r\n\
         content-length: 1000000\r\n\r\ncode=forged-in-body"
    );
    let answer = raw::send(port, announced.as_bytes(), PROMPT, "a body never sent");
    assert_eq!(answer, raw::Answer::Status(404));
    // Look-alike paths, with a code or a denial.
    for path in lookalike_paths(&waiting.nonce) {
        for query in ["code=forged", "error=access_denied"] {
            let target = format!("{path}?{query}");
            let answer = raw::send(port, &waiting.request("GET", &target), PROMPT, &target);
            assert_eq!(answer, raw::Answer::Status(404), "{target}");
        }
    }

    assert!(
        waiting.login.fake.exchanges().is_empty(),
        "a hostile request was exchanged: {:?}",
        waiting.login.fake.exchanges()
    );
    // All of that was answered while the slow client was still sending...
    assert!(!slow.ended(), "the slow client was cut off too early");
    // ...which it could not do for long.
    let slow = slow.join();
    assert!(
        slow.answer.as_ref().is_some_and(raw::Answer::is_refusal) && slow.after < CUT_OFF,
        "the slow client was not cut off in time: {slow:?}"
    );

    let stderr = waiting.complete();
    waiting.assert_only_the_real_code_was_exchanged();
    let key = &waiting.login.fake.keys()[0];
    assert_eq!(
        waiting.login.home.store_json(),
        serde_json::json!({"openrouter": {"type": "api", "key": key, "plugin": "openrouter"}})
    );
    assert!(
        !stderr.contains(key) && !stderr.contains(&waiting.code),
        "{stderr}"
    );
}

#[test]
fn held_connections_are_cut_off_and_the_real_callback_then_completes() {
    let mut waiting = Waiting::start(Mode::Approve);
    let opened = std::time::Instant::now();
    let mut held: Vec<std::net::TcpStream> = (0..200)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", waiting.port)).unwrap())
        .collect();
    // Beyond the listener's limit on open connections, it closes them at
    // once; it closes the others when they have sent no request in time.
    std::thread::sleep(Duration::from_secs(1));
    let at_once = held.iter().filter(|s| raw::ended_already(s)).count();
    let deadline = opened + CUT_OFF;
    for (i, stream) in held.iter_mut().enumerate() {
        let answer = raw::read_to_end(stream, deadline).unwrap_or_else(|got| {
            panic!(
                "held connection {i} still open after {CUT_OFF:?} (got {:?})",
                String::from_utf8_lossy(&got)
            )
        });
        assert!(answer.is_refusal(), "held connection {i}: {answer:?}");
    }
    drop(held);
    assert!(at_once > 0, "all 200 connections were kept open");
    assert!(waiting.login.fake.exchanges().is_empty());

    waiting.complete();
    waiting.assert_only_the_real_code_was_exchanged();
    assert!(waiting.login.home.store_json()["openrouter"]["key"].is_string());
}

#[test]
fn a_second_callback_is_refused_and_the_stored_key_is_unchanged() {
    let mut waiting = Waiting::start(Mode::SlowExchange);
    let browser = {
        let redirect = waiting.redirect.clone();
        std::thread::spawn(move || curl(&redirect))
    };
    // The first callback is being exchanged: a second one, with the real
    // code or another, waits at most until the login ends.
    assert!(
        waiting
            .login
            .fake
            .wait_for_exchange(Duration::from_secs(30)),
        "the real callback was not exchanged"
    );
    let replay = format!("/callback/{}?code={}", waiting.nonce, waiting.code);
    let other = format!("/callback/{}?code=forged-second", waiting.nonce);
    assert_all_refused(&waiting, &[&replay, &other]);
    let (status, body, _) = browser.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Logged in to OpenRouter"), "{body}");
    waiting.finish();
    let stored = waiting.login.home.store_json();
    assert!(stored["openrouter"]["key"].is_string(), "{stored}");

    // After the login, nothing listens any more.
    assert_all_refused(&waiting, &[&replay, &other]);
    waiting.assert_only_the_real_code_was_exchanged();
    assert_eq!(waiting.login.home.store_json(), stored);
}

/// Sends a GET of each target to the listener; asserts each is refused.
#[track_caller]
fn assert_all_refused(waiting: &Waiting, targets: &[&str]) {
    for target in targets {
        let answer = raw::send(
            waiting.port,
            &waiting.request("GET", target),
            PROMPT,
            target,
        );
        assert!(answer.is_refusal(), "{target}: {answer:?}");
    }
}

#[test]
fn the_callback_listener_listens_on_127_0_0_1_only() {
    let mut waiting = Waiting::start(Mode::Approve);
    let port = waiting.port;
    // 127.0.0.1 in /proc/net/tcp's byte order.
    assert_eq!(raw::listening_addresses(port), ["0100007F"]);
    let refused = |addr: std::net::SocketAddr| {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err()
    };
    assert!(refused((std::net::Ipv6Addr::LOCALHOST, port).into()));
    if let Some(ip) = raw::non_loopback_ipv4() {
        assert!(refused((ip, port).into()), "reachable on {ip}:{port}");
    }
    waiting.complete();
}

/// Idle clients holding every connection slot of the listener cannot lock
/// the browser out: a new connection takes the slot of the oldest one that
/// has sent no request.
#[test]
fn the_real_callback_gets_through_while_idle_connections_are_held() {
    let mut waiting = Waiting::start(Mode::Approve);
    let _held: Vec<std::net::TcpStream> = (0..200)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", waiting.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    waiting.complete();
    waiting.assert_only_the_real_code_was_exchanged();
}
