//! `examples/inotifywatch.rs` beside inotify-tools' `inotifywatch`: both count the same
//! scripted file operations for one second (`-t 1`), each in a fresh directory of its
//! own, and must print the same table and messages and exit with the same code. Where
//! the example is better on purpose (`-r`), the test asserts the better table.

mod common;
mod stress_support;
mod tools_support;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TempDir;
use stress_support::Rng;
use tools_support::{Outcome, Run, Tool};

const NAME: &str = "inotifywatch";

fn prepared(setup: &str) -> TempDir {
    let dir = TempDir::new();
    if !setup.is_empty() {
        let status = common::status(
            std::process::Command::new("sh")
                .arg("-c")
                .arg(setup)
                .current_dir(dir.path()),
        )
        .unwrap();
        assert!(status.success(), "setup failed: {}", setup);
    }
    dir
}

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|s| s.to_string()).collect()
}

fn run(tool: Tool, args: &[&str], dir: &Path, script: &str) -> Outcome {
    Run::new(tool, NAME, args, dir).script(script).go()
}

/// Runs the example and, when installed, inotifywatch, each on a fresh copy of `setup`,
/// asserts that they agree, and returns the example's outcome.
fn compare(args: &[&str], setup: &str, script: &str) -> Outcome {
    let dir = prepared(setup);
    let ours = run(Tool::Ours, args, dir.path(), script);
    if tools_support::has_real(NAME) {
        let dir = prepared(setup);
        let real = run(Tool::Real, args, dir.path(), script);
        assert_eq!(
            ours, real,
            "the example (left) and inotifywatch (right) differ for {:?}",
            args
        );
    }
    ours
}

const STARTED: [&str; 2] = [
    "Establishing watches...",
    "Finished establishing watches, now collecting statistics.",
];

#[test]
fn counts_per_watch_sorted_by_total() {
    let ours = compare(
        &["-t", "1", ".", "d", "f"],
        "mkdir d; echo 1 > f",
        "touch a d/b; echo x >> a; cat a > /dev/null; echo y >> f; mkdir e; rmdir e; \
         mv a d/a2",
    );
    assert_eq!(
        ours.stdout,
        lines(&[
            "total  access  modify  attrib  close_write  close_nowrite  open  moved_from  \
             moved_to  create  delete  filename",
            "16     1       2       1       3            1              4     1           \
             0         2       1       ./",
            "5      0       0       1       1            0              1     0           \
             1         1       0       d/",
            "3      0       1       0       1            0              1     0           \
             0         0       0       f",
        ])
    );
    assert_eq!(ours.stderr, lines(&STARTED));
    assert_eq!(ours.code, Some(0));
}

#[test]
fn event_filter_zero_rows_and_columns_and_sorting() {
    let ours = compare(
        &[
            "-t",
            "1",
            "-z",
            "-e",
            "create,modify,delete",
            "-a",
            "modify",
            ".",
            "d",
            "e",
        ],
        "mkdir d e",
        "touch a d/b d/c; echo x >> d/b; echo x >> d/c; rm a",
    );
    assert_eq!(
        ours.stdout,
        lines(&[
            "total  modify  create  delete  filename",
            "2      0       1       1       ./",
            "0      0       0       0       e/",
            "4      2       2       0       d/",
        ])
    );
    let ours = compare(
        &["-t", "1", "-e", "create,delete", "-d", "delete", ".", "d"],
        "mkdir d",
        "touch a d/b d/c; rm d/b d/c",
    );
    assert_eq!(
        ours.stdout,
        lines(&[
            "total  create  delete  filename",
            "4      2       2       d/",
            "1      1       0       ./",
        ])
    );
}

#[test]
fn exclude_and_include() {
    let ours = compare(
        &["-t", "1", "-e", "create", "--exclude", "\\.tmp$", ".", "d"],
        "mkdir d",
        "touch a.tmp b d/c.tmp d/e",
    );
    assert_eq!(
        ours.stdout,
        lines(&[
            "total  create  filename",
            "1      1       ./",
            "1      1       d/"
        ])
    );
    let ours = compare(
        &["-t", "1", "-e", "create", "--includei", "^d/", ".", "d"],
        "mkdir d",
        "touch a b d/c d/e",
    );
    assert_eq!(
        ours.stdout,
        lines(&["total  create  filename", "2      2       d/"])
    );
}

