//! `examples/inotifywait.rs` watching trees with fanotify (`-S DIR`, and `-F` with `-r`:
//! `FsWatcher`) beside `-r DIR` (`TreeWatcher`): the same operations print the same
//! lines. Each run has a fresh directory on a tmpfs of the test's own (see
//! `tests/fs_support`), so that the file-system mark sees only the test's writes; where
//! fanotify is not permitted the tests skip, and say why.
//!
//! The operations are chosen so that the lines cannot differ by chance, where
//! `FsWatcher`'s documentation says they may: no two events of one kind on one entry in
//! a row (fanotify merges them while they are queued), no directory moved in with what
//! it holds, and a directory made before the run is renamed within the tree, or
//! deleted, only once the program has printed an event inside it (`FsWatcher` names a
//! directory it has not met by looking it up when it reads the event, by which time it
//! may have moved). Each run ends on a line the test waits for.
#![cfg(feature = "std")]

mod common;
mod fs_support;
mod tools_support;

use common::TempDir;
use fs_support::{fs_watcher_tmpfs, Tmpfs};
use tools_support::{has_line_with, run_script, Case, Outcome, Tool};

const NAME: &str = "inotifywait";

/// A tree watched with inotify.
const INOTIFY_TREE: &[&str] = &["-r"];

/// The two ways to watch a tree with fanotify.
const FANOTIFY_TREES: [&[&str]; 2] = [&["-S"], &["-F", "-r"]];

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|s| s.to_string()).collect()
}

/// What the program says on standard error before its events, with `flags`.
fn setup_lines(flags: &[&str]) -> Vec<String> {
    let first = if flags.contains(&"-S") {
        "Setting up filesystem watches."
    } else {
        "Setting up watches.  Beware: since -r was given, this may take a while!"
    };
    lines(&[first, "Watches established."])
}

fn ends_with_end(lines: &[String]) -> bool {
    has_line_with(lines, "end")
}

impl Case<'_> {
    /// Runs the example with `flags`, then the case's arguments, in a fresh directory
    /// of `tmpfs`; returns what it printed, and the directory.
    fn run_on(&self, tmpfs: &Tmpfs, flags: &[&str]) -> (Outcome, TempDir) {
        let dir = TempDir::new_in(&tmpfs.join(&format!("run{}", flags.join(""))));
        (self.run(Tool::Ours, NAME, flags, dir.path()), dir)
    }

    /// Runs it with `-r`, `-S` and `-F -r`, and asserts that they print the same
    /// lines and exit alike, each after its own setup lines; returns how `-r` ran.
    /// `None` where fanotify cannot run (the test skips, and says why).
    fn same_outcome(&self) -> Option<Outcome> {
        let tmpfs = fs_watcher_tmpfs()?;
        let (tree, _dir) = self.run_on(&tmpfs, INOTIFY_TREE);
        let said = |flags: &[&str]| {
            if self.quiet_watches.is_some() {
                Vec::new()
            } else {
                setup_lines(flags)
            }
        };
        assert_eq!(tree.stderr, said(INOTIFY_TREE), "{:?}", self.args);
        for flags in FANOTIFY_TREES {
            let (fs, _dir) = self.run_on(&tmpfs, flags);
            assert_eq!(
                (&fs.stdout, fs.code),
                (&tree.stdout, tree.code),
                "{:?} (left) and -r (right) differ for {:?}",
                flags,
                self.args
            );
            assert_eq!(fs.stderr, said(flags), "{:?} {:?}", flags, self.args);
        }
        Some(tree)
    }

    /// As [`same_outcome`](Self::same_outcome), and the lines are `expected`.
    fn prints(&self, expected: &[&str]) -> Option<Outcome> {
        let outcome = self.same_outcome()?;
        assert_eq!(outcome.stdout, lines(expected), "{:?}", self.args);
        Some(outcome)
    }
}

/// Files made, written, moved between directories and deleted, and a directory's
/// attributes, in directories that exist at the start: the operations of
/// `recursive_events_in_existing_directories` in `tests/inotifywait.rs`, which checks
/// `-r`'s lines for them.
#[test]
fn events_in_existing_directories() {
    Case::new(&["-m", "."])
        .setup("mkdir -p a/b c")
        .script(
            "touch a/f; echo x >> a/b/g; mv a/f a/b/f2; mv a/b/f2 c/; rm c/f2 a/b/g; \
             chmod 700 a/b; mkdir end",
        )
        .until(&ends_with_end)
        .same_outcome();
}

/// `mkdir -p a/b/c && touch a/b/c/f`: every directory and the file (the operations of
/// `recursive_reports_what_is_made_in_new_directories` in `tests/inotifywait.rs`, which
/// checks `-r`'s lines for them).
#[test]
fn what_is_made_in_new_directories() {
    Case::new(&["-m", "-e", "create", "."])
        .script("mkdir -p a/b/c && touch a/b/c/f && mkdir end")
        .until(&ends_with_end)
        .same_outcome();
}

