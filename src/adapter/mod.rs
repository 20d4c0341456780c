//! The `std` layer: the Python package's watcher and trees, over the core's `Inotify`.

mod barrier;
mod event;
mod fs;
mod iter;
mod mapped;
mod nodes;
mod reader;
mod table;
mod tree;
mod watcher;

pub use event::{FilterStop, Origin, WatchError, WatchEvent, WatchEventRef};
pub use fs::{FsBuilder, FsWatcher};
pub use iter::WatchEvents;
pub use tree::{TreeBuilder, TreeWatcher};
pub use watcher::Watcher;
