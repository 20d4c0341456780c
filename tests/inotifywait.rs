//! `examples/inotifywait.rs` beside inotify-tools' `inotifywait`: both run on the same
//! scripted file operations, each in a fresh directory of its own (given relative paths,
//! so that their lines compare as they are), and must print the same lines, on standard
//! output and standard error, and exit with the same code. Where the example is better
//! on purpose (`-r`), the test asserts the better output. Without inotify-tools
//! installed, only the example's side runs, against the lines written here.

mod common;
mod tools_support;

use std::path::Path;

use common::TempDir;
use tools_support::{has_line_with, run_script, Case, Outcome, Run, Tool};

const NAME: &str = "inotifywait";

/// A fresh directory, prepared by `setup` (shell commands run in it).
fn prepared(setup: &str) -> TempDir {
    let dir = TempDir::new();
    run_script(dir.path(), setup);
    dir
}

impl Case<'_> {
    /// Runs the example and, when installed, inotifywait, and asserts that they agree;
    /// returns the example's outcome and the directory it ran in.
    fn compare(&self) -> (Outcome, TempDir) {
        let (ours, ours_dir) = self.ours();
        if tools_support::has_real(NAME) {
            let real_dir = TempDir::new();
            let mut real = self.run(Tool::Real, NAME, &[], real_dir.path());
            if let Some(extra) = self.real_extra {
                real.stdout.retain(|line| !extra(line));
            }
            assert_eq!(
                ours, real,
                "the example (left) and inotifywait (right) differ for {:?}",
                self.args
            );
        }
        (ours, ours_dir)
    }

    /// Runs the example only.
    fn ours(&self) -> (Outcome, TempDir) {
        let dir = TempDir::new();
        (self.run(Tool::Ours, NAME, &[], dir.path()), dir)
    }
}

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|s| s.to_string()).collect()
}

const SET_UP: [&str; 2] = ["Setting up watches.", "Watches established."];
const SET_UP_R: [&str; 2] = [
    "Setting up watches.  Beware: since -r was given, this may take a while!",
    "Watches established.",
];

fn ends_with_end(lines: &[String]) -> bool {
    has_line_with(lines, "end")
}

#[test]
fn files_created_written_read_moved_and_deleted() {
    let (ours, _dir) = Case::new(&["-m", "."])
        .script(
            "touch a; echo x >> a; echo y >> a; chmod 600 a; cat a > /dev/null; \
             mv a b; rm b; mkdir d; rmdir d; mkdir end",
        )
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./ CREATE a",
            "./ OPEN a",
            "./ ATTRIB a",
            "./ CLOSE_WRITE,CLOSE a",
            "./ OPEN a",
            "./ MODIFY a",
            "./ CLOSE_WRITE,CLOSE a",
            "./ OPEN a",
            "./ MODIFY a",
            "./ CLOSE_WRITE,CLOSE a",
            "./ ATTRIB a",
            "./ OPEN a",
            "./ ACCESS a",
            "./ CLOSE_NOWRITE,CLOSE a",
            "./ MOVED_FROM a",
            "./ MOVED_TO b",
            "./ DELETE b",
            "./ CREATE,ISDIR d",
            "./ DELETE,ISDIR d",
            "./ CREATE,ISDIR end",
        ])
    );
    assert_eq!(ours.stderr, lines(&SET_UP));
}

/// A file watched with `args` (`-m ... f`), written, read and deleted: inotifywait's
/// lines for it. Returns the example's outcome.
fn a_watched_file_with(args: &[&str]) -> Outcome {
    let (ours, _dir) = Case::new(args)
        .setup("echo 1 > f")
        .script("echo 2 >> f; chmod 600 f; cat f > /dev/null; rm f")
        .until(&|lines: &[String]| has_line_with(lines, "DELETE_SELF"))
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "f OPEN ",
            "f MODIFY ",
            "f CLOSE_WRITE,CLOSE ",
            "f ATTRIB ",
            "f OPEN ",
            "f ACCESS ",
            "f CLOSE_NOWRITE,CLOSE ",
            "f ATTRIB ",
            "f DELETE_SELF ",
        ])
    );
    ours
}

#[test]
fn a_watched_file_its_events_and_its_deletion() {
    let ours = a_watched_file_with(&["-m", "f"]);
    assert_eq!(ours.stderr, lines(&SET_UP));
}

