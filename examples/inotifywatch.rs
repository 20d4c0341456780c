//! `inotifywatch` on this crate: counts events per watched file or directory for a time
//! (`-t`), or until interrupted, and prints inotify-tools' `inotifywatch` 3.22 table,
//! with its options and exit codes; with `-r`, the crate's `TreeWatcher`.
//!
//! ```sh
//! cargo run --example inotifywatch -- -r -t 60 DIR
//! ```

#[path = "tools/mod.rs"]
mod tools;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::raw::c_int;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use inotify_raw::{raw, BorrowedDescriptor, WatchError, WatchMask, Watcher};

use tools::{
    show, Filter, Getopt, LongOpt, Next, Opt, PathList, Recursion, ToolEvent, WatchKey, Watches,
    EXIT_FAILURE, EXIT_SUCCESS,
};

const SHORT: &str = "hrPa:d:zve:t:IFS";

const LONG: &[LongOpt] = &[
    LongOpt::flag("help", 'h'),
    LongOpt::with_arg("event", 'e'),
    LongOpt::with_arg("timeout", 't'),
    LongOpt::flag("verbose", 'v'),
    LongOpt::flag("zero", 'z'),
    LongOpt::with_arg("ascending", 'a'),
    LongOpt::with_arg("descending", 'd'),
    LongOpt::flag("recursive", 'r'),
    LongOpt::flag("inotify", 'I'),
    LongOpt::flag("fanotify", 'F'),
    LongOpt::flag("filesystem", 'S'),
    LongOpt::flag("no-dereference", 'P'),
    LongOpt::with_arg("fromfile", 'o'),
    LongOpt::with_arg("exclude", 'c'),
    LongOpt::with_arg("excludei", 'b'),
    LongOpt::with_arg("include", 'j'),
    LongOpt::with_arg("includei", 'k'),
];

/// The columns of the table, in inotifywatch's order: the event, its header, and the
/// width of its numbers.
const COLUMNS: [(u32, &str, usize); 13] = [
    (0x1, "access", 6),
    (0x2, "modify", 6),
    (0x4, "attrib", 6),
    (0x8, "close_write", 11),
    (0x10, "close_nowrite", 13),
    (0x20, "open", 4),
    (0x40, "moved_from", 10),
    (0x80, "moved_to", 8),
    (0x800, "move_self", 9),
    (0x100, "create", 6),
    (0x200, "delete", 6),
    (0x400, "delete_self", 11),
    (0x2000, "unmount", 7),
];

/// How the table is sorted: by a column (an event bit) or the total (0), ascending or
/// not.
#[derive(Clone, Copy)]
struct Sort {
    key: u32,
    ascending: bool,
}

#[derive(Default)]
struct Options {
    events: u32,
    timeout: u32,
    verbose: u32,
    zero: bool,
    sort: Option<Sort>,
    recursive: bool,
    no_dereference: bool,
    fromfile: Option<OsString>,
    exclude: Option<OsString>,
    excludei: Option<OsString>,
    include: Option<OsString>,
    includei: Option<OsString>,
}

impl Options {
    /// How directories are watched: with `-r`, as trees with inotify. (`-I`, `-F` and
    /// `-S` are taken and ignored, as Debian's inotify-tools 3.22 does: the counts are
    /// per inotify watch.)
    fn recursion(&self) -> Recursion {
        Recursion::from_options(self.recursive, false, false)
    }
}

/// A sort key as inotifywatch reads it: `total` or one event; `None` after its message.
fn sort_key(text: &[u8], ascending: bool) -> Option<u32> {
    if text.eq_ignore_ascii_case(b"total") {
        return Some(0);
    }
    if ascending && text.eq_ignore_ascii_case(b"move") {
        eprintln!("Cannot sort by `move' event; please use `moved_from' or `moved_to'.");
        return None;
    }
    if ascending && text.eq_ignore_ascii_case(b"close") {
        eprintln!("Cannot sort by `close' event; please use `close_write' or `close_nowrite'.");
        return None;
    }
    match tools::events_from_str(text) {
        // One column, the total (an empty name), or an event that is no column (refused
        // below as not watched for). A combination of columns is refused here
        // (inotifywatch crashes on it).
        Some(bits)
            if bits == 0
                || COLUMNS.iter().any(|&(bit, _, _)| bit == bits)
                || bits & tools::ALL_EVENTS == 0 =>
        {
            Some(bits)
        }
        _ => {
            eprintln!("'{}' is not a valid key for sorting!", show(text));
            None
        }
    }
}

