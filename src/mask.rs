//! [`WatchMask`] and [`EventMask`]: the `IN_*` bits, with kernel and inotifywait names.

use core::fmt;
use core::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not, Sub};

/// One named bit: its value, its kernel name (`IN_CREATE`), its inotifywait name (`CREATE`).
struct NamedBit {
    bit: u32,
    kernel: &'static str,
    inotifywait: &'static str,
}

/// Every single-bit `IN_*` constant the kernel defines, in ascending bit order.
const NAMED_BITS: [NamedBit; 22] = [
    NamedBit {
        bit: 0x0000_0001,
        kernel: "IN_ACCESS",
        inotifywait: "ACCESS",
    },
    NamedBit {
        bit: 0x0000_0002,
        kernel: "IN_MODIFY",
        inotifywait: "MODIFY",
    },
    NamedBit {
        bit: 0x0000_0004,
        kernel: "IN_ATTRIB",
        inotifywait: "ATTRIB",
    },
    NamedBit {
        bit: 0x0000_0008,
        kernel: "IN_CLOSE_WRITE",
        inotifywait: "CLOSE_WRITE",
    },
    NamedBit {
        bit: 0x0000_0010,
        kernel: "IN_CLOSE_NOWRITE",
        inotifywait: "CLOSE_NOWRITE",
    },
    NamedBit {
        bit: 0x0000_0020,
        kernel: "IN_OPEN",
        inotifywait: "OPEN",
    },
    NamedBit {
        bit: 0x0000_0040,
        kernel: "IN_MOVED_FROM",
        inotifywait: "MOVED_FROM",
    },
    NamedBit {
        bit: 0x0000_0080,
        kernel: "IN_MOVED_TO",
        inotifywait: "MOVED_TO",
    },
    NamedBit {
        bit: 0x0000_0100,
        kernel: "IN_CREATE",
        inotifywait: "CREATE",
    },
    NamedBit {
        bit: 0x0000_0200,
        kernel: "IN_DELETE",
        inotifywait: "DELETE",
    },
    NamedBit {
        bit: 0x0000_0400,
        kernel: "IN_DELETE_SELF",
        inotifywait: "DELETE_SELF",
    },
    NamedBit {
        bit: 0x0000_0800,
        kernel: "IN_MOVE_SELF",
        inotifywait: "MOVE_SELF",
    },
    NamedBit {
        bit: 0x0000_2000,
        kernel: "IN_UNMOUNT",
        inotifywait: "UNMOUNT",
    },
    NamedBit {
        bit: 0x0000_4000,
        kernel: "IN_Q_OVERFLOW",
        inotifywait: "Q_OVERFLOW",
    },
    NamedBit {
        bit: 0x0000_8000,
        kernel: "IN_IGNORED",
        inotifywait: "IGNORED",
    },
    NamedBit {
        bit: 0x0100_0000,
        kernel: "IN_ONLYDIR",
        inotifywait: "ONLYDIR",
    },
    NamedBit {
        bit: 0x0200_0000,
        kernel: "IN_DONT_FOLLOW",
        inotifywait: "DONT_FOLLOW",
    },
    NamedBit {
        bit: 0x0400_0000,
        kernel: "IN_EXCL_UNLINK",
        inotifywait: "EXCL_UNLINK",
    },
    NamedBit {
        bit: 0x1000_0000,
        kernel: "IN_MASK_CREATE",
        inotifywait: "MASK_CREATE",
    },
    NamedBit {
        bit: 0x2000_0000,
        kernel: "IN_MASK_ADD",
        inotifywait: "MASK_ADD",
    },
    NamedBit {
        bit: 0x4000_0000,
        kernel: "IN_ISDIR",
        inotifywait: "ISDIR",
    },
    NamedBit {
        bit: 0x8000_0000,
        kernel: "IN_ONESHOT",
        inotifywait: "ONESHOT",
    },
];

/// Which of the two name sets to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameStyle {
    /// The kernel's names, as in `<sys/inotify.h>` and the Python package: `IN_CREATE`.
    Kernel,
    /// inotifywait's names: `CREATE`.
    Inotifywait,
}

/// The names of the known bits set in a mask, in ascending bit order.
///
/// Bits no constant names are skipped here; see `unknown_bits()` on the mask.
#[derive(Clone, Debug)]
pub struct MaskNames {
    bits: u32,
    style: NameStyle,
    next: usize,
}

impl Iterator for MaskNames {
    type Item = &'static str;

    fn next(&mut self) -> Option<&'static str> {
        while let Some(named) = NAMED_BITS.get(self.next) {
            self.next += 1;
            if self.bits & named.bit != 0 {
                return Some(match self.style {
                    NameStyle::Kernel => named.kernel,
                    NameStyle::Inotifywait => named.inotifywait,
                });
            }
        }
        None
    }
}

