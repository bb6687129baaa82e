//! One gateway process at scale: 64 tokio tasks resolving `token` through
//! the embedded API, across 10 providers at once:
//!
//! - 5 stored API keys;
//! - 2 helpers (`echo`) whose keys may be cached for 200 ms, so they run
//!   again and again during the run;
//! - 2 OAuth logins near expiry, renewed by the `refresher` test component
//!   against a token endpoint on 127.0.0.1 (tokens live 2 s, refreshed 1 s
//!   before they expire);
//! - 1 slow helper that takes 2 s on every run (`ttl_ms = 0`), called in a
//!   loop by a task of its own for the whole run.
//!
//! Prints throughput, latency percentiles of the 64 tasks' calls, peak RSS,
//! how many refreshes and slow-helper runs happened meanwhile, and the
//! longest call, which would show any call held up by the slow helper.
//!
//! ```sh
//! cargo bench --bench gateway                        # 64 x 2,000 calls
//! GATEWAY_CALLS=100000 cargo bench --bench gateway   # 64 x 100,000 calls
//! GATEWAY_POOL=0 cargo bench --bench gateway         # no pooling allocator
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authhost::{Host, HostOptions, TokenOptions};
use hdrhistogram::Histogram;

#[path = "../tests/support/mod.rs"]
mod support;

use support::http::{Request, Response, Server};

const TASKS: usize = 64;
const STORED: usize = 5;
const HELPERS: usize = 2;
const LOGINS: usize = 2;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A token endpoint that renews any refresh token with a 2 s access token.
fn token_endpoint(refreshes: Arc<AtomicUsize>) -> Server {
    Server::start(move |req: &Request| {
        if req.method != "POST" || req.target != "/token" {
            return Response::new(404, "application/json", "{}");
        }
        let n = refreshes.fetch_add(1, Ordering::SeqCst) + 1;
        Response::new(
            200,
            "application/json",
            format!(
                r#"{{"access_token":"a-{n}","refresh_token":"r-{n}","expires_in":2,"token_type":"Bearer"}}"#
            ),
        )
    })
}

/// The home: the providers above, the refresher component in the plugins
/// folder, the stored keys and logins in `auth.json`.
fn home(server: &Server, slow_started: &std::path::Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        support::workspace_component("refresher"),
        dir.path().join("plugins/refresher.wasm"),
    )
    .unwrap();
    let url = server.url();
    let mut config = String::from("[credentials]\nrefresh_margin_s = 1\n\n");
    for i in 0..STORED {
        config += &format!("[providers.stored-{i}]\nplugin = \"openrouter\"\n\n");
    }
    for i in 0..HELPERS {
        config += &format!(
            "[providers.helper-{i}]\nplugin = \"shell-helper\"\ncommand = \"echo helper-{i}\"\nttl_ms = 200\n\n"
        );
    }
    for i in 0..LOGINS {
        config +=
            &format!("[providers.login-{i}]\nplugin = \"refresher\"\nbase_url = \"{url}\"\n\n");
    }
    config += &format!(
        "[providers.slow]\nplugin = \"shell-helper\"\ncommand = \"echo run >> '{}'; sleep 2; echo slow-key\"\nttl_ms = 0\n\n",
        slow_started.display()
    );
    config += &format!("[plugins.refresher]\ngrant = [\"http:{url}\"]\n");
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let mut store = serde_json::Map::new();
    for i in 0..STORED {
        store.insert(
            format!("stored-{i}"),
            serde_json::json!({"type": "api", "key": format!("sk-stored-{i}")}),
        );
    }
    for i in 0..LOGINS {
        // Inside the refresh margin already: the first call renews it.
        store.insert(
            format!("login-{i}"),
            serde_json::json!({"type": "oauth", "access": "a-0", "refresh": "r-0", "expires": now_ms() + 500}),
        );
    }
    std::fs::write(
        dir.path().join("auth.json"),
        serde_json::Value::Object(store).to_string(),
    )
    .unwrap();
    dir
}

