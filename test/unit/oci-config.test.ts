// config.json -> ContainerSpec (src/oci/config.ts): runc's own default config.json, what minidock's
// plan can express, and bad input (one MinidockError line naming the field).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minidockError } from '../helpers';
import { mapConfig, ociSeccomp, parseConfigText, readBundleConfig, type MapOptions } from '../../src/oci/config';
import { compileProfile } from '../../src/runtime/seccomp/compile';
import { defaultConfig } from '../../src/oci/spec-default';

const ID = 'b'.repeat(64);
const opts: MapOptions = {
  id: ID,
  name: 'ctr1',
  hostHostname: () => 'hosty',
  apparmorEnabled: () => false,
  compileSeccomp: (p, caps) => compileProfile(p, { caps }),
};
// `runc spec` output, committed (made by runc 1.1.5: `runc spec` in an empty directory)
const RUNC_SPEC = readFileSync(join(__dirname, 'oci-runc-spec.json'), 'utf8');
const hasRunc = (() => {
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let bundle: string;
const fresh = (): Record<string, any> => JSON.parse(RUNC_SPEC);
const map = (c: Record<string, any>) => mapConfig(c, bundle, opts);
const mapError = (edit: (c: Record<string, any>) => void): string => {
  const c = fresh();
  edit(c);
  const e = minidockError(() => map(c));
  expect(e.code).toBe(125);
  expect(e.message).not.toContain('\n');
  return e.message;
};

beforeAll(() => {
  bundle = mkdtempSync(join(tmpdir(), 'minidock-oci-config-'));
  mkdirSync(join(bundle, 'rootfs/etc'), { recursive: true });
  mkdirSync(join(bundle, 'rootfs/data'));
  mkdirSync(join(bundle, 'hostdir'));
});
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

describe('process.capabilities.ambient', () => {
  it('an ambient capability outside the bounding set is refused (the kernel raises only permitted and inheritable ones)', () => {
    expect(mapError((c) => c.process.capabilities.ambient.push('CAP_SYS_ADMIN'))).toMatch(
      /ambient CAP_SYS_ADMIN not in the bounding set/,
    );
  });
});

describe("runc's default config.json", () => {
  it('maps onto a ContainerSpec: process, root, hostname, rlimits, capabilities, masked paths', () => {
    const { spec, extras, warnings } = map(fresh());
    expect(spec).toMatchObject({
      id: ID,
      name: 'ctr1',
      rootfs: join(bundle, 'rootfs'),
      args: ['sh'],
      cwd: '/',
      uid: 0,
      gid: 0,
      additionalGids: [0],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      tty: true,
      readonlyRootfs: true,
      hostname: 'runc',
      noNewPrivileges: true,
      privileged: false,
      mounts: [],
      rlimits: [{ type: 'nofile', soft: 1024, hard: 1024 }],
      limits: {},
    });
    expect(spec.capabilities).toEqual(['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE']);
    expect(spec.maskedPaths).toContain('/proc/kcore');
    expect(spec.readonlyPaths).toContain('/proc/sysrq-trigger');
    // OCI: no linux.seccomp means no filter (Docker's default profile is Docker's, not the spec's)
    expect(spec.seccomp).toBeUndefined();
    expect(extras.joinNamespaces).toEqual([]);
    // runc's ambient set (root): carried for the CAPSET step's 4th mask
    expect(extras.ambient).toEqual(['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE']);
    // runc's config has no cgroup namespace; minidock always makes one, and says so
    expect(warnings).toEqual([expect.stringContaining('no cgroup namespace')]);
  });

  it.skipIf(!hasRunc)("maps what this machine's `runc spec` writes (skipped: runc is not installed)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'minidock-runc-spec-'));
    try {
      execFileSync('runc', ['spec'], { cwd: dir });
      const { spec } = map(parseConfigText(readFileSync(join(dir, 'config.json'), 'utf8')));
      expect(spec.args.length).toBeGreaterThan(0);
      expect(spec.rootfs).toBe(join(bundle, 'rootfs'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("minidock's own default (spec-default.ts) maps without a warning", () => {
    const { spec, warnings } = map(defaultConfig());
    expect(warnings).toEqual([]);
    expect(spec.args).toEqual(['sh']);
    expect(spec.capabilities.length).toBeGreaterThan(3);
  });
});

describe('fields the plan expresses', () => {
  it('resources: memory, cpu (cpuset cpus and mems too), pids -> Limits; the deny-all device rule is accepted', () => {
    const c = fresh();
    c.linux.resources = {
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 52428800, reservation: 20971520, swap: 104857600 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 10 },
    };
    expect(map(c).spec.limits).toEqual({
      memory: 52428800,
      memoryReservation: 20971520,
      memorySwap: 104857600,
      cpuShares: 512,
      cpuQuotaUs: 50000,
      cpuPeriodUs: 100000,
      cpusetCpus: '0',
      cpusetMems: '0',
      pids: 10,
    });
  });

  it('user, additionalGids, consoleSize, oomScoreAdj, sysctl, annotations, cgroupsPath, joined namespaces', () => {
    const c = fresh();
    c.process.user = { uid: 1000, gid: 100, additionalGids: [10, 20], umask: 18 };
    c.process.capabilities = { bounding: ['CAP_KILL'] };
    c.process.consoleSize = { height: 24, width: 80 };
    c.process.oomScoreAdj = 500;
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    c.linux.cgroupsPath = '/mine/ctr1';
    c.annotations = { 'org.example': 'x' };
    c.linux.namespaces.push({ type: 'cgroup' });
    c.linux.namespaces.find((n: any) => n.type === 'network').path = '/proc/1/ns/net';
    const { spec, extras, warnings } = map(c);
    expect(spec).toMatchObject({
      uid: 1000,
      gid: 100,
      additionalGids: [100, 10, 20],
      ttySize: { rows: 24, cols: 80 },
      capabilities: ['CAP_KILL'],
    });
    expect(extras).toMatchObject({
      oomScoreAdj: 500,
      sysctl: { 'net.ipv4.ip_forward': '1' },
      cgroupsPath: '/mine/ctr1',
      annotations: { 'org.example': 'x' },
      joinNamespaces: [{ type: 'network', path: '/proc/1/ns/net' }],
    });
    expect(warnings).toEqual([]);
  });

  it('a bind mount: source relative to the bundle, :ro, target resolved inside the rootfs', () => {
    const c = fresh();
    c.mounts.push({ destination: '/data', type: 'bind', source: 'hostdir', options: ['rbind', 'ro'] });
    expect(map(c).spec.mounts).toEqual([
      { source: join(bundle, 'hostdir'), destination: '/data', readonly: true, isFile: false },
    ]);
  });

  it('linux.seccomp in OCI format compiles into the spec (the program is a whole number of 8-byte instructions)', () => {
    const c = fresh();
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    };
    const { spec, extras } = map(c);
    expect(spec.seccomp!.length % 8).toBe(0);
    expect(spec.seccomp!.length).toBeGreaterThan(8);
    expect(extras.seccompProfile?.syscalls?.[0]?.names).toEqual(['mkdir']);
  });

  it('hooks: every point (createContainer and startContainer too) carried in order with args, env, timeout', () => {
    const c = fresh();
    c.hooks = {
      prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'true'], timeout: 5 }, { path: '/bin/true' }],
      createRuntime: [{ path: '/bin/true', env: ['A=1'] }],
      createContainer: [{ path: '/bin/true', timeout: 2 }],
      startContainer: [{ path: '/bin/echo', args: ['echo', 'hi'] }],
      poststart: [{ path: '/bin/true' }],
      poststop: [{ path: '/bin/false', args: ['false'] }],
    };
    const { extras, warnings } = map(c);
    expect(extras.hooks).toEqual({
      prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'true'], timeout: 5 }, { path: '/bin/true' }],
      createRuntime: [{ path: '/bin/true', env: ['A=1'] }],
      createContainer: [{ path: '/bin/true', timeout: 2 }],
      startContainer: [{ path: '/bin/echo', args: ['echo', 'hi'] }],
      poststart: [{ path: '/bin/true' }],
      poststop: [{ path: '/bin/false', args: ['false'] }],
    });
    expect(warnings.filter((w) => w.includes('hooks'))).toEqual([]);
    expect(map(fresh()).extras.hooks).toEqual({});
  });

  it('process.user.umask and linux.devices (c, b, p; fileMode default 0666, owner default root) are carried for create', () => {
    const c = fresh();
    c.process.user.umask = 0o077;
    c.linux.devices = [
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 5, gid: 6 },
      { path: '/dev/disk/sdz', type: 'b', major: 8, minor: 666 },
      { path: '/dev/pipe', type: 'p' },
    ];
    const { extras } = map(c);
    expect(extras.umask).toBe(0o077);
    expect(extras.devices).toEqual([
      { path: '/dev/fuse', mode: 0o020600, major: 10, minor: 229, uid: 5, gid: 6 },
      { path: '/dev/disk/sdz', mode: 0o060666, major: 8, minor: 666, uid: 0, gid: 0 },
      { path: '/dev/pipe', mode: 0o010666, major: 0, minor: 0, uid: 0, gid: 0 },
    ]);
    expect(map(fresh()).extras).toMatchObject({ umask: undefined, devices: [] });
  });

  it("a non-root user's capability sets are carried as given (ambient must be permitted and inheritable)", () => {
    const c = fresh();
    c.process.user = { uid: 1000, gid: 1000 };
    c.process.capabilities = {
      bounding: ['CAP_NET_BIND_SERVICE', 'CAP_KILL'],
      effective: ['CAP_NET_BIND_SERVICE'],
      permitted: ['CAP_NET_BIND_SERVICE', 'CAP_KILL'],
      inheritable: ['CAP_NET_BIND_SERVICE'],
      ambient: ['CAP_NET_BIND_SERVICE'],
    };
    const { spec, extras } = map(c);
    expect(spec.capabilities).toEqual(['CAP_KILL', 'CAP_NET_BIND_SERVICE']);
    expect(extras.ambient).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(extras.userCaps).toEqual({
      effective: ['CAP_NET_BIND_SERVICE'],
      permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      inheritable: ['CAP_NET_BIND_SERVICE'],
    });
    c.process.capabilities.inheritable = [];
    expect(minidockError(() => map(c)).message).toMatch(
      /ambient CAP_NET_BIND_SERVICE not in both permitted and inheritable/,
    );
    c.process.capabilities = { bounding: [], effective: ['CAP_KILL'], permitted: [] };
    expect(minidockError(() => map(c)).message).toMatch(/effective CAP_KILL not in permitted/);
  });

  it("linux.rootfsPropagation: runc's table of mount flags; (r)private is what the plan does already", () => {
    const prop = (v: string) => {
      const c = fresh();
      c.linux.rootfsPropagation = v;
      return map(c).extras.rootfsPropagation;
    };
    expect(prop('shared')).toBe(1 << 20);
    expect(prop('rshared')).toBe((1 << 20) | 16384);
    expect(prop('slave')).toBe(1 << 19);
    expect(prop('runbindable')).toBe((1 << 17) | 16384);
    expect(prop('private')).toBeUndefined();
    expect(prop('rprivate')).toBeUndefined();
    expect(minidockError(() => prop('bogus')).message).toMatch(
      /linux\.rootfsPropagation "bogus" must be one of private, rprivate, slave/,
    );
  });

  it('mounts: propagation options on a tmpfs and a bind, atime flags and ignored data on a bind, a tmpfs placed before the bind that follows it', () => {
    const c = fresh();
    const base = ['nosuid', 'strictatime', 'mode=755', 'size=1k'];
    c.mounts.push(
      { destination: '/tmp/t-shared', type: 'tmpfs', source: 'tmpfs', options: [...base, 'shared'] },
      { destination: '/data', source: 'hostdir', options: [...base, 'rbind', 'rslave'] },
      { destination: '/tmp/t-last', type: 'tmpfs', source: 'tmpfs', options: base },
    );
    const { spec, extras } = map(c);
    expect(extras.tmpfs).toEqual([
      {
        destination: '/tmp/t-shared',
        flags: (1 << 1) | (1 << 24),
        data: 'mode=755,size=1k',
        propagation: 1 << 20,
        beforeBind: 0,
      },
      { destination: '/tmp/t-last', flags: (1 << 1) | (1 << 24), data: 'mode=755,size=1k' },
    ]);
    expect(spec.mounts.map((m) => m.destination)).toEqual(['/data']);
    expect(extras.bindFlags).toEqual([
      { mount: spec.mounts[0], options: ['nosuid', 'strictatime'], propagation: (1 << 19) | 16384 },
    ]);
  });

  it('unknown fields are ignored with a warning (the runtime spec requires it)', () => {
    const c = fresh();
    c.process.futureThing = 1;
    expect(map(c).warnings).toContain(
      'config.json: unknown field process.futureThing ignored (the runtime spec says runtimes ignore what they do not know)',
    );
  });

  it('apparmorProfile is a warning where AppArmor is off and refused where it is on', () => {
    const c = fresh();
    c.process.apparmorProfile = 'docker-default';
    expect(map(c).warnings.some((w) => w.includes('apparmorProfile'))).toBe(true);
    expect(minidockError(() => mapConfig(c, bundle, { ...opts, apparmorEnabled: () => true })).message).toMatch(
      /process\.apparmorProfile is not supported by minidock yet/,
    );
  });
});

