//! [`WatchEvents`]: the Python package's `event_gen` as an iterator, over a
//! [`Watcher`] or a [`TreeWatcher`](crate::TreeWatcher).

use std::boxed::Box;
use std::fmt;
use std::time::{Duration, Instant};

use super::event::{FilterStop, WatchError, WatchEvent};
use super::watcher::Watcher;
use crate::mask::{EventMask, NameStyle};

/// Yields owned events one at a time, with `None` at the end of each cycle: what
/// [`WatchEvents`] iterates over. Sealed: not nameable outside the crate.
pub trait EventSource {
    /// The next event, or `None` at the end of a cycle (after a batch of events, or a
    /// block duration with none).
    fn next_owned_event(&mut self) -> Result<Option<WatchEvent>, WatchError>;

    /// Keeps (or, with `None`, forgets) the event that made [`WatchEvents::until`] stop
    /// an iteration.
    fn set_last_filter_stop(&mut self, stop: Option<FilterStop>);
}

type StopWhen<'w> = Box<dyn FnMut(&'static str, &WatchEvent) -> bool + 'w>;

/// The iterator of [`Watcher::events`] and
/// [`TreeWatcher::events`](crate::TreeWatcher::events): the Python package's `event_gen`.
///
/// Yields `Ok(Some(event))` for each event and, unless [`yield_nones`](Self::yield_nones)
/// is off, `Ok(None)` at the end of each cycle (after a batch, or after a block
/// duration with no event). It ends after [`idle_timeout`](Self::idle_timeout) with no
/// event, when [`until`](Self::until) says so, with `Err(WatchError::Terminal { .. })` for an
/// event in the terminal set, and (for a tree) when no root is left.
///
/// The watcher stays reachable through [`get_mut`](Self::get_mut), so the loop can add
/// and remove watches between events:
///
/// ```no_run
/// use inotify_raw::{EventMask, WatchMask, Watcher};
///
/// let mut watcher = Watcher::new()?;
/// watcher.add_watch("/tmp", WatchMask::CREATE)?;
/// let mut events = watcher.events();
/// while let Some(event) = events.next() {
///     if let Some(event) = event? {
///         if event.mask.contains(EventMask::ISDIR) {
///             events.get_mut().add_watch(event.path(), WatchMask::CREATE)?;
///         }
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct WatchEvents<'w, S: EventSource + ?Sized = Watcher> {
    source: &'w mut S,
    idle_timeout: Option<Duration>,
    yield_nones: bool,
    until: Option<StopWhen<'w>>,
    terminal: EventMask,
    last_hit: Instant,
    finished: bool,
}

impl<'w, S: EventSource + ?Sized> WatchEvents<'w, S> {
    /// Iterates over `source`'s events with the Python package's defaults: no timeout,
    /// `None`s yielded, no stop condition, `IN_Q_OVERFLOW` and `IN_UNMOUNT` terminal.
    /// Forgets the source's last filter stop, as a new `event_gen` does.
    pub(crate) fn new(source: &'w mut S) -> Self {
        source.set_last_filter_stop(None);
        WatchEvents {
            source,
            idle_timeout: None,
            yield_nones: true,
            until: None,
            terminal: EventMask::Q_OVERFLOW | EventMask::UNMOUNT,
            last_hit: Instant::now(),
            finished: false,
        }
    }

    /// Ends the iteration once `timeout` passes with no event: the Python package's
    /// `timeout_s`. It is measured from the last event, not from the start.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Whether to yield `None` at the end of each cycle (`yield_nones`, default true).
    pub fn yield_nones(mut self, yield_nones: bool) -> Self {
        self.yield_nones = yield_nones;
        self
    }

    /// Ends the iteration at the first event for which `stop(type_name, event)` is true,
    /// asked once per type name of each event, in ascending bit order. That event is not
    /// yielded; it is kept in the watcher (`last_filter_stop()`).
    ///
    /// The Python package's `filter_predicate` with the answer turned round: its
    /// `filter_predicate=f` is `.until(|t, e| !f(t, e))` here.
    pub fn until<F>(mut self, stop: F) -> Self
    where
        F: FnMut(&'static str, &WatchEvent) -> bool + 'w,
    {
        self.until = Some(Box::new(stop));
        self
    }

    /// The event types that end the iteration with [`WatchError::Terminal`]
    /// (`terminal_events`; default `IN_Q_OVERFLOW | IN_UNMOUNT`). Empty: none.
    pub fn terminal_events(mut self, terminal: EventMask) -> Self {
        self.terminal = terminal;
        self
    }

    /// The watcher (or tree), to add or remove watches between events.
    pub fn get_mut(&mut self) -> &mut S {
        self.source
    }

    /// The watcher (or tree).
    pub fn get_ref(&self) -> &S {
        self.source
    }

    /// Checks the stop condition and the terminal set for each type of `event`, in
    /// ascending bit order as the Python package does: `Ok(event)` to yield it,
    /// `Err(None)` when the condition stops the iteration, `Err(Some(error))` for a
    /// terminal event.
    fn judge(&mut self, event: WatchEvent) -> Result<WatchEvent, Option<WatchError>> {
        for bit in event.mask.single_bits() {
            let type_name = bit.name(NameStyle::Kernel).unwrap_or("");
            if let Some(stop) = self.until.as_mut() {
                if stop(type_name, &event) {
                    self.source
                        .set_last_filter_stop(Some(FilterStop { type_name, event }));
                    return Err(None);
                }
            }
            if self.terminal.contains(bit) {
                return Err(Some(WatchError::Terminal { type_name, event }));
            }
        }
        Ok(event)
    }

    fn timed_out(&self) -> bool {
        match self.idle_timeout {
            Some(timeout) => self.last_hit.elapsed() > timeout,
            None => false,
        }
    }
}

impl<S: EventSource + ?Sized> Iterator for WatchEvents<'_, S> {
    type Item = Result<Option<WatchEvent>, WatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            let owned = match self.source.next_owned_event() {
                Err(WatchError::Ended) => {
                    self.finished = true;
                    return None;
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
                Ok(owned) => owned,
            };
            match owned {
                Some(event) => {
                    self.last_hit = Instant::now();
                    return match self.judge(event) {
                        Ok(event) => Some(Ok(Some(event))),
                        Err(stop) => {
                            self.finished = true;
                            stop.map(Err)
                        }
                    };
                }
                None if self.timed_out() => self.finished = true,
                None if self.yield_nones => return Some(Ok(None)),
                None => {}
            }
        }
        None
    }
}

impl<S: EventSource + ?Sized> fmt::Debug for WatchEvents<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchEvents")
            .field("idle_timeout", &self.idle_timeout)
            .field("yield_nones", &self.yield_nones)
            .field("until", &self.until.as_ref().map(|_| ".."))
            .field("terminal", &self.terminal)
            .finish()
    }
}
