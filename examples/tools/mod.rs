//! What `inotifywait` and `inotifywatch` share: inotify-tools' command line (getopt_long's
//! rules and messages), event names, timeouts, the list of paths, POSIX extended regular
//! expressions and the rest of the C library they use (the clock, signals, syslog), the
//! tree's options, and what they watch ([`watches`]).
//!
//! Each example includes this file with `#[path = "tools/mod.rs"] mod tools;`, so each
//! uses only a part of it.
#![allow(dead_code)]

mod watches;

// Each example names a part of these.
#[allow(unused_imports)]
pub use watches::{Next, Notice, ToolEvent, TreeSource, WatchKey, Watches};

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Read};
use std::os::raw::{c_char, c_int, c_long};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::io::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};

use inotify_raw::{
    raw, BorrowedDescriptor, Errno, EventMask, FsBuilder, FsWatcher, TreeBuilder, TreeWatcher,
    WatchMask,
};

pub const EXIT_SUCCESS: i32 = 0;
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_TIMEOUT: i32 = 2;

/// The version of inotify-tools whose behaviour the tools follow.
pub const TOOLS_VERSION: &str = "3.22.6.0";

/// `IN_ALL_EVENTS`.
pub const ALL_EVENTS: u32 = 0x0000_0fff;

// ---------------------------------------------------------------------------------------
// Errors as strerror prints them

/// The C library's message for an errno ("No such file or directory").
pub fn strerror(errno: Errno) -> String {
    match errno.message() {
        Some(message) => message.to_string(),
        None => format!("Unknown error {}", errno.raw()),
    }
}

/// The errno inside an `io::Error` (from the crate or from `std`), if there is one.
pub fn errno_of(error: &io::Error) -> Option<Errno> {
    Errno::from_error(error)
}

/// The message inotify-tools prints for an error: strerror's, or the error's own.
pub fn error_message(error: &io::Error) -> String {
    match errno_of(error) {
        Some(errno) => strerror(errno),
        None => error.to_string(),
    }
}

/// The kernel interface a tool watches with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Inotify,
    Fanotify,
}

/// `Couldn't initialize inotify: ...` (or fanotify), with inotify-tools' advice for
/// `EMFILE` and, for fanotify, `EPERM`, then what this one adds; the exit code.
pub fn init_failed(backend: Backend, error: &io::Error) -> i32 {
    let (name, instances) = match backend {
        Backend::Inotify => ("inotify", "instances"),
        Backend::Fanotify => ("fanotify", "groups"),
    };
    let errno = errno_of(error);
    eprintln!("Couldn't initialize {}: {}", name, error_message(error));
    match (backend, errno) {
        (_, Some(Errno::EMFILE)) => eprintln!(
            "Try increasing the value of /proc/sys/fs/{}/max_user_{}",
            name, instances
        ),
        (Backend::Fanotify, Some(Errno::EPERM)) => {
            for line in fanotify_advice(error) {
                eprintln!("{}", line);
            }
        }
        // The crate's message: which kernel is needed, or why there is no fanotify.
        (Backend::Fanotify, Some(_)) => eprintln!("({})", error),
        _ => {}
    }
    EXIT_FAILURE
}

/// What to do when fanotify refused a group or a mark: for want of `CAP_SYS_ADMIN`
/// (`EPERM`: inotify-tools' line, and this one's advice), or on a file system without
/// file handles (`EOPNOTSUPP`); nothing for other errors.
pub fn fanotify_advice(error: &io::Error) -> Vec<String> {
    let lines: &[&str] = match errno_of(error) {
        Some(Errno::EPERM) => &[
            "fanotify watch requires admin privileges",
            "(-S and -F watch with fanotify, which needs CAP_SYS_ADMIN: run as root; \
             -r watches the same directories with inotify, unprivileged.)",
        ],
        Some(Errno::EOPNOTSUPP) => &[
            "(This file system has no file handles, which fanotify needs: \
             -r watches it with inotify.)",
        ],
        _ => &[],
    };
    lines.iter().map(|line| line.to_string()).collect()
}

/// How the tools watch a directory given: on its own, or as a tree, with inotify
/// (`TreeWatcher`) or with fanotify (`FsWatcher`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recursion {
    Off,
    Tree(Backend),
}

impl Recursion {
    /// From the command line: `-r` (`recursive`), `-S` (`filesystem`), and whether
    /// fanotify was asked for last (`-F` or `-S`, not undone by a later `-I`). A tree
    /// of each directory given either way; fanotify alone, without a tree, changes
    /// nothing (a directory's own events are the same with inotify).
    pub fn from_options(recursive: bool, filesystem: bool, fanotify: bool) -> Recursion {
        match (recursive || filesystem, fanotify) {
            (false, _) => Recursion::Off,
            (true, false) => Recursion::Tree(Backend::Inotify),
            (true, true) => Recursion::Tree(Backend::Fanotify),
        }
    }
}

