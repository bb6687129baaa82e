//! The shared PostgreSQL store (`[store] backend = "postgres"`), against a
//! real PostgreSQL cluster (`support::postgres`): several `AUTHHOST_HOME`s
//! stand for several machines sharing one database.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::postgres::{Cluster, PASSWORD};
use crate::support::{Home, assert_success, stderr, stdout, workspace_component};

mod fleet;

/// A database on a cluster and the key its machines share.
pub(crate) struct Shared {
    pub cluster: Arc<Cluster>,
    pub db: String,
    pub key: String,
}

impl Shared {
    /// A new database on the shared cluster, and a new key.
    pub fn new() -> Shared {
        Shared::on(Cluster::shared())
    }

    /// A new database on `cluster`, and a new key.
    pub fn on(cluster: Arc<Cluster>) -> Shared {
        let db = cluster.database();
        let key = stdout(&Home::new().run(&["store", "keygen"]))
            .trim()
            .to_owned();
        Shared { cluster, db, key }
    }

    /// A machine: a home whose store is this database, its key in a file
    /// of the home, with `extra` lines of config.toml.
    pub fn machine(&self, extra: &str) -> Home {
        self.machine_with_key(&self.key, extra)
    }

    /// A machine whose key is `key`.
    pub fn machine_with_key(&self, key: &str, extra: &str) -> Home {
        let home = Home::new();
        let key_file = home.path().join("store.key");
        write_key_file(&key_file, key);
        home.write_config(&format!(
            "{extra}\n[store]\nbackend = \"postgres\"\nurl = \"{}\"\nkey_file = \"{}\"\n",
            self.cluster.url(&self.db),
            key_file.display()
        ));
        home
    }

    /// `sql` in the database, as the superuser.
    pub fn psql(&self, sql: &str) -> String {
        self.cluster.psql(&self.db, sql)
    }
}

