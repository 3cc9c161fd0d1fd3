#!/usr/bin/env bash
# Run a command in this checkout on a real cgroup v2 kernel, in a throwaway VM:
#   bash test/v2/vm.sh 'npx vitest run test/integration/limits.test.ts'
# The command's output (stdout and stderr, merged) comes out on stdout, its exit status is ours; one
# line on stderr gives the timings. 125: the guest reported no status (timeout, boot failure).
#
# Why a VM: a cgroup v1 or hybrid host (memory, cpu, pids bound to v1) cannot give the v2 driver any
# controller, and a controller cannot be in both versions at once. So Debian's own kernel is booted
# under QEMU with cgroup_no_v1=all. No KVM needed: QEMU's software emulation (TCG) is slow but real.
#
# What the guest is (test/v2/guest-init is its PID 1):
#   - / is a tmpfs; the host's /usr and /opt are shown read-only over virtio-9p (node, npm, the
#     C library: the host's own), with bin/sbin/lib* as on the host (usr-merged symlinks or binds);
#     /etc is a copy of the host's in the tmpfs (a test may add a user).
#   - the checkout is a COPY made per run (mkfs.ext4 -d into a sparse image), mounted writable at the
#     same path: the host's tree is never written, and a test may stack overlays on ./rootfs.
#   - /tmp and /var/lib/minidock are on an empty ext4 disk; V2VM_SWAP=256M adds a swap disk.
#   - only cgroup2 at /sys/fs/cgroup, with cpuset cpu io memory pids enabled at the root; the command
#     runs in the leaf /user.slice/user-1000.slice/session-1.scope, where a laptop's login session puts
#     a shell: minidock must enable the controllers it needs in the slices itself.
#   - 2 vCPUs, 3 GiB, no network but lo, stdin /dev/null, stdout a pipe (no tty), root, HOME=/root.
#
# Needs root (and so does apt-get). First run: installs qemu-system-x86 and busybox-static with apt-get,
# downloads Debian's kernel package (apt-get download: unpacked with dpkg-deb -x, never installed), and
# keeps the kernel and an initramfs in $V2VM_CACHE (outside the checkout, which stays clean).
#
# Knobs (environment): V2VM_CACHE (/var/cache/minidock-v2vm), V2VM_MEM (3072 MiB), V2VM_SMP (2),
# V2VM_TIMEOUT (3600 s), V2VM_CGROUP (the leaf above; / = the root cgroup), V2VM_CONTROLLERS
# ("cpuset cpu io memory pids"), V2VM_SWAP (none), V2VM_KEEP=1 (keep the run directory: console.log,
# the guest's dmesg), V2VM_CONSOLE=1 (kernel messages live on stderr).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=$(cd "$HERE/../.." && pwd) # the checkout
CACHE=${V2VM_CACHE:-/var/cache/minidock-v2vm}
say() { echo "v2vm: $*" >&2; }
[ $# -ge 1 ] || { say "usage: bash test/v2/vm.sh 'COMMAND'  (runs COMMAND in $DIR on a cgroup v2 kernel)"; exit 125; }
[ "$(id -u)" = 0 ] || { say "needs root (QEMU's disks, apt-get): run it with sudo"; exit 125; }

apt_install() { # apt_install PKG...: install with apt-get, refreshing the package lists once if needed
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } \
    || { say "cannot install $* with apt-get"; exit 125; }
}

