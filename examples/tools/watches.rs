//! What the tools watch, as inotify-tools watches it: a watch per path given; with `-r`
//! (or `-S`), a tree for each directory given and a plain watch for each file given
//! (inotify-tools watches a file given with `-r` as if `-r` had not been given). One loop
//! reads both.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use inotify_raw::{
    Epoll, EpollEvent, Errno, EventMask, FsWatcher, OnInterrupt, Origin, Readiness, TreeWatcher,
    WatchError, WatchEventRef, WatchMask, Watcher,
};

use super::{dir_name, errno_of, strerror, watch_limit_lines, watch_name};

/// A watch, in whichever of the two watchers holds it (their descriptors are numbered
/// apart). Ordered as the tools list rows with equal counts: plain watches first, then
/// the tree's, each by descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatchKey {
    in_tree: bool,
    wd: i32,
}

/// One event, as the tools print and count it.
#[derive(Clone, Debug, Default)]
pub struct ToolEvent {
    pub watch: WatchKey,
    pub mask: u32,
    pub cookie: u32,
    /// `%w`: the watch's name (for a tree, the directory, with a trailing `/`).
    pub w: Vec<u8>,
    /// `%f`: the entry's name, or empty.
    pub f: Vec<u8>,
}

/// What the tree says besides events.
#[derive(Debug)]
pub enum Notice {
    /// A directory it could not watch or list; the rest is watched.
    Skipped { path: PathBuf, errno: Errno },
    /// The watch limit: `unwatched` directories below `path` are not watched.
    WatchLimit { path: PathBuf, unwatched: u64 },
}

impl Notice {
    /// The lines the tools print for it, while setting up (`setup`) or later.
    pub fn lines(&self, setup: bool) -> Vec<String> {
        match self {
            Notice::Skipped { path, errno } => {
                vec![format!(
                    "Couldn't watch {}: {}",
                    path.display(),
                    strerror(*errno)
                )]
            }
            Notice::WatchLimit { path, unwatched } => {
                let what = if setup {
                    path.display().to_string()
                } else {
                    format!("new directories below {}", path.display())
                };
                watch_limit_lines(&what, Some(*unwatched))
            }
        }
    }
}

/// What [`Watches::next`] found.
pub enum Next {
    /// An event, written into the caller's [`ToolEvent`].
    Event,
    /// The wait ended with no event (its time passed, or a signal came).
    Cycle,
    Notice(Notice),
}

/// The watcher of the trees: inotify's (`-r`) or fanotify's (`-S`, `-F -r`). They take
/// the same roots and give the same events.
pub enum TreeSource {
    Inotify(TreeWatcher),
    Fanotify(FsWatcher),
}

impl TreeSource {
    fn add_root(&mut self, path: &OsStr) -> io::Result<()> {
        match self {
            TreeSource::Inotify(tree) => tree.add_root(path),
            TreeSource::Fanotify(fs) => fs.add_root(path),
        }
    }

    fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        match self {
            TreeSource::Inotify(tree) => tree.try_next_event(),
            TreeSource::Fanotify(fs) => fs.try_next_event(),
        }
    }

    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            TreeSource::Inotify(tree) => tree.as_fd(),
            TreeSource::Fanotify(fs) => fs.as_fd(),
        }
    }

    /// The inotify tree, which has watches to count and list.
    fn inotify(&mut self) -> Option<&mut TreeWatcher> {
        match self {
            TreeSource::Inotify(tree) => Some(tree),
            TreeSource::Fanotify(_) => None,
        }
    }
}

/// The tree of `-r` and what goes with it.
struct Tree {
    watcher: TreeSource,
    echoes: ScanEchoes,
    /// No root is left: nothing more can come from it.
    ended: bool,
    /// With `-e oneshot`, the watches that have had their one event. The kernel ends a
    /// plain watch after it; the tree's watches follow the tree, so it is done here.
    fired: Option<HashSet<Fired>>,
}

