//! A watcher whose descriptor other code closes under it: every way of reading ends
//! with an `EBADF` error that says so, and goes on saying it, instead of `None` forever.
//!
//! Closing a descriptor that a watcher owns breaks I/O safety on purpose, so this binary
//! holds only this test: no other test's descriptor can take the closed number, and each
//! watcher is forgotten afterwards, so that its drop does not close that number again.
#![cfg(feature = "std")]

mod common;

use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use common::TempDir;
use inotify_raw::{Errno, TreeWatcher, WatchError, WatchMask, Watcher};

/// How long a reader may take to notice: well past one block duration.
const NOTICE: Duration = Duration::from_secs(20);

/// How long one wait blocks.
const BLOCK: Duration = Duration::from_millis(20);

/// The three ways to read, each returning whether an event came, or the error.
#[derive(Clone, Copy, Debug)]
enum Read {
    Blocking,
    NonBlocking,
    Iterator,
}

/// What a watcher and a tree have in common here.
trait Source: AsRawFd + Send + 'static {
    fn read(&mut self, how: Read) -> Result<(), WatchError>;
}

/// `Source` for each type, the same way.
macro_rules! impl_source {
    ($($watcher:ty),*) => {$(
        impl Source for $watcher {
            fn read(&mut self, how: Read) -> Result<(), WatchError> {
                match how {
                    Read::Blocking => self.next_event().map(drop),
                    Read::NonBlocking => self.try_next_event().map(drop),
                    Read::Iterator => match self.events().next() {
                        Some(result) => result.map(drop),
                        None => panic!("the iterator ended without an error"),
                    },
                }
            }
        }
    )*};
}

impl_source!(Watcher, TreeWatcher);

extern "C" {
    fn close(fd: i32) -> i32;
}

/// Reads `source` in another thread, `how`, until an error; closes its descriptor from
/// this thread once the reader has started; checks the error, and that the next read
/// gives it again.
fn closed_under<S: Source>(mut source: S, how: Read) {
    let fd = source.as_raw_fd();
    let (started, running) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let deadline = Instant::now() + NOTICE;
        started.send(()).unwrap();
        let error = loop {
            match source.read(how) {
                Ok(()) => {}
                Err(error) => break error,
            }
            if Instant::now() > deadline {
                panic!("{:?}: no error {:?} after the close", how, NOTICE);
            }
            if matches!(how, Read::NonBlocking) {
                std::thread::sleep(BLOCK);
            }
        };
        let again = source.read(how);
        (source, error, again)
    });
    running.recv_timeout(NOTICE).expect("the reader runs");
    // SAFETY: not safe in the I/O sense, on purpose: `fd` is the watcher's, and it is
    // forgotten below, so the number is closed once.
    assert_eq!(unsafe { close(fd) }, 0, "close");
    let (source, error, again) = reader.join().unwrap();
    std::mem::forget(source);
    assert_eq!(
        Errno::from_error(&error),
        Some(Errno::EBADF),
        "{:?}: {}",
        how,
        error
    );
    let message = error.to_string();
    assert!(message.contains("closed"), "{:?}: {}", how, message);
    match again {
        Err(again) => assert_eq!(again.to_string(), message, "{:?}", how),
        Ok(()) => panic!("{:?}: a read after the error succeeded", how),
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_descriptor_closed_under_a_watcher_or_a_tree_ends_its_stream_with_ebadf() {
    for how in [Read::Blocking, Read::NonBlocking, Read::Iterator] {
        let dir = TempDir::new();
        let mut watcher = Watcher::new().unwrap();
        watcher.set_block_duration(Some(BLOCK));
        watcher
            .add_watch(dir.path(), WatchMask::ALL_EVENTS)
            .unwrap();
        closed_under(watcher, how);

        let dir = TempDir::new();
        std::fs::create_dir(dir.join("below")).unwrap();
        let mut tree = TreeWatcher::new(dir.path()).unwrap();
        tree.set_block_duration(Some(BLOCK));
        closed_under(tree, how);
    }
    // With no block duration, the wait still notices (it checks once a second).
    let dir = TempDir::new();
    let mut watcher = Watcher::new().unwrap();
    watcher.set_block_duration(None);
    watcher
        .add_watch(dir.path(), WatchMask::ALL_EVENTS)
        .unwrap();
    closed_under(watcher, Read::Blocking);
}