# ---- setup, once: qemu, the kernel, the initramfs (under a lock: two first runs may race) ----
# The initramfs is rebuilt when guest-init or this file changes (their hash is its key).
setup() {
  command -v qemu-system-x86_64 >/dev/null || { say "installing qemu-system-x86 (apt-get)"; apt_install qemu-system-x86; }
  # the initramfs has no C library: its busybox must be the static one
  case "$(ldd "$(command -v busybox || echo /nonexistent)" 2>&1)" in
    *'not a dynamic'*) ;;
    *) say "installing busybox-static (apt-get)"; apt_install busybox-static ;;
  esac
  local key; key=$(cat "$HERE/guest-init" "$HERE/vm.sh" | sha256sum | cut -c1-16)
  [ -f "$CACHE/initrd.img" ] && [ -f "$CACHE/vmlinuz" ] && [ "$(cat "$CACHE/initrd.key" 2>/dev/null)" = "$key" ] && return
  cd "$CACHE"
  if ! ls linux-image-*.deb >/dev/null 2>&1; then
    apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq >/dev/null
    # the versioned package Debian's current kernel meta-package points at (linux-image-6.1.0-NN-amd64)
    local pkg; pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [ -n "$pkg" ] || { say "apt-cache finds no kernel behind linux-image-amd64 (is this Debian?)"; exit 125; }
    say "downloading $pkg (apt-get download; unpacked, not installed)"
    apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null || { say "apt-get download $pkg failed"; exit 125; }
  fi
  local k=$CACHE/kpkg
  rm -rf "$k" initrd.d && dpkg-deb -x linux-image-*.deb "$k"
  local kver; kver=$(ls "$k/lib/modules" | head -1)
  cp "$k/boot/vmlinuz-$kver" vmlinuz
  # Debian builds virtio-pci, 9p, virtio-blk, ext4 and overlay as modules; the initramfs loads them
  # before it can see any disk. Dependencies come from each module's own "depends=" field; ext4's
  # checksums ask the crypto API for "crc32c" by name at mount time, a dependency no field records.
  mkdir -p initrd.d/bin initrd.d/mods initrd.d/proc initrd.d/sys initrd.d/dev
  find "$k/lib/modules/$kver/kernel" -name '*.ko*' > initrd.d/all
  local order=""
  addmod() {
    case " $order " in *" $1 "*) return ;; esac
    local f; f=$(grep -E "/($1|${1//_/-})\.ko(\.xz)?$" initrd.d/all | head -1)
    if [ -z "$f" ]; then # built into the kernel, or a name this kernel does not have
      grep -qE "/($1|${1//_/-})\.ko$" "$k/lib/modules/$kver/modules.builtin" && return
      [ "${2:-}" = optional ] && return
      say "module $1 not found in $(basename linux-image-*.deb)"; exit 125
    fi
    case $f in *.xz) xz -dc "$f" > "initrd.d/mods/$1.ko" ;; *) cp "$f" "initrd.d/mods/$1.ko" ;; esac
    local d; for d in $(grep -aoE 'depends=[^[:cntrl:]]*' "initrd.d/mods/$1.ko" | head -1 | cut -d= -f2 | tr , ' '); do addmod "$d"; done
    order="$order $1"
  }
  for m in virtio_pci virtio_blk virtio_rng 9pnet_virtio 9p crc32c_generic ext4 overlay; do addmod "$m"; done
  # the network tests' kernel side, when this kernel has it: a bridge, veth pairs, nf_tables with NAT
  # and fib (minidock's table, network/nft.ts)
  for m in veth bridge nf_tables nft_chain_nat nft_nat nft_masq nft_fib_ipv4 nft_ct; do addmod "$m" optional; done
  echo "$order" > initrd.d/mods/order
  cp "$(command -v busybox)" initrd.d/bin/busybox
  cp "$HERE/guest-init" initrd.d/init && chmod 755 initrd.d/init
  rm initrd.d/all
  (cd initrd.d && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > initrd.img.tmp && mv initrd.img.tmp initrd.img
  echo "$key" > initrd.key
  rm -rf "$k" initrd.d
  say "ready: $CACHE/vmlinuz ($kver), $CACHE/initrd.img"
}
mkdir -p "$CACHE/runs"
exec 9>"$CACHE/.lock"
flock 9
(setup)
flock -u 9

