//! Which file a program name means.
//!
//! A plugin names the program to run in `argv[0]`. A bare name (`op`) is the
//! program of that name on the user's own `PATH` (authhost's environment),
//! skipping empty and relative entries: never the plugin's environment,
//! never the working directory. An absolute path is that file. A relative
//! path (`./op`, `bin/op`) is refused: a plugin cannot know the working
//! directory, and a grant could not say which file it means.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use super::RunError;
use super::environment::shown;

/// The file the program `name` resolves to: for a bare name, the first
/// executable file of that name in a `PATH` directory that is absolute; for
/// an absolute path, that path when it is an executable file. `None` when
/// nothing is found or `name` is a relative path. This is what
/// `process:NAME` grants run.
pub fn resolve_program(name: &str) -> Option<PathBuf> {
    if is_bare(name) {
        search(name, std::env::var_os("PATH").as_deref())
    } else if Path::new(name).is_absolute() {
        Some(PathBuf::from(name)).filter(|p| is_executable(p))
    } else {
        None
    }
}

/// The file to execute for `argv[0] = name`.
pub(super) fn locate(name: &str) -> Result<PathBuf, RunError> {
    if name.contains('\0') {
        return Err(RunError::NotFound {
            program: shown(name),
        });
    }
    if is_bare(name) {
        return search(name, std::env::var_os("PATH").as_deref()).ok_or_else(|| {
            RunError::NotFound {
                program: shown(name),
            }
        });
    }
    if Path::new(name).is_absolute() {
        return Ok(PathBuf::from(name));
    }
    Err(RunError::RelativePath {
        program: shown(name),
    })
}

/// A file name without any directory (`op`, not `./op` or `..`).
pub(super) fn is_bare(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && !name.contains(['/', '\\'])
}

/// `name` in the absolute directories of `path_var`, in order.
fn search(name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let path_var = path_var?;
    std::env::split_paths(path_var)
        .filter(|dir| dir.is_absolute())
        .flat_map(|dir| candidates(&dir, name))
        .find(|file| is_executable(file))
}

/// The files `name` may be in `dir`: itself, and on Windows with each
/// executable extension when it has none.
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    #[cfg_attr(not(windows), allow(unused_mut))]
    let mut files = vec![dir.join(name)];
    #[cfg(windows)]
    if Path::new(name).extension().is_none() {
        files.extend(
            [".exe", ".com"]
                .iter()
                .map(|ext| dir.join(format!("{name}{ext}"))),
        );
    }
    files
}

/// A regular file (after following links) that someone may execute.
fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    meta.is_file()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn program(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let file = dir.join(name);
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        file
    }

    #[test]
    fn bare_names_and_paths() {
        for name in ["op", "op.exe", "my-tool", ".hidden"] {
            assert!(is_bare(name), "{name}");
        }
        for name in ["", ".", "..", "./op", "/op", "a/op", "op/", "a\\op"] {
            assert!(!is_bare(name), "{name}");
        }
    }

    #[test]
    fn search_skips_empty_relative_and_non_executable_entries() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        program(a.path(), "op", 0o644);
        std::fs::create_dir(a.path().join("dir-op")).unwrap();
        let real = program(b.path(), "op", 0o755);
        program(b.path(), "dir-op", 0o755);
        let path_var = std::env::join_paths([
            Path::new(""),
            Path::new("."),
            Path::new("relative/bin"),
            a.path(),
            b.path(),
        ])
        .unwrap();
        assert_eq!(search("op", Some(&path_var)), Some(real));
        assert_eq!(
            search("dir-op", Some(&path_var)),
            Some(b.path().join("dir-op"))
        );
        assert_eq!(search("missing", Some(&path_var)), None);
        assert_eq!(search("op", None), None);
        // Only the working directory: nothing.
        let cwd_only = std::env::join_paths([Path::new(""), Path::new(".")]).unwrap();
        assert_eq!(search("op", Some(&cwd_only)), None);
    }

    #[test]
    fn resolve_program_reports_the_file() {
        let sh = resolve_program("sh").expect("sh on PATH");
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(resolve_program("/bin/sh"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(resolve_program("/nonexistent/op"), None);
        assert_eq!(resolve_program("./sh"), None);
        assert_eq!(resolve_program("no-such-program-4242"), None);
    }

    #[test]
    fn locate_refuses_relative_paths() {
        assert!(matches!(locate("./op"), Err(RunError::RelativePath { .. })));
        assert!(matches!(
            locate("bin/op"),
            Err(RunError::RelativePath { .. })
        ));
        assert!(matches!(
            locate("no-such-program-4242"),
            Err(RunError::NotFound { .. })
        ));
        assert_eq!(locate("/x/op").unwrap(), PathBuf::from("/x/op"));
    }
}
