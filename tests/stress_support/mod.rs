//! The seeded stress test of a whole-tree watcher, shared by `tests/tree_stress.rs`
//! (`TreeWatcher`) and `tests/fs_stress.rs` (`FsWatcher`), and the random operations that
//! `tests/fs_differential.rs` runs through both.
//!
//! Threads race random operations (mkdir, mkdir -p, rmdir, rm -r, moves within, in and
//! out, directories renamed right after creation, file creations) against the reader.
//! The workers record the truth: each operation is made under one lock, so their order
//! is exact, and a model of the tree follows each one (what exists, every path that has
//! existed, where each uniquely named entry was made). The reader races them all. At
//! quiescence (a `sync`, then a drain) a round checks:
//! - what the watcher's own check says (the tree: its watches are the directories on
//!   disk);
//! - **no phantom path**: every path an event carries existed at some moment;
//! - **replay consistency**: the delivered events, applied in order to a model
//!   (creations, deletions, and moves that carry what lies below them), give the tree on
//!   disk, every directory and file;
//! - **paths as of the event**: the kernel's report of a creation is at the path where
//!   the entry was made.
//!
//! A failure names its seed and prints a trace: the operations and events about the
//! names involved (and about those in `{PREFIX}_TRACE_NAMES`, comma-separated); with
//! `{PREFIX}_LOG` set to a file name, every operation and event of a failed round is
//! written there. `{PREFIX}_SEEDS` (comma-separated) replays seeds;
//! `{PREFIX}_WORKERS` and `{PREFIX}_OPERATIONS` (per worker) size a round;
//! `{PREFIX}_READER_DELAY_US` slows the reader down by that much per event, so that it
//! falls behind the writers as under qemu-user.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inotify_raw::{
    EventMask, FsWatcher, Origin, TreeWatcher, WatchError, WatchEvent, WatchEventRef,
};

/// A small, seedable generator (xorshift64*): enough to replay a failing round.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A tree of names: each path below the root (relative), and whether it is a directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model(pub BTreeMap<PathBuf, bool>);

impl Model {
    fn add(&mut self, path: &Path, is_dir: bool) {
        self.0.insert(path.to_path_buf(), is_dir);
    }

    /// Takes `path` and everything below it out; returns them, relative to `path`.
    pub fn take(&mut self, path: &Path) -> Vec<(PathBuf, bool)> {
        let below: Vec<PathBuf> = self
            .0
            .range(path.to_path_buf()..)
            .take_while(|(p, _)| p.starts_with(path))
            .map(|(p, _)| p.clone())
            .collect();
        below
            .into_iter()
            .filter_map(|p| {
                let is_dir = self.0.remove(&p)?;
                Some((p.strip_prefix(path).unwrap().to_path_buf(), is_dir))
            })
            .collect()
    }

    /// Puts what `take` returned at `to` (replacing what was there).
    fn put(&mut self, to: &Path, entries: Vec<(PathBuf, bool)>) -> Vec<PathBuf> {
        self.take(to);
        let mut added = Vec::new();
        for (rest, is_dir) in entries {
            let path = if rest.as_os_str().is_empty() {
                to.to_path_buf()
            } else {
                to.join(rest)
            };
            self.0.insert(path.clone(), is_dir);
            added.push(path);
        }
        added
    }
}

/// What the workers did, one operation at a time.
#[derive(Default)]
pub struct Truth {
    /// The tree now.
    pub now: Model,
    /// Every path that has existed.
    ever: BTreeSet<PathBuf>,
    /// Where each entry with a unique name (a worker's `w..n..`) was made.
    made_at: HashMap<String, PathBuf>,
    /// What each directory moved in from outside held when it arrived, by its (unique)
    /// name, relative to it.
    arrived_with: HashMap<String, Vec<(PathBuf, bool)>>,
    /// The operations, in order.
    log: Vec<String>,
}