fn parse_options() -> Result<(Options, Vec<OsString>), i32> {
    let mut o = Options::default();
    let mut getopt = Getopt::new(std::env::args_os().collect(), SHORT, LONG);
    let mut sort_set = false;
    let mut bad = false;
    while let Some(opt) = getopt.next() {
        let (key, value) = match opt {
            Opt::Found(key, value) => (key, value.unwrap_or_default()),
            Opt::Bad => {
                bad = true;
                break;
            }
        };
        let text = value.as_bytes();
        match key {
            'h' => {
                print_help();
                return Err(EXIT_FAILURE);
            }
            'v' => o.verbose += 1,
            'r' => o.recursive = true,
            'P' => o.no_dereference = true,
            'z' => o.zero = true,
            'c' => o.exclude = Some(value),
            'b' => o.excludei = Some(value),
            'j' => o.include = Some(value),
            'k' => o.includei = Some(value),
            'o' => tools::set_once(&mut o.fromfile, value, "--fromfile")?,
            't' => match tools::parse_timeout(text) {
                Some(seconds) => o.timeout = seconds,
                None => return Err(EXIT_FAILURE),
            },
            'e' => tools::add_events(&mut o.events, text)?,
            'a' | 'd' => {
                let ascending = key == 'a';
                // As in inotifywatch, only -a marks the order as chosen.
                if sort_set {
                    eprintln!("Please specify -a or -d once only!");
                    return Err(EXIT_FAILURE);
                }
                match sort_key(text, ascending) {
                    // `-d total` is the total descending; an empty name sorts the total
                    // ascending, whichever option names it.
                    Some(key) => {
                        let ascending =
                            ascending || (key == 0 && !text.eq_ignore_ascii_case(b"total"));
                        o.sort = Some(Sort { key, ascending });
                    }
                    None => return Err(EXIT_FAILURE),
                }
                sort_set = ascending;
            }
            _ => {}
        }
    }
    let operands = getopt.finish();
    let watched = if o.events == 0 {
        tools::ALL_EVENTS
    } else {
        o.events
    };
    if let Some(sort) = o.sort {
        if sort.key != 0 && sort.key & watched == 0 {
            eprintln!("Can't sort by an event which isn't being watched for!");
            return Err(EXIT_FAILURE);
        }
    }
    let fail = |message: &str| {
        eprintln!("{}", message);
        Err(EXIT_FAILURE)
    };
    if o.exclude.is_some() && o.excludei.is_some() {
        return fail("--exclude and --excludei cannot both be specified.");
    }
    if o.include.is_some() && o.includei.is_some() {
        return fail("--include and --includei cannot both be specified.");
    }
    if (o.include.is_some() || o.includei.is_some())
        && (o.exclude.is_some() || o.excludei.is_some())
    {
        return fail("include and exclude regexp cannot both be specified.");
    }
    if bad {
        return Err(EXIT_FAILURE);
    }
    Ok((o, operands))
}

// Signals: before the watches are established, a first SIGINT says why nothing is
// printed yet and a second ends the program; after, SIGINT, SIGHUP and SIGTERM end the
// count and SIGUSR1 prints the table so far.

