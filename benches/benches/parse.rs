//! Parsing throughput of inotify-raw's event reader, against the `inotify` crate and a
//! floor that only reads.
//!
//! All three readers drain the same synthetic input from a pipe: `BATCHES` batches of
//! 4096 bytes, each 128 events of exactly 32 bytes (a 16-byte header and a 16-byte,
//! NUL-padded name field such as `file0001`), with wd, mask and cookie varying. Each read
//! is of a 4096-byte, page-aligned buffer and returns one whole batch, which the reader
//! then handles:
//! - `floor`: nothing but `black_box` of the bytes read;
//! - `bound`: the least any parser must do, for this input only: each fixed 32-byte
//!   record's four fields through `black_box`, no checks, no search for the name's end;
//! - `inotify-raw`: `Inotify::read` into an `EventBuffer<4096>`, every event's wd, mask,
//!   cookie and name through `black_box`;
//! - `inotify`: the `inotify` crate's `read_events` into a 4096-byte buffer, every
//!   event's wd, mask, cookie and name through `black_box`.
//!
//! Two groups, which time different things (see [`Mode`]):
//! - `read`: the pipe is filled untimed (its capacity raised with `F_SETPIPE_SZ`), then
//!   the reads and the parsing are timed: the parser's share is as large as it can be;
//! - `feed`: each batch is written into the pipe and read back, both timed: the whole
//!   trip of a batch of events through a descriptor.
//!
//! So the readers differ only in the parsing. Criterion measures each reader on its own;
//! then the tables are measured with the readers timed in turns (see [`interleaved`]),
//! so that a drift of the machine's speed during the run does not land on one reader
//! alone, and printed, one Markdown table per group: time per 4 KiB batch, events per
//! second, ratio to the floor, and each reader's cost per event above the floor.

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};

/// Bytes per read: one batch.
const BATCH_LEN: usize = 4096;
/// Bytes per event: a 16-byte header and a 16-byte name field.
const EVENT_LEN: usize = 32;
/// Events per batch.
const EVENTS_PER_BATCH: usize = BATCH_LEN / EVENT_LEN;
/// Batches written, then read, per measured iteration (256 KiB: the pipe is enlarged).
const BATCHES: usize = 64;
/// Events per measured iteration.
const EVENTS_PER_ITERATION: usize = BATCHES * EVENTS_PER_BATCH;

/// The criterion groups (see [`Mode`]) and the names of their three benchmarks.
const GROUP_READ: &str = "read";
const GROUP_FEED: &str = "feed";
const FLOOR: &str = "floor";
const BOUND: &str = "bound";
const INOTIFY_RAW: &str = "inotify-raw";
const INOTIFY: &str = "inotify";

const IN_MODIFY: u32 = 0x0000_0002;
const IN_ATTRIB: u32 = 0x0000_0004;
const IN_CLOSE_WRITE: u32 = 0x0000_0008;
const IN_MOVED_FROM: u32 = 0x0000_0040;
const IN_MOVED_TO: u32 = 0x0000_0080;
const IN_CREATE: u32 = 0x0000_0100;
const IN_DELETE: u32 = 0x0000_0200;
const IN_ISDIR: u32 = 0x4000_0000;

/// The masks the events cycle through: all valid, since the `inotify` crate panics on
/// bits it does not know.
const MASKS: [u32; 8] = [
    IN_CREATE,
    IN_MODIFY,
    IN_CLOSE_WRITE,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_DELETE,
    IN_CREATE | IN_ISDIR,
    IN_ATTRIB,
];

/// A 4096-byte read buffer on a page boundary, so that the kernel's copy to user space
/// costs the same for all three readers.
#[repr(C, align(4096))]
struct PageAligned<T>(T);

/// What event `k` of the input (counting from 0 over all batches) should parse to.
struct Expected {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: [u8; 8],
}

