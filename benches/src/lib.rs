//! What the tree benchmarks (`tree_setup`, `tree_events`) share: their command lines,
//! the trees they watch, the kernel's figures they read, and the statistics they print.

use std::collections::HashMap;
use std::error::Error;
use std::ffi::OsString;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

// ---------------------------------------------------------------------------------------
// Command lines

/// Runs a program's subcommand: `commands(name, args)` runs it, or says `None` to an
/// unknown name. `help` prints `usage`; an error is printed after the program's name,
/// and the process exits with 1.
pub fn run_command(
    program: &str,
    options: &[&str],
    usage: &'static str,
    commands: impl FnOnce(&str, &Args) -> Option<Result<()>>,
) {
    let mut args = std::env::args_os().skip(1);
    let command = args.next().and_then(|c| c.into_string().ok());
    let result = Args::parse(args, options, usage).and_then(|rest| match command.as_deref() {
        Some("-h" | "--help" | "help") => {
            println!("{usage}");
            Ok(())
        }
        Some(name) => commands(name, &rest).unwrap_or_else(|| Err(usage.into())),
        None => Err(usage.into()),
    });
    if let Err(error) = result {
        eprintln!("{program}: {error}");
        std::process::exit(1);
    }
}

/// The arguments after the subcommand: positional ones, `--name value` (or
/// `--name=value`) options of a given set, and the `--hold` flag.
pub struct Args {
    pub positional: Vec<OsString>,
    pub options: HashMap<String, String>,
    pub hold: bool,
    usage: &'static str,
}

impl Args {
    /// Parses `args`, taking only the options named in `known`; `usage` is shown with
    /// every error.
    pub fn parse(
        mut args: impl Iterator<Item = OsString>,
        known: &[&str],
        usage: &'static str,
    ) -> Result<Args> {
        let mut parsed = Args {
            positional: Vec::new(),
            options: HashMap::new(),
            hold: false,
            usage,
        };
        while let Some(arg) = args.next() {
            let Some(text) = arg.to_str().filter(|t| t.starts_with("--")) else {
                parsed.positional.push(arg);
                continue;
            };
            if text == "--hold" {
                parsed.hold = true;
                continue;
            }
            let (name, value) = match text.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = args
                        .next()
                        .and_then(|v| v.into_string().ok())
                        .ok_or_else(|| format!("{text} needs a value\n{usage}"))?;
                    (text.to_owned(), value)
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(format!("unknown option {name}\n{usage}").into());
            }
            parsed.options.insert(name, value);
        }
        Ok(parsed)
    }

    /// The one positional argument, a directory.
    pub fn dir(&self) -> Result<PathBuf> {
        match self.positional.as_slice() {
            [dir] => Ok(PathBuf::from(dir)),
            _ => Err(format!("expected one directory\n{}", self.usage).into()),
        }
    }

    /// The option `name` as a count, or `default` (an error when there is none).
    pub fn number(&self, name: &str, default: Option<usize>) -> Result<usize> {
        match self.options.get(name) {
            Some(value) => Ok(parse_count(value).ok_or_else(|| format!("{name} {value}?"))?),
            None => default.ok_or_else(|| format!("{name} is required\n{}", self.usage).into()),
        }
    }

    /// The option `name` as a list of counts (`20000,100000`), or `default`.
    pub fn numbers(&self, name: &str, default: &[usize]) -> Result<Vec<usize>> {
        match self.options.get(name) {
            Some(list) => Ok(split_list(list)
                .map(|s| parse_count(s).ok_or_else(|| format!("{name} {list}?")))
                .collect::<std::result::Result<_, _>>()?),
            None => Ok(default.to_vec()),
        }
    }

    /// The option `name` as a list of words (`/tmp,/mnt/t`), or `default`.
    pub fn words(&self, name: &str, default: &[&str]) -> Vec<String> {
        match self.options.get(name) {
            Some(list) => split_list(list).map(str::to_owned).collect(),
            None => default.iter().map(|&s| s.to_owned()).collect(),
        }
    }
}

fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
}

/// `100000`, `100_000` or `100,000` (not `0`).
pub fn parse_count(text: &str) -> Option<usize> {
    let digits: String = text.chars().filter(|c| !matches!(c, '_' | ',')).collect();
    digits.parse().ok().filter(|&n| n > 0)
}

// ---------------------------------------------------------------------------------------
// Trees

/// The file in each directory of a tree, and what the ones below the root hold.
pub const FILE_NAME: &str = "f";
const FILE_CONTENT: &[u8] = b"0123456789abcdef\n";

/// Where the tree of `dirs` directories and fanout `fanout` lies under `base`.
pub fn tree_path(base: &Path, dirs: usize, fanout: usize) -> PathBuf {
    base.join(format!("inotify-raw-tree-{dirs}-f{fanout}"))
}

/// The directory at `index` of a tree (0: the root), numbered level by level: each has
/// `fanout` subdirectories `d0`, `d1`, ..., those of directory `p` at `p * fanout + 1`
/// and on; a tree of N directories holds those below N. Computed, not stored: a program
/// that walks a big tree keeps no list of its paths.
pub fn tree_dir(root: &Path, index: usize, fanout: usize) -> PathBuf {
    let mut steps = Vec::new();
    let mut at = index;
    while at > 0 {
        steps.push((at - 1) % fanout);
        at = (at - 1) / fanout;
    }
    let mut path = root.to_path_buf();
    for child in steps.iter().rev() {
        path.push(format!("d{child}"));
    }
    path
}

