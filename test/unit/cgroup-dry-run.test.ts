// --dry-run's cgroup: the drivers' own code with CgroupOptions.dryRun decides every directory, file
// and value, and creates and writes nothing. Checked against a real create on the same fake tree
// (cgroup-fake-tree.ts): the writes must be the same, in the same order.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors.js';
import { createCgroup } from '../../src/runtime/cgroups/index.js';
import type { Limits } from '../../src/runtime/limits.js';
import { fakeV1, fakeV2, type FakeTree } from './cgroup-fake-tree.js';

const trees: FakeTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});

/** every file and directory below root with its content: to prove a dry run changed nothing */
function snapshot(root: string): string[] {
  return readdirSync(root, { withFileTypes: true, recursive: true })
    .map(
      (e) => join(e.parentPath, e.name) + (e.isFile() ? ' = ' + readFileSync(join(e.parentPath, e.name), 'utf8') : '/'),
    )
    .sort();
}

const LIMITS: Limits = {
  memory: 52_428_800,
  memorySwap: 104_857_600,
  cpuQuotaUs: 50_000,
  cpuPeriodUs: 100_000,
  cpusetCpus: '0',
  pids: 10,
};

describe('createCgroup with dryRun', () => {
  const cases: Array<[string, () => FakeTree, string | undefined]> = [
    ['v1, own cgroups', () => fakeV1(), undefined],
    // a --cgroup-parent that does not exist yet: the dry run plans its directories and copies cpuset
    // values from the nearest existing ancestor, as the launch copies them down one level at a time
    // (under the caller's memory cgroup: the fake's hierarchy roots lack the memory files a real root has)
    ['v1, new --cgroup-parent', () => fakeV1(), '/process_api/abc/new/deeper'],
    ['v2, leaf sibling', () => fakeV2(), undefined],
    ['v2, new --cgroup-parent', () => fakeV2({ own: '/' }), '/md/new'],
  ];
  for (const [name, make, parent] of cases) {
    it(`${name}: the same writes as a real create, and nothing created`, () => {
      const t = make();
      trees.push(t);
      const opts = { ...t.opts, parent };
      const before = snapshot(t.root);
      const dry = createCgroup('md-dry', LIMITS, { ...opts, dryRun: true });
      expect(snapshot(t.root)).toEqual(before);
      expect(dry.writes.length).toBeGreaterThan(3);
      const real = createCgroup('md-dry', LIMITS, opts);
      expect(dry.writes).toEqual(real.writes);
      expect(dry.paths).toEqual(real.paths);
      expect(dry.fsMounts).toEqual(real.fsMounts);
      expect(dry.writes.some((w) => /memory\.(limit_in_bytes|max)$/.test(w.file) && w.value === '52428800')).toBe(true);
      // and it refuses what the launch would refuse: the cgroup exists now
      expect(() => createCgroup('md-dry', LIMITS, { ...opts, dryRun: true })).toThrow(MinidockError);
      expect(() => createCgroup('md-dry', LIMITS, { ...opts, dryRun: true })).toThrow(/EEXIST/);
      real.destroy();
    });
  }
});
