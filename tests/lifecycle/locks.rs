//! The renewal locks: files and folders that must be the user's alone, a
//! lock held forever, and waiters told of a hung renewal instead of
//! repeating it.

use super::*;

/// The user id tests give files to when running as root.
const NOBODY: u32 = 65534;

/// Whether the tests run as root (and so can give files to other users).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    tempfile::tempfile().unwrap().metadata().unwrap().uid() == 0
}

/// Waits for `child`, failing the test if it has not exited within
/// `limit` (a hang, not a slow run).
fn output_within(mut child: Child, limit: Duration) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// Runs `authhost token p` in `home` (failing the test on a hang) and
/// returns its stderr, asserting that it failed.
#[track_caller]
fn token_failure(home: &Home) -> String {
    let out = output_within(spawn_token(home), Duration::from_secs(60));
    assert!(!out.status.success(), "succeeded: {}", stdout(&out));
    stderr(&out)
}

/// Lock files are used only in a folder that is the user's alone, only as
/// regular files of the user's, never through a symbolic link: the provider
/// lock a helper run takes, the helper cache's lock and `auth.json.lock`.
#[test]
fn lock_files_and_their_folders_must_be_the_users_alone() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let helper = || counting_helper(&log, "sk-locked", "0", "ttl_ms = 60000");

    // The folder of provider locks.
    let home = helper();
    let locks = home.path().join("cache/locks");
    std::fs::create_dir_all(&locks).unwrap();
    std::fs::set_permissions(&locks, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = token_failure(&home);
    assert!(
        err.contains(&format!(
            "{} is writable by other users (mode 777)",
            locks.display()
        )) && err.contains("chmod 700"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&locks).unwrap().count(),
        0,
        "created a lock file"
    );
    if running_as_root() {
        std::fs::set_permissions(&locks, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&locks, Some(NOBODY), None).unwrap();
        let err = token_failure(&home);
        assert!(
            err.contains(&format!("{} is owned by user {NOBODY}", locks.display())),
            "{err}"
        );
        // A lock file of another user's in a folder of the user's.
        std::os::unix::fs::chown(&locks, Some(0), None).unwrap();
        let lock = locks.join("p.lock");
        std::fs::write(&lock, "").unwrap();
        std::os::unix::fs::chown(&lock, Some(NOBODY), None).unwrap();
        let err = token_failure(&home);
        assert!(
            err.contains(&format!("{} is owned by user {NOBODY}", lock.display()))
                && err.contains("remove it"),
            "{err}"
        );
    }
    assert_eq!(runs(&log), 0, "the helper ran without its lock");

    // Symbolic links where lock files go: nothing is created where they
    // point, and the error names the link.
    let target = dir.path().join("target");
    let home = helper();
    std::fs::create_dir_all(home.path().join("cache/locks")).unwrap();
    let lock = home.path().join("cache/locks/p.lock");
    symlink(&target, &lock).unwrap();
    let err = token_failure(&home);
    assert!(
        err.contains(&format!("{} is a symbolic link", lock.display())),
        "{err}"
    );
    assert_eq!(runs(&log), 0);
    std::fs::remove_file(&lock).unwrap();
    let cache_lock = home.path().join("cache/credentials.json.lock");
    symlink(&target, &cache_lock).unwrap();
    let err = token_failure(&home);
    assert!(
        err.contains(&format!("{} is a symbolic link", cache_lock.display())),
        "{err}"
    );
    assert!(!err.contains("sk-locked"), "{err}");
    let store_lock = home.path().join("auth.json.lock");
    symlink(&target, &store_lock).unwrap();
    let out = home.run_with_stdin(&["login", "openrouter", "--method", "api-key"], "sk-new\n");
    assert_fails_with(
        &out,
        &format!("{} is a symbolic link", store_lock.display()),
    );
    assert!(!home.store_path().exists());
    assert!(!target.exists(), "created a file where a link points");
}

/// A lock another process holds forever ends `token` after the call
/// timeout plus the margin, with an error naming the lock file; once it is
/// released, `token` works.
#[test]
fn a_lock_held_forever_ends_token_after_the_call_timeout() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let home = counting_helper(
        &log,
        "sk-after",
        "0",
        "ttl_ms = 0\n\n[limits]\ncall_timeout_ms = 1000",
    );
    let lock = home.path().join("cache/locks/p.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\n\
             f = open(sys.argv[1], 'a')\n\
             fcntl.flock(f, fcntl.LOCK_EX)\n\
             print('held', flush=True)\n\
             time.sleep(600)",
        ])
        .arg(&lock)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "held\n");

    let started = Instant::now();
    let err = token_failure(&home);
    let took = started.elapsed();
    assert!(
        err.contains(&format!(
            "gave up after 6 s waiting for the lock file {}",
            lock.display()
        )) && err.contains("fuser -v"),
        "{err}"
    );
    assert!(took >= Duration::from_secs(6), "gave up after {took:?}");
    assert_eq!(runs(&log), 0);

    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(token(&home), "sk-after");
}

/// While a helper hangs past the call timeout, four `token` processes take
/// about one timeout in all, not one each in turn: the helper runs once,
/// and the three that waited report its failure.
#[test]
fn waiters_report_a_hung_renewal_instead_of_repeating_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs");
    let home = counting_helper(
        &log,
        "sk-never",
        "30",
        "timeout_ms = 600000\n\n[limits]\ncall_timeout_ms = 3000",
    );
    let started = Instant::now();
    let first = spawn_token(&home);
    // The others start while the first one's helper runs (it has the lock).
    while runs(&log) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the helper never ran"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let waiters: Vec<Child> = (0..3).map(|_| spawn_token(&home)).collect();
    let timeout = "did not answer within 3000 ms (limit `call_timeout_ms`)";
    let out = output_within(first, Duration::from_secs(60));
    assert!(!out.status.success());
    assert!(stderr(&out).contains(timeout), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("another authhost process"),
        "{}",
        stderr(&out)
    );
    for waiter in waiters {
        let out = output_within(waiter, Duration::from_secs(60));
        assert!(!out.status.success(), "{}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("p: another authhost process tried just now and failed")
                && err.contains(timeout),
            "{err}"
        );
    }
    let took = started.elapsed();
    assert_eq!(runs(&log), 1, "a waiter ran the helper again");
    // The longest any of them may wait: the call timeout plus the margin.
    assert!(took < Duration::from_secs(8), "took {took:?}");
    eprintln!("four processes while a helper hangs: {took:?}");
}
