// The v1 driver against the REAL kernel: needs root on a cgroup v1 (or hybrid) host, like this
// project's machines. Elsewhere the suite is skipped, and its title says why.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCgroup, detectCgroups, listCgroups, type Cgroup } from '../../src/runtime/cgroups/index.js';
import { parseLimits } from '../../src/runtime/limits.js';

const isRoot = process.getuid?.() === 0;
let mode: string;
try {
  mode = detectCgroups().mode;
} catch (e) {
  mode = `none (${(e as Error).message})`;
}
const skipReason = !isRoot ? 'not root' : mode !== 'v1' ? `this host runs cgroup ${mode}, not v1` : '';
const title = `cgroup v1 driver on the real kernel${skipReason ? ` — SKIPPED: ${skipReason}` : ''}`;

const prefix = `md-it-${process.pid}-`;
let seq = 0;
const open: Cgroup[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const cg of open.splice(0)) {
    try {
      cg.destroy();
    } catch {
      /* reported by the test itself */
    }
  }
});

function exited(c: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((res) => {
    if (c.exitCode !== null || c.signalCode !== null) res({ code: c.exitCode, signal: c.signalCode });
    else c.once('exit', (code, signal) => res({ code, signal }));
  });
}

/** every cgroup directory under the parents the driver uses (memory, cpu, cpuacct, pids, cpuset) */
function snapshot(): string[] {
  const det = detectCgroups();
  const out: string[] = [];
  for (const h of det.mounts.v1) {
    if (!h.controllers.some((c) => ['memory', 'cpu', 'cpuacct', 'pids', 'cpuset'].includes(c))) continue;
    const parent = join(h.mountPoint, h.ownPath ?? '/');
    for (const e of readdirSync(parent, { withFileTypes: true })) if (e.isDirectory()) out.push(join(parent, e.name));
  }
  return out.sort();
}

describe.skipIf(skipReason !== '')(title, () => {
  it('writes the limits into the real files, joins a process, and destroy() leaves nothing behind', async () => {
    const before = snapshot();
    const name = `${prefix}${++seq}`;
    const cg = createCgroup(name, parseLimits({ memory: '50M', cpus: '0.5', pids: '10' }));
    open.push(cg);
    expect(cg.mode).toBe('v1');

    const dirFor = (file: string) => cg.paths.find((p) => existsSync(join(p, file)))!;
    const rd = (file: string) => readFileSync(join(dirFor(file), file), 'utf8').trim();
    expect(rd('memory.limit_in_bytes')).toBe('52428800');
    expect(rd('cpu.cfs_period_us')).toBe('100000');
    expect(rd('cpu.cfs_quota_us')).toBe('50000');
    expect(rd('pids.max')).toBe('10');
    expect(cg.paths.every((p) => p.endsWith(`/${name}`))).toBe(true);
    // memory, cpu, cpuacct and pids are separate hierarchies here; cpuset only with --cpuset-cpus
    expect(cg.paths.length).toBeGreaterThanOrEqual(3);
    expect(listCgroups(prefix)).toEqual([name]);

    const sleeper = spawn('sleep', ['5'], { stdio: 'ignore' });
    children.push(sleeper);
    cg.join(sleeper.pid!);
    const procCgroup = readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8');
    for (const c of ['memory', 'cpu', 'cpuacct', 'pids']) {
      const line = procCgroup.split('\n').find((l) => l.split(':')[1]!.split(',').includes(c));
      expect(line, `${c} line of /proc/${sleeper.pid}/cgroup`).toMatch(new RegExp(`/${name}$`));
    }
    expect(cg.stats().pidsCurrent).toBe(1);

    const t0 = Date.now();
    cg.destroy();
    const elapsed = Date.now() - t0;
    expect(await exited(sleeper)).toEqual({ code: null, signal: 'SIGKILL' });
    for (const p of cg.paths) expect(existsSync(p), p).toBe(false);
    expect(snapshot()).toEqual(before);
    expect(listCgroups(prefix)).toEqual([]);
    expect(elapsed).toBeLessThan(1500);
    cg.destroy(); // idempotent
  });

  it('OOM-kills a process that allocates anonymous memory over the limit, and stats() shows it', async () => {
    const before = snapshot();
    const cg = createCgroup(`${prefix}${++seq}`, parseLimits({ memory: '50M' }));
    open.push(cg);
    // sh waits on stdin until it has joined; then `tail` buffers an endless line of zeros (anonymous
    // memory, not page cache) until the OOM killer stops it: the pipeline exits 128+9.
    const sh = spawn('sh', ['-c', 'read go; head -c 200m /dev/zero | tail; exit $?'], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(sh);
    cg.join(sh.pid!);
    sh.stdin!.end('go\n');
    expect((await exited(sh)).code).toBe(137);
    const s = cg.stats();
    expect(s.oomKills).toBeGreaterThanOrEqual(1);
    expect(s.oomEvents).toBeGreaterThanOrEqual(1);
    expect(s.memoryLimitBytes).toBe(52_428_800);
    expect(Math.abs(s.memoryPeakBytes! - 52_428_800) / 52_428_800).toBeLessThan(0.02);
    cg.destroy();
    expect(snapshot()).toEqual(before);
  });

  it('stops forks at the pids limit and counts the refusals', async () => {
    const cg = createCgroup(`${prefix}${++seq}`, parseLimits({ pids: '5' }));
    open.push(cg);
    // sh + 4 sleeps = 5 tasks; the 5th fork fails with EAGAIN (dash then gives up: "Cannot fork"),
    // leaving 4 orphaned sleeps in the cgroup for destroy() to kill
    const sh = spawn('sh', ['-c', 'read go; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done 2>/dev/null; wait'],
      { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(sh);
    cg.join(sh.pid!);
    sh.stdin!.end('go\n');
    await exited(sh);
    const s = cg.stats();
    expect(s.pidsLimit).toBe(5);
    expect(s.pidsLimitHits).toBeGreaterThanOrEqual(1);
    if (s.pidsPeak !== undefined) expect(s.pidsPeak).toBe(5);
    cg.destroy();
  });

  it('puts a --cpuset-cpus cgroup on the requested CPU, with cpuset.mems copied from the parent', () => {
    const cg = createCgroup(`${prefix}${++seq}`, parseLimits({ cpusetCpus: '0' }));
    open.push(cg);
    const dir = cg.paths.find((p) => existsSync(join(p, 'cpuset.cpus')))!;
    expect(readFileSync(join(dir, 'cpuset.cpus'), 'utf8').trim()).toBe('0');
    expect(readFileSync(join(dir, 'cpuset.mems'), 'utf8').trim())
      .toBe(readFileSync(join(dirname(dir), 'cpuset.mems'), 'utf8').trim());
    cg.join(spawnSleep()); // joining works only because cpus and mems are set
    cg.destroy();
  });
});

function spawnSleep(): number {
  const c = spawn('sleep', ['5'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}
