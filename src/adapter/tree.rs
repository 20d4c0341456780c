//! [`TreeWatcher`]: the Python package's `InotifyTree` and `InotifyTrees`: every directory
//! below the roots is watched, new ones as they appear, moved ones follow. The walking
//! and listing live in `crawl.rs`; this file turns kernel events into the tree's events.

use std::boxed::Box;
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;
use std::vec::Vec;

use super::event::{FilterStop, Origin, WatchError, WatchEvent, WatchEventRef};
use super::iter::{EventSource, WatchEvents};
use super::nodes::{NodeId, Nodes, FLAG_LISTING, NO_NODE};
use super::reader::{RawEvent, Reader, Step};
use super::watcher::{event_ref, push_name};
use crate::mask::{EventMask, WatchMask};
use crate::parse::WatchDescriptor;

/// The events a tree needs to follow its directories, whatever the caller asked for.
pub(super) const FOLLOW: WatchMask = WatchMask::CREATE
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF);

/// What listing a directory makes the kernel report, on it and on its parent.
pub(super) const LISTING_NOISE: WatchMask = WatchMask::OPEN
    .union(WatchMask::ACCESS)
    .union(WatchMask::CLOSE_NOWRITE);

/// Events about a directory that its parent's watch reports too, with the directory's
/// name: the directory's own copy (no name) is dropped for every directory but a root.
const REPORTED_BY_PARENT: EventMask = EventMask::ACCESS
    .union(EventMask::MODIFY)
    .union(EventMask::ATTRIB)
    .union(EventMask::CLOSE_WRITE)
    .union(EventMask::CLOSE_NOWRITE)
    .union(EventMask::OPEN);

/// The names a listing found in one directory.
pub(super) type FoundNames = HashSet<Box<[u8]>>;

/// How many kernel events after a listing's end its finds still count as duplicates.
const ECHO_WINDOW: u64 = 256;

/// Decides which directories are not watched: `(path, name) -> exclude?`.
pub(super) type ExcludeFn = Box<dyn FnMut(&Path, &OsStr) -> bool + Send>;

/// An event the tree makes itself: found by a listing, or a notice.
#[derive(Clone, Copy, Debug)]
pub(super) struct Synthetic {
    /// The directory it happened in.
    pub(super) dir: NodeId,
    /// Where its name lies in `synthetic_names`.
    pub(super) name_at: usize,
    pub(super) name_len: usize,
    pub(super) mask: EventMask,
    pub(super) cookie: u32,
    pub(super) origin: Origin,
}

/// A kernel event about a directory below a pending move, held until the move is
/// placed (then it is delivered, with the new path) or found to leave the tree (then it
/// is dropped).
#[derive(Clone, Debug)]
struct Held {
    wd: WatchDescriptor,
    dir: NodeId,
    name: Vec<u8>,
    mask: EventMask,
    cookie: u32,
}

/// A directory renamed away whose `IN_MOVED_TO` has not been read yet.
#[derive(Clone, Debug)]
struct PendingMove {
    cookie: u32,
    node: NodeId,
    /// Directories were created, moved or deleted below it meanwhile: their events could
    /// not be followed (the paths are not known), so it is rescanned once placed.
    dirty: bool,
    /// Reads that came since without its other half.
    reads: u8,
    /// The events below it meanwhile.
    held: Vec<Held>,
}

