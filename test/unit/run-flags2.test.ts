// run's Docker flags of issue 19, part 2, without root: --tmpfs and --mount parsing (Docker's
// defaults, one line for each bad value), named volumes (the store: create, list, in use, rm, prune,
// rm -v's own), --device (the node's numbers, permissions), --sysctl (the namespaced list, the host's
// namespaces refused), --cgroupns, --init; and the steps each adds to the plan, and the device rule
// each driver adds.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/runtime/build-plan.js';
import { createCgroup } from '../../src/runtime/cgroups/index.js';
import type { Entry } from '../../src/runtime/container-store/records.js';
import { deviceRule, kernelFlags, parseDevice, parseSysctls, splitDev } from '../../src/runtime/kernel-flags.js';
import {
  TMPFS_DEFAULT_FLAGS,
  parseMount,
  parseNamedVolume,
  parseTmpfs,
  storageFlags,
  tmpfsOptions,
} from '../../src/runtime/mount-flags.js';
import { specFromFlags } from '../../src/runtime/options.js';
import { Op } from '../../src/runtime/plan.js';
import { dirView } from '../../src/runtime/rootfs-view.js';
import {
  createVolume,
  listVolumes,
  pruneVolumes,
  removeCreatedVolumes,
  removeVolume,
  volumeDataDir,
} from '../../src/runtime/volumes.js';
import { CLONE, MS } from '../../src/sys/constants.js';
import { minidockError, minidockRejection } from '../helpers.js';
import { fakeV1, fakeV2 } from './cgroup-fake-tree.js';
import { testSpec } from './spec-fixture.js';

const error = (fn: () => unknown): string => minidockError(fn).message;
let base: string;
let rootfs: string;
let state: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'md-flags2-'));
  rootfs = join(base, 'rootfs');
  state = join(base, 'state');
  for (const d of ['etc', 'data/sub', 'run']) mkdirSync(join(rootfs, d), { recursive: true });
  writeFileSync(join(rootfs, 'etc/hostname'), 'x\n');
  symlinkSync('/data', join(rootfs, 'datalink'));
  mkdirSync(state);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));
const view = () => dirView(rootfs);