/// Writes a store key file as `authhost store keygen --help` says: only
/// its owner may read it.
fn write_key_file(path: &std::path::Path, key: &str) {
    std::fs::write(path, format!("{key}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Stores `key` for `openrouter` through `home`.
#[track_caller]
fn store_key(home: &Home, key: &str) {
    let out = home.run_with_stdin(
        &["login", "openrouter", "--method", "api-key"],
        &format!("{key}\n"),
    );
    assert_success(&out);
}

#[test]
fn a_key_stored_on_one_machine_is_a_token_on_another() {
    let shared = Shared::new();
    let (a, b) = (shared.machine(""), shared.machine(""));
    store_key(&a, "sk-or-shared-4711");
    assert!(!a.store_path().exists(), "nothing in auth.json");
    let out = b.run(&["token", "openrouter"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "sk-or-shared-4711\n");
    let list = stdout(&b.run(&["list"]));
    assert!(list.contains("openrouter"), "{list}");
    // What the database operator sees: names, kinds, no secret.
    let dump = shared.cluster.dump(&shared.db);
    assert!(dump.contains("openrouter"), "{dump}");
    assert!(
        !dump.contains("sk-or-shared-4711"),
        "the key is in the dump"
    );
    assert!(!dump.contains(&shared.key), "the store key is in the dump");
    // Neither `paths` nor `-v` logs show the password.
    let paths = b.run(&["-vv", "paths"]);
    assert!(!stdout(&paths).contains(PASSWORD), "{}", stdout(&paths));
    // `paths` says where the credentials are, without the user or password.
    let place = format!(
        "postgres (credentials in postgres://127.0.0.1:{}/{}, namespace `default`, key from the key file {})",
        shared.cluster.port(),
        shared.db,
        b.path().join("store.key").display()
    );
    assert!(stdout(&paths).contains(&place), "{}", stdout(&paths));
    assert!(!stderr(&paths).contains(PASSWORD), "{}", stderr(&paths));
    let verbose = b.run(&["-vv", "token", "openrouter"]);
    assert_success(&verbose);
    assert!(!stderr(&verbose).contains(PASSWORD), "{}", stderr(&verbose));
    // A new key on one machine is the token on the other at once; so is a
    // logout.
    store_key(&b, "sk-or-rotated-4712");
    assert_eq!(
        stdout(&a.run(&["token", "openrouter"])),
        "sk-or-rotated-4712\n"
    );
    assert_success(&a.run(&["logout", "openrouter"]));
    let out = b.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}

#[test]
fn account_facts_are_shown_on_machines_with_the_key_and_sealed_in_the_database() {
    let shared = Shared::new();
    let config = "[providers.kit]\nplugin = \"testkit\"\nmode = \"derive\"\nkey = \"long-lived\"\nttl_ms = 60000\n";
    let (a, b) = (shared.machine(config), shared.machine(config));
    for home in [&a, &b] {
        std::fs::copy(
            workspace_component("testkit"),
            home.plugins_dir().join("testkit.wasm"),
        )
        .unwrap();
    }
    assert_success(&a.run(&["login", "kit"]));
    let facts_on = |home: &Home| {
        let row = crate::support::listed(home, "kit");
        assert_eq!(row["credential"], "api", "{row}");
        assert!(!row.to_string().contains("long-lived"), "{row}");
        row["extra"].clone()
    };
    assert_eq!(facts_on(&b)["login"], "kit-user");
    let status = stdout(&b.run(&["status", "kit"]));
    assert!(status.contains("kit-user"), "{status}");
    // The database holds the fact sealed only.
    let dump = shared.cluster.dump(&shared.db);
    assert!(dump.contains("kit"), "{dump}");
    assert!(!dump.contains("kit-user"), "an account fact is in the dump");
    // A machine without the key lists the login, without its facts.
    let keyless = Home::new();
    keyless.write_config(&format!(
        "{config}\n[store]\nbackend = \"postgres\"\nurl = \"{}\"\n",
        shared.cluster.url(&shared.db)
    ));
    std::fs::copy(
        workspace_component("testkit"),
        keyless.plugins_dir().join("testkit.wasm"),
    )
    .unwrap();
    assert_eq!(facts_on(&keyless).get("login"), None);
}

#[test]
fn namespaces_keep_apart() {
    let shared = Shared::new();
    let prod = shared.machine("");
    let staging = Home::new();
    let key_file = staging.path().join("store.key");
    write_key_file(&key_file, &shared.key);
    staging.write_config(&format!(
        "[store]\nbackend = \"postgres\"\nurl = \"{}\"\nnamespace = \"staging\"\nkey_file = \"{}\"\n",
        shared.cluster.url(&shared.db),
        key_file.display()
    ));
    store_key(&prod, "sk-or-prod");
    let out = staging.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // A row copied to another namespace does not open there.
    shared.psql(
        "INSERT INTO authhost_credentials (namespace, provider, kind, public, sealed)
         SELECT 'staging', provider, kind, public, sealed FROM authhost_credentials",
    );
    let out = staging.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not open"), "{}", stderr(&out));
}

#[test]
fn a_wrong_missing_or_tampered_key_is_refused_and_nothing_is_written() {
    let shared = Shared::new();
    let good = shared.machine("");
    store_key(&good, "sk-or-good");
    let other_key = stdout(&Home::new().run(&["store", "keygen"]));
    let wrong = shared.machine_with_key(other_key.trim(), "");
    let out = wrong.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = stderr(&out);
    assert!(error.contains("openrouter"), "{error}");
    assert!(
        error.contains("store.key"),
        "names the key's source: {error}"
    );
    assert!(error.contains("not the one"), "{error}");
    // A key file everyone may change is refused before it is used; one
    // everyone may read (a Kubernetes secret volume's 0644) works, with a
    // warning.
    let key_file = good.path().join("store.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o646)).unwrap();
    let out = good.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = stderr(&out);
    assert!(
        error.contains("changed by every user of this machine") && error.contains("chmod o-rwx"),
        "{error}"
    );
    assert!(!error.contains(&shared.key), "{error}");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = good.run(&["token", "openrouter"]);
    assert_eq!(stdout(&out), "sk-or-good\n", "{}", stderr(&out));
    assert!(
        stderr(&out).contains("may be read by every user of this machine"),
        "{}",
        stderr(&out)
    );
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Nor does it write: the stored key is still the good one.
    let out = wrong.run_with_stdin(
        &["login", "openrouter", "--method", "api-key"],
        "sk-or-wrong\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&good.run(&["token", "openrouter"])), "sk-or-good\n");

    let missing = Home::new();
    missing.write_config(&format!(
        "[store]\nbackend = \"postgres\"\nurl = \"{}\"\n",
        shared.cluster.url(&shared.db)
    ));
    let out = missing.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("AUTHHOST_STORE_KEY"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("keygen"), "{}", stderr(&out));
    // The key from the environment works in place of a file.
    let out = missing
        .cmd()
        .args(["token", "openrouter"])
        .env("AUTHHOST_STORE_KEY", &shared.key)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "sk-or-good\n", "{}", stderr(&out));

    // Someone without the key changes the row: it no longer opens.
    shared.psql(
        // Every bit of one byte flipped: always a change, whatever it was.
        "UPDATE authhost_credentials SET sealed = set_byte(sealed, 29, get_byte(sealed, 29) # 255)",
    );
    let out = good.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("openrouter"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("changed in the database"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_stopped_database_fails_within_the_timeout_and_a_restarted_one_works() {
    let shared = Shared::on(Arc::new(Cluster::start()));
    let home = shared.machine("");
    store_key(&home, "sk-or-survives");
    shared.cluster.stop();
    let started = Instant::now();
    let out = home.run(&["token", "openrouter"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(took < Duration::from_secs(7), "took {took:?}");
    let error = stderr(&out);
    let store = format!(
        "postgres://127.0.0.1:{}/{}",
        shared.cluster.port(),
        shared.db
    );
    assert!(error.contains(&store), "names the store: {error}");
    assert!(!error.contains(PASSWORD), "{error}");
    assert!(!home.store_path().exists(), "no fallback to auth.json");
    shared.cluster.start_again();
    let out = home.run(&["token", "openrouter"]);
    assert_eq!(stdout(&out), "sk-or-survives\n", "{}", stderr(&out));
}

/// The database goes away while a refresh is at the token service and
/// comes back after the answer: the new tokens (their refresh token already
/// rotated by the service) are written once it is back, not lost, so the
/// next refresh presents the new refresh token and the login lives on.
#[test]
fn tokens_refreshed_while_the_database_restarts_are_kept() {
    use std::sync::atomic::Ordering;

    let (service, server) = crate::lifecycle::TokenService::start(2);
    let shared = Shared::on(Arc::new(Cluster::start()));
    let config = format!(
        "[providers.p]\nplugin = \"refresher\"\nbase_url = \"{url}\"\n\n[plugins.refresher]\ngrant = [\"http:{url}\"]\n",
        url = server.url()
    );
    let (a, b) = (shared.machine(&config), shared.machine(&config));
    for home in [&a, &b] {
        std::fs::copy(
            workspace_component("refresher"),
            home.plugins_dir().join("refresher.wasm"),
        )
        .unwrap();
    }
    assert_success(&a.run(&["login", "p"]));
    assert_eq!(stdout(&b.run(&["token", "p"])), "a-1\n");
    // Into the last quarter of the 2-second token: the next call refreshes.
    std::thread::sleep(Duration::from_millis(1700));
    service.refresh_delay_ms.store(3000, Ordering::SeqCst);
    service.ttl_s.store(3600, Ordering::SeqCst);
    let refreshing = crate::support::crowd::spawn_token(&a, "p");
    let held = "SELECT count(*) FROM authhost_leases WHERE provider = 'p' AND holder IS NOT NULL";
    let deadline = Instant::now() + Duration::from_secs(20);
    while shared.cluster.try_psql(&shared.db, held).as_deref() != Some("1\n") {
        assert!(
            Instant::now() < deadline,
            "the refresh never took the lease"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    shared.cluster.stop();
    // The service answers 3 s after the request (time enough for the
    // database to stop first, on a slow machine too); the database is back
    // 2 s or more after that answer.
    std::thread::sleep(Duration::from_millis(5000));
    shared.cluster.start_again();
    let out = refreshing.wait_with_output().unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "a-2\n", "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the store cannot be reached") && !stderr(&out).contains(PASSWORD),
        "the write did not wait for the database: {}",
        stderr(&out)
    );
    assert_eq!(service.refreshes(), 1);
    // The other machine gets the stored renewal, and a forced refresh
    // presents the rotated refresh token: the grant is not revoked.
    assert_eq!(stdout(&b.run(&["token", "p"])), "a-2\n");
    service.refresh_delay_ms.store(0, Ordering::SeqCst);
    let out = b.run(&["token", "p", "--refresh"]);
    assert_eq!(stdout(&out), "a-3\n", "{}", stderr(&out));
    assert!(
        !service.revoked(),
        "a used refresh token was presented again"
    );
}

#[test]
fn an_unreachable_database_fails_within_the_connect_timeout() {
    // A port that takes the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let home = Home::with_config(&format!(
        "[store]\nbackend = \"postgres\"\nurl = \"postgres://authhost:{PASSWORD}@127.0.0.1:{port}/db?connect_timeout=2\"\n"
    ));
    let started = Instant::now();
    let out = home.run(&["token", "openrouter"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let error = stderr(&out);
    assert!(
        error.contains(&format!("postgres://127.0.0.1:{port}/db")),
        "{error}"
    );
    assert!(!error.contains(PASSWORD), "{error}");
}

#[test]
fn a_newer_schema_is_refused() {
    let shared = Shared::new();
    let home = shared.machine("");
    store_key(&home, "sk-or-1");
    shared.psql("UPDATE authhost_schema SET version = 99");
    let out = home.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("version 99"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("upgrade authhost"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn migrate_to_postgres_and_back() {
    let shared = Shared::new();
    let home = shared.machine("");
    // Start on the file store with two keys.
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    home.write_config(&config.replace("backend = \"postgres\"", "backend = \"file\""));
    store_key(&home, "sk-or-moving");
    let out = home.run_with_stdin(&["login", "groq", "--method", "api-key"], "gsk-moving\n");
    assert_success(&out);
    assert_eq!(home.store_json()["openrouter"]["key"], "sk-or-moving");

    let out = home.run(&["store", "migrate", "--to", "postgres"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("Moved 2 credential(s)"),
        "{}",
        stderr(&out)
    );
    let left = home.store_json();
    assert!(
        left.get("openrouter").is_none() && left.get("groq").is_none(),
        "local copies removed: {left}"
    );
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(config.contains("backend = \"postgres\""), "{config}");
    let other = shared.machine("");
    assert_eq!(stdout(&other.run(&["token", "groq"])), "gsk-moving\n");
    assert!(!shared.cluster.dump(&shared.db).contains("gsk-moving"));

    let out = home.run(&["store", "migrate", "--to", "file"]);
    assert_success(&out);
    assert_eq!(home.store_json()["groq"]["key"], "gsk-moving");
    assert_eq!(home.store_json()["openrouter"]["key"], "sk-or-moving");
    assert_eq!(
        shared.psql("SELECT count(*) FROM authhost_credentials"),
        "0\n"
    );
    assert_eq!(
        stdout(&home.run(&["token", "openrouter"])),
        "sk-or-moving\n"
    );
}

#[test]
fn migrate_from_postgres_to_the_keyring() {
    let service = crate::support::secret_service::SecretService::unlocked();
    let shared = Shared::new();
    let home = shared.machine("");
    let run = |args: &[&str]| {
        let mut cmd = home.cmd();
        service.apply(&mut cmd);
        cmd.args(args).output().unwrap()
    };
    store_key(&home, "sk-or-to-keyring");
    let out = run(&["store", "migrate", "--to", "keyring"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("Moved 1 credential(s)"),
        "{}",
        stderr(&out)
    );
    // The secret is in the keyring, auth.json holds the rest, the shared
    // store nothing; the backend is the keyring from now on.
    let auth = std::fs::read_to_string(home.store_path()).unwrap();
    assert!(
        auth.contains("openrouter") && !auth.contains("sk-or-to-keyring"),
        "{auth}"
    );
    let items = service.authhost_items();
    assert!(
        items
            .iter()
            .any(|(_, secret)| secret.contains("sk-or-to-keyring")),
        "{items:?}"
    );
    assert_eq!(
        shared.psql("SELECT count(*) FROM authhost_credentials"),
        "0\n"
    );
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(config.contains("backend = \"keyring\""), "{config}");
    let out = run(&["token", "openrouter"]);
    assert_eq!(stdout(&out), "sk-or-to-keyring\n", "{}", stderr(&out));
}

/// A program embedding the library keeps one connection: it sees another
/// machine's logout within the one-second recheck, and after the database
/// restarted its next call works.
#[test]
fn a_long_running_program_sees_changes_and_survives_a_restart() {
    let shared = Shared::on(Arc::new(Cluster::start()));
    let gateway = shared.machine("");
    let admin = shared.machine("");
    store_key(&admin, "sk-or-long-running");
    let host = authhost::Host::open(authhost::HostOptions::with_home(gateway.path())).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let token = || {
        runtime.block_on(async {
            host.token("openrouter", authhost::TokenOptions::default())
                .await
                .map(|t| t.expose_secret().to_owned())
        })
    };
    assert_eq!(token().unwrap(), "sk-or-long-running");
    shared.cluster.stop();
    shared.cluster.start_again();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(token().unwrap(), "sk-or-long-running", "after the restart");
    store_key(&admin, "sk-or-new-login");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(token().unwrap(), "sk-or-new-login");
    assert_success(&admin.run(&["logout", "openrouter"]));
    std::thread::sleep(Duration::from_millis(1100));
    let error = token().unwrap_err();
    assert_eq!(error.code(), "no-credential", "{error}");
}

#[test]
fn tls_require_and_verify_full() {
    let cluster = Arc::new(Cluster::start());
    let certs_dir = tempfile::tempdir().unwrap();
    let certs = crate::support::tls::Certificates::make(certs_dir.path());
    cluster.enable_tls(&certs.cert, &certs.key);
    let shared = Shared::on(cluster);
    let plain = shared.cluster.url(&shared.db);
    let with_mode = |mode: &str| plain.replace("sslmode=disable", mode);
    let home = shared.machine("");
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    let set_url = |url: &str| home.write_config(&config.replace(&plain, url));

    set_url(&with_mode("sslmode=require"));
    store_key(&home, "sk-or-over-tls");
    let verified = with_mode(&format!(
        "sslmode=verify-full&sslrootcert={}",
        certs.ca.display()
    ));
    set_url(&verified);
    let out = home.run(&["token", "openrouter"]);
    assert_eq!(stdout(&out), "sk-or-over-tls\n", "{}", stderr(&out));
    // Without the CA the server is not trusted.
    set_url(&with_mode("sslmode=verify-full"));
    let out = home.run(&["token", "openrouter"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = stderr(&out);
    assert!(error.contains("cannot connect"), "{error}");
    assert!(!error.contains(PASSWORD), "{error}");
}

#[test]
fn a_failed_renewal_is_reported_to_the_machines_that_waited() {
    let shared = Shared::new();
    let helper = |command: &str| {
        format!("[providers.flaky]\nplugin = \"shell-helper\"\ncommand = \"{command}\"\n")
    };
    let first = shared.machine(&helper("sleep 2; echo vault sealed >&2; exit 3"));
    let second = shared.machine(&helper("echo sk-must-not-run"));
    let held =
        "SELECT count(*) FROM authhost_leases WHERE provider = 'flaky' AND holder IS NOT NULL";
    let mut failing = first
        .cmd()
        .args(["token", "flaky"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while shared.cluster.try_psql(&shared.db, held).as_deref() != Some("1\n") {
        assert!(
            Instant::now() < deadline,
            "the first process never took the lease"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = second.run(&["token", "flaky"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = stderr(&out);
    assert!(
        error.contains("another authhost process tried just now and failed"),
        "{error}"
    );
    assert!(!stdout(&out).contains("sk-must-not-run"));
    assert!(!failing.wait().unwrap().success());
    // A later call tries again.
    let out = second.run(&["token", "flaky"]);
    assert_eq!(stdout(&out), "sk-must-not-run\n", "{}", stderr(&out));
}
