//! The `std` layer: the Python package's watcher and trees, over the core's `Inotify`.

mod event;
mod iter;
mod table;
mod tree;
mod watcher;

pub use event::{FilterStop, TerminalEvent, WatchError, WatchEvent, WatchEventRef};
pub use iter::WatchEvents;
pub use tree::TreeWatcher;
pub use watcher::Watcher;
