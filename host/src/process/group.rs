//! Killing a program and everything it started, at once: its process group
//! on Unix, a Job Object on Windows.
//!
//! On Unix the program starts as the leader of a new process group, and the
//! group is SIGKILLed. A process that leaves the group (`setsid`) is found by
//! the run's tag instead ([`super::tag`]).
//!
//! On Windows the program starts suspended, is put in a new Job Object that
//! kills every process in it when its last handle closes, and only then
//! resumes, so anything it starts is in the job too (a process cannot leave
//! a job that does not allow breaking away). Killing terminates the job, and
//! dropping the group closes the handle: whatever the run started is gone
//! when the call ends, however it ends.

use tokio::process::Child;

/// Prepares `cmd` so that what it starts can be killed as a whole: a new
/// process group (Unix), a suspended start for [`ProcessGroup::of`] to put
/// in a job and resume (Windows).
pub(super) fn prepare(cmd: &mut tokio::process::Command) {
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(windows)]
    cmd.creation_flags(windows_sys::Win32::System::Threading::CREATE_SUSPENDED);
    #[cfg(not(any(unix, windows)))]
    let _ = cmd;
}

/// Everything a run started. Killed on drop (a cancelled call leaves nothing
/// behind) until disarmed, which on Unix is done once the leader is reaped
/// and the group's id may name another group. On Windows the job is a
/// handle that cannot name anything else: dropping it always kills what is
/// left in it.
pub(super) struct ProcessGroup {
    #[cfg(unix)]
    id: Option<u32>,
    #[cfg(windows)]
    job: Option<job::Job>,
    armed: bool,
}

impl ProcessGroup {
    /// The group of `child`, started from a command given to [`prepare`].
    /// On Windows this puts the child in a new job and resumes it; an error
    /// means the child could not be resumed (it is killed when dropped).
    pub fn of(child: &Child) -> std::io::Result<ProcessGroup> {
        #[cfg(windows)]
        let job = job::Job::adopt(child)?;
        #[cfg(not(any(unix, windows)))]
        let _ = child;
        Ok(ProcessGroup {
            #[cfg(unix)]
            id: child.id(),
            #[cfg(windows)]
            job,
            armed: true,
        })
    }

    /// Stops killing the group on drop (Unix).
    pub fn disarm(&mut self) {
        self.armed = false;
    }

    /// Kills every process in the group: SIGKILL to the process group
    /// (Unix), the job terminated (Windows).
    pub fn kill(&self) {
        #[cfg(unix)]
        if let Some(pid) = self
            .id
            .and_then(|id| rustix::process::Pid::from_raw(i32::try_from(id).ok()?))
        {
            // ESRCH (everything in the group is gone already) is fine.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        #[cfg(windows)]
        if let Some(job) = &self.job {
            job.terminate();
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.armed {
            self.kill();
        }
        // On Windows the job's handle closes here, which kills whatever is
        // left in it (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE).
    }
}

#[cfg(windows)]
mod job {
    use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
    use windows_sys::Win32::System::Diagnostics::ToolHelp::{
        CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
    };
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
        SetInformationJobObject, TerminateJobObject,
    };
    use windows_sys::Win32::System::Threading::{OpenThread, ResumeThread, THREAD_SUSPEND_RESUME};

    /// A Job Object that kills its processes when its handle closes.
    pub struct Job(OwnedHandle);

    impl Job {
        /// Puts the suspended `child` in a new job, then resumes it. When no
        /// job can be made the child still runs (only it is killed then);
        /// when it cannot be resumed, an error.
        pub fn adopt(child: &tokio::process::Child) -> std::io::Result<Option<Job>> {
            let job = child
                .raw_handle()
                .and_then(|process| Job::new().filter(|job| job.assign(process as HANDLE)));
            let pid = child.id().unwrap_or(0);
            if !resume_threads(pid) {
                return Err(std::io::Error::other(
                    "the program was started suspended and could not be resumed",
                ));
            }
            Ok(job)
        }

        fn new() -> Option<Job> {
            // SAFETY: plain Win32 calls on a handle owned here; the
            // information structure is fully initialised and its size given.
            unsafe {
                let handle = CreateJobObjectW(std::ptr::null(), std::ptr::null());
                if handle.is_null() {
                    return None;
                }
                let job = Job(OwnedHandle::from_raw_handle(handle));
                let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
                info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
                let set = SetInformationJobObject(
                    job.handle(),
                    JobObjectExtendedLimitInformation,
                    (&raw const info).cast(),
                    std::mem::size_of_val(&info) as u32,
                );
                (set != 0).then_some(job)
            }
        }

        fn handle(&self) -> HANDLE {
            self.0.as_raw_handle() as HANDLE
        }

        fn assign(&self, process: HANDLE) -> bool {
            // SAFETY: both handles are open for the duration of the call.
            unsafe { AssignProcessToJobObject(self.handle(), process) != 0 }
        }

        /// Kills every process in the job.
        pub fn terminate(&self) {
            // SAFETY: the job handle is open.
            unsafe {
                TerminateJobObject(self.handle(), 1);
            }
        }
    }

    /// Resumes every thread of process `pid` (a process started suspended
    /// has one); whether any was resumed.
    fn resume_threads(pid: u32) -> bool {
        // SAFETY: the snapshot and thread handles are closed here; the entry
        // is initialised with its size as the API requires.
        unsafe {
            let snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
            if snapshot == INVALID_HANDLE_VALUE {
                return false;
            }
            let mut entry: THREADENTRY32 = std::mem::zeroed();
            entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
            let mut resumed = false;
            let mut more = Thread32First(snapshot, &mut entry) != 0;
            while more {
                if entry.th32OwnerProcessID == pid {
                    let thread = OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID);
                    if !thread.is_null() {
                        resumed |= ResumeThread(thread) != u32::MAX;
                        CloseHandle(thread);
                    }
                }
                more = Thread32Next(snapshot, &mut entry) != 0;
            }
            CloseHandle(snapshot);
            resumed
        }
    }
}
