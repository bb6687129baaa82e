//! Finding every process one run started, even those that left its process
//! group (`setsid` daemons, double forks).
//!
//! Each run puts a random tag, `AUTHHOST_RUN_ID=<id>`, in its program's
//! environment; children inherit it across `fork`, `setsid` and `exec`. At
//! the end of the call (Linux) every process whose initial environment
//! (`/proc/PID/environ`) carries the tag is SIGKILLed through a pidfd, pass
//! after pass until a pass finds none, so a process forked during a pass is
//! caught by the next. Processes without the tag (the browser opener,
//! another call's programs, the embedding program) are never touched.
//!
//! Not caught: a process that drops the tag (`env -i`, `execve` with a new
//! environment, overwriting its environment block), one whose environment
//! authhost may not read (another user's, set-uid), and work handed to a
//! process that was already running (`systemd-run`, `at`, `crontab`, an
//! agent). Elsewhere than on Linux nothing is swept; the process group is
//! still killed.

/// The environment variable carrying the tag.
pub const TAG_NAME: &str = "AUTHHOST_RUN_ID";

/// Longest a sweep keeps going while killed processes are still exiting.
#[cfg(target_os = "linux")]
const MAX_PASSES: usize = 200;

/// The tag of one run. Dropping it sweeps, unless [`RunTag::sweep`] has
/// already been called.
pub struct RunTag {
    value: String,
    swept: bool,
    /// The run's first process: everything it starts gets a later process
    /// id (until the ids wrap around), so a sweep reads the environment of
    /// those only.
    first: Option<u32>,
}

impl RunTag {
    /// A tag no other run of any process shares (128 random bits).
    pub fn new() -> RunTag {
        RunTag {
            value: random_id(),
            swept: false,
            first: None,
        }
    }

    /// Notes the process id of the run's program (see [`RunTag::first`]).
    pub fn started(&mut self, pid: Option<u32>) {
        self.first = pid;
    }

    /// The value to put in the environment under [`TAG_NAME`].
    pub fn value(&self) -> &str {
        &self.value
    }

    /// SIGKILLs every process carrying the tag until none is left; returns
    /// how many signals were sent.
    pub fn sweep(&mut self) -> usize {
        self.swept = true;
        sweep(&self.value, self.first)
    }

    /// [`RunTag::sweep`] on a blocking thread, so that reading `/proc` does
    /// not hold up other tasks. Cancelling the wait does not stop the sweep.
    pub async fn sweep_in_background(&mut self) {
        self.swept = true;
        let (value, first) = (self.value.clone(), self.first);
        if tokio::task::spawn_blocking(move || sweep(&value, first))
            .await
            .is_err()
        {
            // The blocking pool is gone (runtime shutting down): sweep here.
            sweep(&self.value, self.first);
        }
    }
}

/// Kills the processes tagged `value`, pass after pass (Linux).
#[cfg(target_os = "linux")]
fn sweep(value: &str, first: Option<u32>) -> usize {
    let entry = format!("{TAG_NAME}={value}").into_bytes();
    // Process ids rise until they wrap around: unless they wrapped since the
    // run started, only ids from its first process on can carry the tag.
    let from = first.filter(|&first| linux::last_pid().is_some_and(|last| last >= first));
    let mut sent = 0;
    for _ in 0..MAX_PASSES {
        let killed = linux::kill_pass(&entry, from.unwrap_or(0));
        if killed == 0 {
            break;
        }
        sent += killed;
        // Give the SIGKILLed processes a moment to exit.
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    sent
}

/// Nothing to sweep without `/proc` and pidfds.
#[cfg(not(target_os = "linux"))]
fn sweep(_value: &str, _first: Option<u32>) -> usize {
    0
}

impl Drop for RunTag {
    fn drop(&mut self) {
        if !self.swept {
            self.sweep();
        }
    }
}

/// 32 hex digits from the OS's random source, with the process id and a
/// counter as a fallback that still keeps runs of this process apart.
fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::io::Read;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !random {
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(count);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        hasher.write_u128(now);
        bytes[..8].copy_from_slice(&hasher.finish().to_le_bytes());
        bytes[8..12].copy_from_slice(&std::process::id().to_le_bytes());
        bytes[12..].copy_from_slice(&(count as u32).to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(target_os = "linux")]
mod linux {
    use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

    /// The process id the kernel handed out last (in this pid namespace).
    pub fn last_pid() -> Option<u32> {
        std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// One pass over `/proc`: SIGKILLs each process with an id of at least
    /// `from` whose environment holds `entry`; returns how many.
    pub fn kill_pass(entry: &[u8], from: u32) -> usize {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return 0;
        };
        let me = std::process::id();
        let mut killed = 0;
        for item in dir.flatten() {
            let Some(raw) = item
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if raw < from || raw == me || !carries(raw, entry) {
                continue;
            }
            let Some(pid) = i32::try_from(raw).ok().and_then(Pid::from_raw) else {
                continue;
            };
            // Open a pidfd, then check again: if the pid was reused between
            // the two reads, the pidfd names a process that has exited and
            // the signal goes nowhere. Without pidfds (Linux < 5.3) nothing
            // is signalled.
            let Ok(pidfd) = pidfd_open(pid, PidfdFlags::empty()) else {
                continue;
            };
            if carries(raw, entry) && pidfd_send_signal(&pidfd, Signal::KILL).is_ok() {
                killed += 1;
            }
        }
        killed
    }

    /// Whether the environment process `pid` started with holds `entry`.
    /// False for zombies (no environment), other users' processes and
    /// processes that are gone.
    fn carries(pid: u32, entry: &[u8]) -> bool {
        std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|environ| environ.split(|&b| b == 0).any(|var| var == entry))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Duration;

    fn alive(pid: u32) -> bool {
        // A zombie has no environment left; count only live processes.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }

    #[test]
    fn ids_differ() {
        assert_ne!(RunTag::new().value(), RunTag::new().value());
        assert_eq!(RunTag::new().value().len(), 32);
    }

    #[test]
    fn only_processes_with_the_tag_are_killed() {
        let mut tag = RunTag::new();
        let other = RunTag::new();
        let spawn = |value: &str| {
            std::process::Command::new("sleep")
                .arg("30")
                .env(TAG_NAME, value)
                .spawn()
                .unwrap()
        };
        let mut tagged = spawn(tag.value());
        let mut untagged = spawn(other.value());
        std::thread::sleep(Duration::from_millis(50));
        assert!(tag.sweep() >= 1);
        let status = tagged.wait().unwrap();
        assert!(!status.success());
        assert!(alive(untagged.id()), "a process of another run was killed");
        untagged.kill().unwrap();
        untagged.wait().unwrap();
    }
}
