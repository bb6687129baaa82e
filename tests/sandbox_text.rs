//! A hostile plugin (`tests/fixtures/hostile-text`) with no grant tries to
//! write raw escape sequences to the terminal through every channel a
//! plugin has, to act while describing itself, to hold every command up,
//! and to take another plugin's id or grants.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use support::pty::{Step, run_at_terminal_screens};
use support::{
    Home, assert_fails_with, assert_success, stderr, stdout, testkit_home, workspace_component,
};

/// The hostile component with its `ID` and `VARIANT` markers rewritten.
fn hostile(id: &str, variant: &str) -> Vec<u8> {
    let bytes = std::fs::read(workspace_component("hostile-text")).unwrap();
    let bytes = rewrite(&bytes, "hostile-aaaa", id);
    rewrite(
        &bytes,
        "variant:plain___",
        &format!("variant:{variant:_<8}"),
    )
}

fn rewrite(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "{to}");
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = bytes.to_vec();
    let mut found = 0;
    for i in 0..bytes.len().saturating_sub(from.len()) {
        if &bytes[i..i + from.len()] == from {
            out[i..i + to.len()].copy_from_slice(to);
            found += 1;
        }
    }
    assert!(
        found > 0,
        "marker {} not found",
        String::from_utf8_lossy(from)
    );
    out
}

