//! `Epoll` and `EventWaiter` against the real kernel, plus the per-architecture layout of
//! `struct epoll_event` and the timeout conversion.
#![cfg(feature = "std")]

mod common;

use std::fs::File;
use std::time::{Duration, Instant};

use common::{TempDir, EVENT_TIMEOUT};
use inotify_raw::{
    Call, Epoll, EpollEvent, Errno, Error, EventBuffer, EventMask, EventWaiter, InitFlags, Inotify,
    OnInterrupt, Readiness, Wait, WatchMask,
};

const SHORT: Duration = Duration::from_millis(50);

fn ctl_error(errno: Errno) -> Error {
    Error::Syscall {
        call: Call::EpollCtl,
        errno,
        limit: None,
    }
}

/// An inotify instance (non-blocking, so a test can never hang in `read`) watching a
/// fresh directory for `IN_CREATE`.
fn watched_dir() -> (TempDir, Inotify) {
    let dir = TempDir::new();
    let inotify = Inotify::init(InitFlags::NONBLOCK).unwrap();
    inotify.add_watch(dir.path(), WatchMask::CREATE).unwrap();
    (dir, inotify)
}

/// Reads everything queued on a non-blocking instance; returns how many events.
fn drain(inotify: &Inotify) -> usize {
    let mut buffer = EventBuffer::<4096>::new();
    let mut count = 0;
    loop {
        match inotify.read(&mut buffer) {
            Ok(events) => count += events.count(),
            Err(error) if error.is_would_block() => return count,
            Err(error) => panic!("read: {}", error),
        }
    }
}

