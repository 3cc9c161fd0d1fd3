// The cgroup driver against the REAL kernel, as root: the v1 driver on a v1 (or hybrid) host like this
// project's machines, the v2 driver on a pure v2 host (a student's laptop; `npm run test:v2` boots one,
// test/v2/). The file is named for the v1 driver it was first written for: the behaviour checked is
// the same in both modes (limits in the kernel's files, OOM kill, pids refusal, cpuset, nothing left
// behind), only the file names differ. Elsewhere the suite is skipped, and its title says why.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  allCgroupDirs,
  createCgroup,
  detectCgroups,
  listCgroups,
  type Cgroup,
  type CgroupMode,
} from '../../src/runtime/cgroups/index.js';
import { parseLimits } from '../../src/runtime/limits.js';

const isRoot = process.getuid?.() === 0;
let mode: CgroupMode | undefined;
let why = '';
try {
  const det = detectCgroups();
  mode = det.mode;
  // a v2 tree must offer the controllers itself (a container's private cgroup2 often offers none)
  const offered =
    det.mode === 'v2' ? readFileSync(join(det.mounts.v2!.mountPoint, 'cgroup.controllers'), 'utf8').split(/\s+/) : [];
  const missing = det.mode === 'v2' ? ['memory', 'cpu', 'pids', 'cpuset'].filter((c) => !offered.includes(c)) : [];
  if (missing.length) why = `this cgroup2 tree does not offer ${missing.join(', ')}`;
} catch (e) {
  why = `no cgroups (${(e as Error).message})`;
}
const skipReason = !isRoot ? 'not root' : why;
const title = `cgroup ${mode ?? ''} driver on the real kernel${skipReason ? ` — SKIPPED: ${skipReason}` : ''}`;

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

/** every cgroup directory this file created, in any hierarchy: the same before and after each test */
function snapshot(): string[] {
  return allCgroupDirs()
    .filter((d) => d.includes(`/${prefix}`))
    .sort();
}

describe.skipIf(skipReason !== '')(title, () => {
  it('writes the limits into the real files, joins a process, and destroy() leaves nothing behind', async () => {
    const before = snapshot();
    const name = `${prefix}${++seq}`;
    const cg = createCgroup(name, parseLimits({ memory: '50M', cpus: '0.5', pids: '10' }));
    open.push(cg);
    expect(cg.mode).toBe(mode);

    const dirFor = (file: string) => cg.paths.find((p) => existsSync(join(p, file)))!;
    const rd = (file: string) => readFileSync(join(dirFor(file), file), 'utf8').trim();
    if (mode === 'v1') {
      expect(rd('memory.limit_in_bytes')).toBe('52428800');
      expect(rd('cpu.cfs_period_us')).toBe('100000');
      expect(rd('cpu.cfs_quota_us')).toBe('50000');
    } else {
      expect(rd('memory.max')).toBe('52428800');
      expect(rd('cpu.max')).toBe('50000 100000');
    }
    expect(rd('pids.max')).toBe('10');
    expect(cg.paths.every((p) => p.endsWith(`/${name}`))).toBe(true);
    // v1: memory, cpu, cpuacct and pids are separate hierarchies here (cpuset only with --cpuset-cpus);
    // v2: one directory in the unified tree
    if (mode === 'v1') expect(cg.paths.length).toBeGreaterThanOrEqual(3);
    else expect(cg.paths).toHaveLength(1);
    expect(listCgroups(prefix)).toEqual([name]);

    const sleeper = spawn('sleep', ['5'], { stdio: 'ignore' });
    children.push(sleeper);
    cg.join(sleeper.pid!);
    const procCgroup = readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8');
    // v1: one line per hierarchy ("4:memory:/..."); v2: the single "0::/..." line
    for (const c of mode === 'v1' ? ['memory', 'cpu', 'cpuacct', 'pids'] : ['']) {
      const line = procCgroup.split('\n').find((l) => l.split(':')[1]!.split(',').includes(c));
      expect(line, `${c || 'unified'} line of /proc/${sleeper.pid}/cgroup`).toMatch(new RegExp(`/${name}$`));
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
    // memory-swap equal to memory: no swap, since -m alone allows as much again in swap (Docker's
    // rule) and on a host with swap tail would be swapped out instead of killed at 50M
    const cg = createCgroup(`${prefix}${++seq}`, parseLimits({ memory: '50M', memorySwap: '50M' }));
    open.push(cg);
    // sh waits on stdin until it has joined; then `tail` buffers an endless line of zeros (anonymous
    // memory, not page cache) until the OOM killer stops it: the pipeline exits 128+9.
    const sh = spawn('sh', ['-c', 'read go; head -c 200m /dev/zero | tail; exit $?'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
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
    const sh = spawn('sh', ['-c', 'read go; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done 2>/dev/null; wait'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
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

  it(`puts a --cpuset-cpus cgroup on the requested CPU${mode === 'v1' ? ', with cpuset.mems copied from the parent' : ''}`, () => {
    const cg = createCgroup(`${prefix}${++seq}`, parseLimits({ cpusetCpus: '0' }));
    open.push(cg);
    const dir = cg.paths.find((p) => existsSync(join(p, 'cpuset.cpus')))!;
    expect(readFileSync(join(dir, 'cpuset.cpus'), 'utf8').trim()).toBe('0');
    if (mode === 'v1') {
      // a new v1 cpuset starts with no memory nodes: no task could join it
      expect(readFileSync(join(dir, 'cpuset.mems'), 'utf8').trim()).toBe(
        readFileSync(join(dirname(dir), 'cpuset.mems'), 'utf8').trim(),
      );
    } else {
      // v2 inherits the parent's memory nodes; what the kernel applies is in the .effective files
      expect(readFileSync(join(dir, 'cpuset.cpus.effective'), 'utf8').trim()).toBe('0');
    }
    const pid = spawnSleep();
    cg.join(pid); // on v1, joining works only because cpus and mems are set
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Cpus_allowed_list:\s+0$/m);
    cg.destroy();
  });
});

function spawnSleep(): number {
  const c = spawn('sleep', ['5'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}