#[test]
fn exit_0_on_the_first_event_asked_for() {
    let (ours, _dir) = Case::new(&["-e", "create", "."])
        .script("echo x > a")
        .compare();
    assert_eq!(ours.stdout, lines(&["./ CREATE a"]));
    assert_eq!(ours.code, Some(0));
}

#[test]
fn exit_1_when_a_watched_file_is_deleted_and_delete_self_was_not_asked_for() {
    let (ours, _dir) = Case::new(&["-e", "modify", "f"])
        .setup("touch f")
        .script("rm f")
        .compare();
    assert_eq!(ours.stdout, Vec::<String>::new());
    assert_eq!(ours.code, Some(1));
}

#[test]
fn exit_0_on_delete_self_when_asked_for() {
    let (ours, _dir) = Case::new(&["-e", "DELETE_SELF", "f"])
        .setup("touch f")
        .script("rm f")
        .compare();
    assert_eq!(ours.stdout, lines(&["f DELETE_SELF "]));
    assert_eq!(ours.code, Some(0));
}

#[test]
fn exit_2_on_timeout_with_and_without_monitor() {
    let (ours, _dir) = Case::new(&["-t", "1", "."]).compare();
    assert_eq!(ours.code, Some(2));
    assert!(ours.stdout.is_empty());
    // -m: the timeout starts again with every event.
    let (ours, _dir) = Case::new(&["-m", "-t", "1", "-e", "create", "."])
        .script("touch a")
        .compare();
    assert_eq!(ours.code, Some(2));
    assert_eq!(ours.stdout, lines(&["./ CREATE a"]));
}

#[test]
fn event_filters_comma_separated_repeated_any_case() {
    let (ours, _dir) = Case::new(&["-m", "-e", "Create,DELETE", "-e", "moved_to", "."])
        .script("touch a; echo x >> a; mv a b; rm b; mkdir end")
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./ CREATE a",
            "./ MOVED_TO b",
            "./ DELETE b",
            "./ CREATE,ISDIR end"
        ])
    );
    let (ours, _dir) = Case::new(&["-m", "-e", "close", "-e", "move", "."])
        .script("touch a; mv a b; mv b end")
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./ CLOSE_WRITE,CLOSE a",
            "./ MOVED_FROM a",
            "./ MOVED_TO b",
            "./ MOVED_FROM b",
            "./ MOVED_TO end",
        ])
    );
}

#[test]
fn format_with_every_directive() {
    let (ours, _dir) = Case::new(&[
        "-m",
        "-e",
        "create,moved_to",
        "--format",
        "[%w|%f|%e|%:e|%;e|%%|%x|%n]",
        ".",
    ])
    .script("touch a; mkdir end")
    .until(&|lines: &[String]| lines.iter().filter(|l| *l == "]").count() == 2)
    .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "[./|a|CREATE|CREATE|CREATE|%|%x|",
            "]",
            "[./|end|CREATE,ISDIR|CREATE:ISDIR|CREATE;ISDIR|%|%x|",
            "]",
        ])
    );
}

#[test]
fn format_no_newline() {
    let (ours, _dir) = Case::new(&["-e", "create", "--format", "%e %f;", "--no-newline", "."])
        .script("mkdir end")
        .compare();
    assert_eq!(ours.stdout, lines(&["CREATE,ISDIR end;"]));
    assert_eq!(ours.code, Some(0));
}

/// `%c`: the cookie, in hex, the same for the two halves of a rename (the kernel picks
/// the number, so the two programs' cookies differ).
#[test]
fn format_cookie() {
    let (ours, _dir) = Case::new(&["-m", "-e", "move", "--format", "%e %f %c", "."])
        .setup("touch a")
        .script("mv a end")
        .until(&ends_with_end)
        .ours();
    let from = ours.stdout[0].strip_prefix("MOVED_FROM a ").unwrap();
    let to = ours.stdout[1].strip_prefix("MOVED_TO end ").unwrap();
    assert_eq!(from, to);
    assert!(u32::from_str_radix(from, 16).unwrap() != 0);
}

#[test]
fn time_format_in_local_time() {
    // A zone with no daylight saving time, so that the two runs cannot straddle a change.
    let (ours, _dir) = Case::new(&[
        "-m",
        "-e",
        "create",
        "--timefmt",
        "%Z %z %Y",
        "--format",
        "%T %f",
        ".",
    ])
    .env("TZ", "JST-9")
    .script("mkdir end")
    .until(&ends_with_end)
    .compare();
    assert_eq!(ours.stdout.len(), 1);
    assert!(
        ours.stdout[0].starts_with("JST +0900 2"),
        "{:?}",
        ours.stdout
    );
}