impl Truth {
    fn made(&mut self, path: &Path, is_dir: bool) {
        self.now.add(path, is_dir);
        self.ever.insert(path.to_path_buf());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains('n') && (name.starts_with('w') || name.starts_with("fw")) {
            self.made_at.insert(name, path.to_path_buf());
        }
        self.log.push(format!("make {}", path.display()));
    }

    fn removed(&mut self, path: &Path) {
        self.now.take(path);
        self.log.push(format!("remove {}", path.display()));
    }

    fn moved(&mut self, from: &Path, to: &Path) {
        let entries = self.now.take(from);
        for path in self.now.put(to, entries) {
            self.ever.insert(path);
        }
        self.log
            .push(format!("move {} {}", from.display(), to.display()));
    }

    fn moved_in(&mut self, to: &Path, entries: Vec<(PathBuf, bool)>) {
        let name = to.file_name().unwrap().to_string_lossy().into_owned();
        self.arrived_with.insert(name, entries.clone());
        for path in self.now.put(to, entries) {
            self.ever.insert(path);
        }
        self.log.push(format!("move in {}", to.display()));
    }
}

/// The workers' shared state: the truth, and the directories and files they pick from
/// (some may be gone: every operation tolerates that). Its lock makes one operation at a
/// time.
pub struct World {
    root: PathBuf,
    outside: PathBuf,
    pub truth: Truth,
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
    /// Whether operations also write to files and change attributes (they leave the
    /// tree's shape alone).
    pub content: bool,
}

impl World {
    /// Six directories `pre0`..`pre5` below `root`, each with `sub/file`, and a world of
    /// operations in `root` (and across its edge with `outside`, on the same file
    /// system).
    pub fn populate(root: &Path, outside: &Path) -> World {
        let mut world = World {
            root: root.to_path_buf(),
            outside: outside.to_path_buf(),
            truth: Truth::default(),
            dirs: vec![root.to_path_buf()],
            files: Vec::new(),
            content: false,
        };
        for i in 0..6 {
            let pre = PathBuf::from(format!("pre{}", i));
            fs::create_dir_all(root.join(&pre).join("sub")).unwrap();
            let file = root.join(&pre).join("sub/file");
            fs::File::create(&file).unwrap();
            world.truth.made(&pre, true);
            world.truth.made(&pre.join("sub"), true);
            world.truth.made(&pre.join("sub/file"), false);
            world.dirs.push(root.join(pre));
            world.files.push(file);
        }
        world
    }

    fn pick(&self, rng: &mut Rng) -> PathBuf {
        self.dirs[rng.below(self.dirs.len())].clone()
    }

    fn known(&mut self, dir: PathBuf) {
        if self.dirs.len() < 400 {
            self.dirs.push(dir);
        }
    }

    fn known_file(&mut self, file: PathBuf) {
        if self.files.len() < 400 {
            self.files.push(file);
        }
    }

