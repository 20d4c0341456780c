//! Steady-state event rate with full paths: inotify-raw's `FsWatcher` (one fanotify mark)
//! against its `TreeWatcher` (and, with `--readers`, a plain `Watcher` holding a watch on
//! every directory), on the same writers, on the trees of `tree_setup` (fanout 10, one
//! file per directory), on one or more file systems, in one run. Every reader takes its
//! events with the borrowed `next_event()`, which builds each event's full path.
//!
//! The writers' work, one cycle on a file of their own in a directory: create it and
//! write a byte (`IN_CREATE`, `IN_OPEN`, `IN_MODIFY`, `IN_CLOSE_WRITE`), rename it in the
//! same directory (`IN_MOVED_FROM`, `IN_MOVED_TO`), delete it (`IN_DELETE`): 7 events.
//!
//! Each reader runs in a child process of its own (`tree_events measure ...`), with a
//! fresh watcher (`ALL_EVENTS`), through three passes:
//! - **cold**: `--writers` threads make one cycle in every directory of the tree, in a
//!   scattered order, while the watcher reads: each directory's first events (where
//!   `FsWatcher` resolves a directory's handle to its path);
//! - **live**: the writers make `--cycles` cycles spread over the tree, as fast as they
//!   can, while the watcher reads: the steady state;
//! - **drain**: cycles are written while nothing reads, up to 90% of inotify's
//!   `max_queued_events` in events, then the reading alone is timed: the reader's own
//!   cost per event. Five times, summed.
//!
//! For each pass: events per second (the writers' events received, over the time from
//! the writers' start to the last of them), the events received against the 7 per cycle
//! expected, other events, queue overflows, and the reading thread's CPU time per event
//! (which the machine's other work does not change much, where the rates depend on how
//! the CPUs are shared). And the child's peak RSS, once the watcher is set up and at
//! the end (when its events have touched every directory).
//!
//! `tree_events run [--dirs 100000] [--fanout 10] [--base /tmp,/mnt/tmpfs]
//! [--readers tree,fs] [--writers 2,4] [--cycles 200000] [--runs 3]` makes the trees if
//! need be, and for each base and writer count runs every reader `--runs` times (the
//! readers in turns, each round starting with the next); then it prints a Markdown
//! table of the medians.

use std::fs;
use std::hint::black_box;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use inotify_raw::{
    EventMask, FsWatcher, Limits, TreeWatcher, WatchError, WatchEventRef, WatchMask, Watcher,
};
use inotify_raw_benches::{
    loadavg, make_tree, median, run_command, thousands, tree_dir, tree_path, vm_hwm_kb,
    wait_for_idle, Args, Result,
};

const USAGE: &str = "\
usage: tree_events run [--dirs N] [--fanout F] [--base DIR,DIR...] [--readers tree,fs,watcher]
                       [--writers W,W...] [--cycles N] [--runs R]
       tree_events measure --reader tree|fs|watcher --dirs N [--fanout F] [--writers W]
                       [--cycles N] DIR";

const OPTIONS: &[&str] = &[
    "--dirs",
    "--fanout",
    "--base",
    "--readers",
    "--reader",
    "--writers",
    "--cycles",
    "--runs",
];

/// Defaults of `run`.
const DEFAULT_DIRS: usize = 100_000;
const DEFAULT_FANOUT: usize = 10;
const DEFAULT_WRITERS: &[usize] = &[2, 4];
const DEFAULT_CYCLES: usize = 200_000;
const DEFAULT_RUNS: usize = 3;

/// The events of one writer cycle.
const EVENTS_PER_CYCLE: u64 = 7;
/// The names the writers give their files start with this; other events are counted
/// apart.
const WRITER_PREFIX: &str = "bench-w";
/// How many times the drain pass fills the queue and reads it.
const DRAIN_FILLS: usize = 5;
/// A pass ends when no event of the writers came for this long after they finished.
const QUIET: Duration = Duration::from_millis(300);
/// What the child prints its figures after.
const RESULT: &str = "result ";

