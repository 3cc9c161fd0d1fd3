// From flags to a ContainerSpec: validation and Docker's rules, without root.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minidockError, minidockRejection } from '../helpers';
import { checkTtyInput, parseEnvFile, parseSecurityOpts, parseUlimit } from '../../src/runtime/flag-parsers';
import { specFromFlags, type RunFlags } from '../../src/runtime/options';
import { dirView, parseUser, parseVolume } from '../../src/runtime/rootfs-view';
import { MAX_CONTAINER_FILE, openResolved, readResolvedFile, scopedResolve } from '../../src/runtime/paths';
import { mdOpenBeneath } from '../../src/sys/native';
import { resolveCaps, capMask, DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities';

let root: string;
let host: string;
const ID = 'a'.repeat(64);
const noSeccomp = () => ({});
const spec = (args: string[], f: RunFlags = {}) => specFromFlags(ID, root, args, f, noSeccomp);

beforeAll(() => {
  const base = mkdtempSync(join(tmpdir(), 'minidock-opts-'));
  root = join(base, 'rootfs');
  host = join(base, 'host');
  for (const d of ['etc', 'bin', 'data', 'home/user', 'real']) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(host);
  writeFileSync(join(host, 'file.txt'), 'x');
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nusers:x:100:user\nuser:x:1000:\nwheel:x:10:root,user\n');
  writeFileSync(join(root, 'etc/hostname'), 'x\n');
  symlinkSync('/etc', join(root, 'link-to-etc'));
  symlinkSync('../../../../../../real', join(root, 'climb'));
});
afterAll(() => rmSync(join(root, '..'), { recursive: true, force: true }));

/** An empty rootfs next to the shared one, for a hostile layout. */
function hostileRoot(name: string): string {
  const r = join(root, '..', `hostile-${name}`);
  mkdirSync(r);
  return r;
}

describe('specFromFlags', () => {
  it('fills Docker-like defaults', async () => {
    const s = await spec(['sh']);
    expect(s.hostname).toBe(ID.slice(0, 12));
    expect(s.cwd).toBe('/');
    expect(s.uid).toBe(0);
    expect(s.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `HOSTNAME=${ID.slice(0, 12)}`,
      'HOME=/root',
    ]);
    expect(s.capabilities).toEqual(DOCKER_DEFAULT_CAPS.slice().sort((a, b) => (capMask([a]) < capMask([b]) ? -1 : 1)));
    expect(s.noNewPrivileges).toBe(true);
    expect(s.stopTimeoutSec).toBe(10);
    expect(s.maskedPaths).toContain('/proc/kcore');
  });

  it('applies -e over --env-file over defaults, and -e KEY copies from the host', async () => {
    const file = join(host, 'env');
    writeFileSync(file, '# c\nA=file\nB=file\n\n');
    process.env.MINIDOCK_TEST_COPIED = 'copied';
    const s = await spec(['sh'], {
      envFile: [file],
      env: ['B=cli', 'MINIDOCK_TEST_COPIED', 'MINIDOCK_TEST_UNSET', 'PATH=/bin'],
    });
    expect(s.env).toContain('A=file');
    expect(s.env).toContain('B=cli');
    expect(s.env).toContain('MINIDOCK_TEST_COPIED=copied');
    expect(s.env.some((e) => e.startsWith('MINIDOCK_TEST_UNSET'))).toBe(false);
    expect(s.env.filter((e) => e.startsWith('PATH='))).toEqual(['PATH=/bin']);
  });

  it('rejects bad input with one clear line (exit 125)', async () => {
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => specFromFlags(ID, '/no/such', ['sh'], {}, noSeccomp), /^rootfs \/no\/such: no such directory/],
      [() => specFromFlags(ID, join(host, 'file.txt'), ['sh'], {}, noSeccomp), /not a directory/],
      [() => spec([]), /^no command given/],
      [() => spec(['sh'], { env: ['1BAD=x'] }), /^-e "1BAD=x": the variable name/],
      [() => spec(['sh'], { workdir: 'rel' }), /^-w rel: the working directory must be an absolute path/],
      [() => spec(['sh'], { hostname: 'has space' }), /^--hostname has space:/],
      [() => spec(['sh'], { stopTimeout: '-3' }), /^--stop-timeout -3:/],
      [() => spec(['sh'], { securityOpt: ['apparmor=x'] }), /^--security-opt apparmor=x: unknown option/],
      [() => spec(['sh'], { capAdd: ['NOT_A_CAP'] }), /^--cap-add NOT_A_CAP: unknown capability/],
      [() => spec(['sh'], { envFile: ['/no/such/file'] }), /^--env-file \/no\/such\/file: ENOENT/],
    ];
    for (const [fn, re] of cases) {
      const e = await minidockRejection(fn());
      expect(e.code).toBe(125);
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain('\n');
    }
  });
});

