//! Third-party plugins: the example provider built on its own and dropped
//! into the plugins folder, and the sandbox around folder plugins.

use crate::support;

use support::acme::{self, acme_server};
use support::http::{Response, Server};
use support::{
    Home, assert_fails_with, assert_success, example_component, stderr, stdout, workspace_component,
};

fn acme_home(server: &Server, grants: &[String]) -> Home {
    let grants: Vec<String> = grants.iter().map(|g| format!("{g:?}")).collect();
    let home = Home::with_config(&format!(
        "[providers.acme]\nbase_url = \"{}\"\n\n[plugins.acme]\ngrant = [{}]\n",
        server.url(),
        grants.join(", ")
    ));
    std::fs::copy(
        example_component("acme-provider", "acme-provider"),
        home.plugins_dir().join("acme.wasm"),
    )
    .unwrap();
    home
}

#[test]
fn the_example_provider_logs_in_with_the_grants_it_needs() {
    let server = acme_server();
    let home = acme_home(
        &server,
        &["prompt".into(), format!("http:{}", server.url())],
    );
    let out = home.run_with_stdin(&["login", "acme"], "alice\nhunter2\n");
    assert_success(&out);
    assert!(!stderr(&out).contains("hunter2"));
    let store = home.store_json();
    assert_eq!(store["acme"]["type"], "oauth");
    assert_eq!(store["acme"]["access"], "acme-access-1");
    assert_eq!(store["acme"]["refresh"], "acme-refresh-1");
    assert!(store["acme"]["expires"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(stdout(&home.run(&["token", "acme"])), "acme-access-1\n");

    let out = home.run_with_stdin(&["login", "acme"], "alice\nwrong\n");
    assert_fails_with(
        &out,
        "denied: the token endpoint answered 400 `invalid_grant` (wrong user name or password)",
    );
}

/// The example implements `Refresh` and `Check` and nothing else: the SDK
/// advertises those two, so `token --refresh` renews the tokens (a form
/// body again) and `status --check` asks Acme, while `logout` revokes
/// nothing and `status` calls it no helper.
#[test]
fn the_example_refreshes_and_checks_through_the_traits_it_implements() {
    let server = acme_server();
    let home = acme_home(
        &server,
        &["prompt".into(), format!("http:{}", server.url())],
    );
    assert_success(&home.run_with_stdin(&["login", "acme"], "alice\nhunter2\n"));

    let out = home.run(&["token", "acme", "--refresh"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "acme-access-2\n");
    assert_eq!(home.store_json()["acme"]["refresh"], "acme-refresh-1");

    let out = home.run(&["status", "acme", "--check", "--json"]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let acme = &report[0];
    assert_eq!(acme["extra"]["email"], "alice@acme.example", "{report}");
    assert_eq!(acme["refreshable"], true, "{report}");
    assert_eq!(acme["check"]["ok"], true, "{report}");
    assert_eq!(acme["check"]["account"]["account"], "alice@acme.example");
    assert_eq!(
        acme["check"]["account"]["details"][0],
        serde_json::json!(["plan", "pro"])
    );

    let connections = server.connections();
    let out = home.run(&["logout", "acme"]);
    assert_success(&out);
    assert_eq!(server.connections(), connections, "logout revoked at Acme");
    assert_eq!(home.store_json()["acme"], serde_json::Value::Null);
}

/// The fake token endpoint the example is tested against refuses what a
/// real one refuses: a JSON body, a chunked body, a form without a
/// content-length. (So the example's passing tests prove it sends forms.)
#[test]
fn the_acme_token_endpoint_takes_only_forms_with_a_length() {
    use std::io::{Read, Write};
    let server = acme_server();
    let post = |head: &str, body: &str| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        write!(
            stream,
            "POST /oauth/token HTTP/1.1\r\nhost: acme\r\n{head}\r\n{body}"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let form = "grant_type=password&username=alice&password=hunter2";
    let json = r#"{"grant_type":"password","username":"alice","password":"hunter2"}"#;
    let cases = [
        (
            format!(
                "content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n",
                form.len()
            ),
            form.to_owned(),
            "200",
        ),
        (
            format!(
                "content-type: application/json\r\ncontent-length: {}\r\n",
                json.len()
            ),
            json.to_owned(),
            "400",
        ),
        (
            "content-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n"
                .to_owned(),
            format!("{:x}\r\n{form}\r\n0\r\n\r\n", form.len()),
            "400",
        ),
    ];
    for (head, body, status) in cases {
        let answer = post(&head, &body);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{head}: {answer}"
        );
        if status == "400" {
            assert!(answer.contains("invalid_request"), "{answer}");
        } else {
            assert!(answer.contains("acme-access-1"), "{answer}");
        }
    }
}

/// The tutorial's user-name-then-password login at a real terminal: the
/// line typed at the hidden password prompt reaches it (nothing left over
/// from the first prompt is reading the terminal), it is not echoed, and
/// Ctrl-C at the password prompt cancels with exit code 130, stores
/// nothing and leaves echo on.
#[test]
fn the_example_login_works_at_a_real_terminal() {
    use support::pty::{Step, run_at_terminal, run_command_at_terminal};
    let server = acme_server();
    let home = acme_home(
        &server,
        &["prompt".into(), format!("http:{}", server.url())],
    );
    let steps = acme::LOGIN_STEPS;
    let out = run_at_terminal(&home, &["login", "acme"], &steps, 60);
    let screen = stdout(&out);
    assert!(out.status.success(), "{screen}");
    assert!(
        !screen.contains("hunter2"),
        "the password was echoed:\n{screen}"
    );
    assert_eq!(home.store_json()["acme"]["access"], "acme-access-1");

    let home = acme_home(
        &server,
        &["prompt".into(), format!("http:{}", server.url())],
    );
    let steps = [
        Step::Expect("Acme user name: "),
        Step::Send("alice\n"),
        Step::Expect("Acme password: "),
        Step::Send("\u{3}"),
        Step::Expect("exit="),
    ];
    // The shell reports authhost's exit code, then the terminal's modes.
    let command = [
        "sh",
        "-c",
        "trap true INT; \"$0\" login acme; echo exit=$?; stty -a",
        support::authhost_bin(),
    ];
    let out = run_command_at_terminal(&home, &command, &steps, 60);
    let screen = stdout(&out);
    assert!(screen.contains("exit=130"), "{screen}");
    assert!(
        screen.split_whitespace().any(|w| w == "echo"),
        "echo was left off:\n{screen}"
    );
    assert_eq!(home.store_json(), serde_json::Value::Null);
}

#[test]
fn each_missing_grant_is_named_and_reaches_nothing() {
    let server = acme_server();
    let http = format!("http:{}", server.url());

    let home = acme_home(&server, std::slice::from_ref(&http));
    let out = home.run_with_stdin(&["login", "acme"], "alice\nhunter2\n");
    assert_fails_with(&out, "capability denied: `prompt`");

    let home = acme_home(&server, &["prompt".into()]);
    let out = home.run_with_stdin(&["login", "acme"], "alice\nhunter2\n");
    assert_fails_with(&out, &format!("capability denied: `{http}`"));
    assert_eq!(
        server.connections(),
        0,
        "a denied request reached the server"
    );
    assert_eq!(home.store_json(), serde_json::Value::Null);

    let plugins: serde_json::Value =
        serde_json::from_slice(&home.run(&["plugins", "list", "--json"]).stdout).unwrap();
    let acme = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "acme")
        .unwrap();
    assert_eq!(acme["granted"], serde_json::json!(["prompt"]));
    // The request `http:{base_url=...}` is shown for the provider named
    // like the plugin: the origin of its `base_url`, which is what to grant.
    assert_eq!(acme["missing"], serde_json::json!([http]));
}

/// A home with the test kit as provider `kit`, configured with `options`
/// (TOML lines) and granted `grants`.
fn kit_home(options: &str, grants: &[String]) -> Home {
    let grants: Vec<String> = grants.iter().map(|g| format!("{g:?}")).collect();
    support::testkit_home(&format!(
        "[providers.kit]\nplugin = \"testkit\"\n{options}\n\n[plugins.testkit]\ngrant = [{}]\n",
        grants.join(", ")
    ))
}

#[test]
fn http_to_a_host_outside_the_grant_opens_no_connection() {
    let allowed = Server::start(|_| Response::new(200, "text/plain", "allowed"));
    let other = Server::start(|_| Response::new(200, "text/plain", "secret"));
    let requests = format!(
        "requests = [\"http:{}\", \"http:{}\"]",
        allowed.url(),
        other.url()
    );
    let home = kit_home(
        &format!("mode = \"http\"\nurl = \"{}/x\"\n{requests}", other.url()),
        &[format!("http:{}", allowed.url())],
    );
    let out = home.run(&["token", "kit"]);
    assert_fails_with(&out, "capability denied");
    assert_eq!(other.connections(), 0);

    let home = kit_home(
        &format!("mode = \"http\"\nurl = \"{}/x\"\n{requests}", allowed.url()),
        &[format!("http:{}", allowed.url())],
    );
    assert_eq!(stdout(&home.run(&["token", "kit"])), "200 allowed\n");
}

#[test]
fn a_redirect_to_a_host_outside_the_grant_is_refused_at_the_second_hop() {
    let other = Server::start(|_| Response::new(200, "text/plain", "secret"));
    let target = format!("{}/loot", other.url());
    let allowed = Server::start(move |_| Response::redirect(&target));
    let home = kit_home(
        &format!(
            "mode = \"http\"\nurl = \"{}/start\"\nrequests = [\"http:{}\", \"http:{}\"]",
            allowed.url(),
            allowed.url(),
            other.url()
        ),
        &[format!("http:{}", allowed.url())],
    );
    let out = home.run(&["token", "kit"]);
    assert_fails_with(&out, "capability denied");
    assert_eq!(allowed.connections(), 1);
    assert_eq!(other.connections(), 0);
}

#[test]
fn sockets_bind_only_loopback_and_only_with_a_loopback_grant() {
    let run = |addr: &str, grants: &[String]| {
        let home = kit_home(
            &format!("mode = \"socket\"\naddr = \"{addr}\"\nrequests = [\"loopback\"]"),
            grants,
        );
        home.run(&["token", "kit"])
    };
    let loopback = ["loopback".to_owned()];
    assert_eq!(stdout(&run("127.0.0.1:0", &loopback)), "bound\n");
    let out = run("0.0.0.0:0", &loopback);
    assert_fails_with(&out, "access-denied");
    let out = run("127.0.0.1:0", &[]);
    assert_fails_with(&out, "access-denied");
}

#[test]
fn a_plugin_built_for_another_wit_version_is_refused_naming_both() {
    let home = Home::new();
    let bytes = std::fs::read(workspace_component("testkit")).unwrap();
    let from = b"authhost:provider/provider@0.3.0";
    let to = b"authhost:provider/provider@0.9.0";
    let mut rewritten = bytes.clone();
    let mut found = 0;
    for i in 0..bytes.len().saturating_sub(from.len()) {
        if &bytes[i..i + from.len()] == from {
            rewritten[i..i + to.len()].copy_from_slice(to);
            found += 1;
        }
    }
    assert!(found > 0, "export name not found in the component");
    let path = home.plugins_dir().join("future.wasm");
    std::fs::write(&path, rewritten).unwrap();
    let out = home.run(&["plugins", "inspect", path.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("built for authhost:provider@0.9.0")
            && text.contains(
                "authhost:provider@0.1.0, authhost:provider@0.2.0, authhost:provider@0.3.0"
            ),
        "{text}"
    );
    let listed = stdout(&home.run(&["plugins", "list"]));
    assert!(
        listed.contains("future.wasm") && listed.contains("0.9.0"),
        "{listed}"
    );
}

#[test]
fn loopback_and_process_grants_are_enforced_per_port_and_program() {
    let granted = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let other = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The plugin asks for any port; the user grants one: that one it gets.
    let listen = |port: u16| {
        let home = kit_home(
            &format!("mode = \"listen\"\nport = {port}\nrequests = [\"loopback\"]"),
            &[format!("loopback:{granted}")],
        );
        home.run(&["token", "kit"])
    };
    assert_eq!(stdout(&listen(granted)), format!("bound {granted}\n"));
    let out = listen(other);
    assert!(
        stderr(&out).contains(&format!("capability denied: `loopback:{other}`")),
        "{}",
        stderr(&out)
    );

    let run = |argv: &str| {
        let home = kit_home(
            &format!("mode = \"run\"\nargv = {argv}\nrequests = [\"process:echo\"]"),
            &["process:echo".to_owned()],
        );
        home.run(&["token", "kit"])
    };
    assert_eq!(stdout(&run(r#"["echo", "from echo"]"#)), "from echo\n");
    let out = run(r#"["sh", "-c", "echo escaped"]"#);
    assert!(
        stderr(&out).contains("capability denied: `process:sh`"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("escaped"));
}

/// Whatever a plugin makes of a request the host refused (here, a Rust
/// plugin that returns the SDK's `capability-denied`, and one that crashes
/// instead), the error names the origin and the command that grants it.
#[test]
fn a_refused_request_is_named_with_the_grant_that_allows_it() {
    let server = Server::start(|_| Response::new(200, "text/plain", "secret"));
    let grant = format!("authhost plugins grant testkit http:{}", server.url());
    for (mode, says) in [
        ("http", "capability denied: `http:"),
        ("http-or-crash", "crashed"),
    ] {
        let home = kit_home(
            &format!("mode = \"{mode}\"\nurl = \"{}/x\"", server.url()),
            &[],
        );
        let out = home.run(&["token", "kit"]);
        assert_fails_with(&out, says);
        assert_fails_with(&out, &format!("to allow it: `{grant}`"));
    }
    let home = kit_home(
        &format!("mode = \"http-or-crash\"\nurl = \"{}/x\"", server.url()),
        &[format!("http:{}", server.url())],
    );
    assert_eq!(stdout(&home.run(&["token", "kit"])), "200 secret\n");
    assert_eq!(server.connections(), 1);
}

/// `token kit` (an HTTP GET of `url`) with `vars` set.
fn run_with(home: &Home, vars: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = home.cmd();
    cmd.args(["token", "kit"]).envs(vars.iter().copied());
    cmd.output().unwrap()
}

#[test]
fn https_goes_through_the_proxy_in_a_tunnel_and_trusts_ssl_cert_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::tls::TlsServer::start(dir.path(), "tunnelled");
    let proxy = support::proxy::Proxy::start(None);
    let home = kit_home(
        &format!("mode = \"http\"\nurl = \"{}/x\"", server.url()),
        &[format!("http:{}", server.url())],
    );
    let ca = server.ca().to_str().unwrap();
    let out = run_with(
        &home,
        &[("HTTPS_PROXY", &proxy.url()), ("SSL_CERT_FILE", ca)],
    );
    assert_success(&out);
    assert_eq!(stdout(&out), "200 tunnelled\n");
    let asked = proxy.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].method, "CONNECT");
    assert_eq!(asked[0].target, server.authority());
    assert_eq!(server.wait_for_requests(1), 1);

    // The lowercase name works too; without the test CA the server's
    // certificate is not trusted (the tunnel is opened, TLS fails).
    let out = run_with(&home, &[("https_proxy", &proxy.url())]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert_eq!(proxy.asked().len(), 2);
    assert_eq!(server.requests(), 1);
}

#[test]
fn no_proxy_sends_the_request_directly() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::tls::TlsServer::start(dir.path(), "direct");
    let proxy = support::proxy::Proxy::start(None);
    let home = kit_home(
        &format!("mode = \"http\"\nurl = \"{}/x\"", server.url()),
        &[format!("http:{}", server.url())],
    );
    let ca = server.ca().to_str().unwrap();
    let port = server.authority().rsplit(':').next().unwrap().to_owned();
    for no_proxy in [
        "example.com, 127.0.0.1".to_owned(),
        format!("127.0.0.1:{port}"),
        "*".to_owned(),
    ] {
        let out = run_with(
            &home,
            &[
                ("HTTPS_PROXY", &proxy.url()),
                ("NO_PROXY", &no_proxy),
                ("SSL_CERT_FILE", ca),
            ],
        );
        assert_eq!(stdout(&out), "200 direct\n", "{no_proxy}: {}", stderr(&out));
    }
    assert_eq!(proxy.asked(), vec![]);
    assert_eq!(server.wait_for_requests(3), 3);

    // An entry for another port does not cover the server.
    let out = run_with(
        &home,
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("no_proxy", "127.0.0.1:1"),
            ("SSL_CERT_FILE", ca),
        ],
    );
    assert_eq!(stdout(&out), "200 direct\n", "{}", stderr(&out));
    assert_eq!(proxy.asked().len(), 1);
}

#[test]
fn a_proxy_does_not_widen_the_grants() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::tls::TlsServer::start(dir.path(), "secret");
    let allowed = Server::start(|_| Response::new(200, "text/plain", "allowed"));
    let proxy = support::proxy::Proxy::start(None);
    let home = kit_home(
        &format!(
            "mode = \"http\"\nurl = \"{}/x\"\nrequests = [\"http:{}\", \"http:{}\"]",
            server.url(),
            server.url(),
            allowed.url()
        ),
        &[format!("http:{}", allowed.url())],
    );
    let ca = server.ca().to_str().unwrap();
    let out = run_with(
        &home,
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("HTTP_PROXY", &proxy.url()),
            ("SSL_CERT_FILE", ca),
        ],
    );
    assert_fails_with(&out, "capability denied");
    assert_eq!(proxy.asked(), vec![]);
    assert_eq!(server.requests(), 0);
}

#[test]
fn plain_http_goes_to_the_proxy_in_absolute_form_with_its_credentials() {
    use base64::Engine as _;
    let server = Server::start(|request| {
        assert!(request.header("proxy-authorization").is_none());
        Response::new(200, "text/plain", "proxied")
    });
    let basic = base64::engine::general_purpose::STANDARD.encode("user:pa ss");
    let proxy = support::proxy::Proxy::start(Some(format!("Basic {basic}")));
    let home = kit_home(
        &format!("mode = \"http\"\nurl = \"{}/x?q=1\"", server.url()),
        &[format!("http:{}", server.url())],
    );
    let with_credentials = proxy.url().replace("http://", "http://user:pa%20ss@");
    let out = run_with(
        &home,
        &[("http_proxy", &with_credentials), ("AUTHHOST_LOG", "trace")],
    );
    assert_success(&out);
    assert_eq!(stdout(&out), "200 proxied\n");
    let asked = proxy.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].method, "GET");
    assert_eq!(asked[0].target, format!("{}/x?q=1", server.url()));
    assert_eq!(asked[0].authorization, Some(format!("Basic {basic}")));
    let log = stderr(&out);
    assert!(
        !log.contains("pa ss") && !log.contains("pa%20ss") && !log.contains(&basic),
        "{log}"
    );

    // Wrong credentials: the proxy's 407 is what the plugin gets.
    let wrong = proxy.url().replace("http://", "http://user:wrong@");
    let out = run_with(&home, &[("HTTP_PROXY", &wrong)]);
    assert!(
        stdout(&out).starts_with("407"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(proxy.asked().len(), 2);
}
