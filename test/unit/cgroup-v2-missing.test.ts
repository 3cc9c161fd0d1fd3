// cgroup v2 without the controllers minidock needs (v2.ts enableControllers, notOffered), on fake
// cgroup2 trees (cgroup-fake-tree.ts, no root): each case gives one line that says what is missing and
// the command that fixes it, and leaves no directory behind. The kernel's own refusals are checked
// on a real v2 kernel by test/integration/cgroup-v2-missing.test.ts (npm run test:v2).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors.js';
import { createCgroup, type CgroupOptions } from '../../src/runtime/cgroups/index.js';
import { writeFileStrict } from '../../src/runtime/cgroups/util.js';
import { allDirs, fakeV2, type FakeTree } from './cgroup-fake-tree.js';
import { minidockError } from '../helpers.js';

const trees: FakeTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});
const tree = (t: FakeTree): FakeTree => (trees.push(t), t);

const error = minidockError;

/** The fake tree as seen from inside a container: its cgroup2 mount is the subtree /docker/abc of
 * the host's, a cgroup that has cgroup.type (not the real root) and only `controllers`. */
function containerTree(controllers: string[]): FakeTree {
  const t = tree(fakeV2({ own: '/user.slice/session-1.scope' }));
  writeFileSync(join(t.root, 'cgroup.type'), 'domain\n');
  writeFileSync(join(t.root, 'cgroup.controllers'), controllers.join(' ') + '\n');
  writeFileSync(join(t.root, 'cgroup.procs'), ''); // its processes are in leaves, as a container runtime keeps them
  const r = t.opts.root!;
  return {
    ...t,
    opts: {
      root: {
        ...r,
        mountinfo: r.mountinfo!.replace(' 0:26 / ', ' 0:26 /docker/abc '),
        selfCgroup: '0::/docker/abc/user.slice/session-1.scope\n',
      },
    },
  };
}

describe('v2 without the controllers a limit needs', () => {
  it('the real root lacks memory (bound to v1, or cgroup_disable=memory): boot options, code 125', () => {
    const t = tree(fakeV2({ controllers: ['cpu', 'pids'] }));
    const before = allDirs(t.root);
    const e = error(() => createCgroup('md-a', { memory: 8 << 20 }, t.opts));
    expect(e.code).toBe(125);
    expect(e.message).toBe(
      `cannot apply the memory limit: ${join(t.root, 'cgroup.controllers')} does not list memory (it has "cpu pids"): the kernel gives memory to a cgroup v1 hierarchy or disabled it at boot; boot with cgroup_no_v1=all (or systemd.unified_cgroup_hierarchy=1) and without cgroup_disable=memory`,
    );
    expect(allDirs(t.root)).toEqual(before);
  });

  it("a container's tree whose parent does not delegate memory: the echo into the parent on the host", () => {
    const t = containerTree(['cpu', 'pids']);
    const before = allDirs(t.root);
    const e = error(() => createCgroup('md-b', { memory: 8 << 20 }, t.opts));
    expect(e.code).toBe(125);
    expect(e.message).toBe(
      `cannot apply the memory limit: ${join(t.root, 'cgroup.controllers')} does not list memory (it has "cpu pids"): ${t.root} is not the root of the cgroup tree, and its parent outside it does not delegate memory; on the host, as root: echo +memory > /sys/fs/cgroup/docker/cgroup.subtree_control (for a systemd unit: Delegate=yes), or run minidock on the host`,
    );
    expect(allDirs(t.root)).toEqual(before);
    // a limit it can apply still works there: pids is delegated
    const cg = createCgroup('md-c', { pids: 10 }, t.opts);
    expect(cg.v2Dir).toBe(join(t.root, 'user.slice', 'md-c'));
    cg.destroy();
  });

  it('a subtree_control minidock may not write (EROFS, EACCES): the same echo where the tree is writable, or Delegate=yes', () => {
    for (const code of ['EROFS', 'EACCES']) {
      const t = tree(fakeV2());
      const ro = join(t.root, 'user.slice', 'cgroup.subtree_control');
      const r = t.opts.root!;
      // the fake kernel refuses writes to one ancestor's subtree_control with `code`, in writeFileStrict's words
      const opts: CgroupOptions = {
        root: {
          ...r,
          ops: {
            ...r.ops!,
            write: (file, values, hint) => {
              if (file === ro)
                throw new MinidockError(`cannot write "${values[0]}" to ${file} (${code}): ${hint!(code)}`);
              writeFileStrict(file, values, hint);
            },
          },
        },
      };
      const before = allDirs(t.root);
      const e = error(() => createCgroup('md-d', { memory: 8 << 20 }, opts));
      expect(e.code, code).toBe(125);
      const how = code === 'EROFS' ? ' (its cgroupfs is mounted read-only, as inside a container)' : '';
      expect(e.message, code).toBe(
        `cannot write "+memory" to ${ro} (${code}): ${join(t.root, 'user.slice')} is not delegated to minidock${how}; where the tree is writable (on the host, as root): echo +memory > ${ro}, or for a systemd unit, Delegate=yes in its [Service] section`,
      );
      expect(allDirs(t.root), code).toEqual(before);
    }
  });

  it('a parent with processes: EBUSY explained, --cgroup-parent as the way out, nothing created', () => {
    const t = tree(fakeV2({ own: '/user.slice/session-1.scope' }));
    // a process in user.slice itself, where the container's cgroup would go (a leaf sibling of ours)
    writeFileSync(join(t.root, 'user.slice', 'cgroup.procs'), '4321\n');
    const before = allDirs(t.root);
    const e = error(() => createCgroup('md-e', { memory: 8 << 20 }, t.opts));
    expect(e.code).toBe(125);
    expect(e.message).toBe(
      `cannot enable the memory, cpu, pids controllers in ${join(t.root, 'user.slice', 'cgroup.subtree_control')} (EBUSY): ${join(t.root, 'user.slice')} holds processes, and cgroup v2 allows controllers for child cgroups only in cgroups without processes ("no internal processes"); pass a --cgroup-parent that holds none, e.g. /minidock`,
    );
    expect(allDirs(t.root)).toEqual(before);
    // the way out the line gives works
    const cg = createCgroup('md-e', { memory: 8 << 20 }, { ...t.opts, parent: '/minidock' });
    expect(cg.v2Dir).toBe(join(t.root, 'minidock', 'md-e'));
    cg.destroy();
  });
});