/// What `-e oneshot` allows one event: a watch of an inotify tree, or a directory of a
/// fanotify tree, which has no watches.
#[derive(PartialEq, Eq, Hash)]
enum Fired {
    Watch(i32),
    Dir(PathBuf),
}

/// The watches of one run of a tool.
pub struct Watches {
    plain: Watcher,
    /// `%w` of each plain watch: the first path given for it.
    names: HashMap<i32, Vec<u8>>,
    tree: Option<Tree>,
    /// Ready when either watcher has events.
    epoll: Epoll,
    /// An event the setup read before the loop started.
    pending: Option<ToolEvent>,
    /// Readable once a signal handler has asked the loop to look at its flags.
    wakeup: Option<UnixStream>,
}

/// The epoll tokens of the two watchers and of the signal wake-up.
const PLAIN: u64 = 0;
const TREE: u64 = 1;
const WAKEUP: u64 = 2;

impl Watches {
    /// Watches with `plain` and, for `-r`, `tree` (made with no root: see
    /// [`add`](Self::add)); with `oneshot`, each of the tree's watches reports one event.
    ///
    /// # Errors
    /// From `epoll_create1` or `epoll_ctl`.
    pub fn new(plain: Watcher, tree: Option<TreeSource>, oneshot: bool) -> io::Result<Watches> {
        let epoll = Epoll::new()?;
        epoll.add(&plain.as_fd(), Readiness::IN, PLAIN)?;
        if let Some(tree) = &tree {
            epoll.add(&tree.as_fd(), Readiness::IN, TREE)?;
        }
        Ok(Watches {
            plain,
            names: HashMap::new(),
            tree: tree.map(|watcher| Tree {
                watcher,
                echoes: ScanEchoes::default(),
                ended: false,
                fired: oneshot.then(HashSet::new),
            }),
            epoll,
            pending: None,
            wakeup: None,
        })
    }

    /// Ends a blocked [`next`](Self::next) with [`Next::Cycle`] whenever a signal
    /// handler calls [`wake_from_signal`](super::wake_from_signal), so a flag the
    /// handler sets is seen even when the signal came just before the wait began.
    ///
    /// # Errors
    /// From `socketpair` or `epoll_ctl`.
    pub fn wake_on_signals(&mut self) -> io::Result<()> {
        let reader = super::signal_wakeup()?;
        self.epoll.add(&reader.as_fd(), Readiness::IN, WAKEUP)?;
        self.wakeup = Some(reader);
        Ok(())
    }

    /// Watches `path`: with a tree, as a root of it if it is a directory, else (a
    /// file, or a link to one) with `mask`, as inotify-tools does; without, with `mask`.
    /// A directory inside a root given before is watched already.
    ///
    /// # Errors
    /// As the watch or the root failed (the errno tells which: `ENOENT`, `ENOSPC` ...).
    pub fn add(&mut self, path: &[u8], mask: u32) -> io::Result<()> {
        let os = OsStr::from_bytes(path);
        if let Some(tree) = self.tree.as_mut() {
            match tree.watcher.add_root(os) {
                Ok(()) => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
                Err(error) if errno_of(&error) != Some(Errno::ENOTDIR) => return Err(error),
                Err(_) => {} // a file: watched on its own below
            }
        }
        let wd = self
            .plain
            .add_watch(os, WatchMask::from_bits_retain(mask))?;
        self.names
            .entry(wd.raw())
            .or_insert_with(|| watch_name(path));
        Ok(())
    }

    /// How many inotify watches there are.
    pub fn count(&mut self) -> usize {
        self.names.len()
            + self
                .tree
                .as_mut()
                .and_then(|tree| tree.watcher.inotify())
                .map_or(0, |tree| tree.watch_count())
    }

