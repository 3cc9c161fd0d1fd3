// An OCI bundle with a user namespace (linux.uidMappings/gidMappings, config.ts mapIdMappings) and
// the plan create builds for it (oci/launch.ts reachRootfsFirst): the rootfs is bound and entered
// while the child is still host root, then it becomes the mapped root, and every later path in the
// rootfs is relative to the directory it stands in — the bundle directory above it may be one the
// mapped root cannot search (runtime-tools makes it 0700).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minidockError } from '../helpers';
import { mapConfig, type MapOptions } from '../../src/oci/config';
import { planFor } from '../../src/oci/launch';
import { Op } from '../../src/runtime/plan';
import { compileProfile } from '../../src/runtime/seccomp/compile';
import { CLONE } from '../../src/sys/constants';

const opts: MapOptions = {
  id: 'u'.repeat(64),
  name: 'userns1',
  hostHostname: () => 'hosty',
  apparmorEnabled: () => false,
  compileSeccomp: (p, caps) => compileProfile(p, { caps }),
};
// `runc spec` output, committed (runc 1.1.5)
const RUNC_SPEC = readFileSync(join(__dirname, 'oci-runc-spec.json'), 'utf8');
let bundle: string;

/** runc's default config.json with a user namespace mapping 0..1999 inside onto 1000..2999 outside */
function withUserns(edit: (c: Record<string, any>) => void = () => {}): Record<string, any> {
  const c = JSON.parse(RUNC_SPEC);
  c.process.terminal = false; // (runc spec's terminal: true needs --console-socket)
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 2000 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 3000 }];
  edit(c);
  return c;
}

beforeAll(() => {
  bundle = mkdtempSync(join(tmpdir(), 'minidock-oci-userns-'));
  mkdirSync(join(bundle, 'rootfs/etc'), { recursive: true });
});
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

describe("linux.uidMappings/gidMappings -> the spec's user namespace", () => {
  it('a user namespace with both maps: written by create as root (no newuidmap), setgroups allowed', () => {
    const m = mapConfig(withUserns(), bundle, opts);
    expect(m.spec.userns).toEqual({
      uidMap: [{ container: 0, host: 1000, size: 2000 }],
      gidMap: [{ container: 0, host: 1000, size: 3000 }],
      setgroups: 'allow',
      writer: 'write',
    });
  });

  it('no user namespace in linux.namespaces: none, as before', () => {
    expect(mapConfig(JSON.parse(RUNC_SPEC), bundle, opts).spec.userns).toBeUndefined();
  });

  it.each([
    [
      'mappings without a user namespace',
      (c: any) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'user')),
      /need a user namespace — add \{"type": "user"\}/,
    ],
    [
      'a user namespace without gidMappings',
      (c: any) => delete c.linux.gidMappings,
      /a user namespace needs both linux\.uidMappings and linux\.gidMappings/,
    ],
    [
      'a mapping without its size',
      (c: any) => delete c.linux.uidMappings[0].size,
      /linux\.uidMappings\[0\] needs containerID, hostID and size/,
    ],
    ['a size of 0', (c: any) => (c.linux.gidMappings[0].size = 0), /linux\.gidMappings\[0\]\.size/],
    [
      'overlapping ranges',
      (c: any) => c.linux.uidMappings.push({ containerID: 100, hostID: 50000, size: 10 }),
      /linux\.uidMappings: .* overlap on the container side/,
    ],
  ])('refused: %s (one line)', (_, edit, re) => {
    const e = minidockError(() => mapConfig(withUserns(edit), bundle, opts));
    expect(e.message).toMatch(re);
  });
});

describe('the plan create builds for it', () => {
  async function stepsOf(c: Record<string, any>) {
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
    return (await planFor({ root: join(bundle, 'state'), id: 'userns1', bundle })).plan;
  }

  it('CLONE_NEWUSER, SYNC for the maps, then as host root the rootfs bind and a chdir into it, then the mapped root', async () => {
    const plan = await stepsOf(withUserns());
    const rootfs = join(bundle, 'rootfs');
    expect(plan.cloneFlags & CLONE.CLONE_NEWUSER).toBe(CLONE.CLONE_NEWUSER);
    expect(plan.sync).toBe(true);
    const s = plan.steps;
    const at = (pred: (i: number) => boolean): number => s.findIndex((_, i) => pred(i));
    const sync = at((i) => s[i]!.op === Op.SYNC);
    const bind = at((i) => s[i]!.op === Op.MOUNT && s[i]!.strs?.[1] === rootfs);
    const chdir = at((i) => s[i]!.op === Op.CHDIR);
    const setuid = at((i) => s[i]!.op === Op.SETUID);
    expect([sync, bind, chdir, setuid].every((i) => i >= 0)).toBe(true);
    expect(sync).toBeLessThan(bind);
    expect(chdir).toBe(bind + 1);
    expect(s[chdir]!.strs).toEqual([rootfs]);
    // the mapped root's group and id come right after the chdir, before any other mount
    expect(s.slice(chdir + 1, chdir + 4).map((x) => x.op)).toEqual([Op.SETGID, Op.SETGROUPS, Op.SETUID]);
    expect(s.slice(0, bind).some((x) => x.phase === 'identity')).toBe(false);
  });

  it('after the chdir no step names a path through the bundle: the rootfs is "." (pivot_root too)', async () => {
    const s = (await stepsOf(withUserns())).steps;
    const chdir = s.findIndex((x) => x.op === Op.CHDIR);
    const strs = s.slice(chdir + 1).flatMap((x) => (x.strs ?? []).filter((p): p is string => typeof p === 'string'));
    expect(strs.filter((p) => p.startsWith(bundle))).toEqual([]);
    expect(strs).toContain('./proc'); // runc's standard /proc mount, now relative
    const pivotChdir = s.find((x) => x.op === Op.CHDIR && x.phase === 'pivot_root');
    expect(pivotChdir?.strs).toEqual(['.']);
  });

  it('without a user namespace the plan keeps its absolute paths and makes no such chdir', async () => {
    const c = JSON.parse(RUNC_SPEC);
    c.process.terminal = false;
    const s = (await stepsOf(c)).steps;
    expect(s.some((x) => x.op === Op.CHDIR && x.phase === 'rootfs')).toBe(false);
    expect(s.some((x) => x.op === Op.MOUNT && x.strs?.[1] === join(bundle, 'rootfs/proc'))).toBe(true);
  });
});
