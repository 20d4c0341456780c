#!/usr/bin/env bash
# .ci/test-runner.sh: how CI runs each test binary (cargo's target runner): under a time
# limit, so that one hung binary fails its step in minutes instead of stopping the run.
#
# Usage, as cargo's runner (cargo appends the test binary and its arguments):
#   CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="bash .ci/test-runner.sh"
#   CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="bash .ci/test-runner.sh qemu-aarch64-static"
#
# Under an emulator (qemu-user), a binary that runs past the limit runs once more, with
# a note: qemu-user now and then hangs for good in a fork made while other threads run
# (the tests restart a child stuck before its exec, but a hang on the parent's side
# cannot be helped from inside). A native binary that runs past the limit fails at once.
#
# Environment:
#   CI_TEST_BIN_TIMEOUT  seconds allowed for one run of one test binary (default 300;
#                        the slowest takes about 50 s under qemu-user on 2 idle cores)
set -uo pipefail

limit=${CI_TEST_BIN_TIMEOUT:-300}

case "${1:-}" in
  qemu-*) emulated=1 ;;
  *) emulated=0 ;;
esac

timeout -k 10 "$limit" "$@"
rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  if [ "$emulated" -eq 1 ]; then
    echo "test-runner: $* ran past ${limit}s under $1; running it once more" >&2
    timeout -k 10 "$limit" "$@"
    rc=$?
  fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "test-runner: $* ran past ${limit}s: a test hangs (the last ones libtest names as running for over 60 seconds)" >&2
  fi
fi
exit "$rc"