/// The plain watcher of a run, after checking that the tree's watcher can be had too
/// (it is made once the options are all read); `Err` with the exit code, said.
pub fn new_watcher(recursion: Recursion) -> Result<inotify_raw::Watcher, i32> {
    let watcher =
        inotify_raw::Watcher::new().map_err(|error| init_failed(Backend::Inotify, &error))?;
    let no_roots: [&Path; 0] = [];
    match recursion {
        Recursion::Off => {}
        Recursion::Tree(Backend::Inotify) => {
            inotify_raw::Inotify::new()
                .map_err(|error| init_failed(Backend::Inotify, &error.into()))?;
        }
        Recursion::Tree(Backend::Fanotify) => {
            FsWatcher::builder()
                .watch(no_roots)
                .map_err(|error| init_failed(Backend::Fanotify, &error))?;
        }
    }
    Ok(watcher)
}

/// The watches of a run, with no path yet: with `recursion`, a tree for the events of
/// `events`, kept out of what the list's `@` entries and `filter` exclude. An error is
/// said (through `say`); `Err` with the exit code.
pub fn start_watches(
    watcher: inotify_raw::Watcher,
    recursion: Recursion,
    events: u32,
    list: &PathList,
    filter: Option<&Filter>,
    say: &dyn Fn(&[String]),
) -> Result<Watches, i32> {
    let no_roots: [&Path; 0] = [];
    let tree = match recursion {
        Recursion::Off => None,
        Recursion::Tree(Backend::Inotify) => Some(TreeSource::Inotify(
            tree_builder(events, list, filter)
                .watch(no_roots)
                .map_err(|error| init_failed(Backend::Inotify, &error))?,
        )),
        Recursion::Tree(Backend::Fanotify) => Some(TreeSource::Fanotify(
            fs_builder(events, list, filter)
                .watch(no_roots)
                .map_err(|error| init_failed(Backend::Fanotify, &error))?,
        )),
    };
    let oneshot = events & WatchMask::ONESHOT.bits() != 0;
    Watches::new(watcher, tree, oneshot).map_err(|error| {
        say(&[error_message(&error)]);
        EXIT_FAILURE
    })
}

/// What a tool says when `path` cannot be watched: inotify-tools' lines at the watch
/// limit, or `FAILED PATH: MESSAGE` (inotifywait's `failed` is "Couldn't watch",
/// inotifywatch's "Failed to watch").
pub fn watch_failed_lines(failed: &str, path: &[u8], error: &io::Error) -> Vec<String> {
    if errno_of(error) == Some(Errno::ENOSPC) {
        return watch_limit_lines(&show(path), None);
    }
    vec![format!(
        "{} {}: {}",
        failed,
        show(path),
        error_message(error)
    )]
}

/// Says what the tree's setup left to say (through `say`), and fails the setup at the
/// watch limit, as it fails inotify-tools'; `Err` with the exit code.
pub fn say_setup_notices(watches: &mut Watches, say: &dyn Fn(&[String])) -> Result<(), i32> {
    let notices = watches.setup_notices().map_err(|error| {
        say(&[error_message(&io::Error::from(error))]);
        EXIT_FAILURE
    })?;
    for notice in notices {
        say(&notice.lines(true));
        if let Notice::WatchLimit { .. } = notice {
            return Err(EXIT_FAILURE);
        }
    }
    Ok(())
}

/// Bytes of an `OsStr`, for output that must be the name's bytes as they are.
pub fn bytes(s: &OsStr) -> &[u8] {
    s.as_bytes()
}

/// Lossy text of bytes, for messages.
pub fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------
// getopt_long

/// One long option: its name, whether it takes an argument, and the key it reports.
pub struct LongOpt {
    pub name: &'static str,
    pub has_arg: bool,
    pub key: char,
}

impl LongOpt {
    /// `--name`, reported as `key`.
    pub const fn flag(name: &'static str, key: char) -> LongOpt {
        LongOpt {
            name,
            has_arg: false,
            key,
        }
    }

    /// `--name VALUE` (or `--name=VALUE`), reported as `key`.
    pub const fn with_arg(name: &'static str, key: char) -> LongOpt {
        LongOpt {
            name,
            has_arg: true,
            key,
        }
    }
}