/// Paths follow directories renamed, within the tree and across its directories, also
/// while their events are queued.
#[test]
fn paths_are_right_after_moves() {
    Case::new(&["-m", "-e", "create,moved_to,moved_from", "."])
        .setup("mkdir -p a/b/c")
        .script("touch a/b/c/s")
        .then(
            &|lines: &[String]| has_line_with(lines, "CREATE s"),
            "mv a/b x && touch x/c/f && mv x/c a/d && touch a/d/g && mv x z && touch z/h \
             && mkdir end",
        )
        .until(&ends_with_end)
        .prints(&[
            "./a/b/c/ CREATE s",
            "./a/ MOVED_FROM,ISDIR b",
            "./ MOVED_TO,ISDIR x",
            "./x/c/ CREATE f",
            "./x/ MOVED_FROM,ISDIR c",
            "./a/ MOVED_TO,ISDIR d",
            "./a/d/ CREATE g",
            "./ MOVED_FROM,ISDIR x",
            "./ MOVED_TO,ISDIR z",
            "./z/ CREATE h",
            "./ CREATE,ISDIR end",
        ]);
}

/// Moves into and out of the root: the half inside, and nothing from a subtree moved
/// out; nothing from beside the root, though the mark sees the whole file system.
#[test]
fn moves_in_and_out_and_nothing_from_outside() {
    Case::new(&["-m", "-e", "create,moved_to,moved_from", "w"])
        .setup("mkdir -p w/a/b out/x; touch out/y")
        .script(
            "mv out/x w/ && touch w/x/f && mv out/y w/ && mv w/y out/z && mv w/a out/ \
             && touch out/a/g out/a/b/h out/k && mkdir w/end",
        )
        .until(&ends_with_end)
        .prints(&[
            "w/ MOVED_TO,ISDIR x",
            "w/x/ CREATE f",
            "w/ MOVED_TO y",
            "w/ MOVED_FROM y",
            "w/ MOVED_FROM,ISDIR a",
            "w/ CREATE,ISDIR end",
        ]);
}

/// A tree deleted from the bottom up.
#[test]
fn deletions() {
    Case::new(&["-m", "-e", "create,delete", "."])
        .setup("mkdir -p a/b")
        .script("touch a/b/g")
        .then(
            &|lines: &[String]| has_line_with(lines, "CREATE g"),
            "rm a/b/g && rmdir a/b a && mkdir end",
        )
        .until(&ends_with_end)
        .prints(&[
            "./a/b/ CREATE g",
            "./a/b/ DELETE g",
            "./a/ DELETE,ISDIR b",
            "./ DELETE,ISDIR a",
            "./ CREATE,ISDIR end",
        ]);
}

/// `--exclude` and `@DIR` (also for a directory made later) keep what is below them
/// out.
#[test]
fn exclusions() {
    Case::new(&["-m", "-e", "create", "--exclude", "skip", "@./later", "."])
        .setup("mkdir -p keep/sub skip/sub/deeper")
        .script(
            "touch keep/sub/f skip/sub/f skip/sub/deeper/f; mkdir later; touch later/x; mkdir end",
        )
        .until(&ends_with_end)
        .prints(&[
            "./keep/sub/ CREATE f",
            "./ CREATE,ISDIR later",
            "./ CREATE,ISDIR end",
        ]);
}

/// `--include`: only what matches is printed.
#[test]
fn inclusion() {
    Case::new(&["-m", "-e", "create", "--include", "\\.txt$|end", "."])
        .setup("mkdir -p a/b")
        .script("touch a/x.txt a/b/y.txt a/b/z.tmp; mkdir end")
        .until(&ends_with_end)
        .prints(&[
            "./a/ CREATE x.txt",
            "./a/b/ CREATE y.txt",
            "./ CREATE,ISDIR end",
        ]);
}

/// `--format` with `--timefmt`, and `-c`.
#[test]
fn format_and_csv() {
    let outcome = Case::new(&[
        "-m",
        "-e",
        "create,close_write",
        "--timefmt",
        "%Y",
        "--format",
        "[%w|%f|%e|%:e|%%] %T",
        ".",
    ])
    .setup("mkdir a")
    .script("touch 'a/b c' && mkdir end")
    .until(&ends_with_end)
    .same_outcome();
    if let Some(outcome) = outcome {
        let printed = outcome.stdout;
        assert_eq!(printed.len(), 3, "{:?}", printed);
        assert!(printed[0].starts_with("[./a/|b c|CREATE|CREATE|%] 2"));
        assert!(printed[1].starts_with("[./a/|b c|CLOSE_WRITE,CLOSE|CLOSE_WRITE:CLOSE|%] 2"));
    }
    Case::new(&["-m", "-c", "-e", "create", "."])
        .setup("mkdir a")
        .script("touch 'a/b,c' && mkdir end")
        .until(&ends_with_end)
        .prints(&["./a/,CREATE,\"b,c\"", "./,\"CREATE,ISDIR\",end"]);
}

