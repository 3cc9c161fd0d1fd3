// linux.namespaces that leave a namespace out: the container shares the runtime's (config-linux.md).
// config.ts mapNamespaces lists them (the cgroup namespace only along with the mount namespace),
// and oci/launch.ts sharedNamespaces drops their clone flags and the steps that would act on the
// host's namespace; with no mount namespace, every mount and pivot_root (runtime-tools
// linux_ns_itype: no namespace at all). Without root: the mapping and the plan.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minidockError } from '../helpers';
import { mapConfig, type MapOptions } from '../../src/oci/config';
import { ociPlan } from '../../src/oci/launch';
import { Op } from '../../src/runtime/plan';
import { CLONE } from '../../src/sys/constants';

const opts: MapOptions = {
  id: 's'.repeat(64),
  name: 'shared1',
  hostHostname: () => 'hosty',
  apparmorEnabled: () => false,
};
// `runc spec` output, committed (runc 1.1.5): pid, network, ipc, uts, mount; no cgroup namespace
const RUNC_SPEC = readFileSync(join(__dirname, 'oci-runc-spec.json'), 'utf8');
const NEW_NS = CLONE.CLONE_NEWPID | CLONE.CLONE_NEWNS | CLONE.CLONE_NEWUTS | CLONE.CLONE_NEWIPC | CLONE.CLONE_NEWNET;
let bundle: string;
beforeAll(() => {
  bundle = mkdtempSync(join(tmpdir(), 'minidock-oci-shared-'));
  mkdirSync(join(bundle, 'rootfs'));
});
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

/** runc's default config.json keeping only these namespaces (and no hostname: a shared UTS namespace refuses one) */
function keeping(types: string[], edit: (c: Record<string, any>) => void = () => {}): Record<string, any> {
  const c = JSON.parse(RUNC_SPEC);
  c.process.terminal = false;
  c.linux.namespaces = c.linux.namespaces.filter((n: any) => types.includes(n.type));
  if (!types.includes('uts')) delete c.hostname;
  edit(c);
  return c;
}
const V1 = { mode: 'v1' as const, paths: ['/sys/fs/cgroup/pids/s'], fsMounts: [], writes: [] };
const map = (c: Record<string, any>) => mapConfig(c, bundle, opts);

describe('config.json: the namespaces it leaves out', () => {
  it('none listed: all six shared, with one warning that nothing is mounted', () => {
    const m = map(keeping([]));
    expect(m.extras.sharedNamespaces.sort()).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
    expect(m.warnings).toEqual([
      expect.stringContaining("has no mount namespace: the container runs in the host's mounts and root directory"),
    ]);
  });

  it('no network namespace only: network shared; the cgroup namespace is still made (the container has mounts), with its warning', () => {
    const m = map(keeping(['pid', 'ipc', 'uts', 'mount']));
    expect(m.extras.sharedNamespaces).toEqual(['network']);
    expect(m.warnings).toEqual([
      expect.stringContaining('no cgroup namespace; minidock gives every container its own anyway'),
    ]);
  });

  it.each([
    [
      'a hostname without a UTS namespace',
      (c: any) => (c.hostname = 'box'),
      ['pid', 'mount'],
      /hostname "box" needs a UTS namespace of its own/,
    ],
    [
      'linux.devices without a mount namespace',
      (c: any) => (c.linux.devices = [{ path: '/dev/x', type: 'c', major: 1, minor: 3 }]),
      [],
      /linux\.devices without a mount namespace is not supported/,
    ],
    [
      'a terminal without a mount namespace',
      (c: any) => (c.process.terminal = true),
      [],
      /process\.terminal without a mount namespace is not supported/,
    ],
  ])('refused in one line: %s', (_, edit, types, re) => {
    expect(minidockError(() => map(keeping(types, edit))).message).toMatch(re);
  });
});

describe('the plan create builds', () => {
  it('no namespace at all: no CLONE_NEW* flag, no mount, mount point, pivot_root, hostname, loopback or cgroup unshare; the cgroup join, exec.fifo and exec stay', () => {
    const plan = ociPlan(map(keeping([])), V1, 3);
    expect(plan.cloneFlags & NEW_NS).toBe(0);
    const ops = plan.steps.map((s) => s.op);
    for (const op of [
      Op.MOUNT,
      Op.UMOUNT2,
      Op.MKDIR,
      Op.TOUCH,
      Op.SYMLINK,
      Op.PIVOT_ROOT,
      Op.SETHOSTNAME,
      Op.LOOPBACK_UP,
      Op.UNSHARE,
    ])
      expect(ops).not.toContain(op);
    expect(plan.steps[0]).toMatchObject({ op: Op.WRITE_FILE, phase: 'cgroup' }); // v1: the self-join
    expect(ops).toContain(Op.EXEC_FIFO);
    expect(ops[ops.length - 1]).toBe(Op.EXEC);
    // the only chdir: process.cwd, in the host's root
    expect(plan.steps.filter((s) => s.op === Op.CHDIR).map((s) => s.strs)).toEqual([['/']]);
  });

  it("no network namespace only: no CLONE_NEWNET and no loopback step; the mounts, pivot_root and the others' flags as before", () => {
    const plan = ociPlan(map(keeping(['pid', 'ipc', 'uts', 'mount'])), V1, 3);
    expect(plan.cloneFlags & NEW_NS).toBe(NEW_NS & ~CLONE.CLONE_NEWNET);
    const ops = plan.steps.map((s) => s.op);
    expect(ops).not.toContain(Op.LOOPBACK_UP);
    expect(ops).toContain(Op.PIVOT_ROOT);
    expect(ops).toContain(Op.SETHOSTNAME);
    expect(plan.steps.some((s) => s.op === Op.UNSHARE && s.ints?.[0] === CLONE.CLONE_NEWCGROUP)).toBe(true);
  });

  it('every namespace listed: nothing shared, the plan as before (all five flags, the loopback, the cgroup unshare)', () => {
    const plan = ociPlan(map(keeping(['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'])), V1, 3);
    expect(plan.cloneFlags & NEW_NS).toBe(NEW_NS);
    expect(plan.steps.map((s) => s.op)).toEqual(expect.arrayContaining([Op.LOOPBACK_UP, Op.PIVOT_ROOT, Op.UNSHARE]));
  });
});
