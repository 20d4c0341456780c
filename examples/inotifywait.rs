//! `inotifywait` on this crate: the options, output and exit codes of inotify-tools'
//! `inotifywait` 3.22, so that a script can call this one in its place; with `-r`, the
//! crate's `TreeWatcher`, which is right where inotifywait is not (see `--help`); with
//! `-S` (or `-F -r`), its `FsWatcher`: the same lines, from one fanotify mark.
//!
//! ```sh
//! cargo run --example inotifywait -- -m -r DIR
//! cargo run --example inotifywait -- -m -S DIR
//! cargo install --path . --example inotifywait
//! ```

#[path = "tools/mod.rs"]
mod tools;

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

use std::time::{Duration, Instant};

use inotify_raw::{EventMask, WatchMask, Watcher};

use tools::{
    show, Backend, Filter, Getopt, LongOpt, Next, Opt, PathList, Recursion, ToolEvent, Watches,
    EXIT_FAILURE, EXIT_SUCCESS,
};

const SHORT: &str = "mrhcdsPqt:fo:e:IFS";

const LONG: &[LongOpt] = &[
    LongOpt::flag("help", 'h'),
    LongOpt::with_arg("event", 'e'),
    LongOpt::flag("monitor", 'm'),
    LongOpt::flag("quiet", 'q'),
    LongOpt::with_arg("timeout", 't'),
    LongOpt::flag("filename", 'f'),
    LongOpt::flag("recursive", 'r'),
    LongOpt::flag("inotify", 'I'),
    LongOpt::flag("fanotify", 'F'),
    LongOpt::flag("filesystem", 'S'),
    LongOpt::flag("csv", 'c'),
    LongOpt::flag("daemon", 'd'),
    LongOpt::flag("syslog", 's'),
    LongOpt::flag("no-dereference", 'P'),
    LongOpt::with_arg("format", 'n'),
    LongOpt::flag("no-newline", '0'),
    LongOpt::with_arg("timefmt", 'i'),
    LongOpt::with_arg("fromfile", 'z'),
    LongOpt::with_arg("outfile", 'o'),
    LongOpt::with_arg("exclude", 'a'),
    LongOpt::with_arg("excludei", 'b'),
    LongOpt::with_arg("include", 'j'),
    LongOpt::with_arg("includei", 'k'),
];

/// The command line.
#[derive(Default)]
struct Options {
    events: u32,
    monitor: bool,
    quiet: u32,
    timeout: u32,
    recursive: bool,
    /// `-S`: a tree of each directory given, with fanotify.
    filesystem: bool,
    /// `-F` or `-S`, and no `-I` after them.
    fanotify: bool,
    csv: bool,
    daemon: bool,
    syslog: bool,
    no_dereference: bool,
    format: Option<Vec<u8>>,
    timefmt: Option<Vec<u8>>,
    fromfile: Option<OsString>,
    outfile: Option<OsString>,
    exclude: Option<OsString>,
    excludei: Option<OsString>,
    include: Option<OsString>,
    includei: Option<OsString>,
    no_newline: bool,
}

fn main() {
    tools::default_sigpipe();
    std::process::exit(run());
}

