//! The directory reader: the `getdents64` parser on hand-built buffers (pure, also run
//! under Miri), and `Directory` against the real kernel in fresh temporary directories.
#![cfg(feature = "std")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use common::TempDir;
use inotify_raw::{
    Call, Directory, Dirent, Dirents, Errno, Error, FileKind, MalformedDirent, DIRENT_HEADER_LEN,
    MIN_DIRENT_BUFFER_LEN, NAME_MAX,
};

/// The first entry in `bytes` and the bytes it spans.
fn parse_one(bytes: &[u8]) -> Result<(Dirent<'_>, usize), MalformedDirent> {
    let entry = Dirents::new(bytes)
        .next()
        .expect("at least one byte, so a record or an error")?;
    Ok((entry, entry.record_len()))
}

// ---------------------------------------------------------------------------------------
// The parser on hand-built buffers.

/// One `struct linux_dirent64` with `d_reclen` set to `record_len` and the name NUL-padded
/// to fill it (or cut to it).
fn record_with_len(ino: u64, off: i64, d_type: u8, name: &[u8], record_len: u16) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&ino.to_ne_bytes());
    bytes.extend_from_slice(&off.to_ne_bytes());
    bytes.extend_from_slice(&record_len.to_ne_bytes());
    bytes.push(d_type);
    bytes.extend_from_slice(name);
    bytes.resize(usize::from(record_len).max(DIRENT_HEADER_LEN), 0);
    bytes
}

/// A record as the kernel lays it out: header, name, NUL, padding to a multiple of 8.
fn record(ino: u64, off: i64, d_type: u8, name: &[u8]) -> Vec<u8> {
    let len = (DIRENT_HEADER_LEN + name.len() + 1 + 7) / 8 * 8;
    record_with_len(ino, off, d_type, name, len as u16)
}

fn collect(bytes: &[u8]) -> (Vec<Result<Dirent<'_>, MalformedDirent>>, Dirents<'_>) {
    let mut entries = Dirents::new(bytes);
    let items = entries.by_ref().collect();
    (items, entries)
}

#[test]
fn empty_buffer_yields_nothing() {
    let (items, entries) = collect(&[]);
    assert!(items.is_empty());
    assert!(entries.is_empty());
    assert!(entries.remainder().is_empty());
    assert_eq!(entries.consumed(), 0);
}

#[test]
fn exact_buffer_yields_every_field() {
    let mut bytes = record(2, 1, 4, b".");
    bytes.extend(record(1, 2, 4, b".."));
    bytes.extend(record(1234, i64::MAX, 8, b"hello.txt"));
    bytes.extend(record(u64::MAX, -1, 10, b"link"));
    let (items, entries) = collect(&bytes);
    assert_eq!(items.len(), 4);
    let dot = items[0].unwrap();
    assert_eq!(dot.name(), b".");
    assert!(dot.is_dot_or_dot_dot());
    assert_eq!(dot.record_len(), 24);
    let dot_dot = items[1].unwrap();
    assert!(dot_dot.is_dot_or_dot_dot());
    assert_eq!(dot_dot.kind(), FileKind::Directory);
    let file = items[2].unwrap();
    assert_eq!(file.ino(), 1234);
    assert_eq!(file.offset(), i64::MAX);
    assert_eq!(file.dirent_type(), 8);
    assert_eq!(file.kind(), FileKind::Regular);
    assert_eq!(file.name(), b"hello.txt");
    assert_eq!(file.name_os(), OsStr::new("hello.txt"));
    assert!(!file.is_dot_or_dot_dot());
    assert_eq!(file.record_len(), 32);
    let link = items[3].unwrap();
    assert_eq!(link.ino(), u64::MAX);
    assert_eq!(link.offset(), -1);
    assert_eq!(link.kind(), FileKind::Symlink);
    assert!(entries.remainder().is_empty());
    assert_eq!(entries.consumed(), bytes.len());
}

#[test]
fn parse_gives_the_record_length() {
    let mut bytes = record(5, 6, 8, b"abcdefgh");
    let first_len = bytes.len();
    bytes.extend(record(7, 8, 4, b"x"));
    let (entry, span) = parse_one(&bytes).unwrap();
    assert_eq!(span, first_len);
    assert_eq!(entry.name(), b"abcdefgh");
    let (second, span) = parse_one(&bytes[first_len..]).unwrap();
    assert_eq!(span, 24);
    assert_eq!(second.name(), b"x");
}

