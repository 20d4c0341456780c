//! inotify-raw in a mio event loop: an [`Inotify`] and a [`TreeWatcher`] registered with
//! mio's `Poll` through `SourceFd`.
//!
//! Run with `cargo run` in this directory. It makes a temporary directory, then:
//! 1. watches it with a non-blocking `Inotify`, makes a file, polls and reads the file's
//!    events until the kernel says `EAGAIN`;
//! 2. watches it as a tree with `TreeWatcher`, makes a subdirectory and a file in it,
//!    polls and drains the tree with `try_next_event` until the file's creation shows;
//!
//! prints each event, removes the directory and exits 0 (1, with a message, on an error
//! or if an event does not come within 10 seconds).
//!
//! mio reports readiness edge-triggered: after each report, read until there is nothing
//! left (`EAGAIN` from `Inotify::read`, `None` from `try_next_event`), or the next
//! report may never come.

use std::error::Error;
use std::fs;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use inotify_raw::{EventBuffer, EventMask, InitFlags, Inotify, TreeWatcher, WatchMask};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

/// How long each part waits for its event before giving up.
const TIMEOUT: Duration = Duration::from_secs(10);

const INOTIFY: Token = Token(0);
const TREE: Token = Token(1);

/// Polls until `handle` says it is done (returns `Ok(true)`) after a readiness report
/// for `token`, or until `TIMEOUT` passes.
fn poll_until(
    poll: &mut Poll,
    token: Token,
    what: &str,
    mut handle: impl FnMut() -> Result<bool, Box<dyn Error>>,
) -> Result<(), Box<dyn Error>> {
    let deadline = Instant::now() + TIMEOUT;
    let mut events = Events::with_capacity(8);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no {} within {:?}", what, TIMEOUT).into());
        }
        match poll.poll(&mut events, Some(left)) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error.into()),
        }
        for event in events.iter() {
            if event.token() == token && handle()? {
                return Ok(());
            }
        }
    }
}

/// Reads the events of a non-blocking `Inotify` on `dir` until `file`'s `IN_CLOSE_WRITE`.
fn inotify_events(poll: &mut Poll, dir: &Path) -> Result<(), Box<dyn Error>> {
    // Edge-triggered readiness needs a non-blocking descriptor, to read until EAGAIN.
    let inotify = Inotify::init(InitFlags::NONBLOCK)?;
    inotify.add_watch(dir, WatchMask::CREATE | WatchMask::CLOSE_WRITE)?;
    let fd = inotify.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&fd), INOTIFY, Interest::READABLE)?;

    fs::write(dir.join("from-mio.txt"), b"hello")?;

    let mut buffer = EventBuffer::<4096>::new();
    poll_until(poll, INOTIFY, "IN_CLOSE_WRITE from Inotify", || {
        let mut done = false;
        loop {
            let events = match inotify.read(&mut buffer) {
                Ok(events) => events,
                Err(error) if error.is_would_block() => return Ok(done),
                Err(error) => return Err(error.into()),
            };
            for event in events {
                let event = event?;
                println!(
                    "inotify: {} {}",
                    event.mask(),
                    String::from_utf8_lossy(event.name().unwrap_or_default())
                );
                done |= event.mask().contains(EventMask::CLOSE_WRITE);
            }
        }
    })?;
    // Out of the poll set before the descriptor closes (when `inotify` drops).
    poll.registry().deregister(&mut SourceFd(&fd))?;
    Ok(())
}

/// Reads the events of a `TreeWatcher` on `dir` until the creation of a file in a
/// subdirectory made after the tree started.
fn tree_events(poll: &mut Poll, dir: &Path) -> Result<(), Box<dyn Error>> {
    let mut tree = TreeWatcher::builder()
        .mask(WatchMask::CREATE | WatchMask::CLOSE_WRITE)
        .watch([dir])?;
    let fd = tree.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&fd), TREE, Interest::READABLE)?;

    let sub = dir.join("sub");
    fs::create_dir(&sub)?;
    let file = sub.join("in-a-new-directory.txt");
    fs::write(&file, b"hello")?;

    poll_until(poll, TREE, "event from TreeWatcher", || {
        // Drain: every event the tree has now, without blocking.
        let mut done = false;
        while let Some(event) = tree.try_next_event()? {
            println!(
                "tree: {} {} ({:?})",
                event.mask,
                event.path.display(),
                event.origin
            );
            // IN_CREATE: from the kernel, or (made before the subdirectory's watch) from
            // the tree's listing of the new directory, with `Origin::Scan`.
            done |= event.path == file.as_path() && event.mask.contains(EventMask::CREATE);
        }
        Ok(done)
    })?;
    poll.registry().deregister(&mut SourceFd(&fd))?;
    Ok(())
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("inotify-raw-{}-{}", name, std::process::id()));
    fs::create_dir(&dir)?;
    Ok(dir)
}

fn run(dir: &Path) -> Result<(), Box<dyn Error>> {
    let mut poll = Poll::new()?;
    inotify_events(&mut poll, dir)?;
    tree_events(&mut poll, dir)?;
    Ok(())
}

fn main() {
    let dir = match temp_dir("mio") {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("inotify-mio: cannot make a temporary directory: {}", error);
            std::process::exit(1);
        }
    };
    let result = run(&dir);
    let _ = fs::remove_dir_all(&dir);
    if let Err(error) = result {
        eprintln!("inotify-mio: {}", error);
        std::process::exit(1);
    }
}