/// getopt_long with glibc's rules: options and operands in any order (operands are
/// collected), `--` ends the options, clustered short options (`-mrq`, `-t5`), long
/// options as `--name value` or `--name=value`, and unambiguous abbreviations
/// (`--mon`). Errors are printed as glibc prints them, with the program's name.
pub struct Getopt<'a> {
    program: String,
    args: Vec<OsString>,
    short: &'a str,
    long: &'a [LongOpt],
    at: usize,
    /// The rest of a cluster of short options being read.
    cluster: Vec<u8>,
    pub operands: Vec<OsString>,
}

/// What [`Getopt::next`] found.
pub enum Opt {
    /// An option and its argument.
    Found(char, Option<OsString>),
    /// A bad option (the message is printed): getopt's `'?'`.
    Bad,
}

impl<'a> Getopt<'a> {
    pub fn new(args: Vec<OsString>, short: &'a str, long: &'a [LongOpt]) -> Getopt<'a> {
        let mut args = args.into_iter();
        let program = args
            .next()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        Getopt {
            program,
            args: args.collect(),
            short,
            long,
            at: 0,
            cluster: Vec::new(),
            operands: Vec::new(),
        }
    }

    /// The program's name as it was called (argv[0]).
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Whether `c` is a short option, and whether it takes an argument.
    fn short_spec(&self, c: u8) -> Option<bool> {
        let spec = self.short.as_bytes();
        let at = spec.iter().position(|&s| s == c && c != b':')?;
        Some(spec.get(at + 1) == Some(&b':'))
    }

    /// Everything left after the options are read: the operands, in order.
    pub fn finish(mut self) -> Vec<OsString> {
        while self.at < self.args.len() {
            let arg = self.args[self.at].clone();
            self.at += 1;
            self.operands.push(arg);
        }
        self.operands
    }

    /// The next option, or `None` when no option is left (operands are kept).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Opt> {
        if !self.cluster.is_empty() {
            return Some(self.next_short());
        }
        loop {
            let arg = self.args.get(self.at)?.as_bytes().to_vec();
            self.at += 1;
            if arg == b"--" {
                let rest: Vec<OsString> = self.args.drain(self.at..).collect();
                self.operands.extend(rest);
                return None;
            }
            if arg.len() >= 2 && arg.starts_with(b"--") {
                return Some(self.long_option(&arg[2..]));
            }
            if arg.len() >= 2 && arg[0] == b'-' {
                self.cluster = arg[1..].to_vec();
                return Some(self.next_short());
            }
            self.operands.push(OsString::from_vec(arg));
        }
    }

    fn next_short(&mut self) -> Opt {
        let c = self.cluster.remove(0);
        match self.short_spec(c) {
            None => {
                eprintln!("{}: invalid option -- '{}'", self.program, c as char);
                self.cluster.clear();
                Opt::Bad
            }
            Some(false) => Opt::Found(c as char, None),
            Some(true) => {
                if !self.cluster.is_empty() {
                    let value = std::mem::take(&mut self.cluster);
                    return Opt::Found(c as char, Some(OsString::from_vec(value)));
                }
                match self.args.get(self.at) {
                    Some(value) => {
                        let value = value.clone();
                        self.at += 1;
                        Opt::Found(c as char, Some(value))
                    }
                    None => {
                        eprintln!(
                            "{}: option requires an argument -- '{}'",
                            self.program, c as char
                        );
                        Opt::Bad
                    }
                }
            }
        }
    }

    fn long_option(&mut self, text: &[u8]) -> Opt {
        let (name, value) = match text.iter().position(|&b| b == b'=') {
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        };
        let exact = self.long.iter().find(|o| o.name.as_bytes() == name);
        let found = match exact {
            Some(found) => found,
            None => {
                let matches: Vec<&LongOpt> = self
                    .long
                    .iter()
                    .filter(|o| o.name.as_bytes().starts_with(name))
                    .collect();
                match matches.len() {
                    0 => {
                        eprintln!("{}: unrecognized option '--{}'", self.program, show(text));
                        return Opt::Bad;
                    }
                    1 => matches[0],
                    _ => {
                        let mut message = format!(
                            "{}: option '--{}' is ambiguous; possibilities:",
                            self.program,
                            show(text)
                        );
                        for o in matches {
                            message.push_str(&format!(" '--{}'", o.name));
                        }
                        eprintln!("{}", message);
                        return Opt::Bad;
                    }
                }
            }
        };
        match (found.has_arg, value) {
            (false, Some(_)) => {
                eprintln!(
                    "{}: option '--{}' doesn't allow an argument",
                    self.program, found.name
                );
                Opt::Bad
            }
            (false, None) => Opt::Found(found.key, None),
            (true, Some(value)) => Opt::Found(found.key, Some(OsString::from_vec(value.to_vec()))),
            (true, None) => match self.args.get(self.at) {
                Some(value) => {
                    let value = value.clone();
                    self.at += 1;
                    Opt::Found(found.key, Some(value))
                }
                None => {
                    eprintln!(
                        "{}: option '--{}' requires an argument",
                        self.program, found.name
                    );
                    Opt::Bad
                }
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// Event names

/// One event name (any case) as inotify-tools reads it: its bits, 0 for an empty name,
/// `None` for an unknown one.
fn one_event(name: &[u8]) -> Option<u32> {
    if name.is_empty() {
        return Some(0);
    }
    const NAMES: [(&str, u32); 21] = [
        ("ACCESS", 0x1),
        ("MODIFY", 0x2),
        ("ATTRIB", 0x4),
        ("CLOSE_WRITE", 0x8),
        ("CLOSE_NOWRITE", 0x10),
        ("OPEN", 0x20),
        ("MOVED_FROM", 0x40),
        ("MOVED_TO", 0x80),
        ("CREATE", 0x100),
        ("DELETE", 0x200),
        ("DELETE_SELF", 0x400),
        ("UNMOUNT", 0x2000),
        ("Q_OVERFLOW", 0x4000),
        ("IGNORED", 0x8000),
        ("CLOSE", 0x18),
        ("MOVE_SELF", 0x800),
        ("MOVE", 0xc0),
        ("ISDIR", 0x4000_0000),
        ("ONESHOT", 0x8000_0000),
        ("ALL_EVENTS", ALL_EVENTS),
        // Not an inotify-tools name; never matches (kept out of the table's use).
        ("", 0),
    ];
    NAMES
        .iter()
        .filter(|(n, _)| !n.is_empty())
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|&(_, bits)| bits)
}

/// A comma-separated list of event names, as inotify-tools reads `-e`: the OR of their
/// bits; 0 if a name in it is empty (`modify,`); `None` if one is unknown.
pub fn events_from_str(text: &[u8]) -> Option<u32> {
    let mut bits = 0;
    for name in text.split(|&b| b == b',') {
        match one_event(name)? {
            0 => return Some(0),
            more => bits |= more,
        }
    }
    Some(bits)
}

/// `-e LIST`: adds the events of `LIST` to `events`; an unknown name is refused with
/// inotify-tools' message.
pub fn add_events(events: &mut u32, text: &[u8]) -> Result<(), i32> {
    match events_from_str(text) {
        Some(bits) => {
            *events |= bits;
            Ok(())
        }
        None => {
            eprintln!(
                "'{}' is not a valid event!  Run with the '--help' option to see a list of \
                 events.",
                show(text)
            );
            Err(EXIT_FAILURE)
        }
    }
}

/// An option that may be given once only (`--fromfile`, `--outfile`): a second is
/// refused with inotify-tools' message.
pub fn set_once(slot: &mut Option<OsString>, value: OsString, option: &str) -> Result<(), i32> {
    if slot.is_some() {
        eprintln!("Multiple {} options given.", option);
        return Err(EXIT_FAILURE);
    }
    *slot = Some(value);
    Ok(())
}

/// inotifywait's `%e` (with `sep` between the names): its names in its order, or the
/// mask in hex when none is known.
pub fn events_to_str(mask: EventMask, sep: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for name in mask.inotifywait_events() {
        if !out.is_empty() {
            out.push(sep);
        }
        out.extend_from_slice(name.as_bytes());
    }
    if out.is_empty() {
        out.extend_from_slice(format!("0x{:08x}", mask.bits()).as_bytes());
    }
    out
}

/// The event list of `--help`.
pub const EVENT_DESCRIPTIONS: &str = "\taccess\t\tfile or directory contents were read
\tmodify\t\tfile or directory contents were written
\tattrib\t\tfile or directory attributes changed
\tclose_write\tfile or directory closed, after being opened in
\t           \twritable mode
\tclose_nowrite\tfile or directory closed, after being opened in
\t           \tread-only mode
\tclose\t\tfile or directory closed, regardless of read/write mode
\topen\t\tfile or directory opened
\tmoved_to\tfile or directory moved to watched directory
\tmoved_from\tfile or directory moved from watched directory
\tmove\t\tfile or directory moved to or from watched directory
\tmove_self\t\tA watched file or directory was moved.
\tcreate\t\tfile or directory created within watched directory
\tdelete\t\tfile or directory deleted within watched directory
\tdelete_self\tfile or directory was deleted
\tunmount\t\tfile system containing file or directory unmounted
";

// ---------------------------------------------------------------------------------------
// Timeouts

/// `-t SECONDS` as inotify-tools reads it (strtol, base 10, the whole argument): the
/// seconds, or `None` after printing its message.
pub fn parse_timeout(text: &[u8]) -> Option<u32> {
    if text.is_empty() {
        eprintln!(
            "The provided value is not a valid timeout value.\nPlease specify a long int value."
        );
        return None;
    }
    let invalid = || {
        eprintln!(
            "'{}' is not a valid timeout value.\nPlease specify a long int value.",
            show(text)
        );
    };
    let mut at = 0;
    while at < text.len() && matches!(text[at], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        at += 1;
    }
    let negative = match text.get(at) {
        Some(b'-') => {
            at += 1;
            true
        }
        Some(b'+') => {
            at += 1;
            false
        }
        _ => false,
    };
    let digits_at = at;
    let mut value: i128 = 0;
    let mut overflow = false;
    while let Some(&d) = text.get(at) {
        if !d.is_ascii_digit() {
            break;
        }
        value = value * 10 + i128::from(d - b'0');
        if value > i128::from(i64::MAX) + 1 {
            overflow = true;
            value = i128::from(i64::MAX) + 1;
        }
        at += 1;
    }
    if at == digits_at {
        // No digits: strtol leaves the end at the start.
        invalid();
        return None;
    }
    let value = if negative { -value } else { value };
    if overflow || value > i128::from(i64::MAX) || value < i128::from(i64::MIN) {
        eprintln!(
            "Something went wrong with the timeout value you provided.\n{}",
            strerror(Errno::ERANGE)
        );
        return None;
    }
    if at != text.len() {
        invalid();
        return None;
    }
    // The C tools keep it in an unsigned int.
    Some(value as i64 as u32)
}

// ---------------------------------------------------------------------------------------
// The list of paths

/// The paths to watch and the paths not to (`@PATH`), from `--fromfile` then the
/// operands.
#[derive(Default)]
pub struct PathList {
    pub watch: Vec<Vec<u8>>,
    pub exclude: Vec<Vec<u8>>,
}

impl PathList {
    fn add(&mut self, entry: &[u8]) {
        if entry.is_empty() || entry == b"@" {
            return;
        }
        match entry.strip_prefix(b"@") {
            Some(excluded) => self.exclude.push(excluded.to_vec()),
            None => self.watch.push(entry.to_vec()),
        }
    }

    /// Reads `fromfile` (`-` for standard input), one path a line, then the operands.
    /// A file that cannot be opened is reported and skipped, as inotify-tools does.
    pub fn build(fromfile: Option<&OsStr>, operands: &[OsString]) -> PathList {
        let mut list = PathList::default();
        if let Some(fromfile) = fromfile {
            let text = if fromfile.as_bytes() == b"-" {
                let mut text = Vec::new();
                io::stdin().lock().read_to_end(&mut text).map(|_| text)
            } else {
                std::fs::read(fromfile)
            };
            match text {
                Ok(text) => {
                    for line in text.split(|&b| b == b'\n') {
                        list.add(line);
                    }
                }
                Err(error) => eprintln!(
                    "Couldn't open {}: {}",
                    show(fromfile.as_bytes()),
                    error_message(&error)
                ),
            }
        }
        for operand in operands {
            list.add(operand.as_bytes());
        }
        list
    }

    /// Whether `path` is one of the `@` exclusions (a trailing `/` on either side does
    /// not count).
    pub fn is_excluded(&self, path: &[u8]) -> bool {
        let path = trim_slash(path);
        self.exclude.iter().any(|e| trim_slash(e) == path)
    }
}

fn trim_slash(path: &[u8]) -> &[u8] {
    match path.strip_suffix(b"/") {
        Some(rest) if !rest.is_empty() => rest,
        _ => path,
    }
}

/// Whether `path` is a directory and not a symbolic link (inotify-tools' `isdir`, with
/// `lstat`): such a watch's name gets a trailing `/`.
pub fn is_dir_no_follow(path: &[u8]) -> bool {
    std::fs::symlink_metadata(OsStr::from_bytes(path))
        .map(|meta| meta.is_dir())
        .unwrap_or(false)
}

/// The name inotify-tools gives a watch: the path as given, with a `/` added to a
/// directory's.
pub fn watch_name(path: &[u8]) -> Vec<u8> {
    let mut name = path.to_vec();
    if is_dir_no_follow(path) && !name.ends_with(b"/") {
        name.push(b'/');
    }
    name
}

/// A tree event's `%w`: the directory it happened in, with a trailing `/`.
pub fn dir_name(path: &Path) -> Vec<u8> {
    let mut name = path.as_os_str().as_bytes().to_vec();
    if !name.is_empty() && !name.ends_with(b"/") {
        name.push(b'/');
    }
    name
}

// ---------------------------------------------------------------------------------------
// POSIX extended regular expressions, from the C library, as inotify-tools has them

/// glibc's and musl's `regex_t` are 64 bytes; this is room enough, aligned as theirs.
#[repr(C, align(8))]
struct RegexT([u8; 128]);

const REG_EXTENDED: c_int = 1;
const REG_ICASE: c_int = 2;

extern "C" {
    fn regcomp(preg: *mut RegexT, pattern: *const c_char, cflags: c_int) -> c_int;
    fn regexec(
        preg: *const RegexT,
        string: *const c_char,
        nmatch: usize,
        pmatch: *mut std::ffi::c_void,
        eflags: c_int,
    ) -> c_int;
    fn regfree(preg: *mut RegexT);
}

/// A compiled POSIX extended regular expression: `regcomp(REG_EXTENDED)`, as
/// inotify-tools compiles `--exclude` and its kin, so that both read a pattern alike
/// (back-references, GNU's `\<`, `\>`, `\b`, `\w`, and the rest).
pub struct PosixRegex {
    compiled: Box<RegexT>,
}

// SAFETY: the compiled expression is owned and freed once; `regexec` only reads it and
// is thread-safe (POSIX; glibc's "MT-Safe", musl keeps no state in it).
unsafe impl Send for PosixRegex {}
// SAFETY: as above: `regexec` on a shared `regex_t` is safe from several threads.
unsafe impl Sync for PosixRegex {}

impl PosixRegex {
    /// Compiles `pattern`, case-insensitive with `icase`; `None` if `regcomp` refuses it
    /// (or it holds a NUL).
    pub fn new(pattern: &[u8], icase: bool) -> Option<PosixRegex> {
        let pattern = CString::new(pattern).ok()?;
        let mut compiled = Box::new(RegexT([0; 128]));
        let flags = REG_EXTENDED | if icase { REG_ICASE } else { 0 };
        // SAFETY: `compiled` is writable and larger than the C library's `regex_t`;
        // the pattern is NUL-terminated.
        let status = unsafe { regcomp(&mut *compiled, pattern.as_ptr(), flags) };
        if status != 0 {
            return None; // regcomp frees what it made when it fails
        }
        Some(PosixRegex { compiled })
    }

    /// Whether the expression matches somewhere in `text` (a path: no NUL in it).
    pub fn is_match(&self, text: &[u8]) -> bool {
        let text = match CString::new(text) {
            Ok(text) => text,
            Err(_) => return false,
        };
        // SAFETY: `compiled` was filled by a successful regcomp; `text` is
        // NUL-terminated; no match positions are asked for.
        unsafe { regexec(&*self.compiled, text.as_ptr(), 0, std::ptr::null_mut(), 0) == 0 }
    }
}

impl Drop for PosixRegex {
    fn drop(&mut self) {
        // SAFETY: compiled by a successful regcomp, freed once.
        unsafe { regfree(&mut *self.compiled) }
    }
}

/// A path filter: `--exclude`/`--excludei` (drop what matches) or
/// `--include`/`--includei` (drop what does not).
pub struct Filter {
    regex: std::sync::Arc<PosixRegex>,
    pub invert: bool,
    /// The pattern has an assertion that looks past the end of what it matches (`$`,
    /// `\'`, `\B`), so a match in a directory's path says nothing of the paths below it.
    looks_past_match: bool,
}

impl Filter {
    /// Whether `event` is dropped: the expression looks at its `%w%f`.
    pub fn drops(&self, event: &ToolEvent) -> bool {
        let path = [&event.w[..], &event.f[..]].concat();
        self.regex.is_match(&path) != self.invert
    }

    /// A test, for the tree's `exclude`, of whether every event in and below the
    /// directory at a path (no trailing `/`) is dropped, so that it needs no watch: true
    /// when `--exclude` matches the path with a `/` added and has no assertion that looks
    /// past what it matches. Every path below starts with that text, so it matches too.
    pub fn drops_all_below(&self) -> Option<impl Fn(&[u8]) -> bool + Send + Sync + 'static> {
        if self.invert || self.looks_past_match {
            return None;
        }
        let regex = self.regex.clone();
        Some(move |dir: &[u8]| {
            let mut inside = dir.to_vec();
            inside.push(b'/');
            regex.is_match(&inside)
        })
    }
}

/// The filter of `--exclude`, `--excludei`, `--include` or `--includei` (at most one is
/// given): `Err(())` after printing inotify-tools' message when it does not compile.
pub fn compile_filter(
    exclude: Option<&OsStr>,
    excludei: Option<&OsStr>,
    include: Option<&OsStr>,
    includei: Option<&OsStr>,
) -> Result<Option<Filter>, ()> {
    let (pattern, icase, invert) = match (exclude, excludei, include, includei) {
        (Some(p), _, _, _) => (p, false, false),
        (_, Some(p), _, _) => (p, true, false),
        (_, _, Some(p), _) => (p, false, true),
        (_, _, _, Some(p)) => (p, true, true),
        _ => return Ok(None),
    };
    let pattern = pattern.as_bytes();
    match PosixRegex::new(pattern, icase) {
        Some(regex) => Ok(Some(Filter {
            regex: std::sync::Arc::new(regex),
            invert,
            looks_past_match: pattern.contains(&b'$')
                || pattern
                    .windows(2)
                    .any(|pair| pair == b"\\'" || pair == b"\\B"),
        })),
        None => {
            eprintln!(
                "Error in `{}' regular expression.",
                if invert { "include" } else { "exclude" }
            );
            Err(())
        }
    }
}

// ---------------------------------------------------------------------------------------
// The C library: the clock and strftime, signals, syslog, daemon. `std` links it
// anyway; the crate itself makes its own system calls and needs none of this.

#[repr(C)]
struct Tm {
    tm_sec: c_int,
    tm_min: c_int,
    tm_hour: c_int,
    tm_mday: c_int,
    tm_mon: c_int,
    tm_year: c_int,
    tm_wday: c_int,
    tm_yday: c_int,
    tm_isdst: c_int,
    tm_gmtoff: c_long,
    tm_zone: *const c_char,
}

extern "C" {
    fn time(t: *mut i64) -> i64;
    fn localtime_r(t: *const i64, tm: *mut Tm) -> *mut Tm;
    fn strftime(s: *mut c_char, max: usize, format: *const c_char, tm: *const Tm) -> usize;
    fn signal(signum: c_int, handler: usize) -> usize;
    fn openlog(ident: *const c_char, option: c_int, facility: c_int);
    fn syslog(priority: c_int, format: *const c_char, ...);
    fn daemon(nochdir: c_int, noclose: c_int) -> c_int;
}

pub const SIGHUP: c_int = 1;
pub const SIGINT: c_int = 2;
pub const SIGUSR1: c_int = 10;
pub const SIGPIPE: c_int = 13;
pub const SIGTERM: c_int = 15;
const SIG_DFL: usize = 0;

/// The local time now, formatted by the C library's `strftime` (as inotifywait's `%T`);
/// empty if the result is empty or too long.
pub fn local_time(format: &[u8]) -> Vec<u8> {
    let end = format.iter().position(|&b| b == 0).unwrap_or(format.len());
    let format = match CString::new(&format[..end]) {
        Ok(format) => format,
        Err(_) => return Vec::new(),
    };
    let mut buffer = vec![0u8; 4096];
    // SAFETY: `tm` is a plain C struct that localtime_r fills in; strftime writes at most
    // `buffer.len()` bytes into `buffer` and reads the NUL-terminated format.
    unsafe {
        let now = time(std::ptr::null_mut());
        let mut tm: Tm = std::mem::zeroed();
        if localtime_r(&now, &mut tm).is_null() {
            return Vec::new();
        }
        let n = strftime(
            buffer.as_mut_ptr().cast(),
            buffer.len() - 1,
            format.as_ptr(),
            &tm,
        );
        buffer.truncate(n);
    }
    buffer
}

/// Installs `handler` for `signum` (the C library's `signal`, BSD semantics; a blocked
/// `epoll_wait` still returns `EINTR`).
pub fn on_signal(signum: c_int, handler: extern "C" fn(c_int)) {
    // SAFETY: the handler is an `extern "C" fn(c_int)` that only touches atomics or
    // makes async-signal-safe system calls.
    unsafe {
        signal(signum, handler as usize);
    }
}

/// The write end of the signal wake-up socket (see [`wake_from_signal`]); -1 before
/// [`signal_wakeup`] makes it.
static WAKE_WRITER: AtomicI32 = AtomicI32::new(-1);

/// A socket that becomes readable each time a signal handler calls
/// [`wake_from_signal`]. Its write end stays open for the whole program (one made
/// before is left open too, as a handler may be writing to it).
fn signal_wakeup() -> io::Result<UnixStream> {
    let (reader, writer) = UnixStream::pair()?;
    reader.set_nonblocking(true)?;
    writer.set_nonblocking(true)?;
    WAKE_WRITER.store(writer.into_raw_fd(), Ordering::SeqCst);
    Ok(reader)
}

/// Wakes a wait that [`Watches::wake_on_signals`] set up; async-signal-safe (one
/// `write`, which a full socket only refuses: a wake-up is pending then anyway).
pub fn wake_from_signal() {
    let fd = WAKE_WRITER.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: a write end stored in WAKE_WRITER is never closed.
        let writer = unsafe { BorrowedDescriptor::borrow_raw(fd) };
        let _ = raw::write(writer, b"!");
    }
}

