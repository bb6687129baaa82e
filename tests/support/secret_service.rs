//! A private D-Bus session bus with GNOME Keyring's Secret Service on it,
//! for tests of the keyring store: each test gets its own bus, its own
//! keyring daemon and its own home for the keyring files, and both
//! processes are killed on drop.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password of the test login keyring.
const PASSWORD: &str = "test-keyring-password";

/// A session bus configuration with no service directories: nothing is
/// started on demand, so a bus without a keyring daemon has no Secret
/// Service.
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=DIR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// A session bus, with or without a Secret Service.
pub struct SecretService {
    dir: tempfile::TempDir,
    bus: Child,
    daemon: Option<Child>,
    address: String,
}

impl SecretService {
    /// A bus with a keyring daemon whose login keyring exists and is
    /// unlocked.
    pub fn unlocked() -> SecretService {
        let mut service = SecretService::absent();
        service.start_daemon(true);
        service
    }

    /// A bus with no Secret Service.
    pub fn absent() -> SecretService {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "run", "bus"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.path().join("run"),
                std::fs::Permissions::from_mode(0o700),
            )
            .unwrap();
        }
        let config = dir.path().join("bus.conf");
        let listen = dir.path().join("bus");
        std::fs::write(&config, BUS_CONFIG.replace("DIR", listen.to_str().unwrap())).unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon; tests/run.sh installs it)");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon said `{address}`");
        SecretService {
            dir,
            bus,
            daemon: None,
            address,
        }
    }

    /// Stops the keyring daemon and starts it again without the password:
    /// the login keyring is there, locked.
    pub fn lock(&mut self) {
        self.stop_daemon();
        self.start_daemon(false);
    }

    /// Stops the keyring daemon and starts it again with the password: the
    /// same login keyring, unlocked.
    pub fn unlock(&mut self) {
        self.stop_daemon();
        self.start_daemon(true);
    }

    /// Stops the keyring daemon: the bus stays, with no Secret Service.
    pub fn stop_daemon(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        self.wait_for_owner(false);
    }

    /// The bus address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Points `cmd` at this bus.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"));
    }

    /// The secrets of authhost's items (service `authhost`), by account,
    /// as `secret-tool` (libsecret, another client) finds them.
    pub fn authhost_items(&self) -> Vec<(String, String)> {
        let mut cmd = Command::new("secret-tool");
        cmd.args(["search", "--all", "--unlock", "service", "authhost"]);
        self.apply(&mut cmd);
        let out = cmd
            .output()
            .expect("secret-tool (Debian package libsecret-tools)");
        // Each item's label and secret on stdout, its attributes on stderr,
        // in the same order.
        let secrets = String::from_utf8_lossy(&out.stdout).into_owned();
        let attributes = String::from_utf8_lossy(&out.stderr).into_owned();
        let secrets = secrets.lines().filter_map(|l| l.strip_prefix("secret = "));
        let accounts = attributes
            .lines()
            .filter_map(|l| l.strip_prefix("attribute.username = "));
        let mut items: Vec<(String, String)> = accounts
            .zip(secrets)
            .map(|(a, s)| (a.to_owned(), s.to_owned()))
            .collect();
        items.sort();
        items
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn start_daemon(&mut self, unlock: bool) {
        let mut cmd = Command::new("gnome-keyring-daemon");
        cmd.args(["--foreground", "--components=secrets"])
            .arg(if unlock { "--unlock" } else { "--start" })
            .env("HOME", self.home())
            .env("XDG_DATA_HOME", self.home().join("data"))
            .env("XDG_CONFIG_HOME", self.home().join("config"))
            .env_remove("GNOME_KEYRING_CONTROL")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.apply(&mut cmd);
        let mut daemon = cmd.spawn().expect(
            "gnome-keyring-daemon (Debian package gnome-keyring; tests/run.sh installs it)",
        );
        let mut stdin = daemon.stdin.take().unwrap();
        if unlock {
            stdin.write_all(PASSWORD.as_bytes()).unwrap();
        }
        drop(stdin);
        self.daemon = Some(daemon);
        self.wait_for_owner(true);
        if unlock {
            self.wait_for_login_keyring();
        }
    }

    fn dbus_send(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("dbus-send");
        cmd.args(["--session", "--print-reply"]).args(args);
        self.apply(&mut cmd);
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for_owner(&self, present: bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let reply = self.dbus_send(&[
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ]);
            if reply.contains(if present { "true" } else { "false" }) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the Secret Service never {}",
                if present { "appeared" } else { "went away" }
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for_login_keyring(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let reply = self.dbus_send(&[
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.ReadAlias",
                "string:default",
            ]);
            if reply.contains("collection/login") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the login keyring never appeared: {reply}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The directory of the keyring files.
    pub fn keyrings_dir(&self) -> PathBuf {
        self.home().join("data").join("keyrings")
    }

    /// A directory under this service's temporary directory.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The temporary directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}
