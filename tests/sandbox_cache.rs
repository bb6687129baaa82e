//! The component cache loads only machine code authhost wrote itself, and
//! plugin files are read without hanging or exhausting the host: planted,
//! replaced and foreign-owned artefacts, cache directories others can write
//! to, FIFOs, devices, procfs files, directories and oversized files.

use crate::support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{Home, assert_success, stderr, stdout};

/// A helper provider whose key comes from running the shell-helper
/// built-in (no credential caching, so every `token` runs the plugin).
const HELPER: &str =
    "[providers.p]\nplugin = \"shell-helper\"\ncommand = \"echo sk-fine\"\nttl_ms = 0\n";

/// The user id tests may give files to when running as root.
const NOBODY: u32 = 65534;

/// The cached artefact whose name starts with `prefix`.
fn artefact(home: &Home, prefix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(components(home))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

fn components(home: &Home) -> PathBuf {
    home.path().join("cache/components")
}

/// A home where both built-ins have been run once, so both are cached.
fn primed_home() -> Home {
    let home = Home::with_config(HELPER);
    assert_eq!(stdout(&home.run(&["token", "p"])), "sk-fine\n");
    assert_success(&home.run(&["plugins", "list"]));
    home
}

/// Whether the tests run as root (and so can give files to other users).
fn running_as_root() -> bool {
    let probe = tempfile::tempfile().unwrap();
    probe.metadata().unwrap().uid() == 0
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), None).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Puts `code` at `path` as a new file with authhost's own mode and owner,
/// the way a planted file would arrive (written elsewhere, renamed in).
fn plant(path: &Path, code: &[u8]) {
    let tmp = path.with_file_name("planted.tmp");
    std::fs::write(&tmp, code).unwrap();
    chmod(&tmp, 0o600);
    std::fs::rename(&tmp, path).unwrap();
}

/// Runs `cmd` and fails the test if it has not exited within a minute (a
/// hang, not a slow run: each case takes milliseconds).
fn run_or_hang(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{cmd:?} hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn inspect(home: &Home, path: &Path) -> Output {
    let mut cmd = home.cmd();
    cmd.args(["plugins", "inspect"]).arg(path);
    run_or_hang(cmd)
}

#[track_caller]
fn assert_mentions(output: &Output, needle: &str) {
    let text = format!("{}{}", stdout(output), stderr(output));
    assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
}

#[test]
fn a_planted_artefact_is_not_loaded_and_the_cache_heals() {
    let home = primed_home();
    let shell_helper = artefact(&home, "shell-helper-");
    let good = std::fs::read(&shell_helper).unwrap();
    let openrouter = std::fs::read(artefact(&home, "openrouter-")).unwrap();
    assert_ne!(good, openrouter);
    // Valid machine code for this engine, of another component, under
    // shell-helper's name, with the owner and mode of authhost's own files:
    // only the index can tell it from the real one.
    plant(&shell_helper, &openrouter);
    let out = home.run(&["token", "p"]);
    assert_eq!(stdout(&out), "sk-fine\n", "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not the file authhost wrote"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&shell_helper).unwrap(), good, "not healed");
    // Healed: the next run loads it without a word.
    let out = home.run(&["token", "p"]);
    assert_eq!(stdout(&out), "sk-fine\n");
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_rewritten_or_retouched_artefact_is_not_loaded() {
    let home = primed_home();
    let shell_helper = artefact(&home, "shell-helper-");
    let good = std::fs::read(&shell_helper).unwrap();
    // The same bytes, written in place: same inode and size, and a new
    // ctime (written again until the file system's clock has moved on).
    let before = std::fs::metadata(&shell_helper).unwrap();
    loop {
        std::fs::write(&shell_helper, &good).unwrap();
        let after = std::fs::metadata(&shell_helper).unwrap();
        assert_eq!((after.ino(), after.size()), (before.ino(), before.size()));
        if (after.ctime(), after.ctime_nsec()) != (before.ctime(), before.ctime_nsec()) {
            break;
        }
    }
    let out = home.run(&["token", "p"]);
    assert_eq!(stdout(&out), "sk-fine\n");
    assert!(stderr(&out).contains("not the file authhost wrote"));
    // A file whose mode lets others write it.
    chmod(&shell_helper, 0o666);
    let out = home.run(&["token", "p"]);
    assert_eq!(stdout(&out), "sk-fine\n");
    assert!(
        stderr(&out).contains("is writable by other users (mode 666)"),
        "{}",
        stderr(&out)
    );
    let meta = std::fs::metadata(&shell_helper).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600, "not rewritten");
    assert_eq!(std::fs::read(&shell_helper).unwrap(), good);
}