describe('bad input: one line naming the field', () => {
  it.each([
    ['ociVersion missing', (c: any) => delete c.ociVersion, /ociVersion is missing/],
    ['ociVersion 2.0', (c: any) => (c.ociVersion = '2.0.0'), /not a 1\.x runtime-spec version/],
    ['process.args empty', (c: any) => (c.process.args = []), /process\.args is missing or empty/],
    ['process.args a string', (c: any) => (c.process.args = 'sh'), /process\.args must be a list of strings, got "sh"/],
    ['uid a string', (c: any) => (c.process.user.uid = '0'), /process\.user\.uid must be an integer/],
    ['cwd relative', (c: any) => (c.process.cwd = 'tmp'), /process\.cwd "tmp" must be an absolute path/],
    ['env without =', (c: any) => (c.process.env = ['X']), /process\.env\[0\] "X" must be KEY=VALUE/],
    ['terminal a string', (c: any) => (c.process.terminal = 'yes'), /process\.terminal must be true or false/],
    [
      'unknown capability',
      (c: any) => c.process.capabilities.bounding.push('CAP_FLY'),
      /process\.capabilities\.bounding\[3\] "CAP_FLY" is not a capability/,
    ],
    [
      'rlimit type',
      (c: any) => (c.process.rlimits[0].type = 'NOFILE'),
      /process\.rlimits\[0\]\.type "NOFILE" must be one of RLIMIT_CPU/,
    ],
    ['rlimit soft > hard', (c: any) => (c.process.rlimits[0].soft = 2048), /soft 2048 is above hard 1024/],
    ['root missing', (c: any) => delete c.root, /root is missing/],
    ['rootfs missing', (c: any) => (c.root.path = 'nope'), /root\.path nope: .* does not exist/],
    [
      'namespace type',
      (c: any) => c.linux.namespaces.push({ type: 'bogus' }),
      /linux\.namespaces\[5\]\.type "bogus" must be one of/,
    ],
    ['namespace twice', (c: any) => c.linux.namespaces.push({ type: 'pid' }), /lists pid twice/],
    ['namespace path relative', (c: any) => (c.linux.namespaces[0].path = 'proc/1/ns/pid'), /must be an absolute path/],
    [
      'maskedPaths relative',
      (c: any) => (c.linux.maskedPaths = ['proc/kcore']),
      /linux\.maskedPaths\[0\] "proc\/kcore" must be an absolute path/,
    ],
    [
      'mount destination',
      (c: any) => (c.mounts[0].destination = 'proc'),
      /mounts\[0\]\.destination must be an absolute path/,
    ],
    [
      'bind source missing',
      (c: any) => c.mounts.push({ destination: '/x', type: 'bind', source: '/does/not/exist' }),
      /mounts\[7\]: -v .*does not exist/,
    ],
    [
      'seccomp action',
      (c: any) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_FLY' }),
      /linux\.seccomp: unknown action "SCMP_ACT_FLY"/,
    ],
    ['annotations not strings', (c: any) => (c.annotations = { a: 1 }), /annotations must be an object of strings/],
    [
      'hook path relative',
      (c: any) => (c.hooks = { prestart: [{ path: 'bin/true' }] }),
      /hooks\.prestart\[0\]\.path must be an absolute path/,
    ],
    [
      'hook timeout 0',
      (c: any) => (c.hooks = { poststop: [{ path: '/bin/true', timeout: 0 }] }),
      /hooks\.poststop\[0\]\.timeout must be an integer from 1/,
    ],
    [
      'hook env without =',
      (c: any) => (c.hooks = { poststart: [{ path: '/bin/true', env: ['X'] }] }),
      /hooks\.poststart\[0\]\.env\[0\] "X" must be KEY=VALUE/,
    ],
    [
      'device type',
      (c: any) => (c.linux.devices = [{ path: '/dev/x', type: 'z', major: 1, minor: 1 }]),
      /linux\.devices\[0\]\.type must be c, b, u or p, got "z"/,
    ],
    [
      'device path relative',
      (c: any) => (c.linux.devices = [{ path: 'dev/x', type: 'c', major: 1, minor: 1 }]),
      /linux\.devices\[0\]\.path must be an absolute, normalized path/,
    ],
    [
      'char device without major',
      (c: any) => (c.linux.devices = [{ path: '/dev/x', type: 'c', minor: 1 }]),
      /linux\.devices\[0\]\.major must be a device major number/,
    ],
    [
      'umask above 0777',
      (c: any) => (c.process.user.umask = 0o1000),
      /process\.user\.umask must be an integer from 0 to 511/,
    ],
    ['hooks not a list', (c: any) => (c.hooks = { prestart: { path: '/bin/true' } }), /hooks\.prestart must be a list/],
  ])('%s', (_, edit, re) => {
    expect(mapError(edit)).toMatch(re);
  });
});