#[test]
fn csv_quotes_names_that_need_it() {
    let (ours, _dir) = Case::new(&["-m", "-c", "-e", "create,close_write", "."])
        .script("touch 'a,b' ' lead' 'trail ' 'q\"q' plain; mkdir end")
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./,CREATE,\"a,b\"",
            "./,\"CLOSE_WRITE,CLOSE\",\"a,b\"",
            "./,CREATE,\" lead\"",
            "./,\"CLOSE_WRITE,CLOSE\",\" lead\"",
            "./,CREATE,\"trail \"",
            "./,\"CLOSE_WRITE,CLOSE\",\"trail \"",
            "./,CREATE,\"q\"\"q\"",
            "./,\"CLOSE_WRITE,CLOSE\",\"q\"\"q\"",
            "./,CREATE,plain",
            "./,\"CLOSE_WRITE,CLOSE\",plain",
            "./,\"CREATE,ISDIR\",end",
        ])
    );
}

#[test]
fn csv_of_a_watched_file_has_an_empty_name() {
    let (ours, _dir) = Case::new(&["-c", "-e", "attrib", "f"])
        .setup("touch f")
        .script("chmod 600 f")
        .compare();
    assert_eq!(ours.stdout, lines(&["f,ATTRIB,"]));
}

#[test]
fn exclude_include_and_their_case_insensitive_forms() {
    let script = "touch keep.txt skip.tmp SKIP.TMP Keep.TXT; mkdir end";
    let (ours, _dir) = Case::new(&["-m", "-e", "create", "--exclude", "\\.tmp$", "."])
        .script(script)
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./ CREATE keep.txt",
            "./ CREATE SKIP.TMP",
            "./ CREATE Keep.TXT",
            "./ CREATE,ISDIR end",
        ])
    );
    let (ours, _dir) = Case::new(&["-m", "-e", "create", "--excludei", "\\.tmp$", "."])
        .script(script)
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./ CREATE keep.txt",
            "./ CREATE Keep.TXT",
            "./ CREATE,ISDIR end",
        ])
    );
    let (ours, _dir) = Case::new(&["-m", "-e", "create", "--include", "(txt|end)$", "."])
        .script(script)
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&["./ CREATE keep.txt", "./ CREATE,ISDIR end"])
    );
    let (ours, _dir) = Case::new(&[
        "-m",
        "-e",
        "create",
        "--includei",
        "[.]txt$|^[[:alpha:]./]+end$",
        ".",
    ])
    .script(script)
    .until(&ends_with_end)
    .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./ CREATE keep.txt",
            "./ CREATE Keep.TXT",
            "./ CREATE,ISDIR end"
        ])
    );
}

#[test]
fn several_paths_a_directory_twice_and_a_symbolic_link() {
    let (ours, _dir) = Case::new(&["-m", "-e", "create,modify", "d1", "f", "d2/", "link", "d1/"])
        .setup("mkdir d1 d2; touch f; ln -s d2 link")
        .script("touch d1/a d2/b; echo x >> f; mkdir d1/end")
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "d1/ CREATE a",
            "d2/ CREATE b",
            "f MODIFY ",
            "d1/ CREATE,ISDIR end",
        ])
    );
}

#[test]
fn fromfile_with_exclusions_and_stdin() {
    let (ours, _dir) = Case::new(&["-m", "-e", "create", "--fromfile", "list", "d3"])
        .setup("mkdir d1 d2 d3; printf 'd1\\n@d2\\n\\n@\\nd2\\n' > list")
        .script("touch d1/a d2/b d3/c; mkdir d3/end")
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "d1/ CREATE a",
            "d2/ CREATE b",
            "d3/ CREATE c",
            "d3/ CREATE,ISDIR end"
        ])
    );
    let (ours, _dir) = Case::new(&["-m", "-e", "create", "--fromfile", "-"])
        .setup("mkdir d1 d2")
        .stdin(b"d2\nd1\n")
        .script("touch d1/a d2/b; mkdir d1/end")
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&["d1/ CREATE a", "d2/ CREATE b", "d1/ CREATE,ISDIR end"])
    );
}

