// minidock cp against real containers, running (through /proc/PID/root) and stopped (into upper/,
// read over the layers): both directions, directories, -a, -L, Docker's landing rules, and the
// symlink escapes: a container's /etc/evil -> /root or -> ../../../../etc must lead into the
// container's own /root and /etc, never the host's, for writes and for reads.
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOTFS, canRun, minidock, skipReason, useLeakCheckedRoot } from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/cp.test.ts: ${skipReason}`);

// names no host has: the test checks they never appear in the host's /root and /etc
const MARK = `minidock-cp-escape-${process.pid}`;
const SETUP = [
  'ln -s /root /etc/evil',
  'ln -s ../../../../etc /etc/evil2',
  'echo container-shadow > /etc/shadow',
  'ln -s /etc/shadow /link-to-host-file',
  'mkdir -p /root /data/sub',
  'echo in-container > /data/sub/f',
  'rm -rf /home',
].join('; ');

d('cp (real containers)', () => {
  let root = '';
  let host = '';
  useLeakCheckedRoot((r) => (root = r));
  beforeAll(() => {
    host = mkdtempSync(join(tmpdir(), 'minidock-cp-host-'));
    writeFileSync(join(host, 'f'), 'from host\n');
    mkdirSync(join(host, 'dir', 'inner'), { recursive: true });
    writeFileSync(join(host, 'dir', 'inner', 'a'), 'a\n', { mode: 0o640 });
    symlinkSync('/etc/passwd', join(host, 'dir', 'lnk'));
    writeFileSync(join(host, 'owned'), 'owned\n');
    chownSync(join(host, 'owned'), 1234, 5678);
    symlinkSync(join(host, 'f'), join(host, 'f-link'));
  });
  afterAll(() => {
    rmSync(host, { recursive: true, force: true });
    for (const p of [`/root/${MARK}`, `/etc/${MARK}`]) if (existsSync(p)) rmSync(p); // (only if a test failed)
  });
  const md = (args: string[]) => minidock(args, { root });
  const ok = (args: string[]): string => {
    const r = md(args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    expect(r.stderr).toBe('');
    return r.stdout;
  };
  const refused = (args: string[], code: number, text: RegExp): void => {
    const r = md(args);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(text);
  };
  const hostUntouched = () => {
    expect(existsSync(`/root/${MARK}`)).toBe(false);
    expect(existsSync(`/etc/${MARK}`)).toBe(false);
  };

  /** The checks both kinds of container pass; `see` reads a path as the container sees it. */
  function escapes(c: string, see: (path: string) => string): void {
    ok(['cp', join(host, 'f'), `${c}:/etc/evil/${MARK}`]);
    ok(['cp', join(host, 'f'), `${c}:/etc/evil2/${MARK}`]);
    hostUntouched();
    expect(see(`/root/${MARK}`)).toBe('from host\n'); // the container's own /root
    expect(see(`/etc/${MARK}`)).toBe('from host\n'); // ../../../../etc stopped at the container's /
    // reading: the link is copied as a link; -L reads the container's file, never the host's
    const out = join(host, `out-${c}`);
    mkdirSync(out);
    ok(['cp', `${c}:/link-to-host-file`, out]);
    expect(readlinkSync(join(out, 'link-to-host-file'))).toBe('/etc/shadow');
    ok(['cp', '-L', `${c}:/link-to-host-file`, join(out, 'followed')]);
    expect(readFileSync(join(out, 'followed'), 'utf8')).toBe('container-shadow\n');
    ok(['cp', `${c}:/etc/evil/${MARK}`, join(out, 'through-link')]);
    expect(readFileSync(join(out, 'through-link'), 'utf8')).toBe('from host\n');
  }

  function directories(c: string, see: (path: string) => string): void {
    ok(['cp', join(host, 'dir'), `${c}:/tmp/`]); // into an existing directory, as /tmp/dir
    expect(see('/tmp/dir/inner/a')).toBe('a\n');
    ok(['cp', join(host, 'dir'), `${c}:/newdir`]); // a missing DEST is made
    expect(see('/newdir/inner/a')).toBe('a\n');
    ok(['cp', `${join(host, 'dir')}/.`, `${c}:/home`]); // /home was deleted: made anew, contents only
    expect(see('/home/inner/a')).toBe('a\n');
    const out = join(host, `back-${c}`);
    ok(['cp', `${c}:/data`, out]);
    expect(readFileSync(join(out, 'sub', 'f'), 'utf8')).toBe('in-container\n');
    ok(['cp', `${c}:/tmp/dir/.`, `${out}-contents`]);
    expect(lstatSync(join(`${out}-contents`, 'lnk')).isSymbolicLink()).toBe(true);
    expect(statSync(join(`${out}-contents`, 'inner', 'a')).mode & 0o777).toBe(0o640);
    // owners: the container's root, or with -a the source's
    ok(['cp', join(host, 'owned'), `${c}:/o1`]);
    ok(['cp', '-a', join(host, 'owned'), `${c}:/o2`]);
    expect(see('/o1')).toBe('owned\n');
    ok(['cp', '-a', `${c}:/o2`, join(out, 'o2')]);
    expect(statSync(join(out, 'o2'))).toMatchObject({ uid: 1234, gid: 5678 });
    ok(['cp', `${c}:/o1`, join(out, 'o1')]);
    expect(statSync(join(out, 'o1'))).toMatchObject({ uid: 0, gid: 0 });
    // -L on the host side: the link's file, not the link
    ok(['cp', '-L', join(host, 'f-link'), `${c}:/followed`]);
    expect(see('/followed')).toBe('from host\n');
  }

  it('a stopped container: writes land in its upper layer, reads merge its layers; symlinks stay inside', () => {
    ok(['run', '--name', 'stopped', ROOTFS, 'sh', '-c', SETUP]);
    // what the container would see: commit it, run the image (the overlay merges upper/ as the kernel does)
    const see = (path: string) => {
      ok(['commit', 'stopped', 'cp-view:1']);
      const r = md(['run', '--rm', 'cp-view:1', 'cat', path]);
      ok(['rmi', 'cp-view:1']);
      return r.stdout;
    };
    escapes('stopped', see);
    directories('stopped', see);
    ok(['commit', 'stopped', 'cp-view:2']);
    expect(ok(['run', '--rm', 'cp-view:2', 'sh', '-c', 'ls /home; stat -c %u:%g /o1 /o2 /home/inner/a'])).toBe(
      'inner\nlnk\n0:0\n1234:5678\n0:0\n',
    );
    ok(['rmi', 'cp-view:2']);
    ok(['rm', 'stopped']);
    hostUntouched();
  });

  it('a running container: through /proc/PID/root, the same rules', () => {
    ok(['run', '-d', '--name', 'running', ROOTFS, 'sh', '-c', `${SETUP}; touch /ready; sleep 60`]);
    for (let i = 0; i < 100 && md(['exec', 'running', 'test', '-e', '/ready']).code !== 0; i++);
    const see = (path: string) => md(['exec', 'running', 'cat', path]).stdout;
    escapes('running', see);
    directories('running', see);
    expect(ok(['exec', 'running', 'stat', '-c', '%u:%g', '/o1', '/o2'])).toBe('0:0\n1234:5678\n');
    ok(['rm', '-f', 'running']);
    hostUntouched();
  });

  it('bad input: one line, exit 125 (1 for a missing container), nothing written', () => {
    ok(['run', '--name', 'b', ROOTFS, 'sh', '-c', 'echo x > /file; mkdir /d']);
    refused(['cp', join(host, 'f'), join(host, 'g')], 125, /one of SRC and DEST must be CONTAINER:PATH/);
    refused(['cp', 'b:/file', 'b:/other'], 125, /between containers is not supported/);
    refused(['cp', join(host, 'f'), 'nosuch:/x'], 1, /no such container: nosuch/);
    refused(['cp', join(host, 'missing'), 'b:/'], 125, /no such file or directory on the host/);
    refused(['cp', 'b:/missing', host], 125, /no such file or directory in container b/);
    refused(['cp', join(host, 'dir'), 'b:/file'], 125, /cannot copy a directory to a file/);
    refused(['cp', join(host, 'f'), 'b:/nodir/'], 125, /does not exist/);
    refused(['cp', join(host, 'f'), 'b:/nodir/deeper/x'], 125, /does not exist in the container/);
    refused(['cp', join(host, 'f'), ':/x'], 125, /needs a container name/);
    refused(['cp', '-', 'b:/x'], 125, /not supported/);
    expect(ok(['diff', 'b'])).toBe('A /d\nA /file\n');
    ok(['rm', 'b']);
  });
});
