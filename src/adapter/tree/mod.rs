//! [`TreeWatcher`]: the Python package's `InotifyTree` and `InotifyTrees`: every directory
//! below the roots is watched, new ones as they appear, moved ones follow. This file holds
//! the type, its builder and its read loop; below it, `nodes` keeps a node per directory,
//! `crawl` walks and lists, `found` keeps what a listing found, `own` counts the closes
//! of the tree's own listings, and `follow` checks each kernel event against the disk.

mod crawl;
mod delivered;
mod follow;
mod found;
mod own;

use std::boxed::Box;
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;
use std::vec::Vec;

use self::delivered::{Delivered, Standing};
use self::follow::{Held, Orphan, Verdict, Waiting};
use self::found::{AfterListings, FoundNames, OpenListings};
use self::own::OwnListings;
use super::barrier::MarkerPlace;
use super::event::{FilterStop, Origin, WatchError, WatchEvent, WatchEventRef};
use super::iter::{EventSource, WatchEvents};
use super::mapped::zeroed_bytes;
use super::reader::{RawEvent, Reader, Step};
use super::watcher::{event_ref, push_name, PathParts};
use crate::adapter::nodes::{NodeId, Nodes, NO_NODE};
use crate::dir::{open_path_following, proc_fd_path};
use crate::mask::{EventMask, WatchMask};
use crate::parse::WatchDescriptor;

/// The events a tree needs to follow its directories, whatever the caller asked for.
const FOLLOW: WatchMask = WatchMask::CREATE
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF);

/// What listing a directory makes the kernel report, on it and on its parent.
const LISTING_NOISE: WatchMask = WatchMask::OPEN
    .union(WatchMask::ACCESS)
    .union(WatchMask::CLOSE_NOWRITE);

/// How many events the tree's own queue keeps room for once it is empty.
const SYNTHETIC_KEPT: usize = 1024;

/// Decides which directories are not watched: `(path, name) -> exclude?`. `Send + Sync`
/// so that the tree that owns it is.
pub(crate) type ExcludeFn = Box<dyn FnMut(&Path, &OsStr) -> bool + Send + Sync>;

/// An event the tree makes itself: found by a listing, or a notice.
#[derive(Clone, Copy, Debug)]
struct Synthetic {
    /// The directory it happened in.
    dir: NodeId,
    /// Where its name lies in `synthetic_names`.
    name_at: usize,
    name_len: usize,
    mask: EventMask,
    cookie: u32,
    origin: Origin,
    /// For a directory found by a listing: its node, placed in the delivered view when
    /// the event is delivered.
    subject: NodeId,
}

