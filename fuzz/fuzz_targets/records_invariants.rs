//! What every iteration over `Events`, `Dirents` or `FanotifyEvents` keeps, whatever the
//! bytes: shared by the fuzz targets of the parsers.

use inotify_raw::{
    Dirent, Dirents, Event, Events, FanotifyEvent, FanotifyEvents, MalformedDirent, MalformedEvent,
    MalformedFanotifyEvent,
};

/// What the checks need of a parser's public iterator.
pub trait Parser<'a>: Iterator<Item = Result<Self::Record, Self::Malformed>> + Sized {
    type Record;
    type Malformed;
    fn over(data: &'a [u8]) -> Self;
    fn consumed(&self) -> usize;
    fn remainder(&self) -> &'a [u8];
}

macro_rules! parser {
    ($iter:ident, $record:ident, $malformed:ident) => {
        impl<'a> Parser<'a> for $iter<'a> {
            type Record = $record<'a>;
            type Malformed = $malformed;
            fn over(data: &'a [u8]) -> Self {
                $iter::new(data)
            }
            fn consumed(&self) -> usize {
                $iter::consumed(self)
            }
            fn remainder(&self) -> &'a [u8] {
                $iter::remainder(self)
            }
        }
    };
}
parser!(Events, Event, MalformedEvent);
parser!(Dirents, Dirent, MalformedDirent);
parser!(FanotifyEvents, FanotifyEvent, MalformedFanotifyEvent);

/// True when `inner` lies inside `outer`.
pub fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let start = outer.as_ptr() as usize;
    let inner_start = inner.as_ptr() as usize;
    inner_start >= start && inner_start + inner.len() <= start + outer.len()
}

/// Iterates over the records in `data`; hands each to `check_record` with the bytes it
/// spans (`span_of` says how many), and an error to `check_error` with the offset it
/// should report. Checks that records tile the input from its start, that at most one
/// error comes and only last, that `consumed` and `remainder` account for every byte,
/// that the iterator stays fused, and that the remainder does not parse.
pub fn check<'a, P: Parser<'a>>(
    data: &'a [u8],
    span_of: impl Fn(&P::Record) -> usize,
    mut check_record: impl FnMut(&P::Record, &'a [u8]),
    mut check_error: impl FnMut(&P::Malformed, usize),
) {
    let mut records = P::over(data);
    let mut spans = 0usize;
    let mut saw_error = false;
    while let Some(item) = records.next() {
        assert!(!saw_error, "an item followed an error");
        match item {
            Ok(record) => {
                let span = span_of(&record);
                let bytes = &data[spans..spans + span];
                check_record(&record, bytes);
                spans += span;
                assert_eq!(records.consumed(), spans);
            }
            Err(error) => {
                check_error(&error, spans);
                saw_error = true;
            }
        }
    }
    assert!(spans <= data.len());
    assert_eq!(records.consumed(), spans);
    assert_eq!(spans + records.remainder().len(), data.len());
    assert!(inside(data, records.remainder()));
    assert_eq!(saw_error, !records.remainder().is_empty());
    assert!(records.next().is_none(), "the iterator is fused");
    if !records.remainder().is_empty() {
        assert!(matches!(P::over(records.remainder()).next(), Some(Err(_))));
    }
}