fn main() {
    run_command(
        "tree_events",
        OPTIONS,
        USAGE,
        |command, args| match command {
            "run" => Some(cmd_run(args)),
            "measure" => Some(cmd_measure(args)),
            _ => None,
        },
    );
}

// ---------------------------------------------------------------------------------------
// The readers

/// The readers compared, in the table's order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Tree,
    Fs,
}

const KINDS: [Kind; 3] = [Kind::Plain, Kind::Tree, Kind::Fs];

impl Kind {
    fn short(self) -> &'static str {
        match self {
            Kind::Plain => "watcher",
            Kind::Tree => "tree",
            Kind::Fs => "fs",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Plain => "`Watcher` (a watch per directory)",
            Kind::Tree => "**`TreeWatcher`**",
            Kind::Fs => "**`FsWatcher`**",
        }
    }

    fn named(name: &str) -> Result<Kind> {
        KINDS
            .into_iter()
            .find(|kind| kind.short() == name)
            .ok_or_else(|| format!("no reader {name}\n{USAGE}").into())
    }
}

/// A watcher of any kind, read through its borrowed `next_event`.
enum Reader {
    Plain(Box<Watcher>),
    Tree(Box<TreeWatcher>),
    Fs(Box<FsWatcher>),
}

/// What a pass counts of the events it reads.
#[derive(Default, Clone, Copy)]
struct Counts {
    /// Events of the writers' files.
    writers: u64,
    other: u64,
    overflows: u64,
}

impl Counts {
    /// Counts one event; its full path goes through `black_box`, so that it is built.
    fn add(&mut self, event: &WatchEventRef<'_>) {
        black_box(event.path);
        if event.mask.contains(EventMask::Q_OVERFLOW) {
            self.overflows += 1;
        } else if event
            .name
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with(WRITER_PREFIX))
        {
            self.writers += 1;
        } else {
            self.other += 1;
        }
    }
}

impl Reader {
    fn new(kind: Kind, root: &Path, dirs: usize, fanout: usize) -> Result<Reader> {
        let block = Some(Duration::from_millis(50));
        Ok(match kind {
            Kind::Plain => {
                let mut watcher = Watcher::new()?;
                for index in 0..dirs {
                    watcher.add_watch(tree_dir(root, index, fanout), WatchMask::ALL_EVENTS)?;
                }
                watcher.set_block_duration(block);
                Reader::Plain(Box::new(watcher))
            }
            Kind::Tree => {
                let mut tree = TreeWatcher::new(root)?;
                tree.set_block_duration(block);
                Reader::Tree(Box::new(tree))
            }
            Kind::Fs => {
                let mut fs = FsWatcher::new(root)?;
                fs.set_block_duration(block);
                Reader::Fs(Box::new(fs))
            }
        })
    }

    /// Reads one event into `counts`: false at the end of a cycle with none.
    fn read_one(&mut self, counts: &mut Counts) -> std::result::Result<bool, WatchError> {
        let event = match self {
            Reader::Plain(watcher) => watcher.next_event()?,
            Reader::Tree(tree) => tree.next_event()?,
            Reader::Fs(fs) => fs.next_event()?,
        };
        if let Some(event) = &event {
            counts.add(event);
        }
        Ok(event.is_some())
    }

    /// Reads until no event of the writers came for `QUIET` once `done` says they are
    /// finished: what it counted, when the writers' last event came (since `start`), and
    /// the CPU time this thread spent meanwhile.
    fn read_until_quiet(
        &mut self,
        start: Instant,
        done: &dyn Fn() -> bool,
    ) -> Result<(Counts, Duration, Duration)> {
        let cpu_start = thread_cpu_time()?;
        let mut counts = Counts::default();
        let mut last = Duration::ZERO;
        let mut quiet_since = Instant::now();
        loop {
            let before = counts.writers;
            self.read_one(&mut counts)?;
            if counts.writers > before {
                last = start.elapsed();
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() > QUIET && done() {
                let cpu = thread_cpu_time()?.saturating_sub(cpu_start);
                return Ok((counts, last, cpu));
            }
        }
    }
}

/// The CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_time() -> io::Result<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
}