describe('--tmpfs', () => {
  it("Docker's defaults noexec,nosuid,nodev; flag options change them, data options pass through checked", () => {
    expect(tmpfsOptions('t', '')).toEqual({ flags: TMPFS_DEFAULT_FLAGS, data: '' });
    const o = tmpfsOptions('t', 'size=64m,mode=1777,exec,ro,uid=1000,nr_inodes=10k,rprivate');
    expect(o.flags).toBe(MS.MS_NOSUID | MS.MS_NODEV | MS.MS_RDONLY);
    expect(o.data).toBe('size=64m,mode=1777,uid=1000,nr_inodes=10k');
    expect(tmpfsOptions('t', 'size=1g,size=2g').data).toBe('size=2g'); // a later one wins
    expect(tmpfsOptions('t', 'size=50%').data).toBe('size=50%');
  });
  it('PATH[:OPTIONS], resolved inside the rootfs (a symlink stays inside)', () => {
    expect(parseTmpfs(view(), '/run')).toEqual({ destination: '/run', flags: TMPFS_DEFAULT_FLAGS, data: '' });
    expect(parseTmpfs(view(), '/datalink/sub:size=1m').destination).toBe('/data/sub');
    expect(parseTmpfs(view(), '/new/dir').destination).toBe('/new/dir');
  });
  it.each([
    ['/run:foo=1', /^--tmpfs \/run:foo=1: unknown tmpfs option "foo=1" — use size=/],
    ['/run:mpol=default', /unknown tmpfs option "mpol=default"/],
    ['/run:size=lots', /size=lots: size= takes bytes with an optional k, m, g, t or a % of RAM/],
    ['/run:mode=999', /mode= takes an octal mode/],
    ['/run:size', /size: size= takes bytes/],
    ['run', /the container path must be absolute/],
    ['/', /cannot mount over the container's root/],
    ['/etc/hostname', /is not a directory in the container/],
    [':size=1m', /use --tmpfs PATH\[:OPTIONS\]/],
  ])('%s: one line', (raw, re) => {
    expect(error(() => parseTmpfs(view(), raw))).toMatch(re);
  });
});

describe('--mount', () => {
  it('type=bind is -v: the same BindMount (readonly, ro=true, ro=false)', () => {
    expect(parseMount(view(), state, `type=bind,source=${base},target=/data,readonly`)).toEqual({
      bind: { source: base, destination: '/data', readonly: true, isFile: false },
    });
    expect(parseMount(view(), state, `type=bind,src=${base},dst=/data,ro=false`).bind?.readonly).toBe(false);
    expect(parseMount(view(), state, `type=bind,src=${base},destination=/data,ro=true`).bind?.readonly).toBe(true);
  });
  it("type=tmpfs is --tmpfs: tmpfs-size in bytes (Docker's units), tmpfs-mode", () => {
    expect(parseMount(view(), state, 'type=tmpfs,target=/run,tmpfs-size=1m,tmpfs-mode=1770')).toEqual({
      tmpfs: { destination: '/run', flags: TMPFS_DEFAULT_FLAGS, data: 'size=1048576,mode=1770' },
    });
    expect(parseMount(view(), state, 'type=tmpfs,dst=/run,readonly').tmpfs?.flags).toBe(
      TMPFS_DEFAULT_FLAGS | MS.MS_RDONLY,
    );
  });
  it('type=volume is -v NAME:/path: the volume directory in the state root', () => {
    expect(parseMount(view(), state, 'type=volume,source=cache,target=/data,volume-nocopy')).toEqual({
      bind: {
        source: volumeDataDir(state, 'cache'),
        destination: '/data',
        readonly: false,
        volume: 'cache',
        nocopy: true,
      },
    });
    expect(parseNamedVolume(view(), state, 'cache:/data:ro')).toEqual({
      source: volumeDataDir(state, 'cache'),
      destination: '/data',
      readonly: true,
      volume: 'cache',
    });
  });
  it.each([
    ['target=/x', /type= is required: bind, volume or tmpfs/],
    ['type=tmpfs', /target= is required/],
    ['type=nfs,target=/x', /type=nfs: use bind, volume or tmpfs/],
    ['type=bind,target=/x', /type=bind needs source=/],
    ['type=bind,source=rel,target=/x', /the host path must be absolute/],
    ['type=bind,source=/no/such/dir,target=/x', /host path \/no\/such\/dir does not exist/],
    ['type=volume,target=/x', /minidock has no anonymous volumes/],
    ['type=volume,source=a b,target=/x', /"a b" is not a valid volume name/],
    ['type=tmpfs,source=x,target=/x', /type=tmpfs takes no source/],
    ['type=bind,source=/tmp,target=/x,tmpfs-size=1m', /tmpfs-size and tmpfs-mode are options of type=tmpfs/],
    ['type=tmpfs,target=/x,tmpfs-size=big', /tmpfs-size=big: use bytes with an optional unit/],
    ['type=bind,source=/tmp,target=/x,bind-propagation=shared', /bind-propagation is not supported: every mount/],
    ['type=volume,source=v,target=/x,volume-driver=nfs', /volume-driver is not supported/],
    ['type=bind,source=/tmp,target=/x,colour=red', /unknown field "colour"/],
    ['type=bind,source=/tmp,target=/x,readonly=maybe', /readonly takes true or false/],
    ['type=bind,source=,target=/x', /source needs a value/],
  ])('%s: one line', (raw, re) => {
    expect(error(() => parseMount(view(), state, raw))).toMatch(new RegExp(`^--mount .*${re.source}`));
  });
  it('-v, --mount and --tmpfs together: volumes and binds in order, one target once', () => {
    const r = storageFlags(view(), {
      volume: [`${base}:/data`, 'v1:/run'],
      mount: ['type=tmpfs,target=/data/sub'],
      tmpfs: ['/scratch'],
      root: state,
    });
    expect(r.mounts.map((m) => m.volume ?? m.source)).toEqual([base, 'v1']);
    expect(r.tmpfs.map((t) => t.destination)).toEqual(['/data/sub', '/scratch']);
    expect(error(() => storageFlags(view(), { volume: ['v1:/run'], tmpfs: ['/run'], root: state }))).toMatch(
      /^\/run is the target of two mounts/,
    );
    expect(error(() => storageFlags(view(), { volume: ['./rel:/x'], root: state }))).toMatch(
      /^-v \.\/rel:\/x: "\.\/rel" is not a valid volume name: .* \(a host directory is given by its absolute path\)/,
    );
    expect(error(() => storageFlags(view(), { volume: [':/x'], root: state }))).toMatch(/use HOST_PATH:CONTAINER_PATH/);
  });
  it('specFromFlags: the spec has them (and a user namespace refuses a named volume)', async () => {
    const s = await specFromFlags('a'.repeat(64), rootfs, ['sh'], { tmpfs: ['/run:size=1m'], root: state }, () => ({}));
    expect(s.tmpfs).toEqual([{ destination: '/run', flags: TMPFS_DEFAULT_FLAGS, data: 'size=1m' }]);
    expect((await specFromFlags('a'.repeat(64), rootfs, ['sh'], {}, () => ({}))).tmpfs).toBeUndefined();
    const e = await minidockRejection(
      specFromFlags(
        'a'.repeat(64),
        rootfs,
        ['sh'],
        { volume: ['vol:/data'], uidmap: ['0:100000:65536'], root: state },
        () => ({}),
      ),
    );
    expect(e.message).toMatch(/^a named volume with a user namespace/);
  });
});

describe('named volumes (volumes.ts)', () => {
  const entry = (id: string, vols: string[]): Entry => ({
    id,
    dir: '/nowhere',
    config: {
      id,
      created: '',
      detached: false,
      autoRemove: false,
      spec: testSpec({
        id,
        mounts: vols.map((v) => ({ source: volumeDataDir(state, v), destination: '/d', readonly: false, volume: v })),
      }),
    },
  });
  it('create (once; a second call finds it), ls with its users, rm refused while used, prune, rm -v', () => {
    expect(createVolume(state, 'made', { team: 'a' })).toBe(true);
    expect(createVolume(state, 'made', {})).toBe(false);
    expect(createVolume(state, 'byrun', {}, 'c'.repeat(64))).toBe(true);
    expect(createVolume(state, 'spare', {})).toBe(true);
    writeFileSync(join(volumeDataDir(state, 'spare'), 'f'), 'x'.repeat(100));
    const a = entry('c'.repeat(64), ['byrun', 'made']);
    const views = listVolumes(state, [a]);
    expect(views.map((v) => [v.name, v.labels, v.users.map((u) => u.id.slice(0, 1))])).toEqual([
      ['byrun', {}, ['c']],
      ['made', { team: 'a' }, ['c']],
      ['spare', {}, []],
    ]);
    expect(error(() => removeVolume(state, 'made', views))).toMatch(
      /^volume made is in use by container\(s\) cccccccccccc: remove them first/,
    );
    expect(minidockError(() => removeVolume(state, 'nope', views)).code).toBe(1);
    expect(error(() => createVolume(state, '-bad', {}))).toMatch(/"-bad" is not a valid volume name/);
    // prune: the unused one only (no container exists in this state root: all are unused here)
    expect(removeVolume(state, 'spare', views)).toBe('spare');
    expect(existsSync(volumeDataDir(state, 'spare'))).toBe(false);
    // rm -v: the one its run made, not the one `volume create` made
    expect(removeCreatedVolumes(state, a)).toEqual(['byrun']);
    expect(listVolumes(state, []).map((v) => v.name)).toEqual(['made']);
    expect(pruneVolumes(state)).toEqual({ removed: ['made'], bytes: expect.any(Number) });
    expect(listVolumes(state, [])).toEqual([]);
  });
});

describe('--device', () => {
  it("the host node's type and numbers; CONTAINER defaults to HOST; PERMS as 2nd or 3rd field", () => {
    const d = parseDevice('/dev/null:/dev/mynull');
    expect(d).toMatchObject({
      hostPath: '/dev/null',
      path: '/dev/mynull',
      type: 'c',
      major: 1,
      minor: 3,
      access: 'rwm',
    });
    expect(d.mode & 0o170000).toBe(0o020000); // S_IFCHR
    expect(parseDevice('/dev/zero:r')).toMatchObject({ path: '/dev/zero', access: 'r' });
    expect(parseDevice('/dev/zero:/dev/z:rw')).toMatchObject({ path: '/dev/z', access: 'rw' });
    expect(deviceRule(d)).toBe('c 1:3 rwm');
    // dev_t as glibc splits it: 12 bits of major, 20 of minor, across the two halves
    expect(splitDev(0x0103n)).toEqual({ major: 1, minor: 3 });
    const makedev = (ma: bigint, mi: bigint): bigint =>
      (mi & 0xffn) | ((ma & 0xfffn) << 8n) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n);
    expect(splitDev(makedev(0x12abcn, 0x345678n))).toEqual({ major: 0x12abc, minor: 0x345678 });
  });
  it.each([
    ['/dev/null:/dev/x:rwx', /permissions "rwx": use some of r/],
    ['/dev/null:/dev/x:rr', /permissions "rr"/],
    ['dev/null', /the host path must be absolute/],
    ['/dev/null:dev/x', /the container path must be absolute/],
    ['/no/such/dev', /\/no\/such\/dev does not exist on the host/],
    ['/etc/hostname', /is not a device node/],
    ['/dev/null:/dev/zero', /\/dev\/zero is already in the container's \/dev/],
    ['/dev/null:/', /cannot be a device node/],
    ['/a:/b:/c:/d', /use HOST_PATH\[:CONTAINER_PATH\]\[:rwm\]/],
  ])('%s: one line', (raw, re) => {
    expect(error(() => parseDevice(raw))).toMatch(
      new RegExp(`^--device ${raw.replace(/[/.*]/g, '\\$&')}: .*${re.source}`),
    );
  });
  it('refused with a user namespace (mknod of a device is)', () => {
    expect(error(() => kernelFlags({ device: ['/dev/null'] }, { userns: true }))).toMatch(
      /^--device with a user namespace/,
    );
  });
});

describe('--sysctl, --cgroupns, --init', () => {
  const ctx = { userns: false };
  it("Docker's namespaced ones: net.*, fs.mqueue.*, the IPC namespace's kernel.*", () => {
    expect(
      parseSysctls(
        ['net.ipv4.ip_forward=1', 'kernel.shmmax=65536', 'fs.mqueue.msg_max=20', 'kernel.sem=250 32000 32 128'],
        ctx,
      ),
    ).toEqual({
      'net.ipv4.ip_forward': '1',
      'kernel.shmmax': '65536',
      'fs.mqueue.msg_max': '20',
      'kernel.sem': '250 32000 32 128',
    });
    // a bridge's eth0 exists before the sysctls are written (build-plan.ts step 6a)
    for (const network of ['bridge', 'front'])
      expect(parseSysctls(['net.ipv4.conf.eth0.forwarding=1'], { ...ctx, network })).toEqual({
        'net.ipv4.conf.eth0.forwarding': '1',
      });
  });
  it.each([
    [['kernel.panic=1'], {}, /kernel.panic is not namespaced — the kernel keeps one value/],
    [['kernel.domainname=x'], {}, /is not namespaced/],
    [['vm.swappiness=1'], {}, /is not namespaced/],
    [['net.ipv4.ip_forward'], {}, /use KEY=VALUE/],
    [['Net/ipv4=1'], {}, /is not a sysctl name/],
    [['net.ipv4.ip_forward=1'], { network: 'host' }, /with --network host: that is the host's network namespace/],
    [['net.core.somaxconn=1'], { network: 'container:web' }, /another container's network namespace/],
    [['kernel.shmmax=1'], { ipc: 'host' }, /with --ipc host: that is the host's IPC namespace/],
    [['fs.mqueue.msg_max=1'], { ipc: 'container:a' }, /another container's IPC namespace/],
    [
      ['net.ipv4.conf.eth0.forwarding=1'],
      {},
      /this container has no eth0 \(--network none\) — give it one with --network bridge/,
    ],
    [['net.ipv4.conf.eth0.forwarding=1'], { network: 'none' }, /has no eth0 \(--network none\)/],
  ])('%j %j: one line', (list, c, re) => {
    expect(error(() => parseSysctls(list, { ...ctx, ...c }))).toMatch(new RegExp(`^--sysctl .*${re.source}`));
  });
  it('--cgroupns host|private, --init finds minidock-init', () => {
    expect(kernelFlags({ cgroupns: 'host' }, ctx)).toEqual({ cgroupns: 'host' });
    expect(kernelFlags({ cgroupns: 'private' }, ctx)).toEqual({});
    expect(error(() => kernelFlags({ cgroupns: 'shared' }, ctx))).toMatch(/^--cgroupns shared: use private/);
    const init = kernelFlags({ init: true }, ctx).init;
    if (init) expect(init).toMatch(/native\/build\/minidock-init$/);
  });
});

describe('the plan', () => {
  const dirs = { merged: '/m', upper: '/u', work: '/w' };
  const at = (steps: ReturnType<typeof buildPlan>, pred: (s: (typeof steps)[number]) => boolean): number =>
    steps.findIndex(pred);
  it('tmpfs mounts and binds, shallowest first; a volume is a bind of its directory', () => {
    const steps = buildPlan(
      testSpec({
        mounts: [{ source: '/vol/_data', destination: '/a/b', readonly: false, volume: 'v' }],
        tmpfs: [{ destination: '/a', flags: TMPFS_DEFAULT_FLAGS, data: 'size=1m' }],
      }),
      dirs,
    );
    const t = at(steps, (s) => s.op === Op.MOUNT && s.strs?.[2] === 'tmpfs' && s.strs?.[1] === '/m/a');
    const b = at(steps, (s) => s.op === Op.MOUNT && s.strs?.[0] === '/vol/_data');
    expect(t).toBeGreaterThan(0);
    expect(steps[t]!.ints).toEqual([TMPFS_DEFAULT_FLAGS]);
    expect(steps[t]!.strs?.[3]).toBe('size=1m');
    expect(b).toBeGreaterThan(t);
    expect(steps[b]!.why).toMatch(/^-v v:\/a\/b \(the volume's directory/);
  });
  it('--init: minidock-init bound read-only at /dev/init, exec\'d with the command after "--"', () => {
    const steps = buildPlan(testSpec({ init: '/pkg/native/build/minidock-init', args: ['sh', '-c', 'x'] }), dirs);
    const bind = at(steps, (s) => s.op === Op.MOUNT && s.strs?.[0] === '/pkg/native/build/minidock-init');
    expect(steps[bind]!.strs?.[1]).toBe('/m/dev/init');
    expect(steps[bind + 1]!.ints?.[0]).toBe(MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY);
    const exec = steps.at(-1)!;
    expect(exec.op).toBe(Op.EXEC);
    expect(exec.strs?.slice(0, 5)).toEqual(['/dev/init', '--', 'sh', '-c', 'x']);
    expect(exec.ints?.[0]).toBe(5);
  });
  it('--sysctl and --device: after pivot_root, before /proc/sys goes read-only', () => {
    const steps = buildPlan(
      testSpec({
        sysctls: { 'net.ipv4.ip_forward': '1' },
        devices: [
          {
            hostPath: '/dev/null',
            path: '/dev/x/mynull',
            type: 'c',
            major: 1,
            minor: 3,
            mode: 0o20666,
            uid: 0,
            gid: 0,
            access: 'rwm',
          },
          {
            hostPath: '/dev/zero',
            path: '/dev/zero',
            type: 'c',
            major: 1,
            minor: 5,
            mode: 0o20666,
            uid: 0,
            gid: 0,
            access: 'r',
          },
        ],
      }),
      dirs,
    );
    const pivot = at(steps, (s) => s.op === Op.CHDIR && s.strs?.[0] === '/' && s.phase === 'pivot_root');
    const w = at(steps, (s) => s.op === Op.WRITE_FILE && s.strs?.[0] === '/proc/sys/net/ipv4/ip_forward');
    const ro = at(
      steps,
      (s) => s.op === Op.MOUNT && s.strs?.[1] === '/proc/sys' && !!((s.ints?.[0] as number) & MS.MS_RDONLY),
    );
    const mknods = steps.filter((s) => s.op === Op.MKNOD);
    expect(pivot).toBeGreaterThan(0);
    expect(w).toBe(pivot + 1);
    expect(ro).toBeGreaterThan(w);
    // the bound /dev/zero is not made again; /dev/x/mynull's parent first
    expect(mknods.map((s) => [s.strs?.[0], s.ints])).toEqual([['/dev/x/mynull', [0o20666, 1, 3, 0, 0]]]);
    expect(at(steps, (s) => s.op === Op.MKDIR && s.strs?.[0] === '/dev/x')).toBe(w + 1);
  });
  it('--cgroupns host: no cgroup namespace; private (the default): one after the join', () => {
    const unshare = (s: ReturnType<typeof buildPlan>) =>
      s.filter((x) => x.op === Op.UNSHARE && x.ints?.[0] === CLONE.CLONE_NEWCGROUP).length;
    expect(unshare(buildPlan(testSpec(), dirs))).toBe(1);
    expect(unshare(buildPlan(testSpec({ cgroupns: 'host' }), dirs))).toBe(0);
  });
});

describe('the device cgroup of --device', () => {
  it('v1: its rule written to devices.allow after the minimal /dev', () => {
    const t = fakeV1();
    // (the fake leaves the devices files out: a new devices cgroup gets them here)
    const ops = t.opts.root!.ops!;
    const mkdir = ops.mkdir.bind(ops);
    ops.mkdir = (dir: string) => {
      mkdir(dir);
      if (dir.includes('/devices/')) for (const f of ['devices.deny', 'devices.allow']) writeFileSync(join(dir, f), '');
    };
    const cg = createCgroup('md-dev1', {}, { ...t.opts, restrictDevices: true, deviceRules: ['c 10:200 rwm'] });
    const allow = cg.writes.filter((w) => w.file.endsWith('devices.allow')).map((w) => w.value);
    expect(allow.at(-1)).toBe('c 10:200 rwm');
    expect(allow).toContain('c 1:3 rwm');
    cg.destroy();
    t.cleanup();
  });
  it('v2: its rule compiled into the eBPF filter', () => {
    const t = fakeV2();
    const cg = createCgroup(
      'md-dev2',
      {},
      {
        ...t.opts,
        restrictDevices: true,
        deviceRules: ['c 10:200 rw'],
        root: { ...t.opts.root, ops: { ...t.opts.root!.ops!, attachDeviceFilter: () => 0 } },
      },
    );
    expect(cg.writes.at(-1)?.value).toMatch(/allowing .*c 136:\* rwm, c 10:200 rw$/);
    cg.destroy();
    t.cleanup();
  });
});
