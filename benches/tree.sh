#!/usr/bin/env bash
# benches/tree.sh: the tree benchmarks, run once, their Markdown tables printed:
# - setup (benches/src/bin/tree_setup.rs): setup time, peak RSS, the kernel's slab growth
#   and syscalls of inotify-raw's FsWatcher and TreeWatcher, the notify crate (8, inotify
#   backend), `inotifywait -r` and the crate's examples/inotifywait.rs -r, on trees of
#   100,000 and 1,000,000 directories (fanout 10, one file each), on the file system of
#   /tmp and on a tmpfs, all in one run;
# - events (benches/src/bin/tree_events.rs): steady-state events per second with full
#   paths, FsWatcher against TreeWatcher on the same writers, on a tree of 100,000
#   directories on both file systems.
#
# Usage (from anywhere): bash benches/tree.sh [setup|events] [tree_setup run options,
#        e.g. --dirs 100000,1000000 --runs 3 --tools fs,ours --syscalls auto|perf|strace|none]
#   With neither word, both run (the options go to tree_setup). `events` takes
#   tree_events run options instead (--dirs 100000 --writers 2 --cycles 200000 --runs 3
#   --readers tree,fs,watcher).
# Env: CARGO_TARGET_DIR  where to build (default /tmp/target-bench, as benches/run.sh)
#
# Needs root: FsWatcher's fanotify mark needs CAP_SYS_ADMIN, and the tmpfs is mounted in
# a private mount namespace of this script's own (`unshare --mount`), so that nobody else
# sees it or writes to it; it is gone when the script ends. The trees on it are made in
# each run (some seconds for 100,000 directories, a minute or two for 1,000,000; about
# 4 KiB of memory per directory while the run lasts). fs.inotify.max_user_watches is
# raised for the run when the largest tree needs it, and put back at the end.
# Installs what is missing (as root, with apt-get): inotify-tools and strace, and perf
# (linux-perf) when the distribution has it. Syscalls are counted with perf when it can
# count them here, else with strace, which is far slower: ptrace stops the process twice
# per syscall.
# The trees under /tmp (inotify-raw-tree-<N>-f10, about 8 GB for 1,000,000 directories on
# ext4) are kept for the next run; remove them by hand.
set -euo pipefail

self=$(realpath "${BASH_SOURCE[0]}")
cd "$(dirname "$self")"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-bench}

if [ "$(id -u)" -ne 0 ]; then
  echo "tree.sh: run it as root (FsWatcher needs CAP_SYS_ADMIN; the tmpfs needs mount)" >&2
  exit 1
fi
# Into a mount namespace of our own, once, before anything else.
if [ -z "${INOTIFY_RAW_BENCH_NAMESPACE:-}" ]; then
  INOTIFY_RAW_BENCH_NAMESPACE=1 exec unshare --mount --propagation private bash "$self" "$@"
fi

what=both
case "${1:-}" in
  setup | events) what=$1; shift ;;
esac

missing=()
command -v inotifywait >/dev/null || missing+=(inotify-tools)
command -v strace >/dev/null || missing+=(strace)
if [ "${#missing[@]}" -gt 0 ] || ! command -v perf >/dev/null; then
  if command -v apt-get >/dev/null; then
    apt-get update -qq >&2
    if [ "${#missing[@]}" -gt 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    fi
    command -v perf >/dev/null ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >&2 ||
      echo "tree.sh: linux-perf could not be installed: syscalls are counted with strace" >&2
  elif [ "${#missing[@]}" -gt 0 ]; then
    echo "tree.sh: missing ${missing[*]}: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

cargo build --release --bin tree_setup --bin tree_hold --bin tree_events >&2
# The crate's inotifywait, timed beside the real one: built into the same target directory,
# so that tree_setup finds it in release/examples/.
cargo build --release --manifest-path ../Cargo.toml --example inotifywait >&2

tmpfs=$(mktemp -d /tmp/inotify-raw-bench-tmpfs.XXXXXX)
watches_file=/proc/sys/fs/inotify/max_user_watches
watches_before=$(cat "$watches_file")
cleanup() {
  umount "$tmpfs" 2>/dev/null || umount -l "$tmpfs" 2>/dev/null || true
  rmdir "$tmpfs" 2>/dev/null || true
  if [ "$(cat "$watches_file")" != "$watches_before" ]; then
    echo "$watches_before" >"$watches_file"
  fi
}
trap cleanup EXIT
# size is a bound, not an allocation; nr_inodes=0: no bound on the count of inodes.
mount -t tmpfs -o size=16g,nr_inodes=0 inotify-raw-bench "$tmpfs"

# The largest --dirs asked for (tree_setup's default: 1,000,000), for the watch limit.
largest_tree() {
  local largest=1000000 next=""
  for arg in "$@"; do
    case "$next$arg" in
      --dirs=* | dirs*)
        largest=0
        for n in $(echo "${arg#--dirs=}" | tr -d '_' | tr ',' ' '); do
          [ "$n" -gt "$largest" ] && largest=$n
        done
        next="" ;;
      --dirs) next=dirs ;;
      *) next="" ;;
    esac
  done
  echo "$largest"
}
if [ "$what" != events ]; then
  needed=$(($(largest_tree "$@") * 2))
  if [ "$watches_before" -lt "$needed" ]; then
    echo "tree.sh: fs.inotify.max_user_watches $watches_before -> $needed for this run" >&2
    echo "$needed" >"$watches_file"
  fi
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "Machine: $(nproc) x ${cpu:-?}, $(free -g | awk '/^Mem:/ {print $2}') GB;" \
  "Linux $(uname -r); /tmp on $(findmnt -n -o FSTYPE -T /tmp); load average $(cut -d' ' -f1-3 /proc/loadavg)."
if [ "$what" != events ]; then
  "$CARGO_TARGET_DIR/release/tree_setup" run --base "/tmp,$tmpfs" "$@"
  echo
fi
if [ "$what" = events ]; then
  "$CARGO_TARGET_DIR/release/tree_events" run --base "/tmp,$tmpfs" "$@"
elif [ "$what" = both ]; then
  "$CARGO_TARGET_DIR/release/tree_events" run --base "/tmp,$tmpfs"
fi
