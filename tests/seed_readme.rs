//! `examples/seed_readme.rs` against the Python package's README: the same shell
//! commands give the same log lines, for one directory (`Inotify`) and, with `-r`, for a
//! tree (`InotifyTree`). When the Python package itself is installed
//! (`pip install inotify==0.2.12`), both programs run side by side and must agree.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use common::TempDir;

/// The README's commands, run in the watched directory.
const README_COMMANDS: &str = "touch aa; rm aa; mkdir dir1; rmdir dir1";

/// The directories of the tree made before the tree watcher starts, below its root.
const TREE_DIRS: &str = "a/b";

/// Commands run at the root of the tree: files created, written to and deleted in
/// directories that exist before the watcher starts. The last line is for `end`.
const TREE_COMMANDS: &str = "touch top; echo hi >> a/aa; touch a/b/bb; echo more >> a/b/bb; \
                             rm a/aa a/b/bb; rm top; touch end; rm end";

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

/// The events one command makes on one file: mask and name of each.
type FileEvents = &'static [(u32, &'static str)];

/// The lines of `seed_readme -r` for `TREE_COMMANDS` in a tree made of `TREE_DIRS`, less
/// the timestamp prefix: watch descriptors 1, 2 and 3 for the root, `a` and `a/b`, as the
/// Python package numbers them too.
fn expected_tree_lines(root: &Path) -> Vec<String> {
    const TOUCH: FileEvents = &[
        (256, "IN_CREATE"),
        (32, "IN_OPEN"),
        (4, "IN_ATTRIB"),
        (8, "IN_CLOSE_WRITE"),
    ];
    const APPEND_NEW: FileEvents = &[
        (256, "IN_CREATE"),
        (32, "IN_OPEN"),
        (2, "IN_MODIFY"),
        (8, "IN_CLOSE_WRITE"),
    ];
    const APPEND: FileEvents = &[(32, "IN_OPEN"), (2, "IN_MODIFY"), (8, "IN_CLOSE_WRITE")];
    const DELETE: FileEvents = &[(512, "IN_DELETE")];
    let root = root.display().to_string();
    let a = format!("{}/a", root);
    let b = format!("{}/a/b", root);
    let steps: [(u32, &str, &str, FileEvents); 9] = [
        (1, &root, "top", TOUCH),  // touch top
        (2, &a, "aa", APPEND_NEW), // echo hi >> a/aa
        (3, &b, "bb", TOUCH),      // touch a/b/bb
        (3, &b, "bb", APPEND),     // echo more >> a/b/bb
        (2, &a, "aa", DELETE),     // rm a/aa a/b/bb
        (3, &b, "bb", DELETE),
        (1, &root, "top", DELETE), // rm top
        (1, &root, "end", TOUCH),  // touch end
        (1, &root, "end", DELETE), // rm end
    ];
    steps
        .iter()
        .flat_map(|&(wd, dir, name, events)| {
            events.iter().map(move |&(mask, type_name)| {
                format!(
                    "WD=({}) MASK=({}) COOKIE=(0) LEN=(16) MASK->NAMES=['{}'] \
                     WATCH-PATH=[{}] FILENAME=[{}]",
                    wd, mask, type_name, dir, name
                )
            })
        })
        .collect()
}

