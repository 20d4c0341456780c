//! The `examples/nolibc` program: `inotifywait -m DIR` and `wait PATH [SECONDS]` as a
//! static binary with no libc, on this crate's own system calls and its own `_start`.
//!
//! The tests build it in release (a separate cargo package, built into a directory of its
//! own under this build's target directory),
//! check with `readelf` that it is a static executable within its size budget, and run it
//! against real file operations, comparing its output line by line with what
//! `inotifywait -m` prints for them, and run `wait` against paths that exist, appear
//! later, or never do, checking its exit status (0 found, 2 timed out, 1 error) and its
//! one line of error. They wait for the program's inotify watch through
//! `/proc/PID/fdinfo` and for its output with deadlines, never with a sleep.
//!
//! Only on x86_64: the aarch64 binary is checked under qemu by `examples/nolibc/check.sh`.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// The most bytes the stripped binary may have.
const SIZE_BUDGET: u64 = 16 * 1024;

/// How long to wait for the build, a watch, output or an exit before failing.
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);
const TIMEOUT: Duration = Duration::from_secs(10);

/// The oldest Rust that builds the program (naked functions, `naked_asm!`).
const MIN_RUST_MINOR: u32 = 88;

/// The built binary, or why the tests skip; built once for all the tests of this file.
static BINARY: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);

/// These tests start processes and write files. A child forked while another test has a
/// file open holds that file until it execs, which delays the file's `IN_CLOSE_WRITE`
/// past the events the test expects next: so they run one at a time.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The binary, with this test's turn: hold the guard for the whole test. `None` (with
/// the reason printed) when the binary cannot be built here.
fn binary_alone() -> Option<(std::sync::MutexGuard<'static, ()>, PathBuf)> {
    let turn = one_at_a_time();
    Some((turn, binary()?))
}

