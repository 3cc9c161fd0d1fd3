import { describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors.js';
import { detectCgroups, parseMountinfo, parseSelfCgroup } from '../../src/runtime/cgroups/index.js';
import { dirInMount } from '../../src/runtime/cgroups/detect.js';

// This project's machines: v1 hybrid, one hierarchy per controller, an empty cgroup2, no systemd.
const HYBRID_MOUNTINFO = `22 1 254:1 / / rw,relatime - ext4 /dev/vda rw
23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/8b0cc65dfa24aa43be1ea8d34b0e0073
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

// A systemd laptop with pure cgroup v2.
const V2_MOUNTINFO = `24 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
25 24 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const V2_CGROUP = '0::/user.slice/user-1000.slice/session-2.scope\n';

// Debian 10 / Ubuntu 18.04 style v1: cpu,cpuacct and net_cls,net_prio co-mounted, systemd's hybrid unified.
const COMOUNT_MOUNTINFO = `25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
26 25 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
29 26 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
30 29 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
31 29 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
34 29 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
35 29 0:32 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,net_cls,net_prio
36 29 0:33 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
37 29 0:34 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,pids
38 29 0:35 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,cpuset,clone_children
`;
const COMOUNT_CGROUP = `12:cpuset:/
11:pids:/user.slice/user-1000.slice/session-3.scope
10:memory:/user.slice
9:net_cls,net_prio:/
8:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/user-1000.slice/session-3.scope
0::/user.slice/user-1000.slice/session-3.scope
`;

describe('parsing', () => {
  it('reads mountinfo fields, including octal escapes', () => {
    const [m] = parseMountinfo(
      '40 31 0:37 /sub /mnt/my\\040cgroups rw,relatime shared:3 master:1 - cgroup cgroup rw,memory\n',
    );
    expect(m).toEqual({
      root: '/sub',
      mountPoint: '/mnt/my cgroups',
      fsType: 'cgroup',
      superOptions: ['rw', 'memory'],
    });
  });
  it('keys /proc/self/cgroup by controller set', () => {
    const m = parseSelfCgroup(COMOUNT_CGROUP);
    expect(m.get('cpu,cpuacct')).toBe('/user.slice');
    expect(m.get('name=systemd')).toBe('/user.slice/user-1000.slice/session-3.scope');
    expect(m.get('')).toBe('/user.slice/user-1000.slice/session-3.scope');
  });
  it('maps hierarchy paths through bind-mounted roots', () => {
    expect(dirInMount('/sys/fs/cgroup/memory', '/', '/a/b')).toBe('/sys/fs/cgroup/memory/a/b');
    expect(dirInMount('/sys/fs/cgroup/memory', '/docker/x', '/docker/x')).toBe('/sys/fs/cgroup/memory');
    expect(dirInMount('/sys/fs/cgroup/memory', '/docker/x', '/docker/x/y')).toBe('/sys/fs/cgroup/memory/y');
    expect(dirInMount('/sys/fs/cgroup/memory', '/docker/x', '/docker/xy')).toBeUndefined();
  });
});

describe('detectCgroups', () => {
  it("chooses v1 on this project's hybrid layout (memory is bound to v1)", () => {
    const d = detectCgroups({ root: { mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_CGROUP } });
    expect(d.mode).toBe('v1');
    expect(d.reason).toMatch(
      /^hybrid host: the memory controller is bound to the v1 hierarchy at \/sys\/fs\/cgroup\/memory/,
    );
    expect(d.mounts.v2).toEqual({ mountPoint: '/sys/fs/cgroup/unified', mountRoot: '/', ownPath: '/' });
    const byCtl = Object.fromEntries(d.mounts.v1.map((h) => [h.name ? `name=${h.name}` : h.controllers.join(','), h]));
    expect(Object.keys(byCtl).sort()).toEqual([
      'blkio',
      'cpu',
      'cpuacct',
      'cpuset',
      'devices',
      'freezer',
      'memory',
      'name=systemd',
      'pids',
    ]);
    expect(byCtl.cpu).toEqual({ controllers: ['cpu'], mountPoint: '/sys/fs/cgroup/cpu', mountRoot: '/', ownPath: '/' });
    expect(byCtl.cpuacct!.mountPoint).toBe('/sys/fs/cgroup/cpuacct');
    expect(byCtl.memory!.ownPath).toBe('/process_api/8b0cc65dfa24aa43be1ea8d34b0e0073');
    expect(byCtl['name=systemd']).toMatchObject({ controllers: [], name: 'systemd' });
  });

  it('chooses v2 on a pure v2 laptop', () => {
    const d = detectCgroups({ root: { mountinfo: V2_MOUNTINFO, selfCgroup: V2_CGROUP } });
    expect(d.mode).toBe('v2');
    expect(d.reason).toBe('cgroup v2: one unified tree mounted at /sys/fs/cgroup');
    expect(d.mounts.v1).toEqual([]);
    expect(d.mounts.v2).toEqual({
      mountPoint: '/sys/fs/cgroup',
      mountRoot: '/',
      ownPath: '/user.slice/user-1000.slice/session-2.scope',
    });
  });

  it('handles co-mounted cpu,cpuacct hierarchies on v1', () => {
    const d = detectCgroups({ root: { mountinfo: COMOUNT_MOUNTINFO, selfCgroup: COMOUNT_CGROUP } });
    expect(d.mode).toBe('v1');
    const cpu = d.mounts.v1.find((h) => h.controllers.includes('cpu'))!;
    expect(cpu).toEqual({
      controllers: ['cpu', 'cpuacct'],
      mountPoint: '/sys/fs/cgroup/cpu,cpuacct',
      mountRoot: '/',
      ownPath: '/user.slice',
    });
    expect(d.mounts.v1.find((h) => h.controllers.includes('cpuacct'))).toBe(cpu);
    // "clone_children" and "xattr" are mount options, not controllers
    expect(d.mounts.v1.find((h) => h.controllers.includes('cpuset'))!.controllers).toEqual(['cpuset']);
    expect(d.mounts.v1.find((h) => h.name === 'systemd')!.controllers).toEqual([]);
    expect(d.mounts.v1.find((h) => h.controllers.includes('net_cls'))!.controllers).toEqual(['net_cls', 'net_prio']);
    expect(d.mounts.v1.find((h) => h.controllers.includes('pids'))!.ownPath).toBe(
      '/user.slice/user-1000.slice/session-3.scope',
    );
  });

  it('chooses v2 when v1 hierarchies carry only non-memory controllers (e.g. net_cls next to v2)', () => {
    const mi = V2_MOUNTINFO + '40 25 0:40 / /sys/fs/cgroup/net_cls rw,relatime - cgroup cgroup rw,net_cls\n';
    const d = detectCgroups({ root: { mountinfo: mi, selfCgroup: V2_CGROUP + '3:net_cls:/\n' } });
    expect(d.mode).toBe('v2');
  });

  it('chooses v1 without cgroup2 even if memory is missing, and fails when nothing is mounted', () => {
    const mi = '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n';
    expect(detectCgroups({ root: { mountinfo: mi, selfCgroup: '1:pids:/\n' } }).mode).toBe('v1');
    let e: unknown;
    try {
      detectCgroups({ root: { mountinfo: '22 1 254:1 / / rw - ext4 /dev/vda rw\n', selfCgroup: '' } });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(MinidockError);
    expect((e as Error).message).toMatch(/^no cgroup filesystem is mounted/);
  });

  it('reads the real /proc files by default', () => {
    const d = detectCgroups();
    expect(['v1', 'v2']).toContain(d.mode);
    expect(d.reason.length).toBeGreaterThan(10);
  });
});
