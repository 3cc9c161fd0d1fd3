#!/usr/bin/env bash
# The OCI runtime conformance suite (opencontainers/runtime-tools, validation/) against one or more
# OCI runtimes, interleaved, with a per-test table.
#
#   bench/oci-conformance.sh RUNTIME_TOOLS_DIR [RUNTIME...]
#
# RUNTIME_TOOLS_DIR is a checkout of https://github.com/opencontainers/runtime-tools (nothing of the
# suite lives in this repository). Its validation/<name>/<name>.go programs and cmd/runtimetest are
# built there with Go (>= 1.21; Debian 12: `apt-get install -t bookworm-backports golang-1.23-go`),
# from its vendor/ directory, so no network is needed. RUNTIME is a binary name or path (default: runc
# and crun, those installed); minidock's OCI entry point is bin/minidock-oci.js.
#
# Each test program is one TAP stream and is run as the suite's Makefile runs it: from the checkout's
# top (it reads ./runtimetest and ./rootfs-<arch>.tar.gz there), with RUNTIME=<binary>. For every test,
# each runtime runs it in turn (interleaved: a machine that slows down mid-run slows every runtime
# alike). A program passes when it exits 0 with at least one "ok" and no "not ok"; it is skipped when
# every line it wrote is a skip ("1..0 # SKIP" or "ok N # SKIP"); anything else fails. One more pass:
# the lifecycle programs (prestart, poststart, poststop, their _fail twins ...) write no test line at
# all — they end in an empty plan "1..0" and report a failure only as a YAML diagnostic ("  ---"
# block): exit 0, "1..0", no diagnostic is their success ("pass (0/0)"; prove and node-tap, which the
# suite's Makefile uses, accept it too).
#
# Environment: OUT (default /tmp/oci-conformance.<date>) receives every TAP stream
# (<test>.<runtime>.tap), results.tsv and leftover-mounts.txt; TEST_TIMEOUT seconds per program (default 120); TESTS a
# space-separated subset of test names; GO the go binary (default: go on PATH, else /usr/lib/go-1.23/bin/go).
set -euo pipefail

