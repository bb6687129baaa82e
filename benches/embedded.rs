//! Embedded-host figures: resolving a remembered credential, a plugin call
//! on a fresh instance, and many concurrent resolutions of a cold helper;
//! the first two both with the embedder's default configuration
//! (`HostOptions::with_home`: instances allocated on demand) and with the
//! pooling allocator (`.instance_pool(true)`).
//!
//! `cargo bench --bench embedded`. The test kit component is built from
//! `tests/fixtures/testkit` first. That 1,000 concurrent cold resolutions
//! run the helper once is asserted by a test
//! (`tests/shell_helper.rs`); here it is only timed.

use std::path::Path;
use std::sync::Arc;

use authhost::{Host, HostOptions, Token, TokenOptions};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/support/mod.rs"]
mod support;

/// A home with a stored key (`stored`), the test kit answering without
/// caching (`fresh`) and the shell helper running `echo` (`helper`).
fn home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        support::workspace_component("testkit"),
        dir.path().join("plugins/testkit.wasm"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[providers.stored]\nplugin = \"openrouter\"\n\n[providers.fresh]\nplugin = \"testkit\"\nkey = \"k\"\n\n[providers.helper]\nplugin = \"shell-helper\"\ncommand = \"echo run >> '{}'; sleep 0.2; echo helper-key\"\nttl_ms = 600000\n",
            dir.path().join("runs.txt").display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("auth.json"),
        r#"{"stored": {"type": "api", "key": "sk-stored"}}"#,
    )
    .unwrap();
    dir
}

fn bench(c: &mut Criterion) {
    let dir = home();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    first_calls(&runtime);
    for (name, host) in configurations(dir.path()) {
        let token = |provider: &str| resolve(&runtime, &host, provider);
        assert_eq!(token("stored").expose_secret(), "sk-stored");
        assert_eq!(token("fresh").expose_secret(), "k");

        c.bench_function(&format!("token/remembered/{name}"), |b| {
            b.iter(|| token("stored"))
        });
        c.bench_function(&format!("token/fresh-instance/{name}"), |b| {
            b.iter(|| token("fresh"))
        });
    }

    // The event hook's cost on the fastest path: a remembered credential
    // with a hook that counts, beside the same host without one.
    let served = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = served.clone();
    let hooked = Host::open(HostOptions::with_home(dir.path()).on_event(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }))
    .unwrap();
    let plain = Host::open(HostOptions::with_home(dir.path())).unwrap();
    for (name, host) in [("without-hook", &plain), ("with-hook", &hooked)] {
        resolve(&runtime, host, "stored");
        c.bench_function(&format!("token/remembered/{name}"), |b| {
            b.iter(|| resolve(&runtime, host, "stored"))
        });
    }
    assert!(served.load(std::sync::atomic::Ordering::Relaxed) > 0);

    // 1,000 concurrent first resolutions of a slow helper: one run.
    let host =
        Arc::new(Host::open(HostOptions::with_home(dir.path()).instance_pool(true)).unwrap());
    let started = std::time::Instant::now();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys: Vec<String> = multi.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let host = host.clone();
                tokio::spawn(async move { host.token("helper", TokenOptions::default()).await })
            })
            .collect();
        let mut keys = Vec::new();
        for task in tasks {
            keys.push(task.await.unwrap().unwrap().expose_secret().to_owned());
        }
        keys
    });
    assert!(keys.iter().all(|k| k == "helper-key"));
    let runs = std::fs::read_to_string(dir.path().join("runs.txt")).unwrap_or_default();
    println!(
        "1000 concurrent cold resolutions of a helper (sleep 0.2): {} helper run(s) in {:.1} ms",
        runs.lines().count(),
        started.elapsed().as_secs_f64() * 1000.0
    );

    // Memory over 100,000 resolutions (remembered and fresh-instance).
    for (name, host) in configurations(dir.path()) {
        let token = |provider: &str| resolve(&runtime, &host, provider);
        for _ in 0..1000 {
            token("fresh");
        }
        let before = rss_kib();
        for i in 0..100_000 {
            token(if i % 10 == 0 { "fresh" } else { "stored" });
        }
        let after = rss_kib();
        println!("RSS over 100,000 resolutions ({name}): {before} KiB -> {after} KiB");
    }
}

/// The first plugin call of a new host in a new home (no compiled code
/// cached yet, as in a fresh container): a built-in shell helper, in the
/// default and the pooled configuration, side by side, the median of 5.
fn first_calls(runtime: &tokio::runtime::Runtime) {
    let mut medians = Vec::new();
    for (name, pooled) in [("default", false), ("pooled", true)] {
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let home = tempfile::tempdir().unwrap();
                std::fs::write(
                    home.path().join("config.toml"),
                    "[providers.h]\nplugin = \"shell-helper\"\ncommand = \"printf k\"\n",
                )
                .unwrap();
                let started = std::time::Instant::now();
                let host =
                    Host::open(HostOptions::with_home(home.path()).instance_pool(pooled)).unwrap();
                assert_eq!(resolve(runtime, &host, "h").expose_secret(), "k");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "first helper call of a new host, {name}: {:.1} ms (median of 5)",
            times[2]
        );
        medians.push(times[2]);
    }
    println!(
        "first helper call, pooled / default: {:.2}",
        medians[1] / medians[0]
    );
}

/// A host on `home` in each configuration measured: the embedder's
/// default (instances allocated on demand) and the pooling allocator.
fn configurations(home: &Path) -> [(&'static str, Host); 2] {
    [("default", false), ("pooled", true)].map(|(name, pooled)| {
        let options = HostOptions::with_home(home).instance_pool(pooled);
        (name, Host::open(options).unwrap())
    })
}

/// `host.token(provider)` on `runtime`.
fn resolve(runtime: &tokio::runtime::Runtime, host: &Host, provider: &str) -> Token {
    runtime
        .block_on(host.token(provider, TokenOptions::default()))
        .unwrap()
}

/// Resident set size of this process.
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

criterion_group!(benches, bench);
criterion_main!(benches);
