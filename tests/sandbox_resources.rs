//! A plugin cannot make the host hold ever more memory, handles or threads:
//! `describe` can create no wasi:http resource, a granted call is stopped at
//! its handle limit with an error naming it, and loopback listeners are
//! capped per call and share one thread. Each hostile run is a real
//! `authhost` process whose peak memory and thread count are read from
//! `/proc` while it runs.

use crate::support;

use std::io::Read;
use std::process::Output;
use std::time::Duration;

use support::{Home, assert_fails_with, assert_success, stderr, stdout, workspace_component};

/// A home with `config` and the hostile-host and testkit components in its
/// plugins folder.
fn home(config: &str) -> Home {
    let home = Home::with_config(config);
    for (package, file) in [
        ("hostile-host", "hostile-host.wasm"),
        ("testkit", "testkit.wasm"),
    ] {
        std::fs::copy(workspace_component(package), home.plugins_dir().join(file)).unwrap();
    }
    home
}

/// What `/proc/PID/status` showed while a process ran.
#[derive(Debug, Default)]
struct Peak {
    /// Largest `VmHWM` (peak resident set) seen, in KiB.
    hwm_kib: u64,
    /// Largest `Threads` seen.
    threads: u64,
    /// Number of readings.
    samples: u32,
}

/// Runs `authhost ARGS` in `home`, reading its `/proc/PID/status` every few
/// milliseconds until it exits.
fn run_watched(home: &Home, args: &[&str]) -> (Output, Peak) {
    let mut child = home.spawn(args);
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = Peak::default();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let field = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            };
            if let (Some(hwm), Some(threads)) = (field("VmHWM:"), field("Threads:")) {
                peak.hwm_kib = peak.hwm_kib.max(hwm);
                peak.threads = peak.threads.max(threads);
                peak.samples += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    eprintln!("authhost {args:?}: {peak:?}");
    let output = Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    (output, peak)
}

const MIB: u64 = 1024;