    fn rel<'p>(&self, path: &'p Path) -> &'p Path {
        path.strip_prefix(&self.root).unwrap()
    }

    /// The operations so far, one a line.
    pub fn log(&self) -> &[String] {
        &self.truth.log
    }

    /// One random operation inside the root (or across its edge with `outside`).
    pub fn operate(&mut self, rng: &mut Rng, worker: usize, n: usize) {
        let name = format!("w{}n{}", worker, n);
        let kinds = if self.content { 120 } else { 100 };
        match rng.below(kinds) {
            0..=19 => {
                let dir = self.pick(rng).join(&name);
                if fs::create_dir(&dir).is_ok() {
                    self.truth.made(self.rel(&dir), true);
                    self.known(dir);
                }
            }
            20..=27 => {
                // mkdir -p below a directory that exists (create_dir_all would make a
                // stale parent again).
                let top = self.pick(rng).join(&name);
                let deep = top.join("p").join("q");
                for dir in [&top, &top.join("p"), &deep] {
                    if fs::create_dir(dir).is_err() {
                        return;
                    }
                    self.truth.made(self.rel(dir), true);
                }
                let file = deep.join("in-deep");
                if fs::File::create(&file).is_ok() {
                    self.truth.made(self.rel(&file), false);
                    self.known_file(file);
                }
                self.known(deep);
            }
            28..=33 => {
                let dir = self.pick(rng);
                if dir != self.root && fs::remove_dir(&dir).is_ok() {
                    self.truth.removed(self.rel(&dir));
                }
            }
            34..=37 => {
                let dir = self.pick(rng);
                if dir != self.root && rng.below(3) == 0 && fs::remove_dir_all(&dir).is_ok() {
                    self.truth.removed(self.rel(&dir));
                }
            }
            38..=49 => {
                // Moved within: a directory to another place, new name.
                let from = self.pick(rng);
                let to = self.pick(rng).join(&name);
                if from != self.root && !to.starts_with(&from) && fs::rename(&from, &to).is_ok() {
                    self.truth.moved(self.rel(&from), self.rel(&to));
                    self.known(to);
                }
            }
            50..=54 => {
                let from = self.pick(rng);
                if from != self.root && fs::rename(&from, self.outside.join(&name)).is_ok() {
                    self.truth.removed(self.rel(&from));
                }
            }
            55..=61 => self.move_in(rng, &name),
            62..=69 => {
                // Renamed right after creation, and the old name taken again.
                let parent = self.pick(rng);
                let first = parent.join(&name);
                let second = parent.join(format!("{}-renamed", name));
                if fs::create_dir(&first).is_ok() {
                    self.truth.made(self.rel(&first), true);
                    if fs::rename(&first, &second).is_ok() {
                        self.truth.moved(self.rel(&first), self.rel(&second));
                        if fs::create_dir(&first).is_ok() {
                            self.truth.made(self.rel(&first), true);
                        }
                        if fs::File::create(second.join("f")).is_ok() {
                            self.truth.made(&self.rel(&second).join("f"), false);
                        }
                        self.known(second);
                    }
                }
            }
            70..=99 => {
                let file = self.pick(rng).join(format!("f{}", name));
                if fs::File::create(&file).is_ok() {
                    self.truth.made(self.rel(&file), false);
                    self.known_file(file);
                }
            }
            100..=109 => {
                let file = self.files[rng.below(self.files.len())].clone();
                let written = fs::OpenOptions::new()
                    .append(true)
                    .open(&file)
                    .and_then(|mut opened| std::io::Write::write_all(&mut opened, b"x"));
                if written.is_ok() {
                    self.truth.log.push(format!("write {}", file.display()));
                }
            }
            _ => {
                let path = if rng.below(2) == 0 {
                    self.files[rng.below(self.files.len())].clone()
                } else {
                    self.pick(rng)
                };
                let mode = 0o700 | rng.below(0o100) as u32;
                if fs::set_permissions(&path, fs::Permissions::from_mode(mode)).is_ok() {
                    self.truth.log.push(format!("chmod {}", path.display()));
                }
            }
        }
    }

    /// Made outside with something inside, renamed in, and written to at once.
    fn move_in(&mut self, rng: &mut Rng, name: &str) {
        let made = self.outside.join(format!("in-{}", name));
        if fs::create_dir_all(made.join("sub")).is_err() {
            return;
        }
        let _ = fs::File::create(made.join("sub/held"));
        let _ = fs::File::create(made.join("held"));
        let to = self.pick(rng).join(name);
        if fs::rename(&made, &to).is_err() {
            return;
        }
        let rel = self.rel(&to).to_path_buf();
        let entries = vec![
            (PathBuf::new(), true),
            (PathBuf::from("sub"), true),
            (PathBuf::from("sub/held"), false),
            (PathBuf::from("held"), false),
        ];
        self.truth.moved_in(&rel, entries);
        if fs::File::create(to.join("at-once")).is_ok() {
            self.truth.made(&rel.join("at-once"), false);
        }
        self.known(to);
    }
}

