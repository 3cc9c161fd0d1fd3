// User namespaces (issue 18) against the real kernel, as root: --userns auto, --uidmap/--gidmap, and
// what the container's root can and cannot do. Every test checks the host before and after
// (useLeakCheckedRoot): no mount, cgroup or container directory left.
import { chmodSync, chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOTFS, canRun, hostSnapshot, minidock, skipReason, useLeakCheckedRoot } from '../helpers';
import { subordinateRange } from '../../src/runtime/userns';

// What this kernel allows, detected: user namespaces can be switched off (user.max_user_namespaces=0,
// or Debian's kernel.unprivileged_userns_clone=0 for normal users only).
const readNum = (f: string): number | undefined => {
  try {
    return Number(readFileSync(f, 'utf8').trim());
  } catch {
    return undefined;
  }
};
const maxUserNs = readNum('/proc/sys/user/max_user_namespaces');
const auto = subordinateRange('/etc/subuid', ['minidock']);
const autoG = subordinateRange('/etc/subgid', ['minidock']);
const skip = !canRun ? skipReason : maxUserNs === 0 ? 'user namespaces are disabled (user.max_user_namespaces=0)' : '';
const skipAuto = skip || (!auto || !autoG ? 'no "minidock" range in /etc/subuid or /etc/subgid (`npm run build` as root adds it)' : '');
if (skip) console.warn(`SKIPPED test/integration/userns.test.ts: ${skip}`);

