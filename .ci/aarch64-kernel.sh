#!/usr/bin/env bash
# .ci/aarch64-kernel.sh: inotify-raw on a real aarch64 Linux kernel. Boots Debian's arm64
# cloud kernel under qemu-system-aarch64 from an initramfs whose /init is
# examples/initramfs (the crate's checks: inotify, the parser, overflow, epoll,
# EventWaiter, PathWaiter, TreeWatcher, fanotify) with the no-libc binary of
# examples/nolibc beside it, and reads the verdict back from the serial console.
# qemu-user (.ci/aarch64-test.sh) translates every system call and has no fanotify; this
# is the kernel itself.
#
# Usage (from the repository root, as root, on a Debian 12 amd64 machine):
#   bash .ci/aarch64-kernel.sh
#
# Steps:
#   1. Debian's aarch64 toolchain (lib.sh: ci_aarch64_install), qemu-system-arm, cpio.
#   2. The kernel: the linux-image-*-cloud-arm64-unsigned:arm64 that the metapackage
#      linux-image-cloud-arm64 points at, fetched with `apt-get download`; its vmlinuz is
#      unpacked into $AARCH64_KERNEL_DIR/VERSION/ and reused by later runs.
#   3. examples/nolibc and examples/initramfs built for aarch64 (release), each from its
#      own directory so that cargo reads its .cargo/config.toml; both must be static.
#   4. A gzip'd newc cpio: /init (examples/initramfs), /bin/inotify-nolibc.
#   5. qemu-system-aarch64 -M virt -cpu cortex-a57 -m 512 -nographic -no-reboot -net none
#      boots it. The program mounts /proc, /dev and a tmpfs on /tmp itself, prints one
#      line per check, then "inotify-raw kernel checks: N passed, N failed, N skipped
#      (...)", and powers off; should it die instead, the kernel panics and panic=-1 with
#      -no-reboot ends qemu.
#   6. The step passes when that line says 0 failed and 0 skipped, and qemu exited on its
#      own within $BOOT_TIMEOUT seconds.
#
# Env:
#   AARCH64_KERNEL_DIR  where unpacked kernels are kept (default /var/cache/inotify-raw-ci/kernels)
#   BOOT_TIMEOUT        seconds qemu may run before it is killed (default 120)
#   CARGO_TARGET_DIR    the builds go to its aarch64-kernel/ (default target/ at the root)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

ci_need_root aarch64-kernel.sh
[ -f examples/initramfs/Cargo.toml ] ||
  { echo "aarch64-kernel.sh: run from the repository root (no examples/initramfs in $PWD)" >&2; exit 1; }
[ "$(dpkg --print-architecture)" = amd64 ] || { echo "aarch64-kernel.sh: needs an amd64 Debian host" >&2; exit 1; }

ROOT=$PWD
KERNEL_DIR=${AARCH64_KERNEL_DIR:-/var/cache/inotify-raw-ci/kernels}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-120}
BUILD_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/aarch64-kernel
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
# Each step runs in a subshell: what one finds, the next reads from these files.
mkdir -p "$BUILD_DIR"
KERNEL_FILE=$BUILD_DIR/kernel-path
INITRAMFS=$BUILD_DIR/initramfs.cpio.gz
CONSOLE=$BUILD_DIR/console.log
# What the kernel must have built in for the checks (there are no modules in the initramfs).
KERNEL_OPTIONS="INOTIFY_USER EPOLL FANOTIFY FHANDLE TMPFS DEVTMPFS PROC_FS BLK_DEV_INITRD RD_GZIP SERIAL_AMBA_PL011_CONSOLE"
RESULT_LINE='inotify-raw kernel checks: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped'

install_tools() {
  ci_aarch64_install
  ci_apt_install qemu-system-arm cpio gzip binutils
  ci_aarch64_check
  qemu-system-aarch64 --version | head -n 1
}

# The unsigned kernel image that the cloud-arm64 metapackage depends on (its signed twin
# is the same kernel with a signature for Secure Boot, which qemu does not need).
kernel_package() {
  apt-cache depends linux-image-cloud-arm64:arm64 |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { sub(/:arm64$/, "", $2); print $2 "-unsigned"; exit }'
}

