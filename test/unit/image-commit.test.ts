// The pure parts of commit, save, tag and cp: overlayfs's whiteouts and opaque directories as OCI
// tar members, Docker's reference grammar, the committed config, and cp's argument split and
// "where does it land" rules.
import type { Stats } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { committedConfig } from '../../src/image/commit.js';
import { membersFor, opaqueMarkerName, whiteoutName } from '../../src/image/layer-tar.js';
import { parseReference, splitName } from '../../src/image/reference.js';
import { cpTarget, parseCpArg } from '../../src/runtime/lifecycle/cp.js';
import { minidockError } from '../helpers';

type Kind = 'file' | 'dir' | 'link' | 'chr' | 'fifo';
function fakeStat(kind: Kind, over: Partial<Stats> = {}): Stats {
  const is = (k: Kind) => () => kind === k;
  return {
    isFile: is('file'),
    isDirectory: is('dir'),
    isSymbolicLink: is('link'),
    isCharacterDevice: is('chr'),
    isBlockDevice: () => false,
    isFIFO: is('fifo'),
    isSocket: () => false,
    mode: 0o100644,
    uid: 1000,
    gid: 100,
    size: 5,
    rdev: 0,
    nlink: 1,
    mtimeMs: 1_700_000_000_500,
    ...over,
  } as unknown as Stats;
}
const plain = { overlay: true, opaque: false, xattrs: new Map<string, Buffer>() };

describe('overlayfs -> OCI layer members', () => {
  it('names whiteouts and opaque markers as AUFS did', () => {
    expect(whiteoutName('a/b')).toBe('a/.wh.b');
    expect(whiteoutName('top')).toBe('.wh.top');
    expect(opaqueMarkerName('a/b')).toBe('a/b/.wh..wh..opq');
    expect(opaqueMarkerName('')).toBe('.wh..wh..opq');
  });
  it('a char device 0/0 in an upper dir is a whiteout: an empty file .wh.NAME with fixed attributes', () => {
    const [m, ...rest] = membersFor({ rel: 'etc/motd', st: fakeStat('chr'), root: '/u' }, plain);
    expect(rest).toEqual([]);
    expect(m).toMatchObject({ path: 'etc/.wh.motd', type: 'File', size: 0, mode: 0o600, uid: 0, gid: 0 });
    expect(m.mtime.getTime()).toBe(0);
  });
  it('a char device 0/0 outside an overlay (a rootfs) stays a device node', () => {
    const [m] = membersFor({ rel: 'dev/x', st: fakeStat('chr'), root: '/r' }, { ...plain, overlay: false });
    expect(m).toMatchObject({ path: 'dev/x', type: 'CharacterDevice', devmaj: 0, devmin: 0 });
  });
  it('a real character device (1/3) is never a whiteout', () => {
    const [m] = membersFor({ rel: 'dev/null', st: fakeStat('chr', { rdev: 0x103 }), root: '/u' }, plain);
    expect(m).toMatchObject({ path: 'dev/null', type: 'CharacterDevice', devmaj: 1, devmin: 3 });
  });
  it('an opaque directory: the directory, then its marker; the root gets no entry of its own', () => {
    const ms = membersFor(
      { rel: 'home', st: fakeStat('dir', { mode: 0o40755 }), root: '/u' },
      { ...plain, opaque: true },
    );
    expect(ms.map((m) => [m.path, m.type])).toEqual([
      ['home/', 'Directory'],
      ['home/.wh..wh..opq', 'File'],
    ]);
    expect(ms[0].mode).toBe(0o755);
    expect(membersFor({ rel: '', st: fakeStat('dir'), root: '/u' }, plain)).toEqual([]);
    expect(
      membersFor({ rel: '', st: fakeStat('dir'), root: '/u' }, { ...plain, opaque: true }).map((m) => m.path),
    ).toEqual(['.wh..wh..opq']);
  });
  it('files keep mode, owner, whole-second mtime; hard links and symlinks are links', () => {
    const [f] = membersFor({ rel: 'bin/x', st: fakeStat('file', { mode: 0o104755 }), root: '/u' }, plain);
    expect(f).toMatchObject({
      type: 'File',
      mode: 0o4755,
      uid: 1000,
      gid: 100,
      size: 5,
      data: { root: '/u', rel: 'bin/x' },
    });
    expect(f.mtime.getTime()).toBe(1_700_000_000_000);
    const [h] = membersFor({ rel: 'bin/y', st: fakeStat('file'), root: '/u' }, { ...plain, firstLink: 'bin/x' });
    expect(h).toMatchObject({ type: 'Link', linkpath: 'bin/x', size: 0 });
    const [l] = membersFor({ rel: 'sh', st: fakeStat('link'), root: '/u', linkTarget: '/bin/busybox' }, plain);
    expect(l).toMatchObject({ type: 'SymbolicLink', linkpath: '/bin/busybox' });
  });
});

