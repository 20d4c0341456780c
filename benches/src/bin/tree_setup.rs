//! Setup cost of watching a whole directory tree: inotify-raw's `TreeWatcher` and
//! `FsWatcher` (one fanotify file-system mark) against the `notify` crate (version 8, its
//! inotify backend, `RecursiveMode::Recursive`) and `inotifywait -r` (inotify-tools), on
//! the same trees, on one or more file systems, in one run; and the crate's
//! `examples/inotifywait.rs -r -m` beside inotifywait's, timed the same way (from spawning
//! it until "Watches established." appears on its stderr).
//!
//! Subcommands:
//! - `make DIR --dirs N [--fanout F]`: makes a tree of N directories (DIR included), each
//!   with F subdirectories `d0`, `d1`, ... until N is reached (filled level by level), and
//!   one small file `f` in each. The root's `f`, written last, records N and F: when it is
//!   there and matches, the tree is complete and nothing is done.
//! - `ours DIR [--hold]`: `TreeWatcher::new(DIR)` (mask `ALL_EVENTS`); prints
//!   `setup_s <seconds>` as soon as it returns, then `watches and marks <count>` (read
//!   from the kernel's `/proc/self/fdinfo`) and exits. With `--hold`, it prints only the
//!   first line and then waits for its stdin to close.
//! - `notify DIR [--hold]`: the same for `notify::recommended_watcher` and
//!   `watch(DIR, RecursiveMode::Recursive)` (which returns once the walk is done).
//! - `fs DIR [--hold]`: the same for `FsWatcher::new(DIR)` (mask `ALL_EVENTS`); instead
//!   of watches it counts fanotify marks (one).
//! - `run [--dirs 100000,1000000] [--fanout 10] [--runs 3] [--base /tmp,/mnt/tmpfs]
//!   [--tools inotifywait,notify,ours,fs,example] [--syscalls auto|perf|strace|none]`:
//!   the driver. It makes the trees under each base directory (one per file system to
//!   compare), then for each base, tree and tool, each as a child process that is killed
//!   as soon as it is ready (`notify --hold`, `inotifywait -r -m DIR`; for `ours` and
//!   `fs`, `tree_hold ours DIR` and `tree_hold fs DIR`: the same as `ours --hold` and
//!   `fs --hold`, in a program of their own, built beside this one, that holds nothing
//!   but the watcher, so that the peak RSS measured is not this driver's):
//!   - one untimed warm-up run of every tool, so that all are measured with the tree in
//!     the page and dentry caches (dropping the caches is not possible here);
//!   - `--runs` timed rounds, the tools in turn (each round starting with the next tool).
//!     Before each run the driver waits for the CPUs to be idle: after a process holding
//!     100,000 watches is killed, the kernel goes on freeing them on all CPUs for about a
//!     second, which would slow the next tool down. A run during which other processes
//!     took more than `FOREIGN_MAX` of the CPUs' time is run again. Setup time: for
//!     `ours` and `notify` the time the child reports; for `inotifywait`, from spawning
//!     it until "Watches established." appears on its stderr. Peak RSS: `VmHWM` from
//!     `/proc/<pid>/status`, read once the child is ready and before it is killed. The
//!     kernel's cost: how much `SUnreclaim` in `/proc/meminfo` grew from just before the
//!     spawn until the child was ready (while it lives), in all and per watch. The
//!     watches (or fanotify marks) each child holds are counted from
//!     `/proc/<pid>/fdinfo`, as a check;
//!   - one more run that counts the syscalls of all its threads, divided by the number of
//!     directories: under `strace -f`, from `execve` up to the write of the ready line
//!     (`setup_s ...` on stdout, or "Watches established." on stderr); or under
//!     `perf stat -e raw_syscalls:sys_enter` (in-kernel counters, far faster than
//!     ptrace) until the child is killed, just after its ready line, where it is blocked
//!     in a read. `auto` (the default) takes perf when it can count syscalls here, else
//!     strace.
//!
//!   Then it prints a Markdown table (medians of the timed rounds) with each figure's
//!   ratio to `inotifywait -r`'s, and the syscalls each tool makes per directory, by name,
//!   and the peak RSS of `tree_hold empty DIR` (the same program with no watcher: what
//!   `ours` and `fs`'s figures start from).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use inotify_raw_benches::{
    cpu_ticks, fs_type, loadavg, make_tree, median, run_command, thousands, tree_path,
    unreclaimable_slab_kb, vm_hwm_kb, wait_for_idle, Args, Result, SETTLE_MAX,
};

const USAGE: &str = "\
usage: tree_setup make DIR --dirs N [--fanout F]
       tree_setup ours DIR [--hold]
       tree_setup notify DIR [--hold]
       tree_setup fs DIR [--hold]
       tree_setup run [--dirs N,N...] [--fanout F] [--runs R] [--base DIR,DIR...]
                      [--tools inotifywait,notify,ours,fs,example]
                      [--syscalls auto|perf|strace|none]";

/// The options the subcommands take.
const OPTIONS: &[&str] = &[
    "--dirs",
    "--fanout",
    "--runs",
    "--base",
    "--tools",
    "--syscalls",
];

/// Defaults of `run`.
const DEFAULT_DIRS: &[usize] = &[100_000, 1_000_000];
const DEFAULT_FANOUT: usize = 10;
const DEFAULT_RUNS: usize = 5;

/// The line `ours`, `notify` and `fs` print as soon as their watches are set up, and the one
/// `inotifywait -r` prints on its stderr.
const READY_OURS: &str = "setup_s ";
const READY_INOTIFYWAIT: &str = "Watches established.";