    /// Every inotify watch and its name (`%w`).
    pub fn list(&mut self) -> Vec<(WatchKey, Vec<u8>)> {
        let mut list: Vec<(WatchKey, Vec<u8>)> = self
            .names
            .iter()
            .map(|(&wd, name)| (WatchKey { in_tree: false, wd }, name.clone()))
            .collect();
        if let Some(tree) = self.tree.as_mut().and_then(|tree| tree.watcher.inotify()) {
            list.extend(tree.watches().into_iter().map(|(wd, path)| {
                let key = WatchKey {
                    in_tree: true,
                    wd: wd.raw(),
                };
                (key, dir_name(&path))
            }));
        }
        list
    }

    /// What the tree's setup left to say (directories it could not watch, the watch
    /// limit), read from what is queued now. The first event it comes to is kept for
    /// [`next`](Self::next).
    ///
    /// # Errors
    /// As [`TreeWatcher::try_next_event`] fails.
    pub fn setup_notices(&mut self) -> Result<Vec<Notice>, WatchError> {
        let mut notices = Vec::new();
        let mut event = ToolEvent::default();
        while self.pending.is_none() {
            match self.next_from_tree(&mut event)? {
                Some(Next::Event) => self.pending = Some(event.clone()),
                Some(Next::Notice(notice)) => notices.push(notice),
                Some(Next::Cycle) | None => break,
            }
        }
        Ok(notices)
    }

    /// The next event (into `event`) or notice, waiting at most `block` for one (`None`:
    /// until one comes).
    ///
    /// # Errors
    /// As reading fails.
    pub fn next(
        &mut self,
        block: Option<Duration>,
        event: &mut ToolEvent,
    ) -> Result<Next, WatchError> {
        if let Some(pending) = self.pending.take() {
            *event = pending;
            return Ok(Next::Event);
        }
        loop {
            if self.next_from_plain(event)? {
                return Ok(Next::Event);
            }
            if let Some(next) = self.next_from_tree(event)? {
                return Ok(next);
            }
            let mut ready = [EpollEvent::default(); 3];
            match self.epoll.wait(&mut ready, block, OnInterrupt::Return) {
                Ok(0) => return Ok(Next::Cycle),
                Ok(n) if ready[..n].iter().any(|got| got.token() == WAKEUP) => {
                    if let Some(reader) = &mut self.wakeup {
                        let mut drained = [0u8; 64];
                        while matches!(reader.read(&mut drained), Ok(n) if n > 0) {}
                    }
                    return Ok(Next::Cycle);
                }
                Ok(_) => {}
                Err(error) if error.is_interrupted() => return Ok(Next::Cycle),
                Err(error) => return Err(WatchError::Io(error.into())),
            }
        }
    }

    /// The plain watcher's next queued event, into `event`; false when none is queued.
    fn next_from_plain(&mut self, event: &mut ToolEvent) -> Result<bool, WatchError> {
        let got = match self.plain.try_next_event()? {
            Some(got) => got,
            None => return Ok(false),
        };
        let w = self
            .names
            .get(&got.wd.raw())
            .map_or(&[][..], |name| &name[..]);
        fill(
            event,
            WatchKey {
                in_tree: false,
                wd: got.wd.raw(),
            },
            got.mask.bits(),
            got.cookie,
            w,
            got.name,
        );
        Ok(true)
    }

