#!/usr/bin/env node
// Limit accuracy of `minidock run`, on this machine's real cgroups: the same cases as the limits
// table of docs/peers.md, for minidock (the script behind docs/limits.md; `minidock bench limits`
// is the command that measures limits against the peers).
//
//   memory 50/100/256M  (a) the container's init allocates anonymous memory in 1 MiB steps
//                           (native/probes/alloc): kill point, cgroup peak, exit code, minidock's line
//                       (b) docs/peers.md's workload, `head -c 2xLIMIT /dev/zero | tail` under sh: the side
//                           process `tail` dies; what minidock says about it
//   pids 10/50/100      sh starts background sleeps until fork fails: tasks reached (sh + sleeps),
//                       pids peak and limit hits from the cgroup, the fork error (EAGAIN)
//   cpu 25/50/75/100%   `--cpu P`, two busy processes for SECONDS of wall time (native/probes/spin):
//                       achieved share = the cgroup's CPU usage counter / wall time; throttled periods
//
// Every number comes from `minidock run --stats=json` (the cgroup's own counters) and from what the
// workload printed. Each case runs --repeat times (default 3). Prints a table; writes JSON.
//
//   sudo node bench/limits.mjs [--repeat 3] [--cpu-seconds 3] [--json bench/results/limits.json]
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const REPEAT = Number(arg('repeat', 3));
const CPU_SECONDS = Number(arg('cpu-seconds', 3));
const JSON_OUT = resolve(arg('json', join(root, 'bench', 'results', 'limits.json')));
const bin = join(root, 'bin', 'minidock.js');
const rootfs = join(root, 'rootfs');
const probes = join(root, 'native', 'build', 'probes');
const MiB = 1024 * 1024;

if (process.getuid?.() !== 0) {
  console.error('bench/limits.mjs: needs root (it runs containers with cgroup limits)');
  process.exit(1);
}
for (const p of [join(probes, 'alloc'), join(probes, 'spin'), join(rootfs, 'bin', 'busybox')]) {
  if (!existsSync(p)) {
    console.error(`bench/limits.mjs: ${p} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
}
if (spawnSync(bin, ['--version'], { encoding: 'utf8' }).status !== 0) {
  console.error(`bench/limits.mjs: ${bin} --version fails: run \`npm run build\` first`);
  process.exit(1);
}

// A private state root and cgroup parent, removed at the end.
const stateRoot = mkdtempSync(join(tmpdir(), 'minidock-bench-limits-'));
const cgroupParent = `minidock-bench-limits-${process.pid}`;
const env = { ...process.env, MINIDOCK_ROOT: stateRoot, MINIDOCK_CGROUP_PARENT: cgroupParent };

function minidock(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, ['run', '--rm', '--stats=json', '-v', `${probes}:/probes:ro`, ...args], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 16 << 20,
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const lines = String(r.stderr ?? '')
    .trim()
    .split('\n');
  const jsonLine = [...lines].reverse().find((l) => l.startsWith('{'));
  let stats;
  try {
    stats = jsonLine ? JSON.parse(jsonLine) : undefined;
  } catch {
    stats = undefined;
  }
  const said = lines.filter((l) => l.startsWith('minidock:')).join(' | ');
  return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), stats, said, wallMs };
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const range = (xs, f) => {
  const v = xs.filter((x) => x !== undefined && x !== null && !(typeof x === 'number' && Number.isNaN(x)));
  if (!v.length) return '?';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return lo === hi ? f(lo) : `${f(lo)}-${f(hi)}`;
};
const same = (xs) => (new Set(xs.map(String)).size === 1 ? String(xs[0]) : [...new Set(xs.map(String))].join(' / '));

const results = { memory: [], memorySide: [], pids: [], cpu: [] };

