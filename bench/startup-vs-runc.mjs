#!/usr/bin/env node
// Launch cost of `minidock run --rm ./rootfs /bin/true` against `runc run` of an equivalent bundle
// (the same busybox rootfs, the same namespaces: pid, mount, uts, ipc, network, cgroup), measured
// interleaved (A B C A B C ...) in one run so that drift hits every runtime alike. Warm-ups are
// discarded; medians and IQRs are reported, and the ratio is computed within this run.
// Then the per-phase breakdown of minidock's launch, from `minidock run --trace=json`.
//
//   sudo node bench/startup-vs-runc.mjs [--reps 30] [--warmup 3] [--json FILE]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg, release } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const REPS = Number(arg('reps', 30));
const WARMUP = Number(arg('warmup', 3));
const rootfs = join(root, 'rootfs');
const bin = join(root, 'bin', 'minidock.js');

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
};
const summary = (xs) => ({
  median: quantile(xs, 0.5),
  iqr: quantile(xs, 0.75) - quantile(xs, 0.25),
  min: Math.min(...xs),
  max: Math.max(...xs),
  n: xs.length,
});

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
}

// --- an OCI bundle for runc, from the same rootfs ---
const bundle = mkdtempSync(join(tmpdir(), 'minidock-bench-bundle-'));
const stateRoot = mkdtempSync(join(tmpdir(), 'minidock-bench-state-'));
const runtimes = [];
runtimes.push({ name: 'bare', cmd: ['/bin/true'] });
runtimes.push({ name: 'minidock', cmd: [bin, 'run', '--rm', '--root', stateRoot, rootfs, '/bin/true'] });
const runc = which('runc');
if (runc) {
  execFileSync(runc, ['spec'], { cwd: bundle });
  const cfg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  cfg.process.terminal = false;
  cfg.process.args = ['/bin/true'];
  cfg.root = { path: rootfs, readonly: true };
  const ns = cfg.linux.namespaces.map((n) => n.type);
  for (const t of ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'])
    if (!ns.includes(t)) cfg.linux.namespaces.push({ type: t });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(cfg, null, 2));
  let n = 0;
  runtimes.push({ name: 'runc', cmd: () => [runc, 'run', '--bundle', bundle, `minidock-bench-${process.pid}-${n++}`] });
} else {
  console.error('runc: not installed — skipped (install: apt-get install runc)');
}

const times = Object.fromEntries(runtimes.map((r) => [r.name, []]));
const load0 = loadavg();
for (let rep = 0; rep < REPS + WARMUP; rep++) {
  for (const r of runtimes) {
    const [cmd, ...args] = typeof r.cmd === 'function' ? r.cmd() : r.cmd;
    const t0 = process.hrtime.bigint();
    const p = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (p.status !== 0) throw new Error(`${r.name} failed (${p.status}): ${p.stderr}`);
    if (rep >= WARMUP) times[r.name].push(ms);
  }
}
const load1 = loadavg();

// --- minidock's phases, from --trace=json ---
const phaseRuns = [];
for (let i = 0; i < Math.max(10, Math.floor(REPS / 2)); i++) {
  const p = spawnSync(bin, ['run', '--rm', '--root', stateRoot, '--trace=json', rootfs, '/bin/true'], {
    encoding: 'utf8',
  });
  phaseRuns.push(JSON.parse(p.stderr));
}
const phaseNames = [...new Set(phaseRuns.flatMap((t) => Object.keys(t.phases)))];
const phases = Object.fromEntries(phaseNames.map((n) => [n, summary(phaseRuns.map((t) => t.phases[n] ?? 0))]));
const totals = summary(phaseRuns.map((t) => t.marks[t.marks.length - 1].at));

rmSync(bundle, { recursive: true, force: true });
rmSync(stateRoot, { recursive: true, force: true });

const stats = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summary(v)]));
const env = {
  date: new Date().toISOString(),
  kernel: release(),
  cpu: cpus()[0]?.model,
  cpus: cpus().length,
  node: process.version,
  runc: runc ? execFileSync(runc, ['--version'], { encoding: 'utf8' }).split('\n')[0] : null,
  loadavg_before: load0,
  loadavg_after: load1,
  reps: REPS,
  warmup: WARMUP,
};
const f = (x) => x.toFixed(1);
console.log(`\n## minidock vs runc: launch of /bin/true (${REPS} interleaved reps after ${WARMUP} warm-ups)\n`);
console.log(
  `${env.date} · kernel ${env.kernel} · ${env.cpus}× ${env.cpu} · node ${env.node} · ${env.runc ?? 'no runc'} · load ${load0.map(f).join('/')} → ${load1.map(f).join('/')}\n`,
);
console.log('| runtime | median ms | IQR ms | min | max | × runc |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [k, s] of Object.entries(stats)) {
  const ratio = stats.runc ? (s.median / stats.runc.median).toFixed(2) : '—';
  console.log(`| ${k} | ${f(s.median)} | ${f(s.iqr)} | ${f(s.min)} | ${f(s.max)} | ${ratio} |`);
}
console.log(`\n### minidock's launch by phase (median of ${phaseRuns.length} runs with --trace=json; ms)\n`);
console.log('| phase | median | IQR |');
console.log('|---|---:|---:|');
for (const [k, s] of Object.entries(phases)) console.log(`| ${k} | ${s.median.toFixed(2)} | ${s.iqr.toFixed(2)} |`);
console.log(`| **total, process start → cleanup done** | ${totals.median.toFixed(2)} | ${totals.iqr.toFixed(2)} |`);
const out = arg('json');
if (out) {
  mkdirSync(dirname(resolve(out)), { recursive: true });
  writeFileSync(out, JSON.stringify({ env, stats, raw: times, phases, totals }, null, 2));
}