/// A timed run during which more than this share of the machine's CPU time went to
/// other processes is run again, up to `ATTEMPTS` times in all (on 2 CPUs, 0.25 is half
/// a CPU).
const FOREIGN_MAX: f64 = 0.25;
const ATTEMPTS: usize = 4;
/// The CPU time (all CPUs, in clock ticks of usually 10 ms) a run must span for that
/// share to be judged: shorter runs are too few ticks to tell.
const JUDGED_TICKS: u64 = 40;

/// FsWatcher's goals: setup (s), peak RSS before events (MB), and the bound on the
/// slab's growth (MB) taken as O(1) (inotify's is about 10 MB per 100,000 directories).
const SETUP_GOAL: f64 = 0.010;
const RSS_GOAL: f64 = 8.0;
const SLAB_GOAL: f64 = 1.0;

/// How long a child may take to be ready before it is killed and the run fails.
const READY_TIMEOUT: Duration = Duration::from_secs(600);

fn main() {
    run_command(
        "tree_setup",
        OPTIONS,
        USAGE,
        |command, args| match command {
            "make" => Some(cmd_make(args)),
            "ours" => Some(time_setup(args, |dir| {
                Ok(inotify_raw::TreeWatcher::new(dir)?)
            })),
            "notify" => Some(time_setup(args, watch_with_notify)),
            "fs" => Some(time_setup(args, |dir| {
                Ok(inotify_raw::FsWatcher::new(dir)?)
            })),
            "run" => Some(cmd_run(args)),
            _ => None,
        },
    );
}

// ---------------------------------------------------------------------------------------
// make

fn cmd_make(args: &Args) -> Result<()> {
    let dir = args.dir()?;
    let dirs = args.number("--dirs", None)?;
    let fanout = args.number("--fanout", Some(DEFAULT_FANOUT))?;
    let start = Instant::now();
    let made = make_tree(&dir, dirs, fanout)?;
    let what = if made { "made" } else { "already there" };
    println!(
        "{}: {dirs} directories, fanout {fanout}: {what} ({:.2} s)",
        dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// ours, notify, fs

/// Sets a watcher up on the one directory of `args` with `watch`, timed, and reports
/// (see [`report_ready`]).
fn time_setup<W>(args: &Args, watch: impl FnOnce(&Path) -> Result<W>) -> Result<()> {
    let dir = args.dir()?;
    let start = Instant::now();
    let watcher = watch(&dir)?;
    report_ready(start.elapsed(), args.hold)?;
    drop(watcher);
    Ok(())
}

fn watch_with_notify(dir: &Path) -> Result<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    let mut watcher = notify::recommended_watcher(|_: notify::Result<notify::Event>| {})?;
    watcher.watch(dir, notify::RecursiveMode::Recursive)?;
    Ok(watcher)
}

/// Prints the ready line (the first write after the setup: a strace trace is cut
/// there). Then, with `hold`, waits for stdin to close, doing nothing else (`run` counts
/// the watches and kills the process); without, prints the number of watches and marks.
fn report_ready(setup: Duration, hold: bool) -> Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{READY_OURS}{:.6}", setup.as_secs_f64())?;
    out.flush()?;
    if hold {
        let mut buffer = [0u8; 64];
        while io::stdin().read(&mut buffer)? > 0 {}
    } else {
        writeln!(out, "watches and marks {}", count_marks("self")?)?;
        out.flush()?;
    }
    Ok(())
}

/// The inotify watches and fanotify marks that process `pid` (or `self`) holds on all
/// its inotify and fanotify descriptors: the `inotify wd:` and `fanotify ` lines of
/// their `/proc/<pid>/fdinfo`, read through a small buffer.
fn count_marks(pid: &str) -> Result<usize> {
    let mut count = 0;
    let fds = format!("/proc/{pid}/fd");
    for entry in fs::read_dir(&fds).map_err(|e| format!("{fds}: {e}"))? {
        let entry = entry?;
        let prefix: &[u8] = match fs::read_link(entry.path()) {
            Ok(target) if target.as_os_str() == "anon_inode:inotify" => b"inotify wd:",
            // "fanotify flags:..." describes the group; each mark is a line of its own.
            Ok(target) if target.as_os_str() == "anon_inode:[fanotify]" => b"fanotify ",
            _ => continue,
        };
        let info = format!("/proc/{pid}/fdinfo/{}", entry.file_name().to_string_lossy());
        let mut reader = BufReader::with_capacity(
            16 * 1024,
            fs::File::open(&info).map_err(|e| format!("{info}: {e}"))?,
        );
        let mut line = Vec::with_capacity(256);
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let is_group = line.starts_with(b"fanotify flags:");
            count += usize::from(line.starts_with(prefix) && !is_group);
        }
    }
    Ok(count)
}

// ---------------------------------------------------------------------------------------
// run

/// The programs compared, in the table's order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Inotifywait,
    Notify,
    Ours,
    /// `FsWatcher`: one fanotify mark for the tree's whole file system.
    Fs,
    /// `examples/inotifywait.rs -r -m`, built beside this program (benches/tree.sh does).
    Example,
}

