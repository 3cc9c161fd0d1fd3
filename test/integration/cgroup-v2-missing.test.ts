// cgroup v2 without the controllers minidock needs, on a real v2 kernel through the real CLI (run by
// `npm run test:v2` in a booted v2 guest, or natively on a pure v2 host): a controller left disabled
// above minidock's tree, and a parent that holds processes. Each run must exit 125 with one line
// that names what is missing and the fix, and leave no cgroup, directory or process behind.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroups } from '../../src/runtime/cgroups/index.js';
import { BIN, ROOTFS, canRun, hostSnapshot, minidock, removeStateRoot, skipReason, tempStateRoot } from '../helpers';

const det = (() => {
  try {
    return detectCgroups();
  } catch {
    return undefined;
  }
})();
const top = det?.mode === 'v2' ? det.mounts.v2!.mountPoint : undefined;
const offered = top ? readFileSync(join(top, 'cgroup.controllers'), 'utf8').trim().split(/\s+/) : [];
const hasUnshare = spawnSync('unshare', ['--version']).status === 0;
const why = !canRun
  ? skipReason
  : !top
    ? `needs a pure cgroup v2 host (this one: ${det?.mode ?? 'no cgroups'}; npm run test:v2 runs it in a v2 guest)`
    : !offered.includes('memory') || !offered.includes('pids')
      ? `needs memory and pids in ${top}/cgroup.controllers (it has "${offered.join(' ')}")`
      : !hasUnshare
        ? 'needs unshare(1) from util-linux'
        : '';
if (why) console.warn(`SKIPPED test/integration/cgroup-v2-missing.test.ts: ${why}`);

/** The cgroup directories below dir (to prove nothing was left there). */
const below = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(e.parentPath, e.name))
    .sort();

describe.skipIf(!!why)(
  `cgroup v2 without the controllers minidock needs (real kernel)${why ? ` — skipped: ${why}` : ''}`,
  () => {
    let root: string;
    const made: string[] = [];
    beforeAll(() => {
      root = tempStateRoot();
    });
    afterAll(() => {
      for (const d of made.reverse()) if (existsSync(d)) rmdirSync(d);
      removeStateRoot(root);
    });

    it("memory left disabled above minidock's tree (a cgroup namespace whose parent delegates only pids): 125, the echo that fixes it", () => {
      // X hands only pids to its children; minidock runs in X/ns/inner with its own cgroup namespace
      // rooted at X/ns and a cgroup2 mount of it (the inherited mount, which would show the whole tree,
      // detached first): the tree it sees starts at a cgroup without memory, as inside a container
      // whose runtime did not delegate it.
      const x = join(top!, `md-nodeleg-${process.pid}`);
      mkdirSync(x);
      made.push(x);
      writeFileSync(join(x, 'cgroup.subtree_control'), '+pids');
      mkdirSync(join(x, 'ns'));
      made.push(join(x, 'ns'), join(x, 'ns', 'inner'));
      const before = hostSnapshot(root);
      const inner = `umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && mkdir -p /sys/fs/cgroup/inner && echo $$ > /sys/fs/cgroup/inner/cgroup.procs && exec "$0" run --rm -m 50M "$1" true`;
      const { MINIDOCK_CGROUP_PARENT: _, ...env } = { ...process.env, MINIDOCK_ROOT: root };
      const r = spawnSync(
        'sh',
        [
          '-c',
          `echo $$ > ${join(x, 'ns', 'cgroup.procs')} && exec unshare --cgroup --mount --propagation private sh -c '${inner}' ${BIN} ${ROOTFS}`,
        ],
        { encoding: 'utf8', env, timeout: 120_000 },
      );
      expect(r.stderr).toBe(
        'minidock: cannot apply the memory limit: /sys/fs/cgroup/cgroup.controllers does not list memory (it has "pids"): /sys/fs/cgroup is not the root of the cgroup tree, and its parent outside it does not delegate memory; on the host, as root: echo +memory > <its parent>/cgroup.subtree_control (for a systemd unit: Delegate=yes), or run minidock on the host\n',
      );
      expect(r.status).toBe(125);
      // the line's fix works: with memory delegated, the same run succeeds (and is limited)
      writeFileSync(join(x, 'cgroup.subtree_control'), '+memory');
      const ok = spawnSync(
        'sh',
        [
          '-c',
          `echo $$ > ${join(x, 'ns', 'cgroup.procs')} && exec unshare --cgroup --mount --propagation private sh -c '${inner.replace(' true', ' cat /sys/fs/cgroup/memory.max')}' ${BIN} ${ROOTFS}`,
        ],
        { encoding: 'utf8', env, timeout: 120_000 },
      );
      expect({ code: ok.status, stdout: ok.stdout, stderr: ok.stderr }).toEqual({
        code: 0,
        stdout: '52428800\n',
        stderr: '',
      });
      // nothing left: no cgroup below X but the two the test made (the second run's container cgroup is gone), no container
      expect(below(x)).toEqual([join(x, 'ns'), join(x, 'ns', 'inner')]);
      expect(hostSnapshot(root)).toEqual(before);
    });

    it('a --cgroup-parent that holds processes: 125, "no internal processes" explained, nothing created under it', async () => {
      const busy = join(top!, `md-busy-${process.pid}`);
      mkdirSync(busy);
      made.push(busy);
      const sleeper = spawn('sleep', ['3600'], { stdio: 'ignore' });
      const gone = new Promise((res) => sleeper.on('exit', res));
      try {
        writeFileSync(join(busy, 'cgroup.procs'), String(sleeper.pid));
        const before = hostSnapshot(root);
        const r = minidock(['run', '-m', '50M', '--cgroup-parent', `/md-busy-${process.pid}`, ROOTFS, 'true'], {
          root,
        });
        const wanted = ['memory', 'cpu', 'pids'].filter((c) => offered.includes(c)).join(', ');
        expect(r.stderr).toBe(
          `minidock: cannot enable the ${wanted} controllers in ${busy}/cgroup.subtree_control (EBUSY): ${busy} holds processes, and cgroup v2 allows controllers for child cgroups only in cgroups without processes ("no internal processes"); pass a --cgroup-parent that holds none, e.g. /minidock\n`,
        );
        expect(r.code).toBe(125);
        expect(below(busy)).toEqual([]);
        expect(hostSnapshot(root)).toEqual(before);
      } finally {
        sleeper.kill('SIGKILL');
        await gone;
      }
    });
  },
);
