//! Finding every process one run started, even those that left its process
//! group (`setsid` daemons, double forks).
//!
//! Each run puts a random tag, `AUTHHOST_RUN_ID=<id>`, in its program's
//! environment; children inherit it across `fork`, `setsid` and `exec`. At
//! the end of the call every process whose initial environment carries the
//! tag is SIGKILLed, pass after pass until a pass finds none, so a process
//! forked during a pass is caught by the next. Processes without the tag
//! (the browser opener, another call's programs, the embedding program) are
//! never touched.
//!
//! - **Linux**: the environment is read from `/proc/PID/environ`, and the
//!   signal goes through a pidfd opened before a second check, so a reused
//!   process id is never signalled.
//! - **macOS**: the processes are listed with `proc_listallpids` and the
//!   environment is read with `sysctl(KERN_PROCARGS2)`; without pidfds the
//!   tag is checked again right before `kill`, which narrows but cannot
//!   close the window in which the id could be reused.
//! - **Windows**: nothing to sweep; every process the program starts stays
//!   in its Job Object, which is killed ([`super::group`]).
//!
//! Not caught: a process that drops the tag (`env -i`, `execve` with a new
//! environment, overwriting its environment block), one whose environment
//! authhost may not read (another user's, set-uid), and work handed to a
//! process that was already running (`systemd-run`, `launchctl`, `at`,
//! `crontab`, an agent). On other Unix systems nothing is swept; the
//! process group is still killed.

/// The environment variable carrying the tag.
pub const TAG_NAME: &str = "AUTHHOST_RUN_ID";

/// Longest a sweep keeps going while killed processes are still exiting.
#[cfg(any(target_os = "linux", target_os = "macos"))]
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
        if few_candidates(self.first) {
            // A handful of reads: cheaper than starting a thread.
            sweep(&self.value, self.first);
            return;
        }
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