const TOOLS: [Tool; 5] = [
    Tool::Inotifywait,
    Tool::Notify,
    Tool::Ours,
    Tool::Fs,
    Tool::Example,
];

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::Inotifywait => "`inotifywait -r`",
            Tool::Notify => "notify 8",
            Tool::Ours => "**TreeWatcher**",
            Tool::Fs => "**FsWatcher**",
            Tool::Example => "**examples/inotifywait -r**",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Tool::Inotifywait => "inotifywait",
            Tool::Notify => "notify",
            Tool::Ours => "ours",
            Tool::Fs => "fs",
            Tool::Example => "example",
        }
    }

    /// The tools named in `--tools` (all by default), in the table's order.
    fn chosen(args: &Args) -> Result<Vec<Tool>> {
        let names = args.words("--tools", &[]);
        if names.is_empty() {
            return Ok(TOOLS.to_vec());
        }
        for name in &names {
            if !TOOLS.iter().any(|tool| tool.short() == name) {
                return Err(format!("--tools: no tool {name}\n{USAGE}").into());
            }
        }
        Ok(TOOLS
            .into_iter()
            .filter(|tool| names.iter().any(|name| name == tool.short()))
            .collect())
    }

    /// Whether it holds an inotify watch per directory (else one fanotify mark).
    fn uses_inotify(self) -> bool {
        self != Tool::Fs
    }

    /// The program and its arguments: once ready, it stays alive, blocked in a read,
    /// until killed (`inotifywait -m` waits for events, the others for stdin to close).
    fn argv(self, exe: &Path, dir: &Path) -> Vec<OsString> {
        let mut argv: Vec<OsString> = match self {
            Tool::Inotifywait => vec!["inotifywait".into(), "-r".into(), "-m".into()],
            Tool::Example => vec![example_path(exe).into(), "-r".into(), "-m".into()],
            Tool::Notify => vec![exe.into(), self.short().into(), "--hold".into()],
            Tool::Ours | Tool::Fs => vec![hold_path(exe).into(), self.short().into()],
        };
        argv.push(dir.into());
        argv
    }

    /// The start of the line, in the child's output or as `write`'s argument in the
    /// trace, that says the watches are set up.
    fn ready_marker(self) -> &'static str {
        match self {
            Tool::Inotifywait | Tool::Example => READY_INOTIFYWAIT,
            Tool::Notify | Tool::Ours | Tool::Fs => READY_OURS,
        }
    }
}

/// One timed run of one tool.
struct Sample {
    /// As the tool reports it (see the module's doc).
    setup: f64,
    /// From spawning the child until its ready line arrived, on the driver's clock.
    spawn_to_ready: f64,
    /// `VmHWM`, in kB.
    peak_rss_kb: u64,
    /// How much the kernel's unreclaimable slab (`SUnreclaim`) grew from just before the
    /// spawn until the tool was ready, in kB (other processes' allocations add noise,
    /// either way).
    slab_kb: Option<i64>,
    /// The inotify watches or fanotify marks it holds once ready.
    marks: usize,
    /// The share of the machine's CPU time, from spawn to ready, that went to other
    /// processes than the tool (0 to 1); not known for runs shorter than `JUDGED_TICKS`.
    foreign: Option<f64>,
}

/// What one tree's measurements came to, for one tool.
struct Measured {
    samples: Vec<Sample>,
    syscalls: Option<Syscalls>,
}

/// The syscalls of a counted run, in all and by name (with perf, those of
/// `PERF_SYSCALLS` that the kernel has, and `(other)`).
#[derive(Default)]
struct Syscalls {
    total: u64,
    by_name: HashMap<String, u64>,
}

/// How the syscalls are counted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counter {
    Perf,
    Strace,
    None,
}

/// The syscalls perf counts one by one (besides the total), where the kernel has a
/// tracepoint for them: those a walk of a tree makes, and the usual others.
const PERF_SYSCALLS: &[&str] = &[
    "inotify_add_watch",
    "fanotify_init",
    "fanotify_mark",
    "name_to_handle_at",
    "open_by_handle_at",
    "epoll_create1",
    "epoll_ctl",
    "openat",
    "openat2",
    "open",
    "getdents64",
    "close",
    "newfstatat",
    "statx",
    "newfstat",
    "newlstat",
    "newstat",
    "fstatfs",
    "readlink",
    "readlinkat",
    "read",
    "pread64",
    "lseek",
    "fcntl",
    "write",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "brk",
    "madvise",
    "futex",
];

/// Where the kernel lists its syscall tracepoints.
const SYSCALL_TRACEPOINTS: &[&str] = &[
    "/sys/kernel/tracing/events/syscalls",
    "/sys/kernel/debug/tracing/events/syscalls",
];

/// What a run measures, and how.
struct Plan {
    tools: Vec<Tool>,
    runs: usize,
    counter: Counter,
    exe: PathBuf,
}

/// One tree on one file system, and what each tool of the plan measured on it.
struct TreeResult {
    dirs: usize,
    path: PathBuf,
    fs_type: String,
    measured: Vec<Measured>,
}