fn install(home: &Home, file: &str, bytes: &[u8]) -> PathBuf {
    let path = home.plugins_dir().join(file);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Both streams of `out`, checked: nothing a terminal would act on, no line
/// that starts like authhost's own error, and a bounded size.
#[track_caller]
fn assert_neutralised(what: &str, out: &Output) -> String {
    let both = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
    let text = String::from_utf8_lossy(&both).into_owned();
    for (bad, name) in [
        ('\u{1b}', "ESC"),
        ('\u{7}', "BEL"),
        ('\r', "CR"),
        ('\u{9b}', "CSI"),
        ('\u{202e}', "RLO"),
    ] {
        assert!(!text.contains(bad), "{what}: raw {name} in output:\n{text}");
    }
    assert!(
        !text.lines().any(|l| l.starts_with("error: authhost: run")),
        "{what}: a forged line:\n{text}"
    );
    assert!(
        both.len() < 1 << 20,
        "{what}: {} bytes of output",
        both.len()
    );
    text
}

fn hostile_home(config: &str) -> Home {
    let home = Home::with_config(config);
    install(&home, "hostile.wasm", &hostile("hostile-aaaa", "plain"));
    home
}

#[test]
fn plugin_text_reaches_the_terminal_only_neutralised_and_attributed() {
    let home = hostile_home(
        "[providers.h]\nplugin = \"hostile-aaaa\"\n\n[providers.p]\nplugin = \"hostile-aaaa\"\nmode = \"prompt\"\n\n[plugins.hostile-aaaa]\ngrant = [\"prompt\"]\n",
    );
    let path = home.plugins_dir().join("hostile.wasm");
    let runs: Vec<(&str, Output)> = vec![
        ("plugins list", home.run(&["plugins", "list"])),
        (
            "plugins list --json",
            home.run(&["plugins", "list", "--json"]),
        ),
        (
            "plugins inspect",
            home.run(&["plugins", "inspect", path.to_str().unwrap()]),
        ),
        ("list", home.run(&["list"])),
        ("token", home.run(&["token", "h"])),
        ("-vv token", home.run(&["-vv", "token", "h"])),
        ("login", home.run(&["login", "h", "--method", "login"])),
        (
            "login with a prompt",
            home.run_with_stdin(&["login", "p", "--method", "login"], "my answer\n"),
        ),
    ];
    for (what, out) in &runs {
        assert_neutralised(what, out);
    }
    // The 32 MiB error is cut, and says whose it is.
    let token = stderr(&runs[4].1);
    assert!(token.contains("error: h: "), "{token}");
    assert!(token.contains('…'), "{token}");
    // Messages of a folder plugin are attributed to it.
    let login = stderr(&runs[6].1);
    assert!(login.contains("[hostile-aaaa] "), "{login}");
    // The inspection shows the texts escaped, not dropped.
    let inspect = stdout(&runs[2].1);
    assert!(inspect.contains("Hostile\\u{1b}[2J"), "{inspect}");
    // The plugin's log line (a warning, so shown without -v) is one line,
    // its line breaks escaped; a message of several lines is shown line by
    // line, each attributed.
    let logged: Vec<&str> = login.lines().filter(|l| l.contains("plugin=")).collect();
    assert!(!logged.is_empty(), "{login}");
    assert!(logged.iter().all(|l| l.contains("\\n")), "{login}");
    assert!(
        login
            .lines()
            .filter(|l| l.contains("authhost plugins grant hostile"))
            .all(|l| {
                l.contains("plugin=")
                    || l.starts_with("[hostile-aaaa] ")
                    || l.starts_with("error: h: the plugin reports")
            }),
        "{login}"
    );
}

#[test]
fn a_claimed_denial_does_not_speak_for_authhost() {
    let home = hostile_home("[providers.c]\nplugin = \"hostile-aaaa\"\nmode = \"claim\"\n");
    let out = home.run(&["token", "c"]);
    let err = assert_neutralised("claim", &out);
    assert!(!out.status.success());
    assert!(err.contains("the plugin reports that `process:op"), "{err}");
    assert!(!err.contains("capability denied: `process:op"), "{err}");
}

#[test]
fn describe_gets_nothing_from_its_imports() {
    let home = Home::with_config(
        "[providers.hostile-aaaa]\nsecret_option = \"sk-config-canary\"\n\n[plugins.hostile-aaaa]\ngrant = [\"process\", \"loopback\"]\n",
    );
    let marker = Path::new("/tmp/authhost-describe-ran");
    let _ = std::fs::remove_file(marker);
    let path = install(&home, "imports.wasm", &hostile("hostile-aaaa", "imports"));
    for out in [
        home.run(&["plugins", "inspect", path.to_str().unwrap()]),
        home.run(&["plugins", "list", "--json"]),
        home.run(&["list"]),
    ] {
        let text = assert_neutralised("describe", &out);
        assert_success(&out);
        assert!(!text.contains("sk-config-canary"), "{text}");
        // Messages and log lines from `describe` are dropped (the forged
        // text is part of the plugin's name on stdout, escaped, but never a
        // line of its own on stderr).
        assert!(
            !stderr(&out).contains("authhost plugins grant hostile"),
            "{text}"
        );
    }
    let inspect = stdout(&home.run(&["plugins", "inspect", path.to_str().unwrap()]));
    assert!(inspect.contains("config={} name=\"\""), "{inspect}");
    assert!(inspect.contains("run=Error::CapabilityDenied"), "{inspect}");
    assert!(
        inspect.contains("bind=Error::CapabilityDenied"),
        "{inspect}"
    );
    assert!(!marker.exists(), "describe ran a program");
}

#[test]
fn a_slow_or_crashing_describe_holds_up_nothing() {
    let home = Home::with_config(
        "[providers.helper]\nplugin = \"shell-helper\"\ncommand = \"echo helper-key\"\n",
    );
    install(&home, "a-sleepy.wasm", &hostile("hostile-aaaa", "sleep"));
    install(&home, "b-sleepy.wasm", &hostile("hostile-bbbb", "sleep"));
    install(&home, "c-crashy.wasm", &hostile("hostile-cccc", "trap"));
    let started = Instant::now();
    let out = home.run(&["plugins", "list"]);
    // Each `describe` would wait 30 s; it is stopped well before.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let text = assert_neutralised("slow", &out);
    assert!(text.contains("describe_timeout_ms"), "{text}");
    let crashed = text.lines().find(|l| l.contains("c-crashy.wasm")).unwrap();
    assert!(crashed.contains("crashed"), "{crashed}");
    // A built-in provider never waits on the folder.
    let out = home.run(&["token", "helper"]);
    assert_eq!(stdout(&out), "helper-key\n");
}

#[test]
fn a_folder_provider_the_index_knows_reads_no_other_file() {
    let home = testkit_home("[providers.kit]\nplugin = \"testkit\"\nkey = \"sk-kit\"\n");
    let other = install(&home, "other.wasm", &hostile("hostile-bbbb", "plain"));
    assert_success(&home.run(&["plugins", "list"]));
    // Since the folder was indexed: a file whose `describe` hangs, a file
    // that is no component, and an indexed file replaced by a FIFO.
    install(&home, "a-sleepy.wasm", &hostile("hostile-aaaa", "sleep"));
    install(&home, "c-broken.wasm", b"not a component");
    std::fs::remove_file(&other).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&other)
            .status()
            .unwrap()
            .success()
    );
    let out = home.run(&["-v", "token", "kit"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-kit\n");
    // None of them was opened or described: a scan would have warned about
    // each, and recorded the new ones in the index.
    for file in ["a-sleepy.wasm", "c-broken.wasm", "other.wasm"] {
        assert!(!stderr(&out).contains(file), "{file}: {}", stderr(&out));
    }
    let index = std::fs::read_to_string(home.path().join("cache/plugins.json")).unwrap();
    assert!(
        !index.contains("a-sleepy.wasm") && !index.contains("c-broken.wasm"),
        "{index}"
    );

    // A command that lists the folder describes what changed.
    std::fs::remove_file(home.plugins_dir().join("a-sleepy.wasm")).unwrap();
    let out = home.run(&["plugins", "list"]);
    assert!(stdout(&out).contains("c-broken.wasm"), "{}", stdout(&out));
    assert!(stderr(&out).contains("other.wasm"), "{}", stderr(&out));

    // The kit's own file changed: the folder is scanned, and the new
    // contents used.
    let kit = home.plugins_dir().join("testkit.wasm");
    let bytes = std::fs::read(&kit).unwrap();
    std::fs::remove_file(&kit).unwrap();
    std::fs::write(&kit, bytes).unwrap();
    let out = home.run(&["token", "kit"]);
    assert_eq!(stdout(&out), "sk-kit\n", "{}", stderr(&out));
}

#[test]
fn two_files_with_one_id_are_both_refused() {
    let home = Home::with_config(
        "[providers.acme]\nplugin = \"hostile-aaaa\"\napi_secret = \"sk-acme-option\"\n\n[plugins.hostile-aaaa]\ngrant = [\"prompt\"]\n",
    );
    install(
        &home,
        "aaa-cool-tool.wasm",
        &hostile("hostile-aaaa", "plain"),
    );
    install(&home, "zzz-acme.wasm", &hostile("hostile-aaaa", "imports"));
    let out = home.run(&["plugins", "list"]);
    let text = assert_neutralised("duplicates", &out);
    for file in ["aaa-cool-tool.wasm", "zzz-acme.wasm"] {
        let line = text.lines().find(|l| l.starts_with(file)).unwrap();
        assert!(line.contains("is claimed by"), "{line}");
    }
    let out = home.run(&["token", "acme"]);
    assert_fails_with(&out, "not installed");
}

#[test]
fn look_alike_ids_are_refused() {
    let home = Home::new();
    install(&home, "real.wasm", &hostile("hostile-aaaa", "plain"));
    install(&home, "fake.wasm", &hostile("Hostile-aaaa", "plain"));
    let text = assert_neutralised("look-alike", &home.run(&["plugins", "list"]));
    let line = text.lines().find(|l| l.starts_with("fake.wasm")).unwrap();
    assert!(line.contains("not a valid id"), "{line}");
    assert!(
        text.lines().any(|l| l.starts_with("hostile-aaaa")),
        "{text}"
    );
}

#[test]
fn grants_do_not_pass_to_a_changed_file() {
    let home = Home::with_config("[providers.p]\nplugin = \"hostile-aaaa\"\nmode = \"prompt\"\n");
    let path = install(&home, "hostile.wasm", &hostile("hostile-aaaa", "plain"));
    assert_success(&home.run(&["plugins", "grant", "hostile-aaaa", "prompt"]));
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(config.contains("sha256 = \""), "{config}");
    // Granted: the prompt is shown.
    let out = home.run_with_stdin(&["login", "p"], "an answer\n");
    assert!(stderr(&out).contains("wrong answer"), "{}", stderr(&out));

    // Another build under the same name and id does not inherit the grant.
    std::fs::write(&path, hostile("hostile-aaaa", "imports")).unwrap();
    let listed = stdout(&home.run(&["plugins", "list"]));
    assert!(listed.contains("grants suspended"), "{listed}");
    let out = home.run_with_stdin(&["login", "p"], "an answer\n");
    assert_fails_with(&out, "capability denied: `prompt`");

    // Granting again binds the grant to the new build, and says so.
    let out = home.run(&["plugins", "grant", "hostile-aaaa", "prompt"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("to the current build of hostile-aaaa"),
        "{}",
        stderr(&out)
    );
    let listed = stdout(&home.run(&["plugins", "list"]));
    assert!(!listed.contains("grants suspended"), "{listed}");
    let out = home.run(&["plugins", "grant", "hostile-aaaa", "prompt"]);
    assert!(
        stderr(&out).contains("already had those grants"),
        "{}",
        stderr(&out)
    );
}

/// The lines of the grant question on `screen`: each capability with its
/// mark (`!` for a dangerous one), then the question itself.
fn grant_question_on(screen: &[String]) -> (Vec<(bool, String)>, String) {
    let start = screen
        .iter()
        .position(|l| l.contains("asks for these capabilities"))
        .unwrap_or_else(|| panic!("no grant question on the screen:\n{}", screen.join("\n")));
    let mut listed = Vec::new();
    for line in &screen[start + 1..] {
        if let Some(question) = line.strip_prefix("Grant ") {
            return (listed, question.to_owned());
        }
        if line.starts_with("  (!") {
            continue;
        }
        let (mark, rest) = line
            .strip_prefix("  ")
            .and_then(|l| l.split_at_checked(1))
            .unwrap_or_else(|| panic!("not a capability line: {line:?}"));
        let name = rest.trim_start().split(' ').next().unwrap().to_owned();
        listed.push((mark == "!", name));
    }
    panic!("the question has no last line:\n{}", screen.join("\n"));
}

/// The `grant = [...]` of `[plugins.ID]` in the home's config.toml.
fn grants_in_config(home: &Home) -> String {
    std::fs::read_to_string(home.path().join("config.toml"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("grant = "))
        .unwrap_or("")
        .to_owned()
}

/// A plugin with no grant asks for `process` and for an `http:` capability
/// whose text would rewrite the question at a real terminal: the plugin is
/// refused before anything is asked, and the screen shows no question.
#[test]
fn a_capability_that_would_forge_the_grant_question_is_refused() {
    let home = Home::with_config("[providers.h]\nplugin = \"hostile-aaaa\"\n");
    let path = install(&home, "forge.wasm", &hostile("hostile-aaaa", "forge"));
    let (out, screens) = run_at_terminal_screens(
        &home,
        &["login", "h", "--method", "login"],
        &[Step::Screen("error")],
        60,
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    let screen = screens.concat().join("\n");
    assert!(screen.contains("invalid capability"), "{screen}");
    assert_no_question(&screens);
    assert_eq!(grants_in_config(&home), "");
    // Not at a terminal either, and nowhere it is listed.
    for (what, out) in [
        ("plugins list", home.run(&["plugins", "list"])),
        (
            "plugins inspect",
            home.run(&["plugins", "inspect", path.to_str().unwrap()]),
        ),
        ("status", home.run(&["status", "h"])),
        (
            "plugins grant --all-requested",
            home.run(&["plugins", "grant", "hostile-aaaa", "--all-requested"]),
        ),
    ] {
        let text = assert_neutralised(what, &out);
        assert!(
            !text
                .lines()
                .any(|l| l.contains("[y/N]") || l.starts_with("Plugin ")),
            "{what}:\n{text}"
        );
    }
    assert_eq!(grants_in_config(&home), "");
    // `plugins install` refuses the file before it asks anything.
    let source = home.path().join("forge-source.wasm");
    std::fs::rename(&path, &source).unwrap();
    let (out, screens) = run_at_terminal_screens(
        &home,
        &["plugins", "install", source.to_str().unwrap()],
        &[Step::Screen("error")],
        60,
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    assert_no_question(&screens);
    assert_eq!(grants_in_config(&home), "");
}

/// No screen shows a grant question: the forged one's words appear only
/// inside the escaped text of the error, never as lines of their own.
#[track_caller]
fn assert_no_question(screens: &[Vec<String>]) {
    let screen = screens.concat();
    assert!(
        !screen.iter().any(|line| {
            line.contains("[y/N]")
                || line.trim_start().starts_with("Plugin hostile-aaaa asks")
                || line.contains("rant it to") && !line.contains("\\u{")
        }),
        "a question was shown:\n{}",
        screen.join("\n")
    );
}

/// At a real terminal, the grant question offered at login lists each
/// capability on a line of its own with what it allows, `process` marked
/// as dangerous; a yes grants exactly the capabilities shown.
#[test]
fn the_grant_question_shows_exactly_what_is_granted() {
    let home = Home::with_config("[providers.h]\nplugin = \"hostile-aaaa\"\n");
    install(&home, "ask.wasm", &hostile("hostile-aaaa", "askproc"));
    let (out, screens) = run_at_terminal_screens(
        &home,
        &["login", "h", "--method", "login"],
        &[Step::Screen("[y/N]"), Step::Send("y\n")],
        60,
    );
    let screen = screens
        .first()
        .unwrap_or_else(|| panic!("no screen recorded:\n{}", stdout(&out)));
    let (listed, question) = grant_question_on(screen);
    assert_eq!(
        listed,
        [
            (true, "process".to_owned()),
            (false, "prompt".to_owned()),
            (false, "http:https://api.acme.example".to_owned()),
        ],
        "{}",
        screen.join("\n")
    );
    assert_eq!(question, "all 3 to hostile-aaaa? [y/N]");
    let text = screen.join("\n");
    assert!(
        text.contains("process                        run any program on this computer as you"),
        "{text}"
    );
    assert!(
        text.contains("(! gives the plugin your own rights"),
        "{text}"
    );
    // What was shown is what was written.
    assert_eq!(
        grants_in_config(&home),
        "grant = [\"process\", \"prompt\", \"http:https://api.acme.example\"]"
    );
}

/// Provider names come from `auth.json` too, a file other tools write:
/// `list` and `status` show them escaped.
#[test]
fn provider_names_from_the_store_are_shown_escaped() {
    let home = Home::new();
    let name = "evil\u{1b}]0;owned\u{7}\r\nerror: authhost: run `authhost plugins grant hostile process`\u{202e}";
    let store = serde_json::json!({ name: {"type": "api", "key": "sk-name-canary"} });
    std::fs::write(home.store_path(), store.to_string()).unwrap();
    for (what, out) in [
        ("list", home.run(&["list"])),
        ("list --json", home.run(&["list", "--json"])),
        ("status", home.run(&["status"])),
        ("status --json", home.run(&["status", "--json"])),
    ] {
        let text = assert_neutralised(what, &out);
        // Escaped once, and once more as a JSON string.
        assert!(
            text.contains("evil\\u{1b}]0;owned") || text.contains("evil\\\\u{1b}]0;owned"),
            "{what}:\n{text}"
        );
        assert!(!text.contains("sk-name-canary"), "{what}:\n{text}");
    }
}