/// Watches whole directory trees: the Rust form of the Python package's `InotifyTree`
/// (one root) and `InotifyTrees` (several).
///
/// Every directory below the roots is watched, and it stays right under churn:
/// - **New directories** are watched first and listed second; what the listing finds is
///   reported once, as `IN_CREATE` with [`Origin::Scan`], so nothing made inside a new
///   directory before its watch existed is missed (`mkdir -p a/b/c && touch a/b/c/f`
///   reports `a`, `a/b`, `a/b/c` and `a/b/c/f`, each once).
/// - **Moves**: a directory renamed inside the tree keeps its watches, and every later
///   event below it has the new path (a move costs O(1)); one moved out loses its
///   watches; one moved in is watched and listed like a new one. One that arrives with
///   no `IN_MOVED_FROM` of the same cookie before it is reported with what it holds, as
///   found by a scan.
/// - **Identity**: each directory is a node tied to its inode and its watch descriptor.
///   Events are read late, so none is replayed blindly: each change of a directory
///   entry makes the tree look at what the entry is now (the kernel gives the same watch
///   descriptor to the same directory wherever it has gone), and new directories are
///   watched through `/proc/self/fd` of the directory opened. A rename racing the watch
///   cannot put a watch under the wrong path.
/// - **Paths as of the event**: event paths come from where each directory is as far as
///   the events read so far say, not from the disk, which the tree's own checks have
///   seen further on. Every path delivered existed; a kernel event's path is the one its
///   directory had when the kernel queued it; and the delivered events, replayed in
///   order, give the tree on disk. An event inside the tree is delivered even when its
///   directory left before the tree read it.
/// - **Quiet**: the tree's own listings never reach you and never fill the queue (it
///   lists with the noisy event bits off, and drops what its own listing of a new
///   directory raises). That holds for a listing's close that comes late, too: a child
///   process forked meanwhile by another thread holds the listing's descriptor until
///   its `exec` (or its exit), and the kernel reports the close only then; the tree
///   counts each close of its own still to come, and drops it whenever it comes. A
///   directory's own copy of an event that its parent reports with a name is dropped;
///   the self-only events (`IN_DELETE_SELF`, `IN_MOVE_SELF`) are kept.
/// - **Overflow**: `IN_Q_OVERFLOW` is delivered once; the tree then walks its roots again
///   (quietly), so the watches match the directories on disk, and reports directories
///   that appeared meanwhile, with what they hold, as found by a scan.
/// - **Errors belong to one directory**: one that vanishes mid-walk is skipped; one that
///   cannot be read is reported as an event with [`Origin::Skipped`]; neither ends the
///   stream.
/// - **Roots**: a root that is deleted, moved away or unmounted ends with an `IN_IGNORED`
///   event at its path; the other roots go on, and the stream ends
///   ([`WatchError::Ended`]) when none is left. Roots can be added and removed at any
///   time.
///
/// Only events in the mask are delivered, plus `IN_Q_OVERFLOW`, `IN_UNMOUNT` and a
/// root's final `IN_IGNORED`; the tree watches for the creations and moves it must
/// follow either way. Symbolic links below a root are never followed.
///
/// ```no_run
/// use inotify_raw::{TreeWatcher, WatchMask};
///
/// let mut tree = TreeWatcher::builder()
///     .mask(WatchMask::CREATE | WatchMask::CLOSE_WRITE | WatchMask::DELETE)
///     .exclude(|_path, name| name == ".git" || name == "target")
///     .watch(["/srv/project"])?;
/// while let Some(event) = tree.next_event()? {
///     println!("{:?} {}", event.mask, event.path.display());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TreeWatcher {
    reader: Reader,
    nodes: Nodes,
    /// The roots, in the order they were added.
    roots: Vec<NodeId>,
    /// The caller's mask (event bits only).
    mask: WatchMask,
    exclude: Option<ExcludeFn>,
    keep_going_at_watch_limit: bool,
    keep_going_at_descriptor_limit: bool,
    /// Events the tree made, delivered before the next kernel event.
    synthetic: VecDeque<Synthetic>,
    synthetic_names: Vec<u8>,
    /// What the open listings found and saw, per directory, until the listing's end is
    /// read back: the kernel's `IN_CREATE` of a name one found is a duplicate until then.
    /// A reporting listing (a scan's) records every name it saw, plus the names the
    /// events read since brought there: what the caller has in that directory. An
    /// `IN_MOVED_FROM` read before that point, of a name not among them, took away what
    /// had left before the listing, which the caller never had.
    open_listings: OpenListings,
    /// What listings found and saw, after their end, in the order they expire.
    after_listings: AfterListings,
    /// Kernel events read so far.
    events_read: u64,
    /// The closes of the tree's own listings still to be read (see `own.rs`).
    own: OwnListings,
    /// Directories taken out of their place, waiting to turn up again.
    orphans: Vec<Orphan>,
    /// Changes of entries in directories whose place on disk is unknown, to follow once
    /// it is known.
    held: Vec<Held>,
    /// Where each directory is as far as the events read say: event paths come from it.
    delivered: Delivered,
    /// Events in directories that are between the two halves of a move in the delivered
    /// view, to deliver once the move's `IN_MOVED_TO` is read (or drop if it is not).
    waiting: Vec<Waiting>,
    /// The last cookie the tree gave a move of its own (counting down from the top).
    tree_cookie: u32,
    /// `held` is being replayed.
    replaying: bool,
    /// Directories whose path did not name them when an event needed it (a rename
    /// above them still to be read): listed again once it does.
    stale: Vec<NodeId>,
    /// How many waits have ended with nothing more to read.
    quiet_waits: u64,
    /// How many reads have been used up.
    reads: u64,
    recrawl_due: bool,
    /// Directories the last watches at the limit left out.
    unwatched: u64,
    /// Where in `synthetic` the last `Origin::DescriptorLimit` notice was queued (an
    /// index that pops make stale: checked before use).
    descriptor_notice: usize,
    /// Roots whose end was just handed out: their nodes go at the next step.
    ended_roots: Vec<NodeId>,
    /// Whether `/proc/self/fd` can name a directory to watch.
    proc_fd: bool,
    /// The path of the event handed out last, and scratch space for the walks.
    path: Vec<u8>,
    /// The name of the event being followed, reused.
    name: Vec<u8>,
    scratch: Vec<u8>,
    /// A path in the delivered view, to compare with one on disk.
    told_path: Vec<u8>,
    /// The buffer directories are listed into: only the pages listings have written are
    /// resident.
    listing: Vec<u8>,
    last_filter_stop: Option<FilterStop>,
}