fn cmd_run(args: &Args) -> Result<()> {
    if !args.positional.is_empty() {
        return Err(format!("run takes no positional argument\n{USAGE}").into());
    }
    let trees = args.numbers("--dirs", DEFAULT_DIRS)?;
    let fanout = args.number("--fanout", Some(DEFAULT_FANOUT))?;
    let bases = args.words("--base", &["/tmp"]);
    let plan = Plan {
        tools: Tool::chosen(args)?,
        runs: args.number("--runs", Some(DEFAULT_RUNS))?,
        counter: choose_counter(args)?,
        exe: std::env::current_exe()?,
    };
    check_tools(&plan)?;
    if plan.tools.iter().any(|tool| tool.uses_inotify()) {
        check_watch_limit(trees.iter().copied().max().unwrap_or(0))?;
    }

    let started = Instant::now();
    let load_before = loadavg();
    let mut results = Vec::new();
    for &dirs in &trees {
        for base in &bases {
            let path = tree_path(Path::new(base), dirs, fanout);
            let start = Instant::now();
            let made = make_tree(&path, dirs, fanout)?;
            eprintln!(
                "tree {}: {} ({:.1} s)",
                path.display(),
                if made { "made" } else { "already there" },
                start.elapsed().as_secs_f64()
            );
            results.push(TreeResult {
                dirs,
                fs_type: fs_type(&path)?,
                path,
                measured: Vec::new(),
            });
        }
    }
    let empty_kb = match plan.tools.iter().any(|&t| t == Tool::Ours || t == Tool::Fs) {
        true => Some(empty_rss_kb(&plan.exe)?),
        false => None,
    };
    let mut redone = 0;
    for result in &mut results {
        result.measured = measure_tree(&plan, result, &mut redone)?;
    }
    let load_after = loadavg();
    print_report(&results, &plan, fanout, redone, empty_kb);
    print_goals(&results, &plan);
    println!();
    println!(
        "Whole run (tree making included): {:.0} s; load average before: {load_before}; \
         after: {load_after}.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// How `--syscalls` says to count them, if that is possible here.
fn choose_counter(args: &Args) -> Result<Counter> {
    let choice = args
        .options
        .get("--syscalls")
        .map_or("auto", |c| c.as_str());
    Ok(match choice {
        "auto" if perf_counts_syscalls() => Counter::Perf,
        "auto" if available("strace") => Counter::Strace,
        "auto" => {
            eprintln!("warning: neither perf nor strace can count syscalls here: not counted");
            Counter::None
        }
        "perf" if perf_counts_syscalls() => Counter::Perf,
        "perf" => {
            return Err("perf cannot count syscalls here: `perf stat -e \
                        raw_syscalls:sys_enter` failed (it needs linux-perf, and root)"
                .into())
        }
        "strace" if available("strace") => Counter::Strace,
        "strace" => return Err("strace not found: apt-get install strace".into()),
        "none" => Counter::None,
        other => return Err(format!("--syscalls {other}?\n{USAGE}").into()),
    })
}

/// The warm-up, the timed rounds and the counted run of every tool of the plan on one
/// tree: what each measured, in the plan's order.
fn measure_tree(plan: &Plan, tree: &TreeResult, redone: &mut usize) -> Result<Vec<Measured>> {
    let (dirs, path, tools) = (tree.dirs, &tree.path, &plan.tools);
    let what = format!("{dirs} directories on {}", tree.fs_type);
    eprintln!("{what}: warm-up");
    for &tool in tools {
        let sample = timed_run(tool, &plan.exe, path)?;
        check_marks(tool, &sample, dirs);
    }
    let mut samples: Vec<Vec<Sample>> = tools.iter().map(|_| Vec::new()).collect();
    for round in 1..=plan.runs {
        eprint!("{what}: round {round}/{}:", plan.runs);
        // Each round starts with the next tool, so that none always follows the same.
        for k in 0..tools.len() {
            let i = (round + k) % tools.len();
            let sample = timed_run_again_if_busy(tools[i], &plan.exe, path, redone)?;
            check_marks(tools[i], &sample, dirs);
            eprint!(" {} {:.6} s,", tools[i].short(), sample.setup);
            samples[i].push(sample);
        }
        eprintln!();
    }
    let mut measured = Vec::new();
    for (&tool, samples) in tools.iter().zip(samples) {
        let syscalls = match plan.counter {
            Counter::None => None,
            counter => {
                eprintln!("{what}: {}, syscalls counted", tool.short());
                Some(counted_run(counter, tool, &plan.exe, path)?)
            }
        };
        measured.push(Measured { samples, syscalls });
    }
    Ok(measured)
}

/// A timed run, run again (a few times at most) while other processes took more than
/// `FOREIGN_MAX` of the CPUs.
fn timed_run_again_if_busy(
    tool: Tool,
    exe: &Path,
    dir: &Path,
    redone: &mut usize,
) -> Result<Sample> {
    let mut sample = timed_run(tool, exe, dir)?;
    for _ in 1..ATTEMPTS {
        let Some(foreign) = sample.foreign.filter(|&f| f > FOREIGN_MAX) else {
            break;
        };
        eprint!(
            " ({} again: {:.0}% of the CPUs busy elsewhere)",
            tool.short(),
            foreign * 100.0
        );
        *redone += 1;
        sample = timed_run(tool, exe, dir)?;
    }
    Ok(sample)
}

/// `tree_hold`, beside this program.
fn hold_path(exe: &Path) -> PathBuf {
    exe.with_file_name("tree_hold")
}

/// The peak RSS, in kB, of `tree_hold empty`: the program that measures `ours` and `fs`,
/// with no watcher (the median of three runs).
fn empty_rss_kb(exe: &Path) -> Result<u64> {
    let argv: Vec<OsString> = vec![hold_path(exe).into(), "empty".into(), "/".into()];
    let mut peaks = Vec::new();
    for _ in 0..3 {
        let (child, _, _) = spawn_until_ready(Tool::Ours, &argv, false)?;
        peaks.push(vm_hwm_kb(&child.child.id().to_string())? as f64);
    }
    Ok(median(peaks) as u64)
}

/// The example `inotifywait`, in the `examples` directory beside this program's.
fn example_path(exe: &Path) -> PathBuf {
    exe.parent()
        .map_or_else(PathBuf::new, Path::to_path_buf)
        .join("examples")
        .join("inotifywait")
}

fn check_tools(plan: &Plan) -> Result<()> {
    if plan.tools.contains(&Tool::Inotifywait) && !available("inotifywait") {
        return Err(
            "inotifywait not found: apt-get install inotify-tools (benches/tree.sh does)".into(),
        );
    }
    let hold = hold_path(&plan.exe);
    if plan.tools.iter().any(|&t| t == Tool::Ours || t == Tool::Fs) && !hold.exists() {
        return Err(format!(
            "{} not found: cargo build --release --bin tree_hold (benches/tree.sh does)",
            hold.display()
        )
        .into());
    }
    let example = example_path(&plan.exe);
    if plan.tools.contains(&Tool::Example) && !example.exists() {
        return Err(format!(
            "{} not found: cargo build --release --example inotifywait (benches/tree.sh does)",
            example.display()
        )
        .into());
    }
    Ok(())
}

/// Whether `program --help` runs at all.
fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Whether `perf stat` can count syscalls here (it needs the tracepoint, and the rights).
fn perf_counts_syscalls() -> bool {
    Command::new("perf")
        .args([
            "stat",
            "-x,",
            "-o",
            "/dev/null",
            "-e",
            "raw_syscalls:sys_enter",
            "--",
            "true",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Each tool holds one watch per directory of the largest tree, one tool at a time.
fn check_watch_limit(dirs: usize) -> Result<()> {
    let path = "/proc/sys/fs/inotify/max_user_watches";
    let limit: usize = fs::read_to_string(path)?.trim().parse()?;
    if limit < dirs + 1000 {
        return Err(format!(
            "{path} is {limit}, too few for a tree of {dirs} directories: raise it, e.g. \
             sysctl -w fs.inotify.max_user_watches={}",
            (dirs + 1000).max(2 * dirs)
        )
        .into());
    }
    Ok(())
}

/// Warns when a tool holds other than a watch per directory (inotify) or one mark
/// (fanotify).
fn check_marks(tool: Tool, sample: &Sample, dirs: usize) {
    let expected = if tool.uses_inotify() { dirs } else { 1 };
    if sample.marks != expected {
        eprintln!(
            "warning: {} holds {} watches or marks on a tree of {dirs} directories \
             (expected {expected})",
            tool.short(),
            sample.marks
        );
    }
}

/// A child process, killed (if it still runs) and reaped when dropped, whatever went
/// wrong. For strace or perf, the tool they run is killed first: it would outlive them.
struct Reaped {
    child: Child,
    kill_children: bool,
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.kill_children && matches!(self.child.try_wait(), Ok(None)) {
            kill_children(self.child.id());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGKILL to every child of `parent`.
fn kill_children(parent: u32) {
    for pid in children_of(parent) {
        // SAFETY: kill takes no pointer; `pid` is a child of a process of ours.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Runs `argv` (the tool, or with `traced` strace or perf running the tool), the pipe
/// that carries the tool's ready line read by a thread, and waits at most
/// `READY_TIMEOUT` for that line: the child, the line and when it arrived.
fn spawn_until_ready(
    tool: Tool,
    argv: &[OsString],
    traced: bool,
) -> Result<(Reaped, String, Instant)> {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]).stdin(Stdio::piped());
    if matches!(tool, Tool::Inotifywait | Tool::Example) {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
    } else if traced {
        // perf says on its stderr that the tool was killed. The tool's own errors have
        // shown in the timed runs already.
        command.stdout(Stdio::piped()).stderr(Stdio::null());
    } else {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", argv[0].to_string_lossy()))?;
    let pipe: Box<dyn Read + Send> = match tool {
        Tool::Inotifywait | Tool::Example => Box::new(child.stderr.take().expect("piped stderr")),
        Tool::Notify | Tool::Ours | Tool::Fs => {
            Box::new(child.stdout.take().expect("piped stdout"))
        }
    };
    let mut child = Reaped {
        child,
        kill_children: traced,
    };
    let (sender, receiver) = mpsc::channel();
    let marker = tool.ready_marker();
    let what = tool.short();
    // Once the line is found, the thread drains the pipe (so the child's later writes
    // succeed) and ends when the child's end closes: when the child is killed.
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let line = wait_for_line(&mut reader, marker, what);
        let _ = sender.send(line.map(|l| (l, Instant::now())));
        let _ = io::copy(&mut reader, &mut io::sink());
    });
    match receiver.recv_timeout(READY_TIMEOUT) {
        Ok(Ok((line, at))) => Ok((child, line, at)),
        Ok(Err(e)) => match child.child.wait() {
            Ok(status) => Err(format!("{e}\n({what} exited: {status})").into()),
            Err(_) => Err(e.into()),
        },
        Err(_) => Err(format!(
            "{what} was not ready within {} s: killed",
            READY_TIMEOUT.as_secs()
        )
        .into()),
    }
}

/// Reads lines until one starts with `marker` (leading blanks aside): that line, or an
/// error with what came before when the pipe closes first.
fn wait_for_line(
    reader: &mut dyn BufRead,
    marker: &str,
    what: &str,
) -> std::result::Result<String, String> {
    let mut seen = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => {
                return Err(format!(
                    "{what} ended before \"{marker}\"; it wrote:\n{seen}"
                ))
            }
            Ok(_) => {}
            Err(e) => return Err(format!("{what}: reading its output: {e}")),
        }
        if line.trim_start().starts_with(marker) {
            return Ok(line.trim().to_owned());
        }
        if seen.len() < 4096 {
            seen.push_str(&line);
        }
    }
}

/// One timed run: wait for idle CPUs, spawn, wait for the ready line, read the peak RSS
/// and count the watches or marks, kill.
fn timed_run(tool: Tool, exe: &Path, dir: &Path) -> Result<Sample> {
    if !wait_for_idle() {
        eprint!(" (CPUs still busy after {} s)", SETTLE_MAX.as_secs());
    }
    let argv = tool.argv(exe, dir);
    let slab_before = unreclaimable_slab_kb();
    let ticks_before = cpu_ticks();
    let start = Instant::now();
    let (child, line, ready_at) = spawn_until_ready(tool, &argv, false)?;
    let ticks_after = cpu_ticks();
    let slab_kb = match (slab_before, unreclaimable_slab_kb()) {
        (Some(before), Some(after)) => Some(after as i64 - before as i64),
        _ => None,
    };
    let spawn_to_ready = ready_at.duration_since(start).as_secs_f64();
    let setup = match tool {
        Tool::Inotifywait | Tool::Example => spawn_to_ready,
        Tool::Notify | Tool::Ours | Tool::Fs => line[READY_OURS.len()..]
            .trim()
            .parse()
            .map_err(|_| format!("{}: unexpected line {line:?}", tool.short()))?,
    };
    let pid = child.child.id().to_string();
    let peak_rss_kb = vm_hwm_kb(&pid)?;
    let marks = count_marks(&pid)?;
    let foreign = match (ticks_before, ticks_after, process_ticks(&pid)) {
        (Some((busy0, all0)), Some((busy1, all1)), Some(own)) if all1 >= all0 + JUDGED_TICKS => {
            Some((busy1 - busy0).saturating_sub(own) as f64 / (all1 - all0) as f64)
        }
        _ => None,
    };
    drop(child);
    Ok(Sample {
        setup,
        spawn_to_ready,
        peak_rss_kb,
        slab_kb,
        marks,
        foreign,
    })
}

/// The CPU time process `pid` (all its threads) has used, in clock ticks: `utime` and
/// `stime` from `/proc/<pid>/stat`.
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": utime and stime are fields 14 and 15, counted from 1.
    let mut after_comm = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = after_comm.next()?.parse().ok()?;
    let stime: u64 = after_comm.next()?.parse().ok()?;
    Some(utime + stime)
}

/// One run under `counter`, its output in a file: the syscalls until the tool was ready.
fn counted_run(counter: Counter, tool: Tool, exe: &Path, dir: &Path) -> Result<Syscalls> {
    let output = std::env::temp_dir().join(format!(
        "tree_setup-{}-{}.{}",
        tool.short(),
        std::process::id(),
        if counter == Counter::Perf {
            "perf"
        } else {
            "strace"
        }
    ));
    let mut argv: Vec<OsString> = match counter {
        // -qq: no attach and exit messages; -e signal=none: no signal lines. Strings are
        // cut at strace's default 32 bytes, enough for the ready lines.
        Counter::Strace => vec!["strace", "-f", "-qq", "-e", "signal=none", "-o"],
        // -x,: one CSV line per counter. Threads and child processes are counted too.
        Counter::Perf | Counter::None => vec!["perf", "stat", "-x,", "-o"],
    }
    .into_iter()
    .map(OsString::from)
    .collect();
    argv.push(output.clone().into());
    if counter == Counter::Perf {
        argv.push("-e".into());
        argv.push(perf_events().into());
        argv.push("--".into());
    }
    argv.extend(tool.argv(exe, dir));
    let result = run_until_ready(tool, &argv).and_then(|()| match counter {
        Counter::Strace => count_syscalls(&output, tool.ready_marker()),
        _ => read_perf_counts(&output),
    });
    let _ = fs::remove_file(&output);
    result.map_err(|e| {
        format!(
            "{} counting {}'s syscalls: {e}",
            argv[0].to_string_lossy(),
            tool.short()
        )
        .into()
    })
}

/// Runs `argv` (strace or perf, with the tool as its child) until the tool is ready,
/// then kills the tool and waits for strace or perf to write its output and exit.
fn run_until_ready(tool: Tool, argv: &[OsString]) -> Result<()> {
    let (mut wrapper, _, _) = spawn_until_ready(tool, argv, true)?;
    kill_children(wrapper.child.id());
    wrapper.child.wait()?;
    Ok(())
}

/// The `-e` argument of `perf stat`: the total, and the syscalls of `PERF_SYSCALLS` that
/// have a tracepoint here.
fn perf_events() -> String {
    let mut events = String::from("raw_syscalls:sys_enter");
    let Some(dir) = SYSCALL_TRACEPOINTS.iter().find(|d| Path::new(d).is_dir()) else {
        return events;
    };
    for name in PERF_SYSCALLS {
        if Path::new(dir).join(format!("sys_enter_{name}")).exists() {
            events.push_str(",syscalls:sys_enter_");
            events.push_str(name);
        }
    }
    events
}

/// Reads `perf stat -x,`'s output: `count,unit,event,...` lines.
fn read_perf_counts(output: &Path) -> Result<Syscalls> {
    let text = fs::read_to_string(output)?;
    let mut total = None;
    let mut by_name = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(count), Some(event)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        let Ok(count) = count.parse::<u64>() else {
            continue;
        };
        if *event == "raw_syscalls:sys_enter" {
            total = Some(count);
        } else if let Some(name) = event.strip_prefix("syscalls:sys_enter_") {
            by_name.insert(name.to_owned(), count);
        }
    }
    let total = total.ok_or_else(|| format!("no count of raw_syscalls:sys_enter in:\n{text}"))?;
    let named: u64 = by_name.values().sum();
    if !by_name.is_empty() && total > named {
        by_name.insert("(other)".to_owned(), total - named);
    }
    Ok(Syscalls { total, by_name })
}

/// The processes whose parent is `parent`.
fn children_of(parent: u32) -> Vec<i32> {
    let mut children = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return children;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold blanks and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            children.push(pid);
        }
    }
    children
}

