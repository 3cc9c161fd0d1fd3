// The layer store's bookkeeping (names, lookups, layer GC with pins and containers) and the
// layered view of an image's files (whiteouts, opaque dirs, symlinks resolved inside the image).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layeredReadFile, layeredResolve } from '../../src/image/layered-fs';
import {
  containersOf,
  findImage,
  gcLayers,
  layerDir,
  layerFs,
  normalizeName,
  pinLayers,
  saveImage,
  type ImageRecord,
} from '../../src/image/store';
import { mdLsetxattr, mdMknod } from '../../src/sys/native';

const isRoot = process.getuid?.() === 0;
const D = (c: string): string => 'sha256:' + c.repeat(64);
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'md-image-store-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function fakeLayer(diffId: string): void {
  mkdirSync(layerFs(root, diffId), { recursive: true });
  writeFileSync(
    join(layerDir(root, diffId), 'layer.json'),
    JSON.stringify({ diffId, size: 1, entries: 1, unpacked: '' }),
  );
}

function img(id: string, names: string[], layers: string[]): ImageRecord {
  return { id, names, layers, config: {}, imported: new Date().toISOString(), format: 'docker-archive' };
}

describe('names and lookups', () => {
  it('normalizes NAME to NAME:latest, keeps registry ports and tags', () => {
    expect(normalizeName('busybox')).toBe('busybox:latest');
    expect(normalizeName('bb:1.36')).toBe('bb:1.36');
    expect(normalizeName('localhost:5000/a/b')).toBe('localhost:5000/a/b:latest');
    expect(normalizeName('localhost:5000/a/b:v2')).toBe('localhost:5000/a/b:v2');
    expect(() => normalizeName('bad name')).toThrow(/use NAME\[:TAG\]/);
    expect(() => normalizeName('a//b')).toThrow();
  });
  it('finds by name, full ID and unique ID prefix', () => {
    saveImage(root, img(D('a'), ['x:1'], []));
    saveImage(root, img('sha256:ab' + 'c'.repeat(62), ['y:latest'], []));
    expect(findImage(root, 'x:1')?.id).toBe(D('a'));
    expect(findImage(root, 'y')?.names).toEqual(['y:latest']);
    expect(findImage(root, D('a'))?.names).toEqual(['x:1']);
    expect(findImage(root, 'aaaa')?.id).toBe(D('a'));
    expect(findImage(root, 'abcc')?.names).toEqual(['y:latest']);
    expect(findImage(root, 'abab')).toBeUndefined();
    expect(findImage(root, 'nope')).toBeUndefined();
  });
  it('refuses an ambiguous ID prefix', () => {
    saveImage(root, img('sha256:abcd' + '1'.repeat(60), [], []));
    saveImage(root, img('sha256:abcd' + '2'.repeat(60), [], []));
    expect(() => findImage(root, 'abcd')).toThrow(/ambiguous/);
  });
});

describe('layer GC', () => {
  it('keeps layers of images, of pinned imports and of existing containers; removes the rest', () => {
    for (const c of 'abcde') fakeLayer(D(c));
    saveImage(root, img(D('1'), ['i:1'], [D('a'), D('b')]));
    const unpin = pinLayers(root, [D('c')]);
    // a container (its config.json, as the runtime writes it) standing on layer d
    const cdir = join(root, 'containers', 'f'.repeat(64));
    mkdirSync(cdir, { recursive: true });
    writeFileSync(
      join(cdir, 'config.json'),
      JSON.stringify({ name: 'c1', spec: { rootfs: layerFs(root, D('d')), lowerDirs: [layerFs(root, D('d'))] } }),
    );
    expect(gcLayers(root)).toEqual([D('e')]);
    unpin();
    expect(gcLayers(root)).toEqual([D('c')]);
    rmSync(cdir, { recursive: true });
    expect(gcLayers(root)).toEqual([D('d')]);
    expect(existsSync(layerDir(root, D('a')))).toBe(true);
  });
  it('a pin of a dead process does not hold layers', () => {
    fakeLayer(D('a'));
    mkdirSync(join(root, 'tmp'), { recursive: true });
    writeFileSync(join(root, 'tmp', 'pin-dead.json'), JSON.stringify({ pid: 2 ** 22 + 1, layers: [D('a')] }));
    expect(gcLayers(root)).toEqual([D('a')]);
  });
  it("containersOf matches containers on exactly the image's layers (top first)", () => {
    const im = img(D('1'), [], [D('a'), D('b')]);
    const mk = (id: string, lowers: string[]): void => {
      mkdirSync(join(root, 'containers', id), { recursive: true });
      writeFileSync(join(root, 'containers', id, 'config.json'), JSON.stringify({ spec: { lowerDirs: lowers } }));
    };
    mk('1'.repeat(64), [layerFs(root, D('b')), layerFs(root, D('a'))]);
    mk('2'.repeat(64), [layerFs(root, D('a'))]);
    expect(containersOf(root, im).map((c) => c.id)).toEqual(['1'.repeat(64)]);
  });
});

describe('layered view of an image', () => {
  it('the top layer wins; symlinks resolve inside the image, never on the host', () => {
    const top = join(root, 'top');
    const low = join(root, 'low');
    mkdirSync(join(top, 'etc'), { recursive: true });
    mkdirSync(join(low, 'etc'), { recursive: true });
    writeFileSync(join(low, 'etc/passwd'), 'low\n');
    writeFileSync(join(low, 'etc/group'), 'group-low\n');
    writeFileSync(join(top, 'etc/passwd'), 'top\n');
    symlinkSync('/etc', join(top, 'data')); // absolute: inside the image, not the host's /etc
    symlinkSync('../../../../etc/group', join(low, 'grp'));
    expect(layeredReadFile([top, low], 'etc/passwd')).toBe('top\n');
    expect(layeredReadFile([top, low], 'etc/group')).toBe('group-low\n');
    expect(layeredReadFile([top, low], 'data/passwd')).toBe('top\n');
    expect(layeredReadFile([top, low], 'grp')).toBe('group-low\n'); // ".." stops at the image root
    expect(layeredResolve([top, low], '/data/new')).toEqual({ inner: '/etc/new', kind: 'missing' });
    // a found entry carries its lstat too (readResolvedFile checks the type from it)
    const { st, ...data } = layeredResolve([top, low], '/data');
    expect(data).toEqual({ inner: '/etc', kind: 'dir' });
    expect(st?.isDirectory()).toBe(true);
  });
  it.skipIf(!isRoot)('whiteouts and opaque directories hide lower layers (needs root: mknod, trusted.* xattrs)', () => {
    const top = join(root, 'top');
    const low = join(root, 'low');
    mkdirSync(join(top, 'opq'), { recursive: true });
    mkdirSync(join(low, 'opq'), { recursive: true });
    writeFileSync(join(low, 'gone'), 'x');
    writeFileSync(join(low, 'opq/hidden'), 'x');
    writeFileSync(join(low, 'kept'), 'kept');
    expect(mdMknod(join(top, 'gone'), 0o020000, 0, 0)).toBe(0);
    expect(mdLsetxattr(join(top, 'opq'), 'trusted.overlay.opaque', Buffer.from('y'))).toBe(0);
    expect(layeredResolve([top, low], '/gone').kind).toBe('missing');
    expect(layeredResolve([top, low], '/opq/hidden').kind).toBe('missing');
    expect(layeredResolve([top, low], '/opq').kind).toBe('dir');
    expect(layeredReadFile([top, low], 'kept')).toBe('kept');
  });
});