/// The providers the 64 tasks call, in turn.
fn providers() -> Vec<String> {
    let mut names: Vec<String> = (0..STORED).map(|i| format!("stored-{i}")).collect();
    names.extend((0..HELPERS).map(|i| format!("helper-{i}")));
    names.extend((0..LOGINS).map(|i| format!("login-{i}")));
    names
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Nanoseconds, 1 ns to 100 s, two significant digits (a few KiB each, so
/// that 64 of them do not weigh on the RSS figure).
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 2).expect("valid bounds")
}

fn runs(file: &std::path::Path) -> usize {
    std::fs::read_to_string(file)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not run
    // this (nothing to check there).
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let calls = env_number("GATEWAY_CALLS", 2_000);
    let pooled = env_number("GATEWAY_POOL", 1) != 0;
    let refreshes = Arc::new(AtomicUsize::new(0));
    let server = token_endpoint(refreshes.clone());
    let scratch = tempfile::tempdir().unwrap();
    let slow_runs = scratch.path().join("slow-runs");
    let dir = home(&server, &slow_runs);
    let host =
        Arc::new(Host::open(HostOptions::with_home(dir.path()).instance_pool(pooled)).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let names = Arc::new(providers());
    let rss_before = peak_rss_kib();

    let report = runtime.block_on(async {
        // The slow helper, asked again as soon as it answers.
        let stop = Arc::new(AtomicBool::new(false));
        let slow_answers = Arc::new(AtomicUsize::new(0));
        let slow = {
            let (host, stop, answers) = (host.clone(), stop.clone(), slow_answers.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let token = host.token("slow", TokenOptions::default()).await.unwrap();
                    assert_eq!(token.expose_secret(), "slow-key");
                    answers.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        // Start measuring once the slow helper is provably running.
        while runs(&slow_runs) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // A gateway's steady state: each provider answered once (its plugin
        // compiled, a login renewed), timed apart, as the first call of a
        // folder plugin in a fresh home compiles it (seconds, not a wait on
        // the slow helper).
        let warm = Instant::now();
        for name in names.iter() {
            host.token(name, TokenOptions::default()).await.unwrap();
        }
        let warm_up = warm.elapsed();
        let started = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let (host, names) = (host.clone(), names.clone());
                tokio::spawn(async move {
                    let mut latency = latency_histogram();
                    for i in 0..calls {
                        let name = &names[(task + i) % names.len()];
                        let t = Instant::now();
                        let token = host.token(name, TokenOptions::default()).await.unwrap();
                        latency.saturating_record(t.elapsed().as_nanos() as u64);
                        std::hint::black_box(token);
                    }
                    latency
                })
            })
            .collect();
        let mut latency = latency_histogram();
        for task in tasks {
            latency.add(task.await.unwrap()).unwrap();
        }
        let elapsed = started.elapsed();
        let answered = slow_answers.load(Ordering::SeqCst);
        let slow_started = runs(&slow_runs);
        stop.store(true, Ordering::SeqCst);
        slow.await.unwrap();
        (latency, elapsed, slow_started, answered, warm_up)
    });
    let (latency, elapsed, slow_started, slow_answers, warm_up) = report;
    let total = (TASKS * calls) as f64;
    let us = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "gateway: {TASKS} tasks x {calls} calls over {} providers (+ a slow helper), {} allocator",
        names.len(),
        if pooled { "pooling" } else { "on-demand" }
    );
    println!(
        "  first call of each provider, one after another: {:.0} ms",
        warm_up.as_secs_f64() * 1000.0
    );
    println!(
        "  {:.0} calls in {:.2} s: {:.0} calls/s",
        total,
        elapsed.as_secs_f64(),
        total / elapsed.as_secs_f64()
    );
    println!(
        "  latency: p50 {:.2} us, p99 {:.2} us, p99.9 {:.2} us, max {:.2} ms",
        us(0.50),
        us(0.99),
        us(0.999),
        latency.max() as f64 / 1e6
    );
    println!(
        "  peak RSS: {} KiB (before the run {} KiB)",
        peak_rss_kib(),
        rss_before
    );
    println!(
        "  during the run: {} refreshes at the token endpoint; slow helper runs started {}, answered {} (every call above was made while one was running)",
        refreshes.load(Ordering::SeqCst),
        slow_started,
        slow_answers
    );
}
