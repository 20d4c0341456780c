//! Watches a directory and prints one line per event until interrupted.
//!
//! ```text
//! cargo run --example watch -- /tmp
//! ```
//!
//! Each line reads `WD MASK-NAMES [cookie=N] NAME`. Uses the allocation-free core:
//! an `EventWaiter` with a one-second block duration and a stack buffer.

use std::io::Write;

use inotify_raw::{EventBuffer, EventWaiter, Inotify, Wait, WatchMask, DEFAULT_BLOCK_DURATION};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os().nth(1).unwrap_or_else(|| ".".into());
    let inotify = Inotify::new()?;
    inotify
        .add_watch(dir.as_os_str(), WatchMask::ALL_EVENTS)
        .map_err(|e| format!("cannot watch {}: {}", dir.to_string_lossy(), e))?;
    eprintln!("watching {} (Ctrl-C to stop)", dir.to_string_lossy());

    let mut waiter = EventWaiter::new(inotify, Some(DEFAULT_BLOCK_DURATION))?;
    let mut buffer = EventBuffer::<65536>::new();
    let stdout = std::io::stdout();
    loop {
        if let Wait::Events(events) = waiter.wait(&mut buffer)? {
            let mut out = stdout.lock();
            for event in events {
                let event = event?;
                write!(out, "{} ", event.wd())?;
                for (i, name) in event.mask().kernel_names().enumerate() {
                    write!(out, "{}{}", if i == 0 { "" } else { "," }, name)?;
                }
                if event.cookie() != 0 {
                    write!(out, " cookie={}", event.cookie())?;
                }
                if let Some(name) = event.name() {
                    out.write_all(b" ")?;
                    out.write_all(name)?;
                }
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
}