/// Options for a [`TreeWatcher`]: `TreeWatcher::builder().mask(..).exclude(..).watch(roots)`.
pub struct TreeBuilder {
    mask: WatchMask,
    exclude: Option<ExcludeFn>,
    keep_going_at_watch_limit: bool,
    keep_going_at_descriptor_limit: bool,
}

impl TreeBuilder {
    /// The events to deliver (default: `WatchMask::ALL_EVENTS`). Flag bits are ignored:
    /// the tree sets its own.
    pub fn mask(mut self, mask: WatchMask) -> TreeBuilder {
        self.mask = mask;
        self
    }

    /// Keeps the directories for which `exclude(path, name)` is true out of the tree:
    /// no watch, no listing, and nothing that happens below them is delivered. Asked
    /// for every directory but the roots, with its full path and its name, when it is
    /// first seen and when it is renamed.
    ///
    /// An excluded directory is still an entry of a watched directory, and is reported
    /// as a file would be: its creation (by the kernel's event, or found by a scan of a
    /// new directory: the same either way), its deletion, and the events its parent
    /// reports about it. A rename to or from an excluded name is a move out of or into
    /// the tree: only the half in the tree is delivered, with no partner, so a directory
    /// renamed to an excluded name leaves the tree at once, and one renamed back is
    /// reported once, with what it holds ([`Origin::Scan`]).
    ///
    /// The predicate must be `Send + Sync`, as the tree that keeps it is (so a
    /// tree can go into an `Arc` or tokio's `AsyncFd`): share state it updates through
    /// an atomic or a `Mutex`, not a `Cell`.
    pub fn exclude<F>(mut self, exclude: F) -> TreeBuilder
    where
        F: FnMut(&Path, &OsStr) -> bool + Send + Sync + 'static,
    {
        self.exclude = Some(Box::new(exclude));
        self
    }

    /// What to do when the inotify watch limit (`fs.inotify.max_user_watches`) is hit.
    /// `false` (the default): fail, with an error that names the limit, its value and
    /// how to raise it. `true`: go on with the directories that could be watched, and
    /// deliver one event ([`Origin::WatchLimit`]) that says how many could not.
    pub fn keep_going_at_watch_limit(mut self, keep_going: bool) -> TreeBuilder {
        self.keep_going_at_watch_limit = keep_going;
        self
    }

    /// What to do when the process has no descriptor free to open a directory it must
    /// list (`EMFILE` at its `RLIMIT_NOFILE`, `ENFILE` at the system's limit). `false`
    /// (the default): fail, with an error that names the directory, the limit, its value
    /// and how to raise it (`ulimit -n`). `true`: go on without listing it, and deliver
    /// one event ([`Origin::DescriptorLimit`]) that says how many directories could not
    /// be opened.
    ///
    /// A second option, apart from the watch limit's: that one is the user's, shared by
    /// every program, and going on there is a choice about coverage; this one is the
    /// process's own, and usually means descriptors are leaking somewhere, which going on
    /// would hide. The tree itself holds two descriptors, and a few more only while it
    /// lists.
    pub fn keep_going_at_descriptor_limit(mut self, keep_going: bool) -> TreeBuilder {
        self.keep_going_at_descriptor_limit = keep_going;
        self
    }