#[test]
fn outfile_gets_the_events_appended() {
    let check = |tool: Tool| {
        let dir = prepared("mkdir w; echo old > out");
        let outcome = Run::new(tool, NAME, &["-e", "create", "-o", "out", "w"], dir.path())
            .script("touch w/a")
            .go();
        let written = std::fs::read_to_string(dir.join("out")).unwrap();
        let mode = std::fs::metadata(dir.join("out")).unwrap();
        (
            outcome,
            written,
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()),
        )
    };
    let ours = check(Tool::Ours);
    assert_eq!(ours.0.code, Some(0));
    assert!(ours.0.stdout.is_empty());
    assert_eq!(ours.1, "old\nw/ CREATE a\n");
    if tools_support::has_real(NAME) {
        let real = check(Tool::Real);
        assert_eq!(ours.0, real.0);
        assert_eq!(ours.1, real.1);
    }
    // A new file is made with mode 0600.
    let dir = prepared("mkdir w");
    let outcome = Run::new(
        Tool::Ours,
        NAME,
        &["-e", "create", "-o", "new", "w"],
        dir.path(),
    )
    .script("touch w/a")
    .go();
    assert_eq!(outcome.code, Some(0));
    let meta = std::fs::metadata(dir.join("new")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
}

#[test]
fn quiet_once_and_twice() {
    let (ours, _dir) = Case::new(&["-q", "-e", "create", "."])
        .quiet(1)
        .script("touch a")
        .compare();
    assert_eq!(ours.stdout, lines(&["./ CREATE a"]));
    assert!(ours.stderr.is_empty());
    let (ours, _dir) = Case::new(&["-qq", "-e", "create", "."])
        .quiet(1)
        .script("touch a")
        .compare();
    assert!(ours.stdout.is_empty() && ours.stderr.is_empty());
    assert_eq!(ours.code, Some(0));
}

#[test]
fn no_dereference_watches_the_link() {
    let (ours, _dir) = Case::new(&["-P", "-e", "attrib,create", "link"])
        .setup("mkdir d; ln -s d link")
        .script("touch d/x; touch -h link")
        .compare();
    assert_eq!(ours.stdout, lines(&["link ATTRIB "]));
}

/// Bad input: the same message on standard error, exit code 1, never a panic.
#[test]
fn bad_input_is_refused_with_inotifywaits_messages() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["missing"], &["Setting up watches.", "Couldn't watch missing: No such file or directory"]),
        (&["-e", "nosuch", "."], &["'nosuch' is not a valid event!  Run with the '--help' option to see a list of events."]),
        (&["-e", "modify,nosuch", "."], &["'modify,nosuch' is not a valid event!  Run with the '--help' option to see a list of events."]),
        (&["-t", "abc", "."], &["'abc' is not a valid timeout value.", "Please specify a long int value."]),
        (&["-t", "5s", "."], &["'5s' is not a valid timeout value.", "Please specify a long int value."]),
        (&["-t", "", "."], &["The provided value is not a valid timeout value.", "Please specify a long int value."]),
        (&["-t", "99999999999999999999", "."], &["Something went wrong with the timeout value you provided.", "Numerical result out of range"]),
        (&["--exclude", "(", "."], &["Error in `exclude' regular expression."]),
        (&["--includei", "[z-a]", "."], &["Error in `include' regular expression."]),
        (&["--exclude", "^*", "."], &["Error in `exclude' regular expression."]),
        (&["--exclude", "a|*b", "."], &["Error in `exclude' regular expression."]),
        (&["--exclude", "x{", "."], &["Error in `exclude' regular expression."]),
        (&["--exclude", "x$*", "."], &["Error in `exclude' regular expression."]),
        (&["--exclude", "a{1,2,3}", "."], &["Error in `exclude' regular expression."]),
        (&["-o", "no/such/dir/out", "."], &["Failed to open output file no/such/dir/out"]),
        (&[], &["No files specified to watch!"]),
        (&["--fromfile", "nosuch"], &["Couldn't open nosuch: No such file or directory", "No files specified to watch!"]),
        (&["-c", "--format", "%w", "."], &["-c and --format cannot both be specified."]),
        (&["--format", "%T", "."], &["%T is in --format string, but --timefmt was not specified."]),
        (&["--timefmt", "%F", "."], &["--timefmt cannot be specified without --format."]),
        (&["--no-newline", "."], &["--no-newline cannot be specified without --format."]),
        (&["--exclude", "a", "--include", "b", "."], &["include and exclude regexp cannot both be specified."]),
        (&["--exclude", "a", "--excludei", "b", "."], &["--exclude and --excludei cannot both be specified."]),
        (&["-d", "."], &["-o must be specified with -d."]),
        (&["-x", "."], &["inotifywait: invalid option -- 'x'"]),
        (&["--nosuch", "."], &["inotifywait: unrecognized option '--nosuch'"]),
        (&["--exc=a", "."], &["inotifywait: option '--exc=a' is ambiguous; possibilities: '--exclude' '--excludei'"]),
        (&["--monitor=1", "."], &["inotifywait: option '--monitor' doesn't allow an argument"]),
        (&[".", "-t"], &["inotifywait: option requires an argument -- 't'"]),
        (&[".", "--timeout"], &["inotifywait: option '--timeout' requires an argument"]),
        (&["-f", "."], &["The '--filename' option no longer exists.  The option it enabled in earlier", "versions of inotifywait is now turned on by default."]),
        (&["--outfile", "a", "-o", "b", "."], &["Multiple --outfile options given."]),
    ];
    let real = tools_support::has_real(NAME);
    for &(args, stderr) in cases {
        if musl_reads_it_otherwise(args) {
            continue;
        }
        let dir = TempDir::new();
        let ours = Run::new(Tool::Ours, NAME, args, dir.path()).no_wait().go();
        assert_eq!(
            (ours.code, ours.stderr.clone()),
            (Some(1), lines(stderr)),
            "{:?}",
            args
        );
        assert!(ours.stdout.is_empty(), "{:?}", args);
        if real {
            let dir = TempDir::new();
            let theirs = Run::new(Tool::Real, NAME, args, dir.path()).no_wait().go();
            assert_eq!(ours, theirs, "{:?}", args);
        }
    }
}