// ---------------------------------------------------------------------------------------
// The writers

/// One cycle (see the module's doc) on file `number` of writer `writer` in `dir`.
/// Failures are counted, not fatal: they show as missing events.
fn cycle(dir: &Path, writer: usize, number: usize) -> bool {
    let name = dir.join(format!("{WRITER_PREFIX}{writer}-{number}"));
    let renamed = dir.join(format!("{WRITER_PREFIX}{writer}-{number}.r"));
    fs::write(&name, b"x").is_ok()
        && fs::rename(&name, &renamed).is_ok()
        && fs::remove_file(&renamed).is_ok()
}

/// A stride that visits every directory of a tree of `dirs` once, scattered: a prime
/// that does not divide `dirs`.
fn stride(dirs: usize) -> usize {
    [7919, 7907, 7901, 7883]
        .into_iter()
        .find(|&p| !dirs.is_multiple_of(p))
        .unwrap_or(1)
}

/// Where the writers work and how much.
#[derive(Clone)]
struct Work {
    root: PathBuf,
    dirs: usize,
    fanout: usize,
    writers: usize,
}

impl Work {
    /// Runs `cycles` cycles from `writers` threads (named `writer`, for profilers),
    /// cycle k in directory `(k * stride + offset) % dirs`: the threads, which return
    /// their failures.
    fn spawn(&self, cycles: usize, offset: usize) -> io::Result<Vec<thread::JoinHandle<usize>>> {
        (0..self.writers)
            .map(|writer| {
                let work = self.clone();
                thread::Builder::new()
                    .name("writer".to_owned())
                    .spawn(move || work.write(writer, cycles, offset))
            })
            .collect()
    }

    fn write(&self, writer: usize, cycles: usize, offset: usize) -> usize {
        let stride = stride(self.dirs);
        let mut failed = 0;
        for k in (writer..cycles).step_by(self.writers) {
            let index = (k * stride + offset) % self.dirs;
            let dir = tree_dir(&self.root, index, self.fanout);
            failed += usize::from(!cycle(&dir, writer, k));
        }
        failed
    }
}

// ---------------------------------------------------------------------------------------
// measure: one reader, in a process of its own

/// What one pass found.
#[derive(Default, Clone, Copy)]
struct Pass {
    counts: Counts,
    expected: u64,
    seconds: f64,
    failed: usize,
    /// The reader's CPU time (its thread's), in seconds.
    cpu: f64,
}

impl Pass {
    fn rate(&self) -> f64 {
        self.counts.writers as f64 / self.seconds
    }

    /// The reader's CPU time per event received, in µs.
    fn cpu_per_event(&self) -> f64 {
        self.cpu * 1e6 / (self.counts.writers + self.counts.other).max(1) as f64
    }

    /// As the child prints it: `name=writers,other,overflows,expected,seconds,failed,cpu`.
    fn format(&self, name: &str) -> String {
        let c = self.counts;
        format!(
            "{name}={},{},{},{},{},{},{}",
            c.writers, c.other, c.overflows, self.expected, self.seconds, self.failed, self.cpu
        )
    }

    fn parse(text: &str) -> Option<Pass> {
        let fields: Vec<&str> = text.split(',').collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        Some(Pass {
            counts: Counts {
                writers: number(0)?,
                other: number(1)?,
                overflows: number(2)?,
            },
            expected: number(3)?,
            seconds: fields.get(4)?.parse().ok()?,
            failed: number(5)? as usize,
            cpu: fields.get(6)?.parse().ok()?,
        })
    }
}