/// Counts the syscalls of an `strace -f` trace, all threads, up to and including the
/// first `write` of a line starting with `marker`. A call split across lines
/// (`<unfinished ...>`, then `<... name resumed>`) counts once.
fn count_syscalls(trace: &Path, marker: &str) -> Result<Syscalls> {
    let mut reader = BufReader::with_capacity(256 * 1024, fs::File::open(trace)?);
    let ready = format!("\"{marker}");
    let mut syscalls = Syscalls::default();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(format!("no write of \"{marker}\" in the trace").into());
        }
        // With -f, each line starts with the thread's id.
        let call = line
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        if call.starts_with("<...") {
            continue;
        }
        let Some((name, args)) = call.split_once('(') else {
            continue;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        syscalls.total += 1;
        *syscalls.by_name.entry(name.to_owned()).or_insert(0) += 1;
        if name == "write" && args.contains(&ready) {
            return Ok(syscalls);
        }
    }
}

/// The medians of one tool's timed runs on one tree, and its counted run.
struct Figures {
    /// Seconds.
    setup: f64,
    spawn_to_ready: f64,
    rss_mb: f64,
    /// The growth of `SUnreclaim`, in MB (1024 kB).
    slab_mb: Option<f64>,
    /// The same per watch held, in bytes (none for a tool without watches).
    slab_per_watch: Option<f64>,
    calls_per_dir: Option<f64>,
}