describe('image references (tag, commit)', () => {
  it.each([
    ['bb', 'bb:latest'],
    ['bb:1.36', 'bb:1.36'],
    ['my-app/web_1:v2.0-rc', 'my-app/web_1:v2.0-rc'],
    ['localhost:5000/a/b', 'localhost:5000/a/b:latest'],
    ['registry.example.com/x:y', 'registry.example.com/x:y'],
  ])('%s is %s', (raw, name) => {
    expect(parseReference(raw, 'tag').name).toBe(name);
  });
  it.each([
    ['', /empty/],
    ['Bad', /lowercase/],
    ['a//b', /empty path component/],
    ['a/', /empty path component/],
    ['a:-x', /tag "-x"/],
    [`a:${'t'.repeat(129)}`, /tag/],
    ['a@sha256:abcd', /digest/],
    ['a..b', /lowercase letters and digits/],
    ['-a', /lowercase letters and digits/],
  ])('%s is refused in one line', (raw, why) => {
    const e = minidockError(() => parseReference(raw, 'tag'));
    expect(e.code).toBe(125);
    expect(e.message).toMatch(why);
  });
  it('splitName: a registry port is not a tag', () => {
    expect(splitName('localhost:5000/a:1')).toEqual(['localhost:5000/a', '1']);
    expect(splitName('localhost:5000/a')).toEqual(['localhost:5000/a', 'latest']);
  });
});

describe('commit: the config from the container', () => {
  const spec = {
    args: ['/bin/sh', '-c', 'echo hi'],
    env: ['PATH=/bin', 'HOSTNAME=abc', 'HOME=/root', 'X=1'],
    cwd: '/',
    uid: 0,
    gid: 0,
  };
  it('the command becomes Cmd; run-added HOSTNAME and HOME go, unless the image had them', () => {
    expect(committedConfig(undefined, spec)).toEqual({ Cmd: ['/bin/sh', '-c', 'echo hi'], Env: ['PATH=/bin', 'X=1'] });
    expect(committedConfig({ Env: ['HOME=/root'] }, spec).Env).toEqual(['PATH=/bin', 'HOME=/root', 'X=1']);
  });
  it("the image's Entrypoint stays when the command starts with it", () => {
    expect(committedConfig({ Entrypoint: ['/bin/sh', '-c'] }, spec)).toMatchObject({
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo hi'],
    });
    expect(committedConfig({ Entrypoint: ['/app'] }, spec)).not.toHaveProperty('Entrypoint');
  });
  it('working directory and a non-root user', () => {
    expect(committedConfig(undefined, { ...spec, cwd: '/data', uid: 1000, gid: 100 })).toMatchObject({
      WorkingDir: '/data',
      User: '1000:100',
    });
    expect(committedConfig({ User: 'nobody' }, { ...spec, uid: 65534, gid: 65534 }).User).toBe('nobody');
  });
});

describe('cp: arguments and where things land (Docker rules)', () => {
  it('splits CONTAINER:PATH at the first ":"; absolute and ./ paths are local', () => {
    expect(parseCpArg('web:/etc/x')).toEqual({ container: 'web', path: '/etc/x' });
    expect(parseCpArg('web:')).toEqual({ container: 'web', path: '/' });
    expect(parseCpArg('/a:b')).toEqual({ path: '/a:b' });
    expect(parseCpArg('./a:b')).toEqual({ path: './a:b' });
    expect(parseCpArg('file')).toEqual({ path: 'file' });
  });
  const file = { path: '/h/f', isDir: false };
  const dir = { path: '/h/d', isDir: true };
  it('a file: into a directory, as a missing or existing file, never to a missing dir/', () => {
    expect(cpTarget(file, { path: '/tmp', kind: 'dir', given: '/tmp' })).toEqual({ dir: '/tmp', name: 'f' });
    expect(cpTarget(file, { path: '/tmp/g', kind: 'missing', given: '/tmp/g' })).toEqual({ dir: '/tmp', name: 'g' });
    expect(cpTarget(file, { path: '/tmp/g', kind: 'other', given: '/tmp/g' })).toEqual({ dir: '/tmp', name: 'g' });
    expect(minidockError(() => cpTarget(file, { path: '/x', kind: 'missing', given: '/x/' })).message).toMatch(
      /does not exist/,
    );
    expect(minidockError(() => cpTarget(file, { path: '/x', kind: 'other', given: '/x/' })).message).toMatch(
      /not a directory/,
    );
  });
  it('a directory: made when missing, into an existing one (its contents with /.), never onto a file', () => {
    expect(cpTarget(dir, { path: '/n', kind: 'missing', given: '/n' })).toEqual({ dir: '/', name: 'n' });
    expect(cpTarget(dir, { path: '/t', kind: 'dir', given: '/t' })).toEqual({ dir: '/t', name: 'd' });
    expect(cpTarget({ path: '/h/d/.', isDir: true }, { path: '/t', kind: 'dir', given: '/t' })).toEqual({ dir: '/t' });
    expect(minidockError(() => cpTarget(dir, { path: '/f', kind: 'other', given: '/f' })).message).toMatch(
      /cannot copy a directory to a file/,
    );
  });
});