/// Watches whole directory trees: the Rust form of the Python package's `InotifyTree`
/// (one root) and `InotifyTrees` (several).
///
/// Every directory below the roots is watched, and it stays right under churn:
/// - **New directories** are watched first and listed second; what the listing finds is
///   reported once, as `IN_CREATE` with [`Origin::Scan`], so nothing made inside a new
///   directory before its watch existed is missed (`mkdir -p a/b/c && touch a/b/c/f`
///   reports `a`, `a/b`, `a/b/c` and `a/b/c/f`, each once).
/// - **Moves** are paired by cookie: a directory renamed inside the tree keeps its
///   watches, and every later event below it has the new path (a move costs O(1)); one
///   moved out loses its watches; one moved in is watched and listed like a new one.
/// - **Identity**: each directory is a node tied to its inode; new directories are
///   watched through `/proc/self/fd` of the directory opened, so a rename racing the
///   watch cannot put a watch under the wrong path.
/// - **Quiet**: the tree's own listings never reach you and never fill the queue (it
///   lists with the noisy event bits off, and drops what its own listing of a new
///   directory raises). A directory's own copy of an event that its parent reports with
///   a name is dropped; the self-only events (`IN_DELETE_SELF`, `IN_MOVE_SELF`) are kept.
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
    pub(super) reader: Reader,
    pub(super) nodes: Nodes,
    /// The roots, in the order they were added.
    pub(super) roots: Vec<NodeId>,
    /// The caller's mask (event bits only).
    pub(super) mask: WatchMask,
    pub(super) exclude: Option<ExcludeFn>,
    pub(super) keep_going_at_watch_limit: bool,
    /// Events the tree made, delivered before the next kernel event.
    pub(super) synthetic: VecDeque<Synthetic>,
    pub(super) synthetic_names: Vec<u8>,
    /// Names a listing found, per directory, until the listing's end is read back: the
    /// kernel's `IN_CREATE` for them before that point is a duplicate.
    pub(super) found: HashMap<NodeId, FoundNames>,
    /// What listings found, after their end, until `ECHO_WINDOW` more kernel events are
    /// read: (directory, names, the count of events read at which it expires).
    echoes: VecDeque<(NodeId, FoundNames, u64)>,
    /// Kernel events read so far.
    events_read: u64,
    pending_moves: Vec<PendingMove>,
    /// Cookies of moves already applied by looking ahead to their `IN_MOVED_TO`.
    applied_moves: Vec<u32>,
    pub(super) recrawl_due: bool,
    /// Directories the last watches at the limit left out.
    pub(super) unwatched: u64,
    /// Directories whose new subdirectories could not be scanned because their path was
    /// out of date (a rename above them still queued): scanned again once it is known.
    pub(super) stale: Vec<NodeId>,
    /// Nodes that stepped aside for another directory taking their name, until the
    /// events of their own rename (or deletion) are read.
    pub(super) replaced: Vec<NodeId>,
    /// Roots whose end was just handed out: their nodes go at the next step.
    ended_roots: Vec<NodeId>,
    /// Whether `/proc/self/fd` can name a directory to watch.
    pub(super) proc_fd: bool,
    /// The path of the event handed out last, and scratch space for the walks.
    path: Vec<u8>,
    /// The name of the event being followed, reused.
    name: Vec<u8>,
    pub(super) scratch: Vec<u8>,
    pub(super) listing: Box<[u8]>,
    last_filter_stop: Option<FilterStop>,
}

/// Options for a [`TreeWatcher`]: `TreeWatcher::builder().mask(..).exclude(..).watch(roots)`.
pub struct TreeBuilder {
    mask: WatchMask,
    exclude: Option<ExcludeFn>,
    keep_going_at_watch_limit: bool,
}

impl TreeBuilder {
    /// The events to deliver (default: `WatchMask::ALL_EVENTS`). Flag bits are ignored:
    /// the tree sets its own.
    pub fn mask(mut self, mask: WatchMask) -> TreeBuilder {
        self.mask = mask;
        self
    }

    /// Keeps the directories for which `exclude(path, name)` is true out of the tree:
    /// no watch, no listing, nothing below them. Asked for every directory but the
    /// roots, with its full path and its name, when it is first seen and when it is
    /// renamed.
    pub fn exclude<F>(mut self, exclude: F) -> TreeBuilder
    where
        F: FnMut(&Path, &OsStr) -> bool + Send + 'static,
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