#[test]
fn an_artefact_owned_by_another_user_is_not_loaded() {
    if !running_as_root() {
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    let home = primed_home();
    let shell_helper = artefact(&home, "shell-helper-");
    let good = std::fs::read(&shell_helper).unwrap();
    plant(
        &shell_helper,
        &std::fs::read(artefact(&home, "openrouter-")).unwrap(),
    );
    chown(&shell_helper, NOBODY);
    let out = home.run(&["token", "p"]);
    assert_eq!(stdout(&out), "sk-fine\n");
    assert!(
        stderr(&out).contains(&format!("is owned by user {NOBODY}")),
        "{}",
        stderr(&out)
    );
    let meta = std::fs::metadata(&shell_helper).unwrap();
    assert_eq!(meta.uid(), 0, "not replaced");
    assert_eq!(std::fs::read(&shell_helper).unwrap(), good);
}

#[test]
fn a_cache_directory_others_can_write_is_not_used() {
    let home = primed_home();
    let dir = components(&home);
    let shell_helper = artefact(&home, "shell-helper-");
    let good = std::fs::read(&shell_helper).unwrap();
    let openrouter = std::fs::read(artefact(&home, "openrouter-")).unwrap();
    chmod(&dir, 0o777);
    plant(&shell_helper, &openrouter);
    if running_as_root() {
        // As another user would have left it.
        chown(&shell_helper, NOBODY);
    }
    // The shell-helper is loaded (listing plugins loads none: their
    // answers come from the index); the directory is refused once, with why.
    let out = run_or_hang({
        let mut cmd = home.cmd();
        cmd.args(["token", "p"]);
        cmd
    });
    assert_success(&out);
    let warning = "not using the component cache";
    assert_eq!(stderr(&out).matches(warning).count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is writable by other users (mode 777)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "sk-fine\n");
    // Nothing is written into it either.
    assert_eq!(std::fs::read(&shell_helper).unwrap(), openrouter);

    // Made private again, the directory is used, the planted file is still
    // refused, and the cache heals.
    chmod(&dir, 0o700);
    let out = home.run(&["token", "p"]);
    assert_eq!(stdout(&out), "sk-fine\n");
    assert!(!stderr(&out).contains(warning));
    assert!(
        stderr(&out).contains("not loading a cached component"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&shell_helper).unwrap(), good);
    assert_eq!(stderr(&home.run(&["token", "p"])), "");
}

#[test]
fn the_cache_root_and_directory_must_be_ours_alone() {
    let home = primed_home();
    let root = home.path().join("cache");
    chmod(&root, 0o775);
    let out = home.run(&["token", "p"]);
    assert_eq!(stdout(&out), "sk-fine\n");
    assert!(
        stderr(&out).contains(&format!(
            "{} is writable by other users (mode 775)",
            root.display()
        )),
        "{}",
        stderr(&out)
    );
    chmod(&root, 0o700);
    assert_eq!(stderr(&home.run(&["token", "p"])), "");
    if running_as_root() {
        let dir = components(&home);
        chown(&dir, NOBODY);
        let out = home.run(&["token", "p"]);
        assert_eq!(stdout(&out), "sk-fine\n");
        assert!(
            stderr(&out).contains(&format!("{} is owned by user {NOBODY}", dir.display())),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_foreign_index_is_ignored() {
    let home = primed_home();
    let index = components(&home).join("index");
    chmod(&index, 0o622);
    let out = home.run(&["token", "p"]);
    assert_eq!(stdout(&out), "sk-fine\n");
    assert!(
        stderr(&out).contains("ignoring the component cache index"),
        "{}",
        stderr(&out)
    );
    // Rewritten as authhost's own.
    assert_eq!(
        std::fs::metadata(&index).unwrap().mode() & 0o777,
        0o600,
        "index not rewritten"
    );
    assert_eq!(stderr(&home.run(&["token", "p"])), "");
}

#[test]
fn inspect_refuses_what_is_not_a_component_file_promptly() {
    let home = Home::new();
    let dir = home.plugins_dir();

    let fifo = dir.join("fifo.wasm");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = inspect(&home, &fifo);
    assert!(!out.status.success());
    assert_mentions(&out, "is a FIFO, not a component file");

    let out = inspect(&home, Path::new("/dev/zero"));
    assert!(!out.status.success());
    assert_mentions(&out, "is a character device, not a component file");

    let pagemap = dir.join("pagemap.wasm");
    std::os::unix::fs::symlink("/proc/self/pagemap", &pagemap).unwrap();
    let out = inspect(&home, &pagemap);
    assert!(!out.status.success());
    assert_mentions(&out, "larger than 67108864 bytes");

    let out = inspect(&home, &dir);
    assert!(!out.status.success());
    assert_mentions(&out, "is a directory, not a component file");

    let socket = dir.join("socket.wasm");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let out = inspect(&home, &socket);
    assert!(!out.status.success());
    assert_mentions(&out, "is a socket, not a component file");
}

#[test]
fn an_oversized_file_is_refused_by_its_size() {
    let home = Home::new();
    let huge = home.path().join("huge.wasm");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    let out = inspect(&home, &huge);
    assert!(!out.status.success());
    // The size from the file's metadata, before any read: a read would
    // have stopped at the limit and said "larger than".
    assert_mentions(
        &out,
        "the file is 68157440 bytes; plugins may be at most 67108864",
    );
}

#[test]
fn the_plugins_folder_skips_what_is_not_a_regular_file() {
    let home = Home::new();
    let dir = home.plugins_dir();
    assert!(
        Command::new("mkfifo")
            .arg(dir.join("fifo.wasm"))
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.wasm")).unwrap();
    std::fs::create_dir(dir.join("folder.wasm")).unwrap();
    std::os::unix::fs::symlink("/proc/self/pagemap", dir.join("pagemap.wasm")).unwrap();
    let out = run_or_hang({
        let mut cmd = home.cmd();
        cmd.args(["plugins", "list"]);
        cmd
    });
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("shell-helper") && text.contains("openrouter"));
    for skipped in ["fifo.wasm", "zero.wasm", "folder.wasm"] {
        assert!(!text.contains(skipped), "{skipped} listed:\n{text}");
        assert!(
            stderr(&out)
                .lines()
                .any(|l| l.contains("skipping: not a regular file") && l.contains(skipped)),
            "{}",
            stderr(&out)
        );
    }
    // A link to a regular file is read, within the limit.
    let line = text
        .lines()
        .find(|l| l.starts_with("pagemap.wasm"))
        .unwrap_or_else(|| panic!("pagemap.wasm missing:\n{text}"));
    assert!(line.contains("at most"), "{line}");
}

/// The built-ins' entries in the plugins index, by id: (content hash, what
/// the built-in answered).
fn built_in_entries(home: &Home) -> Vec<(String, String, serde_json::Value)> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.path().join("cache/plugins.json")).unwrap())
            .unwrap();
    index["components"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(sha, d)| {
            let id = d["metadata"]["metadata"]["id"].as_str().unwrap().to_owned();
            (id, sha.clone(), d.clone())
        })
        .collect()
}

/// The display name `plugins list --json` shows for `id`.
fn shown_name(home: &Home, id: &str) -> String {
    let out = home.run(&["plugins", "list", "--json"]);
    assert_success(&out);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed: {list}"));
    entry["metadata"]["display_name"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn built_in_descriptions_come_from_a_trusted_index_under_their_content_hash() {
    let home = Home::with_config(HELPER);
    let real = shown_name(&home, "shell-helper");
    // Each built-in's answer is kept under the SHA-256 of its component.
    let entries = built_in_entries(&home);
    let ids: Vec<&str> = entries.iter().map(|(id, _, _)| id.as_str()).collect();
    for id in ["shell-helper", "openrouter", "oauth2", "api-key"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    // The component the binary embeds, as the build script staged it (the
    // copy in target/guests may since have been rebuilt alone by another
    // test, with other features of shared crates, hence other bytes).
    let component = std::path::Path::new(env!("OUT_DIR")).join("shell_helper.wasm");
    let sha256sum = Command::new("sha256sum").arg(&component).output().unwrap();
    let digest = stdout(&sha256sum).split(' ').next().unwrap().to_owned();
    let (_, sha, _) = entries
        .iter()
        .find(|(id, _, _)| id == "shell-helper")
        .unwrap();
    assert_eq!(sha, &digest);

    // Later commands take the answer from the index instead of running
    // `describe`: an answer edited in place (by this user) is what they show.
    let index_path = home.path().join("cache/plugins.json");
    let text = std::fs::read_to_string(&index_path).unwrap();
    assert!(text.contains(&format!("\"{real}\"")), "{text}");
    std::fs::write(
        &index_path,
        text.replace(&format!("\"{real}\""), "\"Edited Helper\""),
    )
    .unwrap();
    assert_eq!(shown_name(&home, "shell-helper"), "Edited Helper");
    // `token` uses it too, and still runs the real component.
    assert_eq!(stdout(&home.run(&["token", "p"])), "sk-fine\n");

    // An index others may write to is not used: every built-in describes
    // itself again, and the index is written afresh (mode 0600).
    chmod(&index_path, 0o622);
    let out = home.run(&["plugins", "list", "--json"]);
    assert_mentions(&out, "ignoring the plugins index");
    assert!(!stdout(&out).contains("Edited Helper"), "{}", stdout(&out));
    assert_eq!(
        std::fs::metadata(&index_path).unwrap().mode() & 0o777,
        0o600
    );
    assert_eq!(shown_name(&home, "shell-helper"), real);

    // Nor is one owned by another user.
    if running_as_root() {
        let text = std::fs::read_to_string(&index_path).unwrap();
        std::fs::write(
            &index_path,
            text.replace(&format!("\"{real}\""), "\"Edited Helper\""),
        )
        .unwrap();
        chown(&index_path, NOBODY);
        let out = home.run(&["plugins", "list", "--json"]);
        assert_mentions(&out, "ignoring the plugins index");
        assert!(!stdout(&out).contains("Edited Helper"), "{}", stdout(&out));
    }
}

/// `wasm` with a custom section `name` of `size` bytes appended (a
/// component's size without more code, like a JavaScript component's).
fn padded(mut wasm: Vec<u8>, name: &str, size: usize) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                return;
            }
        }
    }
    let mut payload = Vec::new();
    leb(name.len(), &mut payload);
    payload.extend_from_slice(name.as_bytes());
    payload.resize(payload.len() + size, 0x5a);
    wasm.push(0);
    leb(payload.len(), &mut wasm);
    wasm.extend_from_slice(&payload);
    wasm
}

