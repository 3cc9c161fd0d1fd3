// minidock stats' numbers (lifecycle/stats.ts sample and row) from a container's cgroup files, as
// cgroup v1 and v2 print them, in temp directories: working set = usage - inactive file cache, as
// Docker shows it; a v1 "no limit" (PAGE_COUNTER_MAX) or a v2 "max" is no limit (the host's memory).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { row, sample } from '../../src/runtime/lifecycle/stats';
import type { Entry } from '../../src/runtime/container-store/records';

const base = mkdtempSync(join(tmpdir(), 'minidock-stats-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const MiB = 1048576;

function cgroup(name: string, files: Record<string, string>): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), v);
  return dir;
}
const entry = (...cgroupPaths: string[]): Entry => ({
  id: 'a'.repeat(64),
  dir: '/nonexistent',
  state: { status: 'running', cgroupPaths },
});

describe('stats sample', () => {
  it('cgroup v1: memory (usage - total_inactive_file), cpuacct.usage in ns, pids; one directory per hierarchy', () => {
    const mem = cgroup('v1/memory', {
      'memory.usage_in_bytes': `${30 * MiB}\n`,
      'memory.limit_in_bytes': `${50 * MiB}\n`,
      'memory.stat': `cache ${8 * MiB}\nrss ${20 * MiB}\ninactive_file ${2 * MiB}\ntotal_cache ${8 * MiB}\ntotal_inactive_file ${6 * MiB}\n`,
    });
    const cpu = cgroup('v1/cpuacct', { 'cpuacct.usage': '1500000000\n' });
    const pids = cgroup('v1/pids', { 'pids.current': '3\n' });
    expect(sample(entry(mem, cpu, pids))).toMatchObject({
      memUsage: 24 * MiB,
      memLimit: 50 * MiB,
      cpuUs: 1_500_000,
      pids: 3,
    });
  });

  it("cgroup v1 without a limit (PAGE_COUNTER_MAX): the host's memory is the limit shown", () => {
    const mem = cgroup('v1-nolimit/memory', {
      'memory.usage_in_bytes': `${10 * MiB}\n`,
      'memory.limit_in_bytes': '9223372036854771712\n',
      'memory.stat': 'total_inactive_file 0\n',
    });
    const s = sample(entry(mem));
    expect(s.memLimit).toBeUndefined();
    expect(row(s, s)).toMatchObject({ memUsage: 10 * MiB, memLimit: totalmem() });
  });

  it('cgroup v2: memory.current - inactive_file, memory.max "max", cpu.stat usage_usec', () => {
    const dir = cgroup('v2', {
      'memory.current': `${12 * MiB}\n`,
      'memory.max': 'max\n',
      'memory.stat': `anon ${8 * MiB}\nfile ${4 * MiB}\nactive_file ${1 * MiB}\ninactive_file ${3 * MiB}\n`,
      'cpu.stat': 'usage_usec 250000\nuser_usec 200000\nsystem_usec 50000\n',
      'pids.current': '1\n',
    });
    const s = sample(entry(dir));
    expect(s).toMatchObject({ memUsage: 9 * MiB, cpuUs: 250_000, pids: 1 });
    expect(s.memLimit).toBeUndefined();
  });

  it('CPU % between two samples: CPU time over wall time (100% = one CPU)', () => {
    const a = { id: 'x', name: 'x', at: 1000, cpuUs: 0 };
    const b = { id: 'x', name: 'x', at: 2000, cpuUs: 500_000, memUsage: MiB, memLimit: 4 * MiB };
    expect(row(a, b)).toMatchObject({ cpuPercent: 50, memPercent: 25 });
  });
});