static ESTABLISHED: AtomicBool = AtomicBool::new(false);
static IMPATIENCE: AtomicU32 = AtomicU32::new(0);
static DONE: AtomicBool = AtomicBool::new(false);
static PRINT_NOW: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(signum: c_int) {
    if signum == tools::SIGINT && !ESTABLISHED.load(Ordering::SeqCst) {
        if IMPATIENCE.fetch_add(1, Ordering::SeqCst) > 0 {
            let _ = raw::write(
                BorrowedDescriptor::STDERR,
                b"No statistics collected, asked to abort before all watches could be \
                  established.\n",
            );
            raw::exit_group(1);
        }
        let _ = raw::write(
            BorrowedDescriptor::STDERR,
            b"No statistics have been collected because I haven't finished establishing\n\
              inotify watches yet.  If you are sure you want me to exit, interrupt me again.\n",
        );
        return;
    }
    DONE.store(true, Ordering::SeqCst);
    tools::wake_from_signal();
}

extern "C" fn on_usr1(_signum: c_int) {
    PRINT_NOW.store(true, Ordering::SeqCst);
    tools::wake_from_signal();
}

/// Counts for one watch.
#[derive(Default, Clone)]
struct Counts {
    watch: WatchKey,
    /// inotifywatch's name of the watch: its path, with a `/` for a directory.
    name: Vec<u8>,
    /// One count per column of `COLUMNS`.
    hits: [u32; 13],
    total: u32,
}

impl Counts {
    fn get(&self, key: u32) -> u32 {
        if key == 0 {
            return self.total;
        }
        COLUMNS
            .iter()
            .position(|&(bit, _, _)| bit == key)
            .map_or(0, |at| self.hits[at])
    }
}

/// Every watch's counts, and the totals.
#[derive(Default)]
struct Stats {
    watches: HashMap<WatchKey, Counts>,
    totals: [u32; 13],
    total: u32,
}

impl Stats {
    fn record(&mut self, event: &ToolEvent) {
        let (watch, name, mask) = (event.watch, &event.w, event.mask);
        let counts = self.watches.entry(watch).or_insert_with(|| Counts {
            watch,
            ..Counts::default()
        });
        if counts.name != *name {
            counts.name.clone_from(name);
        }
        for (at, &(bit, _, _)) in COLUMNS.iter().enumerate() {
            if mask & bit != 0 {
                counts.hits[at] += 1;
                self.totals[at] += 1;
            }
        }
        counts.total += 1;
        self.total += 1;
    }

    /// A watch that had no event yet (for `-z`).
    fn know(&mut self, watch: WatchKey, name: &[u8]) {
        self.watches.entry(watch).or_insert_with(|| Counts {
            watch,
            name: name.to_vec(),
            ..Counts::default()
        });
    }

    /// inotifywatch's table: a column per event watched for that happened (every one
    /// with `-z`), a row per watch that had events (every one with `-z`).
    fn print(&self, events: u32, zero: bool, sort: Sort, out: &mut impl Write) -> io::Result<()> {
        if self.total == 0 {
            eprintln!("No events occurred.");
            return Ok(());
        }
        let shown: Vec<usize> = (0..COLUMNS.len())
            .filter(|&at| COLUMNS[at].0 & events != 0 && (zero || self.totals[at] > 0))
            .collect();
        let mut text = String::from("total  ");
        for &at in &shown {
            text.push_str(COLUMNS[at].1);
            text.push_str("  ");
        }
        text.push_str("filename\n");
        let mut rows: Vec<&Counts> = self
            .watches
            .values()
            .filter(|c| zero || c.total > 0)
            .collect();
        rows.sort_by(|a, b| {
            let (x, y) = (a.get(sort.key), b.get(sort.key));
            let order = if sort.ascending { x.cmp(&y) } else { y.cmp(&x) };
            order.then(a.watch.cmp(&b.watch))
        });
        let mut bytes = text.into_bytes();
        for row in rows {
            bytes.extend_from_slice(format!("{:<5}  ", row.total).as_bytes());
            for &at in &shown {
                let width = COLUMNS[at].2;
                bytes.extend_from_slice(
                    format!("{:<width$}  ", row.hits[at], width = width).as_bytes(),
                );
            }
            bytes.extend_from_slice(&row.name);
            bytes.push(b'\n');
        }
        out.write_all(&bytes)?;
        out.flush()
    }
}

