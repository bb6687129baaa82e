//! Opening a URL in the user's browser (the `browser` capability).

use std::io;
use std::process::{Command, Stdio};

/// Opens `url` with the command in `BROWSER` (the URL appended as its last
/// argument) when set, otherwise the platform's opener. The browser runs
/// detached with its output discarded; this returns once it has started.
pub fn open(url: &str) -> io::Result<()> {
    let mut cmd = opener();
    cmd.arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn()?;
    // Reap it whenever it exits, without making the caller wait.
    std::thread::spawn(move || child.wait());
    Ok(())
}

fn opener() -> Command {
    if let Some(browser) = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
    {
        let mut words = browser.split_whitespace();
        let mut cmd = Command::new(words.next().unwrap_or_default());
        cmd.args(words);
        return cmd;
    }
    if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut cmd = Command::new("cmd");
        cmd.args(["/d", "/c", "start", ""]);
        cmd
    } else {
        Command::new("xdg-open")
    }
}