#[test]
fn name_stops_at_the_first_nul() {
    let mut bytes = record_with_len(1, 1, 8, b"ab\0cd\xff\xff\xff", 32);
    bytes[DIRENT_HEADER_LEN + 8..].fill(0xff); // no NUL after the first one
    let (items, entries) = collect(&bytes);
    assert_eq!(items[0].unwrap().name(), b"ab");
    assert!(entries.remainder().is_empty());
}

#[test]
fn smallest_record_has_an_empty_name() {
    let bytes = record_with_len(1, 1, 0, b"", 20);
    let (items, _) = collect(&bytes);
    let entry = items[0].unwrap();
    assert_eq!(entry.name(), b"");
    assert_eq!(entry.record_len(), 20);
    assert_eq!(entry.kind(), FileKind::Unknown);
    assert!(!entry.is_dot_or_dot_dot());
}

#[test]
fn unknown_d_type_values_are_kept() {
    for d_type in [3u8, 5, 14, 255] {
        let bytes = record(1, 1, d_type, b"w");
        let entry = parse_one(&bytes).unwrap().0;
        assert_eq!(entry.kind(), FileKind::Other(d_type));
        assert_eq!(entry.dirent_type(), d_type);
    }
}

#[test]
fn truncated_header_is_reported_with_its_offset() {
    let mut bytes = record(1, 1, 8, b"a");
    bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let (items, entries) = collect(&bytes);
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert_eq!(
        items[1],
        Err(MalformedDirent::TruncatedHeader {
            offset: 24,
            available: 10
        })
    );
    assert_eq!(entries.remainder(), &bytes[24..]);
    assert_eq!(entries.consumed(), 24);
    // A header cut after its d_reclen is still a cut header.
    let (items, _) = collect(&bytes[..DIRENT_HEADER_LEN - 1]);
    assert_eq!(
        items,
        vec![Err(MalformedDirent::TruncatedHeader {
            offset: 0,
            available: DIRENT_HEADER_LEN as u16 - 1
        })]
    );
}

#[test]
fn record_length_zero_or_too_small_is_an_error() {
    for record_len in [0u16, 1, 8, 19] {
        let mut bytes = record_with_len(1, 1, 8, b"", record_len);
        bytes.resize(64, 0);
        let (items, entries) = collect(&bytes);
        assert_eq!(
            items,
            vec![Err(MalformedDirent::BadRecordLength {
                offset: 0,
                record_len
            })],
            "d_reclen {}",
            record_len
        );
        assert_eq!(entries.remainder(), &bytes[..]);
    }
}

#[test]
fn record_length_past_the_end_is_an_error() {
    let mut bytes = record(1, 1, 8, b"first");
    let second = record(2, 2, 8, b"a-longer-name");
    bytes.extend_from_slice(&second[..second.len() - 1]);
    let (items, entries) = collect(&bytes);
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[1],
        Err(MalformedDirent::TruncatedRecord {
            offset: 32,
            record_len: second.len() as u16,
            available: second.len() as u16 - 1
        })
    );
    assert_eq!(entries.remainder().len(), second.len() - 1);
    let huge = record_with_len(1, 1, 8, b"x", u16::MAX);
    let (items, _) = collect(&huge[..40]);
    assert!(matches!(
        items[0],
        Err(MalformedDirent::TruncatedRecord {
            record_len: u16::MAX,
            available: 40,
            ..
        })
    ));
}

#[test]
fn name_without_nul_is_an_error() {
    let mut bytes = record_with_len(1, 1, 8, b"abcde", 24);
    bytes.truncate(DIRENT_HEADER_LEN);
    bytes.extend_from_slice(b"abcde");
    // A NUL right after the record does not count: it belongs to the next bytes.
    bytes.extend(record(2, 2, 8, b"z"));
    let (items, entries) = collect(&bytes);
    assert_eq!(
        items,
        vec![Err(MalformedDirent::UnterminatedName {
            offset: 0,
            record_len: 24
        })]
    );
    assert_eq!(entries.remainder(), &bytes[..]);
    assert!(parse_one(&bytes).is_err());
}