    /// Watches every directory below each of `roots`.
    ///
    /// # Errors
    /// A root that does not exist or is not a directory (the error names it), the watch
    /// limit or the descriptor limit (unless told to go on; the error names the
    /// directory, the limit and its value), or no inotify instance to be had.
    pub fn watch<I, P>(self, roots: I) -> io::Result<TreeWatcher>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let mut tree = TreeWatcher {
            reader: Reader::new()?,
            nodes: Nodes::default(),
            roots: Vec::new(),
            mask: self.mask & WatchMask::ALL_EVENTS,
            exclude: self.exclude,
            keep_going_at_watch_limit: self.keep_going_at_watch_limit,
            keep_going_at_descriptor_limit: self.keep_going_at_descriptor_limit,
            synthetic: VecDeque::new(),
            synthetic_names: Vec::new(),
            open_listings: OpenListings::default(),
            after_listings: AfterListings::default(),
            events_read: 0,
            own: OwnListings::new(self.mask.contains(WatchMask::CLOSE_NOWRITE)),
            orphans: Vec::new(),
            held: Vec::new(),
            delivered: Delivered::default(),
            waiting: Vec::new(),
            tree_cookie: 0,
            replaying: false,
            stale: Vec::new(),
            quiet_waits: 0,
            reads: 0,
            recrawl_due: false,
            unwatched: 0,
            descriptor_notice: 0,
            ended_roots: Vec::new(),
            proc_fd: crawl::proc_fd_works(),
            path: Vec::with_capacity(crate::sys::PATH_MAX),
            name: Vec::with_capacity(crate::sys::NAME_MAX + 1),
            scratch: Vec::new(),
            told_path: Vec::new(),
            listing: zeroed_bytes(crawl::LISTING_LEN),
            last_filter_stop: None,
        };
        for root in roots {
            tree.add_root(root)?;
        }
        Ok(tree)
    }
}

impl fmt::Debug for TreeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TreeBuilder")
            .field("mask", &self.mask)
            .field("exclude", &self.exclude.is_some())
            .field("keep_going_at_watch_limit", &self.keep_going_at_watch_limit)
            .field(
                "keep_going_at_descriptor_limit",
                &self.keep_going_at_descriptor_limit,
            )
            .finish()
    }
}

impl TreeWatcher {
    /// Options: the mask, what to exclude, what to do at the watch limit and at the
    /// descriptor limit.
    pub fn builder() -> TreeBuilder {
        TreeBuilder {
            mask: WatchMask::ALL_EVENTS,
            exclude: None,
            keep_going_at_watch_limit: false,
            keep_going_at_descriptor_limit: false,
        }
    }

    /// Watches every directory below `root` for every event: `InotifyTree(path)`.
    ///
    /// # Errors
    /// As for [`TreeBuilder::watch`].
    pub fn new<P: AsRef<Path>>(root: P) -> io::Result<TreeWatcher> {
        TreeWatcher::builder().watch([root])
    }