// ---- memory: the init allocates ----
for (const n of [50, 100, 256]) {
  for (let i = 0; i < REPEAT; i++) {
    const r = minidock(['-m', `${n}M`, rootfs, '/probes/alloc', String(n + 200)]);
    const steps = [...r.stdout.matchAll(/^allocated (\d+) MiB$/gm)].map((m) => Number(m[1]));
    results.memory.push({
      limitMiB: n,
      run: i + 1,
      exitCode: r.code,
      killPointMiB: steps.length ? steps[steps.length - 1] : 0, // last completed 1 MiB step before the kill
      peakBytes: r.stats?.memoryPeakBytes,
      limitBytes: r.stats?.memoryLimitBytes,
      oomKills: r.stats?.oomKills,
      oomKilled: r.stats?.oomKilled,
      said: r.said,
    });
  }
}

// ---- memory: docs/peers.md's pipeline, a side process dies ----
for (const n of [50, 100, 256]) {
  for (let i = 0; i < REPEAT; i++) {
    const r = minidock(['-m', `${n}M`, rootfs, 'sh', '-c', `head -c ${2 * n}m /dev/zero | tail; echo "rc=$?"`]);
    results.memorySide.push({
      limitMiB: n,
      run: i + 1,
      exitCode: r.code,
      pipelineRc: Number(/^rc=(\d+)/m.exec(r.stdout)?.[1]),
      peakBytes: r.stats?.memoryPeakBytes,
      oomKills: r.stats?.oomKills,
      oomKilled: r.stats?.oomKilled,
      said: r.said,
    });
  }
}

// ---- pids ----
for (const n of [10, 50, 100]) {
  for (let i = 0; i < REPEAT; i++) {
    const script = `i=0; while [ $i -lt ${n + 20} ]; do sleep 30 & i=$((i+1)); echo "started $i"; done`;
    const r = minidock(['--pids', String(n), rootfs, 'sh', '-c', script]);
    const started = [...r.stdout.matchAll(/^started (\d+)$/gm)].map((m) => Number(m[1]));
    const sleeps = started.length ? started[started.length - 1] : 0;
    results.pids.push({
      limit: n,
      run: i + 1,
      exitCode: r.code,
      tasksReached: sleeps + 1, // + the sh itself
      forkError: /can't fork: (.*)$/m.exec(r.stderr)?.[1] ?? '',
      pidsPeak: r.stats?.pidsPeak,
      pidsLimit: r.stats?.pidsLimit,
      pidsLimitHits: r.stats?.pidsLimitHits,
    });
  }
}

// ---- cpu (interleaved: 25 50 75 100 25 50 ...) ----
// Two measurements per run, both from the cgroup's usage counter:
//   whole run: total usage (--stats=json) / the spinner's wall time. Slightly above the target by
//     design: a run of W seconds overlaps W/period + 1 periods, each with a fresh quota (~+1/30 at 3 s).
//   steady:    the counter read from the host at 0.5 s and 0.5 s + SECONDS into the run, divided by
//     the host's elapsed time: the long-run share with no start-up or edge effects.
function cgroupUsageFile() {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const fs = f[f.indexOf('-') + 1];
    if (fs !== 'cgroup' && fs !== 'cgroup2') continue;
    const dir = join(f[4], cgroupParent);
    let kids = [];
    try {
      kids = readdirSync(dir).filter((n) => n.startsWith('minidock-'));
    } catch {
      continue;
    }
    for (const k of kids) {
      if (existsSync(join(dir, k, 'cpuacct.usage')))
        return { file: join(dir, k, 'cpuacct.usage'), toSeconds: (t) => Number(t.trim()) / 1e9 };
      if (fs === 'cgroup2' && existsSync(join(dir, k, 'cpu.stat'))) {
        return { file: join(dir, k, 'cpu.stat'), toSeconds: (t) => Number(/^usage_usec (\d+)/m.exec(t)?.[1]) / 1e6 };
      }
    }
  }
  return undefined;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowS = () => Number(process.hrtime.bigint()) / 1e9;