fn cmd_measure(args: &Args) -> Result<()> {
    let kind = Kind::named(args.options.get("--reader").map_or("", String::as_str))?;
    let work = Work {
        root: args.dir()?,
        dirs: args.number("--dirs", None)?,
        fanout: args.number("--fanout", Some(DEFAULT_FANOUT))?,
        writers: args.number("--writers", Some(DEFAULT_WRITERS[0]))?,
    };
    let cycles = args.number("--cycles", Some(DEFAULT_CYCLES))?;
    let mut reader = Reader::new(kind, &work.root, work.dirs, work.fanout)?;
    let rss_setup = vm_hwm_kb("self")?;
    // Whatever the setup left queued.
    reader.read_until_quiet(Instant::now(), &|| true)?;
    let cold = live_pass(&mut reader, &work, work.dirs, 0)?;
    let live = live_pass(&mut reader, &work, cycles, 1)?;
    let drain = drain_pass(&mut reader, &work)?;
    println!(
        "{RESULT}{} {} {} rss_setup={rss_setup} rss_end={}",
        cold.format("cold"),
        live.format("live"),
        drain.format("drain"),
        vm_hwm_kb("self")?
    );
    Ok(())
}

/// `cycles` cycles from the writers while the reader reads.
fn live_pass(reader: &mut Reader, work: &Work, cycles: usize, offset: usize) -> Result<Pass> {
    let start = Instant::now();
    let writers = work.spawn(cycles, offset)?;
    let done = || writers.iter().all(|w| w.is_finished());
    let (counts, last, cpu) = reader.read_until_quiet(start, &done)?;
    let mut failed = 0;
    for writer in writers {
        failed += writer.join().map_err(|_| "a writer panicked")?;
    }
    Ok(Pass {
        counts,
        expected: cycles as u64 * EVENTS_PER_CYCLE,
        seconds: last.as_secs_f64(),
        failed,
        cpu: cpu.as_secs_f64(),
    })
}

/// `DRAIN_FILLS` times: cycles written while nothing reads, then the reading timed.
fn drain_pass(reader: &mut Reader, work: &Work) -> Result<Pass> {
    let queue = Limits::read()?.max_queued_events;
    let cycles = (queue * 9 / 10 / EVENTS_PER_CYCLE) as usize;
    let alone = Work {
        writers: 1,
        ..work.clone()
    };
    let mut pass = Pass::default();
    for fill in 0..DRAIN_FILLS {
        pass.failed += alone.write(0, cycles, 2 + fill);
        let start = Instant::now();
        let (counts, last, cpu) = reader.read_until_quiet(start, &|| true)?;
        pass.cpu += cpu.as_secs_f64();
        pass.counts.writers += counts.writers;
        pass.counts.other += counts.other;
        pass.counts.overflows += counts.overflows;
        pass.expected += cycles as u64 * EVENTS_PER_CYCLE;
        pass.seconds += last.as_secs_f64();
    }
    Ok(pass)
}

// ---------------------------------------------------------------------------------------
// run: the driver

/// One reader's run, as its child printed it.
struct Sample {
    cold: Pass,
    live: Pass,
    drain: Pass,
    /// Peak RSS once set up, and at the end, in kB.
    rss_setup: u64,
    rss_end: u64,
}

impl Sample {
    fn parse(line: &str) -> Option<Sample> {
        let mut sample = Sample {
            cold: Pass::default(),
            live: Pass::default(),
            drain: Pass::default(),
            rss_setup: 0,
            rss_end: 0,
        };
        for field in line.strip_prefix(RESULT)?.split_whitespace() {
            let (name, value) = field.split_once('=')?;
            match name {
                "cold" => sample.cold = Pass::parse(value)?,
                "live" => sample.live = Pass::parse(value)?,
                "drain" => sample.drain = Pass::parse(value)?,
                "rss_setup" => sample.rss_setup = value.parse().ok()?,
                "rss_end" => sample.rss_end = value.parse().ok()?,
                _ => return None,
            }
        }
        Some(sample)
    }
}

/// What a run measures.
struct Plan {
    readers: Vec<Kind>,
    dirs: usize,
    fanout: usize,
    /// The writer counts to run with, each in turn.
    writers: Vec<usize>,
    cycles: usize,
    runs: usize,
}

/// One file system and writer count, and the samples of each reader of the plan.
struct Setting {
    fs_type: String,
    writers: usize,
    samples: Vec<Vec<Sample>>,
}