#[test]
fn help_goes_to_standard_output_and_exits_1() {
    let dir = TempDir::new();
    let ours = Run::new(Tool::Ours, NAME, &["--help"], dir.path())
        .no_wait()
        .go();
    assert_eq!(ours.code, Some(1));
    assert!(ours.stdout[0].starts_with("inotifywait 3.22"));
    assert!(ours.stdout.iter().any(|l| l.contains("--timeout")));
    assert!(ours.stdout.iter().any(|l| l.contains("With -r")));
    assert!(ours.stderr.is_empty());
}

// ---------------------------------------------------------------------------------------
// -r: the same lines where inotifywait is right, better lines where it is not.

/// Files made, written, moved and deleted in directories that exist at the start: the
/// same lines as inotifywait's.
#[test]
fn recursive_events_in_existing_directories() {
    let (ours, _dir) = Case::new(&["-m", "-r", "."])
        .setup("mkdir -p a/b c")
        .script(
            "touch a/f; echo x >> a/b/g; mv a/f a/b/f2; mv a/b/f2 c/; rm c/f2 a/b/g; \
             chmod 700 a/b; mkdir end",
        )
        .until(&ends_with_end)
        // The tree drops a directory's own copy of what its parent reports.
        .real_extra(&|line| line == "./a/b/ ATTRIB,ISDIR ")
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./a/ CREATE f",
            "./a/ OPEN f",
            "./a/ ATTRIB f",
            "./a/ CLOSE_WRITE,CLOSE f",
            "./a/b/ CREATE g",
            "./a/b/ OPEN g",
            "./a/b/ MODIFY g",
            "./a/b/ CLOSE_WRITE,CLOSE g",
            "./a/ MOVED_FROM f",
            "./a/b/ MOVED_TO f2",
            "./a/b/ MOVED_FROM f2",
            "./c/ MOVED_TO f2",
            "./c/ DELETE f2",
            "./a/b/ DELETE g",
            "./a/ ATTRIB,ISDIR b",
            "./ CREATE,ISDIR end",
        ])
    );
    assert_eq!(ours.stderr, lines(&SET_UP_R));
}

/// `mkdir -p a/b/c && touch a/b/c/f`: every directory and the file are reported.
#[test]
fn recursive_reports_what_is_made_in_new_directories() {
    let (ours, _dir) = Case::new(&["-m", "-r", "-e", "create", "."])
        .script("mkdir -p a/b/c && touch a/b/c/f && mkdir end")
        .until(&ends_with_end)
        .ours();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./ CREATE,ISDIR a",
            "./a/ CREATE,ISDIR b",
            "./a/b/ CREATE,ISDIR c",
            "./a/b/c/ CREATE f",
            "./ CREATE,ISDIR end",
        ])
    );
}

/// The tree's listing of a new directory is not reported (inotifywait's is: OPEN,
/// ACCESS and CLOSE_NOWRITE with ISDIR), nor is a directory's own copy of an event its
/// parent reports.
#[test]
fn recursive_prints_no_listing_events() {
    let (ours, _dir) = Case::new(&["-m", "-r", "."])
        .script("mkdir d && mkdir end")
        .until(&ends_with_end)
        .ours();
    assert_eq!(
        ours.stdout,
        lines(&["./ CREATE,ISDIR d", "./ CREATE,ISDIR end"])
    );
}