/// Bytes this thread has read so far (`rchar` of `/proc/thread-self/io`):
/// other tests run in this process at the same time, and what they read is
/// not this test's. The host below runs on a current-thread runtime, so its
/// reads of the plugin file are this thread's; the changed plugin's read,
/// which must be counted, shows that they are.
fn bytes_read() -> u64 {
    let io = std::fs::read_to_string("/proc/thread-self/io").unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn an_unchanged_folder_plugin_runs_from_its_compiled_code_without_being_read() {
    const PADDING: usize = 16 << 20;
    let home = Home::with_config("[providers.kit]\nplugin = \"testkit\"\nkey = \"kit-key\"\n");
    let file = home.plugins_dir().join("testkit.wasm");
    let kit = std::fs::read(support::workspace_component("testkit")).unwrap();
    std::fs::write(&file, padded(kit.clone(), "padding", PADDING)).unwrap();
    // Described, compiled and cached by a first command.
    assert_eq!(stdout(&home.run(&["token", "kit"])), "kit-key\n");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = |home: &Home| {
        let host = authhost::Host::open(authhost::HostOptions::with_home(home.path())).unwrap();
        let before = bytes_read();
        let token = runtime
            .block_on(host.token("kit", authhost::TokenOptions::default()))
            .unwrap();
        assert_eq!(token.expose_secret(), "kit-key");
        bytes_read() - before
    };
    let read = token(&home);
    assert!(
        read < 4 << 20,
        "an unchanged 16 MB plugin: {read} bytes read"
    );

    // A file that changed is read (and hashed) again: its identity no
    // longer vouches for the code compiled from the old contents.
    std::fs::write(&file, padded(kit, "padding2", PADDING)).unwrap();
    let read = token(&home);
    assert!(
        read >= PADDING as u64,
        "a changed plugin: {read} bytes read"
    );
}