/// inotifywait's event names in the order its default output (`%e`) prints them: bit
/// order, except that `CLOSE` (either close bit) comes after `IGNORED`, followed by
/// `MOVE_SELF`, `ISDIR` and `ONESHOT`.
const INOTIFYWAIT_ORDER: [(u32, &str); 18] = [
    (0x0000_0001, "ACCESS"),
    (0x0000_0002, "MODIFY"),
    (0x0000_0004, "ATTRIB"),
    (0x0000_0008, "CLOSE_WRITE"),
    (0x0000_0010, "CLOSE_NOWRITE"),
    (0x0000_0020, "OPEN"),
    (0x0000_0040, "MOVED_FROM"),
    (0x0000_0080, "MOVED_TO"),
    (0x0000_0100, "CREATE"),
    (0x0000_0200, "DELETE"),
    (0x0000_0400, "DELETE_SELF"),
    (0x0000_2000, "UNMOUNT"),
    (0x0000_4000, "Q_OVERFLOW"),
    (0x0000_8000, "IGNORED"),
    (0x0000_0018, "CLOSE"),
    (0x0000_0800, "MOVE_SELF"),
    (0x4000_0000, "ISDIR"),
    (0x8000_0000, "ONESHOT"),
];

/// The names inotifywait prints for a mask, in its order: `CLOSE_WRITE`, `CLOSE` for a
/// closed file; `CREATE`, `ISDIR` for a new directory. Join them with `,` to get its
/// `%e` field.
#[derive(Clone, Debug)]
pub struct InotifywaitEvents {
    bits: u32,
    next: usize,
}

impl Iterator for InotifywaitEvents {
    type Item = &'static str;

    fn next(&mut self) -> Option<&'static str> {
        while let Some(&(bits, name)) = INOTIFYWAIT_ORDER.get(self.next) {
            self.next += 1;
            if self.bits & bits != 0 {
                return Some(name);
            }
        }
        None
    }
}

impl EventMask {
    /// The names inotifywait prints for this mask, in its order (see
    /// [`InotifywaitEvents`]). Unlike [`inotifywait_names`](Self::inotifywait_names),
    /// which names each bit in bit order, this adds `CLOSE` and follows inotifywait.
    pub fn inotifywait_events(self) -> InotifywaitEvents {
        InotifywaitEvents {
            bits: self.0,
            next: 0,
        }
    }
}

/// The OR of every bit [`NAMED_BITS`] lists.
const KNOWN_BITS: u32 = {
    let mut all = 0;
    let mut i = 0;
    while i < NAMED_BITS.len() {
        all |= NAMED_BITS[i].bit;
        i += 1;
    }
    all
};

/// Writes the kernel names of `bits` joined by `|`, then any unknown bits in hex.
fn write_kernel_names(bits: u32, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut first = true;
    let names = MaskNames {
        bits,
        style: NameStyle::Kernel,
        next: 0,
    };
    for name in names {
        if !first {
            f.write_str(" | ")?;
        }
        f.write_str(name)?;
        first = false;
    }
    let unknown = bits & !KNOWN_BITS;
    if unknown != 0 {
        if !first {
            f.write_str(" | ")?;
        }
        write!(f, "{:#010x}", unknown)?;
        first = false;
    }
    if first {
        f.write_str("(empty)")?;
    }
    Ok(())
}

