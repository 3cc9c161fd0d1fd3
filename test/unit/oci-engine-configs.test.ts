// What real engines put in config.json (observed: Podman 4.3, containerd 1.6's ctr, dockerd 20.10),
// mapped the way runc takes it (docs/oci.md "Engines"), and the plan steps that carry it out:
// Podman's seccomp profile (names libseccomp skips, a syscall listed twice), its /dev/shm bind with
// nosuid,nodev,noexec and its /sys/dev/block mask (a directory); containerd's /run tmpfs and device
// allow list; Docker's "disableOOMKiller": false and "blockIO": {"weight": 0}.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors';
import { mapConfig, type MapOptions } from '../../src/oci/config';
import { planFor } from '../../src/oci/launch';
import { Op } from '../../src/runtime/plan';
import { compileProfile } from '../../src/runtime/seccomp/compile';
import { MS } from '../../src/sys/constants';

const opts: MapOptions = {
  id: 'e'.repeat(64),
  name: 'eng1',
  hostHostname: () => 'hosty',
  apparmorEnabled: () => false,
  compileSeccomp: (p, caps) => compileProfile(p, { caps }),
};
const RUNC_SPEC = readFileSync(join(__dirname, 'oci-runc-spec.json'), 'utf8');
const fresh = (): Record<string, any> => JSON.parse(RUNC_SPEC);
let bundle: string;
const map = (edit: (c: Record<string, any>) => void) => {
  const c = fresh();
  edit(c);
  return mapConfig(c, bundle, opts);
};
const mapError = (edit: (c: Record<string, any>) => void): string => {
  try {
    map(edit);
  } catch (e) {
    expect(e).toBeInstanceOf(MinidockError);
    return (e as Error).message;
  }
  throw new Error('expected a MinidockError');
};
/** create's plan for this config.json (cgroup decided, nothing made: planFor is --dry-run's) */
async function planOf(edit: (c: Record<string, any>) => void) {
  const c = fresh();
  c.process.terminal = false; // (runc spec's terminal: true needs --console-socket)
  edit(c);
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
  return (await planFor({ root: join(bundle, 'state'), id: 'eng1', bundle })).plan.steps;
}

beforeAll(() => {
  bundle = mkdtempSync(join(tmpdir(), 'minidock-oci-engines-'));
  mkdirSync(join(bundle, 'rootfs/etc'), { recursive: true });
  writeFileSync(join(bundle, 'rootfs/etc/hosts'), '');
  mkdirSync(join(bundle, 'shm'));
  mkdirSync(join(bundle, 'data'));
});
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

describe("Podman's seccomp profile, read as libseccomp reads it (runc)", () => {
  const profile = (syscalls: unknown[]) => (c: Record<string, any>) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls,
    };
  };

  it('names libseccomp does not resolve on x86_64 ("syscall", "timerfd") are skipped, with a --debug line each', () => {
    const cfg = map(profile([{ names: ['read', 'syscall', 'timerfd', 'write'], action: 'SCMP_ACT_ALLOW' }]));
    expect(cfg.extras.seccompProfile?.syscalls?.[0]?.names).toEqual(['read', 'write']);
    expect(cfg.debug).toEqual([
      expect.stringMatching(/syscalls\[0\]: unknown syscall "syscall" ignored/),
      expect.stringMatching(/syscalls\[0\]: unknown syscall "timerfd" ignored/),
    ]);
    expect(cfg.warnings.filter((w) => /seccomp/.test(w))).toEqual([]);
  });

  it('a syscall given unconditionally twice keeps its first rule (setns: ALLOW, then EPERM), as libseccomp does', () => {
    const cfg = map(
      profile([
        { names: ['read', 'setns'], action: 'SCMP_ACT_ALLOW' },
        { names: ['bpf', 'setns'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['read'], action: 'SCMP_ACT_ALLOW' }, // the same action again: dropped without a word
      ]),
    );
    expect(cfg.extras.seccompProfile?.syscalls?.map((s) => s.names)).toEqual([['read', 'setns'], ['bpf']]);
    expect(cfg.debug).toEqual([
      expect.stringMatching(
        /syscalls\[1\]: "setns" already has an unconditional rule \("SCMP_ACT_ALLOW"\); this one \("SCMP_ACT_ERRNO"\) ignored/,
      ),
    ]);
    expect(cfg.spec.seccomp?.length).toBeGreaterThan(0);
  });

  it('a misspelt name is still an error when it is not a name at all', () => {
    expect(mapError(profile([{ names: ['Not A Name'], action: 'SCMP_ACT_ALLOW' }]))).toMatch(
      /invalid syscall name "Not A Name"/,
    );
  });
});

