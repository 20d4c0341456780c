#!/usr/bin/env bash
# benches/tree.sh: the tree-setup benchmark, run once, its Markdown table printed:
#   | tree | tool | setup (s) | peak RSS (MB) | kernel slab per watch (bytes) | syscalls per directory |
# for inotify-raw's TreeWatcher, the notify crate (8, inotify backend), `inotifywait -r` and
# the crate's examples/inotifywait.rs -r, on trees of 20,000 and 100,000 directories
# (fanout 10, one file each), all in one run.
#
# Usage (from anywhere): bash benches/tree.sh [run options, e.g. --dirs 20000,100000
#        --runs 3 --base /tmp --syscalls auto|perf|strace|none]
# Env: CARGO_TARGET_DIR  where to build (default /tmp/target-bench, as benches/run.sh)
#
# Installs what is missing (as root, with apt-get): inotify-tools and strace, and perf
# (linux-perf) when the distribution has it. Syscalls are counted with perf when it can
# count them here, else with strace, which is far slower: ptrace stops the process twice
# per syscall (about 4 minutes more on a 2-core VM, against seconds with perf).
# The trees are made once under /tmp (inotify-raw-tree-<N>-f10, about 0.9 GB for both,
# some seconds to make) and kept for the next run; remove them by hand. A run takes 1 to 2
# minutes with perf (more when other processes keep the CPUs busy: such runs are redone).
# The programs are benches/src/bin/tree_setup.rs (`tree_setup --help`) and, for the
# steady-state event rate after it, benches/src/bin/tree_events.rs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-bench}

missing=()
command -v inotifywait >/dev/null || missing+=(inotify-tools)
command -v strace >/dev/null || missing+=(strace)
if [ "${#missing[@]}" -gt 0 ] || ! command -v perf >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >&2
    if [ "${#missing[@]}" -gt 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    fi
    command -v perf >/dev/null ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >&2 ||
      echo "tree.sh: linux-perf could not be installed: syscalls are counted with strace" >&2
  elif [ "${#missing[@]}" -gt 0 ]; then
    echo "tree.sh: missing ${missing[*]}: as root, apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

cargo build --release --bin tree_setup --bin tree_events >&2
# The crate's inotifywait, timed beside the real one: built into the same target directory,
# so that tree_setup finds it in release/examples/.
cargo build --release --manifest-path ../Cargo.toml --example inotifywait >&2
"$CARGO_TARGET_DIR/release/tree_setup" run "$@"
echo
# Steady state: TreeWatcher::next_event against a plain Watcher on the same directories.
"$CARGO_TARGET_DIR/release/tree_events" run --dirs 10000
