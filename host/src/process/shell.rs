//! The platform shell that runs a shell line: `/bin/sh -c LINE` on Unix,
//! `cmd.exe /d /s /c "LINE"` on Windows, the convention key helpers follow
//! (it is what Node runs for `shell: true`).
//!
//! On Windows the line is passed to `cmd.exe` unchanged inside one pair of
//! quotes: `/s` makes `cmd.exe` strip exactly the first and the last quote
//! of what follows `/c` and run the rest as written, so quotes, `&`, `|`
//! and `%VAR%` inside the line mean what they mean at a `cmd.exe` prompt.
//! `/d` skips the AutoRun commands of the registry. `cmd.exe` is the one in
//! the system folder, never one found on `PATH` or beside authhost. A line
//! break ends the command there, as at a prompt.

/// The shell's name, as errors and `process:NAME` grants name it.
pub const NAME: &str = if cfg!(windows) { "cmd" } else { "sh" };

/// The command that runs `line` through the platform shell.
pub fn command(line: &str) -> tokio::process::Command {
    #[cfg(windows)]
    {
        let system_root = std::env::var("SystemRoot").ok();
        let mut cmd = tokio::process::Command::new(cmd_exe(system_root.as_deref()));
        cmd.args(CMD_FLAGS).raw_arg(cmd_argument(line));
        cmd
    }
    #[cfg(not(windows))]
    {
        let mut cmd = tokio::process::Command::new("/bin/sh");
        cmd.arg("-c").arg(line);
        cmd
    }
}

/// The flags before the line: no AutoRun (`/d`), strip only the outer
/// quotes (`/s`), run the line and exit (`/c`).
#[cfg_attr(not(windows), allow(dead_code))]
const CMD_FLAGS: [&str; 3] = ["/d", "/s", "/c"];

/// The windows folder when `SystemRoot` is unset or not a drive path.
#[cfg_attr(not(windows), allow(dead_code))]
const DEFAULT_SYSTEM_ROOT: &str = r"C:\Windows";

/// The last argument of `cmd.exe`, passed verbatim (not quoted again by the
/// C runtime's rules, which `cmd.exe` does not follow): the line in one
/// pair of quotes for `/s` to strip.
#[cfg_attr(not(windows), allow(dead_code))]
fn cmd_argument(line: &str) -> String {
    format!("\"{line}\"")
}

/// `cmd.exe` in the system folder, `%SystemRoot%\System32\cmd.exe`, with
/// `C:\Windows` when `SystemRoot` is not a plain drive path (`X:\...`).
#[cfg_attr(not(windows), allow(dead_code))]
fn cmd_exe(system_root: Option<&str>) -> String {
    let root = system_root
        .filter(|root| is_drive_path(root))
        .unwrap_or(DEFAULT_SYSTEM_ROOT);
    format!(r"{}\System32\cmd.exe", root.trim_end_matches('\\'))
}

/// `X:\` followed by anything but quotes and characters `cmd.exe` or the
/// command line would read specially.
#[cfg_attr(not(windows), allow(dead_code))]
fn is_drive_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && bytes[2] == b'\\'
        && !path.contains(['"', '%', '\0', '\r', '\n'])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `cmd.exe` runs for the command-line tail after its own name,
    /// by its documented rule for `/s /c`: the first quote and the last
    /// quote after `/c` are removed, everything else is kept.
    fn what_cmd_runs(tail: &str) -> String {
        let rest = tail
            .strip_prefix("/d /s /c ")
            .expect("the flags come first, in this order");
        let first = rest.find('"').expect("an opening quote");
        let last = rest.rfind('"').expect("a closing quote");
        assert!(first < last);
        format!(
            "{}{}{}",
            &rest[..first],
            &rest[first + 1..last],
            &rest[last + 1..]
        )
    }

    #[test]
    fn cmd_runs_the_line_exactly_as_written() {
        for line in [
            "op read op://vault/key",
            r#""C:\Program Files\Vault\vault.exe" read "secret/my key" -field=token"#,
            r#"echo "a b" & exit 3"#,
            "type %USERPROFILE%\\key.txt | findstr /v #",
            r#"powershell -NoProfile -Command "(Get-Content 'k.txt').Trim()""#,
            r#"a"b"#,
            "\"",
            "",
            "^&<>()@!",
        ] {
            let tail = format!("{} {}", CMD_FLAGS.join(" "), cmd_argument(line));
            assert_eq!(what_cmd_runs(&tail), line, "tail: {tail}");
        }
    }

    #[test]
    fn cmd_is_the_one_in_the_system_folder() {
        assert_eq!(cmd_exe(Some(r"C:\Windows")), r"C:\Windows\System32\cmd.exe");
        assert_eq!(cmd_exe(Some(r"D:\WINNT\")), r"D:\WINNT\System32\cmd.exe");
        for odd in [
            None,
            Some(""),
            Some("Windows"),
            Some(r"\\server\share"),
            Some(r".\Windows"),
            Some(r#"C:\Win"dows"#),
            Some(r"C:\%OTHER%"),
        ] {
            assert_eq!(cmd_exe(odd), r"C:\Windows\System32\cmd.exe", "{odd:?}");
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn unix_lines_run_through_sh() {
        let out = command("printf '%s|' \"$0\" 'a b'").output().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "/bin/sh|a b|");
    }
}
