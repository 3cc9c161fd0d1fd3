// `minidock doctor`'s rootless lines (issue 18): what a normal user can have here, and the command
// that gets more — from the facts (RootlessFacts), without the machine's own sysctls.
import { describe, expect, it } from 'vitest';
import { checkRootless, rootlessFacts, type RootlessFacts } from '../../src/bench/doctor';

const base: RootlessFacts = {
  user: { name: 'ana', uid: 1000 },
  maxUserNs: 15000,
  helpers: true,
  subuid: { start: 100000, count: 65536 },
  subgid: { start: 100000, count: 65536 },
  freeStart: 165536,
  delegation: {
    parent: 'user.slice/user-1000.slice/user@1000.service/app.slice',
    dir: '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice',
    controllers: ['cpu', 'cpuset', 'io', 'memory', 'pids'],
  },
  rootfsUid: 1000,
};
const line = (f: RootlessFacts, area: string) => checkRootless(f).find((c) => c.area === `rootless: ${area}`);

describe('doctor: rootless', () => {
  it('everything a user can have: ok lines, no fixes', () => {
    const checks = checkRootless(base);
    expect(checks.map((c) => [c.area, c.status])).toEqual([
      ['rootless: user namespaces', 'ok'],
      ['rootless: id maps', 'ok'],
      ['rootless: cgroups', 'ok'],
    ]);
    expect(line(base, 'id maps')!.found).toMatch(/ana:100000:65536 in \/etc\/subuid/);
    expect(line(base, 'cgroups')!.found).toMatch(
      /^v2, delegated: .*app\.slice \(controllers: cpu cpuset io memory pids\)/,
    );
  });

  it("user namespaces refused: by the kernel-wide limit, Debian's switch, Ubuntu's AppArmor restriction — each with its sysctl", () => {
    expect(line({ ...base, maxUserNs: 0 }, 'user namespaces')).toMatchObject({
      status: 'fail',
      fix: 'sysctl -w user.max_user_namespaces=15000',
    });
    expect(line({ ...base, unprivClone: 0 }, 'user namespaces')).toMatchObject({
      status: 'fail',
      fix: 'sysctl -w kernel.unprivileged_userns_clone=1',
    });
    expect(line({ ...base, apparmorRestrict: 1 }, 'user namespaces')).toMatchObject({
      status: 'fail',
      fix: expect.stringMatching(/^sysctl -w kernel\.apparmor_restrict_unprivileged_userns=0/),
    });
    expect(line({ ...base, unprivClone: 1, apparmorRestrict: 0 }, 'user namespaces')!.status).toBe('ok');
  });

  it('id maps: no helpers, or no range — a single-id map, and the command that adds a free range', () => {
    expect(line({ ...base, helpers: false }, 'id maps')).toMatchObject({
      status: 'warn',
      fix: 'apt-get install uidmap',
    });
    expect(line({ ...base, subuid: undefined }, 'id maps')).toMatchObject({
      status: 'warn',
      found: expect.stringMatching(/single-id map/),
      fix: 'as root: usermod --add-subuids 165536-231071 --add-subgids 165536-231071 ana',
    });
  });

  it('cgroups: none (v1, or no delegation) with the way to get one; a delegation lacking cpu says Delegate=', () => {
    expect(
      line(
        { ...base, delegation: { why: 'cgroup v1: only root creates cgroups', fix: 'boot with cgroup v2' } },
        'cgroups',
      ),
    ).toMatchObject({
      status: 'warn',
      found: 'none: cgroup v1: only root creates cgroups; a limit flag (-m, --cpus, --pids-limit) is refused',
      fix: 'boot with cgroup v2',
    });
    expect(
      line(
        { ...base, delegation: { ...base.delegation, controllers: ['memory', 'pids'] } as RootlessFacts['delegation'] },
        'cgroups',
      ),
    ).toMatchObject({
      status: 'warn',
      fix: expect.stringMatching(/^for cpu limits, as root: systemctl edit user@\.service, \[Service\] Delegate=/),
    });
  });

  it("a rootfs owned by someone else: read-only directories inside, and a copy of one's own", () => {
    expect(line({ ...base, rootfsUid: 0 }, 'rootfs')).toMatchObject({
      status: 'warn',
      fix: expect.stringMatching(/^a copy of your own: cp -a .*rootfs ~\/rootfs/),
    });
  });

  it('rootlessFacts reads this machine (whatever it is): a free range at or past 100000, a delegation answer', () => {
    const f = rootlessFacts({ name: 'nobody-here', uid: 4242 });
    expect(f.freeStart).toBeGreaterThanOrEqual(100000);
    expect(f.subuid).toBeUndefined();
    expect('why' in f.delegation || 'dir' in f.delegation).toBe(true);
  });
});