    /// The tree's next queued event (into `event`) or notice; `None` when none is
    /// queued (or there is no tree).
    fn next_from_tree(&mut self, event: &mut ToolEvent) -> Result<Option<Next>, WatchError> {
        let tree = match self.tree.as_mut() {
            Some(tree) if !tree.ended => tree,
            _ => return Ok(None),
        };
        let fires_per_dir = tree.watcher.inotify().is_none();
        loop {
            let got = match tree.watcher.try_next_event() {
                Ok(Some(got)) => got,
                Ok(None) => return Ok(None),
                Err(WatchError::Ended) => {
                    // Every root is gone, as all of inotifywait's watches can be: it
                    // waits on, for the timeout or forever. Nothing is read from the
                    // tree any more, so its readiness must not end a wait.
                    tree.ended = true;
                    self.epoll
                        .delete(&tree.watcher.as_fd())
                        .map_err(|error| WatchError::Io(error.into()))?;
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
            let notice = match got.origin {
                Origin::Skipped(errno) => Notice::Skipped {
                    path: got.path.to_path_buf(),
                    errno,
                },
                Origin::WatchLimit { unwatched } => Notice::WatchLimit {
                    path: got.path.to_path_buf(),
                    unwatched,
                },
                origin => {
                    let name = got.name.map(|name| name.as_bytes());
                    if tree.echoes.is_echo(got.wd.raw(), name, got.mask, origin) {
                        continue;
                    }
                    if let Some(fired) = tree.fired.as_mut() {
                        let key = if fires_per_dir {
                            Fired::Dir(got.watch_path.to_path_buf())
                        } else {
                            Fired::Watch(got.wd.raw())
                        };
                        if !fired.insert(key) {
                            continue;
                        }
                    }
                    let key = WatchKey {
                        in_tree: true,
                        wd: got.wd.raw(),
                    };
                    let w = dir_name(got.watch_path);
                    fill(event, key, got.mask.bits(), got.cookie, &w, got.name);
                    return Ok(Some(Next::Event));
                }
            };
            return Ok(Some(Next::Notice(notice)));
        }
    }
}

/// Writes an event's fields into `event`, reusing its buffers.
fn fill(
    event: &mut ToolEvent,
    watch: WatchKey,
    mask: u32,
    cookie: u32,
    w: &[u8],
    f: Option<&std::ffi::OsStr>,
) {
    event.watch = watch;
    event.mask = mask;
    event.cookie = cookie;
    event.w.clear();
    event.w.extend_from_slice(w);
    event.f.clear();
    if let Some(f) = f {
        event.f.extend_from_slice(f.as_bytes());
    }
}

/// Entries a tree's scan reported lately, to drop the kernel's own report of the same
/// entry when it comes after the scan's.
///
/// The tree watches a new directory, lists it, and reports what the listing finds; it
/// drops the kernel's `IN_CREATE` for those names when it comes before the listing ends.
/// But `mkdir(2)` makes the entry visible to a listing a moment before it queues its
/// event, so the event can come after the listing's end and be reported a second time
/// (seen under qemu). A kernel `IN_CREATE`/`IN_MOVED_TO` for a directory and name the
/// scan reported within the last `WINDOW` kernel events is taken for that duplicate; an
/// `IN_DELETE`/`IN_MOVED_FROM` of the name ends the watch for it.
#[derive(Default)]
pub struct ScanEchoes {
    /// (watch descriptor, name, the kernel event count after which it expires).
    recent: VecDeque<(i32, Vec<u8>, u64)>,
    kernel_events: u64,
}

impl ScanEchoes {
    const WINDOW: u64 = 256;

    /// Whether this event repeats what a scan reported (and is to be dropped).
    pub fn is_echo(
        &mut self,
        wd: i32,
        name: Option<&[u8]>,
        mask: EventMask,
        origin: Origin,
    ) -> bool {
        let name = match name {
            Some(name) => name,
            None => return false,
        };
        match origin {
            Origin::Scan => {
                self.recent
                    .push_back((wd, name.to_vec(), self.kernel_events + Self::WINDOW));
                false
            }
            Origin::Kernel => {
                self.kernel_events += 1;
                while self
                    .recent
                    .front()
                    .map_or(false, |&(_, _, until)| until < self.kernel_events)
                {
                    self.recent.pop_front();
                }
                if self.recent.is_empty() {
                    return false;
                }
                let at = self
                    .recent
                    .iter()
                    .position(|(w, n, _)| *w == wd && n.as_slice() == name);
                match at {
                    Some(at) if mask.intersects(EventMask::CREATE | EventMask::MOVED_TO) => {
                        self.recent.remove(at);
                        true
                    }
                    Some(at) if mask.intersects(EventMask::DELETE | EventMask::MOVED_FROM) => {
                        self.recent.remove(at);
                        false
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
}
