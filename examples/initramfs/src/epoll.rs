//! `Epoll` and `EventWaiter` against the kernel: a quiet wait times out no sooner than
//! asked, a blocked wait is woken by an event made on another thread, and a waiter's
//! cycle goes timed out, events, drained.

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use inotify_raw::{
    Epoll, EpollEvent, EventBuffer, EventMask, EventWaiter, InitFlags, Inotify, OnInterrupt,
    Readiness, Wait, WatchMask,
};

use crate::check::{ensure, fail, ms, Context, Failure, Outcome, TIMEOUT};
use crate::inotify::{expect_events, read_queued, Seen};
use crate::observe::{await_blocked_in_syscall, this_thread};

/// How long a wait on a quiet directory lasts.
const QUIET: Duration = Duration::from_millis(50);

/// The token the inotify instance is registered with.
const TOKEN: u64 = 7;

pub fn wakes_a_blocked_wait(cx: &Context<'_>) -> Outcome {
    let inotify = Inotify::init(InitFlags::NONBLOCK)?;
    let wd = inotify.add_watch(cx.dir.as_path(), WatchMask::CREATE)?;
    let epoll = Epoll::new()?;
    epoll.add(&inotify, Readiness::IN, TOKEN)?;
    let mut ready = [EpollEvent::default(); 4];

    let start = Instant::now();
    let n = epoll.wait(&mut ready, Some(QUIET), OnInterrupt::Retry)?;
    let quiet = start.elapsed();
    ensure(n == 0 && quiet >= QUIET, || {
        format!(
            "a quiet wait of {} returned {n} after {}",
            ms(QUIET),
            ms(quiet)
        )
    })?;

    // Another thread makes the file once this one is blocked in epoll_pwait.
    let task = this_thread()?;
    let file = cx.dir.join("new");
    let maker = thread::spawn(move || -> Result<(), Failure> {
        await_blocked_in_syscall(&task)?;
        fs::write(file, b"")?;
        Ok(())
    });
    let start = Instant::now();
    let n = epoll.wait(&mut ready, Some(TIMEOUT), OnInterrupt::Retry)?;
    let woken = start.elapsed();
    maker
        .join()
        .map_err(|_| fail("the thread making the file panicked"))??;
    let report = ready[0];
    ensure(
        n == 1 && report.token() == TOKEN && report.readiness().contains(Readiness::IN),
        || {
            format!(
                "the wait returned {n}, first {:?} (token {})",
                report.readiness(),
                report.token()
            )
        },
    )?;
    expect_events(&read_queued(&inotify)?, wd, &[(EventMask::CREATE, "new")])?;
    epoll.delete(&inotify)?;
    Ok(format!(
        "a quiet wait returned 0 after {}; a blocked wait was woken by a creation on another \
         thread after {}, token {TOKEN}, readable, IN_CREATE new",
        ms(quiet),
        ms(woken)
    ))
}

pub fn event_waiter_cycles(cx: &Context<'_>) -> Outcome {
    let inotify = Inotify::new()?;
    let wd = inotify.add_watch(cx.dir.as_path(), WatchMask::CREATE | WatchMask::CLOSE_WRITE)?;
    let mut waiter = EventWaiter::new(inotify, Some(QUIET))?;
    let mut buffer = EventBuffer::<4096>::new();
    let first = waiter.wait(&mut buffer)?;
    ensure(matches!(first, Wait::TimedOut), || {
        format!("a quiet directory gave {first:?}, expected TimedOut")
    })?;

    fs::write(cx.dir.join("report"), b"done")?;
    let mut seen = Vec::new();
    let mut steps = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let wait = waiter.wait(&mut buffer)?;
        steps.push(step_name(&wait));
        match wait {
            Wait::Events(events) => {
                for event in events {
                    seen.push(Seen::from(event?));
                }
            }
            Wait::Drained => break,
            Wait::TimedOut | Wait::Interrupted => {}
        }
        if Instant::now() >= deadline {
            return Err(fail(format!("no Drained within {TIMEOUT:?}: {steps:?}")));
        }
    }
    expect_events(
        &seen,
        wd,
        &[
            (EventMask::CREATE, "report"),
            (EventMask::CLOSE_WRITE, "report"),
        ],
    )?;
    ensure(steps == ["Events", "Drained"], || {
        format!("the cycle went {steps:?}")
    })?;
    Ok(format!(
        "TimedOut on a quiet directory, then {steps:?} with IN_CREATE and IN_CLOSE_WRITE of report"
    ))
}

fn step_name<E>(wait: &Wait<E>) -> &'static str {
    match wait {
        Wait::Events(_) => "Events",
        Wait::Drained => "Drained",
        Wait::TimedOut => "TimedOut",
        Wait::Interrupted => "Interrupted",
    }
}