#[test]
fn iteration_stops_after_an_error() {
    let mut bytes = record_with_len(1, 1, 8, b"", 0);
    bytes.extend(record(2, 2, 8, b"never"));
    let mut entries = Dirents::new(&bytes);
    assert!(entries.next().unwrap().is_err());
    assert!(entries.next().is_none());
    assert!(entries.next().is_none());
    assert!(!entries.is_empty());
}

#[test]
fn misaligned_start_parses_the_same() {
    let mut records = record(10, 1, 4, b"dir");
    records.extend(record(11, 2, 8, b"file-with-a-name"));
    for shift in 1..8 {
        let mut bytes = vec![0xaa; shift];
        bytes.extend_from_slice(&records);
        let (items, entries) = collect(&bytes[shift..]);
        let names: Vec<&[u8]> = items.iter().map(|item| item.unwrap().name()).collect();
        assert_eq!(names, vec![&b"dir"[..], &b"file-with-a-name"[..]]);
        assert_eq!(items[1].unwrap().ino(), 11);
        assert!(entries.remainder().is_empty());
    }
}

#[test]
fn every_prefix_of_a_buffer_is_safe() {
    let mut bytes = record(1, 1, 4, b".");
    bytes.extend(record(2, 2, 8, b"name"));
    bytes.extend(record(3, 3, 10, &[b'n'; NAME_MAX]));
    for len in 0..=bytes.len() {
        let (items, entries) = collect(&bytes[..len]);
        let spans: usize = items
            .iter()
            .filter_map(|item| item.as_ref().ok())
            .map(|entry| entry.record_len())
            .sum();
        assert_eq!(spans + entries.remainder().len(), len);
        assert_eq!(
            items.iter().filter(|item| item.is_err()).count(),
            usize::from(!entries.remainder().is_empty())
        );
    }
}

#[test]
fn messages_say_what_and_where() {
    let errors = [
        MalformedDirent::TruncatedHeader {
            offset: 48,
            available: 3,
        },
        MalformedDirent::BadRecordLength {
            offset: 48,
            record_len: 0,
        },
        MalformedDirent::TruncatedRecord {
            offset: 48,
            record_len: 32,
            available: 20,
        },
        MalformedDirent::UnterminatedName {
            offset: 48,
            record_len: 24,
        },
    ];
    for error in errors {
        let message = error.to_string();
        assert!(message.contains("offset 48"), "{}", message);
        assert!(
            message.contains("pass whole getdents64 results"),
            "{}",
            message
        );
        assert_eq!(error.offset(), 48);
        let _: &dyn std::error::Error = &error;
    }
}

#[test]
fn debug_escapes_the_name() {
    let bytes = record(1, 1, 8, b"caf\xe9\n");
    let entry = parse_one(&bytes).unwrap().0;
    let debug = format!("{:?}", entry);
    assert!(debug.contains(r#"name: "caf\xe9\n""#), "{}", debug);
    assert!(debug.contains("Regular"), "{}", debug);
}

// ---------------------------------------------------------------------------------------
// Against the kernel.

/// One entry, copied out of the buffer.
#[derive(Debug)]
struct Entry {
    ino: u64,
    file_type: FileKind,
}

/// Lists `dir` to the end with a `buffer_len`-byte buffer: entries by name (each name
/// must come once) and how many `read` calls returned some.
fn list(dir: &Directory, buffer_len: usize) -> (BTreeMap<Vec<u8>, Entry>, usize) {
    let mut buffer = vec![0u8; buffer_len];
    let mut entries = BTreeMap::new();
    let mut calls = 0;
    loop {
        let batch = dir.read(&mut buffer).expect("getdents64");
        if batch.is_empty() {
            break;
        }
        calls += 1;
        for entry in batch {
            let entry = entry.expect("the kernel gave a malformed buffer");
            let copy = Entry {
                ino: entry.ino(),
                file_type: entry.kind(),
            };
            let name = entry.name().to_vec();
            assert!(!name.is_empty() && !name.contains(&b'/'));
            if let Some(old) = entries.insert(name, copy) {
                panic!("{:?} listed twice (first {:?})", entry, old);
            }
        }
    }
    // The end stays the end.
    assert!(dir.read(&mut buffer).expect("getdents64").is_empty());
    (entries, calls)
}

fn std_file_type(path: &Path) -> FileKind {
    let file_type = fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), e))
        .file_type();
    if file_type.is_dir() {
        FileKind::Directory
    } else if file_type.is_file() {
        FileKind::Regular
    } else if file_type.is_symlink() {
        FileKind::Symlink
    } else if file_type.is_fifo() {
        FileKind::Fifo
    } else if file_type.is_socket() {
        FileKind::Socket
    } else if file_type.is_char_device() {
        FileKind::CharDevice
    } else if file_type.is_block_device() {
        FileKind::BlockDevice
    } else {
        panic!("{}: a file type std does not name", path.display())
    }
}

