//! The capability grammar, the grant question and the granter.

use super::*;

fn cap(s: &str) -> Capability {
    s.parse().unwrap()
}

#[test]
fn parses_and_prints_canonically() {
    for s in [
        "process",
        "process:op",
        "process:/usr/bin/op",
        "loopback",
        "loopback:3000",
        "browser",
        "prompt",
        "http:https://api.acme.example",
        "http:http://127.0.0.1:8080",
        "http:https://*.acme.example",
    ] {
        assert_eq!(cap(s).to_string(), s);
    }
    assert_eq!(
        cap("http:https://API.acme.example:443/").to_string(),
        "http:https://api.acme.example"
    );
}

#[test]
fn rejects_broad_or_malformed_grants() {
    for s in [
        "http:*",
        "http:https://*",
        "http:https://*.com",
        "http:https://a.*.com",
        "http:ftp://x.example",
        "http:https://x.example/path",
        "loopback:0",
        "process:bin/sh",
        "process:./op",
        "process:/usr/../bin/sh",
        "process:/usr/bin/o p",
        "process:..",
        "process:",
        "network",
        "browser:x",
    ] {
        assert!(s.parse::<Capability>().is_err(), "{s} parsed");
    }
    let err = "http:https://*"
        .parse::<Capability>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("too broad"), "{err}");
}

#[test]
fn hosts_are_dns_names_or_ip_addresses() {
    for (text, canonical) in [
        (
            "http:https://Bücher.example",
            "http:https://xn--bcher-kva.example",
        ),
        ("http:http://[::1]:8080", "http:http://[::1]:8080"),
        ("http:http://127.1", "http:http://127.0.0.1"),
        (
            "http:https://*.Bücher.example",
            "http:https://*.xn--bcher-kva.example",
        ),
    ] {
        assert_eq!(cap(text).to_string(), canonical, "{text}");
    }
    for bad in [
        "http:https://\u{1b}]0;title\u{7}.example",
        "http:https://a.example\r\u{1b}[2Kprompt",
        "http:https://a b.example",
        "http:https://a\u{8}.example",
        "http:https://a%2A.example",
        "http:https://a%00.example",
        "http:https://*.127.0.0.1",
        "http:https://a\u{202e}.example",
        "process:op\u{202e}",
        "process:\u{2066}op",
    ] {
        let err = bad.parse::<Capability>().unwrap_err().to_string();
        assert!(!crate::sanitize::has_unsafe(&err), "{bad:?}: {err:?}");
    }
}

#[test]
fn the_grant_question_lists_each_capability_with_its_meaning() {
    let question = grant_question(
        "acme",
        Some("work"),
        &[
            cap("process"),
            cap("prompt"),
            cap("http:https://api.acme.example"),
        ],
    );
    assert_eq!(
        question,
        "Plugin acme asks for these capabilities to log in to work:\n\
         \x20 ! process                        run any program on this computer as you\n\
         \x20   prompt                         ask you questions at this terminal\n\
         \x20   http:https://api.acme.example  send HTTP requests to https://api.acme.example\n\
         \x20 (! gives the plugin your own rights on this computer: grant it only to code you trust)\n\
         Grant all 3 to acme?"
    );
    let one = grant_question("x\u{1b}[2J", None, &[cap("browser")]);
    assert!(
        one.lines().all(|line| !crate::sanitize::has_unsafe(line)),
        "{one:?}"
    );
    assert!(one.ends_with("Grant it to x\\u{1b}[2J?"), "{one}");
}

#[test]
fn option_templates_parse_and_print() {
    for s in [
        "http:{base_url}",
        "http:{base_url=https://openrouter.ai}",
        "prompt",
    ] {
        assert_eq!(s.parse::<Request>().unwrap().to_string(), s);
    }
    assert_eq!(
        "http:{issuer=https://login.example.com/tenant/x}"
            .parse::<Request>()
            .unwrap()
            .to_string(),
        "http:{issuer=https://login.example.com}"
    );
    for bad in [
        "http:{}",
        "http:{Base}",
        "http:{a b}",
        "http:{x=ftp://a.example}",
        "http:{x=nope}",
    ] {
        assert!(bad.parse::<Request>().is_err(), "{bad} parsed");
    }
}

#[test]
fn effective_is_requested_and_granted() {
    let requested = [
        cap("browser"),
        cap("process:op"),
        cap("http:https://api.acme.example"),
        cap("prompt"),
    ];
    let granted = [
        cap("process"),
        cap("http:https://*.acme.example"),
        cap("prompt"),
    ];
    assert_eq!(
        effective(&requested, &granted),
        vec![
            cap("process:op"),
            cap("http:https://api.acme.example"),
            cap("prompt")
        ]
    );
    // A grant narrower than the request narrows it.
    assert_eq!(
        effective(
            &[
                cap("loopback"),
                cap("process"),
                cap("http:https://*.acme.example")
            ],
            &[
                cap("loopback:3000"),
                cap("process:op"),
                cap("http:https://api.acme.example")
            ]
        ),
        vec![
            cap("loopback:3000"),
            cap("process:op"),
            cap("http:https://api.acme.example")
        ]
    );
}

#[test]
fn granter_checks_each_use() {
    let g = Granter::new(
        "acme",
        &[
            cap("process:op"),
            cap("loopback:3000"),
            cap("http:https://*.acme.example"),
        ],
        &[
            cap("process:op"),
            cap("loopback"),
            cap("http:https://*.acme.example"),
        ],
    );
    assert!(g.check(Use::Process { program: "op" }).is_ok());
    let denied = g.check(Use::Process { program: "sh" }).unwrap_err();
    assert_eq!(denied.capability, "process:sh");
    // A path is not the name: `process:op` does not run another `op`.
    for decoy in ["/tmp/x/op", "./op", "bin/op"] {
        let denied = g.check(Use::Process { program: decoy }).unwrap_err();
        assert_eq!(denied.capability, format!("process:{decoy}"));
    }
    let exact = Granter::new("acme", &[cap("process")], &[cap("process:/opt/op/op")]);
    assert!(
        exact
            .check(Use::Process {
                program: "/opt/op/op"
            })
            .is_ok()
    );
    assert!(exact.check(Use::Process { program: "op" }).is_err());
    assert!(
        exact
            .check(Use::Process {
                program: "/opt/op/op2"
            })
            .is_err()
    );
    assert!(g.check(Use::Loopback { port: Some(3000) }).is_ok());
    assert!(g.check(Use::Loopback { port: None }).is_err());
    assert!(g.check(Use::Browser).is_err());
    let http = |scheme, host, port| Use::Http { scheme, host, port };
    assert!(g.check(http("https", "api.acme.example", 443)).is_ok());
    assert!(g.check(http("https", "API.ACME.EXAMPLE.", 443)).is_ok());
    assert!(g.check(http("https", "acme.example", 443)).is_err());
    assert!(g.check(http("http", "api.acme.example", 80)).is_err());
    assert!(g.check(http("https", "api.acme.example", 8443)).is_err());
    assert!(g.check(http("https", "evilacme.example", 443)).is_err());
    let sock = |a: &str, bind| Use::Socket {
        addr: a.parse().unwrap(),
        bind,
    };
    assert!(g.check(sock("127.0.0.1:3000", true)).is_ok());
    assert!(g.check(sock("0.0.0.0:3000", true)).is_err());
    assert!(g.check(sock("127.0.0.1:3001", true)).is_err());
    assert!(g.check(sock("127.0.0.1:3000", false)).is_err());
    assert!(Granter::deny_all("x").check(Use::Prompt).is_err());
}