/// Paths stay right after a directory is renamed, even while its events are queued.
#[test]
fn recursive_paths_are_right_after_moves() {
    let (ours, _dir) = Case::new(&["-m", "-r", "-e", "create,moved_to,moved_from", "."])
        .setup("mkdir -p a/b")
        .script("mv a c && touch c/b/f && mv c/b c/d && touch c/d/g && mkdir end")
        .until(&ends_with_end)
        .ours();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./ MOVED_FROM,ISDIR a",
            "./ MOVED_TO,ISDIR c",
            "./c/b/ CREATE f",
            "./c/ MOVED_FROM,ISDIR b",
            "./c/ MOVED_TO,ISDIR d",
            "./c/d/ CREATE g",
            "./ CREATE,ISDIR end",
        ])
    );
}

/// Nothing comes from a subtree moved out (inotifywait goes on reporting its
/// subdirectories under their old paths).
#[test]
fn recursive_nothing_from_a_subtree_moved_out() {
    let outside = TempDir::new();
    let script = format!(
        "mv a {out}/ && touch {out}/a/f {out}/a/b/g && mkdir end",
        out = outside.path().display()
    );
    let (ours, _dir) = Case::new(&["-m", "-r", "-e", "create,moved_from", "."])
        .setup("mkdir -p a/b")
        .script(&script)
        .until(&ends_with_end)
        .ours();
    assert_eq!(
        ours.stdout,
        lines(&["./ MOVED_FROM,ISDIR a", "./ CREATE,ISDIR end"])
    );
}

/// `--exclude` keeps the directories it matches unwatched (inotifywait watches them and
/// drops their events); `@DIR` too, also for a directory made later.
#[test]
fn recursive_exclusions_stop_the_watching() {
    let dir = prepared("mkdir -p keep/sub skip/sub/deeper");
    let ours = Run::new(
        Tool::Ours,
        NAME,
        &[
            "-m",
            "-r",
            "-e",
            "create",
            "--exclude",
            "skip",
            "@./later",
            ".",
        ],
        dir.path(),
    )
    .script("touch keep/sub/f skip/sub/f; mkdir later; touch later/x; mkdir end")
    .until(&ends_with_end)
    .go();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./keep/sub/ CREATE f",
            "./ CREATE,ISDIR later",
            "./ CREATE,ISDIR end",
        ])
    );
    // Watched once set up: ., keep and keep/sub; not skip, skip/sub, skip/sub/deeper.
    let dir = prepared("mkdir -p keep/sub skip/sub/deeper");
    let watched = tools_support::watches_once_established(
        NAME,
        &["-m", "-r", "--exclude", "skip", "."],
        dir.path(),
    );
    assert_eq!(watched, (3, 0));
}

/// `--exclude` keeps a directory unwatched only when it drops every event below it: a
/// pattern that matches the directory's own path and nothing below it (`$`) leaves it
/// watched, and its events printed, as inotifywait prints them.
#[test]
fn recursive_exclude_that_matches_only_the_directory_keeps_its_events() {
    let (ours, _dir) = Case::new(&["-m", "-r", "-e", "create", "--exclude", "^\\./skip$", "."])
        .setup("mkdir -p skip/s")
        .script("touch skip/f skip/s/g; mkdir end")
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "./skip/ CREATE f",
            "./skip/s/ CREATE g",
            "./ CREATE,ISDIR end",
        ])
    );
}

/// `-r` on a file watches the file, as inotifywait does (a script may pass `-r` with a
/// path that is sometimes a file): the same lines as without `-r`, and the same exit
/// code when it goes.
#[test]
fn recursive_on_a_file_watches_the_file() {
    let ours = a_watched_file_with(&["-m", "-r", "f"]);
    assert_eq!(ours.stderr, lines(&SET_UP_R));
    let (ours, _dir) = Case::new(&["-r", "-e", "modify", "f"])
        .setup("touch f")
        .script("rm f")
        .compare();
    assert_eq!((ours.stdout.len(), ours.code), (0, Some(1)));
}