/// `-o FILE`: the lines are appended to it.
#[test]
fn outfile() {
    let tmpfs = match fs_watcher_tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let case = Case::new(&["-e", "create", "-o", "out", "w"])
        .setup("mkdir -p w/a; echo old > out")
        .script("touch w/a/f");
    for flags in [INOTIFY_TREE, FANOTIFY_TREES[0], FANOTIFY_TREES[1]] {
        let (outcome, dir) = case.run_on(&tmpfs, flags);
        assert_eq!(
            (outcome.code, outcome.stdout.len()),
            (Some(0), 0),
            "{:?}",
            flags
        );
        let written = std::fs::read_to_string(dir.join("out")).unwrap();
        assert_eq!(written, "old\nw/a/ CREATE f\n", "{:?}", flags);
    }
}

/// `-e oneshot`: one event from each directory (each of the inotify tree's watches).
#[test]
fn oneshot() {
    Case::new(&["-m", "-e", "create,oneshot", "a", "b"])
        .setup("mkdir a b")
        .script("touch a/x a/y b/z b/w")
        .until(&|lines: &[String]| has_line_with(lines, "b/ CREATE"))
        .prints(&["a/ CREATE x", "b/ CREATE z"]);
}

/// `-q` says nothing but the events.
#[test]
fn quiet() {
    Case::new(&["-q", "-m", "-e", "create", "."])
        .script("mkdir a && touch a/f && mkdir end")
        .until(&ends_with_end)
        .quiet(1)
        .prints(&["./ CREATE,ISDIR a", "./a/ CREATE f", "./ CREATE,ISDIR end"]);
}

/// Without `-m`: exit 0 on the first event asked for; 2 at the timeout.
#[test]
fn exit_codes() {
    let outcome = Case::new(&["-e", "create", "."])
        .setup("mkdir a")
        .script("touch a/f")
        .prints(&["./a/ CREATE f"]);
    if let Some(outcome) = outcome {
        assert_eq!(outcome.code, Some(0));
    }
    let outcome = Case::new(&["-t", "1", "-e", "create", "."]).prints(&[]);
    if let Some(outcome) = outcome {
        assert_eq!(outcome.code, Some(2));
    }
}

/// A file given is watched on its own, as with `-r`. (The file's lines and the tree's
/// come from two watchers: each in order, but they may interleave either way.)
#[test]
fn a_file_given_is_watched_on_its_own() {
    Case::new(&["-m", "-e", "modify,create", "f", "d"])
        .setup("touch f; mkdir -p d/sub")
        .script("echo x >> f && touch d/sub/g && mkdir d/end")
        .until(&ends_with_end)
        .normalize(&|lines: &mut Vec<String>| lines.sort_by_key(|line| line.starts_with("d/")))
        .prints(&["f MODIFY ", "d/sub/ CREATE g", "d/ CREATE,ISDIR end"]);
}

/// `-S` is set up at once: one fanotify mark, and no inotify watch, whatever the tree
/// holds.
#[test]
fn filesystem_one_mark_and_no_watch() {
    let tmpfs = match fs_watcher_tmpfs() {
        Some(tmpfs) => tmpfs,
        None => return,
    };
    let dir = TempDir::new_in(&tmpfs.join("tree"));
    run_script(dir.path(), "mkdir -p a/b/c a/d e/f/g");
    let watched = tools_support::watches_once_established(NAME, &["-m", "-S", "."], dir.path());
    assert_eq!(watched, (0, 1));
}

/// Without `CAP_SYS_ADMIN` (as user nobody): inotifywait's lines for it, where the group
/// is refused (before Linux 5.13) or the mark (since), and what to do; exit code 1.
#[test]
fn without_cap_sys_admin_says_what_is_needed() {
    use std::os::unix::process::CommandExt;
    if fs_watcher_tmpfs().is_none() {
        return;
    }
    let refused = [
        "Couldn't initialize fanotify: Operation not permitted",
        "Couldn't add filesystem watch .: Operation not permitted",
        "Couldn't watch .: Operation not permitted",
    ];
    for flags in FANOTIFY_TREES {
        let output = match common::output(
            tools_support::command(Tool::Ours, NAME)
                .args(flags)
                .arg(".")
                .current_dir("/")
                .uid(65534)
                .gid(65534),
        ) {
            Ok(output) => output,
            Err(error) => {
                eprintln!("skipped: cannot start a process as user nobody: {}", error);
                return;
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said: Vec<&str> = stderr.lines().collect();
        let at = said
            .iter()
            .position(|line| refused.contains(line))
            .unwrap_or_else(|| panic!("{:?}: no line of refusal in {:?}", flags, said));
        assert_eq!(said.len(), at + 3, "{:?}: {:?}", flags, said);
        assert_eq!(said[at + 1], "fanotify watch requires admin privileges");
        assert!(said[at + 2].contains("CAP_SYS_ADMIN"), "{}", stderr);
        assert!(said[at + 2].contains("-r watches"), "{}", stderr);
        assert_eq!(output.status.code(), Some(1));
        assert!(output.stdout.is_empty());
    }
}
