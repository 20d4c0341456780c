//! The marker files of `sync()`: a file the watcher makes itself in a watched directory
//! and reads back. The kernel queues an instance's events in the order of the system
//! calls that caused them, so once the marker's `IN_CREATE` is read, every event of a
//! change that completed before it was made has been read too.

use std::ffi::{OsStr, OsString};
use std::fs::{self, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::string::String;
use std::sync::atomic::{AtomicU64, Ordering};
use std::vec::Vec;

use crate::dir::proc_fd_path;
use crate::fd::OwnedDescriptor;

/// The start of every marker's name. Events about names that start with it and this
/// process's id are never delivered.
pub(crate) const MARKER_PREFIX: &str = ".inotify-raw-sync-";

/// Markers made by this process so far, for names that are unique in it.
static MARKERS_MADE: AtomicU64 = AtomicU64::new(0);

/// The names of this process's markers: `MARKER_PREFIX`, the process id, a dash, and a
/// count.
#[derive(Debug)]
pub(crate) struct MarkerNames {
    prefix: Vec<u8>,
}

impl MarkerNames {
    pub(crate) fn new() -> MarkerNames {
        let prefix = std::format!("{}{}-", MARKER_PREFIX, std::process::id());
        MarkerNames {
            prefix: prefix.into_bytes(),
        }
    }

    /// Whether `name` is one of this process's markers.
    pub(crate) fn is_marker(&self, name: &[u8]) -> bool {
        name.starts_with(&self.prefix)
    }

    /// A name no marker of this process has had: the prefix, a count, and `suffix`.
    fn next_name(&self, suffix: &str) -> OsString {
        let count = MARKERS_MADE.fetch_add(1, Ordering::Relaxed);
        let mut name = self.prefix.clone();
        name.extend_from_slice(std::format!("{}{}", count, suffix).as_bytes());
        OsString::from_vec(name)
    }

    /// Makes a new marker file in the first of `dirs` that can take one.
    ///
    /// Errors: none of `dirs` could (the error names each and says why), or `dirs` is
    /// empty.
    pub(crate) fn create<'a, I>(&self, dirs: I) -> io::Result<Marker<'static>>
    where
        I: IntoIterator<Item = &'a Path>,
    {
        let places: Vec<MarkerPlace> = dirs.into_iter().map(MarkerPlace::at).collect();
        self.create_file(&places).map(Marker::at)
    }

    /// Makes a new marker file in the first of `places` that can take one; the marker
    /// is removed while they are still there.
    ///
    /// Errors: as for [`create`](Self::create).
    pub(crate) fn create_in<'p>(&self, places: &'p [MarkerPlace]) -> io::Result<Marker<'p>> {
        self.create_file(places).map(Marker::at)
    }

    /// Makes a new marker file in the first of `places` that can take one: its path.
    fn create_file(&self, places: &[MarkerPlace]) -> io::Result<PathBuf> {
        let name = self.next_name("");
        let mut refused = String::new();
        let mut kind = io::ErrorKind::NotFound;
        for place in places {
            let path = place.join(&name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => return Ok(path),
                Err(error) => {
                    kind = error.kind();
                    if !refused.is_empty() {
                        refused.push_str("; ");
                    }
                    refused.push_str(&std::format!("{}: {}", place.label.display(), error));
                }
            }
        }
        if refused.is_empty() {
            refused.push_str("there is no directory to make it in");
        }
        Err(io::Error::new(
            kind,
            std::format!(
                "sync could not make its marker file ({}…, removed at once) in a watched \
                 directory: {}; sync needs a root it can write to (a read-only or \
                 unwritable root cannot be synced)",
                MARKER_PREFIX,
                refused
            ),
        ))
    }
}

/// A watched directory that markers can be made in.
#[derive(Debug)]
pub(crate) struct MarkerPlace {
    /// The path the caller gave: where the markers go (unless `named`), and what an
    /// error calls the place.
    label: PathBuf,
    /// A descriptor that names the directory itself, whatever its path is by now: the
    /// markers go through its `/proc/self/fd/N`.
    named: Option<OwnedDescriptor>,
}

impl MarkerPlace {
    /// The directory at `path`.
    pub(crate) fn at(path: &Path) -> MarkerPlace {
        MarkerPlace {
            label: path.to_path_buf(),
            named: None,
        }
    }

    /// The directory `named` names, exactly; `label`: what an error calls it.
    pub(crate) fn named(label: &Path, named: OwnedDescriptor) -> MarkerPlace {
        MarkerPlace {
            label: label.to_path_buf(),
            named: Some(named),
        }
    }

    /// Where a file called `name` goes.
    fn join(&self, name: &OsStr) -> PathBuf {
        match &self.named {
            Some(named) => Path::new(&proc_fd_path(named)).join(name),
            None => self.label.join(name),
        }
    }
}

/// A marker file on disk; removed when dropped, while the place it was made in (and the
/// descriptor its path may go through) is still there.
#[derive(Debug)]
pub(crate) struct Marker<'p> {
    path: PathBuf,
    place: PhantomData<&'p MarkerPlace>,
}

impl Marker<'_> {
    fn at(path: PathBuf) -> Self {
        Marker {
            path,
            place: PhantomData,
        }
    }

    /// The marker's name in its directory.
    pub(crate) fn name(&self) -> &[u8] {
        self.path.file_name().map_or(&[], |name| name.as_bytes())
    }
}

impl Drop for Marker<'_> {
    fn drop(&mut self) {
        // Gone already (someone removed it): nothing to do.
        let _ = fs::remove_file(&self.path);
    }
}

/// A directory of a watcher's own, made in the temporary directory, for the markers of a
/// watcher that may watch no directory it can write to; removed when dropped.
#[derive(Debug)]
pub(crate) struct MarkerDir {
    path: PathBuf,
}

impl MarkerDir {
    /// Makes the directory.
    ///
    /// Errors: the temporary directory (`TMPDIR`, else `/tmp`) cannot take it.
    pub(crate) fn create(names: &MarkerNames) -> io::Result<MarkerDir> {
        let path = std::env::temp_dir().join(names.next_name(".d"));
        match fs::create_dir(&path) {
            Ok(()) => Ok(MarkerDir { path }),
            Err(error) => Err(io::Error::new(
                error.kind(),
                std::format!(
                    "sync could not make its marker directory {}: {}; set TMPDIR to a \
                     writable directory",
                    path.display(),
                    error
                ),
            )),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for MarkerDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.path);
    }
}
