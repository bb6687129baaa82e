//! `authhost plugins install` and `plugins remove`, the component cache's
//! eviction and size cap, the compile notice at a terminal, and
//! capabilities templated on a provider option (`http:{base_url}`)
//! expanded, granted and enforced per provider instance. All with real
//! components built from source.

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use support::acme::{self, acme_server};
use support::http::{Response, Server};
use support::pty::{Step, run_at_terminal};
use support::{
    Home, assert_fails_with, assert_success, example_component, stderr, stdout, workspace_component,
};

fn acme() -> PathBuf {
    example_component("acme-provider", "acme-provider")
}

/// `bytes` with a custom section appended: another build of the same
/// component (same id, another SHA-256).
fn rebuilt(bytes: &[u8], tag: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.extend_from_slice(&[0x00, 3, 1, b'x', tag]);
    out
}

fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    stdout(&out).split_whitespace().next().unwrap().to_owned()
}

/// The compiled artefacts in the home's component cache.
fn artefacts(home: &Home) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(home.path().join("cache/components")) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cwasm"))
        .collect()
}

fn compiled_from(home: &Home, sha: &str) -> bool {
    artefacts(home)
        .iter()
        .any(|a| a.starts_with(&format!("{sha}-")))
}

fn plugin_json(home: &Home, id: &str) -> Option<serde_json::Value> {
    let out = home.run(&["plugins", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .cloned()
}

fn config(home: &Home) -> String {
    std::fs::read_to_string(home.path().join("config.toml")).unwrap_or_default()
}

#[test]
fn install_checks_copies_owner_only_and_compiles_once() {
    let home = Home::new();
    let source = acme();
    let out = home.run(&["plugins", "install", source.to_str().unwrap()]);
    assert_success(&out);
    let err = stderr(&out);
    let file = home.path().join("plugins/acme.wasm");
    assert!(
        err.contains("Installed acme (Acme AI (example), WIT 0.3.0)"),
        "{err}"
    );
    assert!(
        err.contains(
            "It requests:\n    prompt                         ask you questions at this terminal\n    \
             http:https://api.acme.example  send HTTP requests to https://api.acme.example\n"
        ),
        "{err}"
    );
    // Without a terminal nothing is asked and nothing granted; the command
    // to run is printed. No compile notice either.
    assert!(
        err.contains(
            "Not granted; to grant it all later: authhost plugins grant acme --all-requested"
        ),
        "{err}"
    );
    assert!(!err.contains("compiling plugin"), "{err}");
    assert!(!config(&home).contains("[plugins.acme]"));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(&source).unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let sha = sha256(&file);
    assert!(compiled_from(&home, &sha), "{:?}", artefacts(&home));
    assert_eq!(
        plugin_json(&home, "acme").unwrap()["source"],
        file.display().to_string()
    );

    // The same file again: nothing to do.
    let out = home.run(&["plugins", "install", source.to_str().unwrap()]);
    assert_success(&out);
    assert!(stderr(&out).contains("acme (Acme AI (example)) is already installed"));

    // Another build with the same id: refused without --force, naming the
    // installed file; with --force it replaces it, and the old build's
    // compiled code goes with it.
    let other = home.path().join("acme-2.wasm");
    std::fs::write(&other, rebuilt(&std::fs::read(&source).unwrap(), 1)).unwrap();
    let out = home.run(&["plugins", "install", other.to_str().unwrap()]);
    assert_fails_with(&out, "plugin `acme`:");
    assert_fails_with(&out, "already holds a different build of it");
    assert_fails_with(&out, "--force");
    assert_eq!(sha256(&file), sha);
    let out = home.run(&["plugins", "install", other.to_str().unwrap(), "--force"]);
    assert_success(&out);
    assert_eq!(sha256(&file), sha256(&other));
    assert!(!compiled_from(&home, &sha), "{:?}", artefacts(&home));
    assert!(compiled_from(&home, &sha256(&other)));

    // What is not a provider component is refused and nothing is copied.
    let junk = home.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0").unwrap();
    let out = home.run(&["plugins", "install", junk.to_str().unwrap()]);
    assert_fails_with(&out, "plugin `junk.wasm`: ");
    assert_fails_with(&out, "not a component");
    let listed: Vec<_> = std::fs::read_dir(home.plugins_dir())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    // Built-ins are not replaced or removed by the folder's commands.
    let out = home.run(&["plugins", "remove", "openrouter", "--yes"]);
    assert_fails_with(&out, "plugin `openrouter`: it is built into authhost");
}

/// `--grant` grants what it requests for the providers that use it: the
/// origin of their own `base_url`, not the default; the login then works.
#[test]
fn install_grant_fills_templates_from_the_providers_options() {
    let server = acme_server();
    let home = Home::with_config(&format!(
        "# mine\n[providers.acme]\nbase_url = \"{}/\"\n",
        server.url()
    ));
    let out = home.run(&["plugins", "install", acme().to_str().unwrap(), "--grant"]);
    assert_success(&out);
    let err = stderr(&out);
    let origin = format!("http:{}", server.url());
    assert!(
        err.contains(&format!("Granted prompt, {origin} to acme")),
        "{err}"
    );
    assert!(
        err.contains("http:{base_url=https://api.acme.example}: HTTP to the origin"),
        "{err}"
    );
    let text = config(&home);
    assert!(text.starts_with("# mine\n"), "{text}");
    assert!(
        text.contains(&format!(
            "sha256 = \"{}\"",
            sha256(&home.path().join("plugins/acme.wasm"))
        )),
        "{text}"
    );
    assert!(!text.contains("api.acme.example"), "{text}");
    let out = home.run_with_stdin(&["login", "acme"], "alice\nhunter2\n");
    assert_success(&out);
    assert_eq!(stdout(&home.run(&["token", "acme"])), "acme-access-1\n");
    // `status` shows the exact capabilities of this provider.
    let status = stdout(&home.run(&["status", "acme"]));
    assert!(
        status.contains(&format!("capabilities: granted: prompt, {origin}")),
        "{status}"
    );

    // Removing it takes the file, its compiled code, its index entry and
    // its grants; the credential and the provider's table stay.
    let sha = sha256(&home.path().join("plugins/acme.wasm"));
    let out = home.run(&["plugins", "remove", "acme", "--yes"]);
    assert_success(&out);
    assert!(!home.path().join("plugins/acme.wasm").exists());
    assert!(!compiled_from(&home, &sha), "{:?}", artefacts(&home));
    let index = std::fs::read_to_string(home.path().join("cache/plugins.json")).unwrap();
    assert!(!index.contains(&sha), "{index}");
    let text = config(&home);
    assert!(
        !text.contains("[plugins.acme]") && text.contains("[providers.acme]"),
        "{text}"
    );
    assert_eq!(home.store_json()["acme"]["access"], "acme-access-1");
    assert!(plugin_json(&home, "acme").is_none());
    let out = home.run(&["plugins", "remove", "acme", "--yes"]);
    assert_fails_with(&out, "plugin `acme`, which is not installed");
}

/// At a terminal: the compile notice, the requests, and the question.
#[test]
fn install_at_a_terminal_shows_the_compile_and_offers_to_grant() {
    let home = Home::new();
    let source = acme();
    let steps = [
        Step::Expect("authhost: compiling plugin acme_provider.wasm ("),
        Step::Expect("MB), once… done in "),
        Step::Expect("Plugin acme asks for these capabilities:"),
        Step::Expect("    prompt                         ask you questions at this terminal"),
        Step::Expect(
            "    http:https://api.acme.example  send HTTP requests to https://api.acme.example",
        ),
        Step::Expect("Grant all 2 to acme? [y/N] "),
        Step::Send("y\n"),
        Step::Expect("Granted prompt, http:https://api.acme.example to acme"),
    ];
    let out = run_at_terminal(
        &home,
        &["plugins", "install", source.to_str().unwrap()],
        &steps,
        120,
    );
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(config(&home).contains("grant = [\"prompt\", \"http:https://api.acme.example\"]"));
    // Compiled once: the next command at a terminal shows no notice.
    let steps = [Step::Expect("acme")];
    let out = run_at_terminal(&home, &["plugins", "list"], &steps, 60);
    assert!(!stdout(&out).contains("compiling"), "{}", stdout(&out));

    // Removing asks first; "no" keeps everything.
    let steps = [
        Step::Expect("Remove plugin acme: its file, compiled code and grants? [y/N] "),
        Step::Send("n\n"),
    ];
    let out = run_at_terminal(&home, &["plugins", "remove", "acme"], &steps, 60);
    // A deliberate "no" is not an interruption (130 is Ctrl-C's).
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("kept plugin acme: nothing was removed"),
        "{}",
        stdout(&out)
    );
    assert!(home.path().join("plugins/acme.wasm").exists());
}

#[test]
fn the_cache_drops_replaced_components_and_keeps_under_its_cap() {
    let kit = workspace_component("testkit");
    let home = Home::with_config("[providers.kit]\nplugin = \"testkit\"\nkey = \"k1\"\n");
    let file = home.plugins_dir().join("testkit.wasm");
    std::fs::copy(&kit, &file).unwrap();
    assert_eq!(stdout(&home.run(&["token", "kit"])), "k1\n");
    let first = sha256(&file);
    assert!(compiled_from(&home, &first));

    // Replaced: the next scan compiles the new build and removes the old
    // build's machine code.
    std::fs::write(&file, rebuilt(&std::fs::read(&kit).unwrap(), 2)).unwrap();
    assert_eq!(stdout(&home.run(&["token", "kit"])), "k1\n");
    let second = sha256(&file);
    assert!(compiled_from(&home, &second), "{:?}", artefacts(&home));
    assert!(!compiled_from(&home, &first), "{:?}", artefacts(&home));

    // Gone: removed at the next scan.
    std::fs::remove_file(&file).unwrap();
    home.run(&["list"]);
    assert!(!compiled_from(&home, &second), "{:?}", artefacts(&home));

    // Over the cap (1 MiB here, a real build's code is larger): the least
    // recently used artefact goes when another is written.
    home.write_config(
        "[cache]\ncomponents_mib = 1\n\n[providers.kit]\nplugin = \"testkit\"\nkey = \"k1\"\n",
    );
    std::fs::copy(&kit, &file).unwrap();
    assert_eq!(stdout(&home.run(&["token", "kit"])), "k1\n");
    assert_eq!(artefacts(&home).len(), 1, "{:?}", artefacts(&home));
    let acme = acme();
    let out = home.run(&["plugins", "inspect", acme.to_str().unwrap()]);
    assert_success(&out);
    assert!(
        compiled_from(&home, &sha256(&acme)),
        "{:?}",
        artefacts(&home)
    );
    assert!(!compiled_from(&home, &first), "{:?}", artefacts(&home));
    assert_eq!(artefacts(&home).len(), 1, "{:?}", artefacts(&home));
}

/// One plugin, two provider instances with different origins, both
/// granted to the plugin: each instance reaches only its own.
#[test]
fn templated_origins_are_enforced_per_provider() {
    let a = Server::start(|_| Response::new(200, "text/plain", "from a"));
    let b = Server::start(|_| Response::new(200, "text/plain", "from b"));
    let home = Home::with_config(&format!(
        "[providers.pa]\nplugin = \"testkit\"\nmode = \"http\"\nurl = \"{a}/x\"\n\n\
         [providers.pb]\nplugin = \"testkit\"\nmode = \"http\"\nurl = \"{b}/y\"\n",
        a = a.url(),
        b = b.url()
    ));
    std::fs::copy(
        workspace_component("testkit"),
        home.plugins_dir().join("testkit.wasm"),
    )
    .unwrap();
    // `--provider` grants that instance's origin only; without it, every
    // instance's.
    let out = home.run(&[
        "plugins",
        "grant",
        "testkit",
        "--all-requested",
        "--provider",
        "pa",
    ]);
    assert_success(&out);
    let text = config(&home);
    let granted = |server: &Server| format!("\"http:{}\"", server.url());
    assert!(
        text.contains(&granted(&a)) && !text.contains(&granted(&b)),
        "{text}"
    );
    let out = home.run(&["plugins", "grant", "testkit", "--all-requested"]);
    assert_success(&out);
    assert!(config(&home).contains(&granted(&b)));

    assert_eq!(stdout(&home.run(&["token", "pa"])), "200 from a\n");
    assert_eq!(stdout(&home.run(&["token", "pb"])), "200 from b\n");
    let status = stdout(&home.run(&["status", "pa"]));
    assert!(
        status.contains(&format!("http:{}", a.url())) && !status.contains(&b.url()),
        "{status}"
    );
    // pa asking for b's origin: denied, though b's origin is granted to
    // the plugin (for pb).
    let before = b.connections();
    let mut config = config(&home);
    config = config.replace(
        &format!("url = \"{}/x\"", a.url()),
        &format!("url = \"{}/x\"\nfetch = \"{}/y\"", a.url(), b.url()),
    );
    home.write_config(&config);
    let out = home.run(&["token", "pa"]);
    assert_fails_with(&out, &format!("capability denied: `http:{}`", b.url()));
    assert_eq!(b.connections(), before);
}

/// An option a template names that is not an http(s) URL: a clear error
/// naming the provider and the option, before the plugin runs.
#[test]
fn a_templated_option_that_is_not_a_url_is_an_error_naming_it() {
    let home = Home::with_config("[providers.acme]\nbase_url = \"acme.example\"\n");
    std::fs::copy(acme(), home.plugins_dir().join("acme.wasm")).unwrap();
    let out = home.run_with_stdin(&["login", "acme"], "alice\nhunter2\n");
    assert_fails_with(
        &out,
        "[providers.acme] base_url must be an http or https URL (its plugin may send HTTP to that URL's origin: `http:{base_url=https://api.acme.example}`)",
    );
    let out = home.run(&["status", "acme"]);
    assert!(
        stdout(&out).contains("error: [providers.acme] base_url must be an http or https URL"),
        "{}",
        stdout(&out)
    );
    let out = home.run(&["plugins", "grant", "acme", "--all-requested"]);
    assert_fails_with(
        &out,
        "[providers.acme] base_url must be an http or https URL",
    );
    // `plugins inspect` shows the request as written.
    let out = home.run(&[
        "plugins",
        "inspect",
        home.plugins_dir().join("acme.wasm").to_str().unwrap(),
    ]);
    assert!(
        stdout(&out).contains("requests:    prompt, http:{base_url=https://api.acme.example}"),
        "{}",
        stdout(&out)
    );
}

/// `login` at a terminal offers the exact capabilities this provider
/// needs (its own `base_url`'s origin), and a yes puts them in force at
/// once and in config.toml.
#[test]
fn login_at_a_terminal_offers_the_providers_exact_grants() {
    let server = acme_server();
    let home = Home::with_config(&format!(
        "[providers.acme]\nbase_url = \"{}/\"\n",
        server.url()
    ));
    let file = home.plugins_dir().join("acme.wasm");
    std::fs::copy(acme(), &file).unwrap();
    let origin = format!("http:{}", server.url());
    let question = format!(
        "Plugin acme asks for these capabilities to log in to acme:\r\n    prompt  {}ask you questions at this terminal\r\n    {origin}  send HTTP requests to {}\r\nGrant all 2 to acme? [y/N] ",
        " ".repeat(origin.len() - "prompt".len()),
        server.url()
    );
    let steps = [Step::Expect(&question), Step::Send("y\n")]
        .into_iter()
        .chain(acme::LOGIN_STEPS)
        .collect::<Vec<_>>();
    let out = run_at_terminal(&home, &["login", "acme"], &steps, 60);
    assert!(out.status.success(), "{}", stdout(&out));
    let text = config(&home);
    assert!(
        text.contains(&format!("grant = [\"prompt\", \"{origin}\"]"))
            && text.contains(&sha256(&file)),
        "{text}"
    );
    assert_eq!(home.store_json()["acme"]["access"], "acme-access-1");
}