fn expected(k: usize) -> Expected {
    let mask = MASKS[k % MASKS.len()];
    // A move's two halves share a cookie; other events have none.
    let cookie = if mask == IN_MOVED_FROM || mask == IN_MOVED_TO {
        0x9e37_79b9u32.wrapping_mul(1 + (k / MASKS.len()) as u32)
    } else {
        0
    };
    let mut name = *b"file0000";
    let number = k % EVENTS_PER_BATCH + 1;
    for (i, digit) in name[4..].iter_mut().rev().enumerate() {
        *digit = b'0' + (number / 10usize.pow(i as u32) % 10) as u8;
    }
    Expected {
        wd: 1 + (k % 13) as i32,
        mask,
        cookie,
        name,
    }
}

/// The input: `BATCHES` batches of `EVENTS_PER_BATCH` 32-byte events in the kernel's
/// layout (native-endian `wd`, `mask`, `cookie`, `len`, then the NUL-padded name).
fn synthetic_input() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(BATCHES * BATCH_LEN);
    for k in 0..EVENTS_PER_ITERATION {
        let e = expected(k);
        bytes.extend_from_slice(&e.wd.to_ne_bytes());
        bytes.extend_from_slice(&e.mask.to_ne_bytes());
        bytes.extend_from_slice(&e.cookie.to_ne_bytes());
        bytes.extend_from_slice(&((EVENT_LEN - 16) as u32).to_ne_bytes());
        let mut field = [0u8; EVENT_LEN - 16];
        field[..e.name.len()].copy_from_slice(&e.name);
        bytes.extend_from_slice(&field);
    }
    assert_eq!(bytes.len(), BATCHES * BATCH_LEN);
    bytes
}

/// A pipe big enough for one iteration's input: (read end, write end).
fn pipe() -> (OwnedFd, File) {
    let mut fds: [RawFd; 2] = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 just opened both descriptors and nothing else owns them.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    let wanted = BATCHES * BATCH_LEN;
    // SAFETY: F_SETPIPE_SZ takes an int and touches no memory of ours.
    let size = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, wanted as libc::c_int) };
    assert!(
        size >= 0 && size as usize >= wanted,
        "F_SETPIPE_SZ({wanted}) gave {size} ({}); /proc/sys/fs/pipe-max-size may be too small",
        std::io::Error::last_os_error()
    );
    (read, write)
}

/// What each measured iteration times.
#[derive(Clone, Copy)]
enum Mode {
    /// The writer fills the pipe with all `BATCHES` batches (untimed); the reader drains
    /// them (timed). Only reading and parsing are measured.
    Read,
    /// Batch by batch, the writer writes one batch and the reader reads it, both timed:
    /// the whole trip of an event batch through the pipe.
    Feed,
}

/// Times `drain(batches)` (which must read exactly that many batches and return how many
/// bytes or events it saw) over `iters` iterations of `BATCHES` batches, as `mode` says.
fn timed_iterations(
    mode: Mode,
    iters: u64,
    writer: &mut File,
    input: &[u8],
    expected_count: usize,
    mut drain: impl FnMut(usize) -> usize,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let count = match mode {
            Mode::Read => {
                writer.write_all(input).expect("write to pipe");
                let start = Instant::now();
                let count = drain(BATCHES);
                total += start.elapsed();
                count
            }
            Mode::Feed => {
                let start = Instant::now();
                let mut count = 0;
                for batch in input.chunks_exact(BATCH_LEN) {
                    writer.write_all(batch).expect("write to pipe");
                    count += drain(1);
                }
                total += start.elapsed();
                count
            }
        };
        assert_eq!(
            count, expected_count,
            "the reader did not drain one iteration"
        );
    }
    total
}

/// One read(2) of a batch into `buffer`: the bytes read.
fn read_batch(fd: RawFd, buffer: &mut PageAligned<[u8; BATCH_LEN]>) -> &[u8] {
    // SAFETY: the buffer is valid for BATCH_LEN bytes of writes.
    let n = unsafe { libc::read(fd, buffer.0.as_mut_ptr().cast(), BATCH_LEN) };
    assert!(n >= 0, "read: {}", std::io::Error::last_os_error());
    &buffer.0[..n as usize]
}

/// 1. floor: read(2) each batch and do nothing else.
fn drain_floor(fd: RawFd, buffer: &mut PageAligned<[u8; BATCH_LEN]>, batches: usize) -> usize {
    let mut bytes = 0;
    for _ in 0..batches {
        let batch = read_batch(fd, buffer);
        bytes += batch.len();
        black_box(batch);
    }
    bytes
}

