//! Every public type that holds a descriptor can move to another thread and be shared
//! between threads: this file compiles only if each is `Send + Sync`. That is what
//! tokio's `AsyncFd` needs of what it owns for its registration error to go through `?`
//! into `anyhow::Error`, and what a watcher kept in an `Arc` needs.

use inotify_raw::{
    BorrowedDescriptor, Directory, Epoll, EventWaiter, Fanotify, Inotify, OwnedDescriptor,
    PathWaiter,
};

/// Compiles only for a `T` that is `Send + Sync`.
fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn core_types_with_a_descriptor_are_send_and_sync() {
    assert_send_sync::<Inotify>();
    assert_send_sync::<Epoll>();
    assert_send_sync::<EventWaiter>();
    assert_send_sync::<Fanotify>();
    assert_send_sync::<EventWaiter<Fanotify>>();
    assert_send_sync::<Directory>();
    assert_send_sync::<OwnedDescriptor>();
    assert_send_sync::<BorrowedDescriptor<'static>>();
    assert_send_sync::<PathWaiter>();
}

#[cfg(feature = "std")]
#[test]
fn watchers_are_send_and_sync() {
    use inotify_raw::{FsBuilder, FsWatcher, TreeBuilder, TreeWatcher, Watcher};
    assert_send_sync::<Watcher>();
    assert_send_sync::<TreeWatcher>();
    assert_send_sync::<FsWatcher>();
    // They hold the exclude predicate a tree keeps.
    assert_send_sync::<TreeBuilder>();
    assert_send_sync::<FsBuilder>();
}