#[test]
fn no_events_and_verbose() {
    let ours = compare(&["-t", "1", "-v", "."], "", "");
    assert!(ours.stdout.is_empty());
    assert_eq!(
        ours.stderr,
        lines(&[
            "Establishing watches...",
            "Total of 1 watches.",
            "Finished establishing watches, now collecting statistics.",
            "Will listen for events for 1 seconds.",
            "No events occurred.",
        ])
    );
    assert_eq!(ours.code, Some(0));
}

/// Files in directories that exist at the start: the same table as inotifywatch's.
#[test]
fn recursive_counts_in_existing_directories() {
    let ours = compare(
        &["-t", "1", "-r", "-v", "-e", "create,modify,delete", "."],
        "mkdir -p a/b c",
        "touch a/f a/f2 a/b/g c/h; echo x >> a/b/g; rm a/f",
    );
    // (No two rows with the same total: inotifywatch breaks ties by watch descriptor,
    // and it numbers the directories of a tree bottom-up, the tree top-down.)
    assert_eq!(
        ours.stdout,
        lines(&[
            "total  modify  create  delete  filename",
            "3      0       2       1       ./a/",
            "2      1       1       0       ./a/b/",
            "1      0       1       0       ./c/",
        ])
    );
    assert_eq!(
        ours.stderr,
        lines(&[
            "Establishing watches...",
            "Setting up watch(es) on .",
            "OK, . is now being watched.",
            "Total of 4 watches.",
            "Finished establishing watches, now collecting statistics.",
            "Will listen for events for 1 seconds.",
        ])
    );
}

/// `-r` with a file: the file is watched on its own, as inotifywatch does, beside the
/// directory's tree.
#[test]
fn recursive_counts_a_file_given_as_a_root() {
    let ours = compare(
        &["-t", "1", "-r", "-v", "f", "d"],
        "echo 1 > f; mkdir d",
        "echo x >> f; touch d/a",
    );
    assert_eq!(
        ours.stdout,
        lines(&[
            "total  modify  attrib  close_write  open  create  filename",
            "4      0       1       1            1     1       d/",
            "3      1       0       1            1     0       f",
        ])
    );
    assert_eq!(
        ours.stderr,
        lines(&[
            "Establishing watches...",
            "Setting up watch(es) on f",
            "OK, f is now being watched.",
            "Setting up watch(es) on d",
            "OK, d is now being watched.",
            "Total of 2 watches.",
            "Finished establishing watches, now collecting statistics.",
            "Will listen for events for 1 seconds.",
        ])
    );
    assert_eq!(ours.code, Some(0));
}

/// What is made in new directories is counted where it was made (inotifywatch misses
/// what is made before its watch exists, and counts its own listings).
#[test]
fn recursive_counts_what_is_made_in_new_directories() {
    let dir = prepared("");
    let ours = Run::new(Tool::Ours, NAME, &["-r", "-e", "create", "."], dir.path())
        .script("mkdir -p x/y/z && touch x/y/z/f")
        .signal_after("INT")
        .go();
    assert_eq!(
        ours.stdout,
        lines(&[
            "total  create  filename",
            "1      1       ./",
            "1      1       ./x/",
            "1      1       ./x/y/",
            "1      1       ./x/y/z/",
        ])
    );
    assert_eq!(ours.code, Some(0));
}

/// SIGINT ends the count: the table of what happened before it, exit code 0.
#[test]
fn interrupt_prints_the_table() {
    let dir = prepared("mkdir d");
    let ours = Run::new(Tool::Ours, NAME, &["-e", "create", "d"], dir.path())
        .script("touch d/a d/b")
        .signal_after("INT")
        .go();
    assert_eq!(
        ours.stdout,
        lines(&["total  create  filename", "2      2       d/"])
    );
    assert_eq!(ours.code, Some(0));
}