/// A mask type: a `u32` newtype with the constants given, its set methods, its names,
/// its operators and its formatting, each from one of the macros below it.
macro_rules! mask_type {
    (
        $(#[$doc:meta])*
        $name:ident { $($(#[$cdoc:meta])* $konst:ident = $value:expr;)* }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            $($(#[$cdoc])* pub const $konst: $name = $name($value);)*
        }

        mask_set_methods!($name);
        mask_name_methods!($name);
        mask_operators!($name);
        mask_formatting!($name);
    };
    // A mask type of its own names, each `prefix` and a constant's name (fanotify's).
    (
        $(#[$doc:meta])*
        $name:ident prefix $prefix:literal {
            $($(#[$cdoc:meta])* $konst:ident = $value:expr;)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            $($(#[$cdoc])* pub const $konst: $name = $name($value);)*

            /// Each constant's bits and its kernel name.
            const NAMED: &'static [(u32, &'static str)] =
                &[$(($value, concat!($prefix, stringify!($konst))),)*];

            /// The set bits that no constant names.
            pub const fn unknown_bits(self) -> u32 {
                let mut known = 0;
                let mut i = 0;
                while i < Self::NAMED.len() {
                    known |= Self::NAMED[i].0;
                    i += 1;
                }
                self.0 & !known
            }
        }

        mask_set_methods!($name);
        mask_operators!($name);

        impl fmt::Debug for $name {
            /// The kernel names of the bits set, one bit each, unknown bits in hex.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "("))?;
                write_single_bit_names(self.0, $name::NAMED, f)?;
                f.write_str(")")
            }
        }

        impl fmt::Display for $name {
            /// The kernel names of the bits set, one bit each, unknown bits in hex.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_single_bit_names(self.0, $name::NAMED, f)
            }
        }
    };
}

/// `bits` as the names of `named` that stand for one bit each (in their order), joined
/// by ` | `, then what no such name covers in hex; `(empty)` for no bit.
fn write_single_bit_names(
    bits: u32,
    named: &[(u32, &str)],
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let mut covered = 0;
    for &(bit, name) in named {
        if bit.count_ones() == 1 && bits & bit != 0 && covered & bit == 0 {
            if covered != 0 {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            covered |= bit;
        }
    }
    let rest = bits & !covered;
    if rest != 0 {
        if covered != 0 {
            f.write_str(" | ")?;
        }
        write!(f, "{:#010x}", rest)?;
    }
    if bits == 0 {
        f.write_str("(empty)")?;
    }
    Ok(())
}

/// The set methods of a mask type, `const` where std's would be.
macro_rules! mask_set_methods {
    ($name:ident) => {
        impl $name {
            /// No bits.
            pub const fn empty() -> $name {
                $name(0)
            }

            /// The raw bits, unknown ones included.
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// A mask with exactly these bits, unknown ones kept.
            pub const fn from_bits_retain(bits: u32) -> $name {
                $name(bits)
            }

            /// True when no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// True when every bit of `other` is set in `self`.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// True when `self` and `other` share at least one bit.
            pub const fn intersects(self, other: $name) -> bool {
                self.0 & other.0 != 0
            }

            /// `self` with the bits of `other` added.
            pub const fn union(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }

            /// The bits set in both.
            pub const fn intersection(self, other: $name) -> $name {
                $name(self.0 & other.0)
            }

            /// `self` without the bits of `other`.
            pub const fn difference(self, other: $name) -> $name {
                $name(self.0 & !other.0)
            }
        }
    };
}

/// The methods of a mask type that name its bits, from the one table of names.
macro_rules! mask_name_methods {
    ($name:ident) => {
        impl $name {
            /// The set bits that no `IN_*` constant names.
            pub const fn unknown_bits(self) -> u32 {
                self.0 & !KNOWN_BITS
            }

            /// The names of the known bits, in ascending bit order, in either name set.
            pub fn names(self, style: NameStyle) -> MaskNames {
                MaskNames {
                    bits: self.0,
                    style,
                    next: 0,
                }
            }

            /// The kernel names (`IN_CREATE`), in ascending bit order.
            pub fn kernel_names(self) -> MaskNames {
                self.names(NameStyle::Kernel)
            }

            /// The inotifywait names (`CREATE`), in ascending bit order.
            pub fn inotifywait_names(self) -> MaskNames {
                self.names(NameStyle::Inotifywait)
            }

            /// Each known bit set in `self`, as a mask of its own, in ascending order.
            pub fn single_bits(self) -> impl Iterator<Item = $name> {
                NAMED_BITS
                    .iter()
                    .filter(move |named| self.0 & named.bit != 0)
                    .map(|named| $name(named.bit))
            }

            /// The name of a mask that is exactly one known bit, such as `IN_CREATE`.
            pub fn name(self, style: NameStyle) -> Option<&'static str> {
                let named = NAMED_BITS.iter().find(|named| named.bit == self.0)?;
                Some(match style {
                    NameStyle::Kernel => named.kernel,
                    NameStyle::Inotifywait => named.inotifywait,
                })
            }
        }
    };
}

/// The operators of a mask type: `|`, `&`, `-` (difference), `!`, and `u32::from`.
macro_rules! mask_operators {
    ($name:ident) => {
        impl BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                self.union(rhs)
            }
        }

        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) {
                self.0 |= rhs.0;
            }
        }

        impl BitAnd for $name {
            type Output = $name;
            fn bitand(self, rhs: $name) -> $name {
                self.intersection(rhs)
            }
        }

        impl BitAndAssign for $name {
            fn bitand_assign(&mut self, rhs: $name) {
                self.0 &= rhs.0;
            }
        }

        impl Sub for $name {
            type Output = $name;
            fn sub(self, rhs: $name) -> $name {
                self.difference(rhs)
            }
        }

        impl Not for $name {
            type Output = $name;
            fn not(self) -> $name {
                $name(!self.0)
            }
        }

        impl From<$name> for u32 {
            fn from(mask: $name) -> u32 {
                mask.0
            }
        }
    };
}