/// 1b. bound: what any parser must at least do, for this input only: read each batch
/// and hand the four fields of each fixed 32-byte record to `black_box`, with no length
/// check and no search for the end of the name (it is known to be 8 bytes).
fn drain_bound(fd: RawFd, buffer: &mut PageAligned<[u8; BATCH_LEN]>, batches: usize) -> usize {
    let mut events = 0;
    for _ in 0..batches {
        for record in read_batch(fd, buffer).chunks_exact(EVENT_LEN) {
            let field = |at: usize| u32::from_ne_bytes(record[at..at + 4].try_into().unwrap());
            black_box(field(0) as i32);
            black_box(field(4));
            black_box(field(8));
            black_box(&record[16..24]);
            events += 1;
        }
    }
    events
}

/// 2. inotify-raw: `Inotify::read` and every event's fields.
fn drain_inotify_raw(
    inotify: &inotify_raw::Inotify,
    buffer: &mut PageAligned<inotify_raw::EventBuffer<BATCH_LEN>>,
    batches: usize,
) -> usize {
    let mut events = 0;
    for _ in 0..batches {
        for event in inotify.read(&mut buffer.0).expect("inotify-raw read") {
            let event = match event {
                Ok(event) => event,
                Err(error) => panic!("inotify-raw: {error}"),
            };
            black_box(event.wd());
            black_box(event.mask());
            black_box(event.cookie());
            black_box(event.name());
            events += 1;
        }
    }
    events
}

/// 3. the `inotify` crate: `read_events` and every event's fields.
fn drain_inotify(
    inotify: &mut inotify::Inotify,
    buffer: &mut PageAligned<[u8; BATCH_LEN]>,
    batches: usize,
) -> usize {
    let mut events = 0;
    for _ in 0..batches {
        for event in inotify
            .read_events(&mut buffer.0)
            .expect("inotify read_events")
        {
            black_box(event.wd);
            black_box(event.mask);
            black_box(event.cookie);
            black_box(event.name);
            events += 1;
        }
    }
    events
}

/// Checks, once and untimed, that both parsers see the input's events as written.
fn check_parsers(input: &[u8]) {
    let (read, mut writer) = pipe();
    let raw = inotify_raw::Inotify::from(read);
    writer.write_all(input).expect("write to pipe");
    let mut buffer = Box::new(PageAligned(inotify_raw::EventBuffer::<BATCH_LEN>::new()));
    let mut k = 0;
    for _ in 0..BATCHES {
        for event in raw.read(&mut buffer.0).expect("inotify-raw read") {
            let event = event.expect("inotify-raw parse");
            let e = expected(k);
            assert_eq!(event.wd().raw(), e.wd);
            assert_eq!(event.mask().bits(), e.mask);
            assert_eq!(event.cookie(), e.cookie);
            assert_eq!(event.name(), Some(&e.name[..]));
            k += 1;
        }
    }
    assert_eq!(k, EVENTS_PER_ITERATION);

    let (read, mut writer) = pipe();
    let mut peer = inotify::Inotify::from(read);
    writer.write_all(input).expect("write to pipe");
    let mut buffer = Box::new(PageAligned([0u8; BATCH_LEN]));
    let mut k = 0;
    for _ in 0..BATCHES {
        for event in peer
            .read_events(&mut buffer.0)
            .expect("inotify read_events")
        {
            let e = expected(k);
            assert_eq!(event.wd.get_watch_descriptor_id(), e.wd);
            assert_eq!(event.mask.bits(), e.mask);
            assert_eq!(event.cookie, e.cookie);
            assert_eq!(
                event.name.map(std::os::unix::ffi::OsStrExt::as_bytes),
                Some(&e.name[..])
            );
            k += 1;
        }
    }
    assert_eq!(k, EVENTS_PER_ITERATION);
}

