//! `Inotify` and the event parser against the kernel: events in order with their names
//! and cookies, the bytes of a real read parsed exactly (and cut short), and the queue's
//! overflow.

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use inotify_raw::{
    Event, EventBuffer, EventMask, Events, InitFlags, Inotify, Limits, MalformedEvent,
    WatchDescriptor, WatchMask, NAME_MAX,
};

use crate::check::{ensure, fail, skip, Context, Failure, Outcome};

/// An event, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub wd: WatchDescriptor,
    pub mask: EventMask,
    pub cookie: u32,
    pub name: Vec<u8>,
}

impl From<Event<'_>> for Seen {
    fn from(event: Event<'_>) -> Seen {
        Seen {
            wd: event.wd(),
            mask: event.mask(),
            cookie: event.cookie(),
            name: event.name().unwrap_or_default().to_vec(),
        }
    }
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.mask)?;
        if !self.name.is_empty() {
            write!(f, " {}", self.name.escape_ascii())?;
        }
        Ok(())
    }
}

/// What `read` appends, read after read, until the kernel says `EAGAIN`.
pub fn until_empty<T>(
    mut read: impl FnMut(&mut Vec<T>) -> Result<(), inotify_raw::Error>,
) -> Result<Vec<T>, Failure> {
    let mut seen = Vec::new();
    loop {
        match read(&mut seen) {
            Ok(()) => {}
            Err(error) if error.is_would_block() => return Ok(seen),
            Err(error) => return Err(error.into()),
        }
    }
}

/// Every event queued on a non-blocking `inotify` now. The kernel queues an event inside
/// the system call that causes it, so after a change returns its events are there.
pub fn read_queued(inotify: &Inotify) -> Result<Vec<Seen>, Failure> {
    let mut buffer = EventBuffer::<4096>::new();
    until_empty(|seen| {
        for event in inotify.read(&mut buffer)? {
            seen.push(Seen::from(event?));
        }
        Ok(())
    })
}

/// `Ok` when `seen` is `expected` (masks and names) and every event is from `wd`.
pub fn expect_events(
    seen: &[Seen],
    wd: WatchDescriptor,
    expected: &[(EventMask, &str)],
) -> Result<(), Failure> {
    let matches = seen.len() == expected.len()
        && seen.iter().zip(expected).all(|(event, (mask, name))| {
            event.wd == wd && event.mask == *mask && event.name == name.as_bytes()
        });
    ensure(matches, || {
        let expected: Vec<String> = expected.iter().map(|(m, n)| format!("{m} {n}")).collect();
        format!(
            "events [{}] on wd {wd}, expected [{}]",
            list(seen),
            expected.join(", ")
        )
    })
}

/// `a, b, c`.
pub fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A watch on a fresh directory reports a write, a rename, a `mkdir` and an `unlink` in
/// order, with their names; the two halves of the rename share a cookie no other event
/// has; `rm_watch` queues `IN_IGNORED`.
pub fn events_in_order(cx: &Context<'_>) -> Outcome {
    let dir = &cx.dir;
    let inotify = Inotify::init(InitFlags::NONBLOCK)?;
    let mask = WatchMask::CREATE
        | WatchMask::MODIFY
        | WatchMask::CLOSE_WRITE
        | WatchMask::MOVED_FROM
        | WatchMask::MOVED_TO
        | WatchMask::DELETE;
    let wd = inotify.add_watch(dir.as_path(), mask)?;
    fs::write(dir.join("a"), b"x")?;
    fs::rename(dir.join("a"), dir.join("b"))?;
    fs::create_dir(dir.join("d"))?;
    fs::remove_file(dir.join("b"))?;
    let seen = read_queued(&inotify)?;
    expect_events(
        &seen,
        wd,
        &[
            (EventMask::CREATE, "a"),
            (EventMask::MODIFY, "a"),
            (EventMask::CLOSE_WRITE, "a"),
            (EventMask::MOVED_FROM, "a"),
            (EventMask::MOVED_TO, "b"),
            (EventMask::CREATE | EventMask::ISDIR, "d"),
            (EventMask::DELETE, "b"),
        ],
    )?;
    let cookies: Vec<u32> = seen.iter().map(|event| event.cookie).collect();
    let cookie = cookies[3];
    ensure(
        cookie != 0 && cookies == [0, 0, 0, cookie, cookie, 0, 0],
        || {
            format!(
                "cookies {cookies:?}: the rename's two halves should share one, the others none"
            )
        },
    )?;

    inotify.rm_watch(wd)?;
    let after = read_queued(&inotify)?;
    expect_events(&after, wd, &[(EventMask::IGNORED, "")])?;
    Ok(format!(
        "{} events in order with their names, the rename's halves paired by cookie {cookie}, \
         {} after rm_watch",
        seen.len(),
        after[0]
    ))
}

