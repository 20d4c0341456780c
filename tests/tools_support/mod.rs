//! Running `examples/inotifywait.rs`, `examples/inotifywatch.rs` and inotify-tools' own
//! programs on the same scripted file operations, in fresh directories, and collecting
//! what they print: with deadlines, never a sleep.

#![allow(dead_code)]

mod case;

// The inotifywatch tests name none of it.
#[allow(unused_imports)]
pub use case::Case;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one run may take before the test gives up on it: long, for an example
/// started through qemu-user on a machine busy compiling; only a hung run reaches it.
pub const RUN_DEADLINE: Duration = Duration::from_secs(60);

/// Which program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// inotify-tools' program, from `PATH`.
    Real,
    /// The example built beside this test binary.
    Ours,
}

/// The example binary `name` that `cargo test` built beside this test binary.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = profile_dir.join("examples").join(name);
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds it; with a test filter, run \
         `cargo build --example {}` first",
        binary.display(),
        name
    );
    binary
}

/// Whether inotify-tools' `name` is on `PATH`; if not, says that the comparison is
/// skipped (`.ci/run` installs the Debian package `inotify-tools`).
pub fn has_real(name: &str) -> bool {
    let found = crate::common::status(
        Command::new(name)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .is_ok();
    if !found {
        eprintln!(
            "skipped: {} is not installed (apt-get install inotify-tools); only this \
             crate's side runs",
            name
        );
    }
    found
}

/// The command for `tool`'s `name`: the example through `$INOTIFY_RAW_EXAMPLE_RUNNER`
/// when set (qemu-user for the aarch64 tests), or the real program.
pub fn command(tool: Tool, name: &str) -> Command {
    match tool {
        Tool::Real => Command::new(name),
        Tool::Ours => {
            let binary = example_binary(name);
            match std::env::var_os("INOTIFY_RAW_EXAMPLE_RUNNER") {
                Some(runner) if !runner.is_empty() => {
                    let mut command = Command::new(runner);
                    command.arg(binary);
                    command
                }
                _ => Command::new(binary),
            }
        }
    }
}

/// What one run printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output, line by line (a line's bytes read lossily).
    pub stdout: Vec<String>,
    /// Standard error, line by line, with the example's path in getopt's messages
    /// written as the program's name.
    pub stderr: Vec<String>,
    /// The exit code; `None` when the test stopped it.
    pub code: Option<i32>,
}

/// A line of output or error as it arrives.
enum Line {
    Out(String),
    Err(String),
    OutClosed,
    ErrClosed,
}

/// When a run's output is complete.
pub type Until<'a> = &'a dyn Fn(&[String]) -> bool;

/// A child process stopped and reaped when dropped, also when a test panics.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One scripted run.
pub struct Run<'a> {
    pub tool: Tool,
    pub name: &'a str,
    pub args: Vec<String>,
    /// Where the program runs, and the script.
    pub dir: &'a Path,
    /// Shell commands, run in `dir` once the program is ready.
    pub script: &'a str,
    /// Once the program has printed what the first says, after the script, more shell
    /// commands (for what must follow events the program has read).
    pub then: Option<(Until<'a>, &'a str)>,
    /// True when the program is done: the test stops it then (monitor mode). Without
    /// it, the run waits for the program to exit.
    pub until: Option<Until<'a>>,
    /// Ready when the program prints this on standard error; with `None`, when it has
    /// `watches` inotify watches and fanotify file-system marks.
    pub ready_line: Option<&'a str>,
    pub watches: usize,
    /// Extra environment.
    pub env: Vec<(&'a str, &'a str)>,
    /// Standard input.
    pub stdin: Option<&'a [u8]>,
    /// A signal to send once the script is done (`kill -INT`), then wait for the exit.
    pub signal_after: Option<&'a str>,
}

