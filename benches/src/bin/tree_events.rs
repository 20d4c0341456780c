//! Steady-state event rate of inotify-raw's `TreeWatcher::next_event` against a plain
//! `Watcher::next_event` watching the same directories (one watch each, `ALL_EVENTS`),
//! on a tree of `--dirs` directories (fanout 10, one file each), in one run.
//!
//! Two measures, each `--runs` times, the median kept:
//! - **drain**: writes fill the kernel's queue to 90% of `max_queued_events` while
//!   nothing reads, then the clock runs while `next_event` takes every event: the cost
//!   of reading, parsing and building each event's full path, per event;
//! - **live**: `--writers` threads append to the files (open, write, close: three events
//!   each) as fast as they can while the watcher reads; events delivered per second, and
//!   queue overflows.
//!
//! `tree_events run [--dirs 10000] [--writers 2] [--writes 300000] [--runs 5]
//! [--base /tmp]` prints a Markdown table.

use std::error::Error;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use inotify_raw::{EventMask, Limits, TreeWatcher, WatchMask, Watcher};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The two readers compared.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Plain,
    Tree,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Plain => "`Watcher` (a watch per directory)",
            Mode::Tree => "**`TreeWatcher`**",
        }
    }
}

/// A watcher of either kind, read through `next_event`.
enum Reader {
    Plain(Box<Watcher>),
    Tree(Box<TreeWatcher>),
}

impl Reader {
    fn new(mode: Mode, dirs: &[PathBuf]) -> Result<Reader> {
        let mut reader = match mode {
            Mode::Plain => {
                let mut watcher = Watcher::new()?;
                for dir in dirs {
                    watcher.add_watch(dir, WatchMask::ALL_EVENTS)?;
                }
                Reader::Plain(Box::new(watcher))
            }
            Mode::Tree => Reader::Tree(Box::new(TreeWatcher::new(&dirs[0])?)),
        };
        match &mut reader {
            Reader::Plain(watcher) => watcher.set_block_duration(Some(Duration::from_millis(50))),
            Reader::Tree(tree) => tree.set_block_duration(Some(Duration::from_millis(50))),
        }
        Ok(reader)
    }

    /// The next event's mask and the length of its path, or `None` at a cycle's end.
    fn next(&mut self) -> Result<Option<(EventMask, usize)>> {
        Ok(match self {
            Reader::Plain(watcher) => watcher
                .next_event()?
                .map(|event| (event.mask, event.path.as_os_str().len())),
            Reader::Tree(tree) => tree
                .next_event()?
                .map(|event| (event.mask, event.path.as_os_str().len())),
        })
    }

    /// Reads until `idle` passes with no event; returns (events, overflows, time of the
    /// last event since `start`).
    fn drain(&mut self, start: Instant, idle: Duration) -> Result<(u64, u64, Duration)> {
        let (mut events, mut overflows) = (0u64, 0u64);
        let mut last = start.elapsed();
        let mut quiet_since = Instant::now();
        loop {
            match self.next()? {
                Some((mask, path_len)) => {
                    std::hint::black_box(path_len);
                    if mask.contains(EventMask::Q_OVERFLOW) {
                        overflows += 1;
                    }
                    events += 1;
                    last = start.elapsed();
                    quiet_since = Instant::now();
                }
                None if quiet_since.elapsed() > idle => return Ok((events, overflows, last)),
                None => {}
            }
        }
    }
}

/// Makes the tree (idempotent) and returns its directories, root first.
fn make_tree(root: &Path, count: usize) -> Result<Vec<PathBuf>> {
    let mut dirs = vec![root.to_path_buf()];
    fs::create_dir_all(root)?;
    let mut at = 0;
    while dirs.len() < count {
        let parent = dirs[at].clone();
        for i in 0..10 {
            if dirs.len() == count {
                break;
            }
            dirs.push(parent.join(format!("d{}", i)));
        }
        at += 1;
    }
    for dir in &dirs {
        fs::create_dir_all(dir)?;
        let file = dir.join("f");
        if !file.exists() {
            fs::write(file, b"x")?;
        }
    }
    Ok(dirs)
}