/// What a round reads from: `TreeWatcher` and `FsWatcher` have the same reads.
pub trait Stressed {
    fn next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError>;
    fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError>;
    fn sync(&mut self, timeout: Duration) -> Result<(), WatchError>;
}

impl Stressed for TreeWatcher {
    fn next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        TreeWatcher::next_event(self)
    }
    fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        TreeWatcher::try_next_event(self)
    }
    fn sync(&mut self, timeout: Duration) -> Result<(), WatchError> {
        TreeWatcher::sync(self, timeout)
    }
}

impl Stressed for FsWatcher {
    fn next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        FsWatcher::next_event(self)
    }
    fn try_next_event(&mut self) -> Result<Option<WatchEventRef<'_>>, WatchError> {
        FsWatcher::try_next_event(self)
    }
    fn sync(&mut self, timeout: Duration) -> Result<(), WatchError> {
        FsWatcher::sync(self, timeout)
    }
}

/// The tree the delivered events describe, applied in order.
#[derive(Default)]
pub struct Replay {
    pub model: Model,
    moves: HashMap<u32, Vec<(PathBuf, bool)>>,
    overflowed: bool,
}

impl Replay {
    /// A replay that starts from `model`.
    pub fn on(model: Model) -> Replay {
        Replay {
            model,
            ..Replay::default()
        }
    }

    /// Applies one event at `path` (relative to the root). `arrived_with`: what a
    /// directory moved in held, for a watcher that reports its arrival alone (a reader
    /// would list it); `None` where the watcher reports it, by scan events.
    pub fn take(
        &mut self,
        event: &WatchEvent,
        path: &Path,
        arrived_with: Option<&HashMap<String, Vec<(PathBuf, bool)>>>,
    ) {
        let mask = event.mask;
        let is_dir = mask.contains(EventMask::ISDIR);
        if mask.contains(EventMask::Q_OVERFLOW) {
            self.overflowed = true;
        } else if mask.contains(EventMask::MOVED_FROM) {
            let entries = self.model.take(path);
            self.moves.insert(event.cookie, entries);
        } else if mask.contains(EventMask::MOVED_TO) {
            match self.moves.remove(&event.cookie) {
                Some(entries) => {
                    self.model.put(path, entries);
                }
                None => {
                    let name = event.name.to_string_lossy();
                    let held = arrived_with.and_then(|arrived| arrived.get(name.as_ref()));
                    let entries = held
                        .cloned()
                        .unwrap_or_else(|| vec![(PathBuf::new(), is_dir)]);
                    self.model.put(path, entries);
                }
            }
        } else if mask.contains(EventMask::CREATE) {
            self.model.add(path, is_dir);
        } else if mask.contains(EventMask::DELETE) {
            self.model.take(path);
        }
    }
}

/// Every directory and file below `root`, relative to it.
pub fn disk_model(root: &Path) -> Model {
    let mut model = Model::default();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let is_dir = entry.file_type().map_or(false, |t| t.is_dir());
                model.add(entry.path().strip_prefix(root).unwrap(), is_dir);
                if is_dir {
                    stack.push(entry.path());
                }
            }
        }
    }
    model
}

/// How a test runs its rounds.
pub struct Settings {
    /// What the environment knobs start with: `TREE_STRESS` for `TREE_STRESS_SEEDS`, ...
    pub prefix: &'static str,
    /// Whether a directory moved in is reported by its `IN_MOVED_TO` alone (no scan
    /// events for what it holds): the replay then puts what it held there, as a reader
    /// that lists it would.
    pub arrival_alone: bool,
}

impl Settings {
    /// The value of the knob `{prefix}_{name}`.
    pub fn var(&self, name: &str) -> Option<String> {
        std::env::var(format!("{}_{}", self.prefix, name)).ok()
    }

    /// A number from the knob `{prefix}_{name}`, or `default`.
    pub fn number(&self, name: &str, default: usize) -> usize {
        self.var(name)
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(default)
    }