describe('mounts: bind flags and tmpfs', () => {
  const shm = (options: string[]) => (c: Record<string, any>) => {
    c.mounts = c.mounts.filter((m: any) => m.destination !== '/dev/shm');
    c.mounts.push({ destination: '/dev/shm', type: 'bind', source: join(bundle, 'shm'), options });
  };

  it("Podman's /dev/shm bind with nosuid,noexec,nodev: a remount right after the bind sets them", async () => {
    const options = ['bind', 'rprivate', 'nosuid', 'noexec', 'nodev'];
    expect(map(shm(options)).extras.bindFlags.map((b) => [b.mount.destination, b.options])).toEqual([
      ['/dev/shm', ['nosuid', 'nodev', 'noexec']],
    ]);
    const steps = await planOf(shm(options));
    const target = join(bundle, 'rootfs/dev/shm');
    const bind = steps.findIndex(
      (s) => s.op === Op.MOUNT && s.strs?.[0] === join(bundle, 'shm') && s.strs?.[1] === target,
    );
    expect(bind).toBeGreaterThan(0);
    expect(steps[bind + 1]).toMatchObject({
      op: Op.MOUNT,
      strs: ['', target, '', ''],
      ints: [MS.MS_BIND | MS.MS_REMOUNT | MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC],
    });
  });

  it('a read-only bind with noexec: the remount keeps MS_RDONLY (a bind remount sets exactly the flags given)', async () => {
    const steps = await planOf(shm(['rbind', 'ro', 'noexec']));
    const target = join(bundle, 'rootfs/dev/shm');
    const remounts = steps.filter(
      (s) => s.op === Op.MOUNT && s.strs?.[1] === target && (s.ints?.[0] ?? 0) & MS.MS_REMOUNT,
    );
    expect(remounts.map((s) => (s.ints?.[0] ?? 0) & ~MS.MS_REC)).toEqual([
      MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY,
      MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY | MS.MS_NOEXEC,
    ]);
  });

  const run = (c: Record<string, any>) =>
    c.mounts.push({
      destination: '/run',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    });
  it("containerd's /run tmpfs: its flags and data, mounted before pivot_root, its mount point made", async () => {
    expect(map(run).extras.tmpfs).toEqual([
      { destination: '/run', flags: MS.MS_NOSUID | MS.MS_STRICTATIME, data: 'mode=755,size=65536k' },
    ]);
    const steps = await planOf(run);
    const at = steps.findIndex(
      (s) => s.op === Op.MOUNT && s.strs?.[2] === 'tmpfs' && s.strs?.[1] === join(bundle, 'rootfs/run'),
    );
    expect(steps[at]).toMatchObject({
      strs: ['tmpfs', join(bundle, 'rootfs/run'), 'tmpfs', 'mode=755,size=65536k'],
      ints: [MS.MS_NOSUID | MS.MS_STRICTATIME],
    });
    expect(steps[at - 1]).toMatchObject({ op: Op.MKDIR, strs: [join(bundle, 'rootfs/run')] });
    expect(at).toBeLessThan(steps.findIndex((s) => s.op === Op.PIVOT_ROOT));
  });

  it('a tmpfs option it cannot pass, and a bind inside a tmpfs (hidden by it), are refused', () => {
    expect(
      mapError((c) => c.mounts.push({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['mpol=bind'] })),
    ).toMatch(/mounts\[\d+\]\.options mpol=bind on a tmpfs is not supported by minidock yet/);
    expect(
      mapError((c) => {
        run(c);
        c.mounts.push({ destination: '/run/data', type: 'bind', source: join(bundle, 'data'), options: ['rbind'] });
      }),
    ).toMatch(/a bind mount \(\/run\/data\) inside a tmpfs mount \(\/run\)/);
  });
});

describe('linux.resources as containerd and Docker send them', () => {
  const allow = (type: string, major: number, minor?: number) => ({
    allow: true,
    type,
    major,
    ...(minor === undefined ? {} : { minor }),
    access: 'rwm',
  });
  it("containerd's device list: what minidock's device cgroup grants passes; /dev/console (c 5:1) is a warning", () => {
    const cfg = map((c) => {
      c.linux.resources = {
        devices: [
          { allow: false, access: 'rwm' },
          allow('c', 1, 3),
          allow('c', 1, 8),
          allow('c', 1, 7),
          allow('c', 5, 0),
          allow('c', 1, 5),
          allow('c', 1, 9),
          allow('c', 5, 1),
          allow('c', 136),
          allow('c', 5, 2),
        ],
      };
    });
    expect(cfg.warnings.filter((w) => /devices/.test(w))).toEqual([
      expect.stringMatching(/devices\[7\] allows c 5:1 rwm, which minidock's device cgroup does not/),
    ]);
  });

  it('an allow rule first (every device) is still refused', () => {
    expect(
      mapError((c) => {
        c.linux.resources = { devices: [{ allow: true, access: 'rwm' }] };
      }),
    ).toMatch(/linux\.resources\.devices\[0\] \(an allow rule first/);
  });

  it('Docker\'s "disableOOMKiller": false and "blockIO": {"weight": 0} ask for nothing; true and a weight are refused', () => {
    expect(
      map((c) => {
        c.linux.resources = { memory: { disableOOMKiller: false }, blockIO: { weight: 0 } };
      }).spec.limits,
    ).toEqual({});
    expect(
      mapError((c) => {
        c.linux.resources = { memory: { disableOOMKiller: true } };
      }),
    ).toMatch(/memory\.disableOOMKiller is not supported/);
    expect(
      mapError((c) => {
        c.linux.resources = { blockIO: { weight: 500 } };
      }),
    ).toMatch(/linux\.resources\.blockIO is not supported/);
  });
});

const sysDevBlockIsDir = statSync('/sys/dev/block', { throwIfNoEntry: false })?.isDirectory() ?? false;
describe('maskedPaths', () => {
  it.skipIf(!sysDevBlockIsDir)(
    `Podman's /sys/dev/block, a directory: masked with a read-only tmpfs, not /dev/null${sysDevBlockIsDir ? '' : ' (skipped: no /sys/dev/block directory here)'}`,
    async () => {
      const steps = await planOf((c) => c.linux.maskedPaths.push('/sys/dev/block'));
      expect(steps.filter((s) => s.op === Op.MOUNT && s.strs?.[1] === '/sys/dev/block')).toEqual([
        expect.objectContaining({ strs: ['tmpfs', '/sys/dev/block', 'tmpfs', ''], ints: [MS.MS_RDONLY] }),
      ]);
      // a file stays masked with /dev/null
      expect(steps.filter((s) => s.op === Op.MOUNT && s.strs?.[1] === '/proc/kcore')).toEqual([
        expect.objectContaining({ strs: ['/dev/null', '/proc/kcore', '', ''] }),
      ]);
    },
  );
});