/// Kills the processes tagged `value`, pass after pass.
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn sweep(value: &str, first: Option<u32>) -> usize {
    let entry = format!("{TAG_NAME}={value}").into_bytes();
    let mut sent = 0;
    for _ in 0..MAX_PASSES {
        #[cfg(target_os = "linux")]
        let killed = linux::kill_pass(&entry, linux::candidates(first));
        #[cfg(target_os = "macos")]
        let killed = {
            let _ = first;
            macos::kill_pass(&entry)
        };
        if killed == 0 {
            break;
        }
        sent += killed;
        // Give the SIGKILLed processes a moment to exit.
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    sent
}

/// Whether a sweep reads so few entries of `/proc` that it may run on the
/// caller's thread.
#[cfg(target_os = "linux")]
fn few_candidates(first: Option<u32>) -> bool {
    matches!(linux::candidates(first), linux::Candidates::Range(first, last) if last - first < 16)
}

/// On macOS a sweep reads every process: a blocking thread's work.
#[cfg(target_os = "macos")]
fn few_candidates(_first: Option<u32>) -> bool {
    false
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn few_candidates(_first: Option<u32>) -> bool {
    true
}

/// Nothing to sweep: on Windows the Job Object holds every process the run
/// started; elsewhere only the process group is killed.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
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

/// 32 hex digits from the OS's random source.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS's random source works");
    hex::encode(bytes)
}

#[cfg(target_os = "linux")]
mod linux {
    use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

    /// Which processes may carry the tag of a run whose first process is
    /// `first`. Process ids rise until they wrap around, so unless they
    /// wrapped since the run started, only ids from `first` to the last one
    /// handed out can: usually a handful, probed directly. Otherwise every
    /// process in `/proc`.
    pub fn candidates(first: Option<u32>) -> Candidates {
        match (first, last_pid()) {
            (Some(first), Some(last)) if last >= first && last - first <= MAX_PROBES => {
                Candidates::Range(first, last)
            }
            (Some(first), Some(last)) if last >= first => Candidates::From(first),
            _ => Candidates::From(0),
        }
    }

    /// Ids to probe one by one before listing `/proc` is cheaper.
    const MAX_PROBES: u32 = 512;

    /// The processes a pass examines.
    #[derive(Debug, Clone, Copy)]
    pub enum Candidates {
        /// The ids `first..=last`.
        Range(u32, u32),
        /// Every process in `/proc` with an id of at least this.
        From(u32),
    }

    /// The process id the kernel handed out last (in this pid namespace).
    fn last_pid() -> Option<u32> {
        std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// One pass: SIGKILLs each candidate process whose environment holds
    /// `entry`; returns how many.
    pub fn kill_pass(entry: &[u8], candidates: Candidates) -> usize {
        let me = std::process::id();
        let ids: Box<dyn Iterator<Item = u32>> = match candidates {
            Candidates::Range(first, last) => Box::new(first..=last),
            Candidates::From(from) => {
                let Ok(dir) = std::fs::read_dir("/proc") else {
                    return 0;
                };
                Box::new(dir.flatten().filter_map(move |item| {
                    item.file_name()
                        .to_str()
                        .and_then(|s| s.parse::<u32>().ok())
                        .filter(|&raw| raw >= from)
                }))
            }
        };
        let mut killed = 0;
        let mut between_images = Vec::new();
        for raw in ids {
            if raw == me {
                continue;
            }
            match environment(raw) {
                Environment::Of(environ) if holds(&environ, entry) => {
                    killed += usize::from(kill_if_tagged(raw, entry));
                }
                Environment::Empty if in_execve(raw) => between_images.push(raw),
                _ => {}
            }
        }
        // A process in the middle of `execve` shows no environment until
        // its new image is set up (a daemon exec-ing `sleep`, say): look at
        // those again until they show one or are gone.
        for _ in 0..EXEC_RECHECKS {
            if between_images.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
            between_images.retain(|&raw| match environment(raw) {
                Environment::Of(environ) => {
                    if holds(&environ, entry) {
                        killed += usize::from(kill_if_tagged(raw, entry));
                    }
                    false
                }
                Environment::Empty => in_execve(raw),
                Environment::Unreadable => false,
            });
        }
        killed
    }

    /// How many times (a millisecond apart) a process that shows no
    /// environment is looked at again.
    const EXEC_RECHECKS: usize = 20;

    /// SIGKILLs `raw` if it still carries `entry`. It opens a pidfd, then
    /// checks again: if the pid was reused between the two reads, the pidfd
    /// names a process that has exited and the signal goes nowhere. Without
    /// pidfds (Linux < 5.3) nothing is signalled.
    fn kill_if_tagged(raw: u32, entry: &[u8]) -> bool {
        let Some(pid) = i32::try_from(raw).ok().and_then(Pid::from_raw) else {
            return false;
        };
        let Ok(pidfd) = pidfd_open(pid, PidfdFlags::empty()) else {
            return false;
        };
        matches!(environment(raw), Environment::Of(environ) if holds(&environ, entry))
            && pidfd_send_signal(&pidfd, Signal::KILL).is_ok()
    }

    /// What `/proc/PID/environ` shows.
    enum Environment {
        /// The environment the process started with.
        Of(Vec<u8>),
        /// Nothing: a zombie, a kernel thread, a process that cleared it,
        /// or one in the middle of `execve`.
        Empty,
        /// Gone, or not ours to read.
        Unreadable,
    }

    fn environment(pid: u32) -> Environment {
        match std::fs::read(format!("/proc/{pid}/environ")) {
            Ok(environ) if environ.is_empty() => Environment::Empty,
            Ok(environ) => Environment::Of(environ),
            Err(_) => Environment::Unreadable,
        }
    }

    /// Whether `environ` (NUL-separated) holds the variable `entry`.
    fn holds(environ: &[u8], entry: &[u8]) -> bool {
        environ.split(|&b| b == 0).any(|var| var == entry)
    }

    /// Whether `pid` may be between two images: alive (not a zombie) and
    /// not a kernel thread (`PF_KTHREAD` in the flags of `/proc/PID/stat`).
    pub(super) fn in_execve(pid: u32) -> bool {
        const PF_KTHREAD: u64 = 0x0020_0000;
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // After the command name in parentheses: state, ppid, pgrp,
        // session, tty_nr, tpgid, flags.
        let mut fields = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace();
        let state = fields.next().unwrap_or("Z");
        let flags: u64 = fields
            .nth(5)
            .and_then(|f| f.parse().ok())
            .unwrap_or(PF_KTHREAD);
        !matches!(state, "Z" | "X" | "x") && flags & PF_KTHREAD == 0
    }
}

/// The environment strings in the result of `sysctl(KERN_PROCARGS2)`:
/// `argc` (a native-endian 32-bit integer), the executable's path, NUL
/// padding, `argc` arguments, then the environment, each NUL-terminated,
/// up to an empty string or the end.
#[cfg(any(test, target_os = "macos"))]
fn procargs_environment(procargs: &[u8]) -> impl Iterator<Item = &[u8]> {
    let (argc, rest) = match procargs.split_first_chunk::<4>() {
        Some((argc, rest)) => (u32::try_from(i32::from_ne_bytes(*argc)).unwrap_or(0), rest),
        None => (0, &[][..]),
    };
    // The executable's path, then the padding after it.
    let path_end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let start = rest[path_end..]
        .iter()
        .position(|&b| b != 0)
        .map_or(rest.len(), |i| path_end + i);
    rest[start..]
        .split(|&b| b == 0)
        .skip(argc as usize)
        .take_while(|var| !var.is_empty())
}

#[cfg(target_os = "macos")]
mod macos {
    use std::ffi::c_int;

    /// One pass: SIGKILLs each process whose environment holds `entry`;
    /// returns how many.
    pub fn kill_pass(entry: &[u8]) -> usize {
        let me = std::process::id() as libc::pid_t;
        let mut buffer = Vec::new();
        let mut killed = 0;
        for pid in all_pids() {
            if pid <= 1 || pid == me || !carries(pid, entry, &mut buffer) {
                continue;
            }
            // No pidfds here: check again right before the signal.
            // SAFETY: `kill` has no memory-safety preconditions.
            if carries(pid, entry, &mut buffer) && unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                killed += 1;
            }
        }
        killed
    }

    /// Every process id on the system.
    fn all_pids() -> Vec<libc::pid_t> {
        // SAFETY: a null buffer asks for the count only.
        let count = unsafe { libc::proc_listallpids(std::ptr::null_mut(), 0) };
        let Ok(count) = usize::try_from(count) else {
            return Vec::new();
        };
        // Room for processes started in between.
        let mut pids: Vec<libc::pid_t> = vec![0; count + 64];
        let bytes = c_int::try_from(std::mem::size_of_val(pids.as_slice())).unwrap_or(c_int::MAX);
        // SAFETY: the buffer holds `bytes` bytes.
        let listed = unsafe { libc::proc_listallpids(pids.as_mut_ptr().cast(), bytes) };
        pids.truncate(usize::try_from(listed).unwrap_or(0).min(pids.len()));
        pids
    }

    /// Whether the environment process `pid` started with holds `entry`.
    /// False for processes of other users, zombies and processes that are
    /// gone. `buffer` is reused between calls.
    fn carries(pid: libc::pid_t, entry: &[u8], buffer: &mut Vec<u8>) -> bool {
        let mut mib = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid];
        let mut size: libc::size_t = 0;
        // SAFETY: a null buffer asks for the size only.
        let sized = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                3,
                std::ptr::null_mut(),
                &mut size,
                std::ptr::null_mut(),
                0,
            )
        };
        if sized != 0 || size == 0 {
            return false;
        }
        buffer.resize(size, 0);
        // SAFETY: `buffer` holds `size` bytes; the kernel writes at most
        // that many and stores how many it wrote in `size`.
        let read = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                3,
                buffer.as_mut_ptr().cast(),
                &mut size,
                std::ptr::null_mut(),
                0,
            )
        };
        read == 0
            && super::procargs_environment(&buffer[..size.min(buffer.len())])
                .any(|var| var == entry)
    }
}

