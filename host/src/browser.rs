//! Opening a URL in the user's browser (the `browser` capability).
//!
//! The URL is always one argument, never a line for a shell to read:
//! `BROWSER` when set (split like a shell would, the URL appended), else
//! `open URL` on macOS, `xdg-open URL` on other Unix systems, and on Windows
//! `ShellExecuteW` with the URL as the file to open (what the shell's
//! default handler does, without `cmd.exe /c start` reading the URL's `&`).
//! The caller allows only `http` and `https` URLs.

use std::io;
use std::process::{Command, Stdio};

/// Opens `url` with the command in `BROWSER` (split like a shell would, the
/// URL appended as its last argument) when set, otherwise the platform's
/// opener. The browser runs detached with its output discarded; this
/// returns once it has started.
pub fn open(url: &str) -> io::Result<()> {
    if !cfg!(feature = "interactive-login") {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this build of authhost has no interactive login (the `interactive-login` Cargo feature)",
        ));
    }
    let Some(mut cmd) = opener(std::env::var("BROWSER").ok()) else {
        return open_with_shell_handler(url);
    };
    cmd.arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn()?;
    // Reap it whenever it exits, without making the caller wait.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// The command that opens a URL given as its last argument: `browser` (the
/// value of `BROWSER`) when set, otherwise the platform's opener; `None` on
/// Windows, where the URL goes to `ShellExecuteW` instead.
fn opener(browser: Option<String>) -> Option<Command> {
    if let Some(browser) = browser.filter(|b| !b.trim().is_empty()) {
        // Split like a shell would, so a quoted path with spaces works.
        let words = shell_words::split(&browser).unwrap_or_else(|_| vec![browser.clone()]);
        let mut cmd = Command::new(&words[0]);
        cmd.args(&words[1..]);
        return Some(cmd);
    }
    platform_opener().map(Command::new)
}

/// The program that opens a URL on this platform, if it is a program.
fn platform_opener() -> Option<&'static str> {
    if cfg!(target_os = "macos") {
        Some("open")
    } else if cfg!(windows) {
        None
    } else {
        Some("xdg-open")
    }
}

/// Opens `url` with the handler Windows has for its scheme (the default
/// browser for `http` and `https`).
#[cfg(windows)]
fn open_with_shell_handler(url: &str) -> io::Result<()> {
    use windows_sys::Win32::UI::Shell::ShellExecuteW;
    use windows_sys::Win32::UI::WindowsAndMessaging::SW_SHOWNORMAL;
    let wide = |s: &str| s.encode_utf16().chain([0]).collect::<Vec<u16>>();
    let (verb, file) = (wide("open"), wide(url));
    // SAFETY: NUL-terminated wide strings that outlive the call.
    let result = unsafe {
        ShellExecuteW(
            std::ptr::null_mut(),
            verb.as_ptr(),
            file.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            SW_SHOWNORMAL,
        )
    };
    // A value above 32 means success; at or below, an error code.
    if result as usize > 32 {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ShellExecuteW failed with code {}",
            result as usize
        )))
    }
}

#[cfg(not(windows))]
fn open_with_shell_handler(_url: &str) -> io::Result<()> {
    Err(io::Error::other("no URL opener on this platform"))
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
            .unwrap()
            .arg("http://127.0.0.1:1/x")
            .status()
            .unwrap();
        assert!(status.success());
        let args = std::fs::read_to_string(&out).unwrap();
        assert_eq!(args, "--new-tab|http://127.0.0.1:1/x|");
    }
}

#[cfg(test)]
mod opener_tests {
    #[test]
    fn the_platform_opener_takes_the_url_as_an_argument() {
        let expected = if cfg!(target_os = "macos") {
            Some("open")
        } else if cfg!(windows) {
            None
        } else {
            Some("xdg-open")
        };
        assert_eq!(super::platform_opener(), expected);
        for blank in [None, Some(String::new()), Some("  ".to_owned())] {
            let cmd = super::opener(blank);
            assert_eq!(
                cmd.as_ref().map(|c| c.get_program().to_owned()),
                expected.map(Into::into)
            );
            // Nothing but the URL is added later: no shell, no flags.
            assert!(cmd.is_none_or(|c| c.get_args().next().is_none()));
        }
    }
}