impl Figures {
    fn of(measured: &Measured, dirs: usize) -> Figures {
        let samples = &measured.samples;
        let median_of = |f: &dyn Fn(&Sample) -> f64| median(samples.iter().map(f).collect());
        let slab: Vec<&Sample> = samples.iter().filter(|s| s.slab_kb.is_some()).collect();
        let slab_kb = |s: &Sample| s.slab_kb.unwrap_or(0) as f64;
        let per_watch: Vec<f64> = slab
            .iter()
            .filter(|s| s.marks > 1)
            .map(|s| slab_kb(s) * 1024.0 / s.marks as f64)
            .collect();
        Figures {
            setup: median_of(&|s| s.setup),
            spawn_to_ready: median_of(&|s| s.spawn_to_ready),
            rss_mb: median_of(&|s| s.peak_rss_kb as f64 / 1024.0),
            slab_mb: (!slab.is_empty())
                .then(|| median(slab.iter().map(|s| slab_kb(s) / 1024.0).collect())),
            slab_per_watch: (!per_watch.is_empty()).then(|| median(per_watch)),
            calls_per_dir: measured
                .syscalls
                .as_ref()
                .map(|c| c.total as f64 / dirs as f64),
        }
    }
}

/// `value` with `digits` significant digits (at least), without an exponent: 1308,
/// 6.50, 0.412, 0.00150.
fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    format!("{value:.decimals$}")
}

