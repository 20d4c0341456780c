//! `examples/seed_readme.rs` against the Python package's README: the same shell
//! commands give the same log lines. When the Python package itself is installed
//! (`pip install inotify==0.2.12`), both programs run side by side and must agree.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TempDir;

/// The README's commands, run in the watched directory.
const README_COMMANDS: &str = "touch aa; rm aa; mkdir dir1; rmdir dir1";

/// The README's screen output for those commands, less the timestamp prefix, with the
/// event names in ascending bit order (as version 0.2.12 prints them).
fn expected_lines(dir: &Path) -> Vec<String> {
    let d = dir.display();
    [
        "WD=(1) MASK=(256) COOKIE=(0) LEN=(16) MASK->NAMES=['IN_CREATE']",
        "WD=(1) MASK=(32) COOKIE=(0) LEN=(16) MASK->NAMES=['IN_OPEN']",
        "WD=(1) MASK=(4) COOKIE=(0) LEN=(16) MASK->NAMES=['IN_ATTRIB']",
        "WD=(1) MASK=(8) COOKIE=(0) LEN=(16) MASK->NAMES=['IN_CLOSE_WRITE']",
        "WD=(1) MASK=(512) COOKIE=(0) LEN=(16) MASK->NAMES=['IN_DELETE']",
        "WD=(1) MASK=(1073742080) COOKIE=(0) LEN=(16) MASK->NAMES=['IN_CREATE', 'IN_ISDIR']",
        "WD=(1) MASK=(1073742336) COOKIE=(0) LEN=(16) MASK->NAMES=['IN_DELETE', 'IN_ISDIR']",
    ]
    .iter()
    .zip(["aa", "aa", "aa", "aa", "aa", "dir1", "dir1"])
    .map(|(head, name)| format!("{} WATCH-PATH=[{}] FILENAME=[{}]", head, d, name))
    .collect()
}

/// A command that runs the example binary `cargo test` built beside this test binary,
/// through `$INOTIFY_RAW_EXAMPLE_RUNNER` when set (such as `qemu-aarch64-static` when
/// the tests run under qemu-user).
fn example_command() -> Command {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = profile_dir.join("examples").join("seed_readme");
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds it; with a test filter, run \
         `cargo build --example seed_readme` first",
        binary.display()
    );
    match std::env::var_os("INOTIFY_RAW_EXAMPLE_RUNNER") {
        Some(runner) if !runner.is_empty() => {
            let mut command = Command::new(runner);
            command.arg(binary);
            command
        }
        _ => Command::new(binary),
    }
}

/// True once process `pid` has an inotify descriptor with a watch on it: the watcher is
/// ready, so events made now will be seen.
fn has_inotify_watch(pid: u32) -> bool {
    let entries = match std::fs::read_dir(format!("/proc/{}/fdinfo", pid)) {
        Ok(entries) => entries,
        Err(_) => return false,
    };
    entries.flatten().any(|entry| {
        std::fs::read_to_string(entry.path())
            .map(|info| info.lines().any(|line| line.starts_with("inotify wd:")))
            .unwrap_or(false)
    })
}

/// Starts `command` watching `dir`, runs the README's commands once it watches, and
/// returns the message part of the first `count` lines it logs.
fn run_and_collect(mut command: Command, dir: &Path, count: usize) -> Vec<String> {
    let mut child: Child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {}", command, e));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !has_inotify_watch(child.id()) {
        assert!(
            Instant::now() < deadline,
            "{:?} never added its watch",
            command
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "{:?} exited early",
            command
        );
        std::thread::yield_now();
    }
    let status = Command::new("sh")
        .arg("-c")
        .arg(README_COMMANDS)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success());

    let (sender, receiver) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while lines.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok(line) => lines.push(line.unwrap()),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
        .iter()
        .map(|line| {
            let (stamp, message) = line
                .split_once(" - __main__ - INFO - ")
                .unwrap_or_else(|| panic!("not a log line: {:?}", line));
            assert_eq!(stamp.len(), "2015-04-24 05:02:06,667".len(), "{:?}", stamp);
            message.to_string()
        })
        .collect()
}

#[test]
#[cfg_attr(miri, ignore)]
fn example_prints_the_readme_lines() {
    let dir = TempDir::new();
    let mut command = example_command();
    command.arg(dir.path());
    let lines = run_and_collect(command, dir.path(), 7);
    assert_eq!(lines, expected_lines(dir.path()));
}

/// The README example in Python, with its log format, logging to stdout.
const PYTHON_EXAMPLE: &str = r#"
import logging, sys
import inotify.adapters
log = logging.getLogger('__main__')
log.setLevel(logging.DEBUG)
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s'))
log.addHandler(handler)
i = inotify.adapters.Inotify()
i.add_watch(sys.argv[1])
for event in i.event_gen():
    if event is not None:
        (header, type_names, watch_path, filename) = event
        log.info("WD=(%d) MASK=(%d) COOKIE=(%d) LEN=(%d) MASK->NAMES=%s "
                 "WATCH-PATH=[%s] FILENAME=[%s]",
                 header.wd, header.mask, header.cookie, header.len, type_names,
                 watch_path, filename)
        sys.stdout.flush()
"#;

#[test]
#[cfg_attr(miri, ignore)]
fn example_matches_the_python_package_side_by_side() {
    let has_python_package = Command::new("python3")
        .args(["-c", "import inotify.adapters"])
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if !has_python_package {
        eprintln!("skipped: the Python package is not installed (pip install inotify==0.2.12)");
        return;
    }
    let python_dir = TempDir::new();
    let mut python = Command::new("python3");
    python.args(["-c", PYTHON_EXAMPLE]).arg(python_dir.path());
    let python_lines = run_and_collect(python, python_dir.path(), 7);

    let rust_dir = TempDir::new();
    let mut rust = example_command();
    rust.arg(rust_dir.path());
    let rust_lines = run_and_collect(rust, rust_dir.path(), 7);

    let normalise = |lines: Vec<String>, dir: &Path| -> Vec<String> {
        let dir = dir.display().to_string();
        lines
            .into_iter()
            .map(|line| line.replace(&dir, "DIR"))
            .collect()
    };
    assert_eq!(
        normalise(rust_lines, rust_dir.path()),
        normalise(python_lines, python_dir.path())
    );
}