/// Reads the command line as inotifywait does, printing its messages; `Err` with the
/// exit code when it is not to go on.
fn parse_options() -> Result<(Options, Vec<OsString>), i32> {
    let mut o = Options::default();
    let mut getopt = Getopt::new(std::env::args_os().collect(), SHORT, LONG);
    let mut exclude_count = 0;
    let mut excludei_count = 0;
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
            'm' => o.monitor = true,
            'q' => o.quiet += 1,
            'r' => o.recursive = true,
            'I' => o.fanotify = false,
            'F' => o.fanotify = true,
            'S' => {
                o.filesystem = true;
                o.fanotify = true;
            }
            'c' => o.csv = true,
            'd' => {
                o.daemon = true;
                o.monitor = true;
                o.syslog = true;
            }
            's' => o.syslog = true,
            'P' => o.no_dereference = true,
            'f' => {
                eprintln!(
                    "The '--filename' option no longer exists.  The option it enabled in earlier\n\
                     versions of inotifywait is now turned on by default."
                );
                return Err(EXIT_FAILURE);
            }
            'n' => o.format = Some(text.to_vec()),
            '0' => o.no_newline = true,
            'i' => o.timefmt = Some(text.to_vec()),
            'a' => {
                o.exclude = Some(value);
                exclude_count += 1;
            }
            'b' => {
                o.excludei = Some(value);
                excludei_count += 1;
            }
            'j' => o.include = Some(value),
            'k' => o.includei = Some(value),
            'z' => tools::set_once(&mut o.fromfile, value, "--fromfile")?,
            'o' => tools::set_once(&mut o.outfile, value, "--outfile")?,
            't' => match tools::parse_timeout(text) {
                Some(seconds) => o.timeout = seconds,
                None => return Err(EXIT_FAILURE),
            },
            'e' => tools::add_events(&mut o.events, text)?,
            _ => {}
        }
    }
    let operands = getopt.finish();
    if let Some(format) = o.format.as_mut() {
        if !o.no_newline {
            format.push(b'\n');
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
    if o.format.is_some() && o.csv {
        return fail("-c and --format cannot both be specified.");
    }
    if o.format.is_none() && o.no_newline {
        return fail("--no-newline cannot be specified without --format.");
    }
    if o.format.is_none() && o.timefmt.is_some() {
        return fail("--timefmt cannot be specified without --format.");
    }
    let has_t = o
        .format
        .as_ref()
        .map_or(false, |f| f.windows(2).any(|w| w == b"%T"));
    if has_t && o.timefmt.is_none() {
        return fail("%T is in --format string, but --timefmt was not specified.");
    }
    if o.daemon && o.outfile.is_none() {
        return fail("-o must be specified with -d.");
    }
    if exclude_count > 1 {
        eprintln!("--exclude: only the last option will be taken into consideration.");
    }
    if excludei_count > 1 {
        eprintln!("--excludei: only the last option will be taken into consideration.");
    }
    if bad {
        return Err(EXIT_FAILURE);
    }
    Ok((o, operands))
}

impl Options {
    fn recursion(&self) -> Recursion {
        Recursion::from_options(self.recursive, self.filesystem, self.fanotify)
    }
}

/// Where errors go: standard error, or the system log with `-s`/`-d`.
struct Errors {
    syslog: bool,
}

impl Errors {
    fn say(&self, message: &str) {
        if self.syslog {
            tools::to_syslog(message);
        } else {
            eprintln!("{}", message);
        }
    }

    fn say_lines(&self, lines: &[String]) {
        for line in lines {
            self.say(line);
        }
    }
}

fn run() -> i32 {
    let (o, operands) = match parse_options() {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };

    // The instance first, as inotifywait does. With a tree it watches the files given,
    // and the tree needs its own (inotify or fanotify): checked here too.
    let watcher = match tools::new_watcher(o.recursion()) {
        Ok(watcher) => watcher,
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
    if o.format.as_ref().map_or(false, |f| f.is_empty()) {
        eprintln!("Something is wrong with your format string.");
        return EXIT_FAILURE;
    }

    let orig_events = if o.events == 0 {
        tools::ALL_EVENTS
    } else {
        o.events
    };
    let mut events = orig_events;
    if o.no_dereference {
        events |= WatchMask::DONT_FOLLOW.bits();
    }

    let list = PathList::build(o.fromfile.as_deref(), &operands);
    if list.watch.is_empty() {
        eprintln!("No files specified to watch!");
        return EXIT_FAILURE;
    }

    // Where events go.
    let mut out: Box<dyn Write> = Box::new(io::stdout());
    if o.daemon {
        let outfile = o.outfile.as_deref().unwrap_or_default();
        let logfile = match std::fs::canonicalize(outfile) {
            Ok(logfile) => logfile,
            Err(error) => {
                eprintln!(
                    "{}: {}",
                    tools::error_message(&error),
                    show(outfile.as_bytes())
                );
                return EXIT_FAILURE;
            }
        };
        if tools::daemonize().is_err() {
            eprintln!("Failed to daemonize!");
            return EXIT_FAILURE;
        }
        match open_outfile(logfile.as_os_str()) {
            Ok(file) => out = Box::new(file),
            Err(_) => {
                eprintln!("Failed to open output file {}", logfile.display());
                return EXIT_FAILURE;
            }
        }
    } else if let Some(outfile) = o.outfile.as_deref() {
        match open_outfile(outfile) {
            Ok(file) => out = Box::new(file),
            Err(_) => {
                eprintln!("Failed to open output file {}", show(outfile.as_bytes()));
                return EXIT_FAILURE;
            }
        }
    }

    if o.syslog {
        tools::open_syslog(b"inotifywait\0");
    }
    let errors = Errors { syslog: o.syslog };

    if o.quiet == 0 {
        errors.say(if o.filesystem {
            "Setting up filesystem watches."
        } else if o.recursive {
            "Setting up watches.  Beware: since -r was given, this may take a while!"
        } else {
            "Setting up watches."
        });
    }

    let mut watches = match set_up(
        watcher,
        &o,
        &list,
        orig_events,
        events,
        filter.as_ref(),
        &errors,
    ) {
        Ok(watches) => watches,
        Err(code) => return code,
    };

    if o.quiet == 0 {
        errors.say("Watches established.");
    }

    let timeout = match o.timeout {
        0 => None,
        seconds => Some(Duration::from_secs(u64::from(seconds))),
    };
    let mut deadline = timeout.map(|t| Instant::now() + t);
    let mut event = ToolEvent::default();
    let mut line = Vec::new();
    loop {
        let block = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return tools::EXIT_TIMEOUT;
                }
                Some(left)
            }
            None => None,
        };
        match watches.next(block, &mut event) {
            Ok(Next::Event) => {}
            Ok(Next::Cycle) => continue,
            Ok(Next::Notice(notice)) => {
                errors.say_lines(&notice.lines(false));
                continue;
            }
            Err(error) => {
                errors.say(&tools::error_message(&io::Error::from(error)));
                return EXIT_FAILURE;
            }
        }
        // Every event read starts the timeout again, printed or not.
        deadline = timeout.map(|t| Instant::now() + t);
        if filter.as_ref().map_or(false, |filter| filter.drops(&event)) {
            continue;
        }
        if o.quiet < 2 && event.mask & orig_events != 0 {
            line.clear();
            if o.csv {
                csv_line(&event, &mut line);
            } else {
                let format: &[u8] = o.format.as_deref().unwrap_or(b"%w %,e %f\n");
                format_line(format, o.timefmt.as_deref(), &event, &mut line);
            }
            let _ = out.write_all(&line);
            let _ = out.flush();
        }
        if !o.monitor {
            return if events & event.mask == 0 {
                EXIT_FAILURE
            } else {
                EXIT_SUCCESS
            };
        }
    }
}