/// The binary's path, building it on first use; `None` (after saying why) to skip.
fn binary() -> Option<PathBuf> {
    let mut built = BINARY.lock().unwrap_or_else(|e| e.into_inner());
    let result = built.get_or_insert_with(build).clone();
    match result {
        Ok(path) => Some(path),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

fn nolibc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/nolibc")
}

/// Builds the program with `cargo build --release`; `Err` says why the tests skip.
fn build() -> Result<PathBuf, String> {
    if !cfg!(target_arch = "x86_64") {
        return Err(format!(
            "the nolibc program is tested natively on x86_64 only, not on {} \
             (examples/nolibc/check.sh checks the aarch64 build under qemu)",
            std::env::consts::ARCH
        ));
    }
    if let Some(minor) = rustc_minor() {
        if minor < MIN_RUST_MINOR {
            return Err(format!(
                "the nolibc program needs Rust 1.{MIN_RUST_MINOR} or later (naked functions); \
                 this rustc is 1.{minor}"
            ));
        }
    }
    let dir = nolibc_dir();
    if !dir.join("Cargo.toml").is_file() {
        // `cargo package` leaves nested packages out of the published crate.
        return Err(format!(
            "{} is not in this source tree (a published package?)",
            dir.display()
        ));
    }
    // Under this build's target directory (`CARGO_TARGET_DIR` or `target/`), never in the
    // source tree: `CARGO_TARGET_TMPDIR` is the part of it cargo gives integration tests.
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nolibc");
    let mut cargo = Command::new(env!("CARGO"));
    // Cargo reads .cargo/config.toml (the flags for a static binary without libc) from the
    // directory it runs in, not from the manifest's.
    cargo
        .current_dir(&dir)
        .args(["build", "--release", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .stdin(Stdio::null());
    // Anything that would replace those flags, pick another target or change the profile.
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        if key_str == "RUSTFLAGS"
            || key_str.starts_with("CARGO_ENCODED_RUSTFLAGS")
            || key_str.starts_with("CARGO_BUILD_")
            || key_str.starts_with("CARGO_PROFILE_")
            || key_str.starts_with("CARGO_TARGET_")
        {
            cargo.env_remove(&key);
        }
    }
    let started = Instant::now();
    let output = cargo
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", env!("CARGO")));
    assert!(
        output.status.success(),
        "building examples/nolibc failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        started.elapsed() < BUILD_TIMEOUT,
        "building examples/nolibc took {:?}",
        started.elapsed()
    );
    eprintln!(
        "built examples/nolibc in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(target_dir.join("release/inotify-nolibc"))
}

/// The minor version of the rustc cargo will use (`RUSTC`, or `rustc` on the `PATH`).
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).arg("-V").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = text.split_whitespace().nth(1)?;
    version.split('.').nth(1)?.parse().ok()
}

#[test]
#[cfg_attr(miri, ignore)]
fn binary_is_static_and_within_budget() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let output = match Command::new("readelf")
        .args(["-h", "-l", "-d"])
        .arg(&bin)
        .env("LC_ALL", "C")
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "readelf is not installed: this test needs it to inspect the binary \
             (Debian: apt-get install binutils)"
        ),
        Err(e) => panic!("cannot run readelf: {e}"),
    };
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "readelf failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A non-PIE executable: relocation-model=static and +crt-static give `-static`.
    let elf_type = report
        .lines()
        .find(|line| line.trim_start().starts_with("Type:"))
        .unwrap_or_else(|| panic!("no ELF type in readelf's report:\n{report}"));
    assert!(
        elf_type.contains("EXEC"),
        "expected an ELF of type EXEC (static, not PIE):\n{report}"
    );
    assert!(
        report.contains("X86-64"),
        "expected an x86-64 binary:\n{report}"
    );
    // No program interpreter (dynamic loader) and nothing for one to do.
    assert!(
        !report.contains("INTERP"),
        "the binary asks for a program interpreter:\n{report}"
    );
    assert!(
        report.contains("There is no dynamic section in this file."),
        "the binary has a dynamic section:\n{report}"
    );
    let size = fs::metadata(&bin).expect("binary's size").len();
    eprintln!(
        "examples/nolibc: {} is a static ELF EXEC of {size} bytes (budget {SIZE_BUDGET})",
        bin.display()
    );
    assert!(
        size <= SIZE_BUDGET,
        "the binary has {size} bytes, over its budget of {SIZE_BUDGET}"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn prints_what_inotifywait_prints_and_exits_after_count() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    let w = tmp.path().join("w");
    fs::create_dir(&w).unwrap();
    let mut run = Running::start(&bin, tmp.path(), &["w", "10"]);
    run.wait_for_watch();

    fs::write(w.join("file"), b"hello").unwrap();
    fs::create_dir(w.join("sub")).unwrap();
    fs::rename(w.join("file"), w.join("renamed")).unwrap();
    fs::remove_file(w.join("renamed")).unwrap();
    fs::remove_dir(w.join("sub")).unwrap();
    fs::set_permissions(&w, fs::Permissions::from_mode(0o700)).unwrap();
    // An eleventh event, which the program must not print.
    fs::write(w.join("extra"), b"").unwrap();

    let (status, lines, stderr) = run.finish();
    // What `inotifywait -m w` (inotify-tools 3.22.6) prints for the same operations: the
    // directory as given plus '/', the names joined by ',' in inotifytools' order, and an
    // empty name (a trailing space) for an event on the directory itself.
    let expected = [
        "w/ CREATE file",
        "w/ OPEN file",
        "w/ MODIFY file",
        "w/ CLOSE_WRITE,CLOSE file",
        "w/ CREATE,ISDIR sub",
        "w/ MOVED_FROM file",
        "w/ MOVED_TO renamed",
        "w/ DELETE renamed",
        "w/ DELETE,ISDIR sub",
        "w/ ATTRIB,ISDIR ",
    ];
    assert_eq!(lines, expected, "stderr: {stderr}");
    assert_eq!(status.code(), Some(0), "{status}; stderr: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
#[cfg_attr(miri, ignore)]
fn watches_the_current_directory_until_killed() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    let mut run = Running::start(&bin, tmp.path(), &[]);
    run.wait_for_watch();

    fs::write(tmp.path().join("a"), b"").unwrap();
    let lines = run.lines(3);
    assert_eq!(
        lines,
        ["./ CREATE a", "./ OPEN a", "./ CLOSE_WRITE,CLOSE a"]
    );
    assert!(
        run.child.try_wait().unwrap().is_none(),
        "with no COUNT the program must keep running"
    );
    run.child.kill().unwrap();
    let (status, rest, stderr) = run.finish();
    assert_eq!(status.signal(), Some(9), "{status}; stderr: {stderr}");
    assert!(rest.is_empty(), "unexpected output: {rest:?}");
}

#[test]
#[cfg_attr(miri, ignore)]
fn exits_when_the_watched_directory_goes() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    let w = tmp.path().join("w");
    fs::create_dir(&w).unwrap();
    let w_arg = format!("{}/", w.display());
    let mut run = Running::start(&bin, tmp.path(), &[&w_arg]);
    run.wait_for_watch();

    fs::remove_dir(&w).unwrap();
    // inotifywait prints DELETE_SELF but not the IGNORED that follows; then it waits
    // forever, where this program exits.
    let (status, lines, stderr) = run.finish();
    assert_eq!(lines, [format!("{w_arg} DELETE_SELF ")]);
    assert_eq!(status.code(), Some(0), "{status}; stderr: {stderr}");
}