# ---- one run: a directory with the command, its disks, and what the guest reports back ----
RUN=$(mktemp -d "$CACHE/runs/run.XXXXXX")
cleanup() { if [ -n "${V2VM_KEEP:-}" ]; then say "kept $RUN (console.log, dmesg)"; else rm -rf "$RUN"; fi; }
trap cleanup EXIT
printf '%s\n' "$*" > "$RUN/cmd"
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # single-quoted for the guest's sh
{
  echo "V2VM_DIR=$(q "$DIR")"
  echo "V2VM_CGROUP=$(q "${V2VM_CGROUP:-/user.slice/user-1000.slice/session-1.scope}")"
  echo "V2VM_CONTROLLERS=$(q "${V2VM_CONTROLLERS:-cpuset cpu io memory pids}")"
  if [ -n "${CI:-}" ]; then echo "export CI=$(q "$CI")"; fi
} > "$RUN/env"
mkfs=(mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1)
truncate -s 8G "$RUN/scratch.img" && "${mkfs[@]}" "$RUN/scratch.img"
mb=$(du -sm "$DIR" | cut -f1)
truncate -s $((mb * 2 + 512))M "$RUN/project.img" && "${mkfs[@]}" -d "$DIR" "$RUN/project.img"
disk() { echo "-drive file=$RUN/$1.img,format=raw,if=none,cache=unsafe,id=$1 -device virtio-blk-pci,drive=$1,serial=$1"; }
disks="$(disk scratch) $(disk project)"
[ -n "${V2VM_SWAP:-}" ] && truncate -s "$V2VM_SWAP" "$RUN/swap.img" && disks="$disks $(disk swap)"
console="file:$RUN/console.log"
[ -n "${V2VM_CONSOLE:-}" ] && console="file:/dev/stderr"

t0=$(date +%s.%N)
set +e
# ttyS0: the kernel's console; ttyS1: the command's output, to our stdout. -cpu max: every feature TCG
# emulates. multi-threaded TCG: one host thread per vCPU. stdin is /dev/null (CI has none).
# shellcheck disable=SC2086
timeout -k 10 "${V2VM_TIMEOUT:-3600}" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -m "${V2VM_MEM:-3072}" -smp "${V2VM_SMP:-2}" \
  -nodefaults -display none -no-reboot \
  -kernel "$CACHE/vmlinuz" -initrd "$CACHE/initrd.img" \
  -append "console=ttyS0 loglevel=4 panic=-1 cgroup_no_v1=all mitigations=off" \
  -serial "$console" -chardev stdio,id=out,signal=off -serial chardev:out \
  -fsdev local,id=host,path=/,security_model=none,readonly=on,multidevs=remap -device virtio-9p-pci,fsdev=host,mount_tag=host \
  -fsdev local,id=out9p,path="$RUN",security_model=none -device virtio-9p-pci,fsdev=out9p,mount_tag=out \
  -device virtio-rng-pci $disks </dev/null
qrc=$?
set -e
t1=$(date +%s.%N)
if [ -f "$RUN/rc" ]; then
  rc=$(cat "$RUN/rc")
  awk -v t0="$t0" -v t1="$t1" -v b="$(cat "$RUN/t_boot")" -v e="$(cat "$RUN/t_end")" -v rc="$rc" \
    'BEGIN { printf "v2vm: exit %s; guest ready at %.1f s of its uptime, command %.1f s, wall %.1f s in all\n", rc, b, e - b, t1 - t0 }' >&2
  exit "$rc"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then say "timed out after ${V2VM_TIMEOUT:-3600} s (V2VM_TIMEOUT)"
else say "the guest reported no exit status (qemu exited $qrc)"; fi
[ -f "$RUN/fatal" ] && say "guest: $(cat "$RUN/fatal")"
[ -f "$RUN/console.log" ] && { say "last lines of the guest's console:"; tail -n 30 "$RUN/console.log" >&2; }
V2VM_KEEP=1
exit 125
