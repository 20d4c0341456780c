//! What `inotifywait` and `inotifywatch` share: inotify-tools' command line (getopt_long's
//! rules and messages), event names, timeouts, the list of paths, POSIX extended regular
//! expressions, the C library's clock, signals and syslog, and the tree's options.
//!
//! Each example includes this file with `#[path = "tools/mod.rs"] mod tools;`, so each
//! uses only a part of it.
#![allow(dead_code)]

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Read};
use std::os::raw::{c_char, c_int, c_long};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use std::collections::VecDeque;

use inotify_raw::{Errno, EventMask, Origin, TreeBuilder, TreeWatcher, WatchMask};

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
// POSIX extended regular expressions

/// A path filter: `--exclude`/`--excludei` (drop what matches) or
/// `--include`/`--includei` (drop what does not).
pub struct Filter {
    pub regex: regex::bytes::Regex,
    pub invert: bool,
}

impl Filter {
    /// Whether an event whose `%w%f` is `path` is dropped.
    pub fn drops(&self, path: &[u8]) -> bool {
        self.regex.is_match(path) != self.invert
    }
}

/// Compiles a POSIX extended regular expression (as `regcomp(REG_EXTENDED)` in the C
/// locale reads it) for the `regex` crate; `None` if it is not valid.
pub fn posix_regex(pattern: &[u8], icase: bool) -> Option<regex::bytes::Regex> {
    let translated = translate_ere(pattern)?;
    let flags = if icase { "(?s-u)(?i)" } else { "(?s-u)" };
    regex::bytes::Regex::new(&format!("{}{}", flags, translated)).ok()
}

/// One byte as the `regex` crate's syntax writes it literally.
fn push_literal(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'_' || b == b' ' || b == b'/' {
        out.push(b as char);
    } else {
        out.push_str(&format!("\\x{:02X}", b));
    }
}

/// POSIX ERE to the `regex` crate's syntax: bracket expressions (a leading `]` is a
/// member, `\` is literal inside), GNU's `\<`, `\>`, `\w`, `\s`, `\b`, other escapes
/// literal, intervals (`{,n}` too), an unmatched `)` or a `}` literal. Back
/// references are not supported (`None`).
fn translate_ere(pattern: &[u8]) -> Option<String> {
    let mut out = String::new();
    // Where the open groups start in `out`.
    let mut groups: Vec<usize> = Vec::new();
    // Where the last atom starts in `out`, if what came last can take a repetition (not
    // at the start, nor after `^`, `$`, `(` or `|`: glibc refuses a repetition there).
    let mut atom: Option<usize> = None;
    // The last token was a repetition: another one repeats the repeated atom (`a+?` is
    // `(a+)?` in POSIX, not a lazy `a+`).
    let mut repeated = false;
    let mut i = 0;
    while i < pattern.len() {
        let b = pattern[i];
        if matches!(b, b'*' | b'+' | b'?' | b'{') {
            let start = atom?;
            if repeated {
                out.insert_str(start, "(?:");
                out.push(')');
            }
            repeated = true;
            if b == b'{' {
                // {m}, {m,}, {m,n} or {,n}; anything else is an error, as in glibc.
                let rest = &pattern[i + 1..];
                let end = rest.iter().position(|&c| c == b'}')?;
                let inside = std::str::from_utf8(&rest[..end]).ok()?;
                let (low, high) = match inside.split_once(',') {
                    Some((low, high)) => (low, Some(high)),
                    None => (inside, None),
                };
                let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
                if !digits(low) || !high.map_or(true, digits) || (low.is_empty() && high.is_none())
                {
                    return None;
                }
                out.push('{');
                out.push_str(if low.is_empty() { "0" } else { low });
                if let Some(high) = high {
                    out.push(',');
                    out.push_str(high);
                }
                out.push('}');
                i += end + 2;
            } else {
                out.push(b as char);
                i += 1;
            }
            continue;
        }
        repeated = false;
        let here = out.len();
        atom = Some(here);
        match b {
            b'\\' => {
                let next = *pattern.get(i + 1)?;
                i += 1;
                match next {
                    b'<' => out.push_str(r"\b{start}"),
                    b'>' => out.push_str(r"\b{end}"),
                    b'`' => out.push_str(r"\A"),
                    b'\'' => out.push_str(r"\z"),
                    b'w' | b'W' | b's' | b'S' | b'b' | b'B' => {
                        out.push('\\');
                        out.push(next as char);
                    }
                    b'1'..=b'9' => return None,
                    other => push_literal(&mut out, other),
                }
            }
            b'[' => {
                let (class, end) = translate_bracket(pattern, i)?;
                out.push_str(&class);
                i = end;
                continue;
            }
            b'(' => {
                groups.push(here);
                out.push('(');
                atom = None;
            }
            b')' => match groups.pop() {
                Some(start) => {
                    out.push(')');
                    atom = Some(start);
                }
                None => push_literal(&mut out, b')'),
            },
            b'|' | b'^' | b'$' => {
                out.push(b as char);
                atom = None;
            }
            b'.' => out.push('.'),
            other => push_literal(&mut out, other),
        }
        i += 1;
    }
    if !groups.is_empty() {
        return None;
    }
    Some(out)
}