describe('-u', () => {
  it("resolves names and numbers in the container's /etc/passwd and /etc/group", () => {
    expect(parseUser(root, 'user')).toEqual({ uid: 1000, gid: 1000, home: '/home/user', groups: [1000, 100, 10] });
    expect(parseUser(root, '1000:100')).toMatchObject({ uid: 1000, gid: 100 });
    expect(parseUser(root, 'user:wheel')).toMatchObject({ uid: 1000, gid: 10 });
    // a uid missing from /etc/passwd runs with gid 0 (Docker)
    expect(parseUser(root, '4242')).toEqual({ uid: 4242, gid: 0, home: '/', groups: [0] });
    expect(minidockError(() => parseUser(root, 'ghost')).message).toMatch(/no user "ghost"/);
    expect(minidockError(() => parseUser(root, 'user:nogroup')).message).toMatch(/no group "nogroup"/);
  });
});

describe('-u in a hostile rootfs: every file is read inside the rootfs, a regular file, with a size cap', () => {
  it("/etc -> /etc is a loop inside the rootfs, not the host's /etc", () => {
    const r = hostileRoot('etc-link');
    symlinkSync('/etc', join(r, 'etc'));
    const e = minidockError(() => parseUser(r, 'bin'));
    expect(e.message).toMatch(/^-u bin: the container's \/etc\/passwd leads through more than 40 symbolic links/);
  });

  it("/etc/passwd -> /etc/shadow is the rootfs's own /etc/shadow", () => {
    const r = hostileRoot('shadow');
    mkdirSync(join(r, 'etc'));
    symlinkSync('/etc/shadow', join(r, 'etc/passwd'));
    // no /etc/shadow in the rootfs: no such user (the host's shadow has a "root" line)
    expect(minidockError(() => parseUser(r, 'root')).message).toMatch(
      /no user "root" in the container's \/etc\/passwd/,
    );
    writeFileSync(join(r, 'etc/shadow'), 'root:x:4242:4243:r:/r:/bin/sh\n');
    expect(parseUser(r, 'root')).toMatchObject({ uid: 4242, gid: 4243, home: '/r' });
  });

  it('refuses a FIFO without opening it for long, a directory, and a file above the cap', () => {
    const r = hostileRoot('fifo');
    mkdirSync(join(r, 'etc'));
    execFileSync('mkfifo', [join(r, 'etc/passwd')]);
    expect(minidockError(() => parseUser(r, 'user')).message).toMatch(
      /^-u user: the container's \/etc\/passwd is a FIFO, not a regular file/,
    );
    rmSync(join(r, 'etc/passwd'));
    mkdirSync(join(r, 'etc/passwd'));
    expect(minidockError(() => parseUser(r, '1000')).message).toMatch(
      /\/etc\/passwd is a directory, not a regular file/,
    );
    rmSync(join(r, 'etc/passwd'), { recursive: true });
    writeFileSync(join(r, 'etc/passwd'), '');
    truncateSync(join(r, 'etc/passwd'), MAX_CONTAINER_FILE + 1); // sparse: no disk used
    expect(minidockError(() => parseUser(r, 'user')).message).toMatch(
      new RegExp(`/etc/passwd is ${MAX_CONTAINER_FILE + 1} bytes; minidock reads at most 16 MiB`),
    );
    truncateSync(join(r, 'etc/passwd'), MAX_CONTAINER_FILE); // exactly the cap is read
    expect(dirView(r).readFile('etc/passwd', 'x')?.length).toBe(MAX_CONTAINER_FILE);
  });

  it('names the symlink it followed', () => {
    const r = hostileRoot('named');
    mkdirSync(join(r, 'etc'));
    execFileSync('mkfifo', [join(r, 'etc/fifo')]);
    symlinkSync('fifo', join(r, 'etc/group'));
    expect(minidockError(() => parseUser(r, '0:wheel')).message).toMatch(
      /^-u 0:wheel: the container's \/etc\/group \(a symlink to \/etc\/fifo\) is a FIFO/,
    );
  });
});

// openat2 exists since Linux 5.6; without it (ENOSYS) the open falls back to O_NOFOLLOW.
const probe = mdOpenBeneath('/', 'etc');
if (probe >= 0) closeSync(probe);
const hasOpenat2 = probe !== -38;

describe(`what resolveWith() decided is what is opened (${hasOpenat2 ? 'openat2 on this kernel' : 'no openat2 on this kernel: O_NOFOLLOW'})`, () => {
  // A rootfs that changes between the resolution and the open (a race) is simulated by handing the
  // reader a resolution that is no longer true.
  it('a file that became a FIFO is refused after a non-blocking open, not waited on', () => {
    const r = hostileRoot('race-fifo');
    mkdirSync(join(r, 'etc'));
    execFileSync('mkfifo', [join(r, 'etc/passwd')]);
    expect(
      minidockError(() => readResolvedFile(r, 'etc/passwd', { inner: '/etc/passwd', kind: 'file' }, '-u x')).message,
    ).toMatch(
      /^-u x: the container's \/etc\/passwd is a FIFO, not a regular file \(it changed while minidock read it\)/,
    );
  });

  it('a file that became a symlink is refused (ELOOP), never followed', () => {
    const r = hostileRoot('race-link');
    mkdirSync(join(r, 'etc'));
    symlinkSync('/etc/hostname', join(r, 'etc/passwd'));
    expect(openResolved(r, '/etc/passwd')).toBe(-40);
    expect(
      minidockError(() => readResolvedFile(r, 'etc/passwd', { inner: '/etc/passwd', kind: 'file' }, '-u x')).message,
    ).toMatch(/ELOOP opening it \(it became a symbolic link while minidock read it\)/);
  });

  it.skipIf(!hasOpenat2)(
    'a directory above it that became a symlink is refused too (needs openat2: skipped without it)',
    () => {
      expect(openResolved(root, '/link-to-etc/passwd')).toBe(-40);
      const fd = openResolved(root, '/etc/passwd');
      expect(fd).toBeGreaterThanOrEqual(0);
      closeSync(fd);
    },
  );
});

describe('-v', () => {
  it('parses HOST:CONTAINER[:ro]', () => {
    expect(parseVolume(root, `${host}:/data`)).toEqual({
      source: host,
      destination: '/data',
      readonly: false,
      isFile: false,
    });
    expect(parseVolume(root, `${host}:/new/dir:ro`)).toEqual({
      source: host,
      destination: '/new/dir',
      readonly: true,
      isFile: false,
    });
    expect(parseVolume(root, `${host}/file.txt:/etc/hostname`)).toMatchObject({
      destination: '/etc/hostname',
      isFile: true,
    });
  });

  it('resolves symlinks inside the rootfs, never on the host', () => {
    expect(parseVolume(root, `${host}:/link-to-etc/sub`).destination).toBe('/etc/sub');
    expect(parseVolume(root, `${host}:/climb`).destination).toBe('/real');
  });

  it('refuses bad specs', () => {
    expect(minidockError(() => parseVolume(root, 'x')).message).toMatch(/use HOST_PATH:CONTAINER_PATH/);
    expect(minidockError(() => parseVolume(root, `${host}:/d:rx`)).message).toMatch(/unknown mode "rx"/);
    expect(minidockError(() => parseVolume(root, `${host}:rel`)).message).toMatch(/container path must be absolute/);
    expect(minidockError(() => parseVolume(root, `${host}:/`)).message).toMatch(
      /cannot mount over the container's root/,
    );
    expect(minidockError(() => parseVolume(root, `${host}/file.txt:/data`)).message).toMatch(
      /is a file but \/data is a directory/,
    );
  });
});

describe('scopedResolve', () => {
  it('follows absolute links from the container root and clamps ..', () => {
    expect(scopedResolve(root, '/link-to-etc/passwd')).toMatchObject({ inner: '/etc/passwd', kind: 'file' });
    expect(scopedResolve(root, '/../../etc')).toMatchObject({ inner: '/etc', kind: 'dir' });
    expect(scopedResolve(root, '/climb')).toMatchObject({ inner: '/real', kind: 'dir' });
    expect(scopedResolve(root, '/nope/a/../b')).toEqual({ inner: '/nope/b', kind: 'missing' });
  });

  it("calls a symlink loop a loop (the kernel's ELOOP), not a file or a path to create", () => {
    const r = hostileRoot('loop');
    symlinkSync('/tmp', join(r, 'tmp')); // inside the rootfs, /tmp -> /tmp is itself
    expect(scopedResolve(r, '/tmp/x').kind).toBe('loop');
    // before, a loop came back as a plain path: -v's mkdir then followed tmp -> /tmp on the host
    expect(minidockError(() => parseVolume(r, `${host}:/tmp/x`)).message).toMatch(
      /^-v .*: \/tmp\/x leads through more than 40 symbolic links inside the rootfs/,
    );
  });
});

describe('--ulimit and --security-opt', () => {
  it("never asks for a hard limit above the caller's", () => {
    const hard = () => 4096;
    expect(parseUlimit('nofile=1024:2048', hard)).toEqual({ type: 'nofile', soft: 1024, hard: 2048 });
    expect(parseUlimit('nproc=50', hard)).toEqual({ type: 'nproc', soft: 50, hard: 50 });
    expect(minidockError(() => parseUlimit('nofile=1024:1048576', hard)).message).toMatch(
      /above minidock's own hard limit 4096 .*CAP_SYS_RESOURCE/,
    );
    expect(minidockError(() => parseUlimit('nofile=10:5', hard)).message).toMatch(/soft limit is above the hard limit/);
    expect(minidockError(() => parseUlimit('bogus=1', hard)).message).toMatch(/unknown limit "bogus"/);
  });

  it('reads seccomp and no-new-privileges options', () => {
    expect(parseSecurityOpts([])).toEqual({ noNewPrivileges: true, seccomp: 'default' });
    expect(parseSecurityOpts(['seccomp=unconfined', 'no-new-privileges=false'])).toEqual({
      noNewPrivileges: false,
      seccomp: 'unconfined',
    });
    expect(parseSecurityOpts(['seccomp=/p.json'])).toEqual({ noNewPrivileges: true, seccomp: { file: '/p.json' } });
  });

  it('refuses a NUL in an env value (execve would cut it there), from --env-file, -e or the image', async () => {
    const f = join(host, 'env-nul');
    writeFileSync(f, 'A=1\nB=x\0y\n');
    const e = minidockError(() => parseEnvFile(f));
    expect(e.code).toBe(125);
    expect(e.message).toMatch(/^--env-file .*env-nul line 2: "B=x\\u0000y": contains a NUL byte/);
    expect((await minidockRejection(spec(['sh'], { env: ['C=a\0b'] }))).message).toMatch(
      /^-e "C=a\\u0000b": contains a NUL byte/,
    );
    const image = { ...dirView(root), lowerDirs: [root], env: ['D=a\0b'] };
    expect((await minidockRejection(specFromFlags(ID, root, ['sh'], {}, noSeccomp, image))).message).toMatch(
      /^image config Env "D=a\\u0000b": contains a NUL byte/,
    );
    expect((await minidockRejection(spec(['sh', 'a\0b']))).message).toMatch(/contains a NUL byte/);
  });

  it('reads env files', () => {
    const f = join(host, 'env2');
    writeFileSync(f, 'X=1\r\n# no\n  Y=two words  \n');
    expect(parseEnvFile(f)).toEqual(['X=1', 'Y=two words']);
  });
});

describe('-t and the input device', () => {
  it('refuses -i -t when stdin is not a terminal, as Docker does, and says to drop -t', () => {
    const e = minidockError(() => checkTtyInput({ interactive: true, tty: true }, false));
    expect(e.code).toBe(125);
    expect(e.message).toMatch(/^-i -t: the input device is not a TTY .*drop -t/);
  });

  it('lets a terminal, -i alone and -t alone through', () => {
    expect(() => checkTtyInput({ interactive: true, tty: true }, true)).not.toThrow();
    expect(() => checkTtyInput({ interactive: true }, false)).not.toThrow();
    expect(() => checkTtyInput({ tty: true }, false)).not.toThrow();
  });
});

describe('capabilities', () => {
  it("follows Docker's add/drop rules", () => {
    expect(resolveCaps([], ['ALL'], false)).toEqual([]);
    expect(resolveCaps(['net_admin'], ['ALL'], false)).toEqual(['CAP_NET_ADMIN']);
    expect(resolveCaps([], ['CAP_NET_RAW', 'chown'], false)).not.toContain('CAP_NET_RAW');
    expect(resolveCaps([], [], true).length).toBe(41);
    expect(capMask(['CAP_CHOWN', 'CAP_SYS_ADMIN'])).toBe((1n << 0n) | (1n << 21n));
  });
});
