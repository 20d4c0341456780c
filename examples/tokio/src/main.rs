//! inotify-raw with tokio: an [`Inotify`] and a [`TreeWatcher`] awaited with tokio's
//! `AsyncFd`.
//!
//! Run with `cargo run` in this directory. It makes a temporary directory, then:
//! 1. watches it with a non-blocking `Inotify`, makes a file, awaits readiness and reads
//!    the file's events;
//! 2. watches it as a tree with `TreeWatcher`, makes a subdirectory and a file in it,
//!    awaits readiness and drains the tree with `try_next_event` until the file's
//!    creation shows;
//!
//! prints each event, removes the directory and exits 0 (1, with a message, on an error
//! or if an event does not come within 10 seconds).
//!
//! `main` returns `anyhow::Result`, as most tokio programs do. That form needs what
//! `AsyncFd` owns to be `Send + Sync`, because the registration's error holds it: every
//! type of inotify-raw with a descriptor is.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use inotify_raw::{EventBuffer, EventMask, InitFlags, Inotify, TreeWatcher, WatchMask};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// How long each part waits for its event before giving up.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits the events of a non-blocking `Inotify` on `dir` until `file`'s `IN_CLOSE_WRITE`.
async fn inotify_events(dir: &Path) -> anyhow::Result<()> {
    // AsyncFd needs a non-blocking descriptor: a read with nothing queued says EAGAIN.
    let inotify = Inotify::init(InitFlags::NONBLOCK)?;
    inotify.add_watch(dir, WatchMask::CREATE | WatchMask::CLOSE_WRITE)?;
    // SAFETY: the `Inotify` owns its descriptor, which stays open and the same until
    // the `Inotify` is dropped, and the `AsyncFd` owns the `Inotify`.
    let inotify = unsafe { AsyncFd::register_with_interest(inotify, Interest::READABLE) }?;

    fs::write(dir.join("from-tokio.txt"), b"hello")?;

    let mut buffer = EventBuffer::<4096>::new();
    loop {
        let mut ready = inotify.readable().await?;
        // `try_io` clears the readiness when the read says EAGAIN (`io::ErrorKind::
        // WouldBlock`, which `inotify_raw::Error` keeps through `?`), and then we await
        // again.
        let read = ready.try_io(|inotify| {
            let mut done = false;
            for event in inotify.get_ref().read(&mut buffer)? {
                let event = event?;
                println!(
                    "inotify: {} {}",
                    event.mask(),
                    String::from_utf8_lossy(event.name().unwrap_or_default())
                );
                done |= event.mask().contains(EventMask::CLOSE_WRITE);
            }
            Ok(done)
        });
        match read {
            Ok(Ok(true)) => return Ok(()),
            // Err: EAGAIN, the readiness is cleared; Ok(false): not the event awaited.
            Ok(Ok(false)) | Err(_) => continue,
            Ok(Err(error)) => return Err(error.into()),
        }
    }
}

/// Awaits the events of a `TreeWatcher` on `dir` until the creation of a file in a
/// subdirectory made after the tree started.
async fn tree_events(dir: &Path) -> anyhow::Result<()> {
    let tree = TreeWatcher::builder()
        .mask(WatchMask::CREATE | WatchMask::CLOSE_WRITE)
        .watch([dir])?;
    // SAFETY: the tree's descriptor is that of its one inotify instance, which it owns
    // and keeps, open and the same, until it is dropped; the `AsyncFd` owns the tree.
    let mut tree = unsafe { AsyncFd::register_with_interest(tree, Interest::READABLE) }?;

    let sub = dir.join("sub");
    fs::create_dir(&sub)?;
    let file = sub.join("in-a-new-directory.txt");
    fs::write(&file, b"hello")?;

    loop {
        // `readable_mut` hands out `&mut TreeWatcher`, which `try_next_event` needs.
        let mut ready = tree.readable_mut().await?;
        // Drain: every event the tree has now, without blocking. `None` means nothing
        // more for now; then clear the readiness and await the next.
        let mut done = false;
        while let Some(event) = ready.get_inner_mut().try_next_event()? {
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
        ready.clear_ready();
        if done {
            return Ok(());
        }
    }
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("inotify-raw-{}-{}", name, std::process::id()));
    fs::create_dir(&dir)
        .with_context(|| format!("cannot make the temporary directory {}", dir.display()))?;
    Ok(dir)
}

async fn run(dir: &Path) -> anyhow::Result<()> {
    tokio::time::timeout(TIMEOUT, inotify_events(dir))
        .await
        .context("no IN_CLOSE_WRITE from Inotify within 10 s")??;
    tokio::time::timeout(TIMEOUT, tree_events(dir))
        .await
        .context("no event from TreeWatcher within 10 s")??;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = temp_dir("tokio")?;
    let result = run(&dir).await;
    let _ = fs::remove_dir_all(&dir);
    result
}