async function cpuRun(pct) {
  const t0 = process.hrtime.bigint();
  const child = spawn(
    bin,
    [
      'run',
      '--rm',
      '--stats=json',
      '-v',
      `${probes}:/probes:ro`,
      '--cpu',
      String(pct),
      rootfs,
      '/probes/spin',
      String(CPU_SECONDS + 1),
      '2',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise((res) => child.on('close', (code) => res(code)));
  let src;
  for (let i = 0; i < 200 && !src; i++) {
    src = cgroupUsageFile();
    if (!src) await sleep(10);
  }
  let steady = NaN;
  if (src) {
    await sleep(500);
    const u0 = src.toSeconds(readFileSync(src.file, 'utf8'));
    const h0 = nowS();
    await sleep(CPU_SECONDS * 1000);
    const u1 = src.toSeconds(readFileSync(src.file, 'utf8'));
    steady = (u1 - u0) / (nowS() - h0);
  }
  const code = await done;
  const line = stderr
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  const stats = line ? JSON.parse(line) : undefined;
  return { code, stdout, stats, steady, wallMs: Number(process.hrtime.bigint() - t0) / 1e6 };
}

for (let i = 0; i < REPEAT; i++) {
  for (const pct of [25, 50, 75, 100]) {
    const load1 = loadavg()[0];
    const r = await cpuRun(pct);
    const wallS = Number(/^spun ([\d.]+) s/m.exec(r.stdout)?.[1]);
    const usageS = (r.stats?.cpuUsageUs ?? NaN) / 1e6;
    results.cpu.push({
      percent: pct,
      run: i + 1,
      exitCode: r.code,
      wallS,
      usageS,
      achieved: usageS / wallS,
      steady: r.steady,
      nrPeriods: r.stats?.nrPeriods,
      nrThrottled: r.stats?.nrThrottled,
      throttledMs: (r.stats?.throttledUs ?? NaN) / 1000,
      loadavg1Before: load1,
    });
  }
}

// ---- clean up: the state root and the (kept-by-design) cgroup parents ----
rmSync(stateRoot, { recursive: true, force: true });
const leftovers = [];
for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
  const f = line.split(' ');
  const fs = f[f.indexOf('-') + 1];
  if (fs !== 'cgroup' && fs !== 'cgroup2') continue;
  const dir = join(f[4], cgroupParent);
  if (!existsSync(dir)) continue;
  const kids = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name));
  leftovers.push(...kids);
  try {
    rmdirSync(dir);
  } catch {
    /* not empty: reported below */
  }
}

// ---- environment, table, JSON ----
const read = (p) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
const mode = read('/proc/self/mountinfo')
  .split('\n')
  .some((l) => / - cgroup cgroup .*\bmemory\b/.test(l))
  ? 'v1 (hybrid)'
  : 'v2';