if [ $# -lt 1 ] || [ ! -d "${1:-}" ]; then
  echo "usage: $0 RUNTIME_TOOLS_DIR [RUNTIME...]  (RUNTIME_TOOLS_DIR: a checkout of opencontainers/runtime-tools)" >&2
  exit 2
fi
tools=$(cd "$1" && pwd)
shift
if [ ! -d "$tools/validation" ] || [ ! -d "$tools/cmd/runtimetest" ]; then
  echo "$0: $tools is not a runtime-tools checkout (no validation/ or cmd/runtimetest/)" >&2
  exit 2
fi

GO=${GO:-$(command -v go || echo /usr/lib/go-1.23/bin/go)}
if [ ! -x "$GO" ]; then
  echo "$0: no Go compiler: install it with apt-get install -t bookworm-backports golang-1.23-go, or set GO=" >&2
  exit 2
fi

# The runtimes, as absolute paths (the suite runs them from its own directory).
runtimes=()
names=()
if [ $# -eq 0 ]; then set -- runc crun; fi
for r in "$@"; do
  p=$(command -v "$r" || true)
  if [ -z "$p" ]; then
    echo "$0: runtime $r not found: skipped" >&2
    continue
  fi
  runtimes+=("$(readlink -f "$p")")
  names+=("$(basename "$r" | sed 's/\.js$//')")
done
if [ ${#runtimes[@]} -eq 0 ]; then
  echo "$0: none of the runtimes exists" >&2
  exit 2
fi

OUT=${OUT:-/tmp/oci-conformance.$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
TEST_TIMEOUT=${TEST_TIMEOUT:-120}

# Build: runtimetest static (it runs inside each container's rootfs, which has no libc of this
# machine), each validation program as the Makefile builds it.
cd "$tools"
export GOFLAGS=-mod=vendor GOTOOLCHAIN=local
echo "building runtimetest and the validation programs with $("$GO" version)" >&2
CGO_ENABLED=0 "$GO" build -tags "" -ldflags "-extldflags -static" -o runtimetest ./cmd/runtimetest
tests=()
for dir in validation/*/; do
  t=$(basename "$dir")
  [ "$t" = util ] && continue
  [ -f "validation/$t/$t.go" ] || continue
  if [ -n "${TESTS:-}" ] && [[ " $TESTS " != *" $t "* ]]; then continue; fi
  [ "validation/$t/$t.t" -nt "validation/$t/$t.go" ] || "$GO" build -o "validation/$t/$t.t" "./validation/$t/$t.go"
  tests+=("$t")
done

# One program against one runtime: prints pass, fail or skip, and "ok/total".
classify() { # TAPFILE EXITCODE
  local ok notok skip plan
  ok=$(grep -cE '^ok ' "$1" || true)
  notok=$(grep -cE '^not ok ' "$1" || true)
  skip=$(grep -ciE '^ok [0-9]+.*# ?skip' "$1" || true)
  plan=$(grep -ciE '^1\.\.0 *# ?skip' "$1" || true)
  empty=$(grep -cE '^1\.\.0 *$' "$1" || true)
  yaml=$(grep -cE '^ +---$' "$1" || true)
  if [ "$notok" -eq 0 ] && { [ "$plan" -gt 0 ] || { [ "$ok" -gt 0 ] && [ "$skip" -eq "$ok" ]; }; }; then
    echo "skip $ok/$((ok + notok))"
  elif [ "$2" -eq 0 ] && [ "$notok" -eq 0 ] && [ "$ok" -gt 0 ]; then
    echo "pass $ok/$((ok + notok))"
  elif [ "$2" -eq 0 ] && [ "$ok" -eq 0 ] && [ "$notok" -eq 0 ] && [ "$empty" -gt 0 ] && [ "$yaml" -eq 0 ]; then
    echo "pass 0/0"
  else
    echo "fail $ok/$((ok + notok))"
  fi
}

# The suite's bundles are /tmp/ocitest*; a runtime that leaves mounts there (runc's linux_ns_itype,
# which has no mount namespace, does) is named after each program in leftover-mounts.txt.
ocitest_mounts() { awk '$2 ~ "^/tmp/ocitest" { print $2 }' /proc/self/mounts | sort; }
before_mounts=$(ocitest_mounts)
: > "$OUT/leftover-mounts.txt"
printf 'test\truntime\tresult\tok/total\texit\tseconds\n' > "$OUT/results.tsv"
for t in "${tests[@]}"; do
  for i in "${!runtimes[@]}"; do
    tap="$OUT/$t.${names[$i]}.tap"
    start=$(date +%s.%N)
    set +e
    RUNTIME=${runtimes[$i]} timeout -k 5 "$TEST_TIMEOUT" "./validation/$t/$t.t" > "$tap" 2>&1
    rc=$?
    set -e
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    read -r res counts < <(classify "$tap" "$rc")
    [ "$rc" -eq 124 ] && res=fail counts="timeout"
    printf '%s\t%s\t%s\t%s\t%s\t%.1f\n' "$t" "${names[$i]}" "$res" "$counts" "$rc" "$secs" >> "$OUT/results.tsv"
    now_mounts=$(ocitest_mounts)
    comm -13 <(echo "$before_mounts") <(echo "$now_mounts") | sed "s|^|$t ${names[$i]} |" >> "$OUT/leftover-mounts.txt"
    before_mounts=$now_mounts
  done
done

# The table: one row per test, one column per runtime; then the totals.
{
  printf '| test |'; for n in "${names[@]}"; do printf ' %s |' "$n"; done; echo
  printf '|---|'; for _ in "${names[@]}"; do printf '%s' '---|'; done; echo
  for t in "${tests[@]}"; do
    printf '| %s |' "$t"
    for n in "${names[@]}"; do
      awk -F'\t' -v t="$t" -v n="$n" '$1 == t && $2 == n { printf " %s (%s) |", $3, $4 }' "$OUT/results.tsv"
    done
    echo
  done
  printf '| **passed** |'
  for n in "${names[@]}"; do
    awk -F'\t' -v n="$n" -v total="${#tests[@]}" '$2 == n && $3 == "pass" { p++ } $2 == n && $3 == "skip" { s++ }
      END { printf " **%d/%d** (%d skipped) |", p, total, s }' "$OUT/results.tsv"
  done
  echo
} | tee "$OUT/table.md"
if [ -s "$OUT/leftover-mounts.txt" ]; then
  echo "mounts left under /tmp/ocitest* (test runtime mountpoint; remove with umount -R): $OUT/leftover-mounts.txt" >&2
fi
echo "TAP streams and results.tsv: $OUT" >&2