impl<'a> Run<'a> {
    pub fn new(tool: Tool, name: &'a str, args: &[&str], dir: &'a Path) -> Run<'a> {
        Run {
            tool,
            name,
            args: args.iter().map(|a| a.to_string()).collect(),
            dir,
            script: "",
            then: None,
            until: None,
            ready_line: Some(if name == "inotifywatch" {
                "Finished establishing watches, now collecting statistics."
            } else {
                "Watches established."
            }),
            watches: 1,
            env: Vec::new(),
            stdin: None,
            signal_after: None,
        }
    }

    pub fn script(mut self, script: &'a str) -> Self {
        self.script = script;
        self
    }

    /// Runs `script` too, once the program has printed what `printed` waits for.
    pub fn then(mut self, printed: Until<'a>, script: &'a str) -> Self {
        self.then = Some((printed, script));
        self
    }

    pub fn until(mut self, until: Until<'a>) -> Self {
        self.until = Some(until);
        self
    }

    /// Ready once it has this many inotify watches and fanotify file-system marks (for
    /// `-q`, which prints no setup message).
    pub fn ready_at_watches(mut self, watches: usize) -> Self {
        self.ready_line = None;
        self.watches = watches;
        self
    }

    /// Ready at once (bad input: the program exits by itself).
    pub fn no_wait(mut self) -> Self {
        self.ready_line = None;
        self.watches = 0;
        self
    }

    pub fn env(mut self, key: &'a str, value: &'a str) -> Self {
        self.env.push((key, value));
        self
    }

    pub fn stdin(mut self, input: &'a [u8]) -> Self {
        self.stdin = Some(input);
        self
    }

    pub fn signal_after(mut self, signal: &'a str) -> Self {
        self.signal_after = Some(signal);
        self
    }

    /// Runs it: starts the program in `dir`, waits until it is ready, runs the script,
    /// and collects its output until `until` holds or it exits.
    pub fn go(self) -> Outcome {
        let mut command = command(self.tool, self.name);
        command
            .args(&self.args)
            .current_dir(self.dir)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let mut child = Reaped(crate::common::spawn_past_exec(&mut command));
        let child = &mut child.0;
        if let Some(input) = self.stdin {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input).unwrap();
        }
        let (sender, receiver) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let out_sender = sender.clone();
        std::thread::spawn(move || forward(out, out_sender, Line::Out, Line::OutClosed));
        std::thread::spawn(move || forward(err, sender, Line::Err, Line::ErrClosed));

        let deadline = Instant::now() + RUN_DEADLINE;
        let mut got = Collected {
            stdout: Vec::new(),
            stderr: Vec::new(),
            out_open: true,
            err_open: true,
        };

        // Ready?
        match self.ready_line {
            Some(ready) => {
                while !got.stderr.iter().any(|l: &String| l == ready) {
                    if !got.receive(&receiver, deadline) {
                        panic!(
                            "{:?} {:?} never printed {:?}: {:?}",
                            self.tool, self.args, ready, got.stderr
                        );
                    }
                    if !got.out_open && !got.err_open {
                        panic!(
                            "{:?} {:?} ended before it was ready: {:?} {:?}",
                            self.tool, self.args, got.stdout, got.stderr
                        );
                    }
                }
            }
            None if self.watches > 0 => {
                while watch_count(child.id()) + filesystem_mark_count(child.id()) < self.watches {
                    assert!(
                        Instant::now() < deadline,
                        "{:?} {:?} never had {} watches",
                        self.tool,
                        self.args,
                        self.watches
                    );
                    assert!(
                        child.try_wait().unwrap().is_none(),
                        "{:?} {:?} exited early",
                        self.tool,
                        self.args
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            None => {}
        }

        run_script(self.dir, self.script);
        if let Some((printed, script)) = self.then {
            while !printed(&got.stdout) {
                if !got.receive(&receiver, deadline) {
                    panic!(
                        "{:?} {:?}: ended, or never printed what the second script waits \
                         for; so far {:?} {:?}",
                        self.tool, self.args, got.stdout, got.stderr
                    );
                }
            }
            run_script(self.dir, script);
        }
        if let Some(signal) = self.signal_after {
            let status = crate::common::status(
                Command::new("kill")
                    .arg(format!("-{}", signal))
                    .arg(child.id().to_string()),
            )
            .unwrap();
            assert!(status.success());
        }

        // Collect.
        let mut code = None;
        loop {
            if let Some(until) = self.until {
                if until(&got.stdout) {
                    break;
                }
            }
            if !got.out_open && !got.err_open {
                code = wait_exit(child, deadline);
                break;
            }
            if !got.receive(&receiver, deadline) {
                panic!(
                    "{:?} {:?}: no end within {:?}; so far {:?} {:?}",
                    self.tool, self.args, RUN_DEADLINE, got.stdout, got.stderr
                );
            }
        }
        let program = example_binary(self.name).display().to_string();
        let stdout = got.stdout;
        let stderr = got
            .stderr
            .into_iter()
            .map(|line| match line.strip_prefix(&program) {
                Some(rest) => format!("{}{}", self.name, rest),
                None => line,
            })
            .collect();
        Outcome {
            stdout,
            stderr,
            code,
        }
    }
}

/// What a run printed so far.
struct Collected {
    stdout: Vec<String>,
    stderr: Vec<String>,
    out_open: bool,
    err_open: bool,
}

/// Runs shell commands in `dir`, if there are any; they must succeed.
pub fn run_script(dir: &Path, script: &str) {
    if script.is_empty() {
        return;
    }
    let status =
        crate::common::status(Command::new("sh").arg("-c").arg(script).current_dir(dir)).unwrap();
    assert!(status.success(), "the script failed: {}", script);
}

impl Collected {
    /// Takes the next line or end of output; false when none came before `deadline`, or
    /// none can come (both outputs have ended).
    fn receive(&mut self, receiver: &mpsc::Receiver<Line>, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok(line) => {
                self.take(line);
                true
            }
            Err(_) => false,
        }
    }

    fn take(&mut self, line: Line) {
        match line {
            Line::Out(text) => self.stdout.push(text),
            Line::Err(text) => self.stderr.push(text),
            Line::OutClosed => self.out_open = false,
            Line::ErrClosed => self.err_open = false,
        }
    }
}

