// Hostile rootfs layouts against the real CLI, as root (issue "Nothing lost, nothing reachable",
// items 5 and 11). Every file minidock reads from a rootfs or an image (-u's /etc/passwd and
// /etc/group) is resolved inside it, must be a regular file and is read with a size cap; a -v target
// is resolved inside it too; an env value with a NUL is refused. Each layout is a copy of ./rootfs
// made here; each answer is one line and exit 125 (or the rootfs's own file, where that is the right
// answer), never a hang and never the host's file.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canRun, minidock, ROOTFS, skipReason, useLeakCheckedRoot, type Result } from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/rootfs-hostile.test.ts: ${skipReason}`);

/** Whether this kernel has openat2 (5.6+): minidock opens rootfs files with it, else with O_NOFOLLOW. */
const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
const [maj, min] = release.split('.').map(Number);
const openat2Case =
  maj > 5 || (maj === 5 && min >= 6)
    ? `openat2 RESOLVE_BENEATH (kernel ${release})`
    : `O_NOFOLLOW, no openat2 (kernel ${release})`;

d(`hostile rootfs layouts (real kernel, the real CLI; files opened with ${openat2Case})`, () => {
  let root = '';
  let fx = ''; // the hostile rootfs copies, outside the state root
  const TIMEOUT = 20_000; // a launcher that hangs (a FIFO) is killed here and the test fails on it
  const md = (args: string[]): Result => minidock(args, { root, timeout: TIMEOUT });

  useLeakCheckedRoot((r) => {
    root = r;
    fx = `${r}-fixtures`;
    mkdirSync(fx, { recursive: true });
  });
  afterAll(() => rmSync(fx, { recursive: true, force: true }));

  /** A copy of ./rootfs named `name`, changed by `edit` (given the copy's path). */
  const layout = (name: string, edit: (r: string) => void): string => {
    const r = join(fx, name);
    cpSync(ROOTFS, r, { recursive: true, verbatimSymlinks: true });
    edit(r);
    return r;
  };
  const replace = (r: string, inner: string, make: (p: string) => void): void => {
    rmSync(join(r, inner), { recursive: true, force: true });
    make(join(r, inner));
  };
  const mkfifo = (p: string): void => void expect(spawnSync('mkfifo', [p]).status).toBe(0);

  /** Refused before anything ran: exit 125 and exactly one line `minidock: ...` matching `why`. */
  const refused = (r: Result, why: RegExp): void => {
    expect(r.signal, `killed after ${TIMEOUT} ms: the launcher hung`).toBeNull();
    expect(r.code, r.stderr).toBe(125);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^minidock: /);
    expect(lines[0]).toMatch(why);
  };

  it("/etc -> /etc: -u bin is not the host's bin (the link is a loop inside the rootfs)", () => {
    const r = layout('etc-is-host-etc', (p) => replace(p, 'etc', (e) => symlinkSync('/etc', e)));
    refused(
      md(['run', '--rm', '-u', 'bin', r, '/bin/busybox', 'id', '-u']),
      /^minidock: -u bin: the container's \/etc\/passwd leads through more than 40 symbolic links inside the rootfs/,
    );
  });

  it("/etc -> /etc2: the rootfs's own /etc2/passwd gives the user", () => {
    const r = layout('etc-is-etc2', (p) => {
      mkdirSync(join(p, 'etc2'));
      writeFileSync(join(p, 'etc2/passwd'), 'bin:x:4343:4344:bin:/:/bin/sh\n');
      replace(p, 'etc', (e) => symlinkSync('/etc2', e));
    });
    const res = md(['run', '--rm', '-u', 'bin', r, '/bin/busybox', 'id']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^uid=4343(\(bin\))? gid=4344\b/);
  });

  it("/etc/passwd -> /etc/shadow is the rootfs's /etc/shadow, never the host's", () => {
    // the host's shadow has a root line, whose third field (days since the last change) would be the uid
    const missing = layout('passwd-is-shadow', (p) => replace(p, 'etc/passwd', (f) => symlinkSync('/etc/shadow', f)));
    refused(
      md(['run', '--rm', '-u', 'root', missing, '/bin/busybox', 'id', '-u']),
      /^minidock: -u root: no user "root" in the container's \/etc\/passwd/,
    );
    writeFileSync(join(missing, 'etc/shadow'), 'root:x:4242:4243:root:/root:/bin/sh\n');
    const own = md(['run', '--rm', '-u', 'root', missing, '/bin/busybox', 'id']);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toMatch(/^uid=4242(\(root\))? gid=4243\b/);
  });

  it('/etc/passwd a FIFO (no writer): refused at once, no hang', () => {
    const r = layout('passwd-fifo', (p) => replace(p, 'etc/passwd', mkfifo));
    const t0 = Date.now();
    refused(
      md(['run', '--rm', '-u', 'user', r, '/bin/true']),
      /-u user: the container's \/etc\/passwd is a FIFO, not a regular file/,
    );
    expect(Date.now() - t0).toBeLessThan(TIMEOUT);
  });

  it('/etc/group -> a FIFO: refused too (the group file is read the same way)', () => {
    const r = layout('group-fifo', (p) => {
      mkfifo(join(p, 'etc/fifo'));
      replace(p, 'etc/group', (f) => symlinkSync('fifo', f));
    });
    refused(
      md(['run', '--rm', '-u', 'user', r, '/bin/true']),
      /-u user: the container's \/etc\/group \(a symlink to \/etc\/fifo\) is a FIFO/,
    );
  });

  it("/etc/passwd -> /dev/zero: the rootfs's /dev/zero, a device, is refused (never read until memory runs out)", () => {
    const r = layout('passwd-zero', (p) => {
      expect(spawnSync('mknod', [join(p, 'dev/zero'), 'c', '1', '5']).status).toBe(0);
      replace(p, 'etc/passwd', (f) => symlinkSync('/dev/zero', f));
    });
    refused(
      md(['run', '--rm', '-u', 'user', r, '/bin/true']),
      /the container's \/etc\/passwd \(a symlink to \/dev\/zero\) is a character device, not a regular file/,
    );
  });

  it('a 1 GiB /etc/passwd (sparse) is refused by its size, unread', () => {
    const r = layout('passwd-huge', (p) => {
      truncateSync(join(p, 'etc/passwd'), 1 << 30);
    });
    refused(
      md(['run', '--rm', '-u', '1000', r, '/bin/true']),
      /-u 1000: the container's \/etc\/passwd is 1073741824 bytes; minidock reads at most 16 MiB/,
    );
  });

  it("-v onto a symlink loop (/tmp -> /tmp) is refused: mkdir would have followed it to the host's /tmp", () => {
    const r = layout('tmp-loop', (p) => replace(p, 'tmp', (t) => symlinkSync('/tmp', t)));
    const name = `minidock-hostile-${process.pid}`;
    const src = join(fx, 'vol');
    mkdirSync(src, { recursive: true });
    refused(
      md(['run', '--rm', '-v', `${src}:/tmp/${name}`, r, '/bin/true']),
      new RegExp(`-v .*: /tmp/${name} leads through more than 40 symbolic links inside the rootfs`),
    );
    expect(existsSync(`/tmp/${name}`)).toBe(false);
  });

  it("-w through a symlink /work -> /etc is the rootfs's /etc (chdir runs after pivot_root)", () => {
    const r = layout('work-link', (p) => symlinkSync('/etc', join(p, 'work')));
    const res = md(['run', '--rm', '-w', '/work', r, '/bin/ls']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'group',
      'hostname',
      'hosts',
      'passwd',
      'resolv.conf',
    ]);
  });

  it('an image whose /etc -> /etc, or whose /etc/passwd is a FIFO: the same answers through the layers', () => {
    const tarOf = (name: string, edit: (r: string) => void): string => {
      const dir = layout(name, edit);
      const file = `${dir}.tar`;
      expect(spawnSync('tar', ['-C', dir, '-cf', file, '.']).status).toBe(0);
      const imp = md(['import', '-q', file, `hostile-${name}`]);
      expect(imp.code, imp.stderr).toBe(0);
      return `hostile-${name}`;
    };
    const loop = tarOf('img-etc-loop', (p) => replace(p, 'etc', (e) => symlinkSync('/etc', e)));
    refused(
      md(['run', '--rm', '-u', 'bin', loop, '/bin/true']),
      /-u bin: the container's \/etc\/passwd leads through more than 40 symbolic links/,
    );
    const fifo = tarOf('img-fifo', (p) => replace(p, 'etc/passwd', mkfifo));
    refused(
      md(['run', '--rm', '-u', 'user', fifo, '/bin/true']),
      /-u user: the container's \/etc\/passwd is a FIFO, not a regular file/,
    );
    for (const img of [loop, fifo]) expect(md(['rmi', img]).code).toBe(0);
  });

  it('an --env-file line B=x\\0y is refused, not cut at the NUL', () => {
    const env = join(fx, 'nul.env');
    writeFileSync(env, 'A=1\nB=x\0y\n');
    refused(
      md(['run', '--rm', '--env-file', env, ROOTFS, '/bin/sh', '-c', 'echo "[$B]"']),
      /^minidock: --env-file .*nul\.env line 2: "B=x\\u0000y": contains a NUL byte/,
    );
  });
});
