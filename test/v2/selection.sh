#!/usr/bin/env bash
# The cgroup v2 test selection (`npm run test:v2`): the test files whose outcome depends on the cgroup
# version — the drivers and limits, OOM reporting, the device eBPF filter, /sys/fs/cgroup inside the
# container, detached containers with stats and the wait race, v2 without the controllers minidock
# needs, user namespaces and rootless launches (a normal user's delegated subtree), the network modes
# (a bridge launch's child makes its veth pair, then waits at v2's SYNC for the cgroup join) — then, from two
# files, only the tests that touch cgroups: `bench limits --quick` and the lessons' cgroup steps (04,
# 05, both languages). Run on a real cgroup v2 kernel:
#   bash test/v2/selection.sh            in a VM booted on a pure v2 kernel (test/v2/vm.sh), for v1 hosts
#   bash test/v2/selection.sh --native   on this host, for a host that is pure v2 already
# The VM boots with a swap device (V2VM_SWAP, 256M unless set), on for both runs, as on a laptop:
# -m alone allows as much again in swap (Docker's rule, which minidock follows), and the tests, the
# bench and lesson 05 that expect an OOM kill at the -m limit pass --memory-swap equal to -m; the swap
# tests of limits.test.ts (swap in use, the OOM kill past memory plus swap) run in the first.
# Prints vitest's summary of each run ("N passed, N failed, N skipped" last); exits 0 when all
# passed, else with the first failing run's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
files=(
  test/integration/limits.test.ts
  test/integration/device-bpf.test.ts
  test/integration/cgroup-v1.test.ts
  test/integration/cgroup-v2-missing.test.ts
  test/integration/lifecycle.test.ts
  test/integration/userns.test.ts
  test/integration/network-run.test.ts
)
# (vitest's -t applies to every file of a run, hence a second run; the tests it leaves out count as skipped)
picked=(test/integration/bench.test.ts test/integration/lessons.test.ts)
pattern='limits --quick for minidock|lessons \(every step, both languages\) 0[45]-'
run() { # run VITEST_OPTIONS: both runs, the first failing status (or 0)
  local rc=0
  npx vitest run "$@" "${files[@]}" || rc=$?
  npx vitest run "$@" "${picked[@]}" -t "$pattern" || { r=$?; [ "$rc" != 0 ] || rc=$r; }
  return "$rc"
}
if [ "${1:-}" = --native ]; then run; exit $?; fi
# Under emulation a launch takes ~10x longer than here: vitest gets a longer per-test timeout.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
opts='--testTimeout=300000 --hookTimeout=300000'
# The guest's commands (its /bin/sh; \$ is expanded there): both runs, with the swap device on.
guest=$(cat <<EOF
rc=0
step() { "\$@" || { r=\$?; [ \$rc != 0 ] || rc=\$r; }; }
echo "swap: \$(awk 'NR > 1 { print \$1, \$3 " KiB" }' /proc/swaps)"
step npx vitest run $opts ${files[*]}
step npx vitest run $opts ${picked[*]} -t '$pattern'
exit \$rc
EOF
)
set +e
V2VM_SWAP=${V2VM_SWAP:-256M} bash test/v2/vm.sh "$guest" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
# vitest's worker gives up on a reply from its parent 60 s after asking (`Timeout calling
# "onTaskUpdate"`), and counts that as an error of the run; under emulation a test's synchronous part
# (spawnSync) can keep the worker's event loop busy that long, so the reply is read too late. That is
# vitest's bookkeeping, not a test result: when no test failed in any run and those are the only
# errors, it passed.
if [ "$rc" = 1 ] && [ "$(grep -cE '^[0-9]+ passed, 0 failed, ' "$out")" = 2 ] \
  && [ "$(grep -c '^Error: ' "$out")" = "$(grep -c '^Error: \[vitest-worker\]: Timeout calling "onTaskUpdate"$' "$out")" ]; then
  echo "v2: no test failed; the only errors were vitest's worker timeouts above (its event loop blocked for 60 s under emulation)" >&2
  rc=0
fi
exit "$rc"
