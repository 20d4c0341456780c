//! Every error type of the crate goes through `?` into `io::Error`, `Box<dyn Error>` and
//! `anyhow::Error`, and `Errno::from_error` finds the errno of a failed system call
//! after each of those conversions (and none where no call failed).

mod common;

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use common::TempDir;
use inotify_raw::{
    wait_for_path, Directory, Dirents, Epoll, Errno, Error, Events, Inotify, MalformedDirent,
    MalformedEvent, OnInterrupt, PathError, Presence, TreeWatcher, WatchError, WatchMask, Watcher,
};

/// Compiles only for error types that `?` takes into each of the three.
fn converts<E>()
where
    E: StdError + Send + Sync + 'static,
    io::Error: From<E>,
{
}

#[test]
fn every_error_type_converts() {
    converts::<Errno>();
    converts::<Error>();
    converts::<PathError>();
    converts::<MalformedEvent>();
    converts::<MalformedDirent>();
    converts::<WatchError>();
}

/// The errno that `from_error` finds in `error` itself, after `?` into `io::Error`,
/// into `Box<dyn Error>` and into `anyhow::Error`, and as the source of an anyhow
/// context; all five must agree.
fn errno_everywhere<E>(error: E) -> Option<Errno>
where
    E: StdError + Send + Sync + 'static + Clone,
    io::Error: From<E>,
{
    fn io_error<E>(error: E) -> io::Result<()>
    where
        io::Error: From<E>,
    {
        Err(error)?
    }
    fn boxed<E: StdError + 'static>(error: E) -> Result<(), Box<dyn StdError>> {
        Err(error)?
    }
    fn any<E: StdError + Send + Sync + 'static>(error: E) -> anyhow::Result<()> {
        Err(error)?
    }
    fn with_context<E: StdError + Send + Sync + 'static>(error: E) -> anyhow::Result<()> {
        use anyhow::Context;
        Err(error).context("while watching")
    }
    let direct = Errno::from_error(&error);
    let through_io = Errno::from_error(&io_error(error.clone()).unwrap_err());
    let through_box = Errno::from_error(&*boxed(error.clone()).unwrap_err());
    let through_anyhow = Errno::from_error(&*any(error.clone()).unwrap_err());
    let through_context = Errno::from_error(&*with_context(error).unwrap_err());
    assert_eq!(through_io, direct, "after ? into io::Error");
    assert_eq!(through_box, direct, "after ? into Box<dyn Error>");
    assert_eq!(through_anyhow, direct, "after ? into anyhow::Error");
    assert_eq!(through_context, direct, "under an anyhow context");
    direct
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_failed_call_keeps_its_errno_through_every_conversion() {
    let dir = TempDir::new();
    let missing = dir.join("missing");
    let inotify = Inotify::new().unwrap();
    let error = inotify.add_watch(&missing, WatchMask::CREATE).unwrap_err();
    assert_eq!(errno_everywhere(error), Some(Errno::ENOENT));

    let error = Directory::open(&missing).unwrap_err();
    assert_eq!(errno_everywhere(error), Some(Errno::ENOENT));

    let file = dir.join("file");
    std::fs::write(&file, b"").unwrap();
    let below = file.join("below");
    let error = wait_for_path(&below, Presence::Exists, Some(Duration::ZERO)).unwrap_err();
    assert_eq!(errno_everywhere(error), Some(Errno::ENOTDIR));

    let error = PathError {
        path: missing.clone(),
        source: Error::Syscall {
            call: inotify_raw::Call::InotifyAddWatch,
            errno: Errno::EACCES,
            limit: None,
        },
    };
    assert_eq!(errno_everywhere(error), Some(Errno::EACCES));
    assert_eq!(errno_everywhere(Errno::EMFILE), Some(Errno::EMFILE));

    // The std layer returns io::Error already; the errno is its raw OS error or inside.
    let error = Watcher::new()
        .unwrap()
        .add_watch(&missing, WatchMask::CREATE)
        .unwrap_err();
    assert_eq!(Errno::from_error(&error), Some(Errno::ENOENT), "{}", error);
    let error = TreeWatcher::new(&missing).unwrap_err();
    assert_eq!(Errno::from_error(&error), Some(Errno::ENOENT), "{}", error);
    let error = WatchError::from(error);
    assert_eq!(Errno::from_error(&error), Some(Errno::ENOENT), "{}", error);
    assert_eq!(
        Errno::from_error(&io::Error::from(error)),
        Some(Errno::ENOENT)
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn an_epoll_wait_on_no_slice_has_no_errno() {
    let epoll = Epoll::new().unwrap();
    let error = epoll
        .wait(&mut [], Some(Duration::ZERO), OnInterrupt::Return)
        .unwrap_err();
    assert_eq!(errno_everywhere(error), None);
}

#[test]
fn errors_with_no_failed_call_have_no_errno() {
    let error = Inotify::new()
        .unwrap()
        .add_watch(&b"a\0b"[..], WatchMask::CREATE)
        .unwrap_err();
    assert_eq!(errno_everywhere(error), None);

    // Twenty bytes: a whole header that promises a name of 255 bytes, and 4 of them.
    let mut bytes = [0u8; 20];
    bytes[12..16].copy_from_slice(&255u32.to_ne_bytes());
    let error = Events::new(&bytes).find_map(Result::err).unwrap();
    assert_eq!(errno_everywhere(error), None);

    let error = Dirents::new(&[1, 2, 3]).find_map(Result::err).unwrap();
    assert_eq!(errno_everywhere(error), None);

    // An io::Error with a kind and no OS error, from outside the crate.
    let error = io::Error::new(io::ErrorKind::Other, "not ours");
    assert_eq!(Errno::from_error(&error), None);
}

/// A loop that reads and parses, written as a `no_std` program writes it: one error
/// type, `?` on the read and on each event.
fn count_events(bytes: &[u8]) -> Result<usize, Error> {
    let mut count = 0;
    for event in Events::new(bytes) {
        event?;
        count += 1;
    }
    Ok(count)
}

#[test]
fn malformed_bytes_go_through_question_mark_into_error() {
    let mut bytes = [0u8; 36];
    // One whole event with no name, then a header that promises 255 bytes of name.
    bytes[16 + 12..16 + 16].copy_from_slice(&255u32.to_ne_bytes());
    let error = count_events(&bytes[..32]).unwrap_err();
    let malformed = Events::new(&bytes[..32]).find_map(Result::err).unwrap();
    assert_eq!(error, Error::MalformedEvent(malformed));
    assert_eq!(error.to_string(), malformed.to_string());
    assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidData);
    assert_eq!(count_events(&bytes[..16]), Ok(1));

    let error: Error = Dirents::new(&[1, 2, 3])
        .find_map(Result::err)
        .unwrap()
        .into();
    assert!(matches!(error, Error::MalformedDirent(_)), "{:?}", error);
    assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidData);
}