/// The only test that asserts a measured time, and only as a lower bound: a wait with
/// nothing to report lasts at least its timeout (rounded up to a whole millisecond).
#[test]
#[cfg_attr(miri, ignore)]
fn wait_with_nothing_ready_times_out_with_zero_events() {
    let (_dir, inotify) = watched_dir();
    let epoll = Epoll::new().unwrap();
    epoll.add(&inotify, Readiness::IN, 1).unwrap();
    let mut ready = [EpollEvent::default(); 4];

    for on_interrupt in [OnInterrupt::Return, OnInterrupt::Retry] {
        let start = Instant::now();
        let n = epoll.wait(&mut ready, Some(SHORT), on_interrupt).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(n, 0, "{:?}: nothing was ready", on_interrupt);
        assert!(
            elapsed >= SHORT,
            "{:?}: waited {:?}, less than the {:?} timeout",
            on_interrupt,
            elapsed,
            SHORT
        );
    }

    // A sub-millisecond timeout rounds up to 1 ms: it waits, it does not poll.
    let start = Instant::now();
    let n = epoll
        .wait(
            &mut ready,
            Some(Duration::from_micros(100)),
            OnInterrupt::Return,
        )
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(n, 0);
    assert!(elapsed >= Duration::from_millis(1), "waited {:?}", elapsed);

    // A zero timeout polls.
    assert_eq!(
        epoll
            .wait(&mut ready, Some(Duration::ZERO), OnInterrupt::Return)
            .unwrap(),
        0
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_pending_event_makes_its_descriptor_ready_with_its_token() {
    let (dir, busy) = watched_dir();
    let (_idle_dir, idle) = watched_dir();
    let epoll = Epoll::new().unwrap();
    epoll.add(&busy, Readiness::IN, 0xb05e).unwrap();
    epoll.add(&idle, Readiness::IN, 0x1d1e).unwrap();
    File::create(dir.join("f")).unwrap();

    let mut ready = [EpollEvent::default(); 4];
    // Level-triggered: reported again and again until the event is read.
    for _ in 0..2 {
        let n = epoll
            .wait(&mut ready, Some(EVENT_TIMEOUT), OnInterrupt::Retry)
            .unwrap();
        assert_eq!(
            n, 1,
            "only the instance with an event is ready: {:?}",
            ready
        );
        assert_eq!(ready[0].token(), 0xb05e);
        assert_eq!(ready[0].readiness(), Readiness::IN);
    }

    assert_eq!(drain(&busy), 1);
    let n = epoll
        .wait(&mut ready, Some(Duration::ZERO), OnInterrupt::Return)
        .unwrap();
    assert_eq!(n, 0, "nothing is ready once the event is read");
}

#[test]
#[cfg_attr(miri, ignore)]
fn add_modify_delete() {
    let (dir, inotify) = watched_dir();
    let fd = &inotify;
    let epoll = Epoll::new().unwrap();
    let mut ready = [EpollEvent::default(); 2];
    let mut poll = |timeout: Duration| -> Vec<(u64, Readiness)> {
        let n = epoll
            .wait(&mut ready, Some(timeout), OnInterrupt::Retry)
            .unwrap();
        ready[..n]
            .iter()
            .map(|e| (e.token(), e.readiness()))
            .collect()
    };

    epoll.add(fd, Readiness::IN, 1).unwrap();
    assert_eq!(
        epoll.add(fd, Readiness::IN, 1),
        Err(ctl_error(Errno::EEXIST))
    );
    File::create(dir.join("a")).unwrap();
    assert_eq!(poll(EVENT_TIMEOUT), [(1, Readiness::IN)]);

    // A new token.
    epoll.modify(fd, Readiness::IN, 2).unwrap();
    assert_eq!(poll(EVENT_TIMEOUT), [(2, Readiness::IN)]);

    // inotify is never writable: watching for OUT only, a pending event is not reported.
    epoll.modify(fd, Readiness::OUT, 3).unwrap();
    assert_eq!(poll(Duration::ZERO), []);

    // Edge-triggered: reported once, then not again until a new event comes.
    epoll
        .modify(fd, Readiness::IN | Readiness::EDGE_TRIGGERED, 4)
        .unwrap();
    assert_eq!(poll(EVENT_TIMEOUT), [(4, Readiness::IN)]);
    assert_eq!(poll(Duration::ZERO), []);
    File::create(dir.join("b")).unwrap();
    assert_eq!(poll(EVENT_TIMEOUT), [(4, Readiness::IN)]);

    epoll.delete(fd).unwrap();
    assert_eq!(
        poll(Duration::ZERO),
        [],
        "deleted: not reported although readable"
    );
    assert_eq!(drain(&inotify), 2, "both events were still queued");
    assert_eq!(epoll.delete(fd), Err(ctl_error(Errno::ENOENT)));
    assert_eq!(
        epoll.modify(fd, Readiness::IN, 5),
        Err(ctl_error(Errno::ENOENT))
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn event_waiter_times_out_then_gives_batches_then_one_drained() {
    let dir = TempDir::new();
    let inotify = Inotify::new().unwrap();
    assert_eq!(inotify.is_nonblocking(), Ok(false));
    let wd = inotify.add_watch(dir.path(), WatchMask::CREATE).unwrap();
    let mut waiter = EventWaiter::new(inotify, Some(SHORT)).unwrap();
    assert_eq!(waiter.block_duration(), Some(SHORT));
    assert_eq!(
        waiter.inotify().is_nonblocking(),
        Ok(true),
        "the waiter makes the instance non-blocking"
    );
    let mut buffer = EventBuffer::<4096>::new();

    assert!(matches!(waiter.wait(&mut buffer).unwrap(), Wait::TimedOut));

    // 300 events of 32 bytes: more than two 4096-byte reads' worth.
    const FILES: usize = 300;
    for i in 0..FILES {
        File::create(dir.join(format!("f{:03}", i))).unwrap();
    }
    waiter.set_block_duration(Some(EVENT_TIMEOUT));
    let mut names = Vec::new();
    let mut batches = 0;
    loop {
        match waiter.wait(&mut buffer).unwrap() {
            Wait::Events(events) => {
                batches += 1;
                assert!(!events.is_empty(), "an empty batch");
                for event in events {
                    let event = event.unwrap();
                    assert_eq!(event.wd(), wd);
                    assert_eq!(event.mask(), EventMask::CREATE);
                    names.push(event.name().unwrap().to_vec());
                }
            }
            Wait::Drained => break,
            other => panic!("{:?} while {} events were queued", other, FILES),
        }
        assert!(batches <= FILES, "the cycle never ends");
    }
    let expected: Vec<Vec<u8>> = (0..FILES)
        .map(|i| format!("f{:03}", i).into_bytes())
        .collect();
    assert_eq!(names, expected);
    assert!(batches >= 3, "{} batches for {} bytes", batches, FILES * 32);

    // Exactly one Drained ends the cycle: the next wait starts a new one, which finds
    // nothing.
    waiter.set_block_duration(Some(SHORT));
    assert!(matches!(waiter.wait(&mut buffer).unwrap(), Wait::TimedOut));

    // A second cycle works the same way.
    waiter.set_block_duration(Some(EVENT_TIMEOUT));
    File::create(dir.join("again")).unwrap();
    match waiter.wait(&mut buffer).unwrap() {
        Wait::Events(events) => {
            let names: Vec<&[u8]> = events.map(|e| e.unwrap().name().unwrap()).collect();
            assert_eq!(names, [&b"again"[..]]);
        }
        other => panic!("{:?}", other),
    }
    assert!(matches!(waiter.wait(&mut buffer).unwrap(), Wait::Drained));

    let inotify = waiter.into_inotify();
    assert_eq!(inotify.is_nonblocking(), Ok(true));
    let error = inotify.read(&mut buffer).map(|e| e.count()).unwrap_err();
    assert!(error.is_would_block(), "{}", error);
    assert_eq!(error.errno(), Some(Errno::EAGAIN));
}

#[test]
fn epoll_event_layout_is_the_kernels() {
    #[cfg(target_arch = "x86_64")]
    assert_eq!(std::mem::size_of::<EpollEvent>(), 12, "packed on x86_64");
    #[cfg(target_arch = "aarch64")]
    assert_eq!(
        std::mem::size_of::<EpollEvent>(),
        16,
        "naturally aligned on aarch64"
    );
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    assert_eq!(
        std::mem::size_of::<[EpollEvent; 3]>(),
        3 * std::mem::size_of::<EpollEvent>()
    );

    let event = EpollEvent::new(Readiness::IN | Readiness::HUP, u64::MAX - 1);
    assert_eq!(event.token(), u64::MAX - 1);
    assert_eq!(event.readiness().bits(), 0x011);
    assert!(event.readiness().contains(Readiness::HUP));
    assert!(!event.readiness().intersects(Readiness::OUT));
    assert_eq!(EpollEvent::default().token(), 0);

    // The kernel's values (include/uapi/linux/eventpoll.h).
    assert_eq!(Readiness::IN.bits(), 0x001);
    assert_eq!(Readiness::OUT.bits(), 0x004);
    assert_eq!(Readiness::ERR.bits(), 0x008);
    assert_eq!(Readiness::HUP.bits(), 0x010);
    assert_eq!(Readiness::RDHUP.bits(), 0x2000);
    assert_eq!(Readiness::ONESHOT.bits(), 1 << 30);
    assert_eq!(Readiness::EDGE_TRIGGERED.bits(), 1 << 31);
}

#[test]
#[cfg_attr(miri, ignore)]
fn waiting_with_no_room_for_events_is_refused_with_a_clear_error() {
    let epoll = Epoll::new().unwrap();
    let error = epoll
        .wait(&mut [], Some(Duration::from_millis(1)), OnInterrupt::Return)
        .unwrap_err();
    assert_eq!(error, Error::BufferTooSmall { len: 0, min: 1 });
    assert_eq!(error.errno(), None);
    let message = error.to_string();
    assert!(message.contains("at least one entry"), "{}", message);
}

/// What `epoll_ctl` refuses says why and what to do: a regular file (or a directory)
/// cannot be polled; a descriptor already added is changed with `modify`; one not added
/// is added first.
#[test]
#[cfg_attr(miri, ignore)]
fn a_refused_registration_says_what_to_do() {
    let dir = TempDir::new();
    let epoll = Epoll::new().unwrap();
    let says = |error: Error, errno: Errno, words: &[&str]| {
        assert_eq!(error.errno(), Some(errno), "{}", error);
        let message = error.to_string();
        for word in words {
            assert!(message.contains(word), "{:?} lacks {:?}", message, word);
        }
    };
    let file = File::create(dir.join("regular")).unwrap();
    let refused = epoll.add(&file, Readiness::IN, 1).unwrap_err();
    says(
        refused,
        Errno::EPERM,
        &["regular file", "directory", "cannot be polled"],
    );
    let directory = File::open(dir.path()).unwrap();
    let refused = epoll.add(&directory, Readiness::IN, 1).unwrap_err();
    says(refused, Errno::EPERM, &["cannot be polled"]);

    let (_watched, inotify) = watched_dir();
    epoll.add(&inotify, Readiness::IN, 1).unwrap();
    let twice = epoll.add(&inotify, Readiness::IN, 2).unwrap_err();
    says(twice, Errno::EEXIST, &["already registered", "modify"]);

    epoll.delete(&inotify).unwrap();
    let unknown = epoll.modify(&inotify, Readiness::IN, 3).unwrap_err();
    says(unknown, Errno::ENOENT, &["not registered", "add"]);
}
