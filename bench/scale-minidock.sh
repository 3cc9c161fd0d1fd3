#!/usr/bin/env bash
# The scale experiment for minidock (docs/lifecycle.md): N = 1, 5, 10, 20 detached `sleep 3600`
# launched one after another. Prints, per N: total launch time, the container's cgroup memory,
# the C monitor's RSS and PSS (per container), and the time to remove them all with one rm -f.
# Same shape as the peers' figures in docs/peers.md (runc 49/254/480/869 ms).
# Usage: bench/scale-minidock.sh [N...]   (as root, after npm run build)
set -euo pipefail
cd "$(dirname "$0")/.."
M="$PWD/bin/minidock.js"
ROOTFS="$PWD/rootfs"
export MINIDOCK_ROOT="$(mktemp -d /tmp/minidock-scale-XXXXXX)"
trap 'ids=$("$M" ps -aq --no-trunc 2>/dev/null || true); [ -n "$ids" ] && "$M" rm -f $ids >/dev/null; rm -rf "$MINIDOCK_ROOT"' EXIT
ms() { date +%s%3N; }
Ns=("${@:-1 5 10 20}")
# one warm-up launch (the V8 code cache of the CLI, the page cache of the rootfs)
id=$("$M" run -d "$ROOTFS" true); "$M" wait "$id" >/dev/null; "$M" rm "$id" >/dev/null
printf '%-4s %12s %14s %16s %16s %16s %12s\n' N 'launch ms' 'ms/container' 'cgroup mem KiB' 'monitor RSS KiB' 'monitor PSS KiB' 'rm all ms'
for n in ${Ns[*]}; do
  t0=$(ms)
  for ((i = 0; i < n; i++)); do "$M" run -d "$ROOTFS" sleep 3600 >/dev/null; done
  t1=$(ms)
  ids=$("$M" ps -q --no-trunc)
  mem=0 rss=0 pss=0
  for id in $ids; do
    st="$MINIDOCK_ROOT/containers/$id/state.json"
    mpid=$(grep -o '"monitorPid":[0-9]*' "$st" | cut -d: -f2)
    memcg=$(grep -o '"[^"]*/memory/[^"]*"' "$st" | tr -d '"' | head -1)
    mem=$((mem + $(cat "$memcg/memory.usage_in_bytes") / 1024))
    rss=$((rss + $(awk '/^Rss:/ {print $2}' /proc/$mpid/smaps_rollup)))
    pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/$mpid/smaps_rollup)))
  done
  t2=$(ms)
  "$M" rm -f $ids >/dev/null
  t3=$(ms)
  printf '%-4s %12s %14s %16s %16s %16s %12s\n' "$n" $((t1 - t0)) $(((t1 - t0) / n)) $((mem / n)) $((rss / n)) $((pss / n)) $((t3 - t2))
done
echo "($(uname -r), $(nproc) CPUs, $(grep -c . /proc/self/cgroup) cgroup lines; launch = one \`minidock run -d\` after another)"
