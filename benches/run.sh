#!/usr/bin/env bash
# benches/run.sh: run the parsing benchmark once and print its Markdown tables:
#   | reader | time per 4 KiB batch | events/s | vs floor |
# for the read(2) floor, the `bound` reader, inotify-raw and the `inotify` crate, all
# from this one run, with the readers timed in turns (each round times every reader).
#
# Usage (from anywhere): bash benches/run.sh [criterion args, e.g. a filter or --quick]
# Env: CARGO_TARGET_DIR  where to build (default /tmp/target-bench, apart from the
#                        library's own target/ so that concurrent builds do not contend)
# Takes about a minute after the build: criterion's own measurement of each reader
# (8 x (1 s warm-up + 5 s)), then the tables' 2 x 440 rounds (a few seconds).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-bench}
# Criterion's results, per target directory.
export CRITERION_HOME=${CRITERION_HOME:-$CARGO_TARGET_DIR/criterion}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
cargo bench --bench parse --no-run >&2 # build first: the load average below is not ours
load_before=$(loadavg)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo bench --bench parse -- "$@" 2>&1 | tee "$log" >&2
echo
# The table (and the notes under it) that the bench printed at its end.
sed -n '/per iteration; the readers timed in turns/,$p' "$log"
# The machine has 2 cores: anything else running skews the parsing more than the floor.
echo
echo "load average before: $load_before; after: $(loadavg)"