    /// The seeds of `{prefix}_SEEDS`, or `default`.
    pub fn seeds(&self, default: &[u64]) -> Vec<u64> {
        match self.var("SEEDS") {
            Some(list) => list
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect(),
            None => default.to_vec(),
        }
    }

    /// How to replay `seed`, for a failure's message.
    pub fn context(&self, seed: u64) -> String {
        format!("seed {} ({}_SEEDS={} to replay)", seed, self.prefix, seed)
    }
}

/// Writes every operation and event of the round to the file `{PREFIX}_LOG` names, if
/// it is set.
fn write_log(settings: &Settings, truth: &Truth, events: &[(WatchEvent, PathBuf)]) {
    if let Some(file) = settings.var("LOG") {
        let mut text: String = truth.log.iter().map(|op| format!("op {}\n", op)).collect();
        for (event, path) in events {
            text.push_str(&format!(
                "event {:?} {} {:?} cookie {} wd {}\n",
                event.mask,
                path.display(),
                event.origin,
                event.cookie,
                event.wd.raw()
            ));
        }
        fs::write(file, text).unwrap();
    }
}

/// What a round found wrong, each line a finding.
struct Findings<'s> {
    settings: &'s Settings,
    context: String,
    lines: Vec<String>,
    /// The names to trace: the first finding's entry and its directory.
    names: BTreeSet<String>,
}

impl Findings<'_> {
    fn add(&mut self, line: String, path: &Path) {
        if self.lines.is_empty() {
            // The trace follows the first finding's entry and its directory.
            let last_two = path.iter().rev().take(3);
            self.names = last_two.map(|n| n.to_string_lossy().into_owned()).collect();
        }
        if self.lines.len() < 12 {
            self.lines.push(line);
        }
    }

    /// Fails with the findings and a trace of the operations and events about the
    /// deepest name involved.
    fn report(self, truth: &Truth, events: &[(WatchEvent, PathBuf)]) {
        if self.lines.is_empty() {
            return;
        }
        write_log(self.settings, truth, events);
        let extra: Vec<String> = self
            .settings
            .var("TRACE_NAMES")
            .map(|names| names.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let traced: Vec<&String> = self.names.iter().chain(&extra).collect();
        let involves = |text: &str| {
            let path = Path::new(text);
            traced
                .iter()
                .any(|name| path.iter().any(|part| part == name.as_str()))
        };
        let mut trace = String::new();
        for op in truth.log.iter().filter(|op| involves(op)) {
            trace.push_str(&format!("  op    {}\n", op));
        }
        for (event, path) in events
            .iter()
            .filter(|(_, p)| involves(&p.to_string_lossy()))
        {
            trace.push_str(&format!(
                "  event {:?} {} {:?} cookie {}\n",
                event.mask,
                path.display(),
                event.origin,
                event.cookie
            ));
        }
        panic!(
            "{}:\n{}\ntrace of {:?}:\n{}",
            self.context,
            self.lines.join("\n"),
            traced,
            trace
        );
    }
}

