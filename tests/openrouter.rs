//! `authhost login openrouter` end to end against a local fake OpenRouter,
//! with stand-in browsers and a real headless Chromium.

mod callback;
mod exchange;
mod fake;
mod login;
mod pasting;
mod raw;

use crate::support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fake::{FakeOpenRouter, Mode};
use support::{Home, assert_fails_with, assert_success, stderr, stdout};

fn script(name: &str) -> PathBuf {
    support::workspace_root()
        .join("tests/openrouter")
        .join(name)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Login {
    home: Home,
    fake: FakeOpenRouter,
    port: u16,
    page: PathBuf,
    url_file: PathBuf,
}

impl Login {
    fn new(mode: Mode) -> Login {
        Login::with_options(mode, "")
    }

    fn with_options(mode: Mode, extra: &str) -> Login {
        let fake = FakeOpenRouter::start(mode);
        let port = free_port();
        // Every login gives up after a minute at most, so no test hangs.
        let sets_timeout = extra
            .lines()
            .any(|line| line.trim_start().starts_with("timeout_ms"));
        let timeout = if sets_timeout {
            ""
        } else {
            "timeout_ms = 60000"
        };
        let home = Home::with_config(&format!(
            "[providers.openrouter]\nbase_url = \"{}\"\ncallback_port = {port}\n{timeout}\n{extra}\n",
            fake.url()
        ));
        let page = home.path().join("page.html");
        let url_file = home.path().join("url.txt");
        Login {
            home,
            fake,
            port,
            page,
            url_file,
        }
    }

    /// `authhost login openrouter ARGS` with `browser` as BROWSER.
    fn command(&self, browser: &Path, args: &[&str]) -> std::process::Command {
        let mut cmd = self.home.cmd();
        cmd.args(["login", "openrouter"])
            .args(args)
            .env("BROWSER", browser)
            .env("AUTHHOST_TEST_PAGE", &self.page)
            .env("AUTHHOST_TEST_URL_FILE", &self.url_file);
        cmd
    }

    fn run(&self, browser: &Path) -> std::process::Output {
        self.command(browser, &[]).output().unwrap()
    }

    fn page(&self) -> String {
        for _ in 0..100 {
            if let Ok(text) = std::fs::read_to_string(&self.page)
                && !text.is_empty()
            {
                return text;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        String::new()
    }

    fn assert_nothing_stored(&self) {
        assert_eq!(self.home.store_json(), serde_json::Value::Null);
        let out = self.home.run(&["token", "openrouter"]);
        assert!(!out.status.success());
    }
}

/// `curl URL`: (status, body, redirect target).
fn curl(url: &str) -> (u16, String, String) {
    let out = std::process::Command::new("curl")
        .args([
            "--silent",
            "--max-time",
            "30",
            "--write-out",
            "\n%{http_code} %{redirect_url}",
            url,
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    let (body, meta) = text.rsplit_once('\n').unwrap();
    let (status, redirect) = meta.split_once(' ').unwrap_or((meta, ""));
    (
        status.parse().unwrap_or(0),
        body.to_owned(),
        redirect.to_owned(),
    )
}

/// The login URL printed on stderr, read while the process runs.
fn watch_stderr(child: &mut Child) -> (mpsc::Receiver<String>, std::thread::JoinHandle<String>) {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let all = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            if let Some(url) = line
                .trim()
                .strip_prefix("http")
                .map(|rest| format!("http{rest}"))
            {
                let _ = tx.send(url);
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (rx, all)
}

fn wait_for_file(path: &Path) -> String {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text.trim().to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}