fetch_kernel() {
  local package version dir deb tmp option
  ci_apt_update
  package=$(kernel_package)
  [ -n "$package" ] || { echo "apt-cache finds no linux-image-cloud-arm64:arm64 (is the arm64 architecture added?)" >&2; return 1; }
  version=$(apt-cache policy "$package:arm64" | awk '$1 == "Candidate:" { print $2 }')
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "apt offers no $package:arm64" >&2
    return 1
  fi
  dir=$KERNEL_DIR/${package}_$version
  if [ ! -s "$dir/vmlinuz" ]; then
    tmp=$(mktemp -d)
    # As root into a directory the _apt user cannot write: say so, instead of a warning.
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$package:arm64=$version") >>"$CI_APT_LOG" 2>&1 ||
      { tail -n 20 "$CI_APT_LOG" >&2; echo "apt-get download $package:arm64=$version failed" >&2; return 1; }
    deb=$(echo "$tmp"/*.deb)
    # Only the image and its config, not the 100 MB of modules.
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' './boot/config-*'
    mkdir -p "$dir"
    mv "$tmp"/boot/vmlinuz-* "$dir/vmlinuz"
    mv "$tmp"/boot/config-* "$dir/config"
    echo "$package $version: $(stat -c %s "$deb") bytes fetched, vmlinuz unpacked into $dir"
    rm -rf "$tmp"
  else
    echo "$package $version: reusing $dir"
  fi
  for option in $KERNEL_OPTIONS; do
    grep -qx "CONFIG_$option=y" "$dir/config" ||
      { echo "$package $version: CONFIG_$option is not built in ($dir/config)" >&2; return 1; }
  done
  echo "built in: $KERNEL_OPTIONS"
  echo "$dir/vmlinuz" >"$KERNEL_FILE"
}

# cargo build --release for aarch64 in examples/NAME (whose .cargo/config.toml makes it
# static); prints the binary's path.
build_static() {
  local name=$1 binary=$2 out
  out=$BUILD_DIR/$name
  (cd "examples/$name" && /usr/bin/cargo build --release --quiet --target "$CI_AARCH64_TARGET" --target-dir "$out") >&2
  echo "$out/$CI_AARCH64_TARGET/release/$binary"
}

check_static() { # check_static BIN: an aarch64 executable with no program interpreter
  local report
  report=$(LC_ALL=C readelf -h -l "$1")
  grep -Eq 'Machine:[[:space:]]+AArch64$' <<<"$report" || { echo "$1 is not an AArch64 ELF" >&2; return 1; }
  ! grep -q 'INTERP' <<<"$report" || { echo "$1 has a program interpreter: not static" >&2; return 1; }
  echo "$1: static aarch64, $(stat -c %s "$1") bytes"
}

build() {
  local init nolibc staging
  ci_aarch64_env
  # RUSTFLAGS would replace the rustflags of the packages' .cargo/config.toml.
  unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
  init=$(build_static initramfs inotify-initramfs)
  nolibc=$(build_static nolibc inotify-nolibc)
  check_static "$init"
  check_static "$nolibc"
  staging=$(mktemp -d)
  mkdir "$staging/bin"
  install -m 755 "$init" "$staging/init"
  install -m 755 "$nolibc" "$staging/bin/inotify-nolibc"
  (cd "$staging" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) | gzip -9 -n >"$INITRAMFS"
  rm -rf "$staging"
  echo "initramfs: $(stat -c %s "$INITRAMFS") bytes gzip'd ($INITRAMFS)"
}

boot() {
  local vmlinuz t0 rc=0 us line passed failed skipped
  vmlinuz=$(cat "$KERNEL_FILE")
  t0=$(ci_now_us)
  timeout -k 5 "$BOOT_TIMEOUT" qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 2 -m 512 \
    -nographic -no-reboot -net none -kernel "$vmlinuz" -initrd "$INITRAMFS" \
    -append "console=ttyAMA0 panic=-1 quiet" </dev/null | tr -d '\r' | tee "$CONSOLE" || rc=${PIPESTATUS[0]}
  us=$(($(ci_now_us) - t0))
  line=$(grep -Eo "$RESULT_LINE.*" "$CONSOLE" | tail -n 1 || true)
  if [ -z "$line" ]; then
    if [ "$rc" -eq 124 ]; then
      echo "no result line within ${BOOT_TIMEOUT}s: qemu was killed (the checks hung, or the kernel did)" >&2
    else
      echo "no result line on the console: qemu exited with status $rc after $(ci_secs "$us") (console log: $CONSOLE)" >&2
    fi
    return 1
  fi
  read -r passed failed skipped < <(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/' <<<"$line")
  echo "qemu ran $(ci_secs "$us") (boot, checks, power off); the checks: $passed passed, $failed failed, $skipped skipped"
  [ "$rc" -eq 0 ] || { echo "qemu did not exit on its own (status $rc): the machine did not power off" >&2; return 1; }
  if [ "$passed" -eq 0 ] || [ "$failed" -ne 0 ] || [ "$skipped" -ne 0 ]; then
    echo "the kernel checks did not all pass: $line" >&2
    return 1
  fi
}

ci_step "aarch64 kernel: install toolchain, qemu-system-arm, cpio" install_tools
ci_step "aarch64 kernel: fetch Debian's cloud arm64 kernel" fetch_kernel
ci_step "aarch64 kernel: build the static programs and the initramfs" build
ci_step "aarch64 kernel: boot and run the checks" boot