/// A bracket expression starting at `pattern[start] == b'['`: the class in the `regex`
/// crate's syntax and the index after its `]`.
fn translate_bracket(pattern: &[u8], start: usize) -> Option<(String, usize)> {
    let mut i = start + 1;
    let mut out = String::from("[");
    if pattern.get(i) == Some(&b'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    // Members: (low, high) byte ranges, or named classes.
    loop {
        let b = *pattern.get(i)?;
        if b == b']' && !first {
            i += 1;
            break;
        }
        first = false;
        if b == b'[' {
            if let Some(&kind) = pattern.get(i + 1) {
                if matches!(kind, b':' | b'=' | b'.') {
                    let body_at = i + 2;
                    let end = pattern[body_at..]
                        .windows(2)
                        .position(|w| w[0] == kind && w[1] == b']')?;
                    let body = &pattern[body_at..body_at + end];
                    i = body_at + end + 2;
                    if kind == b':' {
                        let name = std::str::from_utf8(body).ok()?;
                        const CLASSES: [&str; 12] = [
                            "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print",
                            "punct", "space", "upper", "xdigit",
                        ];
                        if !CLASSES.contains(&name) {
                            return None;
                        }
                        out.push_str(&format!("[:{}:]", name));
                    } else {
                        // A collating element or equivalence class: its single byte.
                        if body.len() != 1 {
                            return None;
                        }
                        push_class_literal(&mut out, body[0]);
                    }
                    continue;
                }
            }
        }
        // A range a-b (a '-' before the closing ']' is a member).
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).map_or(false, |&c| c != b']') {
            let high = pattern[i + 2];
            if high < b {
                return None;
            }
            push_class_literal(&mut out, b);
            out.push('-');
            push_class_literal(&mut out, high);
            i += 3;
            continue;
        }
        push_class_literal(&mut out, b);
        i += 1;
    }
    out.push(']');
    Some((out, i))
}

fn push_class_literal(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'_' {
        out.push(b as char);
    } else {
        out.push_str(&format!("\\x{:02X}", b));
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
    match posix_regex(pattern.as_bytes(), icase) {
        Some(regex) => Ok(Some(Filter { regex, invert })),
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
/// tools say so), and keeping out the directories that an `@` exclusion names or that
/// `--exclude`/`--excludei` matches (whose events inotify-tools drops anyway, so they
/// need no watch). `--include` cannot keep a directory out: something below it may match.
pub fn tree_builder(events: u32, list: &PathList, filter: Option<&Filter>) -> TreeBuilder {
    let exclusions = PathList {
        watch: Vec::new(),
        exclude: list.exclude.clone(),
    };
    let prune = filter.filter(|f| !f.invert).map(|f| f.regex.clone());
    let mut builder = TreeWatcher::builder()
        .mask(WatchMask::from_bits_retain(events) & WatchMask::ALL_EVENTS)
        .keep_going_at_watch_limit(true);
    if !exclusions.exclude.is_empty() || prune.is_some() {
        builder = builder.exclude(move |path: &Path, _name: &OsStr| {
            let path = path.as_os_str().as_bytes();
            exclusions.is_excluded(path) || prune.as_ref().map_or(false, |r| r.is_match(path))
        });
    }
    builder
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
