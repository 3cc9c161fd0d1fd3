// The tar reader (raw PAX xattrs, GNU long names, types from the typeflag), archive-name checks,
// compression detection, size parsing, and the export tar writer read back by the reader.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { headerBlocks } from '../../src/image/export';
import { HostileArchiveError, safeParts } from '../../src/image/extract';
import { ByteBudget, detectCompression, fmtBytes, openLayer, parseSize } from '../../src/image/source';
import { ByteReader, parsePax, TarReader, type TarEntry } from '../../src/image/tar-reader';
import { SMUGGLE_NAME, innerTar, makeTar, rawHeader, sha256, slashTar, smuggleTar } from './image-fixtures';

async function entriesOf(tar: Buffer, chunk = 700): Promise<Array<TarEntry & { data: string }>> {
  // odd-sized chunks: headers and bodies straddle chunk boundaries
  const chunks: Buffer[] = [];
  for (let i = 0; i < tar.length; i += chunk) chunks.push(tar.subarray(i, i + chunk));
  const r = new TarReader(new ByteReader(Readable.from(chunks)));
  const out: Array<TarEntry & { data: string }> = [];
  for await (const e of r.entries()) {
    let data = '';
    if (e.path.endsWith('read-me')) for (let c = await r.body(); c; c = await r.body()) data += c.toString();
    out.push({ ...e, data });
  }
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'md-image-tar-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('TarReader', () => {
  it('reads entries, bodies, modes, owners, links and device numbers', async () => {
    const es = await entriesOf(
      makeTar([
        { path: 'd/', type: 'Directory', mode: 0o1777 },
        { path: 'd/read-me', body: 'x'.repeat(1500), mode: 0o4755, uid: 1000, gid: 100 },
        { path: 'd/skipped', body: 'y'.repeat(3000) },
        { path: 'l', type: 'SymbolicLink', linkpath: '/etc/passwd' },
        { path: 'h', type: 'Link', linkpath: 'd/read-me' },
        { path: 'c', type: 'CharacterDevice', devmaj: 4, devmin: 64 },
        { path: 'f', type: 'FIFO' },
      ]),
    );
    expect(es.map((e) => [e.path, e.kind])).toEqual([
      ['d/', 'dir'],
      ['d/read-me', 'file'],
      ['d/skipped', 'file'],
      ['l', 'symlink'],
      ['h', 'hardlink'],
      ['c', 'char'],
      ['f', 'fifo'],
    ]);
    expect(es[0].mode).toBe(0o1777);
    expect([es[1].mode, es[1].uid, es[1].gid, es[1].size, es[1].data]).toEqual([
      0o4755,
      1000,
      100,
      1500,
      'x'.repeat(1500),
    ]);
    expect(es[3].linkpath).toBe('/etc/passwd');
    expect(es[4].linkpath).toBe('d/read-me');
    expect([es[5].devmajor, es[5].devminor]).toEqual([4, 64]);
  });

  it('keeps SCHILY.xattr values byte for byte, binary included', async () => {
    const bin = Buffer.from([0, 1, 0xff, 0x80, 0x0a, 0x3d]);
    const [e] = await entriesOf(
      makeTar([{ path: 'f', body: 'z', xattrs: { 'security.capability': bin, 'user.a': 'b=c' } }]),
    );
    expect(e.xattrs.get('security.capability')).toEqual(bin);
    expect(e.xattrs.get('user.a')?.toString()).toBe('b=c');
  });

  it('reads long names written by GNU tar (././@LongLink) and by PAX', async () => {
    const long = 'a'.repeat(120) + '/' + 'b'.repeat(120);
    const src = join(tmp, 'long');
    mkdirSync(join(src, 'a'.repeat(120)), { recursive: true });
    writeFileSync(join(src, long), 'hi');
    for (const format of ['gnu', 'posix']) {
      const tar = execFileSync('tar', ['-C', src, `--format=${format}`, '-cf', '-', long]);
      const es = await entriesOf(tar);
      expect(es.map((e) => e.path)).toEqual([long]);
      expect(es[0].size).toBe(2);
    }
  });

  it('takes the type and size from the typeflag, not from a name field that ends in "/" (smuggle.tar, slash.tar)', async () => {
    const inner = innerTar();
    // the 100-byte name field of the carrier ends in "/"; the GNU long name before it does not
    const smuggle = await entriesOf(smuggleTar());
    expect(smuggle.map((e) => [e.path, e.kind, e.size])).toEqual([[SMUGGLE_NAME, 'file', inner.length]]);
    // a regular file whose whole name ends in "/": a V7 directory when empty; with data, readers
    // disagree on it (directory, file, or more entries), so it is refused
    const v7 = await entriesOf(Buffer.concat([rawHeader('old-dir/', '0', 0), Buffer.alloc(1024)]));
    expect(v7.map((e) => [e.path, e.kind])).toEqual([['old-dir/', 'dir']]);
    await expect(entriesOf(slashTar())).rejects.toThrow(
      /entry "carrier\/" is a regular file \(typeflag '0'\) named like a directory, with 2048 bytes of data: tar readers disagree on it/,
    );
  });

  it('reads a base-256 size field (GNU tar, 8 GiB and more)', async () => {
    const size = 8 * 1024 ** 3 + 5;
    const r = new TarReader(new ByteReader(Readable.from([rawHeader('big', '0', size)])));
    const first = await r.entries().next();
    expect(first.value).toMatchObject({ path: 'big', kind: 'file', size });
  });

  it('says what is wrong with a file that is not tar, or is cut short', async () => {
    await expect(entriesOf(Buffer.from('hello world'.repeat(100)))).rejects.toThrow(
      /not a tar archive: bad header checksum at byte 0/,
    );
    const t = makeTar([{ path: 'f', body: 'x'.repeat(2000) }]);
    const cut = new TarReader(new ByteReader(Readable.from([t.subarray(0, 1024)])));
    await expect(
      (async () => {
        for await (const e of cut.entries()) for (let c = await cut.body(); c; c = await cut.body()) void e;
      })(),
    ).rejects.toThrow(/truncated archive: ended at byte 1024/);
  });

  it('parsePax rejects malformed records', () => {
    expect(parsePax(Buffer.from('12 path=abc\n'))).toEqual(new Map([['path', Buffer.from('abc')]]));
    expect(() => parsePax(Buffer.from('99 path=abc\n'))).toThrow(/malformed PAX/);
  });
});