/// Benchmarks one reader: `reader` turns a fresh pipe's read end into the drain that
/// reads (and parses) a given number of batches and returns how many bytes or events
/// it saw, `expected_count` per iteration.
fn bench_reader<F: FnMut(usize) -> usize>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mode: Mode,
    input: &[u8],
    expected_count: usize,
    reader: impl Fn(OwnedFd) -> F,
) {
    group.bench_function(name, |b| {
        let (read, mut writer) = pipe();
        let mut drain = reader(read);
        b.iter_custom(|iters| {
            timed_iterations(mode, iters, &mut writer, input, expected_count, &mut drain)
        });
    });
}

fn bench_parse(c: &mut Criterion) {
    let input = synthetic_input();
    check_parsers(&input);

    for (group_name, mode) in [(GROUP_READ, Mode::Read), (GROUP_FEED, Mode::Feed)] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(EVENTS_PER_ITERATION as u64));

        let floor = |read: OwnedFd| {
            let mut buffer = Box::new(PageAligned([0u8; BATCH_LEN]));
            move |batches| drain_floor(read.as_raw_fd(), &mut buffer, batches)
        };
        bench_reader(&mut group, FLOOR, mode, &input, input.len(), floor);
        let bound = |read: OwnedFd| {
            let mut buffer = Box::new(PageAligned([0u8; BATCH_LEN]));
            move |batches| drain_bound(read.as_raw_fd(), &mut buffer, batches)
        };
        bench_reader(&mut group, BOUND, mode, &input, EVENTS_PER_ITERATION, bound);
        let raw = |read: OwnedFd| {
            let inotify = inotify_raw::Inotify::from(read);
            let mut buffer = Box::new(PageAligned(inotify_raw::EventBuffer::<BATCH_LEN>::new()));
            move |batches| drain_inotify_raw(&inotify, &mut buffer, batches)
        };
        bench_reader(
            &mut group,
            INOTIFY_RAW,
            mode,
            &input,
            EVENTS_PER_ITERATION,
            raw,
        );
        let peer = |read: OwnedFd| {
            let mut inotify = inotify::Inotify::from(read);
            let mut buffer = Box::new(PageAligned([0u8; BATCH_LEN]));
            move |batches| drain_inotify(&mut inotify, &mut buffer, batches)
        };
        bench_reader(
            &mut group,
            INOTIFY,
            mode,
            &input,
            EVENTS_PER_ITERATION,
            peer,
        );

        group.finish();
    }
}

/// Rounds of the interleaved measurement that the tables come from, after as many
/// untimed rounds of warm-up.
const ROUNDS: usize = 200;
const WARM_UP_ROUNDS: usize = 20;
/// Iterations (of `BATCHES` batches each) per reader per round.
const ITERATIONS_PER_ROUND: u64 = 16;

/// One reader of the interleaved measurement: its pipe, its drain, and what one
/// iteration must see.
struct Reader {
    name: &'static str,
    writer: File,
    expected_count: usize,
    drain: Box<dyn FnMut(usize) -> usize>,
}

/// The four readers, each on a pipe of its own.
fn readers() -> Vec<Reader> {
    let reader = |name, expected_count, drain: fn(OwnedFd) -> Box<dyn FnMut(usize) -> usize>| {
        let (read, writer) = pipe();
        Reader {
            name,
            writer,
            expected_count,
            drain: drain(read),
        }
    };
    vec![
        reader(FLOOR, BATCHES * BATCH_LEN, |read| {
            let mut buffer = Box::new(PageAligned([0u8; BATCH_LEN]));
            Box::new(move |batches| drain_floor(read.as_raw_fd(), &mut buffer, batches))
        }),
        reader(BOUND, EVENTS_PER_ITERATION, |read| {
            let mut buffer = Box::new(PageAligned([0u8; BATCH_LEN]));
            Box::new(move |batches| drain_bound(read.as_raw_fd(), &mut buffer, batches))
        }),
        reader(INOTIFY_RAW, EVENTS_PER_ITERATION, |read| {
            let inotify = inotify_raw::Inotify::from(read);
            let mut buffer = Box::new(PageAligned(inotify_raw::EventBuffer::<BATCH_LEN>::new()));
            Box::new(move |batches| drain_inotify_raw(&inotify, &mut buffer, batches))
        }),
        reader(INOTIFY, EVENTS_PER_ITERATION, |read| {
            let mut inotify = inotify::Inotify::from(read);
            let mut buffer = Box::new(PageAligned([0u8; BATCH_LEN]));
            Box::new(move |batches| drain_inotify(&mut inotify, &mut buffer, batches))
        }),
    ]
}