/// Names with no UTF-8 and of `NAME_MAX` bytes come out of a real read byte for byte;
/// the same bytes parsed again give the same events; cut short, they end in the right
/// `MalformedEvent` at the right offset, after the whole events before the cut.
pub fn parser_on_kernel_bytes(cx: &Context<'_>) -> Outcome {
    let long = vec![b'n'; NAME_MAX];
    let not_utf8 = b"caf\xe9-\xff\xfe".to_vec();
    let names = [not_utf8, long, b"z".to_vec()];
    let inotify = Inotify::init(InitFlags::NONBLOCK)?;
    let wd = inotify.add_watch(cx.dir.as_path(), WatchMask::CREATE)?;
    for name in &names {
        fs::write(cx.dir.join(OsStr::from_bytes(name)), b"")?;
    }
    let mut buffer = EventBuffer::<4096>::new();
    let bytes = inotify.read(&mut buffer)?.remainder().to_vec();

    let events = parse_all(&bytes)?;
    let got: Vec<&[u8]> = events.iter().map(|event| event.name.as_slice()).collect();
    ensure(
        got == names.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        || format!("names {:?}, expected {:?}", escaped(&got), escaped(&names)),
    )?;
    ensure(
        events
            .iter()
            .all(|event| event.wd == wd && event.mask == EventMask::CREATE),
        || {
            format!(
                "events [{}], all IN_CREATE on wd {wd} expected",
                list(&events)
            )
        },
    )?;
    let spans: Vec<usize> = Events::new(&bytes)
        .flatten()
        .map(|event| event.span_len())
        .collect();
    ensure(spans.iter().sum::<usize>() == bytes.len(), || {
        format!(
            "spans {spans:?} do not add up to the {} bytes read",
            bytes.len()
        )
    })?;

    // Cut inside the second event's header, then inside its name.
    let first = spans[0];
    expect_cut(
        &bytes[..first + 10],
        MalformedEvent::TruncatedHeader {
            offset: first,
            available: 10,
        },
    )?;
    let name_len = u32::try_from(spans[1] - inotify_raw::EVENT_HEADER_LEN).map_err(fail)?;
    expect_cut(
        &bytes[..first + 20],
        MalformedEvent::TruncatedName {
            offset: first,
            name_len,
        },
    )?;
    Ok(format!(
        "{} bytes from one read: names of {} bytes (not UTF-8), {} and {} parsed exactly, \
         spans {spans:?}; cut at {} and {} bytes: TruncatedHeader, TruncatedName at offset {first}",
        bytes.len(),
        names[0].len(),
        names[1].len(),
        names[2].len(),
        first + 10,
        first + 20
    ))
}

/// The events in `bytes`, all of them whole.
fn parse_all(bytes: &[u8]) -> Result<Vec<Seen>, Failure> {
    let mut seen = Vec::new();
    for event in Events::new(bytes) {
        seen.push(Seen::from(event?));
    }
    Ok(seen)
}

/// `bytes` parse into one whole event, then `error`, which leaves the rest unparsed and
/// ends the iteration.
fn expect_cut(bytes: &[u8], error: MalformedEvent) -> Result<(), Failure> {
    let mut events = Events::new(bytes);
    let first = events.next().map(|event| event.is_ok());
    let second = events.next().map(Result::err);
    let rest = events.remainder().len();
    let ended = events.next().is_none();
    ensure(
        first == Some(true) && second == Some(Some(error)) && ended,
        || {
            format!(
                "{} bytes: whole first event {first:?}, then {second:?}, then the end {ended}; \
             expected one event, then {error:?}",
                bytes.len()
            )
        },
    )?;
    ensure(rest == bytes.len() - error_offset(error), || {
        format!("{rest} bytes left unparsed after {error:?}")
    })
}

fn error_offset(error: MalformedEvent) -> usize {
    match error {
        MalformedEvent::TruncatedHeader { offset, .. }
        | MalformedEvent::TruncatedName { offset, .. } => offset,
    }
}

fn escaped<T: AsRef<[u8]>>(names: &[T]) -> Vec<String> {
    names
        .iter()
        .map(|name| name.as_ref().escape_ascii().to_string())
        .collect()
}

/// The kernel's queue for one instance, cut to 16 events (`max_queued_events`, read
/// when the instance is made), overflows: 16 events, then one `IN_Q_OVERFLOW` with
/// watch descriptor -1 and no name, and nothing after. `Limits` reads the lowered value.
pub fn queue_overflow(cx: &Context<'_>) -> Outcome {
    const QUEUE: u64 = 16;
    if !cx.settings.as_init {
        return Err(skip(
            "it lowers fs.inotify.max_queued_events for a moment, which only /init may do to its machine",
        ));
    }
    let (inotify, limits) = with_queue_limit(QUEUE, || {
        Ok((Inotify::init(InitFlags::NONBLOCK)?, Limits::read()?))
    })?;
    ensure(limits.max_queued_events == QUEUE, || {
        format!(
            "Limits::read gave max_queued_events {}, {QUEUE} was written",
            limits.max_queued_events
        )
    })?;
    let wd = inotify.add_watch(cx.dir.as_path(), WatchMask::CREATE)?;
    let made = 40;
    for i in 0..made {
        fs::write(cx.dir.join(format!("f{i:02}")), b"")?;
    }
    let seen = read_queued(&inotify)?;
    let names: Vec<String> = (0..QUEUE).map(|i| format!("f{i:02}")).collect();
    let mut expected: Vec<(EventMask, &str)> = names
        .iter()
        .map(|n| (EventMask::CREATE, n.as_str()))
        .collect();
    expected.push((EventMask::Q_OVERFLOW, ""));
    let (before, overflow) = seen.split_at(seen.len().saturating_sub(1));
    expect_events(before, wd, &expected[..expected.len() - 1])?;
    expect_events(
        overflow,
        WatchDescriptor::from_raw(-1),
        &expected[expected.len() - 1..],
    )?;
    Ok(format!(
        "{made} files made, {} events read: the first {QUEUE} creations, then {} on wd -1",
        seen.len(),
        overflow[0]
    ))
}

/// Runs `make` with `fs.inotify.max_queued_events` set to `limit`, and puts the old
/// value back, whatever `make` returns.
fn with_queue_limit<T>(
    limit: u64,
    make: impl FnOnce() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let file = Path::new("/proc/sys/fs/inotify/max_queued_events");
    let old = fs::read_to_string(file)?;
    fs::write(file, limit.to_string())?;
    let made = make();
    fs::write(file, old.trim())?;
    made
}
