// `minidock cgroup PID`'s view, on a hybrid host made of text (/proc/self/mountinfo, /proc/PID/cgroup)
// and real files in a temp directory, read by the drivers' own reader (sys/read.ts readOpt).
// The values are what the kernel prints: v1 says "no limit" as PAGE_COUNTER_MAX pages.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupView, renderView } from '../../src/runtime/cgroups/view';

const top = mkdtempSync(join(tmpdir(), 'minidock-view-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

const mountinfo = [
  `35 24 0:30 / ${top}/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate`,
  `36 24 0:31 / ${top}/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory`,
  `37 24 0:32 / ${top}/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct`,
  `38 24 0:33 / ${top}/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids`,
].join('\n');
const ctr = '/minidock/minidock-0123456789ab';
const procCgroup = `12:pids:${ctr}\n5:cpu,cpuacct:${ctr}\n4:memory:${ctr}\n0::/\n`;
const files: Record<string, Record<string, string>> = {
  memory: {
    'memory.limit_in_bytes': '52428800\n',
    'memory.memsw.limit_in_bytes': '9223372036854771712\n',
    'memory.usage_in_bytes': '1048576\n',
  },
  'cpu,cpuacct': { 'cpu.cfs_period_us': '100000\n', 'cpu.cfs_quota_us': '50000\n', 'cpuacct.usage': '1500000000\n' },
  pids: { 'pids.max': 'max\n', 'pids.current': '1\n' },
};
for (const [mount, f] of Object.entries(files)) {
  const dir = join(top, mount, ctr);
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(f)) writeFileSync(join(dir, name), value);
}

describe('cgroupView on a cgroup v1 (hybrid) host', () => {
  const v = cgroupView(4242, { procCgroup, root: { mountinfo, selfCgroup: procCgroup } });
  const file = (name: string) => v.hierarchies.flatMap((h) => h.files).find((f) => f.file === name);

  it("reads each hierarchy's files from the container's directory under its mount", () => {
    expect(v.mode).toBe('v1');
    expect(v.hierarchies.map((h) => h.controllers.join(','))).toEqual(['memory', 'cpu,cpuacct', 'pids', '']);
    expect(v.hierarchies[0]!.dir).toBe(join(top, 'memory', ctr));
    expect(file('memory.limit_in_bytes')).toMatchObject({ value: '52428800', meaning: '50.0 MiB' });
  });

  it('says "no limit" for PAGE_COUNTER_MAX and max, and turns quota/period into CPUs', () => {
    expect(file('memory.memsw.limit_in_bytes')?.meaning).toBe('no limit');
    expect(file('pids.max')?.meaning).toBe('no limit');
    expect(file('cpu.cfs_quota_us')?.meaning).toBe('0.50 CPU');
    expect(file('cpuacct.usage')?.meaning).toBe('1.500 s');
  });

  it('leaves out files this kernel does not have, and shows the v2 root in one line', () => {
    expect(file('memory.soft_limit_in_bytes')).toBeUndefined();
    const text = renderView(v);
    expect(text).toContain(`memory.limit_in_bytes        52428800  (50.0 MiB)`);
    expect(text).toContain('(the root cgroup: no limits)');
  });
});