#[test]
fn bad_input_is_refused_with_inotifywatchs_messages() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["-a", "move", "."], &["Cannot sort by `move' event; please use `moved_from' or `moved_to'."]),
        (&["-a", "close", "."], &["Cannot sort by `close' event; please use `close_write' or `close_nowrite'."]),
        (&["-d", "nosuch", "."], &["'nosuch' is not a valid key for sorting!"]),
        (&["-a", "total", "-d", "total", "."], &["Please specify -a or -d once only!"]),
        (&["-a", "isdir", "."], &["Can't sort by an event which isn't being watched for!"]),
        (&["-e", "create", "-a", "modify", "."], &["Can't sort by an event which isn't being watched for!"]),
        (&["-e", "nosuch", "."], &["'nosuch' is not a valid event!  Run with the '--help' option to see a list of events."]),
        (&["-t", "x", "."], &["'x' is not a valid timeout value.", "Please specify a long int value."]),
        (&["--exclude", "(", "."], &["Error in `exclude' regular expression."]),
        (&["--exclude", "a", "--include", "b", "."], &["include and exclude regexp cannot both be specified."]),
        (&[], &["No files specified to watch!"]),
        (&["missing"], &["Establishing watches...", "Failed to watch missing: No such file or directory"]),
        (&["-x"], &["inotifywatch: invalid option -- 'x'"]),
    ];
    let real = tools_support::has_real(NAME);
    for &(args, stderr) in cases {
        let dir = TempDir::new();
        let ours = Run::new(Tool::Ours, NAME, args, dir.path()).no_wait().go();
        assert_eq!(
            (ours.code, ours.stderr.clone()),
            (Some(1), lines(stderr)),
            "{:?}",
            args
        );
        if real {
            let dir = TempDir::new();
            let theirs = Run::new(Tool::Real, NAME, args, dir.path()).no_wait().go();
            assert_eq!(ours, theirs, "{:?}", args);
        }
    }
}

extern "C" {
    fn kill(pid: i32, signal: i32) -> i32;
}

/// SIGUSR1 prints the table and SIGINT ends the count whenever they come, also just
/// after an event woke the loop: a signal between the loop's look at its flags and its
/// next wait must still be answered, though no further event comes. The delay between
/// each event and its signal is seeded (`INOTIFYWATCH_SIGNAL_SEED` replays one).
#[test]
fn signals_right_after_an_event_are_answered() {
    const SIGINT: i32 = 2;
    const SIGUSR1: i32 = 10;
    const ROUNDS: usize = 300;
    let seed = std::env::var("INOTIFYWATCH_SIGNAL_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
        });
    let mut rng = Rng::new(seed);
    let dir = prepared("mkdir d");
    let mut child = common::spawn_past_exec(
        tools_support::command(Tool::Ours, NAME)
            .args(["-e", "create", "d"])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let pid = child.id() as i32;
    let (sender, lines) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                if sender.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
    }
    drop(sender);
    let deadline = Instant::now() + tools_support::RUN_DEADLINE;
    let mut wait_for = |wanted: &[&str], what: &str| loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if wanted.contains(&line.as_str()) => return,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                panic!("seed {}: {} never came: none of {:?}", seed, what, wanted);
            }
        }
    };
    wait_for(
        &["Finished establishing watches, now collecting statistics."],
        "the start",
    );
    let pause = |rng: &mut Rng| {
        let until = Instant::now() + Duration::from_micros(rng.below(300) as u64);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    };
    for round in 0..ROUNDS {
        std::fs::File::create(dir.path().join("d").join(round.to_string())).unwrap();
        pause(&mut rng);
        // SAFETY: `kill` only sends a signal to the child this test started.
        assert_eq!(unsafe { kill(pid, SIGUSR1) }, 0);
        // A signal that came before the loop read the first event finds nothing
        // counted, and says so, as inotifywatch does.
        wait_for(
            &["total  create  filename", "No events occurred."],
            &format!("the table asked for by SIGUSR1 {}", round + 1),
        );
    }
    std::fs::File::create(dir.path().join("d").join("last")).unwrap();
    pause(&mut rng);
    // SAFETY: as above.
    assert_eq!(unsafe { kill(pid, SIGINT) }, 0);
    let last_row = format!("{:<5}  {:<6}  d/", ROUNDS + 1, ROUNDS + 1);
    wait_for(&[&last_row], "the table at the end");
    assert_eq!(child.wait().unwrap().code(), Some(0), "seed {}", seed);
}
