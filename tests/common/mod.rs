//! Shared helpers for the integration tests: a temporary directory removed on drop, an
//! owned copy of an event, and a way to wait for events with a deadline (never a sleep).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::os::unix::io::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use inotify_raw::{
    AsDescriptor, Epoll, Event, EventBuffer, EventMask, Inotify, OnInterrupt, Readiness,
    WatchDescriptor,
};

/// How long a test waits for events it expects before giving up (and failing): long,
/// for qemu-user on a machine busy compiling; only a hung run reaches it.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a test waits to be sure an event it does not expect does not come.
pub const QUIET_TIMEOUT: Duration = Duration::from_millis(200);

/// A fresh directory under `std::env::temp_dir()`, removed with its contents on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a directory with a name no other test (in this or another process) uses:
    /// pid, a per-process counter and the clock's nanoseconds.
    pub fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "inotify-raw-test-{}-{}-{}",
            std::process::id(),
            n,
            nanos
        ));
        std::fs::create_dir(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {}", path.display(), e));
        TempDir { path }
    }

    /// A fresh directory at `path` (its parents made too), removed with its contents on
    /// drop.
    pub fn new_in(path: &Path) -> TempDir {
        std::fs::create_dir_all(path)
            .unwrap_or_else(|e| panic!("cannot create {}: {}", path.display(), e));
        TempDir {
            path: path.to_path_buf(),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name` inside the directory.
    pub fn join<P: AsRef<Path>>(&self, name: P) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// An event copied out of the read buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedEvent {
    pub wd: WatchDescriptor,
    pub mask: EventMask,
    pub cookie: u32,
    pub name: Option<Vec<u8>>,
    /// The record's `len` field (name field size, padding included).
    pub len: u32,
}

impl OwnedEvent {
    pub fn from_event(event: &Event<'_>) -> OwnedEvent {
        OwnedEvent {
            wd: event.wd(),
            mask: event.mask(),
            cookie: event.cookie(),
            name: event.name().map(<[u8]>::to_vec),
            len: event.len(),
        }
    }

    /// The name as bytes, for comparisons: `None` when the event has no name.
    pub fn name_bytes(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }
}

/// Waits for events on `inotify` (blocking or not) with `Epoll::wait`, copying them out,
/// until `until` holds for everything collected or `timeout` passes; returns what came.
///
/// Every read takes all the events queued (up to a 4096-byte buffer), so an action that
/// completed before the call has all its events in the result once `until` holds.
pub fn collect_events(
    inotify: &Inotify,
    until: impl Fn(&[OwnedEvent]) -> bool,
    timeout: Duration,
) -> Vec<OwnedEvent> {
    let epoll = Epoll::new().expect("epoll_create1");
    epoll.add(inotify, Readiness::IN, 0).expect("epoll_ctl ADD");
    let deadline = Instant::now() + timeout;
    let mut collected = Vec::new();
    let mut buffer = EventBuffer::<4096>::new();
    while !until(&collected) {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut ready = [inotify_raw::EpollEvent::default()];
        let n = epoll
            .wait(&mut ready, Some(left), OnInterrupt::Retry)
            .expect("epoll_pwait");
        if n == 0 {
            break; // timed out
        }
        match inotify.read(&mut buffer) {
            Ok(events) => {
                assert!(!events.is_empty(), "read returned end of file on inotify");
                for event in events {
                    let event = event.expect("kernel gave a malformed buffer");
                    collected.push(OwnedEvent::from_event(&event));
                }
            }
            Err(error) if error.is_would_block() => continue,
            Err(error) => panic!("read: {}", error),
        }
        if left.is_zero() {
            break;
        }
    }
    collected
}

/// Waits up to `timeout` for `fd` to be readable (data, or end of file); never blocks
/// longer, so a test whose writer failed to close fails instead of hanging in `read`.
pub fn wait_readable<F: AsFd>(fd: &F, timeout: Duration) -> bool {
    let epoll = Epoll::new().expect("epoll_create1");
    epoll.add(fd, Readiness::IN, 0).expect("epoll_ctl ADD");
    let mut ready = [inotify_raw::EpollEvent::default()];
    epoll
        .wait(&mut ready, Some(timeout), OnInterrupt::Retry)
        .expect("epoll_pwait")
        == 1
}

/// Collects events until there are at least `count`, or `EVENT_TIMEOUT` passes.
pub fn collect_at_least(inotify: &Inotify, count: usize) -> Vec<OwnedEvent> {
    collect_events(inotify, |events| events.len() >= count, EVENT_TIMEOUT)
}

/// Everything that arrives within `QUIET_TIMEOUT` (for checking that nothing does).
pub fn collect_quietly(inotify: &Inotify) -> Vec<OwnedEvent> {
    collect_events(inotify, |_| false, QUIET_TIMEOUT)
}

/// Builds one raw `struct inotify_event` record: the header in native byte order, then
/// `name` padded with NULs to `name_field_len` bytes (which must leave room for a NUL when
/// the name is not empty).
pub fn record(wd: i32, mask: u32, cookie: u32, name: &[u8], name_field_len: u32) -> Vec<u8> {
    let field = name_field_len as usize;
    assert!(
        name.is_empty() && field == 0 || name.len() < field,
        "name does not fit its field"
    );
    let mut bytes = Vec::with_capacity(16 + field);
    bytes.extend_from_slice(&wd.to_ne_bytes());
    bytes.extend_from_slice(&mask.to_ne_bytes());
    bytes.extend_from_slice(&cookie.to_ne_bytes());
    bytes.extend_from_slice(&name_field_len.to_ne_bytes());
    bytes.extend_from_slice(name);
    bytes.resize(16 + field, 0);
    bytes
}

/// Writes all of `bytes` to `fd` with the crate's `write` (retrying short writes).
pub fn write_all<F: AsFd>(fd: &F, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let n = inotify_raw::raw::write(fd.as_descriptor(), bytes).expect("write");
        assert!(n > 0, "write wrote nothing");
        bytes = &bytes[n..];
    }
}

/// Waits until an inotify instance of this process watches `dir`: a line for its inode
/// and device in `/proc/self/fdinfo`. Panics after `EVENT_TIMEOUT`.
///
/// A test that waits for a path in one thread calls this in another before it makes the
/// path, so that the making happens while the wait is under way (not before it starts).
pub fn wait_until_watched(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let meta =
        std::fs::metadata(dir).unwrap_or_else(|e| panic!("cannot stat {}: {}", dir.display(), e));
    // fdinfo prints the kernel's device number (major << 20 | minor) in hex; stat gives
    // the user-space encoding.
    let dev = meta.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let ino = format!(" ino:{:x} ", meta.ino());
    let sdev = format!(" sdev:{:x} ", (major << 20) | minor);
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let watched = std::fs::read_dir("/proc/self/fdinfo")
            .map(|entries| {
                entries.flatten().any(|entry| {
                    std::fs::read_to_string(entry.path())
                        .map(|info| {
                            info.lines().any(|line| {
                                line.starts_with("inotify wd:")
                                    && line.contains(&ino)
                                    && line.contains(&sdev)
                            })
                        })
                        .unwrap_or(false)
                })
            })
            .unwrap_or(false);
        if watched {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no inotify watch on {} after {:?}",
            dir.display(),
            EVENT_TIMEOUT
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How [`rerun`] starts the test binary again.
pub enum Rerun {
    /// As user and group 65534 (nobody): for what an unprivileged user sees.
    AsNobody,
    /// In a new user namespace (mapped to root there) whose
    /// `user.max_inotify_watches` is this low: for the watch limit, without touching
    /// the machine's own limit.
    WithWatchLimit(u32),
    /// In a new user namespace whose `user.max_inotify_instances` is this low.
    WithInstanceLimit(u32),
    /// With this soft `RLIMIT_NOFILE` (`ulimit -n`): for the descriptor limit. Needs
    /// no root.
    WithDescriptorLimit(u32),
}

/// The command that runs this test binary: through `$INOTIFY_RAW_EXAMPLE_RUNNER` when
/// set (`qemu-aarch64-static` for the aarch64 tests).
pub fn this_test_binary() -> std::process::Command {
    let exe = std::env::current_exe().unwrap();
    match std::env::var_os("INOTIFY_RAW_EXAMPLE_RUNNER") {
        Some(runner) if !runner.is_empty() => {
            let mut command = std::process::Command::new(runner);
            command.arg(exe);
            command
        }
        _ => std::process::Command::new(exe),
    }
}

/// Runs the test `helper` of this binary again, `how` says as whom, with `env` set (the
/// helper test does nothing without it), and returns what it printed after
/// `helper-result: `. `None` (with the reason printed) when this machine cannot: not
/// root, or no user namespaces.
pub fn rerun(helper: &str, env: (&str, &std::ffi::OsStr), how: Rerun) -> Option<String> {
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { geteuid() } == 0;
    if !root && !matches!(how, Rerun::WithDescriptorLimit(_)) {
        eprintln!("skipped: starting {} as another user needs root", helper);
        return None;
    }
    let inner = this_test_binary();
    // A shell that sets something up, then runs this test binary.
    let through_sh = |program: &str, args: &[&str], setup: String| {
        let mut command = std::process::Command::new(program);
        command
            .args(args)
            .args(["sh", "-c"])
            .arg(format!("{} && exec \"$@\"", setup))
            .arg("sh")
            .arg(inner.get_program())
            .args(inner.get_args());
        command
    };
    let in_user_namespace = ["--user", "--map-root-user"];
    let mut command = match how {
        Rerun::AsNobody => {
            let mut command = this_test_binary();
            command.uid(65534).gid(65534).current_dir("/");
            command
        }
        Rerun::WithWatchLimit(limit) => through_sh(
            "unshare",
            &in_user_namespace,
            format!("echo {} > /proc/sys/user/max_inotify_watches", limit),
        ),
        Rerun::WithInstanceLimit(limit) => through_sh(
            "unshare",
            &in_user_namespace,
            format!("echo {} > /proc/sys/user/max_inotify_instances", limit),
        ),
        Rerun::WithDescriptorLimit(limit) => through_sh("env", &[], format!("ulimit -n {}", limit)),
    };
    command
        .args(["--exact", helper, "--nocapture", "--test-threads=1"])
        .env(env.0, env.1);
    let output = match output(&mut command) {
        Ok(output) => output,
        Err(error) => {
            eprintln!("skipped: cannot start {}: {}", helper, error);
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && stderr.contains("unshare:") {
        eprintln!("skipped: no user namespace here: {}", stderr.trim());
        return None;
    }
    assert!(
        output.status.success(),
        "the helper failed ({}):\n{}\n{}",
        output.status,
        stdout,
        stderr
    );
    let line = stdout
        .lines()
        // libtest may print "test NAME ... " before it on the same line.
        .find_map(|line| line.split_once("helper-result: ").map(|(_, result)| result))
        .unwrap_or_else(|| panic!("no result line from the helper:\n{}\n{}", stdout, stderr));
    Some(line.to_string())
}

extern "C" {
    fn geteuid() -> u32;
}

/// How long a started child may take to reach `exec` before it counts as stuck.
const EXEC_TIMEOUT: Duration = Duration::from_secs(5);

/// `command.spawn()`, and then sure that the child has reached `exec`: under qemu-user,
/// `spawn` returns at the `fork`, and a child forked from a process with many threads
/// now and then hangs inside qemu before its `exec`, for good. Such a child (still a
/// copy of this test, by its command line) is killed and started again, at most twice,
/// with a note. A program that started and then hangs is not retried: its test fails.
/// Panics when the program cannot be started: [`try_spawn_past_exec`] returns that.
pub fn spawn_past_exec(command: &mut std::process::Command) -> std::process::Child {
    try_spawn_past_exec(command).unwrap_or_else(|e| panic!("cannot start {:?}: {}", command, e))
}

/// [`spawn_past_exec`], with the error of a program that cannot be started.
pub fn try_spawn_past_exec(
    command: &mut std::process::Command,
) -> std::io::Result<std::process::Child> {
    let me: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut attempt = 1;
    loop {
        let mut child = command.spawn()?;
        let deadline = Instant::now() + EXEC_TIMEOUT;
        let stuck = loop {
            if !is_unexeced_fork(child.id(), &me) {
                break false;
            }
            if Instant::now() >= deadline {
                break true;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        if !stuck || attempt == 3 {
            return Ok(child);
        }
        eprintln!(
            "note: the child started for {:?} never reached exec within {:?} (a qemu-user \
             fork hang); starting it again",
            command, EXEC_TIMEOUT
        );
        let _ = child.kill();
        let _ = child.wait();
        attempt += 1;
    }
}

/// `command.status()`, with the child started by [`try_spawn_past_exec`].
pub fn status(command: &mut std::process::Command) -> std::io::Result<std::process::ExitStatus> {
    try_spawn_past_exec(command)?.wait()
}

/// `command.output()`, with the child started by [`try_spawn_past_exec`]: its input is
/// empty, and both its outputs are captured.
pub fn output(command: &mut std::process::Command) -> std::io::Result<std::process::Output> {
    use std::process::Stdio;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    try_spawn_past_exec(command)?.wait_with_output()
}

/// Mounts a small tmpfs at `at`: false, with the reason printed, when this machine does
/// not allow it (root and `CAP_SYS_ADMIN` are needed); the test then skips.
pub fn mount_tmpfs(at: &Path) -> bool {
    let mounted = status(
        std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "inotify-raw-test"])
            .arg(at)
            .stderr(std::process::Stdio::null()),
    )
    .map(|status| status.success())
    .unwrap_or(false);
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
    }
    mounted
}

/// True while the process `pid` is a fork of this test that has not called `exec` yet:
/// its command line still ends with this test's arguments `me` (under qemu-user it
/// starts with qemu's own name). False once it has, or has exited.
fn is_unexeced_fork(pid: u32, me: &[std::ffi::OsString]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let cmdline = match std::fs::read(format!("/proc/{}/cmdline", pid)) {
        Ok(cmdline) => cmdline,
        Err(_) => return false,
    };
    let args: Vec<&[u8]> = cmdline
        .strip_suffix(&[0])
        .unwrap_or(&cmdline)
        .split(|&b| b == 0)
        .collect();
    let me: Vec<&[u8]> = me.iter().map(|arg| arg.as_bytes()).collect();
    !me.is_empty() && args.ends_with(&me)
}