describe('fields the plan cannot express yet: refused, naming the field and docs/oci.md', () => {
  it.each([
    [
      'joining a user namespace by path',
      (c: any) => c.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' }),
      'linux.namespaces: joining a user namespace by path',
    ],
    ['a time namespace', (c: any) => c.linux.namespaces.push({ type: 'time' }), 'linux.namespaces type time'],
    [
      "linux.sysctl without a mount namespace (it would be the host's /proc/sys)",
      (c: any) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'mount');
        c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
      },
      'linux.sysctl without a mount namespace',
    ],
    [
      'a filesystem other than bind and tmpfs',
      (c: any) => c.mounts.push({ destination: '/tmp', type: 'ramfs', source: 'ramfs' }),
      'mounts[7] (ramfs on /tmp)',
    ],
    ['blockIO', (c: any) => (c.linux.resources.blockIO = { weight: 10 }), 'linux.resources.blockIO'],
    [
      'a device allow rule first (every device)',
      (c: any) => (c.linux.resources.devices = [{ allow: true, access: 'rwm' }]),
      'linux.resources.devices[0] (an allow rule first',
    ],
    [
      'effective differs from bounding',
      (c: any) => (c.process.capabilities.effective = []),
      'process.capabilities with effective',
    ],
    ['domainname', (c: any) => (c.domainname = 'example'), 'domainname'],
    ['intelRdt', (c: any) => (c.linux.intelRdt = {}), 'linux.intelRdt'],
  ])('%s', (_, edit, field) => {
    const msg = mapError(edit);
    expect(msg).toContain(`config.json: ${field}`);
    expect(msg).toContain('is not supported by minidock yet');
    expect(msg).toContain('docs/oci.md');
  });
});