    /// Watches every directory below each of `roots`.
    ///
    /// # Errors
    /// A root that does not exist or is not a directory (the error names it), the watch
    /// limit (unless told to go on), or no inotify instance to be had.
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
            synthetic: VecDeque::new(),
            synthetic_names: Vec::new(),
            found: HashMap::new(),
            echoes: VecDeque::new(),
            events_read: 0,
            pending_moves: Vec::new(),
            applied_moves: Vec::new(),
            recrawl_due: false,
            unwatched: 0,
            stale: Vec::new(),
            replaced: Vec::new(),
            ended_roots: Vec::new(),
            proc_fd: super::crawl::proc_fd_works(),
            path: Vec::with_capacity(crate::sys::PATH_MAX),
            name: Vec::with_capacity(crate::sys::NAME_MAX + 1),
            scratch: Vec::new(),
            listing: std::vec![0u8; super::crawl::LISTING_LEN].into_boxed_slice(),
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
            .finish()
    }
}

impl TreeWatcher {
    /// Options: the mask, what to exclude, what to do at the watch limit.
    pub fn builder() -> TreeBuilder {
        TreeBuilder {
            mask: WatchMask::ALL_EVENTS,
            exclude: None,
            keep_going_at_watch_limit: false,
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

    /// How many directories are watched.
    pub fn watch_count(&self) -> usize {
        self.nodes.watched()
    }

    /// Every watch and the path its events are reported under. Allocates: for checks and
    /// diagnostics, not for a hot loop.
    pub fn watches(&mut self) -> Vec<(WatchDescriptor, PathBuf)> {
        let ids: Vec<NodeId> = self.nodes.ids().collect();
        let mut out = Vec::with_capacity(ids.len());
        let mut path = Vec::new();
        for id in ids {
            let wd = self.nodes.get(id).and_then(|node| node.wd());
            if let (Some(wd), Some(path)) = (wd, self.nodes.path(id, &mut path)) {
                out.push((wd, path.to_path_buf()));
            }
        }
        out
    }

    /// The watch of the directory at `path` (a root, or a path below one), from the
    /// tree's own map of names.
    pub fn wd_of<P: AsRef<Path>>(&self, path: P) -> Option<WatchDescriptor> {
        let path = path.as_ref();
        self.roots.iter().find_map(|&root| {
            let root_path = Path::new(OsStr::from_bytes(self.nodes.name(root)));
            let rest = path.strip_prefix(root_path).ok()?;
            let mut at = root;
            for component in rest.components() {
                at = self.nodes.child(at, component.as_os_str().as_bytes())?;
            }
            self.nodes.get(at)?.wd()
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
    /// or at the watch limit when the tree was not told to go on.
    pub fn next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        self.next_step(true)
    }

    /// The next event already queued, without blocking; `None` means nothing more now.
    /// For a loop driven by readiness: tokio's `AsyncFd` or mio on this tree's
    /// descriptor; drain with this until `None`, then wait for readiness again.
    ///
    /// # Errors
    /// As for [`next_event`](Self::next_event).
    pub fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        self.next_step(false)
    }

    fn next_step(&mut self, block: bool) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        for root in self.ended_roots.drain(..) {
            self.nodes.remove_subtree(root, true, |_, _| {});
        }
        loop {
            if self.recrawl_due {
                self.recrawl_due = false;
                self.recrawl()?;
            }
            if let Some(made) = self.synthetic.pop_front() {
                let node = match self.nodes.get(made.dir) {
                    Some(node) => *node,
                    None => continue, // its directory went since
                };
                self.nodes.path_into(made.dir, &mut self.path);
                let name = self
                    .synthetic_names
                    .get(made.name_at..made.name_at + made.name_len)
                    .filter(|name| !name.is_empty());
                let parts = push_name(&mut self.path, name);
                let wd = node.wd().unwrap_or(WatchDescriptor::OVERFLOW);
                let event = RawEvent::made(wd, made.mask, made.cookie, made.name_len);
                if self.synthetic.is_empty() {
                    self.synthetic_names.clear();
                }
                return Ok(Some(event_ref(&event, &self.path, parts, made.origin)));
            }
            if self.roots.is_empty() {
                return Err(WatchError::Ended);
            }
            let event = match self.reader.next(block)? {
                Step::Event(event) => event,
                Step::BatchEnd => return Ok(None),
                Step::TimedOut | Step::Empty => {
                    // Nothing more came: a pending move's other half is not coming, and
                    // a directory that stepped aside for another has no event left to
                    // say where it went: both left the tree.
                    self.settle_moves(None)?;
                    for id in core::mem::take(&mut self.replaced) {
                        self.settle_replaced(id);
                    }
                    self.echoes.clear();
                    return Ok(None);
                }
            };
            if self.reader.take_fresh_batch() {
                self.settle_moves(Some(&event))?;
            }
            self.events_read += 1;
            while self
                .echoes
                .front()
                .map_or(false, |(_, _, until)| *until < self.events_read)
            {
                self.echoes.pop_front();
            }
            if let Some(dir) = self.follow(&event)? {
                if dir == NO_NODE {
                    self.path.clear();
                } else {
                    self.nodes.path_into(dir, &mut self.path);
                }
                let parts = push_name(&mut self.path, self.reader.name(&event));
                return Ok(Some(event_ref(&event, &self.path, parts, Origin::Kernel)));
            }
        }
    }

    /// Keeps the tree in step with one kernel event. Returns the directory to report it
    /// in ([`NO_NODE`] for a queue overflow), or `None` to drop it.
    fn follow(&mut self, event: &RawEvent) -> Result<Option<NodeId>, WatchError> {
        if event.mask.contains(EventMask::Q_OVERFLOW) {
            self.pending_moves.clear();
            self.applied_moves.clear();
            self.recrawl_due = true;
            return Ok(Some(NO_NODE));
        }
        let dir = match self.nodes.by_wd(event.wd) {
            Some(dir) => dir,
            None => return Ok(None), // a watch the tree has let go of
        };
        let mut name = core::mem::take(&mut self.name);
        name.clear();
        let followed = match self.reader.name(event) {
            Some(bytes) => {
                name.extend_from_slice(bytes);
                self.follow_entry(dir, &name, event)
            }
            None => Ok(self.follow_self(dir, event.mask)),
        };
        self.name = name;
        followed
    }

    /// An event about the watched directory itself.
    fn follow_self(&mut self, dir: NodeId, mask: EventMask) -> Option<NodeId> {
        let is_root = self.nodes.get(dir).map_or(false, |node| node.is_root());
        if mask.contains(EventMask::IGNORED) {
            if is_root {
                // Deleted, unmounted, or let go of after a move: the root ends here.
                self.roots.retain(|&root| root != dir);
                self.forget_below(dir);
                self.nodes.clear_wd(dir);
                self.ended_roots.push(dir);
                return Some(dir);
            }
            self.forget_subtree(dir);
            return None;
        }
        if mask.contains(EventMask::UNMOUNT) {
            return Some(dir);
        }
        if self.nodes.has_flag(dir, FLAG_LISTING) && mask.contains(EventMask::CLOSE_NOWRITE) {
            // The end of the tree's own listing. An entry can be listed a moment before
            // the kernel queues its creation: what was found stays a duplicate for a
            // while yet, unless it is deleted or moved first.
            self.nodes.set_flag(dir, FLAG_LISTING, false);
            if let Some(found) = self.found.remove(&dir).filter(|found| !found.is_empty()) {
                self.echoes
                    .push_back((dir, found, self.events_read + ECHO_WINDOW));
            }
            return None;
        }
        if !is_root && mask.intersects(REPORTED_BY_PARENT) {
            return None;
        }
        if let Some(at) = self.pending_move_above(dir) {
            if self.wants(mask) {
                let wd = self.nodes.get(dir).and_then(|node| node.wd());
                self.pending_moves[at].held.push(Held {
                    wd: wd.unwrap_or(WatchDescriptor::OVERFLOW),
                    dir,
                    name: Vec::new(),
                    mask,
                    cookie: 0,
                });
            }
            return None;
        }
        if is_root && mask.contains(EventMask::MOVE_SELF) {
            // Moved away: its paths mean nothing now. The kernel's IN_IGNORED for the
            // removed watch ends the root.
            self.forget_below(dir);
            if let Some(wd) = self.nodes.get(dir).and_then(|node| node.wd()) {
                let _ = self.reader.inotify().rm_watch(wd);
            }
        }
        self.wants(mask).then_some(dir)
    }

    /// An event about the entry `name` of the watched directory `dir`.
    fn follow_entry(
        &mut self,
        dir: NodeId,
        name: &[u8],
        event: &RawEvent,
    ) -> Result<Option<NodeId>, WatchError> {
        let mask = event.mask;
        let is_dir = mask.contains(EventMask::ISDIR);
        if let Some(at) = self.pending_move_above(dir) {
            // Moved, to a place not known yet: hold the event until the move is placed,
            // and rescan what changed below it then.
            let wanted = self.wants(mask);
            let pending = &mut self.pending_moves[at];
            pending.dirty |= is_dir;
            // Followed once placed: wanted, or what the tree must follow.
            let followed = is_dir
                && mask.intersects(
                    EventMask::CREATE
                        | EventMask::MOVED_FROM
                        | EventMask::MOVED_TO
                        | EventMask::DELETE,
                );
            if wanted || followed {
                pending.held.push(Held {
                    wd: event.wd,
                    dir,
                    name: name.to_vec(),
                    mask,
                    cookie: event.cookie,
                });
            }
            return Ok(None);
        }
        let child = self.nodes.child(dir, name);
        if is_dir
            && EventMask::from(LISTING_NOISE).intersects(mask)
            && child.map_or(false, |child| self.nodes.has_flag(child, FLAG_LISTING))
        {
            return Ok(None); // the tree's own listing of that directory
        }
        // What the listing found is reported once: the first kernel report of it before
        // the listing's end is the duplicate; a name made again after is not.
        let duplicate = self.duplicate_of_found(dir, name, mask);
        if is_dir {
            if mask.contains(EventMask::CREATE) {
                if !duplicate {
                    self.scan_new(dir, name)?;
                }
            } else if mask.contains(EventMask::MOVED_FROM) {
                // The directory that had the name: the node there, unless another
                // directory has taken the name since and that node stepped aside.
                let moved = match child {
                    Some(child) if self.still_there(child) => self.replaced_by(dir, name),
                    other => other,
                };
                if let Some(moved) = moved {
                    self.moved_from(moved, event.cookie)?;
                }
            } else if mask.contains(EventMask::MOVED_TO) {
                self.moved_to(dir, name, event.cookie, duplicate)?;
            } else if mask.contains(EventMask::DELETE) {
                // A deleted directory's own watch reported its end (IN_IGNORED) before
                // this: a node still watched here is another directory, which took the
                // name since.
                if let Some(child) =
                    child.filter(|&c| self.nodes.get(c).map_or(false, |n| n.wd().is_none()))
                {
                    self.forget_subtree(child);
                }
            }
        }
        Ok((!duplicate && self.wants(mask)).then_some(dir))
    }

    /// With no event left to read: a node that stepped aside for another directory
    /// either is at its path again (then it takes its name back from the other node) or
    /// left the tree.
    fn settle_replaced(&mut self, id: NodeId) {
        let (parent, name) = match self.nodes.get(id) {
            Some(node) => (node.parent, self.nodes.name(id).to_vec()),
            None => return,
        };
        if self.current_stat(id).is_none() {
            self.forget_subtree(id);
            return;
        }
        self.reclaim_name(id, parent, &name);
    }

    /// `id`, detached, is at its path after all: it takes its name back from any other
    /// node there.
    fn reclaim_name(&mut self, id: NodeId, parent: NodeId, name: &[u8]) {
        if let Some(other) = self.nodes.child(parent, name).filter(|&other| other != id) {
            self.forget_subtree(other);
        }
        self.nodes.rename(id, parent, name);
    }

    /// The node that stepped aside for another directory taking `name` in `dir`.
    fn replaced_by(&mut self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        let nodes = &self.nodes;
        self.replaced.retain(|&id| nodes.get(id).is_some());
        let at = self.replaced.iter().position(|&id| {
            self.nodes.get(id).map_or(false, |node| node.parent == dir)
                && self.nodes.name(id) == name
        })?;
        Some(self.replaced.swap_remove(at))
    }

    /// Whether a kernel event about `name` in `dir` repeats what a listing found: its
    /// first `IN_CREATE` or `IN_MOVED_TO` does, during the listing or for a while after;
    /// a deletion or a move away first means a later one is new.
    fn duplicate_of_found(&mut self, dir: NodeId, name: &[u8], mask: EventMask) -> bool {
        let echoes = self.echoes.iter_mut().filter(|(at, _, _)| *at == dir);
        let sets = self
            .found
            .get_mut(&dir)
            .into_iter()
            .chain(echoes.map(|(_, set, _)| set));
        let mut found = false;
        for set in sets {
            found |= set.remove(name);
        }
        found && mask.intersects(EventMask::CREATE | EventMask::MOVED_TO)
    }

    /// Whether the directory `id` stands for is still at its path: then a rename away
    /// from that name was of another directory, which had taken the name for a while.
    fn still_there(&mut self, id: NodeId) -> bool {
        let ino = match self.nodes.get(id) {
            Some(node) => node.ino(),
            None => return false,
        };
        let mut path = core::mem::take(&mut self.scratch);
        let complete = self.nodes.path_into(id, &mut path);
        let there =
            complete && crate::dir::stat_path(&path, false).map_or(false, |stat| stat.ino == ino);
        self.scratch = path;
        there
    }

    /// `child` was renamed away. If its `IN_MOVED_TO` is in the same read, the move is
    /// applied now, so the events after it have the new path; otherwise it waits.
    fn moved_from(&mut self, child: NodeId, cookie: u32) -> Result<(), WatchError> {
        let to = self.reader.rest_of_batch().find_map(|event| match event {
            Ok(event) if event.cookie() == cookie && event.mask().contains(EventMask::MOVED_TO) => {
                Some((event.wd(), event.name().map(<[u8]>::to_vec)))
            }
            _ => None,
        });
        match to {
            Some((wd, Some(to_name))) => {
                self.applied_moves.push(cookie);
                match self.nodes.by_wd(wd) {
                    Some(to_dir) => self.apply_move(child, to_dir, &to_name)?,
                    None => self.forget_subtree(child),
                }
            }
            _ => {
                // Its name is free from now on: another directory may take it.
                self.nodes.detach(child);
                self.pending_moves.push(PendingMove {
                    cookie,
                    node: child,
                    dirty: false,
                    reads: 0,
                    held: Vec::new(),
                });
            }
        }
        Ok(())
    }

    /// A directory was renamed to `name` in `dir`: from inside the tree (its
    /// `IN_MOVED_FROM` came first) or from outside (it is new to the tree).
    fn moved_to(
        &mut self,
        dir: NodeId,
        name: &[u8],
        cookie: u32,
        duplicate: bool,
    ) -> Result<(), WatchError> {
        if let Some(at) = self.applied_moves.iter().position(|&c| c == cookie) {
            self.applied_moves.swap_remove(at);
            return Ok(());
        }
        if let Some(at) = self.pending_moves.iter().position(|m| m.cookie == cookie) {
            let pending = self.pending_moves.swap_remove(at);
            return self.place_pending(pending, dir, name);
        }
        if !duplicate {
            self.scan_new(dir, name)?;
        }
        Ok(())
    }

    /// Applies a pending move, and rescans what changed below it meanwhile.
    fn place_pending(
        &mut self,
        pending: PendingMove,
        dir: NodeId,
        name: &[u8],
    ) -> Result<(), WatchError> {
        self.apply_move(pending.node, dir, name)?;
        self.catch_up(pending)
    }

    /// A pending move is placed: its held events are followed, and what changed below
    /// it meanwhile is rescanned.
    fn catch_up(&mut self, pending: PendingMove) -> Result<(), WatchError> {
        for held in pending.held {
            self.replay(held)?;
        }
        let node = pending.node;
        if pending.dirty && self.nodes.get(node).is_some() {
            let below: Vec<NodeId> = self
                .nodes
                .ids()
                .filter(|&id| id == node || self.nodes.is_below(id, node))
                .collect();
            self.rescan(below, false)?;
        }
        Ok(())
    }

    /// Moves `node` to be `name` in `dir`, in O(1); a directory it replaced goes, and
    /// an excluded new name takes it out of the tree.
    fn apply_move(&mut self, node: NodeId, dir: NodeId, name: &[u8]) -> Result<(), WatchError> {
        if self.nodes.get(node).is_none() {
            return Ok(());
        }
        if let Some(replaced) = self.nodes.child(dir, name) {
            if replaced != node {
                self.forget_subtree(replaced);
            }
        }
        if self.is_excluded(dir, name) {
            self.forget_subtree(node);
            return Ok(());
        }
        // The name may have been taken by the object the node stood for, or by another
        // (a directory renamed away as another took its old name): tell them apart by
        // the inode at the new name. Gone again: a later move took it on; trust the
        // cookie, and the events of that move.
        let mut path = core::mem::take(&mut self.scratch);
        self.nodes.path_into(dir, &mut path);
        push_name(&mut path, Some(name));
        let now = crate::dir::stat_path(&path, false);
        self.scratch = path;
        let ino = self.nodes.get(node).map_or(0, |node| node.ino());
        match now {
            Ok(stat) if stat.ino != ino => self.scan_new(dir, name),
            _ => {
                self.nodes.rename(node, dir, name);
                self.rescan_stale_below(node)
            }
        }
    }

    /// Scans again the directories at or below `top` that a rename had put out of date.
    pub(super) fn rescan_stale_below(&mut self, top: NodeId) -> Result<(), WatchError> {
        if self.stale.is_empty() {
            return Ok(());
        }
        let nodes = &self.nodes;
        let (placed, waiting): (Vec<NodeId>, Vec<NodeId>) = self
            .stale
            .iter()
            .filter(|&&id| nodes.get(id).is_some())
            .partition(|&&id| id == top || nodes.is_below(id, top));
        self.stale = waiting;
        if placed.is_empty() {
            return Ok(());
        }
        self.rescan(placed, false)
    }

    /// Places or forgets the directories renamed away at the end of the last read. The
    /// kernel queues the two halves of a rename together, so the `IN_MOVED_TO` is in the
    /// read that follows (`first` and the rest of its batch) or nowhere: then the
    /// directory left the tree. The move is applied before the new read's events, so
    /// they have the new path.
    fn settle_moves(&mut self, first: Option<&RawEvent>) -> Result<(), WatchError> {
        if self.pending_moves.is_empty() {
            return Ok(());
        }
        for mut pending in core::mem::take(&mut self.pending_moves) {
            let is_pair = |wd, mask: EventMask, cookie| {
                mask.contains(EventMask::MOVED_TO)
                    && cookie == pending.cookie
                    && wd != WatchDescriptor::OVERFLOW
            };
            let to = match first {
                Some(event) if is_pair(event.wd, event.mask, event.cookie) => self
                    .reader
                    .name(event)
                    .map(|name| (event.wd, name.to_vec())),
                Some(_) => self.reader.rest_of_batch().find_map(|event| match event {
                    Ok(event) if is_pair(event.wd(), event.mask(), event.cookie()) => {
                        event.name().map(|name| (event.wd(), name.to_vec()))
                    }
                    _ => None,
                }),
                None => None,
            };
            match to.and_then(|(wd, name)| Some((self.nodes.by_wd(wd)?, name))) {
                Some((dir, name)) => {
                    self.applied_moves.push(pending.cookie);
                    self.place_pending(pending, dir, &name)?;
                }
                // A rename's halves are queued together, but the renaming thread can be
                // preempted between them: one more read of grace.
                None if first.is_some() && pending.reads == 0 => {
                    pending.reads += 1;
                    self.pending_moves.push(pending);
                }
                None => self.left_tree(pending)?,
            }
        }
        Ok(())
    }

    /// `node` turned up at a new place (renamed while its events were in flight): if its
    /// move was pending, that move is placed now; if it had stepped aside for another
    /// directory, it is placed too.
    pub(super) fn found_elsewhere(&mut self, node: NodeId) -> Result<(), WatchError> {
        self.replaced.retain(|&id| id != node);
        let at = match self
            .pending_moves
            .iter()
            .position(|pending| pending.node == node)
        {
            Some(at) => at,
            None => return Ok(()),
        };
        let pending = self.pending_moves.swap_remove(at);
        self.applied_moves.push(pending.cookie);
        self.catch_up(pending)
    }

    /// Follows a held event now that its directory is placed, and queues it for
    /// delivery (with its directory's path at delivery) if it is to be delivered.
    fn replay(&mut self, held: Held) -> Result<(), WatchError> {
        if self.nodes.get(held.dir).is_none() {
            return Ok(());
        }
        let event = RawEvent::made(held.wd, held.mask, held.cookie, held.name.len());
        let deliver = if held.name.is_empty() {
            self.follow_self(held.dir, held.mask)
        } else {
            self.follow_entry(held.dir, &held.name, &event)?
        };
        if deliver.is_some() {
            self.push_held(held);
        }
        Ok(())
    }

    /// Queues a held event, to be delivered with its directory's path at delivery.
    fn push_held(&mut self, held: Held) {
        let name_at = self.synthetic_names.len();
        self.synthetic_names.extend_from_slice(&held.name);
        self.synthetic.push_back(Synthetic {
            dir: held.dir,
            name_at,
            name_len: held.name.len(),
            mask: held.mask,
            cookie: held.cookie,
            origin: Origin::Kernel,
        });
    }

    /// A pending move's other half did not come: the directory left the tree, unless it
    /// is still at its path (the rename was of another directory that had its name for a
    /// while, its path out of date when the rename was read): then it stays.
    fn left_tree(&mut self, pending: PendingMove) -> Result<(), WatchError> {
        let node = pending.node;
        if self.current_stat(node).is_none() {
            self.forget_subtree(node);
            return Ok(());
        }
        let (parent, name) = match self.nodes.get(node) {
            Some(n) => (n.parent, self.nodes.name(node).to_vec()),
            None => return Ok(()),
        };
        self.reclaim_name(node, parent, &name);
        self.catch_up(pending)
    }

    /// The pending move of `dir` or of a directory above it.
    fn pending_move_above(&self, dir: NodeId) -> Option<usize> {
        if self.pending_moves.is_empty() {
            return None;
        }
        self.pending_moves
            .iter()
            .position(|pending| pending.node == dir || self.nodes.is_below(dir, pending.node))
    }

    /// Whether the caller asked for an event with these bits.
    fn wants(&self, mask: EventMask) -> bool {
        mask.intersects(EventMask::from(self.mask))
    }

    /// Removes `id` and everything below it from the tree, with their kernel watches.
    pub(super) fn forget_subtree(&mut self, id: NodeId) {
        self.forget(id, true);
    }

    /// Removes everything below `id`, keeping `id`.
    pub(super) fn forget_below(&mut self, id: NodeId) {
        self.forget(id, false);
    }

    fn forget(&mut self, id: NodeId, with_top: bool) {
        let inotify = self.reader.inotify();
        let found = &mut self.found;
        let echoes = &mut self.echoes;
        self.nodes.remove_subtree(id, with_top, |gone, wd| {
            found.remove(&gone);
            echoes.retain(|(dir, _, _)| *dir != gone);
            if let Some(wd) = wd {
                // EINVAL: the kernel dropped it already.
                let _ = inotify.rm_watch(wd);
            }
        });
        let nodes = &self.nodes;
        self.pending_moves
            .retain(|pending| nodes.get(pending.node).is_some());
    }

    /// Whether the caller's predicate keeps `name` in `dir` out of the tree.
    pub(super) fn is_excluded(&mut self, dir: NodeId, name: &[u8]) -> bool {
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