fn cmd_run(args: &Args) -> Result<()> {
    let plan = Plan {
        readers: args
            .words("--readers", &["tree", "fs"])
            .iter()
            .map(|name| Kind::named(name))
            .collect::<Result<_>>()?,
        dirs: args.number("--dirs", Some(DEFAULT_DIRS))?,
        fanout: args.number("--fanout", Some(DEFAULT_FANOUT))?,
        writers: args.numbers("--writers", DEFAULT_WRITERS)?,
        cycles: args.number("--cycles", Some(DEFAULT_CYCLES))?,
        runs: args.number("--runs", Some(DEFAULT_RUNS))?,
    };
    let started = Instant::now();
    let load_before = loadavg();
    let mut settings = Vec::new();
    for base in args.words("--base", &["/tmp"]) {
        let root = tree_path(Path::new(&base), plan.dirs, plan.fanout);
        make_tree(&root, plan.dirs, plan.fanout)?;
        let fs_type = inotify_raw_benches::fs_type(&root)?;
        for &writers in &plan.writers {
            let samples = measure_setting(&plan, &root, &fs_type, writers)?;
            settings.push(Setting {
                fs_type: fs_type.clone(),
                writers,
                samples,
            });
        }
    }
    print_table(&plan, &settings);
    println!(
        "\nWhole run: {:.0} s; load average before: {load_before}; after: {}.",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    Ok(())
}

/// Every reader, `runs` times in turns, on the tree at `root` with `writers` writers:
/// the samples by reader.
fn measure_setting(
    plan: &Plan,
    root: &Path,
    fs_type: &str,
    writers: usize,
) -> Result<Vec<Vec<Sample>>> {
    let mut samples: Vec<Vec<Sample>> = plan.readers.iter().map(|_| Vec::new()).collect();
    for round in 0..plan.runs {
        for k in 0..plan.readers.len() {
            let i = (round + k) % plan.readers.len();
            if !wait_for_idle() {
                eprintln!("(CPUs still busy after waiting)");
            }
            let sample = run_child(plan, plan.readers[i], root, writers)?;
            eprintln!(
                "{fs_type}, {writers} writers, round {}/{}: {}: cold {:.2} M/s, live {:.2} M/s \
                 ({} overflows, {:.2} µs CPU per event), drain {:.2} M/s, peak RSS {:.1} MB",
                round + 1,
                plan.runs,
                plan.readers[i].short(),
                sample.cold.rate() / 1e6,
                sample.live.rate() / 1e6,
                sample.live.counts.overflows,
                sample.live.cpu_per_event(),
                sample.drain.rate() / 1e6,
                sample.rss_end as f64 / 1024.0
            );
            samples[i].push(sample);
        }
    }
    Ok(samples)
}

/// Runs `tree_events measure` for one reader and reads its result line.
fn run_child(plan: &Plan, kind: Kind, root: &Path, writers: usize) -> Result<Sample> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("measure")
        .args(["--reader", kind.short()])
        .args(["--dirs", &plan.dirs.to_string()])
        .args(["--fanout", &plan.fanout.to_string()])
        .args(["--writers", &writers.to_string()])
        .args(["--cycles", &plan.cycles.to_string()])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    let mut sample = None;
    let mut reader = BufReader::new(stdout);
    while reader.read_line(&mut line)? > 0 {
        sample = sample.or_else(|| Sample::parse(line.trim_end()));
        line.clear();
    }
    let status = child.wait()?;
    match sample {
        Some(sample) if status.success() => Ok(sample),
        _ => Err(io::Error::other(format!("{} reader: {status}", kind.short())).into()),
    }
}

