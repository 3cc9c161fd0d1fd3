// User namespaces (issue 18): the flags' parsing and checks, and what they change in the plan.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planLaunch, cloneFlags } from '../../src/runtime/build-plan';
import { Op } from '../../src/runtime/plan';
import type { ContainerSpec } from '../../src/runtime/spec';
import { CLONE } from '../../src/sys/constants';
import { testSpec } from './spec-fixture';
import { checkRanges, hostId, idMapWrites, type UserNamespace } from '../../src/runtime/id-maps';
import {
  idmapLowerLayers,
  imageRefusal,
  kernelIdmapsOverlayLayers,
  kernelMountsOverlayInUserns,
  layerStoreOf,
  parseIdRange,
  subordinateRange,
  usernsFromFlags,
} from '../../src/runtime/userns';

const ids = { uid: 0, gid: 0, groups: [0] };
const msg = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('--uidmap/--gidmap parsing', () => {
  it('CONTAINER:HOST:SIZE, three numbers', () => {
    expect(parseIdRange('--uidmap', '0:100000:65536')).toEqual({ container: 0, host: 100000, size: 65536 });
    expect(msg(() => parseIdRange('--uidmap', '0:100000'))).toMatch(/use CONTAINER:HOST:SIZE/);
    expect(msg(() => parseIdRange('--uidmap', '-1:100000:1'))).toMatch(/use CONTAINER:HOST:SIZE/);
    expect(msg(() => parseIdRange('--gidmap', '0:1:0'))).toMatch(/SIZE must be at least 1/);
    expect(msg(() => parseIdRange('--uidmap', '0:4294967290:10'))).toMatch(/past the largest id/);
  });
  it('refuses ranges that overlap inside or outside; touching ranges are fine', () => {
    expect(
      msg(() =>
        checkRanges('--uidmap', [
          { container: 0, host: 1000, size: 10 },
          { container: 5, host: 5000, size: 10 },
        ]),
      ),
    ).toMatch(/container side \(0-9 and 5-14\)/);
    expect(
      msg(() =>
        checkRanges('--uidmap', [
          { container: 0, host: 1000, size: 10 },
          { container: 50, host: 1009, size: 1 },
        ]),
      ),
    ).toMatch(/host side \(1000-1009 and 1009-1009\)/);
    expect(() =>
      checkRanges('--uidmap', [
        { container: 0, host: 1000, size: 10 },
        { container: 10, host: 1010, size: 10 },
      ]),
    ).not.toThrow();
  });
  it('hostId follows the ranges; an id left out is undefined', () => {
    const map = [
      { container: 0, host: 100000, size: 10 },
      { container: 1000, host: 5000, size: 1 },
    ];
    expect([hostId(map, 0), hostId(map, 9), hostId(map, 10), hostId(map, 1000)]).toEqual([
      100000,
      100009,
      undefined,
      5000,
    ]);
  });
  it('usernsFromFlags: host is none; maps need root mapped and the -u user mapped; --gidmap defaults to --uidmap', () => {
    expect(usernsFromFlags({}, ids)).toBeUndefined();
    expect(usernsFromFlags({ userns: 'host' }, ids)).toBeUndefined();
    const ns = usernsFromFlags({ uidmap: ['0:200000:100'] }, ids)!;
    expect(ns.gidMap).toEqual([{ container: 0, host: 200000, size: 100 }]);
    expect(msg(() => usernsFromFlags({ uidmap: ['1:200000:100'] }, ids))).toMatch(/container uid 0 is not mapped/);
    expect(msg(() => usernsFromFlags({ uidmap: ['0:200000:100'] }, { uid: 1000, gid: 0, groups: [] }))).toMatch(
      /uid 1000 is not mapped/,
    );
    expect(msg(() => usernsFromFlags({ userns: 'auto', uidmap: ['0:1:1'] }, ids))).toMatch(/one or the other/);
    expect(msg(() => usernsFromFlags({ userns: 'keep-id' }, ids))).toMatch(/--userns keep-id: use --userns host/);
  });
  it('subordinateRange reads name:start:count lines, by name or uid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'subuid-'));
    try {
      const f = join(dir, 'subuid');
      writeFileSync(f, 'alice:100000:65536\n# x\n1001:300000:10\nminidock:165536:65536\n');
      expect(subordinateRange(f, ['minidock'])).toEqual({ start: 165536, count: 65536 });
      expect(subordinateRange(f, ['bob', '1001'])).toEqual({ start: 300000, count: 10 });
      expect(subordinateRange(f, ['carol'])).toBeUndefined();
      expect(subordinateRange(join(dir, 'absent'), ['minidock'])).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('overlayfs in a user namespace from Linux 5.11', () => {
    expect([
      kernelMountsOverlayInUserns('5.10.0-28-amd64'),
      kernelMountsOverlayInUserns('5.11.0'),
      kernelMountsOverlayInUserns('6.1.0-18-amd64'),
      kernelMountsOverlayInUserns('4.19.0'),
    ]).toEqual([false, true, true, false]);
  });
});

describe('the plan with a user namespace', () => {
  const base: ContainerSpec = testSpec({ args: ['id'], env: [], seccomp: undefined });
  const userns: UserNamespace = {
    uidMap: [{ container: 0, host: 100000, size: 65536 }],
    gidMap: [{ container: 0, host: 100000, size: 65536 }],
    setgroups: 'allow',
    writer: 'write',
  };
  const dirs = { merged: '/s/m', upper: '/s/u', work: '/s/w' };
  const v1 = { mode: 'v1' as const, paths: ['/sys/fs/cgroup/pids/c'], fsMounts: [], writes: [] };
  const v2 = { mode: 'v2' as const, paths: ['/sys/fs/cgroup/c'], fsMounts: [], writes: [] };

  it('cgroup v1 too: CLONE_NEWUSER, no vfork, the child waits at SYNC (after its self-join, before any mount), then becomes root', () => {
    const p = planLaunch({ ...base, userns }, dirs, v1);
    expect(p.cloneFlags).toBe(cloneFlags() | CLONE.CLONE_NEWUSER);
    expect(p).toMatchObject({ sync: true, parentJoins: [] });
    expect(p.steps.slice(0, 5).map((s) => [s.op, s.ints])).toEqual([
      [Op.WRITE_FILE, undefined],
      [Op.SYNC, undefined],
      [Op.SETGID, [0]],
      [Op.SETGROUPS, [0]],
      [Op.SETUID, [0]],
    ]);
    expect(p.steps.filter((s) => s.op === Op.SYNC)).toHaveLength(1);
    expect(p.steps.findIndex((s) => s.op === Op.MOUNT)).toBeGreaterThan(4);
    expect(p.idMapWrites).toEqual([
      { file: '/proc/PID/uid_map', content: '0 100000 65536\n' },
      { file: '/proc/PID/gid_map', content: '0 100000 65536\n' },
    ]);
  });
  it('cgroup v2: one SYNC, first, where minidock joins the cgroup and writes the maps', () => {
    const p = planLaunch({ ...base, userns }, dirs, v2);
    expect(p.steps[0]!.op).toBe(Op.SYNC);
    expect(p.steps.filter((s) => s.op === Op.SYNC)).toHaveLength(1);
    expect(p.parentJoins).toEqual(['/sys/fs/cgroup/c/cgroup.procs']);
  });
  it('overlay with userxattr; devpts gid=5 only where gid 5 is mapped; no setgroups() under setgroups "deny"', () => {
    const data = (sp: ContainerSpec, fs: string) =>
      planLaunch(sp, dirs, v1).steps.find((s) => s.op === Op.MOUNT && s.strs?.[2] === fs)!.strs![3];
    expect(data({ ...base, userns }, 'overlay')).toMatch(/,userxattr$/);
    expect(data(base, 'overlay')).not.toMatch(/userxattr/);
    expect(data({ ...base, userns }, 'devpts')).toMatch(/gid=5/);
    const single: UserNamespace = {
      uidMap: [{ container: 0, host: 1000, size: 1 }],
      gidMap: [{ container: 0, host: 1000, size: 1 }],
      setgroups: 'deny',
      writer: 'write',
    };
    expect(data({ ...base, userns: single }, 'devpts')).not.toMatch(/gid=/);
    const steps = planLaunch({ ...base, userns: single }, dirs, v1).steps;
    expect(steps.some((s) => s.op === Op.SETGROUPS)).toBe(false);
    expect(idMapWrites(42, single).map((w) => w.file)).toEqual([
      '/proc/42/uid_map',
      '/proc/42/setgroups',
      '/proc/42/gid_map',
    ]);
  });
  it('without one: no CLONE_NEWUSER and no map writes', () => {
    const p = planLaunch(base, dirs, v2);
    expect(p.cloneFlags & CLONE.CLONE_NEWUSER).toBe(0);
    expect(p.idMapWrites).toEqual([]);
  });
});

describe('idmapped lower layers: when minidock makes them', () => {
  const ns: UserNamespace = {
    uidMap: [{ container: 0, host: 100000, size: 65536 }],
    gidMap: [{ container: 0, host: 100000, size: 65536 }],
    setgroups: 'allow',
    writer: 'write',
  };
  it('overlayfs takes idmapped layers from Linux 5.19', () => {
    expect([
      kernelIdmapsOverlayLayers('5.18.19'),
      kernelIdmapsOverlayLayers('5.19.0-1-amd64'),
      kernelIdmapsOverlayLayers('6.1.0-18-amd64'),
      kernelIdmapsOverlayLayers('4.19.0'),
    ]).toEqual([false, true, true, false]);
  });
  it('a kernel before 5.19: no idmap attempted (pid -1 would fail), one line saying what that leaves', () => {
    expect(idmapLowerLayers(-1, ns, ['/r'], '5.15.0-91-generic')).toMatch(
      /^Linux 5\.15\.0-91-generic cannot put idmapped layers under overlayfs \(5\.19 can\), so the rootfs's files keep their host owners inside .*\/tmp/,
    );
  });
  it('rootless: none attempted (a normal user cannot idmap a host mount), and no line at every launch', () => {
    expect(idmapLowerLayers(-1, { ...ns, rootless: true }, ['/r'], '6.1.0')).toBeUndefined();
  });
  it("an image's lower layers are reached through their store (layerStoreOf); a rootfs directory is not one", () => {
    const hex = 'ab'.repeat(32);
    expect(layerStoreOf(`/var/lib/minidock/layers/sha256/${hex}/fs`)).toBe('/var/lib/minidock/layers');
    expect(layerStoreOf('/home/me/rootfs')).toBeUndefined();
    expect(layerStoreOf(`/x/layers/sha256/${hex}`)).toBeUndefined();
  });
  it('an image with a user namespace: one layer on 5.19+, as root; else one line saying why and what to do', () => {
    expect(imageRefusal(ns, 1, '6.1.0')).toBeUndefined();
    expect(imageRefusal(ns, 3, '6.1.0')).toMatch(
      /^an image of 3 layers with a user namespace: .*trusted\.overlay\.opaque/,
    );
    expect(imageRefusal(ns, 1, '5.15.0')).toMatch(/needs Linux 5\.19 .*this kernel is 5\.15\.0/);
    expect(imageRefusal({ ...ns, rootless: true }, 1, '6.1.0')).toMatch(/^an image in a rootless launch/);
  });
});