#[test]
#[cfg_attr(miri, ignore)]
fn fails_with_the_errno_name() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    fs::write(tmp.path().join("file"), b"").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["missing"],
            "inotify-nolibc: cannot watch missing: inotify_add_watch: ENOENT\n",
        ),
        (
            &["file/x"],
            "inotify-nolibc: cannot watch file/x: inotify_add_watch: ENOTDIR\n",
        ),
        (
            &[".", "0"],
            "inotify-nolibc: COUNT must be a positive whole number, not '0'; \
             usage: inotify-nolibc [DIR [COUNT]], or inotify-nolibc wait PATH [SECONDS]\n",
        ),
        (
            &[".", "1", "extra"],
            "inotify-nolibc: too many arguments; \
             usage: inotify-nolibc [DIR [COUNT]], or inotify-nolibc wait PATH [SECONDS]\n",
        ),
    ];
    for (args, message) in cases {
        let run = Running::start(&bin, tmp.path(), args);
        let (status, lines, stderr) = run.finish();
        assert_eq!(stderr, message, "args {args:?}");
        assert_eq!(status.code(), Some(1), "args {args:?}: {status}");
        assert!(lines.is_empty(), "args {args:?}: {lines:?}");
    }
}

/// What `wait` ended with: its exit status, how long it took, and its standard error.
fn run_wait(bin: &Path, cwd: &Path, args: &[&str]) -> (Option<i32>, Duration, String) {
    let started = Instant::now();
    let run = Running::start(bin, cwd, args);
    let (status, lines, stderr) = run.finish();
    assert!(lines.is_empty(), "wait printed {lines:?}");
    (status.code(), started.elapsed(), stderr)
}

