//! Opening a URL in the user's browser (the `browser` capability).

use std::io;
use std::process::{Command, Stdio};

/// Opens `url` with the command in `BROWSER` (split like a shell would, the
/// URL appended as its last argument) when set, otherwise the platform's opener. The browser runs
/// detached with its output discarded; this returns once it has started.
pub fn open(url: &str) -> io::Result<()> {
    let mut cmd = opener(std::env::var("BROWSER").ok());
    cmd.arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn()?;
    // Reap it whenever it exits, without making the caller wait.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// The command that opens a URL: `browser` (the value of `BROWSER`) when
/// set, otherwise the platform's opener.
fn opener(browser: Option<String>) -> Command {
    if let Some(browser) = browser.filter(|b| !b.trim().is_empty()) {
        // Split like a shell would, so a quoted path with spaces works.
        let words = shell_words::split(&browser).unwrap_or_else(|_| vec![browser.clone()]);
        let mut cmd = Command::new(&words[0]);
        cmd.args(&words[1..]);
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

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn browser_commands_are_split_like_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("my browser.sh");
        let out = dir.path().join("args");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s|' \"$@\" > '{}'\n", out.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let browser = format!("'{}' --new-tab", script.display());
        let status = super::opener(Some(browser))
            .arg("http://127.0.0.1:1/x")
            .status()
            .unwrap();
        assert!(status.success());
        let args = std::fs::read_to_string(&out).unwrap();
        assert_eq!(args, "--new-tab|http://127.0.0.1:1/x|");
    }
}
