//! [`WatchEvents`]: the Python package's `event_gen` as an iterator, over any
//! [`EventSource`] (a [`Watcher`], or a recursive tree).

use std::boxed::Box;
use std::fmt;
use std::time::{Duration, Instant};

use super::event::{FilterStop, TerminalEvent, WatchError, WatchEvent};
use super::watcher::Watcher;
use crate::mask::{EventMask, NameStyle};

/// Yields owned events one at a time, with `None` at the end of each cycle: what
/// [`WatchEvents`] iterates over. Sealed: not nameable outside the crate.
pub trait EventSource {
    /// The next event, or `None` at the end of a cycle (after a batch of events, or a
    /// block duration with none).
    fn next_owned_event(&mut self) -> Result<Option<WatchEvent>, WatchError>;

    /// Keeps (or, with `None`, forgets) the event that made a filter stop an iteration.
    fn set_last_filter_stop(&mut self, stop: Option<FilterStop>);
}

type Filter<'w> = Box<dyn FnMut(&'static str, &WatchEvent) -> bool + 'w>;

/// The iterator of [`Watcher::events`] and
/// [`TreeWatcher::events`](crate::TreeWatcher::events): the Python package's `event_gen`.
///
/// Yields `Ok(Some(event))` for each event and, unless [`yield_nones`](Self::yield_nones)
/// is off, `Ok(None)` at the end of each cycle (after a batch, or after a block
/// duration with no event). It ends after [`timeout`](Self::timeout) with no event,
/// when the [`filter`](Self::filter) returns false, or with
/// `Err(WatchError::Terminal)` for an event in the terminal set.
pub struct WatchEvents<'w, S: EventSource + ?Sized = Watcher> {
    source: &'w mut S,
    timeout: Option<Duration>,
    yield_nones: bool,
    filter: Option<Filter<'w>>,
    terminal: EventMask,
    last_hit: Instant,
    finished: bool,
}

impl<'w, S: EventSource + ?Sized> WatchEvents<'w, S> {
    /// Iterates over `source`'s events with the Python package's defaults: no timeout,
    /// `None`s yielded, no filter, `IN_Q_OVERFLOW` and `IN_UNMOUNT` terminal. Forgets the
    /// source's last filter stop, as a new `event_gen` does.
    pub fn new(source: &'w mut S) -> Self {
        source.set_last_filter_stop(None);
        WatchEvents {
            source,
            timeout: None,
            yield_nones: true,
            filter: None,
            terminal: EventMask::Q_OVERFLOW | EventMask::UNMOUNT,
            last_hit: Instant::now(),
            finished: false,
        }
    }

    /// Ends the iteration once `timeout` passes with no event (`timeout_s`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether to yield `None` at the end of each cycle (`yield_nones`, default true).
    pub fn yield_nones(mut self, yield_nones: bool) -> Self {
        self.yield_nones = yield_nones;
        self
    }

    /// Asks `filter(type_name, event)` for each type name of each event; false ends the
    /// iteration, and the event is kept in the source ([`Watcher::last_filter_stop`])
    /// (`filter_predicate`).
    pub fn filter<F>(mut self, filter: F) -> Self
    where
        F: FnMut(&'static str, &WatchEvent) -> bool + 'w,
    {
        self.filter = Some(Box::new(filter));
        self
    }

    /// The event types that end the iteration with [`WatchError::Terminal`]
    /// (`terminal_events`; default `IN_Q_OVERFLOW | IN_UNMOUNT`). Empty: none.
    pub fn terminal_events(mut self, terminal: EventMask) -> Self {
        self.terminal = terminal;
        self
    }

    /// Checks the filter and the terminal set for each type of `event`, in ascending bit
    /// order as the Python package does: `Ok(event)` to yield it, `Err(None)` when the
    /// filter stops the iteration, `Err(Some(error))` for a terminal event.
    fn judge(&mut self, event: WatchEvent) -> Result<WatchEvent, Option<WatchError>> {
        for bit in event.mask.single_bits() {
            let type_name = bit.name(NameStyle::Kernel).unwrap_or("");
            if let Some(filter) = self.filter.as_mut() {
                if !filter(type_name, &event) {
                    self.source
                        .set_last_filter_stop(Some(FilterStop { type_name, event }));
                    return Err(None);
                }
            }
            if self.terminal.contains(bit) {
                return Err(Some(WatchError::Terminal(TerminalEvent {
                    type_name,
                    event,
                })));
            }
        }
        Ok(event)
    }

    fn timed_out(&self) -> bool {
        match self.timeout {
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
            .field("timeout", &self.timeout)
            .field("yield_nones", &self.yield_nones)
            .field("filter", &self.filter.as_ref().map(|_| ".."))
            .field("terminal", &self.terminal)
            .finish()
    }
}