/// What the root's file of a complete tree holds.
fn stamp(dirs: usize, fanout: usize) -> String {
    format!("inotify-raw benchmark tree: {dirs} directories, fanout {fanout}\n")
}

/// Makes the tree of `dirs` directories of [`tree_dir`], with one small file
/// [`FILE_NAME`] in each, unless it is complete already: whether it made anything. The
/// root's file, written last, records the size and fanout: when it is there and
/// matches, the tree is complete. A tree cut short earlier is completed.
pub fn make_tree(root: &Path, dirs: usize, fanout: usize) -> Result<bool> {
    let stamp = stamp(dirs, fanout);
    let stamp_path = root.join(FILE_NAME);
    match fs::read(&stamp_path) {
        Ok(found) if found == stamp.as_bytes() => return Ok(false),
        Ok(_) => {
            return Err(format!(
                "{} holds another tree (its {FILE_NAME} is not \"{}\"): remove it or choose \
                 another directory",
                root.display(),
                stamp.trim_end()
            )
            .into())
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", stamp_path.display()).into()),
    }
    fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    for index in 1..dirs {
        let path = tree_dir(root, index, fanout);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("{}: {e}", path.display()).into()),
        }
        let file = path.join(FILE_NAME);
        fs::write(&file, FILE_CONTENT).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    fs::write(&stamp_path, stamp).map_err(|e| format!("{}: {e}", stamp_path.display()))?;
    Ok(true)
}

/// The type of the file system `path` lies on (`ext4`, `tmpfs`, ...): that of the
/// mount in `/proc/self/mountinfo` whose mount point is the longest prefix of the path.
pub fn fs_type(path: &Path) -> Result<String> {
    let path = fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
    let mut best: Option<(usize, &str)> = None;
    for line in mountinfo.lines() {
        // "id parent major:minor root mount-point options [optional...] - type source ..."
        let mut fields = line.split(' ');
        let Some(mount_point) = fields.nth(4) else {
            continue;
        };
        let Some(fs_type) = line.split(" - ").nth(1).and_then(|t| t.split(' ').next()) else {
            continue;
        };
        // Blanks and other bytes in mount points are escaped as \040 and such: such a
        // mount point matches no path here, which only makes a shorter prefix win.
        if path.starts_with(mount_point) && best.is_none_or(|(len, _)| mount_point.len() >= len) {
            best = Some((mount_point.len(), fs_type));
        }
    }
    best.map(|(_, fs_type)| fs_type.to_owned())
        .ok_or_else(|| format!("{}: no mount found in /proc/self/mountinfo", path.display()).into())
}

// ---------------------------------------------------------------------------------------
// The kernel's figures

/// `SUnreclaim` from `/proc/meminfo`: the kernel's slab memory that cannot be reclaimed
/// (inotify's marks, fanotify's marks and queued events, the tables of watch
/// descriptors), in kB. The kernel folds each CPU's share of its counters into the
/// total only every `vm.stat_interval` (a second) or past a threshold (up to about
/// 0.5 MB per CPU): writing `/proc/sys/vm/stat_refresh` (root) folds them now, so
/// that the figure is exact to the slab page. Without it, small changes may not show.
pub fn unreclaimable_slab_kb() -> Option<u64> {
    let _ = fs::write("/proc/sys/vm/stat_refresh", "1");
    let meminfo = fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("SUnreclaim:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// `VmHWM` (peak resident set size) of process `pid` (or `self`), in kB.
pub fn vm_hwm_kb(pid: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .ok_or_else(|| format!("{path}: no VmHWM"))?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

/// The load averages, as `/proc/loadavg` gives them.
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".to_owned(),
        |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

/// Before each timed run, the drivers wait for the CPUs to be idle, at most this long.
pub const SETTLE_MAX: Duration = Duration::from_secs(10);
/// The window in which the CPUs must be idle (less than a tenth busy).
const SETTLE_WINDOW: Duration = Duration::from_millis(100);

/// Waits until the CPUs were less than a tenth busy over `SETTLE_WINDOW`, at most
/// `SETTLE_MAX`: whether they were. After a process holding many watches ends, the
/// kernel goes on freeing them on all CPUs for about a second, which would slow the
/// next run down.
pub fn wait_for_idle() -> bool {
    let deadline = Instant::now() + SETTLE_MAX;
    let mut before = cpu_ticks();
    while Instant::now() < deadline {
        std::thread::sleep(SETTLE_WINDOW);
        let now = cpu_ticks();
        if let (Some((busy0, all0)), Some((busy1, all1))) = (before, now) {
            if all1 > all0 && (busy1 - busy0) * 10 < all1 - all0 {
                return true;
            }
        }
        before = now;
    }
    false
}

/// The CPUs' busy and total time so far, in clock ticks, from `/proc/stat`'s `cpu` line
/// (user nice system idle iowait irq softirq steal ...); idle and iowait are not busy.
pub fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let all: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((all - idle, all))
}

// ---------------------------------------------------------------------------------------
// Statistics and printing

/// The median (of an even count, the mean of the middle two); NaN when empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// "12,345".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_dirs_fill_level_by_level() {
        let names: Vec<_> = (0..14)
            .map(|i| tree_dir(Path::new("r"), i, 3).to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "r",
                "r/d0",
                "r/d1",
                "r/d2",
                "r/d0/d0",
                "r/d0/d1",
                "r/d0/d2",
                "r/d1/d0",
                "r/d1/d1",
                "r/d1/d2",
                "r/d2/d0",
                "r/d2/d1",
                "r/d2/d2",
                "r/d0/d0/d0"
            ]
        );
    }

    #[test]
    fn medians_and_thousands() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }
}