/// `value` (`digits` significant), and its ratio to the reference's, if there is one.
fn with_ratio(value: f64, reference: Option<f64>, digits: i32) -> String {
    match reference {
        Some(reference) if reference > 0.0 => format!(
            "{} ({}x)",
            significant(value, digits),
            significant(value / reference, 2)
        ),
        _ => significant(value, digits),
    }
}

fn print_report(
    results: &[TreeResult],
    plan: &Plan,
    fanout: usize,
    redone: usize,
    empty_kb: Option<u64>,
) {
    let runs = plan.runs;
    let reference_at = plan.tools.iter().position(|&t| t == Tool::Inotifywait);
    println!();
    println!(
        "Watching a whole tree (fanout {fanout}, one file per directory), from start until \
         every directory is watched; median of {runs} runs after one warm-up run of each tool \
         (all warm: the tree is in the page and dentry caches). In parentheses: the ratio to \
         `inotifywait -r`'s figure from the same run (below 1 is better, in every column)."
    );
    println!();
    println!(
        "| tree | file system | tool | setup (ms) | peak RSS (MB) | kernel slab growth (MB) | \
         slab per watch (bytes) | syscalls per directory |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    for tree in results {
        let figures: Vec<Figures> = tree
            .measured
            .iter()
            .map(|m| Figures::of(m, tree.dirs))
            .collect();
        let reference = reference_at.map(|at| &figures[at]);
        for (i, (tool, f)) in plan.tools.iter().zip(&figures).enumerate() {
            let reference = reference.filter(|_| Some(i) != reference_at);
            let or_dash = |value: Option<String>| value.unwrap_or_else(|| "–".to_owned());
            println!(
                "| {} dirs | {} | {} | {} | {} | {} | {} | {} |",
                thousands(tree.dirs),
                tree.fs_type,
                tool.label(),
                with_ratio(f.setup * 1e3, reference.map(|r| r.setup * 1e3), 3),
                with_ratio(f.rss_mb, reference.map(|r| r.rss_mb), 2),
                or_dash(f.slab_mb.map(|mb| format!("{mb:.2}"))),
                or_dash(f.slab_per_watch.map(|bytes| format!("{bytes:.0}"))),
                or_dash(f.calls_per_dir.map(|calls| {
                    with_ratio(calls, reference.and_then(|r| r.calls_per_dir), 3)
                })),
            );
        }
    }
    print_notes(results, plan, redone, empty_kb);
}

