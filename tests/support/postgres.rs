//! A throwaway PostgreSQL cluster for the shared-store tests: `initdb` in a
//! temporary folder owned by the `postgres` user (PostgreSQL refuses to
//! run as root, and CI runs as root), started with `pg_ctl` on a free port
//! of 127.0.0.1 with password authentication (scram-sha-256) over TCP and
//! its socket in the same folder (the tests' own `psql` connects there as
//! the superuser), stopped with `pg_ctl -m fast stop` when dropped.
//!
//! [`Cluster::shared`] is one cluster for every test that needs only a
//! database of its own ([`Cluster::database`]); a test that stops or
//! restarts the server starts its own ([`Cluster::start`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// The password of the `authhost` role.
pub const PASSWORD: &str = "pw-Secret-7e1f";

/// A running cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// The folder of PostgreSQL's programs (`/usr/lib/postgresql/N/bin`).
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (tests/run.sh installs it)")
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect("an initdb in /usr/lib/postgresql/*/bin")
}

/// Runs `program ARGS` of PostgreSQL as the `postgres` user.
fn as_postgres(bin: &Path, program: &str, args: &[&str]) -> Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join(program))
        .args(args)
        .output()
        .unwrap()
}

#[track_caller]
fn check(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Cluster {
    /// A new cluster, started.
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let chown = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .output()
            .unwrap();
        check("chown", chown);
        let bin = bin_dir();
        let data = dir.path().join("data");
        check(
            "initdb",
            as_postgres(
                &bin,
                "initdb",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-U",
                    "postgres",
                    "--auth-host=scram-sha-256",
                    "--auth-local=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
            ),
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster { dir, bin, port };
        cluster.start_again();
        check(
            "create role",
            cluster.psql_output(
                "postgres",
                &format!("CREATE ROLE authhost LOGIN PASSWORD '{PASSWORD}'"),
            ),
        );
        cluster
    }

    /// The cluster every test of this run shares while one uses it.
    pub fn shared() -> Arc<Cluster> {
        static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cluster) = shared.upgrade() {
            return cluster;
        }
        let cluster = Arc::new(Cluster::start());
        *shared = Arc::downgrade(&cluster);
        cluster
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new database owned by `authhost`; returns its name.
    pub fn database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "authhost_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {name} OWNER authhost"),
        );
        name
    }

    /// The URL of database `db` for the `authhost` role.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://authhost:{PASSWORD}@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// Runs the client `program` as the superuser over the cluster's
    /// socket, with `args` after the connection options.
    fn client(&self, program: &str, args: &[&str]) -> Output {
        let port = self.port.to_string();
        let socket = self.dir.path().to_str().unwrap();
        let mut all = vec!["-h", socket, "-p", &port, "-U", "postgres"];
        all.extend_from_slice(args);
        as_postgres(&self.bin, program, &all)
    }

    fn psql_output(&self, db: &str, sql: &str) -> Output {
        self.client(
            "psql",
            &["-d", db, "-v", "ON_ERROR_STOP=1", "-XAtq", "-c", sql],
        )
    }

    /// Runs `sql` in database `db` as the superuser; returns what it
    /// printed (unaligned, tuples only).
    #[track_caller]
    pub fn psql(&self, db: &str, sql: &str) -> String {
        check(sql, self.psql_output(db, sql))
    }

    /// [`Cluster::psql`], `None` when it fails (a table not made yet).
    pub fn try_psql(&self, db: &str, sql: &str) -> Option<String> {
        let out = self.psql_output(db, sql);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `pg_dump` of database `db`.
    #[track_caller]
    pub fn dump(&self, db: &str) -> String {
        check("pg_dump", self.client("pg_dump", &[db]))
    }

    /// Turns TLS on with the certificate `cert` and its key `key` (PEM).
    pub fn enable_tls(&self, cert: &Path, key: &Path) {
        let data = self.dir.path().join("data");
        for (from, name) in [(cert, "server.crt"), (key, "server.key")] {
            let to = data.join(name);
            std::fs::copy(from, &to).unwrap();
            let out = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&to)
                .output()
                .unwrap();
            check("chown", out);
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        self.psql("postgres", "ALTER SYSTEM SET ssl = on");
        self.psql("postgres", "SELECT pg_reload_conf()");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }

    /// Stops the server (`pg_ctl -m fast stop`).
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        let out = as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
        check("pg_ctl stop", out);
    }

    /// Starts the server (again).
    pub fn start_again(&self) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let out = as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        check("pg_ctl start", out);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
    }
}
