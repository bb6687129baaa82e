//! Provider names at a real terminal: the picker of `authhost login`
//! filters as you type (arrow keys, Enter, a did-you-mean for a typo), and
//! bash completes provider names through the script `authhost completions
//! bash` prints. The screen is emulated by pyte, as a person sees it.

use crate::support;

use support::pty::{Step, run_command_at_terminal, run_command_at_terminal_screens};
use support::{Home, authhost_bin, stdout};

/// `authhost ARGS` at a terminal that can move the cursor.
fn at_xterm(args: &[&str]) -> Vec<String> {
    let mut command = vec![
        "env".to_owned(),
        "TERM=xterm-256color".to_owned(),
        authhost_bin().to_owned(),
    ];
    command.extend(args.iter().map(|a| (*a).to_owned()));
    command
}

fn shows(screen: &[String], text: &str) -> bool {
    screen.iter().any(|line| line.contains(text))
}

#[test]
fn the_picker_filters_as_you_type_and_names_the_closest_on_a_typo() {
    let home = Home::new();
    let command = at_xterm(&["login"]);
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let steps = [
        Step::Screen("Provider to log in to:"),
        Step::Send("gro"),
        Step::Screen("to log in to: gro"),
        Step::Send("\u{7f}\u{7f}\u{7f}antrhopic"),
        Step::Screen("did you mean"),
        Step::Send("\r"),
        Step::Expect("API key for Anthropic: "),
        Step::Send("sk-ant-picked\r"),
        Step::Expect("Logged in to anthropic"),
    ];
    let (out, screens) = run_command_at_terminal_screens(&home, &command, &steps, 60);
    let transcript = stdout(&out);
    assert!(out.status.success(), "{transcript}\n{screens:#?}");
    assert_eq!(screens.len(), 3, "{screens:#?}");
    // The whole list at first, then only what matches, with no Enter.
    assert!(
        shows(&screens[0], "anthropic") && shows(&screens[0], "groq"),
        "{:#?}",
        screens[0]
    );
    assert!(shows(&screens[1], "groq"), "{:#?}", screens[1]);
    assert!(!shows(&screens[1], "anthropic"), "{:#?}", screens[1]);
    // A typo that matches nothing: the closest name, said so.
    assert!(
        shows(&screens[2], "did you mean `anthropic`?"),
        "{:#?}",
        screens[2]
    );
    assert!(!transcript.contains("sk-ant-picked"), "the key was echoed");
    assert_eq!(home.store_json()["anthropic"]["key"], "sk-ant-picked");
}

#[test]
fn the_picker_moves_with_the_arrow_keys() {
    let home = Home::new();
    let command = at_xterm(&["login"]);
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let steps = [
        Step::Expect("Provider to log in to:"),
        // Down twice, up once: the second of the list (cerebras).
        Step::Send("\u{1b}[B"),
        Step::Send("\u{1b}[B"),
        Step::Send("\u{1b}[A"),
        Step::Send("\r"),
        Step::Expect("API key for Cerebras: "),
        Step::Send("\u{3}"),
    ];
    let out = run_command_at_terminal(&home, &command, &steps, 60);
    assert_eq!(out.status.code(), Some(130), "{}", stdout(&out));
    assert_eq!(home.store_json(), serde_json::Value::Null);
}

#[test]
fn bash_completes_provider_names_from_the_catalog_config_and_store() {
    let home = Home::with_config("[providers.workhorse]\nplugin = \"api-key\"\n");
    let out = home.run_with_stdin(&["login", "groq", "--method", "api-key"], "gsk_1\n");
    assert!(out.status.success());
    std::fs::write(
        home.path().join("rc.bash"),
        format!(
            "PS1='$ '\nPATH={}:$PATH\nsource <(authhost completions bash)\n",
            std::path::Path::new(authhost_bin())
                .parent()
                .unwrap()
                .display()
        ),
    )
    .unwrap();
    let rc = home.path().join("rc.bash").display().to_string();
    let command = ["bash", "--noprofile", "--rcfile", rc.as_str(), "-i"];
    let steps = [
        Step::Expect("$ "),
        // The catalog's.
        Step::Send("authhost token an\t"),
        Step::Expect("authhost token anthropic"),
        Step::Send("\u{15}"),
        // The configured one, as `exec --env`'s value.
        Step::Send("authhost exec --env work\t"),
        Step::Expect("--env workhorse"),
        Step::Send("\u{15}exit\r"),
    ];
    let out = run_command_at_terminal(&home, &command, &steps, 60);
    let transcript = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{transcript}");
    assert!(
        transcript.contains("authhost token anthropic"),
        "{transcript}"
    );
    assert!(transcript.contains("--env workhorse"), "{transcript}");
}

#[test]
fn zsh_and_fish_get_a_registration_too() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = home.run(&["completions", shell]);
        assert!(out.status.success());
        let script = stdout(&out);
        assert!(script.contains("AUTHHOST_COMPLETE"), "{shell}: {script}");
        assert!(script.contains(authhost_bin()), "{shell}: {script}");
    }
    // The completer itself answers with the providers.
    let out = home
        .cmd()
        .env("AUTHHOST_COMPLETE", "fish")
        .args(["--", "authhost", "token", "gr"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stdout(&out).lines().any(|l| l.starts_with("groq")),
        "{}",
        stdout(&out)
    );
    let out = home
        .cmd()
        .env("AUTHHOST_COMPLETE", "fish")
        .args(["--", "authhost", "exec", "--env", "MY_KEY=gr"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).lines().any(|l| l.starts_with("MY_KEY=groq")),
        "{}",
        stdout(&out)
    );
}
