//! [`Errno`]: an error number returned by the kernel, with its name and message, no libc.

use core::fmt;

/// An error number returned by a Linux system call (`ENOENT`, `ENOSPC`, ...).
///
/// The kernel reports failure by returning a value in `-4095..=-1`; the system-call layer
/// turns that into an `Errno` in one place. Names and messages come from a table built
/// into this crate, so they work without libc.
///
/// The numbers are those of the generic Linux ABI, which x86_64 and aarch64 share.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(i32);

/// Where an errno's name and message sit in the packed strings below.
#[derive(Clone, Copy)]
struct Span {
    name_start: u16,
    name_len: u8,
    message_start: u16,
    message_len: u8,
}

const NO_SPAN: Span = Span {
    name_start: 0,
    name_len: 0,
    message_start: 0,
    message_len: 0,
};

/// One past the largest errno the table knows.
const TABLE_LEN: usize = 134;

macro_rules! errno_table {
    ($($name:ident = $num:literal, $msg:literal;)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`: ", $msg, ".")]
                pub const $name: Errno = Errno($num);
            )*
        }

        /// Every name, back to back: the table stays small in a static binary.
        const NAMES: &str = concat!($(stringify!($name)),*);
        /// Every message, back to back.
        const MESSAGES: &str = concat!($($msg),*);
        /// Each errno's name and message in [`NAMES`] and [`MESSAGES`], by number.
        const SPANS: [Span; TABLE_LEN] = {
            let mut spans = [NO_SPAN; TABLE_LEN];
            let mut name_at = 0;
            let mut message_at = 0;
            $(
                spans[$num] = Span {
                    name_start: name_at as u16,
                    name_len: stringify!($name).len() as u8,
                    message_start: message_at as u16,
                    message_len: $msg.len() as u8,
                };
                name_at += stringify!($name).len();
                message_at += $msg.len();
            )*
            let _ = (name_at, message_at);
            spans
        };
    };
}

errno_table! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No locks available";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ECHRNG = 44, "Channel number out of range";
    EL2NSYNC = 45, "Level 2 not synchronized";
    EL3HLT = 46, "Level 3 halted";
    EL3RST = 47, "Level 3 reset";
    ELNRNG = 48, "Link number out of range";
    EUNATCH = 49, "Protocol driver not attached";
    ENOCSI = 50, "No CSI structure available";
    EL2HLT = 51, "Level 2 halted";
    EBADE = 52, "Invalid exchange";
    EBADR = 53, "Invalid request descriptor";
    EXFULL = 54, "Exchange full";
    ENOANO = 55, "No anode";
    EBADRQC = 56, "Invalid request code";
    EBADSLT = 57, "Invalid slot";
    EBFONT = 59, "Bad font file format";
    ENOSTR = 60, "Device not a stream";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    ENOSR = 63, "Out of streams resources";
    ENONET = 64, "Machine is not on the network";
    ENOPKG = 65, "Package not installed";
    EREMOTE = 66, "Object is remote";
    ENOLINK = 67, "Link has been severed";
    EADV = 68, "Advertise error";
    ESRMNT = 69, "Srmount error";
    ECOMM = 70, "Communication error on send";
    EPROTO = 71, "Protocol error";
    EMULTIHOP = 72, "Multihop attempted";
    EDOTDOT = 73, "RFS specific error";
    EBADMSG = 74, "Bad message";
    EOVERFLOW = 75, "Value too large for defined data type";
    ENOTUNIQ = 76, "Name not unique on network";
    EBADFD = 77, "File descriptor in bad state";
    EREMCHG = 78, "Remote address changed";
    ELIBACC = 79, "Can not access a needed shared library";
    ELIBBAD = 80, "Accessing a corrupted shared library";
    ELIBSCN = 81, ".lib section in a.out corrupted";
    ELIBMAX = 82, "Attempting to link in too many shared libraries";
    ELIBEXEC = 83, "Cannot exec a shared library directly";
    EILSEQ = 84, "Invalid or incomplete multibyte or wide character";
    ERESTART = 85, "Interrupted system call should be restarted";
    ESTRPIPE = 86, "Streams pipe error";
    EUSERS = 87, "Too many users";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EOPNOTSUPP = 95, "Operation not supported";
    EPFNOSUPPORT = 96, "Protocol family not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ENETRESET = 102, "Network dropped connection on reset";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown";
    ETOOMANYREFS = 109, "Too many references: cannot splice";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTDOWN = 112, "Host is down";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EUCLEAN = 117, "Structure needs cleaning";
    ENOTNAM = 118, "Not a XENIX named type file";
    ENAVAIL = 119, "No XENIX semaphores available";
    EISNAM = 120, "Is a named type file";
    EREMOTEIO = 121, "Remote I/O error";
    EDQUOT = 122, "Disk quota exceeded";
    ENOMEDIUM = 123, "No medium found";
    EMEDIUMTYPE = 124, "Wrong medium type";
    ECANCELED = 125, "Operation canceled";
    ENOKEY = 126, "Required key not available";
    EKEYEXPIRED = 127, "Key has expired";
    EKEYREVOKED = 128, "Key has been revoked";
    EKEYREJECTED = 129, "Key was rejected by service";
    EOWNERDEAD = 130, "Owner died";
    ENOTRECOVERABLE = 131, "State not recoverable";
    ERFKILL = 132, "Operation not possible due to RF-kill";
    EHWPOISON = 133, "Memory page has hardware error";
}

impl Errno {
    /// `EWOULDBLOCK`: the same number as [`Errno::EAGAIN`].
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `EDEADLOCK`: the same number as [`Errno::EDEADLK`].
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// `ENOTSUP`: the same number as [`Errno::EOPNOTSUPP`].
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The symbolic name, such as `"ENOENT"`, or `None` for a number this table does not
    /// know.
    pub fn name(self) -> Option<&'static str> {
        let span = self.span()?;
        let start = usize::from(span.name_start);
        NAMES.get(start..start + usize::from(span.name_len))
    }

    /// The human-readable message, such as `"No such file or directory"`, or `None` for a
    /// number this table does not know.
    pub fn message(self) -> Option<&'static str> {
        let span = self.span()?;
        let start = usize::from(span.message_start);
        MESSAGES.get(start..start + usize::from(span.message_len))
    }

    fn span(self) -> Option<Span> {
        let span = *SPANS.get(usize::try_from(self.0).ok()?)?;
        if span.name_len == 0 {
            None
        } else {
            Some(span)
        }
    }

    /// Wraps a positive error number, as found in `errno` or `io::Error::raw_os_error`.
    pub const fn from_raw(number: i32) -> Errno {
        Errno(number)
    }

    /// The positive error number.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// Decodes a raw system-call return value: values in `-4095..=-1` (seen as `usize`)
    /// are errors, everything else is a result.
    ///
    /// # Errors
    ///
    /// The error number, for a value in `-4095..=-1`.
    ///
    /// ```
    /// use inotify_raw::Errno;
    ///
    /// assert_eq!(Errno::decode(3), Ok(3));
    /// assert_eq!(Errno::decode(-2isize as usize), Err(Errno::ENOENT));
    /// ```
    #[inline]
    pub const fn decode(ret: usize) -> Result<usize, Errno> {
        // The kernel never returns a valid result in the top 4095 values of the range.
        if ret > (-4096isize) as usize {
            Err(Errno((ret as isize).wrapping_neg() as i32))
        } else {
            Ok(ret)
        }
    }

    /// True for `EAGAIN`, the answer of a non-blocking descriptor with nothing to give.
    pub const fn is_would_block(self) -> bool {
        self.0 == Errno::EAGAIN.0
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    /// `No such file or directory (ENOENT)`, or `unknown errno 4000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.message(), self.name()) {
            (Some(message), Some(name)) => write!(f, "{} ({})", message, name),
            _ => write!(f, "unknown errno {}", self.0),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Errno {}

#[cfg(feature = "std")]
impl From<Errno> for std::io::Error {
    fn from(errno: Errno) -> std::io::Error {
        std::io::Error::from_raw_os_error(errno.0)
    }
}

#[cfg(feature = "std")]
impl Errno {
    /// The `std::io::ErrorKind` the standard library gives this number.
    pub fn kind(self) -> std::io::ErrorKind {
        std::io::Error::from_raw_os_error(self.0).kind()
    }
}

#[cfg(test)]
mod tests {
    use super::Errno;

    #[test]
    fn decode_splits_errors_from_results() {
        assert_eq!(Errno::decode(0), Ok(0));
        assert_eq!(Errno::decode(4096), Ok(4096));
        assert_eq!(Errno::decode((-2isize) as usize), Err(Errno::ENOENT));
        assert_eq!(
            Errno::decode((-4095isize) as usize),
            Err(Errno::from_raw(4095))
        );
        assert_eq!(
            Errno::decode((-4096isize) as usize),
            Ok((-4096isize) as usize)
        );
    }

    #[test]
    fn names_and_messages() {
        assert_eq!(Errno::ENOSPC.name(), Some("ENOSPC"));
        assert_eq!(Errno::ENOTDIR.message(), Some("Not a directory"));
        assert_eq!(Errno::from_raw(41).name(), None);
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::EHWPOISON.name(), Some("EHWPOISON"));
        assert_eq!(
            Errno::EHWPOISON.message(),
            Some("Memory page has hardware error")
        );
        assert_eq!(Errno::EPERM.message(), Some("Operation not permitted"));
    }

    #[test]
    fn packed_table_is_consistent() {
        let mut known = 0;
        for number in -5..200 {
            let errno = Errno::from_raw(number);
            assert_eq!(
                errno.name().is_some(),
                errno.message().is_some(),
                "{}",
                number
            );
            if let (Some(name), Some(message)) = (errno.name(), errno.message()) {
                known += 1;
                assert!(name.starts_with('E') && name.len() > 2, "{}", name);
                assert!(name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
                assert!(!message.is_empty() && !message.starts_with(' '));
            }
        }
        assert_eq!(known, 131); // 1..=133 less the two numbers Linux leaves unused (41, 58)
        assert_eq!(Errno::from_raw(0).name(), None);
        assert_eq!(
            std::format!("{}", Errno::from_raw(4000)),
            "unknown errno 4000"
        );
        assert_eq!(
            std::format!("{}", Errno::ENOENT),
            "No such file or directory (ENOENT)"
        );
        assert_eq!(Errno::from_raw(-2).name(), None);
    }
}