fn main() {
    tools::default_sigpipe();
    tools::on_signal(tools::SIGINT, on_stop);
    std::process::exit(run());
}

fn run() -> i32 {
    let (o, operands) = match parse_options() {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let filter = match tools::compile_filter(
        o.exclude.as_deref(),
        o.excludei.as_deref(),
        o.include.as_deref(),
        o.includei.as_deref(),
    ) {
        Ok(filter) => filter,
        Err(()) => return EXIT_FAILURE,
    };
    let watcher = match tools::new_watcher(o.recursion()) {
        Ok(watcher) => watcher,
        Err(code) => return code,
    };
    let events = if o.events == 0 {
        tools::ALL_EVENTS
    } else {
        o.events
    };
    let mut mask = events;
    if o.no_dereference {
        mask |= WatchMask::DONT_FOLLOW.bits();
    }
    let list = PathList::build(o.fromfile.as_deref(), &operands);
    if list.watch.is_empty() {
        eprintln!("No files specified to watch!");
        return EXIT_FAILURE;
    }

    eprintln!("Establishing watches...");
    let mut stats = Stats::default();
    let mut watches = match set_up(watcher, &o, &list, events, mask, filter.as_ref()) {
        Ok(watches) => watches,
        Err(code) => return code,
    };
    if o.verbose > 0 {
        eprintln!("Total of {} watches.", watches.count());
    }
    // Signals end the count from here on, before the line that says so is printed.
    if let Err(error) = watches.wake_on_signals() {
        eprintln!("{}", tools::error_message(&error));
        return EXIT_FAILURE;
    }
    ESTABLISHED.store(true, Ordering::SeqCst);
    tools::on_signal(tools::SIGINT, on_stop);
    tools::on_signal(tools::SIGHUP, on_stop);
    tools::on_signal(tools::SIGTERM, on_stop);
    tools::on_signal(tools::SIGUSR1, on_usr1);
    eprintln!("Finished establishing watches, now collecting statistics.");
    if o.timeout > 0 && o.verbose > 0 {
        eprintln!("Will listen for events for {} seconds.", o.timeout);
    }

    let deadline =
        (o.timeout > 0).then(|| Instant::now() + Duration::from_secs(u64::from(o.timeout)));
    let sort = o.sort.unwrap_or(Sort {
        key: 0,
        ascending: false,
    });
    let mut event = ToolEvent::default();
    loop {
        if DONE.load(Ordering::SeqCst) {
            break;
        }
        if PRINT_NOW.swap(false, Ordering::SeqCst) {
            let mut out = io::stdout();
            let table = stats_for_print(&mut watches, &stats, o.zero);
            let _ = table.print(events, o.zero, sort, &mut out);
            let _ = out.write_all(b"\n").and_then(|()| out.flush());
        }
        let left = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                Some(left)
            }
            None => None,
        };
        if let Err(error) = count_next(&mut watches, left, &mut event, &mut stats, filter.as_ref())
        {
            eprintln!("{}", tools::error_message(&io::Error::from(error)));
            return EXIT_FAILURE;
        }
    }
    // What happened before the end was asked for is counted too, read or not.
    loop {
        match count_next(
            &mut watches,
            Some(Duration::ZERO),
            &mut event,
            &mut stats,
            filter.as_ref(),
        ) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                eprintln!("{}", tools::error_message(&io::Error::from(error)));
                return EXIT_FAILURE;
            }
        }
    }
    let table = stats_for_print(&mut watches, &stats, o.zero);
    let mut out = io::stdout();
    let _ = table.print(events, o.zero, sort, &mut out);
    EXIT_SUCCESS
}