/// Opens `-o FILE` as inotifywait does: appending, created with mode 0600.
fn open_outfile(path: &OsStr) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

/// Watches every path of the list as inotifywait does: with `-r` or `-S`, each directory
/// as a tree and each file on its own. Says what the tree's setup left to say; `Err` with
/// the exit code when the setup fails (a path that cannot be watched, the watch limit).
fn set_up(
    watcher: Watcher,
    o: &Options,
    list: &PathList,
    orig_events: u32,
    events: u32,
    filter: Option<&Filter>,
    errors: &Errors,
) -> Result<Watches, i32> {
    let say = |lines: &[String]| errors.say_lines(lines);
    let mut watches =
        tools::start_watches(watcher, o.recursion(), orig_events, list, filter, &say)?;
    let failed = if o.filesystem {
        "Couldn't add filesystem watch"
    } else {
        "Couldn't watch"
    };
    for path in &list.watch {
        if let Err(error) = watches.add(path, events) {
            let mut lines = tools::watch_failed_lines(failed, path, &error);
            if o.recursion() == Recursion::Tree(Backend::Fanotify) {
                lines.extend(tools::fanotify_advice(&error));
            }
            say(&lines);
            return Err(EXIT_FAILURE);
        }
    }
    tools::say_setup_notices(&mut watches, &say)?;
    Ok(watches)
}

/// inotifywait's `--format`: `%w`, `%f`, `%e`, `%Xe` (names separated by X), `%T`,
/// `%c` (cookie, hex), `%0` (NUL), `%n` (newline), `%%`; anything else as it is.
fn format_line(format: &[u8], timefmt: Option<&[u8]>, event: &ToolEvent, out: &mut Vec<u8>) {
    let mask = EventMask::from_bits_retain(event.mask);
    let mut i = 0;
    while i < format.len() {
        let c = format[i];
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        let next = match format.get(i + 1) {
            Some(&next) => next,
            None => break, // a lone % at the end: inotifywait stops there
        };
        i += 2;
        match next {
            b'%' => out.push(b'%'),
            b'0' => out.push(0),
            b'n' => out.push(b'\n'),
            b'w' => out.extend_from_slice(&event.w),
            b'f' => out.extend_from_slice(&event.f),
            b'c' => out.extend_from_slice(format!("{:x}", event.cookie).as_bytes()),
            b'e' => out.extend_from_slice(&tools::events_to_str(mask, b',')),
            b'T' => {
                if let Some(timefmt) = timefmt {
                    out.extend_from_slice(&tools::local_time(timefmt));
                }
            }
            sep if format.get(i) == Some(&b'e') && i < format.len() => {
                out.extend_from_slice(&tools::events_to_str(mask, sep));
                i += 1;
            }
            other => {
                out.push(b'%');
                out.push(other);
            }
        }
    }
}

