//! Working with other tools: `authhost exec` runs a real program with keys
//! in its environment, `[providers.X] env = "VAR"` makes the environment a
//! source, and `authhost token --format json|kube` prints the key with its
//! kind and expiry.

use crate::support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use support::{Home, assert_fails_with, assert_success, stderr, stdout};

fn paste(home: &Home, provider: &str, key: &str) {
    let out = home.run_with_stdin(&["login", provider, "--method", "api-key"], key);
    assert_success(&out);
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn wait_for(file: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !file.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exec_puts_keys_in_the_childs_environment_only() {
    let home = Home::new();
    paste(&home, "anthropic", "sk-ant-api03-exec\n");
    paste(&home, "openai", "sk-proj-exec\n");

    // The provider's own variable (the catalog's).
    let out = home.run(&[
        "exec",
        "--env",
        "anthropic",
        "--",
        "sh",
        "-c",
        "printf %s \"$ANTHROPIC_API_KEY\"",
    ]);
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-ant-api03-exec");

    // A name given explicitly, twice over.
    let out = home.run(&[
        "exec",
        "--env",
        "MY_KEY=anthropic",
        "--env",
        "OTHER=openai",
        "--",
        "sh",
        "-c",
        "printf '%s|%s|%s' \"$MY_KEY\" \"$OTHER\" \"${ANTHROPIC_API_KEY-unset}\"",
    ]);
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-ant-api03-exec|sk-proj-exec|unset");

    // Every provider with a key, each in its own variable.
    let out = home
        .cmd()
        .args(["exec", "--all", "--", "sh", "-c"])
        .arg("printf '%s|%s' \"$ANTHROPIC_API_KEY\" \"$OPENAI_API_KEY\"")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-ant-api03-exec|sk-proj-exec");

    // Standard input is the child's.
    let out = home.run_with_stdin(
        &[
            "exec",
            "--env",
            "anthropic",
            "--",
            "sh",
            "-c",
            "read line; printf '%s/%s' \"$line\" \"$ANTHROPIC_API_KEY\"",
        ],
        "from-stdin\n",
    );
    assert_success(&out);
    assert_eq!(stdout(&out), "from-stdin/sk-ant-api03-exec");

    // The exit code is passed through; no key is left in a file.
    let out = home.run(&["exec", "--env", "anthropic", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let out = home.run(&["exec", "--env", "anthropic", "--", "sh", "-c", "kill -9 $$"]);
    assert_eq!(out.status.code(), Some(128 + 9), "{}", stderr(&out));
    let out = home.run(&[
        "exec",
        "--env",
        "anthropic",
        "--",
        "no-such-program-authhost",
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
}

#[test]
fn exec_stops_before_the_command_when_a_provider_fails() {
    let home = Home::with_config(
        "[providers.work]\nplugin = \"shell-helper\"\ncommand = \"echo sk-work\"\n",
    );
    paste(&home, "anthropic", "sk-ant-api03-exec\n");
    let marker = home.path().join("ran");
    let child = format!("touch '{}'", marker.display());

    // Not logged in: exit 4, naming the provider, and the child never ran.
    let out = home.run(&[
        "exec",
        "--env",
        "anthropic",
        "--env",
        "groq",
        "--",
        "sh",
        "-c",
        &child,
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("`groq`"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("authhost login groq"),
        "{}",
        stderr(&out)
    );
    assert!(!marker.exists());

    // A provider without a variable of its own needs a name.
    let out = home.run(&["exec", "--env", "work", "--", "sh", "-c", &child]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_fails_with(&out, "provider `work` has no environment variable");
    assert!(!marker.exists());
    let out = home.run(&[
        "exec",
        "--env",
        "WORK=work",
        "--",
        "sh",
        "-c",
        "printf %s \"$WORK\"",
    ]);
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-work");

    // An unknown provider is an error too, before anything runs.
    let out = home.run(&["exec", "--env", "X=anthropc", "--", "sh", "-c", &child]);
    assert_fails_with(&out, "did you mean `anthropic`?");
    assert!(!marker.exists());

    // No command, or nothing to set: usage errors.
    assert_eq!(
        home.run(&["exec", "--env", "anthropic"]).status.code(),
        Some(2)
    );
    assert_eq!(home.run(&["exec", "--", "true"]).status.code(), Some(2));
}

#[test]
fn signals_sent_to_authhost_reach_the_child() {
    let home = Home::new();
    paste(&home, "anthropic", "sk-ant-api03-exec\n");
    for (signal, name) in [("TERM", "TERM"), ("INT", "INT")] {
        let ready = home.path().join(format!("ready-{name}"));
        let caught = home.path().join(format!("caught-{name}"));
        let script = format!(
            "trap 'printf %s \"$ANTHROPIC_API_KEY\" > \"{caught}\"; exit 0' {signal}; \
             touch \"{ready}\"; while :; do sleep 0.05; done",
            caught = caught.display(),
            ready = ready.display(),
        );
        let child = home
            .cmd()
            .args(["exec", "--env", "anthropic", "--", "sh", "-c", &script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(&ready);
        let kill = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(&caught).unwrap(),
            "sk-ant-api03-exec"
        );
    }
}

#[test]
fn an_env_variable_is_a_source_ahead_of_the_store() {
    let home = Home::with_config(concat!(
        "[providers.anthropic]\nenv = \"MY_ANTHROPIC\"\n\n",
        "[providers.work]\nplugin = \"shell-helper\"\nenv = \"WORK_KEY\"\ncommand = \"echo sk-from-helper\"\n",
    ));
    paste(&home, "anthropic", "sk-ant-api03-stored\n");

    // `env` is the host's key, not an unknown option of the plugins.
    let out = home
        .cmd()
        .args(["token", "anthropic"])
        .env_remove("MY_ANTHROPIC")
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-ant-api03-stored\n");
    let out = home
        .cmd()
        .args(["token", "work"])
        .env_remove("WORK_KEY")
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-from-helper\n");
    // An empty variable does not count.
    let out = home
        .cmd()
        .args(["token", "anthropic"])
        .env("MY_ANTHROPIC", "")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "sk-ant-api03-stored\n");

    // Set, it wins over the stored key and the helper.
    let with_env = |args: &[&str]| {
        home.cmd()
            .args(args)
            .env("MY_ANTHROPIC", "sk-ant-from-env")
            .env("WORK_KEY", "sk-work-from-env")
            .output()
            .unwrap()
    };
    assert_eq!(
        stdout(&with_env(&["token", "anthropic"])),
        "sk-ant-from-env\n"
    );
    assert_eq!(
        stdout(&with_env(&["token", "work", "--refresh"])),
        "sk-work-from-env\n"
    );
    let listed = stdout(&with_env(&["list"]));
    let line = |name: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not listed:\n{listed}"))
            .to_owned()
    };
    assert!(
        line("anthropic").ends_with("from $MY_ANTHROPIC"),
        "{listed}"
    );
    assert!(line("work").ends_with("from $WORK_KEY"), "{listed}");
    assert!(!listed.contains("from-env"), "{listed}");
    let listed = json(&with_env(&["list", "--json"]));
    let work = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "work")
        .unwrap();
    assert_eq!(work["from_env"], "WORK_KEY");
    assert_eq!(work["env"], "WORK_KEY");
    assert!(work["error"].is_null(), "{work}");
    let status = stdout(&with_env(&["status", "work"]));
    assert!(status.contains("from $WORK_KEY"), "{status}");

    // `exec --env PROVIDER` uses the configured name.
    let out = home
        .cmd()
        .args(["exec", "--env", "anthropic", "--", "sh", "-c"])
        .arg("printf %s \"$MY_ANTHROPIC\"")
        .env_remove("MY_ANTHROPIC")
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-ant-api03-stored");

    // A catalog provider's own variable is not a source unless configured.
    let home = Home::new();
    let out = home
        .cmd()
        .args(["token", "groq"])
        .env("GROQ_API_KEY", "gsk-from-env")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
}

#[test]
fn token_formats_for_json_and_kubectl() {
    let home = Home::new();
    paste(&home, "anthropic", "sk-ant-api03-fmt\n");
    // 2030-01-01T00:00:00Z: far enough ahead that no refresh is needed.
    std::fs::write(
        home.store_path(),
        serde_json::json!({
            "anthropic": home.store_json()["anthropic"].clone(),
            "openrouter": {"type": "oauth", "access": "at-fmt", "expires": 1_893_456_000_000u64},
        })
        .to_string(),
    )
    .unwrap();

    let api = json(&home.run(&["token", "anthropic", "--format", "json"]));
    assert_eq!(api["token"], "sk-ant-api03-fmt");
    assert_eq!(api["provider"], "anthropic");
    assert_eq!(api["kind"], "api");
    assert!(api["expires_at"].is_null(), "{api}");
    assert_eq!(api.as_object().unwrap().len(), 4, "{api}");

    let oauth = json(&home.run(&["token", "openrouter", "--format", "json"]));
    assert_eq!(oauth["token"], "at-fmt");
    assert_eq!(oauth["provider"], "openrouter");
    assert_eq!(oauth["kind"], "oauth");
    assert_eq!(oauth["expires_at"], "2030-01-01T00:00:00Z");

    let kube = json(&home.run(&["token", "openrouter", "--format", "kube"]));
    assert_eq!(kube["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(kube["kind"], "ExecCredential");
    assert_eq!(kube["status"]["token"], "at-fmt");
    assert_eq!(
        kube["status"]["expirationTimestamp"],
        "2030-01-01T00:00:00Z"
    );

    let kube = json(&home.run(&["token", "anthropic", "--format", "kube"]));
    assert_eq!(kube["status"]["token"], "sk-ant-api03-fmt");
    let status = kube["status"].as_object().unwrap();
    assert!(!status.contains_key("expirationTimestamp"), "{kube}");

    // The default is the key alone; a failure prints nothing on stdout.
    assert_eq!(
        stdout(&home.run(&["token", "anthropic"])),
        "sk-ant-api03-fmt\n"
    );
    let out = home.run(&["token", "groq", "--format", "kube"]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout(&out), "");
}