/// One append to the file of directory `i`: open, write, close (three events).
fn append(dirs: &[PathBuf], i: usize) {
    let path = dirs[i % dirs.len()].join("f");
    if let Ok(mut file) = OpenOptions::new().append(true).open(path) {
        let _ = file.write_all(b"x");
    }
}

/// Drain rate: events per second while taking a queue filled beforehand.
fn drain_rate(mode: Mode, dirs: &[PathBuf], queued: usize) -> Result<f64> {
    let mut reader = Reader::new(mode, dirs)?;
    reader.drain(Instant::now(), Duration::from_millis(100))?;
    for i in 0..queued / 3 {
        append(dirs, i * 7919);
    }
    let start = Instant::now();
    let (events, overflows, last) = reader.drain(start, Duration::from_millis(100))?;
    if overflows > 0 {
        return Err("the queue overflowed while filling it: lower the fill".into());
    }
    Ok(events as f64 / last.as_secs_f64())
}

/// Live rate: events per second and overflows with writers running.
fn live_rate(
    mode: Mode,
    dirs: &Arc<Vec<PathBuf>>,
    writers: usize,
    writes: usize,
) -> Result<(f64, u64)> {
    let mut reader = Reader::new(mode, dirs)?;
    reader.drain(Instant::now(), Duration::from_millis(100))?;
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let dirs = dirs.clone();
            thread::spawn(move || {
                for i in 0..writes / writers {
                    append(&dirs, (i * writers + w) * 7919);
                }
            })
        })
        .collect();
    let (events, overflows, last) = reader.drain(start, Duration::from_millis(300))?;
    for handle in handles {
        handle.join().map_err(|_| "a writer panicked")?;
    }
    Ok((events as f64 / last.as_secs_f64(), overflows))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values[values.len() / 2]
}

fn flag(args: &[String], name: &str, default: usize) -> Result<usize> {
    match args.iter().position(|a| a == name) {
        Some(at) => Ok(args
            .get(at + 1)
            .ok_or("a flag without its value")?
            .parse()?),
        None => Ok(default),
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("run") {
        eprintln!(
            "usage: tree_events run [--dirs N] [--writers W] [--writes N] [--runs R] [--base DIR]"
        );
        std::process::exit(2);
    }
    let count = flag(&args, "--dirs", 10_000)?;
    let writers = flag(&args, "--writers", 2)?;
    let writes = flag(&args, "--writes", 300_000)?;
    let runs = flag(&args, "--runs", 5)?;
    let base = match args.iter().position(|a| a == "--base") {
        Some(at) => PathBuf::from(args.get(at + 1).ok_or("--base without a directory")?),
        None => std::env::temp_dir(),
    };
    let dirs = Arc::new(make_tree(
        &base.join(format!("inotify-raw-events-{}", count)),
        count,
    )?);
    let queued = Limits::read()?.max_queued_events as usize * 9 / 10;
    println!(
        "| reader | drain: events/s | live: events/s | live: overflows |\n|---|---:|---:|---:|"
    );
    let mut plain = (0.0, 0.0);
    for mode in [Mode::Plain, Mode::Tree] {
        let mut drained = Vec::new();
        let mut live = Vec::new();
        let mut overflows = 0;
        for _ in 0..runs {
            drained.push(drain_rate(mode, &dirs, queued)?);
            let (rate, lost) = live_rate(mode, &dirs, writers, writes)?;
            live.push(rate);
            overflows += lost;
        }
        let (drained, live) = (median(drained), median(live));
        let ratio = |value: f64, plain: f64| {
            if mode == Mode::Plain {
                String::new()
            } else {
                format!(" ({:.2}x)", value / plain)
            }
        };
        println!(
            "| {} | {:.2} M{} | {:.2} M{} | {} |",
            mode.name(),
            drained / 1e6,
            ratio(drained, plain.0),
            live / 1e6,
            ratio(live, plain.1),
            overflows
        );
        if mode == Mode::Plain {
            plain = (drained, live);
        }
    }
    println!(
        "\n{} directories (fanout 10, one file each); drain: {} events queued beforehand, \
         median of {} runs; live: {} appends (3 events each) from {} writer threads while \
         reading, median of {} runs, overflows summed.",
        count, queued, runs, writes, writers, runs
    );
    Ok(())
}