/// `Debug` (`Name(IN_CREATE | IN_ISDIR)`) and `Display` (`IN_CREATE | IN_ISDIR`) of a mask
/// type, with unknown bits in hex.
macro_rules! mask_formatting {
    ($name:ident) => {
        impl fmt::Debug for $name {
            /// `IN_CREATE | IN_ISDIR`, with unknown bits in hex.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "("))?;
                write_kernel_names(self.0, f)?;
                f.write_str(")")
            }
        }

        impl fmt::Display for $name {
            /// `IN_CREATE | IN_ISDIR`, with unknown bits in hex.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_kernel_names(self.0, f)
            }
        }
    };
}

/// Defines a mask type with the event bits both masks share, then the bits given.
macro_rules! mask_type_with_event_bits {
    ($(#[$doc:meta])* $name:ident { $($rest:tt)* }) => {
        mask_type! {
            $(#[$doc])*
            $name {
                /// `IN_ACCESS`: a file was read.
                ACCESS = 0x0000_0001;
                /// `IN_MODIFY`: a file was written.
                MODIFY = 0x0000_0002;
                /// `IN_ATTRIB`: metadata changed (permissions, timestamps, owner, links, xattrs).
                ATTRIB = 0x0000_0004;
                /// `IN_CLOSE_WRITE`: a file opened for writing was closed.
                CLOSE_WRITE = 0x0000_0008;
                /// `IN_CLOSE_NOWRITE`: a file or directory not opened for writing was closed.
                CLOSE_NOWRITE = 0x0000_0010;
                /// `IN_OPEN`: a file or directory was opened.
                OPEN = 0x0000_0020;
                /// `IN_MOVED_FROM`: an entry was renamed out of a watched directory; its
                /// cookie pairs it with the `IN_MOVED_TO`.
                MOVED_FROM = 0x0000_0040;
                /// `IN_MOVED_TO`: an entry was renamed into a watched directory.
                MOVED_TO = 0x0000_0080;
                /// `IN_CREATE`: an entry was created in a watched directory.
                CREATE = 0x0000_0100;
                /// `IN_DELETE`: an entry was deleted from a watched directory.
                DELETE = 0x0000_0200;
                /// `IN_DELETE_SELF`: the watched object itself was deleted.
                DELETE_SELF = 0x0000_0400;
                /// `IN_MOVE_SELF`: the watched object itself was moved.
                MOVE_SELF = 0x0000_0800;
                /// `IN_CLOSE`: both close events.
                CLOSE = 0x0000_0018;
                /// `IN_MOVE`: both move events.
                MOVE = 0x0000_00c0;
                /// `IN_ALL_EVENTS`: every event bit above.
                ALL_EVENTS = 0x0000_0fff;
                $($rest)*
            }
        }
    };
}

mask_type_with_event_bits! {
    /// What to watch for: the mask given to `inotify_add_watch`.
    ///
    /// Event bits say which events to report; the flag bits (`ONLYDIR`, `DONT_FOLLOW`,
    /// `EXCL_UNLINK`, `MASK_CREATE`, `MASK_ADD`, `ONESHOT`) change how the watch is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use inotify_raw::{Errno, EventMask, Inotify, WatchMask};
    ///
    /// let mask = WatchMask::CREATE | WatchMask::MOVED_TO | WatchMask::ONLYDIR;
    /// assert!(mask.contains(WatchMask::CREATE));
    /// assert!(!mask.intersects(WatchMask::DELETE | WatchMask::MODIFY));
    /// assert_eq!(mask.to_string(), "IN_MOVED_TO | IN_CREATE | IN_ONLYDIR");
    /// assert_eq!(mask.inotifywait_names().collect::<Vec<_>>(), ["MOVED_TO", "CREATE", "ONLYDIR"]);
    /// // The events it asks for, as they show in events:
    /// assert_eq!(EventMask::from(mask), EventMask::CREATE | EventMask::MOVED_TO);
    ///
    /// let dir = std::env::temp_dir().join(format!("inotify-raw-doc-watchmask-{}", std::process::id()));
    /// std::fs::create_dir(&dir)?;
    /// std::fs::write(dir.join("file"), b"")?;
    /// let inotify = Inotify::new()?;
    /// inotify.add_watch(dir.as_path(), mask)?;
    /// // IN_ONLYDIR: a file is refused.
    /// let error = inotify.add_watch(dir.join("file").as_path(), mask).unwrap_err();
    /// assert_eq!(error.errno(), Some(Errno::ENOTDIR));
    ///
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    WatchMask {
        /// `IN_ONLYDIR`: fail with `ENOTDIR` unless the path is a directory.
        ONLYDIR = 0x0100_0000;
        /// `IN_DONT_FOLLOW`: do not follow a final symbolic link.
        DONT_FOLLOW = 0x0200_0000;
        /// `IN_EXCL_UNLINK`: no events for children after they are unlinked.
        EXCL_UNLINK = 0x0400_0000;
        /// `IN_MASK_CREATE`: fail with `EEXIST` if the path is already watched.
        MASK_CREATE = 0x1000_0000;
        /// `IN_MASK_ADD`: add to an existing watch's mask instead of replacing it.
        MASK_ADD = 0x2000_0000;
        /// `IN_ONESHOT`: remove the watch after its first event.
        ONESHOT = 0x8000_0000;
    }
}

mask_type_with_event_bits! {
    /// What happened: the mask of an event read from the kernel.
    ///
    /// Besides the event bits of [`WatchMask`], the kernel sets `ISDIR` (the subject is a
    /// directory), `IGNORED` (the watch is gone), `Q_OVERFLOW` (events were lost; the
    /// event's watch descriptor is -1) and `UNMOUNT` (the file system went away).
    ///
    /// Bits no constant names are kept, never dropped: see
    /// [`unknown_bits`](EventMask::unknown_bits).
    ///
    /// # Examples
    ///
    /// ```
    /// use inotify_raw::{EventBuffer, EventMask, Inotify, NameStyle, WatchMask};
    ///
    /// let dir = std::env::temp_dir().join(format!("inotify-raw-doc-eventmask-{}", std::process::id()));
    /// std::fs::create_dir(&dir)?;
    /// let inotify = Inotify::new()?;
    /// inotify.add_watch(dir.as_path(), WatchMask::CREATE)?;
    /// std::fs::create_dir(dir.join("sub"))?;
    ///
    /// let mut buffer = EventBuffer::<4096>::new();
    /// let event = inotify.read(&mut buffer)?.next().expect("an event")?;
    /// let mask = event.mask();
    /// assert_eq!(mask, EventMask::CREATE | EventMask::ISDIR);
    /// assert!(mask.contains(EventMask::ISDIR));
    /// assert_eq!(mask.to_string(), "IN_CREATE | IN_ISDIR");
    /// assert_eq!(mask.inotifywait_events().collect::<Vec<_>>(), ["CREATE", "ISDIR"]);
    /// let bits: Vec<_> = mask.single_bits().map(|bit| bit.name(NameStyle::Kernel)).collect();
    /// assert_eq!(bits, [Some("IN_CREATE"), Some("IN_ISDIR")]);
    /// assert_eq!(mask.unknown_bits(), 0);
    ///
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    EventMask {
        /// `IN_UNMOUNT`: the file system holding the watched object was unmounted.
        UNMOUNT = 0x0000_2000;
        /// `IN_Q_OVERFLOW`: the kernel's queue overflowed and events were dropped.
        Q_OVERFLOW = 0x0000_4000;
        /// `IN_IGNORED`: the watch was removed (explicitly, or because its object went away).
        IGNORED = 0x0000_8000;
        /// `IN_ISDIR`: the subject of the event is a directory.
        ISDIR = 0x4000_0000;
    }
}

impl From<WatchMask> for EventMask {
    /// The event bits of a watch mask, as they will show in events.
    fn from(mask: WatchMask) -> EventMask {
        EventMask(mask.0 & WatchMask::ALL_EVENTS.0)
    }
}

mask_type! {
    /// Flags for [`Fanotify::init`](crate::Fanotify::init): the class of the group, and
    /// what each event reports. `FAN_CLOEXEC` is always added.
    ///
    /// A group that reports file handles (`REPORT_FID`, `REPORT_DIR_FID`, and the
    /// combinations built on them) sees creations, deletions and moves, and its events
    /// carry no open descriptor. Without them, each event carries an open descriptor of
    /// the file, which the reader must close.
    ///
    /// # Examples
    ///
    /// ```
    /// use inotify_raw::FanotifyInitFlags;
    ///
    /// // Directory handles with names, and the file's own handle: what a watcher of a
    /// // whole file system needs.
    /// let flags = FanotifyInitFlags::REPORT_DFID_NAME | FanotifyInitFlags::REPORT_FID;
    /// assert!(flags.contains(FanotifyInitFlags::REPORT_DIR_FID | FanotifyInitFlags::REPORT_NAME));
    /// assert_eq!(flags.bits(), 0xe00);
    /// ```
    ///
    /// # References
    ///
    /// [fanotify_init(2)](https://man7.org/linux/man-pages/man2/fanotify_init.2.html)
    #[doc(alias = "fanotify_init")]
    FanotifyInitFlags prefix "FAN_" {
        /// `FAN_CLASS_NOTIF` (0, the default): notification only; the only class that
        /// can report file handles.
        CLASS_NOTIF = 0x0000_0000;
        /// `FAN_CLOEXEC`: close the group's descriptor on `exec`. Always added.
        CLOEXEC = 0x0000_0001;
        /// `FAN_NONBLOCK`: a read with no event waiting fails with `EAGAIN`.
        NONBLOCK = 0x0000_0002;
        /// `FAN_CLASS_CONTENT`: permission events, once the content is final.
        CLASS_CONTENT = 0x0000_0004;
        /// `FAN_CLASS_PRE_CONTENT`: permission events, before the content is final.
        CLASS_PRE_CONTENT = 0x0000_0008;
        /// `FAN_UNLIMITED_QUEUE`: no limit on the queue (no `FAN_Q_OVERFLOW`).
        UNLIMITED_QUEUE = 0x0000_0010;
        /// `FAN_UNLIMITED_MARKS`: no limit on the marks of this user.
        UNLIMITED_MARKS = 0x0000_0020;
        /// `FAN_ENABLE_AUDIT` (Linux 4.15): permission responses may ask for an audit record.
        ENABLE_AUDIT = 0x0000_0040;
        /// `FAN_REPORT_PIDFD` (Linux 5.15): each event carries a pidfd of the process that
        /// caused it, in an info record.
        REPORT_PIDFD = 0x0000_0080;
        /// `FAN_REPORT_TID` (Linux 4.20): an event's `pid` is the thread's ID.
        REPORT_TID = 0x0000_0100;
        /// `FAN_REPORT_FID` (Linux 5.1): events carry the file's handle in place of an
        /// open descriptor.
        REPORT_FID = 0x0000_0200;
        /// `FAN_REPORT_DIR_FID` (Linux 5.9): events carry the handle of the directory
        /// the entry is in.
        REPORT_DIR_FID = 0x0000_0400;
        /// `FAN_REPORT_NAME` (Linux 5.9): with `REPORT_DIR_FID`, the entry's name too.
        REPORT_NAME = 0x0000_0800;
        /// `FAN_REPORT_DFID_NAME`: `REPORT_DIR_FID | REPORT_NAME`.
        REPORT_DFID_NAME = 0x0000_0c00;
        /// `FAN_REPORT_TARGET_FID` (Linux 5.17): with `REPORT_DFID_NAME` and `REPORT_FID`,
        /// entry events carry the handle of the entry itself too.
        REPORT_TARGET_FID = 0x0000_1000;
        /// `FAN_REPORT_DFID_NAME_TARGET`: `REPORT_DFID_NAME | REPORT_FID |
        /// REPORT_TARGET_FID`.
        REPORT_DFID_NAME_TARGET = 0x0000_1e00;
        /// `FAN_REPORT_FD_ERROR` (Linux 6.13, 6.12.5, 6.6.66): an event's `fd` is a
        /// negative errno when the file could not be opened.
        REPORT_FD_ERROR = 0x0000_2000;
        /// `FAN_REPORT_MNT` (Linux 6.15): mount events of a mount namespace mark.
        REPORT_MNT = 0x0000_4000;
    }
}

impl FanotifyInitFlags {
    /// The report flags a kernel may not know, each with its name and the Linux
    /// version that added it, oldest first.
    pub(crate) const SINCE: [(FanotifyInitFlags, &'static str, &'static str); 9] = [
        (FanotifyInitFlags::ENABLE_AUDIT, "FAN_ENABLE_AUDIT", "4.15"),
        (FanotifyInitFlags::REPORT_TID, "FAN_REPORT_TID", "4.20"),
        (FanotifyInitFlags::REPORT_FID, "FAN_REPORT_FID", "5.1"),
        (
            FanotifyInitFlags::REPORT_DIR_FID,
            "FAN_REPORT_DIR_FID",
            "5.9",
        ),
        (FanotifyInitFlags::REPORT_NAME, "FAN_REPORT_NAME", "5.9"),
        (FanotifyInitFlags::REPORT_PIDFD, "FAN_REPORT_PIDFD", "5.15"),
        (
            FanotifyInitFlags::REPORT_TARGET_FID,
            "FAN_REPORT_TARGET_FID",
            "5.17",
        ),
        (
            FanotifyInitFlags::REPORT_FD_ERROR,
            "FAN_REPORT_FD_ERROR",
            "6.13 (or 6.12.5, 6.6.66)",
        ),
        (FanotifyInitFlags::REPORT_MNT, "FAN_REPORT_MNT", "6.15"),
    ];
}

mask_type! {
    /// Flags for [`Fanotify::mark`](crate::Fanotify::mark): what to do (add, remove,
    /// flush), to what kind of object (an inode, a mount, a whole file system), and
    /// whether the mask is one of events to ignore.
    ///
    /// `INODE` (0), `MOUNT` and `FILESYSTEM` are values of one two-bit field, not
    /// independent bits.
    ///
    /// # Examples
    ///
    /// ```
    /// use inotify_raw::FanotifyMarkFlags;
    ///
    /// // One mark for every file of the file system that holds a path.
    /// let whole = FanotifyMarkFlags::ADD | FanotifyMarkFlags::FILESYSTEM;
    /// assert_eq!(whole.bits(), 0x101);
    /// // Then nothing from one directory's own events, however often it is modified.
    /// let ignore = FanotifyMarkFlags::ADD | FanotifyMarkFlags::IGNORE_SURV;
    /// assert!(ignore.contains(FanotifyMarkFlags::IGNORED_SURV_MODIFY));
    /// ```
    ///
    /// # References
    ///
    /// [fanotify_mark(2)](https://man7.org/linux/man-pages/man2/fanotify_mark.2.html)
    #[doc(alias = "fanotify_mark")]
    FanotifyMarkFlags prefix "FAN_MARK_" {
        /// `FAN_MARK_INODE` (0, the default): mark the file or directory itself.
        INODE = 0x0000_0000;
        /// `FAN_MARK_ADD`: add the mask's events to the mark.
        ADD = 0x0000_0001;
        /// `FAN_MARK_REMOVE`: remove the mask's events from the mark.
        REMOVE = 0x0000_0002;
        /// `FAN_MARK_DONT_FOLLOW`: do not follow a final symbolic link.
        DONT_FOLLOW = 0x0000_0004;
        /// `FAN_MARK_ONLYDIR`: fail with `ENOTDIR` unless the path is a directory.
        ONLYDIR = 0x0000_0008;
        /// `FAN_MARK_MOUNT`: mark the mount that holds the path.
        MOUNT = 0x0000_0010;
        /// `FAN_MARK_IGNORED_MASK`: the mask lists events to ignore (the older form of
        /// `IGNORE`).
        IGNORED_MASK = 0x0000_0020;
        /// `FAN_MARK_IGNORED_SURV_MODIFY`: the ignore mask survives a modification of
        /// the file.
        IGNORED_SURV_MODIFY = 0x0000_0040;
        /// `FAN_MARK_FLUSH`: remove every mark of the kind given (inode, mount or file
        /// system).
        FLUSH = 0x0000_0080;
        /// `FAN_MARK_FILESYSTEM` (Linux 4.20): mark the whole file system that holds the
        /// path.
        FILESYSTEM = 0x0000_0100;
        /// `FAN_MARK_MNTNS` (Linux 6.15): mark the mount namespace of a namespace file.
        MNTNS = 0x0000_0110;
        /// `FAN_MARK_EVICTABLE` (Linux 5.19): an inode mark that does not keep its inode
        /// in memory.
        EVICTABLE = 0x0000_0200;
        /// `FAN_MARK_IGNORE` (Linux 6.0): the mask lists events to ignore, `ONDIR` and
        /// `EVENT_ON_CHILD` included.
        IGNORE = 0x0000_0400;
        /// `FAN_MARK_IGNORE_SURV`: `IGNORE | IGNORED_SURV_MODIFY`, which an ignore mark
        /// on a directory, a mount or a file system needs.
        IGNORE_SURV = 0x0000_0440;
    }
}

mask_type! {
    /// The fanotify event bits: what to mark for, and what happened in an event that
    /// was read.
    ///
    /// The file-system events and their flags are the low 32 bits of the kernel's
    /// 64-bit mask, and this type holds those; a mount-namespace event's type is above
    /// them, in [`FanotifyEvent::raw_mask`](crate::FanotifyEvent::raw_mask).
    ///
    /// Entry events (`CREATE`, `DELETE`, `MOVED_FROM`, `MOVED_TO`, `RENAME`) and
    /// `ATTRIB`, `DELETE_SELF`, `MOVE_SELF` need a group that reports file handles.
    /// Events on directories come only with `ONDIR` in the mark's mask.
    ///
    /// # Examples
    ///
    /// ```
    /// use inotify_raw::FanotifyMask;
    ///
    /// let mask = FanotifyMask::CREATE | FanotifyMask::DELETE | FanotifyMask::RENAME
    ///     | FanotifyMask::ONDIR;
    /// assert!(mask.contains(FanotifyMask::ONDIR));
    /// assert!(!mask.intersects(FanotifyMask::MOVE));
    /// ```
    ///
    /// # References
    ///
    /// [fanotify(7)](https://man7.org/linux/man-pages/man7/fanotify.7.html),
    /// [fanotify_mark(2)](https://man7.org/linux/man-pages/man2/fanotify_mark.2.html)
    FanotifyMask prefix "FAN_" {
        /// `FAN_ACCESS`: a file or directory was read.
        ACCESS = 0x0000_0001;
        /// `FAN_MODIFY`: a file was written.
        MODIFY = 0x0000_0002;
        /// `FAN_ATTRIB` (Linux 5.1): metadata changed.
        ATTRIB = 0x0000_0004;
        /// `FAN_CLOSE_WRITE`: a file opened for writing was closed.
        CLOSE_WRITE = 0x0000_0008;
        /// `FAN_CLOSE_NOWRITE`: a file or directory not opened for writing was closed.
        CLOSE_NOWRITE = 0x0000_0010;
        /// `FAN_OPEN`: a file or directory was opened.
        OPEN = 0x0000_0020;
        /// `FAN_MOVED_FROM` (Linux 5.1): an entry was moved out of a directory.
        MOVED_FROM = 0x0000_0040;
        /// `FAN_MOVED_TO` (Linux 5.1): an entry was moved into a directory.
        MOVED_TO = 0x0000_0080;
        /// `FAN_CREATE` (Linux 5.1): an entry was created in a directory.
        CREATE = 0x0000_0100;
        /// `FAN_DELETE` (Linux 5.1): an entry was deleted from a directory.
        DELETE = 0x0000_0200;
        /// `FAN_DELETE_SELF` (Linux 5.1): a marked file or directory was deleted.
        DELETE_SELF = 0x0000_0400;
        /// `FAN_MOVE_SELF` (Linux 5.1): a marked file or directory was moved.
        MOVE_SELF = 0x0000_0800;
        /// `FAN_OPEN_EXEC` (Linux 5.0): a file was opened to be executed.
        OPEN_EXEC = 0x0000_1000;
        /// `FAN_Q_OVERFLOW`: the queue overflowed and events were lost.
        Q_OVERFLOW = 0x0000_4000;
        /// `FAN_FS_ERROR` (Linux 5.16): the file system reported an error; the event has
        /// an error record.
        FS_ERROR = 0x0000_8000;
        /// `FAN_OPEN_PERM`: permission to open is asked (content classes only).
        OPEN_PERM = 0x0001_0000;
        /// `FAN_ACCESS_PERM`: permission to read is asked (content classes only).
        ACCESS_PERM = 0x0002_0000;
        /// `FAN_OPEN_EXEC_PERM` (Linux 5.0): permission to open for execution is asked.
        OPEN_EXEC_PERM = 0x0004_0000;
        /// `FAN_EVENT_ON_CHILD`: an inode mark on a directory reports the events of its
        /// direct children too.
        EVENT_ON_CHILD = 0x0800_0000;
        /// `FAN_RENAME` (Linux 5.17): an entry was renamed; the event names both ends.
        RENAME = 0x1000_0000;
        /// `FAN_ONDIR`: in a mark, report events on directories too; in an event, the
        /// subject is a directory.
        ONDIR = 0x4000_0000;
        /// `FAN_CLOSE`: both close events.
        CLOSE = 0x0000_0018;
        /// `FAN_MOVE`: both move events.
        MOVE = 0x0000_00c0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn inotifywait_order() {
        let close: Vec<_> = EventMask::CLOSE_WRITE.inotifywait_events().collect();
        assert_eq!(close, ["CLOSE_WRITE", "CLOSE"]);
        let dir = (EventMask::CLOSE_NOWRITE | EventMask::ISDIR).inotifywait_events();
        assert_eq!(dir.collect::<Vec<_>>(), ["CLOSE_NOWRITE", "CLOSE", "ISDIR"]);
        let moved = (EventMask::MOVE_SELF | EventMask::IGNORED).inotifywait_events();
        assert_eq!(moved.collect::<Vec<_>>(), ["IGNORED", "MOVE_SELF"]);
    }

    #[test]
    fn table_is_ascending_single_bits() {
        for pair in NAMED_BITS.windows(2) {
            assert!(pair[0].bit < pair[1].bit);
        }
        for named in NAMED_BITS.iter() {
            assert_eq!(named.bit.count_ones(), 1);
            assert_eq!(&named.kernel[3..], named.inotifywait);
        }
    }

    #[test]
    fn fanotify_masks_print_their_own_kernel_names() {
        use std::format;
        let created = FanotifyMask::CREATE | FanotifyMask::ONDIR;
        assert_eq!(format!("{}", created), "FAN_CREATE | FAN_ONDIR");
        assert_eq!(
            format!(
                "{:?}",
                FanotifyMarkFlags::ADD | FanotifyMarkFlags::FILESYSTEM
            ),
            "FanotifyMarkFlags(FAN_MARK_ADD | FAN_MARK_FILESYSTEM)"
        );
        assert_eq!(
            format!("{}", FanotifyInitFlags::REPORT_DFID_NAME),
            "FAN_REPORT_DIR_FID | FAN_REPORT_NAME"
        );
        assert_eq!(
            format!("{}", FanotifyMask::from_bits_retain(1 << 31)),
            "0x80000000"
        );
        assert_eq!(
            FanotifyMask::from_bits_retain(1 << 31).unknown_bits(),
            1 << 31
        );
        assert_eq!(format!("{}", FanotifyMask::empty()), "(empty)");
    }
}