fn print_notes(results: &[TreeResult], plan: &Plan, redone: usize, empty_kb: Option<u64>) {
    println!();
    println!("Notes:");
    println!(
        "- setup: each run started with idle CPUs (the kernel frees a killed process's \
         watches for up to a second after it is gone). For TreeWatcher \
         (`TreeWatcher::new`, mask `ALL_EVENTS`), FsWatcher (`FsWatcher::new`, mask \
         `ALL_EVENTS`: one fanotify mark on the tree's file system) and notify \
         (`recommended_watcher`, the inotify backend, `RecursiveMode::Recursive`), the time \
         the child process measured around its setup calls; for `inotifywait -r -m`, from \
         spawning it until \"{READY_INOTIFYWAIT}\" on its stderr (so its process start, \
         about a millisecond, is included)."
    );
    let most_foreign = results
        .iter()
        .flat_map(|tree| tree.measured.iter().flat_map(|m| &m.samples))
        .filter_map(|s| s.foreign)
        .fold(0.0, f64::max);
    println!(
        "- other processes on the machine: {redone} timed runs were run again because more \
         than {:.0}% of the CPUs' time went elsewhere; in the runs kept, at most {:.0}% \
         (judged on runs spanning at least {JUDGED_TICKS} clock ticks of all CPUs).",
        FOREIGN_MAX * 100.0,
        most_foreign * 100.0
    );
    println!(
        "- peak RSS: VmHWM of the child process (MB = 1024 kB), read from /proc once it is \
         ready, just before it is killed (before any event touches the tree). The kernel's \
         memory for the watches is not in it."
    );
    if let Some(kb) = empty_kb {
        println!(
            "- TreeWatcher and FsWatcher run in `tree_hold`, a program that holds nothing \
             but the watcher (Rust's std, glibc, dynamically linked): with no watcher at \
             all, its peak RSS is {:.2} MB (its code and the libraries' pages it touches).",
            kb as f64 / 1024.0
        );
    }
    println!(
        "- kernel slab growth: how much `SUnreclaim` (/proc/meminfo: the kernel's slab \
         memory that cannot be reclaimed, where inotify keeps a mark per watch, a \
         connector per watched inode and the table of watch descriptors, and fanotify its \
         group, its marks and its queued events) grew from just before the child was \
         spawned until it was ready, while it lives (median of the timed runs; the new \
         process's own kernel objects are in it); per watch: divided by the watches it \
         holds. It is the kernel's cost, the same whichever tool asks for the watches; \
         other processes' allocations meanwhile add noise, either way."
    );
    match plan.counter {
        Counter::Strace => println!(
            "- syscalls per directory: one run under `strace -f` per tool and tree, all \
             threads, from execve up to the write of the ready line, divided by the number \
             of directories (process start included: about 100 calls in all)."
        ),
        Counter::Perf => println!(
            "- syscalls per directory: one run per tool and tree under `perf stat -e \
             raw_syscalls:sys_enter` (the kernel's count of syscall entries, all threads), \
             from execve until the child is killed just after its ready line, divided by \
             the number of directories (process start included: about 100 calls in all). \
             The same count as `strace -f -c`, without ptrace's slowdown."
        ),
        Counter::None => println!("- syscalls: not counted (--syscalls none)."),
    }
    for tree in results {
        print_tree_notes(tree, plan);
    }
}

/// The spawn-to-ready times and the syscalls by name of one tree's tools.
fn print_tree_notes(tree: &TreeResult, plan: &Plan) {
    let dirs = tree.dirs;
    let spawn: Vec<String> = plan
        .tools
        .iter()
        .zip(&tree.measured)
        .map(|(tool, m)| {
            let t = Figures::of(m, dirs).spawn_to_ready;
            format!("{} {} s", tool.short(), significant(t, 3))
        })
        .collect();
    println!(
        "- {} dirs ({}, {}): from spawn to ready line, driver's clock: {}.",
        thousands(dirs),
        tree.path.display(),
        tree.fs_type,
        spawn.join(", ")
    );
    for (tool, m) in plan.tools.iter().zip(&tree.measured) {
        let Some(syscalls) = &m.syscalls else {
            continue;
        };
        let per_dir = |n: u64| n as f64 / dirs as f64;
        // FsWatcher's calls do not grow with the tree: its calls in all, by name.
        let in_all = !tool.uses_inotify();
        let mut names: Vec<(&String, &u64)> = syscalls.by_name.iter().collect();
        names.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let shown: Vec<String> = names
            .iter()
            .filter(|(_, &n)| if in_all { n > 0 } else { per_dir(n) >= 0.01 })
            .map(|(name, &n)| match in_all {
                true => format!("`{name}` {n}"),
                false => format!("`{name}` {:.2}", per_dir(n)),
            })
            .collect();
        println!(
            "  - {} syscalls {}: {} ({} in all).",
            tool.short(),
            if in_all { "in all" } else { "per directory" },
            shown.join(", "),
            thousands(syscalls.total as usize)
        );
    }
}

/// Whether FsWatcher met the goals of its setup: at most `SETUP_GOAL` and `RSS_GOAL`
/// at every size, and a slab growth that does not grow with the tree.
fn print_goals(results: &[TreeResult], plan: &Plan) {
    let Some(at) = plan.tools.iter().position(|&t| t == Tool::Fs) else {
        return;
    };
    let fs: Vec<(&TreeResult, Figures)> = results
        .iter()
        .map(|tree| (tree, Figures::of(&tree.measured[at], tree.dirs)))
        .collect();
    let slowest = fs
        .iter()
        .flat_map(|(tree, _)| &tree.measured[at].samples)
        .map(|s| s.setup)
        .fold(0.0, f64::max);
    let setup = fs.iter().map(|(_, f)| f.setup).fold(0.0, f64::max);
    let rss = fs.iter().map(|(_, f)| f.rss_mb).fold(0.0, f64::max);
    let slab = fs
        .iter()
        .filter_map(|(_, f)| f.slab_mb)
        .fold(0.0, |most: f64, mb| most.max(mb.abs()));
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!();
    println!("FsWatcher's goals, over every tree and file system of this run:");
    println!(
        "- setup at most {} ms: {} (largest median {} ms; slowest single run {} ms).",
        SETUP_GOAL * 1e3,
        verdict(setup <= SETUP_GOAL),
        significant(setup * 1e3, 3),
        significant(slowest * 1e3, 3)
    );
    println!(
        "- peak RSS at most {RSS_GOAL} MB before events touch the tree: {} (largest median \
         {rss:.2} MB).",
        verdict(rss <= RSS_GOAL)
    );
    let growth: Vec<String> = fs
        .iter()
        .map(|(tree, f)| {
            let kb = f
                .slab_mb
                .map_or("–".to_owned(), |mb| format!("{:.0} kB", mb * 1024.0));
            format!("{} dirs on {}: {kb}", thousands(tree.dirs), tree.fs_type)
        })
        .collect();
    println!(
        "- kernel slab growth O(1), here at most {SLAB_GOAL} MB at any size: {} ({}).",
        verdict(slab <= SLAB_GOAL),
        growth.join(", ")
    );
}
