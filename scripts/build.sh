#!/usr/bin/env bash
# `npm run build`: the idempotent preparation that `npm run demo` and `npm test` both start with.
#   1. npm dependencies with `npm ci` (when node_modules is missing or older than package-lock.json)
#   2. TypeScript -> dist/ (only when src/ changed)
#   3. native/ -> native/build/libminidock.so (make: only when the C changed)
#   4. ./rootfs from Debian's busybox-static (installed with apt-get when absent); nftables likewise, as root
#      (and the `minidock` user's /etc/subuid range for --userns auto; uidmap for rootless)
#   5. `minidock` on PATH (scripts/install-path.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

# `npm ci` installs exactly what package-lock.json says and never rewrites it, so a build leaves the
# tracked tree as it found it (CI checks `git status --porcelain` after `npm test`). The lockfile holds
# every platform's optional packages (rollup's, under vitest): a lockfile without them is refused by
# `npm ci` as "out of sync". It runs when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "build: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# Type-check with tsc, then bundle with esbuild: one file per verb (dist/verbs/) plus one with every
# verb (dist/minidock.cjs). Loading 30 small ES modules costs Node ~1-2 ms each; a bundle a few ms.
# ink and React stay outside the bundle: only the verbs that draw load them.
# The bundle is built beside dist/ and swapped in under a lock, so a build never removes files
# that a minidock already running (a test, say) is about to load.
# MINIDOCK_SKIP_TYPECHECK=1 skips tsc (for quick rebuilds while editing; CI never sets it).
exec 9>/tmp/minidock-build.lock
flock 9
if [ ! -f dist/.stamp ] || [ -n "$(find src tsconfig.json package.json scripts/bundle.mjs -newer dist/.stamp -print -quit)" ]; then
  if [ -z "${MINIDOCK_SKIP_TYPECHECK:-}" ]; then
    echo "build: type-checking TypeScript" >&2
    node_modules/.bin/tsc -p tsconfig.json --noEmit
  fi
  echo "build: bundling" >&2
  rm -rf dist.new
  node scripts/bundle.mjs dist.new
  touch dist.new/.stamp
  rm -rf dist.old
  [ -d dist ] && mv dist dist.old
  mv dist.new dist
  rm -rf dist.old
fi
flock -u 9

if ! command -v cc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "build: installing a C compiler (apt-get install gcc make libc6-dev)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc make libc6-dev >/dev/null
  else
    echo "build: no C compiler (cc); install gcc" >&2
    exit 1
  fi
fi
make -s -C native

# nft for container networking (src/runtime/network/nft.ts: NAT and published ports), as root only
if ! command -v nft >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "build: installing Debian's nftables (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null; }
fi

# User namespaces (src/runtime/userns.ts, docs/security.md), as root only: `--userns auto` maps the
# container's ids 0-65535 onto the subordinate range of a system user `minidock` in /etc/subuid and
# /etc/subgid, made here once. The range starts past every range already in either file (and at
# 100000 at least, where Debian's useradd starts users' ranges): no user's ids, no one else's range.
# newuidmap/newgidmap (Debian's `uidmap`) map a normal user's /etc/subuid range (rootless).
if [ "$(id -u)" = 0 ]; then
  id minidock >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin minidock
  touch /etc/subuid /etc/subgid
  if ! grep -q '^minidock:' /etc/subuid || ! grep -q '^minidock:' /etc/subgid; then
    start=$(awk -F: 'BEGIN { m = 100000 } NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m }' /etc/subuid /etc/subgid)
    for f in /etc/subuid /etc/subgid; do
      grep -q '^minidock:' "$f" || echo "minidock:$start:65536" >>"$f"
    done
    echo "build: /etc/subuid and /etc/subgid: minidock:$start:65536 (for --userns auto)" >&2
  fi
  if ! command -v newuidmap >/dev/null 2>&1 && command -v apt-get >/dev/null; then
    echo "build: installing Debian's uidmap (newuidmap, newgidmap: rootless launches)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq uidmap >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq uidmap >/dev/null; } || true
  fi
fi

bash rootfs/build.sh
bash scripts/install-path.sh