describe('safeParts (hostile names)', () => {
  it('normalizes harmless names', () => {
    expect(safeParts('./a//b/./c/', 'L')).toEqual(['a', 'b', 'c']);
    expect(safeParts('./', 'L')).toEqual([]);
    expect(safeParts('..a/b..', 'L')).toEqual(['..a', 'b..']);
  });
  it('refuses absolute paths and ".." anywhere', () => {
    expect(() => safeParts('/etc/passwd', 'L')).toThrow(HostileArchiveError);
    expect(() => safeParts('/etc/passwd', 'L')).toThrow(/absolute path/);
    expect(() => safeParts('../x', 'L')).toThrow(/"\.\." in the path/);
    expect(() => safeParts('a/b/../../../x', 'L')).toThrow(/"\.\."/);
    expect(() => safeParts('a/../b', 'L')).toThrow(/"\.\."/); // even when it would stay inside
    expect(() => safeParts('a\0b', 'L')).toThrow(/NUL/);
  });
});

describe('compression and sizes', () => {
  it('detects formats by magic number', () => {
    const m = (...b: number[]) => Buffer.from(b);
    expect(detectCompression(m(0x1f, 0x8b, 8))).toBe('gzip');
    expect(detectCompression(m(0x28, 0xb5, 0x2f, 0xfd))).toBe('zstd');
    expect(detectCompression(m(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0))).toBe('xz');
    expect(detectCompression(m(0x42, 0x5a, 0x68, 0x39))).toBe('bzip2');
    expect(detectCompression(makeTar([{ path: 'f' }]))).toBe('none');
  });
  it('refuses unsupported compression naming it', () => {
    const f = join(tmp, 'x.zst');
    writeFileSync(f, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    expect(() => openLayer(f, 'layer 1', new ByteBudget(1e9))).toThrow(
      /layer 1: zstd-compressed, which minidock cannot read .* \(zstd -d\)/,
    );
  });
  it('computes both digests of a gzip layer and enforces the byte budget', async () => {
    const tar = makeTar([{ path: 'f', body: 'q'.repeat(10_000) }]);
    const { gzipSync } = await import('node:zlib');
    const gz = gzipSync(tar);
    const f = join(tmp, 'l.tgz');
    writeFileSync(f, gz);
    const o = openLayer(f, 'L', new ByteBudget(1e9));
    const r = new TarReader(o.reader);
    for await (const e of r.entries()) void e;
    await o.reader.drain();
    expect(o.diffId()).toBe(sha256(tar));
    expect(o.blobDigest()).toBe(sha256(gz));
    const small = openLayer(f, 'L', new ByteBudget(4096));
    await expect(
      (async () => {
        for await (const e of new TarReader(small.reader).entries()) void e;
      })(),
    ).rejects.toThrow(/more than 4\.0 KiB once uncompressed — refusing it as a tar bomb/);
  });
  it('parses sizes', () => {
    expect(parseSize('5M', 'x')).toBe(5 * 1024 ** 2);
    expect(parseSize('1.5g', 'x')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('1024', 'x')).toBe(1024);
    expect(parseSize(undefined, 'x')).toBeUndefined();
    expect(() => parseSize('lots', '--max-size')).toThrow(/--max-size lots: use a size/);
    expect(fmtBytes(5 * 1024 ** 2)).toBe('5.0 MiB');
  });
});

describe('export tar writer', () => {
  it('writes headers the reader (and GNU tar) read back: long names, xattrs, devices, links', async () => {
    const long = 'p/'.repeat(80) + 'file';
    const blocks = [
      headerBlocks({ path: 'd/', type: 'Directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: new Date(0) }),
      headerBlocks({
        path: long,
        type: 'File',
        mode: 0o4711,
        uid: 7,
        gid: 8,
        size: 3,
        mtime: new Date(0),
        xattrs: new Map([['user.k', Buffer.from([0, 1, 2])]]),
      }),
      Buffer.concat([Buffer.from('abc'), Buffer.alloc(509)]),
      headerBlocks({
        path: 'hl',
        type: 'Link',
        linkpath: long,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: new Date(0),
      }),
      headerBlocks({
        path: 'null',
        type: 'CharacterDevice',
        mode: 0o666,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: new Date(0),
        devmaj: 1,
        devmin: 3,
      }),
      Buffer.alloc(1024),
    ];
    const tar = Buffer.concat(blocks);
    const es = await entriesOf(tar);
    expect(es.map((e) => e.path)).toEqual(['d/', long, 'hl', 'null']);
    expect([es[1].mode, es[1].uid, es[1].gid, es[1].size]).toEqual([0o4711, 7, 8, 3]);
    expect(es[1].xattrs.get('user.k')).toEqual(Buffer.from([0, 1, 2]));
    expect(es[2].linkpath).toBe(long);
    expect([es[3].devmajor, es[3].devminor]).toEqual([1, 3]);
    const listed = execFileSync('tar', ['-tvf', '-'], { input: tar, encoding: 'utf8' });
    expect(listed).toContain(long);
    expect(listed).toMatch(/^crw-rw-rw- 0\/0 +1,3 .* null$/m);
  });
});