/// Lets `SIGPIPE` end the process, as it ends the C tools (`std` ignores it).
pub fn default_sigpipe() {
    // SAFETY: restoring the default disposition has no preconditions.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

const LOG_PID: c_int = 0x01;
const LOG_CONS: c_int = 0x02;
const LOG_NDELAY: c_int = 0x08;
const LOG_DAEMON: c_int = 3 << 3;
const LOG_INFO: c_int = 6;

/// Opens the system log as `ident` (a NUL-terminated static name).
pub fn open_syslog(ident: &'static [u8]) {
    assert_eq!(ident.last(), Some(&0));
    // SAFETY: `ident` is NUL-terminated and lives for the whole program, as openlog
    // requires.
    unsafe {
        openlog(
            ident.as_ptr().cast(),
            LOG_CONS | LOG_PID | LOG_NDELAY,
            LOG_DAEMON,
        )
    }
}

/// Sends one message to the system log at `LOG_INFO`.
pub fn to_syslog(message: &str) {
    let message = CString::new(message.replace('\0', "")).unwrap_or_default();
    // SAFETY: "%s" with one NUL-terminated string argument.
    unsafe { syslog(LOG_INFO, b"%s\0".as_ptr().cast(), message.as_ptr()) }
}

/// Goes to the background (`daemon(3)`): standard input, output and error on
/// `/dev/null`, a new session, the working directory kept.
pub fn daemonize() -> io::Result<()> {
    // SAFETY: called before any thread is started.
    if unsafe { daemon(1, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The tree

/// A tree for `-r`: delivering the events of `events`, going on at the watch limit (the
/// tools say so), and keeping out what [`tree_exclusion`] says.
pub fn tree_builder(events: u32, list: &PathList, filter: Option<&Filter>) -> TreeBuilder {
    let builder = TreeWatcher::builder()
        .mask(tree_mask(events))
        .keep_going_at_watch_limit(true);
    match tree_exclusion(list, filter) {
        // Both trees ask with the directory's own path.
        Some(excluded) => builder.exclude(move |path: &Path, _name: &OsStr| excluded(path)),
        None => builder,
    }
}

/// A tree for `-S` (or `-F -r`): as [`tree_builder`]'s, with fanotify.
pub fn fs_builder(events: u32, list: &PathList, filter: Option<&Filter>) -> FsBuilder {
    let builder = FsWatcher::builder().mask(tree_mask(events));
    match tree_exclusion(list, filter) {
        Some(excluded) => builder.exclude(move |path: &Path, _name: &OsStr| excluded(path)),
        None => builder,
    }
}

/// The events a tree delivers: the inotify events of `events`, without the flags.
fn tree_mask(events: u32) -> WatchMask {
    WatchMask::from_bits_retain(events) & WatchMask::ALL_EVENTS
}

/// Whether a tree keeps the directory at a path out: when an `@` exclusion names it,
/// or when `--exclude`/`--excludei` drops every event below it (inotify-tools watches
/// it and prints nothing from it). `--include` cannot keep a directory out: something
/// below it may match. `None` when nothing is kept out.
fn tree_exclusion(
    list: &PathList,
    filter: Option<&Filter>,
) -> Option<impl Fn(&Path) -> bool + Send + Sync + 'static> {
    let exclusions = PathList {
        watch: Vec::new(),
        exclude: list.exclude.clone(),
    };
    let prune = filter.and_then(Filter::drops_all_below);
    if exclusions.exclude.is_empty() && prune.is_none() {
        return None;
    }
    Some(move |path: &Path| {
        let path = path.as_os_str().as_bytes();
        exclusions.is_excluded(path) || prune.as_ref().map_or(false, |prune| prune(path))
    })
}

/// inotify-tools' two lines for the watch limit (`what` could not be watched), and one
/// more with the limit's value, how many directories were left out (when known), and
/// how to raise it.
pub fn watch_limit_lines(what: &str, left_out: Option<u64>) -> Vec<String> {
    let now = inotify_raw::Limits::read()
        .map(|limits| format!(" is {} now", limits.max_user_watches))
        .unwrap_or_default();
    let left_out = left_out
        .map(|n| format!("; {} directories are not watched", n))
        .unwrap_or_default();
    vec![
        format!(
            "Failed to watch {}; upper limit on inotify watches reached!",
            what
        ),
        "Please increase the amount of inotify watches allowed per user via \
         `/proc/sys/fs/inotify/max_user_watches'."
            .to_string(),
        format!(
            "(fs.inotify.max_user_watches{}{}: raise it with \
             `sysctl fs.inotify.max_user_watches=N' as root, or in /etc/sysctl.d/ to keep it.)",
            now, left_out
        ),
    ]
}