/// Watches every path of the list as inotifywatch does: with `-r`, each directory as a
/// tree and each file on its own. Says what the tree's setup left to say; `Err` with the
/// exit code when the setup fails (a path that cannot be watched, the watch limit).
fn set_up(
    watcher: Watcher,
    o: &Options,
    list: &PathList,
    events: u32,
    mask: u32,
    filter: Option<&Filter>,
) -> Result<Watches, i32> {
    let mut watches =
        tools::start_watches(watcher, o.recursion(), events, list, filter, &say_lines)?;
    for path in &list.watch {
        if o.recursive && o.verbose > 0 {
            eprintln!("Setting up watch(es) on {}", show(path));
        }
        if let Err(error) = watches.add(path, mask) {
            say_lines(&tools::watch_failed_lines("Failed to watch", path, &error));
            return Err(EXIT_FAILURE);
        }
        if o.recursive && o.verbose > 0 {
            eprintln!("OK, {} is now being watched.", show(path));
        }
    }
    tools::say_setup_notices(&mut watches, &say_lines)?;
    Ok(watches)
}

fn say_lines(lines: &[String]) {
    for line in lines {
        eprintln!("{}", line);
    }
}

/// Waits at most `block` for the next event and counts it, as the filter lets it
/// through (notices are said); false when none came.
fn count_next(
    watches: &mut Watches,
    block: Option<Duration>,
    event: &mut ToolEvent,
    stats: &mut Stats,
    filter: Option<&Filter>,
) -> Result<bool, WatchError> {
    match watches.next(block, event)? {
        Next::Event => {
            if !filter.map_or(false, |filter| filter.drops(event)) {
                stats.record(event);
            }
        }
        Next::Notice(notice) => say_lines(&notice.lines(false)),
        Next::Cycle => return Ok(false),
    }
    Ok(true)
}

/// The counts to print: with `-z`, every watch there is, with or without events.
fn stats_for_print(watches: &mut Watches, stats: &Stats, zero: bool) -> Stats {
    let mut all = Stats {
        watches: stats.watches.clone(),
        totals: stats.totals,
        total: stats.total,
    };
    if zero {
        for (watch, name) in watches.list() {
            all.know(watch, &name);
        }
    }
    all
}

fn print_help() {
    let name = "inotifywatch";
    print!(
        "{name} {version} (inotify-raw {crate_version})
Gather filesystem usage statistics using {name}.
Usage: {name} [ options ] file1 [ file2 ] [ ... ]
Options:
\t-h|--help    \tShow this help text.
\t-v|--verbose \tBe verbose.
\t@<file>       \tExclude the specified file from being watched.
\t--fromfile <file>
\t\tRead files to watch from <file> or `-' for stdin.
\t--exclude <pattern>
\t\tExclude all events on files matching the extended regular
\t\texpression <pattern>.
\t--excludei <pattern>
\t\tLike --exclude but case insensitive.
\t--include <pattern>
\t\tExclude all events on files except the ones
\t\tmatching the extended regular expression
\t\t<pattern>.
\t--includei <pattern>
\t\tLike --include but case insensitive.
\t-z|--zero
\t\tIn the final table of results, output rows and columns even
\t\tif they consist only of zeros (the default is to not output
\t\tthese rows and columns).
\t-r|--recursive\tWatch directories recursively.
\t-P|--no-dereference
\t\tDo not follow symlinks.
\t-t|--timeout <seconds>
\t\tListen only for specified amount of time in seconds; if
\t\tomitted or zero, {name} will execute until receiving an
\t\tinterrupt signal.
\t-e|--event <event1> [ -e|--event <event2> ... ]
\t\tListen for specific event(s).  If omitted, all events are 
\t\tlistened for.
\t-a|--ascending <event>
\t\tSort ascending by a particular event, or `total'.
\t-d|--descending <event>
\t\tSort descending by a particular event, or `total'.

With -r, this {name} watches with inotify-raw's TreeWatcher: what is
made in a new directory before its watch exists is counted, counts
follow directories that are moved, its own listing of new directories
counts nothing, an event is counted once (not also on the directory's
own watch), and @<dir> keeps a directory unwatched, as --exclude does
one below which it drops every event.

Exit status:
\t0  -  Exited normally.
\t1  -  Some error occurred.

Events:
{events}",
        name = name,
        version = tools::TOOLS_VERSION,
        crate_version = env!("CARGO_PKG_VERSION"),
        events = tools::EVENT_DESCRIPTIONS,
    );
}