/// Files and directories given together with `-r`: each file on its own, each directory
/// as a tree. (The files and the trees are read from two inotify instances: the lines of
/// each come in the kernel's order, but the two may interleave differently from
/// inotifywait's when both have events queued, so they are compared apart.)
#[test]
fn recursive_on_files_and_directories_together() {
    let files_then_trees =
        |lines: &mut Vec<String>| lines.sort_by_key(|line| line.starts_with("d/"));
    let (ours, _dir) = Case::new(&["-m", "-r", "-e", "create,modify", "f", "d", "link"])
        .setup("touch f; mkdir -p d/sub; touch g; ln -s g link")
        .script("touch d/a d/sub/b; echo x >> f; echo y >> g; mkdir d/end")
        .until(&|lines: &[String]| lines.len() == 5)
        .normalize(&files_then_trees)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&[
            "f MODIFY ",
            "link MODIFY ",
            "d/ CREATE a",
            "d/sub/ CREATE b",
            "d/ CREATE,ISDIR end",
        ])
    );
}

/// `-e oneshot` with `-r`: one event from each directory's watch, as the kernel gives
/// inotifywait (the tree's watches are its own, so the example counts).
#[test]
fn recursive_oneshot_reports_one_event_per_directory() {
    let (ours, _dir) = Case::new(&["-m", "-r", "-e", "create,oneshot", "a", "b"])
        .setup("mkdir a b")
        .script("touch a/x a/y b/z b/w")
        .until(&|lines: &[String]| has_line_with(lines, "b/ CREATE"))
        .compare();
    assert_eq!(ours.stdout, lines(&["a/ CREATE x", "b/ CREATE z"]));
}

/// A root deleted: inotifywait's DELETE_SELF line and exit code.
#[test]
fn recursive_root_deleted() {
    let (ours, _dir) = Case::new(&["-r", "-e", "delete_self", "w"])
        .setup("mkdir w")
        .script("rmdir w")
        .compare();
    assert_eq!(ours.stdout, lines(&["w/ DELETE_SELF "]));
    assert_eq!(ours.code, Some(0));
    let (ours, _dir) = Case::new(&["-r", "-e", "create", "w"])
        .setup("mkdir w")
        .script("rmdir w")
        .compare();
    assert!(ours.stdout.is_empty());
    assert_eq!(ours.code, Some(1));
}

