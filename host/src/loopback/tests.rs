use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn send(port: u16, raw: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_request_is_answered_by_the_caller() {
    let mut listener = Listener::bind(None).await.unwrap();
    let port = listener.port();
    let client = tokio::spawn(async move {
        send(port, b"GET /callback/x?code=1 HTTP/1.1\r\nHost: a\r\n\r\n").await
    });
    let (ticket, request) = listener.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path_and_query, "/callback/x?code=1");
    assert!(request.headers.contains(&("host".into(), "a".into())));
    listener.respond(
        ticket,
        Response {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"done".to_vec(),
        },
    );
    let answer = client.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
    assert!(answer.contains("cache-control: no-store"), "{answer}");
}

#[tokio::test]
async fn a_busy_port_is_reported() {
    let first = Listener::bind(None).await.unwrap();
    let err = Listener::bind(Some(first.port())).await.err().unwrap();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
}

#[tokio::test]
async fn nothing_arrives_before_the_timeout() {
    let mut listener = Listener::bind(None).await.unwrap();
    assert!(listener.next(Duration::from_millis(50)).await.is_none());
}

#[tokio::test]
async fn dropping_answers_503_and_closes_the_port() {
    let mut listener = Listener::bind(None).await.unwrap();
    let port = listener.port();
    let client =
        tokio::spawn(async move { send(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await });
    let _unanswered = listener.next(Duration::from_secs(5)).await.unwrap();
    drop(listener);
    assert!(client.await.unwrap().starts_with("HTTP/1.1 503"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn garbage_gets_an_error_not_a_request() {
    let mut listener = Listener::bind(None).await.unwrap();
    let answer = send(listener.port(), b"\x16\x03\x01 not http at all\r\n\r\n").await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    let huge = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(1 << 20));
    let answer = send(listener.port(), huge.as_bytes()).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{}",
        &answer[..answer.len().min(80)]
    );
    assert!(listener.next(Duration::from_millis(50)).await.is_none());
}

#[tokio::test]
async fn a_free_port_is_chosen_and_reachable_on_127_0_0_1() {
    let listener = Listener::bind(None).await.unwrap();
    assert_ne!(listener.port(), 0);
    tokio::net::TcpStream::connect(("127.0.0.1", listener.port()))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_framing_headers_are_the_listeners() {
    let mut listener = Listener::bind(None).await.unwrap();
    let port = listener.port();
    let client =
        tokio::spawn(async move { send(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await });
    let (ticket, _) = listener.next(Duration::from_secs(5)).await.unwrap();
    let headers = vec![
        ("content-length".into(), "999".into()),
        ("Connection".into(), "keep-alive".into()),
        ("x-extra".into(), "1".into()),
    ];
    listener.respond(
        ticket,
        Response {
            status: 404,
            headers,
            body: b"abc".to_vec(),
        },
    );
    let answer = client.await.unwrap().to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 404"), "{answer}");
    assert!(answer.contains("content-length: 3\r\n"), "{answer}");
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(!answer.contains("keep-alive"), "{answer}");
    assert!(answer.contains("x-extra: 1\r\n"), "{answer}");
}

#[tokio::test]
async fn requests_beyond_the_queue_get_503_without_the_caller() {
    let listener = Listener::bind(None).await.unwrap();
    let port = listener.port();
    let queued: Vec<_> = (0..MAX_QUEUED)
        .map(|_| {
            tokio::spawn(async move { send(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await })
        })
        .collect();
    // Let every queued request reach the channel.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let extra = tokio::time::timeout(
        Duration::from_secs(5),
        send(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    )
    .await
    .expect("the request over the limit is answered at once");
    assert!(extra.starts_with("HTTP/1.1 503"), "{extra}");
    drop(listener);
    for client in queued {
        assert!(client.await.unwrap().starts_with("HTTP/1.1 503"));
    }
}

#[tokio::test]
async fn a_slow_client_does_not_block_others() {
    let mut listener = Listener::bind(None).await.unwrap();
    let port = listener.port();
    // Sends half a request head and stalls.
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stalled
        .write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    let client =
        tokio::spawn(async move { send(port, b"GET /fast HTTP/1.1\r\nHost: a\r\n\r\n").await });
    let (ticket, request) = listener.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(request.path_and_query, "/fast");
    listener.respond(
        ticket,
        Response {
            status: 204,
            headers: vec![],
            body: vec![],
        },
    );
    assert!(client.await.unwrap().starts_with("HTTP/1.1 204"));
}

/// Answers one request, drops the listener and ends the runtime at once,
/// as an exiting process would.
fn answer_then_exit() -> String {
    use std::io::{Read, Write};
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let port: u16 = port_rx.recv().unwrap();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut listener = Listener::bind(None).await.unwrap();
        port_tx.send(listener.port()).unwrap();
        let (ticket, _) = listener.next(Duration::from_secs(5)).await.unwrap();
        let body = b"the page".to_vec();
        listener.respond(
            ticket,
            Response {
                status: 200,
                headers: vec![],
                body,
            },
        );
        drop(listener);
    });
    drop(runtime);
    client.join().unwrap()
}

#[test]
fn dropping_writes_the_last_answer_before_the_runtime_ends() {
    let answer = answer_then_exit();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("the page"),
        "{answer}"
    );
}