fn print_table(plan: &Plan, settings: &[Setting]) {
    println!();
    println!(
        "| file system | writers | reader | cold: events/s | live: events/s | live: received \
         / expected | overflows (cold, live, drain) | drain: events/s | reader CPU per event, \
         µs (cold, live, drain) | peak RSS set up → end (MB) |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let tree_at = plan.readers.iter().position(|&k| k == Kind::Tree);
    for setting in settings {
        for (i, kind) in plan.readers.iter().enumerate() {
            print_row(setting, i, *kind, tree_at);
        }
    }
    print_notes(plan, settings);
}

/// The table's row of reader `i` (of kind `kind`) in one setting, with ratios to the
/// reader at `tree_at`.
fn print_row(setting: &Setting, i: usize, kind: Kind, tree_at: Option<usize>) {
    let samples = &setting.samples;
    let all = &samples[i];
    let of = |at: usize, f: &dyn Fn(&Sample) -> f64| median(samples[at].iter().map(f).collect());
    let rate = |at: usize, pass: fn(&Sample) -> Pass| of(at, &|s| pass(s).rate());
    let ratio = |pass: fn(&Sample) -> Pass| match tree_at {
        Some(at) if at != i => format!(" ({:.2}x)", rate(i, pass) / rate(at, pass)),
        _ => String::new(),
    };
    let cpu = |pass: fn(&Sample) -> Pass| of(i, &|s| pass(s).cpu_per_event());
    let sum = |f: &dyn Fn(&Sample) -> u64| all.iter().map(f).sum::<u64>();
    let overflows = |pass: fn(&Sample) -> Pass| sum(&|s| pass(s).counts.overflows);
    println!(
        "| {} | {} | {} | {:.3} M{} | {:.3} M{} | {} / {} | {}, {}, {} | {:.3} M{} | \
         {:.2}, {:.2}, {:.2} | {:.1} → {:.1} |",
        setting.fs_type,
        setting.writers,
        kind.label(),
        rate(i, |s| s.cold) / 1e6,
        ratio(|s| s.cold),
        rate(i, |s| s.live) / 1e6,
        ratio(|s| s.live),
        thousands(sum(&|s| s.live.counts.writers) as usize),
        thousands(sum(&|s| s.live.expected) as usize),
        overflows(|s| s.cold),
        overflows(|s| s.live),
        overflows(|s| s.drain),
        rate(i, |s| s.drain) / 1e6,
        ratio(|s| s.drain),
        cpu(|s| s.cold),
        cpu(|s| s.live),
        cpu(|s| s.drain),
        of(i, &|s| s.rss_setup as f64) / 1024.0,
        of(i, &|s| s.rss_end as f64) / 1024.0,
    );
}

fn print_notes(plan: &Plan, settings: &[Setting]) {
    let (dirs, cycles, runs) = (plan.dirs, plan.cycles, plan.runs);
    println!();
    println!(
        "{} directories (fanout {}, one file each); every reader with `ALL_EVENTS` and \
         the borrowed `next_event()` (full paths built), in a process of its own, {runs} \
         runs, medians (counts summed over the runs). The writers: threads, each cycle \
         creating a file and writing a byte, renaming it, deleting it (7 events). cold: one \
         cycle in every directory, with a fresh watcher; live: then {} cycles spread over \
         the tree; drain: {DRAIN_FILLS} times, cycles up to 90% of inotify's queue written \
         while nothing reads, then only the reading timed. Events/s: the writers' events \
         received over the time from the writers' start to the last of them. In \
         parentheses: the ratio to TreeWatcher's. Reader CPU: the reading thread's CPU time \
         (CLOCK_THREAD_CPUTIME_ID) over the events it received.",
        thousands(dirs),
        plan.fanout,
        thousands(cycles)
    );
    for setting in settings {
        for (kind, all) in plan.readers.iter().zip(&setting.samples) {
            let other: u64 = all
                .iter()
                .map(|s| s.cold.counts.other + s.live.counts.other + s.drain.counts.other)
                .sum();
            let failed: usize = all
                .iter()
                .map(|s| s.cold.failed + s.live.failed + s.drain.failed)
                .sum();
            let received = |p: fn(&Sample) -> Pass| {
                let got: u64 = all.iter().map(|s| p(s).counts.writers).sum();
                let expected: u64 = all.iter().map(|s| p(s).expected).sum();
                format!(
                    "{} / {}",
                    thousands(got as usize),
                    thousands(expected as usize)
                )
            };
            println!(
                "- {}, {} writers, {}: writers' events received, cold {}, drain {}; other \
                 events {other}; failed writer cycles {failed}.",
                setting.fs_type,
                setting.writers,
                kind.short(),
                received(|s| s.cold),
                received(|s| s.drain),
            );
        }
    }
}
