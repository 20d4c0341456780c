//! How long a `TreeWatcher` takes to report a whole tree moved into its root (the
//! directory's `IN_MOVED_TO`, then a scan event for each directory and file below it),
//! beside the floor: `TreeWatcher::new` on the same tree in place, which watches and
//! lists it all once and reports nothing.
//!
//! Usage: `tree_move_in run [--dirs 20000,100000] [--runs 3] DIR`: the trees of
//! `tree_setup` (fanout 10, one file in each directory) under `DIR`, made if missing
//! and kept. Each run times the setup in place, then moves the tree into an empty
//! watched directory beside it, times from the `rename` until every event has been
//! read (after a `sync`), and moves it back. The two are timed in turns, each after the
//! CPUs are idle, and the medians are printed as a Markdown table.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use inotify_raw::TreeWatcher;
use inotify_raw_benches::{
    loadavg, make_tree, median, run_command, thousands, tree_path, wait_for_idle, Args, Result,
};

const USAGE: &str = "usage: tree_move_in run [--dirs 20000,100000] [--runs 3] DIR";
const FANOUT: usize = 10;

fn main() {
    run_command(
        "tree_move_in",
        &["--dirs", "--runs"],
        USAGE,
        |command, args| match command {
            "run" => Some(run(args)),
            _ => None,
        },
    );
}

/// One run's figures: the setup in place, the move in, and the events it gave.
struct Sample {
    setup: Duration,
    moved_in: Duration,
    events: usize,
}

fn run(args: &Args) -> Result<()> {
    let base = args.dir()?;
    let sizes = args.numbers("--dirs", &[20_000, 100_000])?;
    let runs = args.number("--runs", Some(3))?;
    println!("load average before: {}", loadavg());
    println!();
    println!("| directories | setup in place | moved in, all reported | vs setup | events |");
    println!("|---:|---:|---:|---:|---:|");
    for dirs in sizes {
        let tree = tree_path(&base, dirs, FANOUT);
        if make_tree(&tree, dirs, FANOUT)? {
            eprintln!("made {}", tree.display());
        }
        let watched = base.join(format!("inotify-raw-move-in-{dirs}"));
        fs::create_dir_all(&watched).map_err(|e| format!("{}: {e}", watched.display()))?;
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(time_one(&tree, &watched)?);
        }
        let setup = median(samples.iter().map(|s| s.setup.as_secs_f64()).collect());
        let moved = median(samples.iter().map(|s| s.moved_in.as_secs_f64()).collect());
        let events = samples.iter().map(|s| s.events).max().unwrap_or(0);
        println!(
            "| {} | {:.3} s | {:.3} s | {:.2}x | {} |",
            thousands(dirs),
            setup,
            moved,
            moved / setup,
            thousands(events)
        );
    }
    println!();
    println!(
        "medians of the runs, each timing both in turns; load average after: {}",
        loadavg()
    );
    Ok(())
}

/// Times the setup on `tree` in place, then its move into `watched` and back.
fn time_one(tree: &Path, watched: &Path) -> Result<Sample> {
    wait_for_idle();
    let start = Instant::now();
    let in_place = TreeWatcher::new(tree)?;
    let setup = start.elapsed();
    drop(in_place);
    wait_for_idle();
    let mut watcher = TreeWatcher::new(watched)?;
    let moved = watched.join("t");
    let start = Instant::now();
    fs::rename(tree, &moved)?;
    let moved_back = |result: Result<Sample>| -> Result<Sample> {
        fs::rename(&moved, tree)?;
        result
    };
    let mut events = 0;
    let drained = watcher
        .sync(Duration::from_secs(600))
        .map_err(|e| e.into())
        .and_then(|()| loop {
            match watcher.try_next_event() {
                Ok(Some(_)) => events += 1,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e.into()),
            }
        });
    let moved_in = start.elapsed();
    drop(watcher);
    moved_back(drained.map(|()| Sample {
        setup,
        moved_in,
        events,
    }))
}