const environment = {
  date: new Date().toISOString(),
  command: `node bench/limits.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  kernel: release(),
  cgroup: mode,
  cpu: `${cpus()[0]?.model ?? '?'} x${cpus().length}`,
  loadavg: loadavg()
    .map((x) => x.toFixed(2))
    .join(' '),
  node: process.version,
  repeat: REPEAT,
  cpuSeconds: CPU_SECONDS,
};

const out = [];
const mib = (b) => (b === undefined ? '?' : (b / MiB).toFixed(1));
out.push(
  `minidock limit accuracy — ${environment.date}, kernel ${environment.kernel}, cgroup ${mode}, ${environment.cpu}, ${REPEAT} runs per case`,
);
out.push('');
out.push('memory, the init allocates (native/probes/alloc, 1 MiB steps)');
out.push('  limit   exit  kill point (MiB)  peak (MiB)  peak/limit  oom_kill  minidock said');
for (const n of [50, 100, 256]) {
  const rs = results.memory.filter((r) => r.limitMiB === n);
  out.push(
    `  ${`${n}M`.padEnd(6)}  ${same(rs.map((r) => r.exitCode)).padEnd(4)}  ${range(
      rs.map((r) => r.killPointMiB),
      String,
    ).padEnd(16)}  ${range(
      rs.map((r) => r.peakBytes),
      mib,
    ).padEnd(10)}  ${range(
      rs.map((r) => r.peakBytes / (n * MiB)),
      (x) => x.toFixed(4),
    ).padEnd(
      10,
    )}  ${same(rs.map((r) => r.oomKills)).padEnd(8)}  ${same(rs.map((r) => r.said.replace(/minidock: /, '')))}`,
  );
}
out.push('');
out.push('memory, a side process dies (docs/peers.md workload: sh -c "head -c 2xLIMIT /dev/zero | tail")');
out.push('  limit   exit  pipeline rc  peak (MiB)  oom_kill  oomKilled  minidock said');
for (const n of [50, 100, 256]) {
  const rs = results.memorySide.filter((r) => r.limitMiB === n);
  out.push(
    `  ${`${n}M`.padEnd(6)}  ${same(rs.map((r) => r.exitCode)).padEnd(4)}  ${same(rs.map((r) => r.pipelineRc)).padEnd(11)}  ${range(
      rs.map((r) => r.peakBytes),
      mib,
    ).padEnd(
      10,
    )}  ${same(rs.map((r) => r.oomKills)).padEnd(8)}  ${same(rs.map((r) => r.oomKilled)).padEnd(9)}  ${same(rs.map((r) => r.said.replace(/minidock: /, '').replace(/host pid \d+/, 'host pid N')))}`,
  );
}
out.push('');
out.push('pids (sh + background sleeps until fork fails)');
out.push('  limit  tasks reached  pids peak  limit hits  fork error');
for (const n of [10, 50, 100]) {
  const rs = results.pids.filter((r) => r.limit === n);
  out.push(
    `  ${String(n).padEnd(5)}  ${range(
      rs.map((r) => r.tasksReached),
      String,
    ).padEnd(13)}  ${range(
      rs.map((r) => r.pidsPeak),
      String,
    ).padEnd(9)}  ${range(
      rs.map((r) => r.pidsLimitHits),
      String,
    ).padEnd(10)}  ${same(rs.map((r) => r.forkError))}`,
  );
}
out.push('');
out.push(`cpu (--cpu P, 2 busy processes, ${CPU_SECONDS + 1} s; achieved = cgroup usage / wall time)`);
out.push(
  `  limit  target  steady ${CPU_SECONDS} s: median (min-max)  error   whole run: median (min-max)  throttled periods  throttled ms  load1 before`,
);
for (const pct of [25, 50, 75, 100]) {
  const rs = results.cpu.filter((r) => r.percent === pct);
  const med = median(rs.map((r) => r.steady));
  const whole = median(rs.map((r) => r.achieved));
  const err = ((med / (pct / 100) - 1) * 100).toFixed(1);
  out.push(
    `  ${`${pct}%`.padEnd(5)}  ${(pct / 100).toFixed(2).padEnd(6)}  ${`${med.toFixed(3)} (${range(
      rs.map((r) => r.steady),
      (x) => x.toFixed(3),
    )})`.padEnd(28)}  ${`${err}%`.padEnd(6)}  ${`${whole.toFixed(3)} (${range(
      rs.map((r) => r.achieved),
      (x) => x.toFixed(3),
    )})`.padEnd(27)}  ${`${range(
      rs.map((r) => r.nrThrottled),
      String,
    )} of ${range(
      rs.map((r) => r.nrPeriods),
      String,
    )}`.padEnd(17)}  ${range(
      rs.map((r) => r.throttledMs),
      (x) => x.toFixed(0),
    ).padEnd(12)}  ${range(
      rs.map((r) => r.loadavg1Before),
      (x) => x.toFixed(1),
    )}`,
  );
}
out.push('  (the host is shared: other work can keep a container below its quota, never above it; a run whose');
out.push('   throttled periods are far fewer than its periods did not use up its quota: the host was busy)');
out.push('');
out.push(leftovers.length ? `LEFTOVER cgroups: ${leftovers.join(', ')}` : 'cgroups left behind: none');
console.log(out.join('\n'));

mkdirSync(dirname(JSON_OUT), { recursive: true });
writeFileSync(JSON_OUT, JSON.stringify({ environment, results, leftovers }, null, 2) + '\n');
console.log(`\nwrote ${JSON_OUT}`);
process.exitCode = leftovers.length ? 1 : 0;