fn assert_syscall_error(result: Result<impl std::fmt::Debug, Error>, call: Call, errno: Errno) {
    match result {
        Err(Error::Syscall {
            call: got_call,
            errno: got,
            ..
        }) => {
            assert_eq!((got_call, got), (call, errno));
        }
        other => panic!("expected {:?} from {}, got {:?}", errno, call.name(), other),
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn lists_every_kind_of_entry() {
    let tmp = TempDir::new();
    fs::write(tmp.join("file"), b"contents").unwrap();
    fs::create_dir(tmp.join("subdir")).unwrap();
    fs::create_dir(tmp.join("empty-subdir")).unwrap();
    std::os::unix::fs::symlink("file", tmp.join("link-to-file")).unwrap();
    std::os::unix::fs::symlink("subdir", tmp.join("link-to-dir")).unwrap();
    std::os::unix::fs::symlink("missing", tmp.join("dangling")).unwrap();
    let non_utf8 = OsStr::from_bytes(b"caf\xe9 \xff\xfe");
    fs::write(tmp.join(non_utf8), b"").unwrap();
    let longest = "n".repeat(NAME_MAX);
    fs::write(tmp.join(&longest), b"").unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(tmp.join("socket")).unwrap();
    let fifo = common::status(std::process::Command::new("mkfifo").arg(tmp.join("fifo")))
        .map(|status| status.success())
        .unwrap_or(false);

    let dir = Directory::open(tmp.path()).expect("open");
    let (entries, _) = list(&dir, 4096);

    let mut expected: BTreeSet<Vec<u8>> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().as_bytes().to_vec())
        .collect();
    expected.insert(b".".to_vec());
    expected.insert(b"..".to_vec());
    let listed: BTreeSet<Vec<u8>> = entries.keys().cloned().collect();
    assert_eq!(listed, expected);
    assert!(listed.contains(non_utf8.as_bytes()));
    assert!(listed.contains(longest.as_bytes()));
    assert_eq!(listed.contains(&b"fifo"[..]), fifo);

    for (name, entry) in &entries {
        let path = tmp.join(OsStr::from_bytes(name));
        let expected = std_file_type(&path);
        let asked = dir.kind_of(&name[..]).expect("statx");
        assert_eq!(asked, expected, "file_type_of {}", path.display());
        // Some file systems give DT_UNKNOWN for every entry; then only statx knows.
        if entry.file_type != FileKind::Unknown {
            assert_eq!(entry.file_type, expected, "d_type of {}", path.display());
        }
        if !entry.file_type.is_dir() {
            // `.` and `..` and subdirectories could be mount points; the rest are not.
            let ino = fs::symlink_metadata(&path).unwrap().ino();
            assert_eq!(entry.ino, ino, "d_ino of {}", path.display());
        }
    }
    assert_eq!(entries[&b"link-to-dir"[..]].file_type, FileKind::Symlink);
    assert_eq!(dir.kind_of("dangling").expect("statx"), FileKind::Symlink);
}

#[test]
#[cfg_attr(miri, ignore)]
fn empty_directory_has_dot_and_dot_dot() {
    let tmp = TempDir::new();
    let dir = Directory::open(tmp.path()).expect("open");
    let (entries, calls) = list(&dir, 4096);
    assert_eq!(calls, 1);
    let names: Vec<&[u8]> = entries.keys().map(Vec::as_slice).collect();
    assert_eq!(names, vec![&b"."[..], &b".."[..]]);
    assert_eq!(
        entries[&b"."[..]].ino,
        fs::metadata(tmp.path()).unwrap().ino()
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn many_entries_need_several_reads_and_come_once() {
    let tmp = TempDir::new();
    let count = 1000;
    for i in 0..count {
        fs::write(tmp.join(format!("entry-number-{:04}", i)), b"").unwrap();
    }
    let dir = Directory::open(tmp.path()).expect("open");
    let (entries, calls) = list(&dir, 4096);
    assert!(calls > 1, "{} entries in one 4 KiB read?", entries.len());
    assert_eq!(entries.len(), count + 2);
    for i in 0..count {
        let name = format!("entry-number-{:04}", i);
        assert!(entries.contains_key(name.as_bytes()), "{} missing", name);
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn smallest_buffer_holds_the_longest_name() {
    let tmp = TempDir::new();
    let longest = "L".repeat(NAME_MAX);
    fs::write(tmp.join(&longest), b"").unwrap();
    fs::create_dir(tmp.join("d")).unwrap();
    let dir = Directory::open(tmp.path()).expect("open");
    let (entries, _) = list(&dir, MIN_DIRENT_BUFFER_LEN);
    assert_eq!(entries.len(), 4);
    assert!(entries.contains_key(longest.as_bytes()));
}

#[test]
#[cfg_attr(miri, ignore)]
fn too_small_a_buffer_is_refused_before_the_kernel() {
    let tmp = TempDir::new();
    let dir = Directory::open(tmp.path()).expect("open");
    let mut buffer = [0u8; 16];
    let min = MIN_DIRENT_BUFFER_LEN;
    assert_eq!(
        dir.read(&mut buffer).err(),
        Some(Error::BufferTooSmall { len: 16, min })
    );
    let mut empty = [0u8; 0];
    assert_eq!(
        dir.read(&mut empty).err(),
        Some(Error::BufferTooSmall { len: 0, min })
    );
    let mut just_enough = [0u8; 280];
    let other = Directory::open(tmp.path()).expect("open");
    assert!(other.read(&mut just_enough).is_ok());
    // Nothing was consumed: a big enough buffer still gets everything.
    let (entries, _) = list(&dir, 4096);
    assert_eq!(entries.len(), 2);
}

#[test]
#[cfg_attr(miri, ignore)]
fn misaligned_buffer_works() {
    let tmp = TempDir::new();
    for name in ["a", "bb", "ccc"] {
        fs::write(tmp.join(name), b"").unwrap();
    }
    let dir = Directory::open(tmp.path()).expect("open");
    let mut storage = [0u8; 4096 + 8];
    let mut names = BTreeSet::new();
    loop {
        let batch = dir.read(&mut storage[3..]).expect("getdents64");
        if batch.is_empty() {
            break;
        }
        for entry in batch {
            names.insert(entry.unwrap().name().to_vec());
        }
    }
    assert_eq!(names.len(), 5);
    assert!(names.contains(&b"ccc"[..]));
}

#[test]
#[cfg_attr(miri, ignore)]
fn open_at_walks_into_a_subdirectory() {
    let tmp = TempDir::new();
    fs::create_dir_all(tmp.join("a/b")).unwrap();
    fs::write(tmp.join("a/inner"), b"").unwrap();
    fs::write(tmp.join("a/b/deeper"), b"").unwrap();
    let top = Directory::open(tmp.path()).expect("open");
    let a = top.open_at("a").expect("open_at a");
    let (entries, _) = list(&a, 4096);
    let names: BTreeSet<&[u8]> = entries.keys().map(Vec::as_slice).collect();
    let expected: BTreeSet<&[u8]> = [&b"."[..], b"..", b"b", b"inner"].into_iter().collect();
    assert_eq!(names, expected);
    assert_eq!(entries[&b"b"[..]].file_type, FileKind::Directory);
    let b = a.open_at(&b"b"[..]).expect("open_at b");
    let (entries, _) = list(&b, 4096);
    assert!(entries.contains_key(&b"deeper"[..]));
    // Several components, and a name that ends in its NUL already.
    let b_again = top.open_at(b"a/b\0").expect("open_at a/b");
    assert!(list(&b_again, 4096).0.contains_key(&b"deeper"[..]));
    // Relative to the descriptor, not the path: renaming the parent does not matter.
    fs::rename(tmp.join("a"), tmp.join("renamed")).unwrap();
    let b_after = a.open_at("b").expect("open_at after rename");
    assert!(list(&b_after, 4096).0.contains_key(&b"deeper"[..]));
    assert_syscall_error(top.open_at("a"), Call::Open, Errno::ENOENT);
}

#[test]
#[cfg_attr(miri, ignore)]
fn symlinks_are_followed_only_by_open() {
    let tmp = TempDir::new();
    fs::create_dir(tmp.join("real")).unwrap();
    fs::write(tmp.join("real/inside"), b"").unwrap();
    std::os::unix::fs::symlink("real", tmp.join("link")).unwrap();
    let through = Directory::open(&tmp.join("link")).expect("open follows the link");
    assert!(list(&through, 4096).0.contains_key(&b"inside"[..]));
    let refused = |result: Result<Directory, Error>| match result {
        Err(Error::Syscall {
            call: Call::Open,
            errno,
            ..
        }) => assert!(
            errno == Errno::ELOOP || errno == Errno::ENOTDIR,
            "unexpected {}",
            errno
        ),
        other => panic!("a link was followed: {:?}", other),
    };
    refused(Directory::open_nofollow(&tmp.join("link")));
    let top = Directory::open(tmp.path()).expect("open");
    refused(top.open_at("link"));
    // A link before the last component is followed.
    let inner = top.open_at("link/.").expect("open_at link/.");
    assert!(list(&inner, 4096).0.contains_key(&b"inside"[..]));
    Directory::open_nofollow(&tmp.join("real")).expect("a plain directory opens");
}

#[test]
#[cfg_attr(miri, ignore)]
fn not_a_directory_and_missing_are_reported() {
    let tmp = TempDir::new();
    fs::write(tmp.join("file"), b"").unwrap();
    assert_syscall_error(
        Directory::open(&tmp.join("file")),
        Call::Open,
        Errno::ENOTDIR,
    );
    assert_syscall_error(
        Directory::open(&tmp.join("missing")),
        Call::Open,
        Errno::ENOENT,
    );
    let dir = Directory::open(tmp.path()).expect("open");
    assert_syscall_error(dir.open_at("file"), Call::Open, Errno::ENOTDIR);
    assert_syscall_error(dir.open_at("missing"), Call::Open, Errno::ENOENT);
    assert_syscall_error(dir.kind_of("missing"), Call::Statx, Errno::ENOENT);
    let too_long = "x".repeat(NAME_MAX + 1);
    assert_syscall_error(dir.open_at(&too_long), Call::Open, Errno::ENAMETOOLONG);
    // Refused before any call.
    assert_eq!(
        dir.open_at(&b"a\0b"[..]).err(),
        Some(Error::PathContainsNul { position: 1 })
    );
    assert_eq!(
        dir.kind_of(&b"a\0b"[..]).err(),
        Some(Error::PathContainsNul { position: 1 })
    );
    let message = Directory::open(&tmp.join("file")).unwrap_err().to_string();
    assert!(message.starts_with("openat: "), "{}", message);
}

#[test]
#[cfg_attr(miri, ignore)]
fn descriptor_is_close_on_exec_and_converts() {
    let tmp = TempDir::new();
    let dir = Directory::open(tmp.path()).expect("open");
    let fdinfo = fs::read_to_string(format!("/proc/self/fdinfo/{}", dir.as_raw_fd())).unwrap();
    let flags = fdinfo
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .map(|flags| u32::from_str_radix(flags.trim(), 8).unwrap())
        .expect("a flags line");
    assert_ne!(flags & 0o2_000_000, 0, "O_CLOEXEC missing: {:o}", flags);
    let owned: std::os::unix::io::OwnedFd = dir.into();
    let dir = Directory::from(owned);
    assert_eq!(list(&dir, 4096).0.len(), 2);
}
