//! The table of exit codes, as `authhost --help` and the README show it,
//! walked through the real binary: each code is what the commands give.

use crate::support;

use std::process::Output;

use support::pty::{Step, run_at_terminal};
use support::{Home, stderr, stdout};

/// The codes of the table after `Exit codes:` in `authhost --help`.
fn table_in_help(home: &Home) -> Vec<i32> {
    let help = stdout(&home.run(&["--help"]));
    let table = help
        .split("Exit codes:")
        .nth(1)
        .unwrap_or_else(|| panic!("no exit codes in --help:\n{help}"));
    table
        .lines()
        .filter_map(|line| {
            line.strip_prefix("  ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// Asserts that `out` ended with `code`.
#[track_caller]
fn assert_code(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn every_code_of_the_table_is_what_the_commands_give() {
    let home = Home::new();
    let codes = table_in_help(&home);
    assert_eq!(codes, [0, 1, 2, 4, 130]);
    let readme = std::fs::read_to_string(support::workspace_root().join("README.md")).unwrap();
    for code in &codes {
        assert!(
            readme.contains(&format!("\n| {code} | ")),
            "exit code {code} is not in the README's table"
        );
    }

    // 0: success.
    assert_code(&home.run(&["paths"]), 0, "paths");
    assert_code(&home.run(&["list", "--all"]), 0, "list --all");

    // 2: usage errors, for every command: an unknown option; and an
    // unknown command, a missing argument, an unknown provider.
    let commands = [
        "login",
        "logout",
        "list",
        "status",
        "token",
        "exec",
        "plugins",
        "store",
        "git-credential",
        "paths",
        "completions",
        "man",
    ];
    for command in commands {
        let out = home.run(&[command, "--no-such-option"]);
        assert_code(&out, 2, command);
    }
    assert_code(&home.run(&["frobnicate"]), 2, "an unknown command");
    assert_code(&home.run(&["token"]), 2, "a missing provider");
    assert_code(
        &home.run(&["login"]),
        2,
        "login without a provider or terminal",
    );
    for args in [
        &["token", "groqq"][..],
        &["login", "groqq"][..],
        &["logout", "groqq"][..],
        &["status", "groqq"][..],
        &["exec", "--env", "groqq", "--", "true"][..],
    ] {
        let out = home.run(args);
        assert_code(&out, 2, &format!("{args:?}"));
        assert!(
            stderr(&out).contains("did you mean `groq`?"),
            "{}",
            stderr(&out)
        );
    }

    // 4: login needed.
    let out = home.run(&["token", "groq"]);
    assert_code(&out, 4, "token with nothing stored");

    // 1: an error, and a question answered "no".
    home.write_config("[providers.openrouter]\nbase_urll = \"https://openrouter.ai\"\n");
    assert_code(
        &home.run(&["token", "openrouter"]),
        1,
        "a typo in config.toml",
    );
    home.write_config("");
    let out = home.run_with_stdin(&["login", "groq", "--method", "api-key"], "gsk_first\n");
    assert_code(&out, 0, "login");
    let steps = [Step::Expect("Replace it? [y/N] "), Step::Send("n\n")];
    let out = run_at_terminal(&home, &["login", "groq"], &steps, 60);
    assert_code(&out, 1, "\"no\" to replacing a key");
    assert_eq!(stdout(&home.run(&["token", "groq"])), "gsk_first\n");

    // 130: Ctrl-C.
    let steps = [
        Step::Expect("Replace it? [y/N] "),
        Step::Send("y\n"),
        Step::Expect("API key for Groq: "),
        Step::Send("\u{3}"),
    ];
    let out = run_at_terminal(&home, &["login", "groq"], &steps, 60);
    assert_code(&out, 130, "Ctrl-C at the key prompt");
    assert_eq!(stdout(&home.run(&["token", "groq"])), "gsk_first\n");

    // `exec` gives its command's code once the command runs.
    let out = home.run(&["exec", "--env", "groq", "--", "sh", "-c", "exit 7"]);
    assert_code(&out, 7, "exec's command");
}