#[test]
#[cfg_attr(miri, ignore)]
fn wait_exits_0_at_once_for_a_path_that_is_there() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    fs::create_dir(tmp.path().join("d")).unwrap();
    fs::write(tmp.path().join("d/file"), b"").unwrap();
    std::os::unix::fs::symlink("d/file", tmp.path().join("link")).unwrap();
    let absolute = tmp.path().join("d/file");
    for args in [
        &["wait", "d/file"][..],
        &["wait", "d/file", "0"],
        &["wait", "link", "0"],
        &["wait", "d/", "0"],
        &["wait", absolute.to_str().unwrap(), "5"],
    ] {
        let (code, _, stderr) = run_wait(&bin, tmp.path(), args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn wait_exits_0_when_the_path_is_made_during_the_wait() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    // mkdir -p a/b && touch a/b/file, once the program watches.
    let mut run = Running::start(&bin, tmp.path(), &["wait", "a/b/file", "20"]);
    run.wait_for_watch();
    fs::create_dir_all(tmp.path().join("a/b")).unwrap();
    fs::write(tmp.path().join("a/b/file"), b"").unwrap();
    let (status, lines, stderr) = run.finish();
    assert_eq!(status.code(), Some(0), "{status}; stderr: {stderr}");
    assert!(lines.is_empty() && stderr.is_empty(), "{lines:?} {stderr}");

    // A link, as udev makes them: dangling first, then its target appears.
    std::os::unix::fs::symlink("../devices/sda1", tmp.path().join("a/disk")).unwrap();
    let mut run = Running::start(&bin, tmp.path(), &["wait", "a/disk", "20"]);
    run.wait_for_watch();
    fs::create_dir(tmp.path().join("devices")).unwrap();
    fs::write(tmp.path().join("devices/sda1"), b"").unwrap();
    let (status, _, stderr) = run.finish();
    assert_eq!(status.code(), Some(0), "{status}; stderr: {stderr}");
    assert_eq!(stderr, "");

    // The last component made by rename, without a timeout.
    let mut run = Running::start(&bin, tmp.path(), &["wait", "final"]);
    run.wait_for_watch();
    fs::write(tmp.path().join("partial"), b"").unwrap();
    fs::rename(tmp.path().join("partial"), tmp.path().join("final")).unwrap();
    let (status, _, stderr) = run.finish();
    assert_eq!(status.code(), Some(0), "{status}; stderr: {stderr}");
}

#[test]
#[cfg_attr(miri, ignore)]
fn wait_follows_an_ancestor_created_removed_and_created_again() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    let a = tmp.path().join("a");
    let mut run = Running::start(&bin, tmp.path(), &["wait", "a/b/file", "20"]);
    run.wait_for_watch_on(tmp.path());
    fs::create_dir(&a).unwrap();
    run.wait_for_watch_on(&a); // it went down into a
    fs::remove_dir(&a).unwrap();
    // A directory renamed in, with the file already inside.
    fs::create_dir_all(tmp.path().join("staging/b")).unwrap();
    fs::write(tmp.path().join("staging/b/file"), b"").unwrap();
    fs::rename(tmp.path().join("staging"), &a).unwrap();
    let (status, _, stderr) = run.finish();
    assert_eq!(status.code(), Some(0), "{status}; stderr: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
#[cfg_attr(miri, ignore)]
fn wait_names_a_directory_it_cannot_watch_when_run_as_another_user() {
    use std::os::unix::process::CommandExt;
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let locked = tmp.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o711)).unwrap();
    let path = locked.join("sub/file");
    let output = match Command::new(&bin)
        .args(["wait".as_ref(), path.as_os_str(), "5".as_ref()])
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == ErrorKind::PermissionDenied => {
            eprintln!("skipped: cannot start a process as user nobody (65534): {error}");
            return;
        }
        Err(error) => panic!("cannot run {}: {error}", bin.display()),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!(
            "inotify-nolibc: cannot wait for {}: {}: inotify_add_watch: EACCES\n",
            path.display(),
            locked.display()
        )
    );
    assert_eq!(output.status.code(), Some(1), "{}", output.status);
}

