//! Waiting, with a deadline, for what the kernel shows in `/proc`: that a process has an
//! inotify watch on a directory, that a thread is blocked in a system call, that a child
//! has exited. No sleep stands in for an event: each polls a fact until it holds.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{fail, Failure, TIMEOUT};

/// How often a fact is looked at again.
const POLL: Duration = Duration::from_millis(2);

/// Polls `holds` until it returns true, failing with `what` after [`TIMEOUT`].
fn poll_until(what: &str, mut holds: impl FnMut() -> io::Result<bool>) -> Result<(), Failure> {
    let deadline = Instant::now() + TIMEOUT;
    while !holds()? {
        if Instant::now() >= deadline {
            return Err(fail(format!("{what}: not within {TIMEOUT:?}")));
        }
        thread::sleep(POLL);
    }
    Ok(())
}

/// The inodes that process `pid` (`"self"` for this one) has inotify watches on, from
/// the `inotify wd:N ino:HEX ...` lines of its `/proc/PID/fdinfo`.
fn watched_inodes(pid: &str) -> io::Result<Vec<u64>> {
    let mut inodes = Vec::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fdinfo"))? {
        // A descriptor closed since the listing has no fdinfo any more.
        let Ok(info) = fs::read_to_string(entry?.path()) else {
            continue;
        };
        for line in info.lines().filter(|line| line.starts_with("inotify wd:")) {
            let ino = line
                .split_whitespace()
                .find_map(|field| field.strip_prefix("ino:"))
                .and_then(|hex| u64::from_str_radix(hex, 16).ok());
            inodes.extend(ino);
        }
    }
    Ok(inodes)
}

/// Waits until process `pid` (`"self"` for this one) has an inotify watch on `dir`.
pub fn await_watch_on(pid: &str, dir: &Path) -> Result<(), Failure> {
    let ino = fs::metadata(dir)?.ino();
    poll_until(
        &format!("an inotify watch on {} in process {pid}", dir.display()),
        || Ok(watched_inodes(pid)?.contains(&ino)),
    )
}

/// Where the calling thread's `/proc/PID/task/TID` directory is.
pub fn this_thread() -> io::Result<std::path::PathBuf> {
    Ok(Path::new("/proc").join(fs::read_link("/proc/thread-self")?))
}

/// Waits until the thread at `task` (`/proc/PID/task/TID`) is blocked in a system call:
/// its `syscall` file then starts with the call's number, where a running thread's
/// reads `running`.
pub fn await_blocked_in_syscall(task: &Path) -> Result<(), Failure> {
    let file = task.join("syscall");
    poll_until(
        &format!("{} blocked in a system call", task.display()),
        || {
            let state = fs::read_to_string(&file)?;
            Ok(state
                .split_whitespace()
                .next()
                .and_then(|nr| nr.parse::<u32>().ok())
                .is_some())
        },
    )
}

/// Waits for `child` to exit; kills it and fails after [`TIMEOUT`].
pub fn await_exit(child: &mut Child, what: &str) -> Result<ExitStatus, Failure> {
    let mut status = None;
    let waited = poll_until(&format!("{what} to exit"), || {
        status = child.try_wait()?;
        Ok(status.is_some())
    });
    if let Err(failure) = waited {
        // Already gone is fine: the wait below reaps it either way.
        let _ = child.kill();
        child.wait()?;
        return Err(failure);
    }
    status.ok_or_else(|| fail(format!("{what}: no exit status")))
}