#[cfg(test)]
mod procargs_tests {
    use super::procargs_environment;

    fn procargs(argc: i32, rest: &[u8]) -> Vec<u8> {
        let mut bytes = argc.to_ne_bytes().to_vec();
        bytes.extend_from_slice(rest);
        bytes
    }

    #[test]
    fn the_environment_follows_path_padding_and_arguments() {
        let bytes = procargs(
            3,
            b"/bin/sleep\0\0\0\0sleep\0\0AUTHHOST_RUN_ID=in-argv\0HOME=/Users/a\0AUTHHOST_RUN_ID=abc\0\0junk\0",
        );
        let env: Vec<&[u8]> = procargs_environment(&bytes).collect();
        assert_eq!(env, [&b"HOME=/Users/a"[..], b"AUTHHOST_RUN_ID=abc"]);
    }

    #[test]
    fn short_or_odd_buffers_give_nothing_or_what_is_there() {
        assert_eq!(procargs_environment(b"").count(), 0);
        assert_eq!(procargs_environment(b"\x01\0").count(), 0);
        assert_eq!(procargs_environment(&procargs(0, b"/bin/x")).count(), 0);
        assert_eq!(
            procargs_environment(&procargs(-1, b"/bin/x\0A=1")).count(),
            1
        );
        let bytes = procargs(1, b"/x\0x\0A=1");
        let env: Vec<&[u8]> = procargs_environment(&bytes).collect();
        assert_eq!(env, [&b"A=1"[..]]);
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

    #[cfg(target_os = "linux")]
    #[test]
    fn only_live_user_processes_may_be_between_images() {
        assert!(linux::in_execve(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Exited, not yet reaped: a zombie.
        while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap()
            .contains(") Z")
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!linux::in_execve(pid));
        child.wait().unwrap();
        assert!(!linux::in_execve(pid), "gone");
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
