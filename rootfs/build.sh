#!/usr/bin/env bash
# Builds ./rootfs: a tiny root filesystem made of Debian's statically linked busybox.
# Idempotent: does nothing when rootfs/bin/busybox is already there and up to date.
#   rootfs/build.sh [DIR]     (default: the directory of this script)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here}
src=/bin/busybox

# busybox-static: a single binary with no shared libraries, so the rootfs needs nothing else.
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "rootfs/build.sh: busybox-static is not installed; run as root, or: apt-get install busybox-static" >&2
    exit 1
  fi
  echo "rootfs: installing Debian's busybox-static (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq busybox-static >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq busybox-static >/dev/null; }
fi
if readelf -l "$src" 2>/dev/null | grep -q 'program interpreter'; then
  echo "rootfs/build.sh: $src is dynamically linked; install busybox-static" >&2
  exit 1
fi

if [ -x "$dest/bin/busybox" ] && cmp -s "$src" "$dest/bin/busybox" && [ -f "$dest/etc/passwd" ]; then
  exit 0
fi
echo "rootfs: building $dest from $src ($("$src" | head -1 | cut -d' ' -f1-2))" >&2

# The empty directories the runtime mounts over (proc, sys, dev), and the usual tree.
for d in bin sbin usr/bin usr/sbin etc proc sys dev dev/pts dev/shm tmp root home/user var/tmp var/log run mnt; do
  mkdir -p "$dest/$d"
done
chmod 1777 "$dest/tmp" "$dest/var/tmp"
chmod 700 "$dest/root"
install -m 755 "$src" "$dest/bin/busybox"

# One hard-working binary, many names: each applet is a symlink to /bin/busybox.
"$dest/bin/busybox" --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  ln -sfn /bin/busybox "$dest/$applet"
done

cat > "$dest/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$dest/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
users:x:100:user
user:x:1000:
nogroup:x:65534:
GROUP
chown 1000:1000 "$dest/home/user" 2>/dev/null || true
echo minidock > "$dest/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' > "$dest/etc/hosts"
: > "$dest/etc/resolv.conf"
echo "rootfs: $(find "$dest" -mindepth 1 | wc -l) entries in $dest" >&2