/// `describe` hoards wasi:http resources even with no options (as in a scan
/// of the plugins folder). Each of its 400 rounds would make the host hold
/// about 2 MiB; nothing can be created, so the host stays small, the plugin
/// loads, and the other plugins work.
#[test]
fn a_describe_that_hoards_http_resources_leaves_the_host_small() {
    let home = home(
        "[limits]\nmemory_mib = 64\n\
         [providers.slow]\nplugin = \"hostile-host\"\nmode = \"wait\"\nms = 1500\nkey = \"sk-waited\"\n\
         [providers.other]\nplugin = \"testkit\"\nkey = \"sk-other\"\n\
         [providers.helper]\nplugin = \"shell-helper\"\ncommand = \"echo sk-helper\"\nttl_ms = 0\n",
    );
    // The plugins folder is scanned (every `describe` runs), then `slow`
    // waits 1.5 s after its own `describe`: the peak is read in that time.
    let (out, peak) = run_watched(&home, &["token", "slow"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-waited\n");
    assert!(peak.samples >= 20, "{peak:?}");
    assert!(
        peak.hwm_kib < 200 * MIB,
        "the host grew to {} MiB",
        peak.hwm_kib / MIB
    );

    let out = home.run(&["plugins", "list"]);
    assert_success(&out);
    let line = stdout(&out)
        .lines()
        .find(|l| l.starts_with("hostile-host"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("hostile-host missing:\n{}", stdout(&out)));
    assert!(line.contains("0.1.0"), "{line}");
    assert_success(&home.run(&["list"]));
    assert_eq!(stdout(&home.run(&["token", "other"])), "sk-other\n");
    assert_eq!(stdout(&home.run(&["token", "helper"])), "sk-helper\n");
}

/// The `fields` constructor cannot fail gracefully: used in `describe`, it
/// stops the plugin with an error that says so.
#[test]
fn the_fields_constructor_in_describe_stops_the_plugin_clearly() {
    let home = home(
        "[providers.d]\nplugin = \"hostile-host\"\n\
         [providers.other]\nplugin = \"testkit\"\nkey = \"sk-other\"\n",
    );
    // `describe` sees no configuration: pick its attack by rewriting the
    // marker in the component.
    let file = home.plugins_dir().join("hostile-host.wasm");
    let bytes = std::fs::read(&file).unwrap();
    let (from, to) = (b"describe:graceful", b"describe:trap____");
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the describe marker");
    let mut patched = bytes.clone();
    patched[at..at + to.len()].copy_from_slice(to);
    std::fs::write(&file, patched).unwrap();
    // The plugin fails to load, so its provider cannot run; the listing says
    // why in words.
    let (out, peak) = run_watched(&home, &["plugins", "list"]);
    assert!(
        stdout(&out).contains("stopped for using wasi:http in `describe`"),
        "{}",
        stdout(&out)
    );
    assert!(!home.run(&["token", "d"]).status.success());
    assert!(peak.hwm_kib < 200 * MIB, "{} MiB", peak.hwm_kib / MIB);
    assert_eq!(stdout(&home.run(&["token", "other"])), "sk-other\n");
}

/// With an http grant, the same hoarding in `resolve` is stopped at the
/// handle limit that follows `memory_mib`, with an error naming it, and the
/// host holds about `memory_mib` for it, not gigabytes.
#[test]
fn hoarding_http_resources_in_resolve_stops_at_the_limit() {
    for (memory_mib, handles) in [(64, 512), (16, 128)] {
        let home = home(&format!(
            "[limits]\nmemory_mib = {memory_mib}\n\
             [plugins.hostile-host]\ngrant = [\"http:http://127.0.0.1:9\"]\n\
             [providers.hoard]\nplugin = \"hostile-host\"\nmode = \"http-hoard\"\n\
             requests = [\"http:http://127.0.0.1:9\"]\n\
             [providers.other]\nplugin = \"testkit\"\nkey = \"sk-other\"\n"
        ));
        let (out, peak) = run_watched(&home, &["token", "hoard"]);
        assert_fails_with(
            &out,
            &format!(
                "plugin `hostile-host`: stopped for holding more than {handles} host resources at once"
            ),
        );
        assert!(
            stderr(&out).contains(&format!("limit `memory_mib` = {memory_mib} MiB")),
            "{}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");
        assert!(
            peak.hwm_kib < (200 + 2 * memory_mib) * MIB,
            "memory_mib = {memory_mib}: the host grew to {} MiB",
            peak.hwm_kib / MIB
        );
        assert_eq!(stdout(&home.run(&["token", "other"])), "sk-other\n");
    }
}

/// One set of header fields is capped: growing it past the cap stops the
/// plugin with an error naming the limit.
#[test]
fn header_fields_past_their_cap_stop_the_plugin_clearly() {
    let home = home(
        "[plugins.hostile-host]\ngrant = [\"http:http://127.0.0.1:9\"]\n\
         [providers.fat]\nplugin = \"hostile-host\"\nmode = \"fat-fields\"\n\
         requests = [\"http:http://127.0.0.1:9\"]\n",
    );
    let (out, peak) = run_watched(&home, &["token", "fat"]);
    assert_fails_with(
        &out,
        "plugin `hostile-host`: stopped for putting more than 64 KiB in one set of HTTP header fields",
    );
    assert!(peak.hwm_kib < 200 * MIB, "{} MiB", peak.hwm_kib / MIB);
}

/// 4,000 `bind` calls: the ninth is refused with an error naming the cap,
/// and eight open listeners cost no more threads than one.
#[test]
fn thousands_of_listeners_stop_at_the_cap_without_a_thread_each() {
    let home = home(
        "[plugins.hostile-host]\ngrant = [\"loopback\"]\n\
         [providers.one]\nplugin = \"hostile-host\"\nmode = \"bind-many\"\ncount = 1\nhold_ms = 800\nrequests = [\"loopback\"]\n\
         [providers.many]\nplugin = \"hostile-host\"\nmode = \"bind-many\"\ncount = 4000\nhold_ms = 800\nrequests = [\"loopback\"]\n",
    );
    let (out, one) = run_watched(&home, &["token", "one"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "bound 1\n");

    let (out, many) = run_watched(&home, &["token", "many"]);
    assert_fails_with(
        &out,
        "after 8 listeners: too many loopback listeners: a call may open at most 8",
    );
    assert!(one.samples >= 20 && many.samples >= 20, "{one:?} {many:?}");
    assert!(
        many.threads <= one.threads + 1,
        "8 listeners: {} threads; 1 listener: {}",
        many.threads,
        one.threads
    );
    assert!(many.threads < 16, "{many:?}");
}