/// True for the log line of the last of `TREE_COMMANDS`.
fn is_tree_end(line: &str) -> bool {
    line.contains("MASK->NAMES=['IN_DELETE']") && line.ends_with("FILENAME=[end]")
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

/// True once process `pid` has at least `watches` inotify watches for every event
/// (`IN_ALL_EVENTS` in the mask `/proc/PID/fdinfo` shows): the watcher is ready, so
/// events made now will be seen. (A tree watches a directory with fewer events while it
/// lists it, and with all of them after.)
fn watches_all_events(pid: u32, watches: usize) -> bool {
    const IN_ALL_EVENTS: u32 = 0xfff;
    let entries = match std::fs::read_dir(format!("/proc/{}/fdinfo", pid)) {
        Ok(entries) => entries,
        Err(_) => return false,
    };
    let mut count = 0;
    for entry in entries.flatten() {
        let info = std::fs::read_to_string(entry.path()).unwrap_or_default();
        count += info
            .lines()
            .filter(|line| line.starts_with("inotify wd:"))
            .filter_map(|line| {
                let mask = line
                    .split_whitespace()
                    .find_map(|f| f.strip_prefix("mask:"))?;
                u32::from_str_radix(mask, 16).ok()
            })
            .filter(|mask| mask & IN_ALL_EVENTS == IN_ALL_EVENTS)
            .count();
    }
    count >= watches
}

/// Starts `command` watching `dir`, runs the README's commands once it watches, and
/// returns the message part of the first `count` lines it logs.
fn run_and_collect(command: Command, dir: &Path, count: usize) -> Vec<String> {
    run_commands_and_collect(command, dir, README_COMMANDS, 1, |lines| {
        lines.len() >= count
    })
}

/// Starts `command` watching `dir`, runs `commands` in `dir` once it has `watches`
/// watches, and returns the message part of the lines it logs, once `done` holds for
/// the lines so far (or `common::EVENT_TIMEOUT` passes: a program started through
/// qemu-user on a busy machine is slow, and only a hung one takes that long).
fn run_commands_and_collect(
    mut command: Command,
    dir: &Path,
    commands: &str,
    watches: usize,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child: Child = common::spawn_past_exec(&mut command);
    let deadline = Instant::now() + common::EVENT_TIMEOUT;
    while !watches_all_events(child.id(), watches) {
        assert!(
            Instant::now() < deadline,
            "{:?} never added its {} watches",
            command,
            watches
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "{:?} exited early",
            command
        );
        std::thread::yield_now();
    }
    let status =
        common::status(Command::new("sh").arg("-c").arg(commands).current_dir(dir)).unwrap();
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
    while !done(&lines) {
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

/// The README example in Python, with its log format, logging to stdout, watching with
/// `watch` (which makes `i` from `sys.argv[1]`).
fn python_example(watch: &str) -> String {
    format!("{}{}{}", PYTHON_LOGGING, watch, PYTHON_LOOP)
}

/// The README example's `Inotify` watch.
const PYTHON_WATCH_DIRECTORY: &str = "
i = inotify.adapters.Inotify()
i.add_watch(sys.argv[1])
";

/// The README's recursive example: `InotifyTree`.
const PYTHON_WATCH_TREE: &str = "
i = inotify.adapters.InotifyTree(sys.argv[1])
";

const PYTHON_LOGGING: &str = r#"
import logging, sys
import inotify.adapters
log = logging.getLogger('__main__')
log.setLevel(logging.DEBUG)
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s'))
log.addHandler(handler)
"#;

const PYTHON_LOOP: &str = r#"
for event in i.event_gen():
    if event is not None:
        (header, type_names, watch_path, filename) = event
        log.info("WD=(%d) MASK=(%d) COOKIE=(%d) LEN=(%d) MASK->NAMES=%s "
                 "WATCH-PATH=[%s] FILENAME=[%s]",
                 header.wd, header.mask, header.cookie, header.len, type_names,
                 watch_path, filename)
        sys.stdout.flush()
"#;

/// Whether `python3` can import the Python package; if not, says that the side-by-side
/// test is skipped.
fn has_python_package() -> bool {
    let has = common::status(
        Command::new("python3")
            .args(["-c", "import inotify.adapters"])
            .stderr(Stdio::null()),
    )
    .map(|status| status.success())
    .unwrap_or(false);
    if !has {
        eprintln!("skipped: the Python package is not installed (pip install inotify==0.2.12)");
    }
    has
}

/// The lines with the watched directory's path written as `DIR`, so that two runs in two
/// directories compare.
fn normalise(lines: Vec<String>, dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    lines
        .into_iter()
        .map(|line| line.replace(&dir, "DIR"))
        .collect()
}

#[test]
#[cfg_attr(miri, ignore)]
fn example_matches_the_python_package_side_by_side() {
    if !has_python_package() {
        return;
    }
    let python_dir = TempDir::new();
    let mut python = Command::new("python3");
    python
        .args(["-c", &python_example(PYTHON_WATCH_DIRECTORY)])
        .arg(python_dir.path());
    let python_lines = run_and_collect(python, python_dir.path(), 7);

    let rust_dir = TempDir::new();
    let mut rust = example_command();
    rust.arg(rust_dir.path());
    let rust_lines = run_and_collect(rust, rust_dir.path(), 7);

    assert_eq!(
        normalise(rust_lines, rust_dir.path()),
        normalise(python_lines, python_dir.path())
    );
}

/// A tree for `TREE_COMMANDS`: a fresh directory with `TREE_DIRS` made in it.
fn tree_dir() -> TempDir {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.join(TREE_DIRS)).unwrap();
    dir
}

/// How many directories a tree of `TREE_DIRS` watches: the root, `a` and `a/b`.
const TREE_WATCHES: usize = 3;

#[test]
#[cfg_attr(miri, ignore)]
fn example_tree_prints_a_line_per_event_in_every_directory() {
    let dir = tree_dir();
    let mut command = example_command();
    command.arg("-r").arg(dir.path());
    let lines =
        run_commands_and_collect(command, dir.path(), TREE_COMMANDS, TREE_WATCHES, |lines| {
            lines.last().map_or(false, |line| is_tree_end(line))
        });
    assert_eq!(lines, expected_tree_lines(dir.path()));
}

/// True for the events a directory listing raises: `IN_OPEN`, `IN_ACCESS` or
/// `IN_CLOSE_NOWRITE` together with `IN_ISDIR`.
fn is_listing_event(line: &str) -> bool {
    let names = line
        .split_once("MASK->NAMES=[")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map_or("", |(names, _)| names);
    names.contains("'IN_ISDIR'")
        && ["'IN_OPEN'", "'IN_ACCESS'", "'IN_CLOSE_NOWRITE'"]
            .iter()
            .any(|name| names.contains(name))
}

#[test]
#[cfg_attr(miri, ignore)]
fn example_tree_matches_the_python_package_side_by_side() {
    if !has_python_package() {
        return;
    }
    let collect = |command: Command, dir: &Path| {
        run_commands_and_collect(command, dir, TREE_COMMANDS, TREE_WATCHES, |lines| {
            lines.last().map_or(false, |line| is_tree_end(line))
        })
    };
    let python_dir = tree_dir();
    let mut python = Command::new("python3");
    python
        .args(["-c", &python_example(PYTHON_WATCH_TREE)])
        .arg(python_dir.path());
    let python_lines = collect(python, python_dir.path());

    let rust_dir = tree_dir();
    let mut rust = example_command();
    rust.arg("-r").arg(rust_dir.path());
    let rust_lines = collect(rust, rust_dir.path());

    // The Python tree lists directories it watches already (each new directory, after
    // watching it and its parent; later versions every directory at start too), and the
    // kernel reports those listings as events of their own: `IN_OPEN`, `IN_ACCESS` and
    // `IN_CLOSE_NOWRITE` with `IN_ISDIR`, on the directory and on its parent. They tell
    // of no change, and `TreeWatcher` never delivers the events of its own listings, so
    // they are set aside before the comparison. (With these commands 0.2.12 makes none.)
    let python_lines: Vec<String> = python_lines
        .into_iter()
        .filter(|line| !is_listing_event(line))
        .collect();
    assert!(
        !rust_lines.iter().any(|line| is_listing_event(line)),
        "the tree's own listing leaked: {:#?}",
        rust_lines
    );
    assert_eq!(
        normalise(rust_lines, rust_dir.path()),
        normalise(python_lines, python_dir.path())
    );
}