describe.skipIf(!!skip)('user namespaces as root', () => {
  let root: string;
  useLeakCheckedRoot((r) => {
    root = r;
    chmodSync(r, 0o711); // (mkdtemp makes 0700: the mapped root must pass through, as through /var/lib/minidock)
  });
  const run = (args: string[]) => minidock(['run', '--rm', ...args], { root });

  it.skipIf(!!skipAuto)(`--userns auto: uid 0 inside is the minidock range outside; files it makes are its own (${skipAuto || 'range found'})`, () => {
    const r = run(['--userns', 'auto', ROOTFS, 'sh', '-c', 'id -u; id -g; cat /proc/self/uid_map; touch /made; ls -ln /made']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [uid, gid, map, ls] = r.stdout.trim().split('\n');
    expect([uid, gid]).toEqual(['0', '0']);
    expect(map!.trim().split(/\s+/)).toEqual(['0', String(auto!.start), String(Math.min(auto!.count, 65536))]);
    // ls -ln inside: the file the container created belongs to 0
    expect(ls!.trim().split(/\s+/).slice(2, 4)).toEqual(['0', '0']);
  });

  it.skipIf(!!skipAuto)(`--userns auto: a file made in a -v mount is the mapped uid's on the host; a root-owned 0644 host file cannot be written (${skipAuto || 'range found'})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'minidock-userns-'));
    try {
      chmodSync(dir, 0o755);
      chownSync(dir, auto!.start, autoG!.start); // the container's root may write here: it is its own
      const hostFile = join(dir, 'host-owned');
      writeFileSync(hostFile, 'host\n', { mode: 0o644 });
      chownSync(hostFile, 0, 0);
      const r = run(['--userns', 'auto', '-v', `${dir}:/data`, ROOTFS, 'sh', '-c',
        'echo x > /data/new; echo changed > /data/host-owned && echo WROTE || echo REFUSED; ls -ln /data/host-owned']);
      expect(r.code).toBe(0);
      const st = statSync(join(dir, 'new'));
      expect([st.uid, st.gid]).toEqual([auto!.start, autoG!.start]);
      expect(r.stdout).toContain('REFUSED');
      expect(readFileSync(hostFile, 'utf8')).toBe('host\n');
      // inside, the host's root is unmapped: it shows as the overflow id
      expect(r.stdout).toMatch(/\b65534\s+65534\b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!!skipAuto)(`--userns auto: root inside mounts and sets the hostname in its own namespaces, but mknod (a host power) is refused; with the host's ids it is not (${skipAuto || 'range found'})`, () => {
    const host = readFileSync('/proc/sys/kernel/hostname', 'utf8');
    const script = 'mkdir /t && mount -t tmpfs none /t && echo MOUNT-OWN-OK; hostname inside-ns && echo HOSTNAME-OWN-OK; mknod /mk c 1 3 2>/dev/null && echo MKNOD-OK || echo MKNOD-REFUSED';
    const caps = ['--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined'];
    const userns = run(['--userns', 'auto', ...caps, ROOTFS, 'sh', '-c', script]);
    expect(userns.stdout.trim().split('\n')).toEqual(['MOUNT-OWN-OK', 'HOSTNAME-OWN-OK', 'MKNOD-REFUSED']);
    // the control: the same container with the host's ids may mknod (CAP_MKNOD of Docker's default set)
    const hostIds = run(['--userns', 'host', ...caps, ROOTFS, 'sh', '-c', script]);
    expect(hostIds.stdout.trim().split('\n')).toEqual(['MOUNT-OWN-OK', 'HOSTNAME-OWN-OK', 'MKNOD-OK']);
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8')).toBe(host);
  });

  it('--uidmap: each container uid mapped once, root mapped; one line, exit 125, nothing left behind', () => {
    const before = hostSnapshot(root);
    const cases: Array<[string[], RegExp]> = [
      [['--uidmap', '0:100000'], /--uidmap 0:100000: use CONTAINER:HOST:SIZE/],
      [['--uidmap', '0:100000:0'], /SIZE must be at least 1/],
      [['--uidmap', '0:100000:1000', '--uidmap', '500:300000:10'], /overlap on the container side \(0-999 and 500-509\)/],
      [['--uidmap', '0:100000:1000', '--uidmap', '2000:100500:10'], /overlap on the host side/],
      [['--uidmap', '1:100000:1000'], /container uid 0 is not mapped/],
      [['--userns', 'auto', '--uidmap', '0:100000:1'], /give one or the other/],
      [['--userns', 'private'], /--userns private: use --userns host/],
    ];
    for (const [flags, msg] of cases) {
      const r = run([...flags, ROOTFS, 'true']);
      expect(r.code, flags.join(' ')).toBe(125);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^minidock: /);
    }
    expect(hostSnapshot(root)).toEqual(before);
  });

  it('--uidmap/--gidmap: the given map, and the kept container shows it until rm', () => {
    const r = minidock(['run', '--uidmap', '0:200000:1000', '--gidmap', '0:210000:1000', ROOTFS, 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; touch /f; stat -c "%u %g" /f'], { root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(lines).toEqual(['0 200000 1000', '0 210000 1000', '0 0']);
    // outside, the file in the kept upper layer belongs to the mapped ids
    const [id] = readdirSync(join(root, 'containers')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    const st = statSync(join(root, 'containers', id!, 'upper', 'f'));
    expect([st.uid, st.gid]).toEqual([200000, 210000]);
    expect(minidock(['rm', id!], { root }).code).toBe(0);
  });

  it.skipIf(!!skipAuto)(`run -d and exec: the map is written before the monitor releases the child; exec joins the user namespace (${skipAuto || 'range found'})`, () => {
    const d = minidock(['run', '-d', '--userns', 'auto', ROOTFS, 'sleep', '30'], { root });
    expect(d.stderr).toBe('');
    const id = d.stdout.trim();
    try {
      const e = minidock(['exec', id, 'sh', '-c', 'id -u; cat /proc/self/uid_map'], { root });
      expect(e.code).toBe(0);
      const [uid, map] = e.stdout.trim().split('\n');
      expect(uid).toBe('0');
      expect(map!.trim().split(/\s+/)[1]).toBe(String(auto!.start));
    } finally {
      expect(minidock(['rm', '-f', id], { root }).code).toBe(0);
    }
  });
});