/// A CSV field as inotifywait quotes it: in double quotes (doubled inside) when it has
/// a quote, a comma or a newline, or starts or ends with a space.
fn csv_field(field: &[u8], out: &mut Vec<u8>) {
    let plain = !field.iter().any(|&b| b == b'"' || b == b',' || b == b'\n')
        && field.first() != Some(&b' ')
        && field.last() != Some(&b' ');
    if plain {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// `-c`: `WATCHED,EVENTS,NAME` (the watch left out when it has no name).
fn csv_line(event: &ToolEvent, out: &mut Vec<u8>) {
    if !event.w.is_empty() {
        csv_field(&event.w, out);
        out.push(b',');
    }
    csv_field(
        &tools::events_to_str(EventMask::from_bits_retain(event.mask), b','),
        out,
    );
    out.push(b',');
    csv_field(&event.f, out);
    out.push(b'\n');
}

fn print_help() {
    let name = "inotifywait";
    print!(
        "{name} {version} (inotify-raw {crate_version})
Wait for a particular event on a file or set of files.
Usage: {name} [ options ] file1 [ file2 ] [ file3 ] [ ... ]
Options:
\t-h|--help     \tShow this help text.
\t@<file>       \tExclude the specified file from being watched.
\t--exclude <pattern>
\t              \tExclude all events on files matching the
\t              \textended regular expression <pattern>.
\t              \tOnly the last --exclude option will be
\t              \ttaken into consideration.
\t--excludei <pattern>
\t              \tLike --exclude but case insensitive.
\t--include <pattern>
\t              \tExclude all events on files except the ones
\t              \tmatching the extended regular expression
\t              \t<pattern>.
\t--includei <pattern>
\t              \tLike --include but case insensitive.
\t-m|--monitor  \tKeep listening for events forever or until --timeout expires.
\t              \tWithout this option, {name} will exit after one event is received.
\t-d|--daemon   \tSame as --monitor, except run in the background
\t              \tlogging events to a file specified by --outfile.
\t              \tImplies --syslog.
\t-P|--no-dereference
\t              \tDo not follow symlinks.
\t-r|--recursive\tWatch directories recursively.
\t-I|--inotify\tWatch with inotify.
\t-F|--fanotify\tWatch with fanotify.
\t-S|--filesystem\tWatch entire filesystem with fanotify.
\t--fromfile <file>
\t              \tRead files to watch from <file> or `-' for stdin.
\t-o|--outfile <file>
\t              \tPrint events to <file> rather than stdout.
\t-s|--syslog   \tSend errors to syslog rather than stderr.
\t-q|--quiet    \tPrint less (only print events).
\t-qq           \tPrint nothing (not even events).
\t--format <fmt>\tPrint using a specified printf-like format
\t              \tstring; read the man page for more details.
\t--no-newline  \tDon't print newline symbol after
\t              \t--format string.
\t--timefmt <fmt>\tstrftime-compatible format string for use with
\t              \t%T in --format string (local time, as TZ says).
\t-c|--csv      \tPrint events in CSV format.
\t-t|--timeout <seconds>
\t              \tWhen listening for a single event, time out after
\t              \twaiting for an event for <seconds> seconds.
\t              \tIf <seconds> is zero, {name} will never time out.
\t-e|--event <event1> [ -e|--event <event2> ... ]
\t\tListen for specific event(s).  If omitted, all events are 
\t\tlistened for.

With -r, this {name} watches with inotify-raw's TreeWatcher:
\t- what is made in a new directory before its watch exists is
\t  reported as created (mkdir -p a/b/c && touch a/b/c/f: four
\t  CREATE lines, where inotify-tools may miss all but the first);
\t- paths stay right after directories are moved or renamed, and
\t  nothing comes from a directory moved out of the tree;
\t- its own listing of new directories makes no OPEN, ACCESS or
\t  CLOSE_NOWRITE lines, nor does a directory's own copy of an
\t  event its parent reports with its name;
\t- @<dir> stops the watching of that directory, also when it is
\t  made later, and --exclude or --excludei that of a directory
\t  when they drop every event below it, not only the printing;
\t- a directory that cannot be read is named on stderr, and the
\t  watch limit says how to raise it.

With -S DIR, or -F with -r, this {name} watches each directory given
with inotify-raw's FsWatcher, one fanotify mark per file system, so
\"Watches established.\" comes at once, whatever the tree holds:
\t- it prints the same lines as -r DIR for the same operations, but
\t  that a directory moved in is its MOVED_TO line alone (-r adds
\t  what it holds, as CREATE lines), and an event repeated on one
\t  entry before it is read is printed once;
\t- only what happens below DIR is printed, with paths as -r prints
\t  them (inotify-tools' -S prints the whole file system): to watch
\t  a whole file system, give its mount point;
\t- a file given is watched on its own, as with -r;
\t- it needs CAP_SYS_ADMIN (root) and Linux 5.17; -r needs neither;
\t- -F without -r or -S watches with inotify: the lines are the same.

Exit status:
\t0  -  An event you asked to watch for was received.
\t1  -  An event you did not ask to watch for was received
\t      (usually delete_self or unmount), or some error occurred.
\t2  -  The --timeout option was given and no events occurred
\t      in the specified interval of time.

Events:
{events}",
        name = name,
        version = tools::TOOLS_VERSION,
        crate_version = env!("CARGO_PKG_VERSION"),
        events = tools::EVENT_DESCRIPTIONS,
    );
}