fn forward<R: Read>(stream: R, sender: mpsc::Sender<Line>, wrap: fn(String) -> Line, closed: Line) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                if sender
                    .send(wrap(String::from_utf8_lossy(&line).into_owned()))
                    .is_err()
                {
                    return;
                }
            }
        }
    }
    let _ = sender.send(closed);
}

fn wait_exit(child: &mut Child, deadline: Instant) -> Option<i32> {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the program closed its output but did not exit");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Starts the example `name` with `args` in `dir`, and returns how many inotify watches
/// and fanotify file-system marks it has once it has said "Watches established."; then
/// stops it.
pub fn watches_once_established(name: &str, args: &[&str], dir: &Path) -> (usize, usize) {
    let mut command = command(Tool::Ours, name);
    command
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = Reaped(crate::common::spawn_past_exec(&mut command));
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = stderr.read_line(&mut line).unwrap();
        assert!(n > 0, "{} {:?}: no \"Watches established.\"", name, args);
        if line.trim_end() == "Watches established." {
            break;
        }
    }
    (
        watch_count(child.0.id()),
        filesystem_mark_count(child.0.id()),
    )
}

/// How many inotify watches process `pid` has (lines of `/proc/PID/fdinfo`).
pub fn watch_count(pid: u32) -> usize {
    fdinfo_lines(pid, |line| line.starts_with("inotify wd:"))
}

/// How many fanotify file-system marks process `pid` has (lines of `/proc/PID/fdinfo`;
/// not its inode marks, such as the one `FsWatcher` makes for a moment while it adds a
/// root).
pub fn filesystem_mark_count(pid: u32) -> usize {
    fdinfo_lines(pid, |line| line.starts_with("fanotify sdev:"))
}

/// How many lines of `/proc/PID/fdinfo/*` are `counted`.
fn fdinfo_lines(pid: u32, counted: fn(&str) -> bool) -> usize {
    let entries = match std::fs::read_dir(format!("/proc/{}/fdinfo", pid)) {
        Ok(entries) => entries,
        Err(_) => return 0,
    };
    entries
        .flatten()
        .map(|entry| {
            std::fs::read_to_string(entry.path())
                .unwrap_or_default()
                .lines()
                .filter(|line| counted(line))
                .count()
        })
        .sum()
}

/// True once a line contains `marker`.
pub fn has_line_with(lines: &[String], marker: &str) -> bool {
    lines.iter().any(|line| line.contains(marker))
}