/// `-d`: the program goes to the background at once (exit 0 in the foreground), and the
/// events go to the `-o` file; with `-t`, it ends by itself.
#[test]
fn daemon_writes_events_to_the_outfile() {
    let mut tools = vec![Tool::Ours];
    if tools_support::has_real(NAME) {
        tools.push(Tool::Real);
    }
    for tool in tools {
        // inotifywait resolves the outfile first, so it must exist; it goes to / before
        // watching, so the path is absolute.
        let dir = prepared("mkdir w; touch out");
        let watched = dir.join("w");
        let out = dir.join("out");
        let status = common::status(
            tools_support::command(tool, NAME)
                .args(["-d", "-t", "2", "-e", "create", "-o"])
                .arg(&out)
                .arg(&watched)
                .current_dir(dir.path())
                .stdin(std::process::Stdio::null()),
        )
        .unwrap();
        assert_eq!(status.code(), Some(0), "{:?}", tool);
        // The background process watches soon: make files until one is reported.
        let deadline = std::time::Instant::now() + tools_support::RUN_DEADLINE;
        let mut n = 0;
        let written = loop {
            std::fs::write(watched.join(format!("f{}", n)), b"").unwrap();
            n += 1;
            let written = std::fs::read_to_string(&out).unwrap();
            if written.contains('\n') {
                break written;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}: nothing in the outfile",
                tool
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let first = written.lines().next().unwrap();
        let prefix = format!("{}/ CREATE f", watched.display());
        assert!(first.starts_with(&prefix), "{:?}: {:?}", tool, written);
    }
}

/// The watch limit (a user namespace whose limit is 4 watches): inotifywait's two lines,
/// then the limit's value and how to raise it; exit code 1.
#[test]
fn the_watch_limit_says_how_to_raise_it() {
    let limited = |tool: Tool, args: &[&str], dir: &Path| -> Option<Outcome> {
        let inner = tools_support::command(tool, NAME);
        let output = common::output(
            std::process::Command::new("unshare")
                .args(["--user", "--map-root-user", "sh", "-c"])
                .arg("echo 4 > /proc/sys/user/max_inotify_watches && exec \"$@\"")
                .arg("sh")
                .arg(inner.get_program())
                .args(inner.get_args())
                .args(args)
                .current_dir(dir),
        )
        .ok()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("unshare:") || stderr.contains("sh: ") {
            eprintln!(
                "skipped: no user namespace with its own watch limit here: {}",
                stderr
            );
            return None;
        }
        Some(Outcome {
            stdout: String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(str::to_string)
                .collect(),
            stderr: stderr.lines().map(str::to_string).collect(),
            code: output.status.code(),
        })
    };
    let real = tools_support::has_real(NAME);
    for (args, failed) in [
        (
            &["-r", "."][..],
            "Failed to watch .; upper limit on inotify watches reached!",
        ),
        (
            &["a", "b", "c", "d", "e", "f"][..],
            "Failed to watch e; upper limit on inotify watches reached!",
        ),
    ] {
        let dir = prepared("mkdir -p a/b/c/d/e/f/g/h b c d e f");
        let ours = match limited(Tool::Ours, args, dir.path()) {
            Some(ours) => ours,
            None => return,
        };
        assert_eq!(ours.code, Some(1), "{:?}", ours);
        assert_eq!(ours.stderr.len(), 4, "{:?}", ours);
        assert_eq!(ours.stderr[1], failed);
        assert_eq!(
            ours.stderr[2],
            "Please increase the amount of inotify watches allowed per user via \
             `/proc/sys/fs/inotify/max_user_watches'."
        );
        assert!(
            ours.stderr[3].starts_with("(fs.inotify.max_user_watches is ")
                && ours.stderr[3].contains("sysctl fs.inotify.max_user_watches=N"),
            "{:?}",
            ours.stderr
        );
        if real {
            let dir = prepared("mkdir -p a/b/c/d/e/f/g/h b c d e f");
            let theirs = limited(Tool::Real, args, dir.path()).unwrap();
            assert_eq!(ours.stderr[..3], theirs.stderr[..], "{:?}", args);
            assert_eq!((ours.code, &ours.stdout), (theirs.code, &theirs.stdout));
        }
    }
}

/// Whether `args` hold an expression that musl's `regcomp` reads otherwise than glibc's
/// (musl refuses `{,n}` and takes a `*` after `^` or `$`), on a musl build: the tools take
/// their C library's reading, as an inotifywait built on musl does, and the comparison
/// is with a glibc inotifywait.
fn musl_reads_it_otherwise(args: &[&str]) -> bool {
    cfg!(target_env = "musl") && args.iter().any(|arg| ["a{,2}b", "^*", "x$*"].contains(arg))
}

/// POSIX extended regular expressions as inotifywait's C library reads them: each
/// pattern filters the same names in both programs.
#[test]
fn regular_expressions_read_as_posix_extended() {
    let names = "a.txt b.log c.log xx 'x{2}' 'b]c' 'a\\b' word1 sword A1 a.b ab 'p(q' 'r)s'";
    let script = format!("touch {}; mkdir zz-stop", names);
    let patterns = [
        "[]]",
        "[^a-z./-]",
        "x{2}",
        "^\\./a",
        "(b|c)\\.log$",
        "[[:digit:]]",
        "[[:upper:]]",
        "\\<word",
        "a\\.b",
        "[.]txt",
        "[a\\]b",
        "\\(",
        "r)",
        "x\\{",
        "^\\./(xx|ab)$",
        "a?b$",
        "s+w",
        "(x|y)+d",
        "x{1}",
        "a{,2}b",
        "((x))x{1}",
        "d\\>",
    ];
    for pattern in patterns {
        let args = ["-m", "-e", "create", "--exclude", pattern, "."];
        if musl_reads_it_otherwise(&args) {
            continue;
        }
        let (ours, _dir) = Case::new(&args)
            .script(&script)
            .until(&|lines: &[String]| has_line_with(lines, "zz-stop"))
            .compare();
        assert!(ours.stdout.len() > 1, "{:?}: {:?}", pattern, ours.stdout);
    }
}

/// Back-references (`\\1`), which glibc's `regcomp` takes in an extended expression, as
/// inotifywait does. (musl's reads `\\1` in one as a plain `1`, as an inotifywait built
/// on musl does: the comparison with the glibc one is for glibc.)
#[cfg(target_env = "gnu")]
#[test]
fn regular_expressions_with_back_references() {
    let (ours, _dir) = Case::new(&["-m", "-e", "create", "--exclude", "/(.)\\1", "."])
        .script("touch aa ab bb ba; mkdir end")
        .until(&ends_with_end)
        .compare();
    assert_eq!(
        ours.stdout,
        lines(&["./ CREATE ab", "./ CREATE ba", "./ CREATE,ISDIR end"])
    );
}