describe('reading the bundle', () => {
  it('a missing bundle, a missing config.json, malformed JSON, a non-object: one line each', () => {
    expect(minidockError(() => readBundleConfig('/does/not/exist')).message).toMatch(
      /^bundle \/does\/not\/exist: no such directory/,
    );
    expect(minidockError(() => readBundleConfig(bundle)).message).toMatch(
      /config\.json: no such file — a bundle needs a config\.json/,
    );
    writeFileSync(join(bundle, 'config.json'), '{"ociVersion": ');
    expect(minidockError(() => readBundleConfig(bundle)).message).toMatch(/config\.json: not valid JSON \(/);
    writeFileSync(join(bundle, 'config.json'), '[]');
    expect(minidockError(() => readBundleConfig(bundle)).message).toMatch(
      /the top level must be a JSON object, got an array/,
    );
    writeFileSync(join(bundle, 'config.json'), RUNC_SPEC);
    expect(readBundleConfig(bundle).ociVersion).toBe('1.0.2-dev');
    rmSync(join(bundle, 'config.json'));
  });

  it("ociSeccomp refuses Docker's includes/excludes", () => {
    expect(
      minidockError(() =>
        ociSeccomp({
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_SYS_ADMIN'] } }],
        }),
      ).message,
    ).toMatch(/syscalls\[0\] has includes\/excludes, which are Docker's/);
  });
});