/// One round: `workers` threads make `operations` random operations each in `root`
/// (`outside` is a directory on the same file system, outside it) while `watch(root)`'s
/// watcher reads; then the checks. `check` is the watcher's own check, run at
/// quiescence first: it panics on a failure.
pub fn stress_round<W: Stressed>(
    settings: &Settings,
    seed: u64,
    (workers, operations): (usize, usize),
    (root, outside): (&Path, &Path),
    watch: impl FnOnce(&Path) -> W,
    check: impl FnOnce(&mut W),
) {
    let world = World::populate(root, outside);
    let mut watcher = watch(root);
    let model = world.truth.now.clone();
    let world = Arc::new(Mutex::new(world));
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            let world = world.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed ^ ((worker as u64 + 1) << 32));
                for n in 0..operations {
                    world.lock().unwrap().operate(&mut rng, worker, n);
                }
            })
        })
        .collect();
    let context = settings.context(seed);
    let mut events: Vec<(WatchEvent, PathBuf)> = Vec::new();
    let mut take = |event: WatchEvent| {
        let path = event.path().strip_prefix(root).unwrap().to_path_buf();
        events.push((event, path));
    };
    // A reader slowed down by `{prefix}_READER_DELAY_US` per event falls behind the
    // writers as it does under qemu-user.
    let delay = Duration::from_micros(settings.number("READER_DELAY_US", 0) as u64);
    while !handles.iter().all(|handle| handle.is_finished()) {
        match watcher.next_event() {
            Ok(Some(event)) => {
                take(event.to_owned_event());
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
            }
            Ok(None) => {}
            Err(error) => panic!("{}: the stream ended: {}", context, error),
        }
    }
    for handle in handles {
        handle.join().expect("a worker panicked");
    }
    // Quiescence: everything before the barrier, then a quiet wait.
    watcher.sync(Duration::from_secs(60)).unwrap();
    for _ in 0..2 {
        while let Some(event) = watcher.try_next_event().unwrap() {
            take(event.to_owned_event());
        }
    }
    let world = world.lock().unwrap();
    let truth = &world.truth;
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&mut watcher)));
    if let Err(panic) = checked {
        eprintln!("{}: the watcher's own check failed", context);
        write_log(settings, truth, &events);
        std::panic::resume_unwind(panic);
    }
    let on_disk = disk_model(root);
    let only_in = |a: &Model, b: &Model| -> Vec<PathBuf> {
        a.0.keys()
            .filter(|p| !b.0.contains_key(*p))
            .take(5)
            .cloned()
            .collect()
    };
    assert!(
        truth.now == on_disk,
        "{}: the test's own model is wrong: only in it {:?}, only on disk {:?}",
        context,
        only_in(&truth.now, &on_disk),
        only_in(&on_disk, &truth.now)
    );
    let mut findings = Findings {
        settings,
        context: context.clone(),
        lines: Vec::new(),
        names: BTreeSet::new(),
    };
    check_paths(truth, &events, &mut findings);
    let mut replay = Replay::on(model);
    let arrived_with = settings.arrival_alone.then_some(&truth.arrived_with);
    for (event, path) in &events {
        replay.take(event, path, arrived_with);
    }
    if replay.overflowed {
        eprintln!(
            "{}: the queue overflowed; the replay check is skipped",
            context
        );
    } else {
        check_replay(&replay.model, &on_disk, &mut findings);
    }
    findings.report(truth, &events);
}

/// No phantom path, and each creation reported where it was made.
fn check_paths(truth: &Truth, events: &[(WatchEvent, PathBuf)], findings: &mut Findings<'_>) {
    for (event, path) in events {
        let is_overflow = event.mask.contains(EventMask::Q_OVERFLOW);
        if !is_overflow && !path.as_os_str().is_empty() && !truth.ever.contains(path) {
            findings.add(
                format!("phantom path: {:?} {}", event.mask, path.display()),
                path,
            );
        }
        let name = event.name.to_string_lossy();
        let as_of = truth.made_at.get(name.as_ref());
        if let (Origin::Kernel, Some(made_at)) = (event.origin, as_of) {
            if event.mask.contains(EventMask::CREATE) && made_at != path {
                findings.add(
                    format!(
                        "made at {}, reported at {}",
                        made_at.display(),
                        path.display()
                    ),
                    path,
                );
            }
        }
    }
}

/// The replayed events give the tree on disk.
fn check_replay(replayed: &Model, on_disk: &Model, findings: &mut Findings<'_>) {
    for (path, _) in on_disk
        .0
        .iter()
        .filter(|(p, _)| !replayed.0.contains_key(*p))
    {
        findings.add(
            format!("on disk, not in the replay: {}", path.display()),
            path,
        );
    }
    for (path, _) in replayed
        .0
        .iter()
        .filter(|(p, _)| !on_disk.0.contains_key(*p))
    {
        findings.add(
            format!("in the replay, not on disk: {}", path.display()),
            path,
        );
    }
}
