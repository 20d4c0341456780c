//! The child process whose memory `tree_setup run` measures for inotify-raw's watchers:
//! nothing but the watcher, so that its peak RSS is the watcher's and the Rust program's
//! (std, glibc), not the benchmark driver's (its code, the `notify` crate's, their
//! allocations).
//!
//! Usage: `tree_hold ours|fs|empty DIR`. `ours`: `TreeWatcher::new(DIR)`; `fs`:
//! `FsWatcher::new(DIR)` (both with mask `ALL_EVENTS`); `empty`: no watcher at all, the
//! baseline of the same program. Prints `setup_s <seconds>` as soon as the watcher is set
//! up, then waits for its stdin to close, doing nothing else (the driver reads `VmHWM`
//! and the watches from `/proc`, then kills it).

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (what, dir) = match (args.next(), args.next(), args.next()) {
        (Some(what), Some(dir), None) => (what, dir),
        _ => return usage(),
    };
    let dir = Path::new(&dir);
    let start = Instant::now();
    let watcher: io::Result<Box<dyn Send>> = match what.to_str() {
        Some("ours") => inotify_raw::TreeWatcher::new(dir).map(|w| Box::new(w) as Box<dyn Send>),
        Some("fs") => inotify_raw::FsWatcher::new(dir).map(|w| Box::new(w) as Box<dyn Send>),
        Some("empty") => Ok(Box::new(())),
        _ => return usage(),
    };
    let setup = start.elapsed();
    let watcher = match watcher {
        Ok(watcher) => watcher,
        Err(error) => {
            eprintln!("tree_hold: {}: {error}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let mut out = io::stdout().lock();
    let written = writeln!(out, "setup_s {:.6}", setup.as_secs_f64()).and_then(|()| out.flush());
    if written.is_err() {
        return ExitCode::FAILURE;
    }
    let mut buffer = [0u8; 64];
    while matches!(io::stdin().read(&mut buffer), Ok(n) if n > 0) {}
    drop(watcher);
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: tree_hold ours|fs|empty DIR");
    ExitCode::FAILURE
}