    /// Watches every directory below each of `roots`: `InotifyTrees(paths)`.
    ///
    /// # Errors
    /// As for [`TreeBuilder::watch`].
    pub fn with_roots<I, P>(roots: I) -> io::Result<TreeWatcher>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        TreeWatcher::builder().watch(roots)
    }

    /// Watches every directory below each of `roots`, delivering the events in `mask`:
    /// `InotifyTrees(paths, mask=...)`.
    ///
    /// # Errors
    /// As for [`TreeBuilder::watch`].
    pub fn with_mask<I, P>(roots: I, mask: WatchMask) -> io::Result<TreeWatcher>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        TreeWatcher::builder().mask(mask).watch(roots)
    }

    /// The roots, as given, in the order they were added (a root that ended is gone).
    pub fn roots(&self) -> Vec<PathBuf> {
        self.roots
            .iter()
            .map(|&root| PathBuf::from(OsStr::from_bytes(self.nodes.name(root))))
            .collect()
    }

    /// Stops watching the tree below `root` (as given to [`add_root`](Self::add_root)).
    /// Returns false if it is not a root. No event comes from it afterwards.
    ///
    /// # Errors
    /// Removing a kernel watch failed for a reason other than its being gone already.
    pub fn remove_root<P: AsRef<Path>>(&mut self, root: P) -> io::Result<bool> {
        let wanted = root.as_ref().as_os_str().as_bytes();
        let found = self
            .roots
            .iter()
            .position(|&id| self.nodes.name(id) == wanted);
        match found {
            Some(at) => {
                let id = self.roots.remove(at);
                self.forget_subtree(id);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// How many directories are watched: those at a known path (what
    /// [`watches`](Self::watches) lists), and those taken out of their place whose new
    /// place is not known yet (moved, with the other half of the move still to be
    /// read). The latter are let go, or placed, at the next quiet wait or
    /// [`sync`](Self::sync) at the latest; the two counts agree from then on.
    pub fn watch_count(&self) -> usize {
        self.nodes.watched()
    }

    /// Every watch of a directory at a known path, and that path on disk. Allocates:
    /// for checks and diagnostics, not for a hot loop.
    pub fn watches(&mut self) -> Vec<(WatchDescriptor, PathBuf)> {
        let ids: Vec<NodeId> = self.nodes.ids().collect();
        let mut out = Vec::with_capacity(ids.len());
        let mut path = Vec::new();
        for id in ids {
            let wd = self.nodes.wd(id);
            if let (Some(wd), Some(path)) = (wd, self.nodes.path(id, &mut path)) {
                out.push((wd, path.to_path_buf()));
            }
        }
        out
    }

    /// The watch of the directory at `path` (a root, or a path below one), from the
    /// tree's own map of names.
    pub fn wd_of<P: AsRef<Path>>(&self, path: P) -> Option<WatchDescriptor> {
        let id = self.node_at(path.as_ref())?;
        self.nodes.wd(id)
    }

    /// The node of the directory at `path` (a root, or a path below one).
    fn node_at(&self, path: &Path) -> Option<NodeId> {
        self.roots.iter().find_map(|&root| {
            let root_path = Path::new(OsStr::from_bytes(self.nodes.name(root)));
            let rest = path.strip_prefix(root_path).ok()?;
            let mut at = root;
            for component in rest.components() {
                at = self.nodes.child(at, component.as_os_str().as_bytes())?;
            }
            Some(at)
        })
    }

    /// The path events of `wd` are reported under.
    pub fn path_of(&mut self, wd: WatchDescriptor) -> Option<PathBuf> {
        let id = self.nodes.by_wd(wd)?;
        let mut path = Vec::new();
        self.nodes.path(id, &mut path).map(Path::to_path_buf)
    }

    /// Sets how long one wait blocks (`None`: until an event comes).
    pub fn set_block_duration(&mut self, duration: Option<Duration>) {
        self.reader.set_block_duration(duration);
    }

    /// Asks `duration` before every wait that may block how long it may block.
    pub fn set_block_duration_fn<F>(&mut self, duration: F)
    where
        F: FnMut() -> Option<Duration> + Send + 'static,
    {
        self.reader.set_block_duration_fn(Box::new(duration));
    }

    /// The events of the whole tree, with the options of the Python package's
    /// `event_gen`: see [`WatchEvents`].
    pub fn events(&mut self) -> WatchEvents<'_, TreeWatcher> {
        WatchEvents::new(self)
    }

    /// The event that made [`WatchEvents::until`] stop an iteration, if one did.
    pub fn last_filter_stop(&self) -> Option<&FilterStop> {
        self.last_filter_stop.as_ref()
    }

    /// The next event of the tree, borrowed with its full path, or `None` at the end of
    /// a cycle (the Python package's `None`). Blocks for at most one block duration.
    /// Allocates nothing in steady state.
    ///
    /// # Errors
    /// [`WatchError::Ended`] once no root is left; [`WatchError::Io`] when reading fails,
    /// or at the watch limit or the descriptor limit when the tree was not told to go on;
    /// `EBADF` when other code has closed the tree's descriptor, for this call and
    /// every later one.
    pub fn next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        self.next_step(true)
    }

    /// The next event already queued, without blocking; `None` means nothing more now.
    /// For a loop driven by readiness: tokio's `AsyncFd` or mio on this tree's
    /// descriptor; drain with this until `None`, then wait for readiness again. Drain
    /// before the first wait too, and after [`add_root`](Self::add_root) or
    /// [`sync`](Self::sync): they may have read events ahead (the crawl of a large tree
    /// reads the queue as it goes, so that its own listings cannot fill it), and events
    /// already read no longer make the descriptor readable.
    ///
    /// # Errors
    /// As for [`next_event`](Self::next_event).
    pub fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        self.next_step(false)
    }

    /// A barrier: returns once every event of a change that completed before the call
    /// has been read. Those events are then handed out
    /// by the following reads ([`next_event`](Self::next_event),
    /// [`try_next_event`](Self::try_next_event), [`events`](Self::events)), before any
    /// event of a change made after the call, and `try_next_event` hands them out
    /// without waiting for the descriptor to be readable. No need to sleep and hope in a
    /// test or a build tool: make the changes, `sync`, then drain. Once the reads reach
    /// the barrier, a directory moved away before it whose other half never came is
    /// known to have left the tree, exactly, with no quiet wait to guess by.
    ///
    /// It makes a file whose name starts with `.inotify-raw-sync-` in the first root it
    /// can, reads until the kernel reports it (the kernel queues an instance's events in
    /// the order of the calls that caused them), and removes it. Events about these
    /// files are never delivered, by any watcher of this process.
    ///
    /// A root counts only while its path names the very directory the tree watches
    /// there. One deleted, moved away or replaced (`rm -rf root && mkdir root`) whose end
    /// has not been read yet is passed over, for the next root; when none is left at its
    /// path, the file goes into a directory of the tree's own, as
    /// [`Watcher::sync`](crate::Watcher::sync) does (made under `TMPDIR` at the first
    /// such call, removed on drop). Either way the barrier holds: the events up to each
    /// such root's end are in hand, and its final `IN_IGNORED` is handed out by the
    /// following reads, after which a tree with no root left ends
    /// ([`WatchError::Ended`]).
    ///
    /// A loop driven by readiness (epoll, tokio) must drain with `try_next_event` after
    /// a `sync`: the events it read ahead no longer make the descriptor readable.
    ///
    /// # Errors
    /// [`WatchError::Io`]: no root at its path could take the marker file (read-only, no
    /// permission: the message names each root and why), the tree's own directory could
    /// not be made (`TMPDIR` not writable), the marker's event did not come within
    /// `timeout` ([`io::ErrorKind::TimedOut`]), or reading or following failed.
    /// [`WatchError::Ended`] when no root is left.
    ///
    /// # Examples
    /// ```
    /// use inotify_raw::{TreeWatcher, WatchMask};
    /// use std::time::Duration;
    ///
    /// let root = std::env::temp_dir().join(format!("tree-sync-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&root)?;
    /// let mut tree = TreeWatcher::with_mask([&root], WatchMask::CREATE)?;
    /// std::fs::create_dir_all(root.join("a/b"))?;
    /// std::fs::write(root.join("a/b/f"), b"")?;
    /// tree.sync(Duration::from_secs(10))?;
    /// let mut made = Vec::new();
    /// while let Some(event) = tree.try_next_event()? {
    ///     made.push(event.path.strip_prefix(&root)?.to_path_buf());
    /// }
    /// assert_eq!(made, ["a", "a/b", "a/b/f"].map(std::path::PathBuf::from));
    /// # std::fs::remove_dir_all(&root)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sync(&mut self, timeout: Duration) -> Result<(), WatchError> {
        if self.roots.is_empty() {
            return Err(WatchError::Ended);
        }
        let places = self.marker_places();
        if places.is_empty() {
            return self.reader.sync_in_own_dir(timeout);
        }
        self.reader.sync(&places, timeout)
    }

    /// The roots whose path still names the directory the tree watches there, in the
    /// order they were added, as places for a `sync` marker: each through a descriptor
    /// of that directory where `/proc` can name one, so that the marker goes into the
    /// directory checked, whatever happens to the path meanwhile.
    fn marker_places(&self) -> Vec<MarkerPlace> {
        let mut places = Vec::new();
        for &root in &self.roots {
            let path = self.nodes.name(root);
            let label = Path::new(OsStr::from_bytes(path));
            if !self.proc_fd {
                if self.is_watched_dir(path) {
                    places.push(MarkerPlace::at(label));
                }
                continue;
            }
            // Gone, or not a directory any more: not a place.
            if let Ok(named) = open_path_following(path) {
                if self.is_watched_dir(proc_fd_path(&named).as_bytes()) {
                    places.push(MarkerPlace::named(label, named));
                }
            }
        }
        places
    }

    /// Whether the directory at `path` is one the tree watches. Adding `IN_CREATE` to a
    /// watch that has it (every watch of the tree has) changes nothing and gives its
    /// watch descriptor; a directory the tree does not watch gets a new watch, removed at
    /// once (its `IN_IGNORED` names no node, so it is dropped).
    fn is_watched_dir(&self, path: &[u8]) -> bool {
        let inotify = self.reader.inotify();
        let mask = WatchMask::CREATE | WatchMask::MASK_ADD | WatchMask::ONLYDIR;
        match inotify.add_watch(path, mask) {
            Ok(wd) if self.nodes.by_wd(wd).is_some() => true,
            Ok(wd) => {
                if !self.reader.is_own_dir_watch(wd) {
                    let _ = inotify.rm_watch(wd);
                }
                false
            }
            Err(_) => false,
        }
    }

    fn next_step(&mut self, block: bool) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        for root in core::mem::take(&mut self.ended_roots) {
            let mut gone = Vec::new();
            self.nodes.remove_subtree(root, true, |id, _| gone.push(id));
            gone.sort_unstable();
            self.own.removed(&gone);
            self.delivered.removed(&gone);
        }
        loop {
            if self.recrawl_due {
                self.recrawl_due = false;
                self.recrawl()?;
            }
            if let Some(made) = self.synthetic.pop_front() {
                let parts = self.deliver_made(&made)?;
                if self.synthetic.is_empty() {
                    self.synthetic_names.clear();
                    // A large scan's room goes once it has been handed out.
                    self.synthetic.shrink_to(SYNTHETIC_KEPT);
                    self.synthetic_names.shrink_to(SYNTHETIC_KEPT * 16);
                }
                if let Some((wd, parts)) = parts {
                    let event = RawEvent::made(wd, made.mask, made.cookie, made.name_len);
                    return Ok(Some(event_ref(&event, &self.path, parts, made.origin)));
                }
                continue;
            }
            if self.roots.is_empty() {
                return Err(WatchError::Ended);
            }
            let event = match self.reader.next(block)? {
                Step::Event(event) => event,
                Step::BatchEnd => {
                    self.reads += 1;
                    self.settle_orphans();
                    return Ok(None);
                }
                Step::Synced => {
                    self.settle_at_barrier()?;
                    continue;
                }
                Step::TimedOut | Step::Empty => {
                    self.settle_quiet()?;
                    if self.synthetic.is_empty() {
                        return Ok(None);
                    }
                    continue;
                }
            };
            self.events_read += 1;
            self.after_listings.expire(self.events_read);
            let (dir, verdict) = match self.follow(&event)? {
                Some(followed) => followed,
                None => continue,
            };
            if dir == NO_NODE {
                // A queue overflow.
                self.path.clear();
                let parts = push_name(&mut self.path, None);
                return Ok(Some(event_ref(&event, &self.path, parts, Origin::Kernel)));
            }
            let mut name = core::mem::take(&mut self.name);
            let standing = self.delivered.standing(&self.nodes, dir);
            let mut parts = None;
            let leaves_unseen =
                verdict == Verdict::Deliver && self.leaves_unseen(dir, &name, event.mask);
            if verdict == Verdict::Deliver && !leaves_unseen {
                match standing {
                    Standing::Placed => {
                        let mut path = core::mem::take(&mut self.path);
                        if self.delivered_path(dir, &mut path) {
                            let named = (!name.is_empty()).then_some(&name[..]);
                            parts = Some(push_name(&mut path, named));
                        }
                        self.path = path;
                    }
                    Standing::Pending => self.waiting.push(Waiting::kernel(dir, &name, &event)),
                    Standing::Away => {}
                }
            }
            let applied = if verdict == Verdict::Repeat {
                // The directory a repeated IN_MOVED_TO brings was placed by what the
                // listing found (or waits for it): the move it ends is not delivered.
                if event.mask.contains(EventMask::MOVED_TO)
                    && self.delivered.moved_out(event.cookie)
                {
                    self.release_waiting();
                }
                Ok(())
            } else {
                let told = verdict != Verdict::Unseen && !leaves_unseen;
                let subject = self.arriving(&event, dir, &name);
                self.apply_delivered(dir, &name, event.mask, event.cookie, subject, told)
            };
            name.clear();
            self.name = name;
            applied?;
            if let Some(parts) = parts {
                return Ok(Some(event_ref(&event, &self.path, parts, Origin::Kernel)));
            }
        }
    }

    /// Builds the path of an event the tree made into `self.path`, if it is to be
    /// delivered now (its directory is placed in the delivered view), and follows it in
    /// that view. Returns its watch descriptor and the parts of its path.
    fn deliver_made(
        &mut self,
        made: &Synthetic,
    ) -> Result<Option<(WatchDescriptor, PathParts)>, WatchError> {
        if self.nodes.get(made.dir).is_none() {
            return Ok(None); // its directory went since
        }
        let wd = self.nodes.wd(made.dir);
        let mut name = core::mem::take(&mut self.name);
        name.clear();
        let span = made.name_at..made.name_at + made.name_len;
        name.extend_from_slice(self.synthetic_names.get(span).unwrap_or(&[]));
        let standing = self.standing_of(made.dir, &name, made.mask, made.origin, made.subject);
        // A kernel event that waited was followed in the delivered view when it was read.
        let followed = made.origin == Origin::Kernel;
        let subject = (made.subject != NO_NODE).then_some(made.subject);
        let subject = subject.or_else(|| self.nodes.child(made.dir, &name));
        let delivered = match standing {
            Standing::Placed => {
                let mut path = core::mem::take(&mut self.path);
                let complete = self.delivered_path(made.dir, &mut path);
                let parts = push_name(&mut path, (!name.is_empty()).then_some(&name[..]));
                self.path = path;
                if !complete {
                    // Below a directory out of its place on disk, after an overflow
                    // cleared the delivered view: the re-crawl reports what is there.
                    self.name = name;
                    return Ok(None);
                }
                let waited_move = made.mask.contains(EventMask::MOVED_FROM | EventMask::ISDIR);
                if followed && waited_move && made.cookie != 0 {
                    // Its other half, read later, is its pair for the caller.
                    self.delivered.move_told(made.cookie);
                }
                let applied = if followed {
                    Ok(())
                } else {
                    self.apply_delivered(made.dir, &name, made.mask, made.cookie, subject, true)
                };
                applied.map(|()| Some((wd.unwrap_or(WatchDescriptor::OVERFLOW), parts)))
            }
            Standing::Pending => {
                self.waiting.push(Waiting::made(made, &name));
                Ok(None)
            }
            // Outside the tree as the caller knows it: not delivered, but followed in the
            // delivered view all the same (a directory found there is in its place there,
            // not waiting for a report that will never be delivered).
            Standing::Away if !followed => self
                .apply_delivered(made.dir, &name, made.mask, made.cookie, subject, true)
                .map(|()| None),
            Standing::Away => Ok(None),
        };
        self.name = name;
        delivered
    }

    /// Writes the path of `dir` in the delivered view into `out`; false when it has no
    /// whole path (below a directory out of its place).
    fn delivered_path(&mut self, dir: NodeId, out: &mut Vec<u8>) -> bool {
        if self.delivered.is_empty() {
            self.nodes.path_into(dir, out)
        } else {
            self.delivered.path_into(&self.nodes, dir, out)
        }
    }

    /// Whether the caller's predicate keeps `name` in `dir` out of the tree.
    fn is_excluded(&mut self, dir: NodeId, name: &[u8]) -> bool {
        let exclude = match self.exclude.as_mut() {
            Some(exclude) => exclude,
            None => return false,
        };
        let mut path = core::mem::take(&mut self.scratch);
        self.nodes.path_into(dir, &mut path);
        push_name(&mut path, Some(name));
        let excluded = exclude(Path::new(OsStr::from_bytes(&path)), OsStr::from_bytes(name));
        self.scratch = path;
        excluded
    }
}

impl EventSource for TreeWatcher {
    fn next_owned_event(&mut self) -> Result<Option<WatchEvent>, WatchError> {
        Ok(self.next_event()?.map(|event| event.to_owned_event()))
    }

    fn set_last_filter_stop(&mut self, stop: Option<FilterStop>) {
        self.last_filter_stop = stop;
    }
}

impl fmt::Debug for TreeWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TreeWatcher")
            .field("fd", &self.as_raw_fd())
            .field("roots", &self.roots.len())
            .field("directories", &self.nodes.len())
            .field("watches", &self.nodes.watched())
            .field("mask", &self.mask)
            .finish()
    }
}

impl AsRawFd for TreeWatcher {
    fn as_raw_fd(&self) -> RawFd {
        self.reader.inotify().as_raw_fd()
    }
}

impl AsFd for TreeWatcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.reader.inotify().as_fd()
    }
}