#[test]
#[cfg_attr(miri, ignore)]
fn wait_exits_2_after_the_timeout_and_no_sooner() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    let (code, elapsed, stderr) = run_wait(&bin, tmp.path(), &["wait", "never/there", "1"]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr, "");
    assert!(
        elapsed >= Duration::from_secs(1),
        "exited after {elapsed:?}"
    );
    // 0 seconds: one check, no wait.
    let (code, _, stderr) = run_wait(&bin, tmp.path(), &["wait", "never", "0"]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    // A dangling link does not resolve.
    std::os::unix::fs::symlink("nowhere", tmp.path().join("dangling")).unwrap();
    let (code, _, stderr) = run_wait(&bin, tmp.path(), &["wait", "dangling", "0"]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
}

#[test]
#[cfg_attr(miri, ignore)]
fn wait_exits_1_with_one_line_on_an_error() {
    let (_one_at_a_time, bin) = match binary_alone() {
        Some(prepared) => prepared,
        None => return,
    };
    let tmp = TempDir::new();
    fs::write(tmp.path().join("file"), b"").unwrap();
    std::os::unix::fs::symlink("loop", tmp.path().join("loop")).unwrap();
    let usage = "usage: inotify-nolibc [DIR [COUNT]], or inotify-nolibc wait PATH [SECONDS]";
    let cases: [(&[&str], String); 6] = [
        (
            &["wait", "file/below", "5"],
            "inotify-nolibc: cannot wait for file/below: file: statx: ENOTDIR\n".into(),
        ),
        (
            &["wait", "loop/x", "5"],
            "inotify-nolibc: cannot wait for loop/x: loop: statx: ELOOP\n".into(),
        ),
        (
            &["wait", ""],
            "inotify-nolibc: cannot wait for : the path is empty\n".into(),
        ),
        (
            &["wait"],
            format!("inotify-nolibc: wait needs a PATH; {usage}\n"),
        ),
        (
            &["wait", "file", "soon"],
            format!("inotify-nolibc: SECONDS must be a whole number, not 'soon'; {usage}\n"),
        ),
        (
            &["wait", "file", "1", "extra"],
            format!("inotify-nolibc: too many arguments; {usage}\n"),
        ),
    ];
    for (args, message) in cases {
        let (code, _, stderr) = run_wait(&bin, tmp.path(), args);
        assert_eq!(stderr, message, "args {args:?}");
        assert_eq!(code, Some(1), "args {args:?}");
    }
}

/// A running copy of the program, its output lines arriving on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

impl Running {
    fn start(bin: &Path, cwd: &Path, args: &[&str]) -> Running {
        let mut child = Command::new(bin)
            .args(args.iter().map(OsStr::new))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(line) => {
                        if sender.send(line).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        Running { child, lines }
    }

    /// Waits until the program has an inotify watch: a line `inotify wd:...` in the
    /// fdinfo of one of its descriptors.
    fn wait_for_watch(&mut self) {
        let fdinfo = PathBuf::from(format!("/proc/{}/fdinfo", self.child.id()));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                let _ = self
                    .child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr);
                panic!("the program exited ({status}) before watching: {stderr}");
            }
            if has_inotify_watch(&fdinfo) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no inotify watch in {} after {TIMEOUT:?}",
                fdinfo.display()
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits until the program watches `dir`: a watch line for its inode and device.
    fn wait_for_watch_on(&mut self, dir: &Path) {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(dir).unwrap();
        // fdinfo has the kernel's device number (major << 20 | minor), in hex.
        let dev = meta.dev();
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        let ino = format!(" ino:{:x} ", meta.ino());
        let sdev = format!(" sdev:{:x} ", (major << 20) | minor);
        let fdinfo = PathBuf::from(format!("/proc/{}/fdinfo", self.child.id()));
        let deadline = Instant::now() + TIMEOUT;
        while !has_inotify_watch_where(&fdinfo, |line| line.contains(&ino) && line.contains(&sdev))
        {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "the program exited before watching {}",
                dir.display()
            );
            assert!(
                Instant::now() < deadline,
                "no watch on {} after {TIMEOUT:?}",
                dir.display()
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// The next `n` lines of output.
    fn lines(&mut self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT;
        let mut lines = Vec::new();
        while lines.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "only {} of {n} lines after {TIMEOUT:?}: {lines:?}",
                        lines.len()
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("output ended after {} of {n} lines: {lines:?}", lines.len())
                }
            }
        }
        lines
    }

    /// Waits for the program to exit; its status, the rest of its output and its stderr.
    fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let lines: Vec<String> = self.lines.try_iter().collect();
                panic!("the program did not exit within {TIMEOUT:?}; it printed {lines:?}");
            }
            thread::sleep(Duration::from_millis(1));
        };
        let mut lines = Vec::new();
        // The pipe is closed now: the reader thread ends at its end.
        while let Ok(line) = self.lines.recv_timeout(TIMEOUT) {
            lines.push(line);
        }
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        (status, lines, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // On a failed assertion: leave no program running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn has_inotify_watch(fdinfo: &Path) -> bool {
    has_inotify_watch_where(fdinfo, |_| true)
}

/// Whether one of the descriptors in `fdinfo` is an inotify instance with a watch whose
/// fdinfo line passes `wanted`.
fn has_inotify_watch_where(fdinfo: &Path, wanted: impl Fn(&str) -> bool) -> bool {
    let entries = match fs::read_dir(fdinfo) {
        Ok(entries) => entries,
        Err(_) => return false,
    };
    entries.flatten().any(|entry| {
        fs::read_to_string(entry.path())
            .map(|info| {
                info.lines()
                    .any(|line| line.starts_with("inotify wd:") && wanted(line))
            })
            .unwrap_or(false)
    })
}

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "inotify-nolibc-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