/// What the interleaved measurement found for one reader.
struct Measured {
    name: &'static str,
    /// The median time of one iteration, in nanoseconds.
    median_ns: f64,
    /// The median, over rounds, of this reader's time less the floor's in the same
    /// round, per event, in nanoseconds.
    over_floor_ns: f64,
}

/// Times the readers in turns: each round times `ITERATIONS_PER_ROUND` iterations of
/// every reader, starting with a different one each round. A change in the machine's
/// speed during the run (another process, the clock) then reaches all readers alike,
/// and each reader's cost over the floor is taken from the same round as the floor's.
fn interleaved(mode: Mode, input: &[u8]) -> Vec<Measured> {
    let mut readers = readers();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); readers.len()];
    for round in 0..WARM_UP_ROUNDS + ROUNDS {
        for turn in 0..readers.len() {
            let at = (round + turn) % readers.len();
            let reader = &mut readers[at];
            let took = timed_iterations(
                mode,
                ITERATIONS_PER_ROUND,
                &mut reader.writer,
                input,
                reader.expected_count,
                &mut reader.drain,
            );
            if round >= WARM_UP_ROUNDS {
                times[at].push(took.as_nanos() as f64 / ITERATIONS_PER_ROUND as f64);
            }
        }
    }
    let floor = times[0].clone();
    readers
        .iter()
        .zip(&times)
        .map(|(reader, times)| {
            let over: Vec<f64> = times
                .iter()
                .zip(&floor)
                .map(|(t, f)| (t - f) / EVENTS_PER_ITERATION as f64)
                .collect();
            Measured {
                name: reader.name,
                median_ns: median(times.clone()),
                over_floor_ns: median(over),
            }
        })
        .collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints what the interleaved measurement of `group` found, as a Markdown table.
fn print_table(group: &str, results: &[Measured]) {
    let floor = results[0].median_ns;
    println!();
    let what = if group == GROUP_READ {
        "reading and parsing timed, writing not"
    } else {
        "writing each batch into the pipe and reading it back, both timed"
    };
    println!(
        "`{group}`: {what}; {BATCHES} batches of {BATCH_LEN} bytes ({EVENTS_PER_BATCH} \
         events of {EVENT_LEN} bytes) per iteration; the readers timed in turns, medians \
         of {ROUNDS} rounds, from this run:"
    );
    println!();
    println!("| reader | time per 4 KiB batch | events/s | vs floor |");
    println!("| --- | ---: | ---: | ---: |");
    for result in results {
        let ns = result.median_ns;
        println!(
            "| {} | {:.3} µs | {:.1} M | {:.2}x |",
            result.name,
            ns / BATCHES as f64 / 1e3,
            EVENTS_PER_ITERATION as f64 / (ns * 1e-9) / 1e6,
            ns / floor
        );
    }
    println!();
    for result in &results[1..] {
        println!(
            "{}: {:.2} ns per event above the floor (median of the rounds' differences)",
            result.name, result.over_floor_ns
        );
    }
    let over = |name| {
        results
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.over_floor_ns)
    };
    if let (Some(raw), Some(bound)) = (over(INOTIFY_RAW), over(BOUND)) {
        println!("inotify-raw / bound, above the floor: {:.2}", raw / bound);
    }
}

fn main() {
    // `--list`, `--test` (cargo test --benches) and the like: criterion only.
    let measuring = !std::env::args().any(|arg| arg == "--list" || arg == "--test");
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(50)
        .configure_from_args();
    bench_parse(&mut criterion);
    criterion.final_summary();
    if measuring {
        let input = synthetic_input();
        for (group, mode) in [(GROUP_READ, Mode::Read), (GROUP_FEED, Mode::Feed)] {
            print_table(group, &interleaved(mode, &input));
        }
    }
}
