// Hostile images against the real CLI, as root (issue "Nothing lost, nothing reachable", items 7
// and 8): every blob is verified even when the store already holds its layer, and the tar reader
// sees the same entries as GNU tar (no file smuggled past it). The archives and layouts are made
// here, byte by byte where the point is the bytes.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canRun, minidock, skipReason, useLeakCheckedRoot } from '../helpers';
import {
  SMUGGLE_NAME,
  dockerArchiveMembers,
  innerTar,
  makeTar,
  sha256,
  slashTar,
  smuggleTar,
  writeOciLayout,
} from '../unit/image-fixtures';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/images-hostile.test.ts: ${skipReason}`);

/** GNU tar is the reference listing; without it the comparison cannot be made (and says so). */
const gnuTar = /GNU tar/.test(spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout ?? '');
if (canRun && !gnuTar)
  console.warn('SKIPPED the GNU tar comparisons of test/integration/images-hostile.test.ts: `tar` is not GNU tar');

interface Member {
  type: string; // '-' regular file, 'd' directory, 'l' symlink, ...
  name: string; // without a trailing "/"
  size?: number;
}

/** What `tar -tvf` (GNU tar) lists: type, size and name of each member. */
function gnuList(file: string): Member[] {
  const r = spawnSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      // drw-r--r-- 0/0  2048 2023-12-18 08:17 carrier/
      const m = /^(\S)\S*\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.*)$/.exec(l);
      expect(m, `a tar -tv line: ${l}`).toBeTruthy();
      return { type: m![1], size: Number(m![2]), name: m![3].replace(/\/$/, '') };
    });
}

/** What an unpacked layer holds, in the same form. */
function layerList(fs: string): Member[] {
  const out: Member[] = [];
  const walk = (dir: string): void => {
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      const st = lstatSync(p);
      out.push({
        type: st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? '-' : '?',
        name: relative(fs, p),
        size: st.isFile() ? st.size : undefined,
      });
      if (st.isDirectory()) walk(p);
    }
  };
  walk(fs);
  return out;
}

d('hostile images (real kernel, the real CLI)', () => {
  let root = '';
  let fx = ''; // fixtures, outside the state root
  const md = (args: string[]) => minidock(args, { root });
  const listDir = (sub: string): string[] => (existsSync(join(root, sub)) ? readdirSync(join(root, sub)).sort() : []);
  const storeState = () => ({ layers: listDir('layers/sha256'), images: listDir('images') });

  useLeakCheckedRoot((r) => {
    root = r;
    fx = `${r}-fixtures`;
    mkdirSync(fx, { recursive: true });
  });
  afterAll(() => rmSync(fx, { recursive: true, force: true }));
  beforeEach(() => {
    for (const sub of ['images', 'layers']) rmSync(join(root, sub), { recursive: true, force: true });
  });
  afterEach(() => {
    expect(listDir('tmp')).toEqual([]); // no tmp/import-* (nor pins) left, refused or not
  });

  /** The import is refused: exit 125, one line `minidock: ...` matching `why`, the store unchanged. */
  const refused = (file: string, why: RegExp): void => {
    const was = storeState();
    const r = md(['import', '-q', file]);
    expect(r.code, r.stderr).toBe(125);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^minidock: /);
    expect(lines[0]).toMatch(why);
    expect(r.stdout).toBe('');
    expect(storeState()).toEqual(was);
  };

  describe('item 7: every blob is verified, also when its layer is already stored', () => {
    const l1 = makeTar([
      { path: 'etc/', type: 'Directory' },
      { path: 'etc/one', body: 'one\n'.repeat(500) },
    ]);
    const l2 = makeTar([{ path: 'two', body: 'two\n'.repeat(500) }]);
    const other = makeTar([{ path: 'other', body: 'not layer 1' }]);
    const blobPath = (dir: string, digest: string): string => join(dir, 'blobs', 'sha256', digest.slice(7));

    /** A copy of the good layout whose layer 1 is `blob`; `descriptor`: also rewrite the manifest
     * (and index) to name the new blob's digest and size, so that only the blob's content can tell. */
    const variant = (name: string, blob: (gz: Buffer) => Buffer, descriptor: boolean): string => {
      const dir = join(fx, name);
      rmSync(dir, { recursive: true, force: true });
      const md0 = writeOciLayout(dir, [l1, l2], {}, 'good:1');
      const manifest = JSON.parse(readFileSync(blobPath(dir, md0), 'utf8'));
      const desc = manifest.layers[0];
      const b = blob(readFileSync(blobPath(dir, desc.digest)));
      if (!descriptor) {
        writeFileSync(blobPath(dir, desc.digest), b); // the blob no longer matches its name
        return dir;
      }
      rmSync(blobPath(dir, desc.digest));
      Object.assign(desc, { digest: sha256(b), size: b.length });
      writeFileSync(blobPath(dir, desc.digest), b);
      const mb = Buffer.from(JSON.stringify(manifest));
      writeFileSync(blobPath(dir, sha256(mb)), mb);
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      Object.assign(index.manifests[0], { digest: sha256(mb), size: mb.length });
      writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
      return dir;
    };

    const cases: Array<{ what: string; make: () => string; why: RegExp }> = [
      {
        what: 'a wrong blob digest, same size (the gzip header changed, same tar inside)',
        make: () =>
          variant(
            'same-size',
            (gz) => {
              const b = Buffer.from(gz);
              b[4] ^= 0xff; // gzip MTIME: still a valid gzip of the same tar
              return b;
            },
            false,
          ),
        why: /layer 1\/2 \(sha256:[0-9a-f]{12}…\): digest mismatch — the file's sha256 is [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…/,
      },
      {
        what: 'a wrong blob digest, another size',
        make: () => variant('other-size', (gz) => Buffer.concat([gz, Buffer.from('x')]), false),
        why: /layer 1\/2 \(sha256:[0-9a-f]{12}…\): the blob is \d+ bytes, the manifest says \d+ — corrupt or tampered with/,
      },
      {
        what: 'a truncated gzip (its 8-byte trailer cut off; digest and size rewritten to match)',
        make: () => variant('truncated', (gz) => gz.subarray(0, gz.length - 8), true),
        why: /layer 1\/2 \(sha256:[0-9a-f]{12}…\): gzip data is corrupt \(Z_BUF_ERROR\) — the file is damaged or truncated/,
      },
      {
        what: "another layer's gzip (digest and size rewritten to match; only the diff ID differs)",
        make: () => variant('other-layer', () => gzipSync(other), true),
        why: /layer 1\/2 \(sha256:[0-9a-f]{12}…\): digest mismatch — the uncompressed layer's sha256 is [0-9a-f]{12}…, the image config says [0-9a-f]{12}… \(diff ID\)/,
      },
      {
        what: "a docker archive whose layer.tar is not the config's diff ID",
        make: () => {
          const members = dockerArchiveMembers([l1, l2], {}, 'good:1');
          const m = members.find((e) => e.path.endsWith('/layer.tar') && e.body === l1)!;
          m.body = other;
          const f = join(fx, 'docker-other.tar');
          writeFileSync(f, makeTar(members));
          return f;
        },
        why: /layer 1\/2 \([0-9a-f]{64}\/layer\.tar\): digest mismatch — the uncompressed layer's sha256 is [0-9a-f]{12}…, the image config says [0-9a-f]{12}… \(diff ID\)/,
      },
    ];

    for (const c of cases) {
      it(`refuses ${c.what} — in an empty store, and in one that already holds the layer`, () => {
        const file = c.make();
        refused(file, c.why); // empty store
        expect(storeState()).toEqual({ layers: [], images: [] });

        const good = join(fx, 'good');
        rmSync(good, { recursive: true, force: true });
        writeOciLayout(good, [l1, l2], {}, 'good:1');
        const g = md(['import', good]);
        expect(g.code, g.stderr).toBe(0);
        expect(g.stderr).toMatch(/2 unpacked, 0 shared/);
        expect(storeState().layers).toEqual([sha256(l1), sha256(l2)].map((x) => x.slice(7)).sort());

        refused(file, c.why); // the same refusal with the layer in the store ("shared")
        // and the store's layer itself is untouched: its file still reads as layer 1 wrote it
        expect(readFileSync(join(root, 'layers/sha256', sha256(l1).slice(7), 'fs/etc/one'), 'utf8')).toBe(
          'one\n'.repeat(500),
        );
      });
    }

    it('a good copy into a store holding its layers: verified and shared, nothing unpacked again', () => {
      const good = join(fx, 'good');
      rmSync(good, { recursive: true, force: true });
      writeOciLayout(good, [l1, l2], {}, 'good:1');
      expect(md(['import', good]).code).toBe(0);
      const copy = join(fx, 'good-copy');
      rmSync(copy, { recursive: true, force: true });
      cpSync(good, copy, { recursive: true });
      const r = md(['import', copy, 'again:1']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /layer 1\/2 sha256:[0-9a-f]{12}… {2}already in the store \(shared\), blob verified in \d+ ms/,
      );
      expect(r.stderr).toMatch(/0 unpacked, 2 shared/);
      expect(r.stdout).toMatch(/^Loaded image: again:1 /m);
    });
  });

  describe('item 8: the tar reader sees what GNU tar sees', () => {
    /** Import `tar` as a rootfs tar; its one layer must hold exactly what GNU tar lists. */
    const sameAsGnuTar = (name: string, tar: Buffer): { gnu: Member[]; layer: Member[]; fs: string } => {
      const file = join(fx, name);
      writeFileSync(file, tar);
      const gnu = gnuList(file);
      const r = md(['import', '-q', file, name.replace(/\.tar$/, '')]);
      expect(r.code, r.stderr).toBe(0);
      const fs = join(root, 'layers/sha256', sha256(tar).slice(7), 'fs');
      const layer = layerList(fs);
      // every member GNU tar lists is in the layer with its type (and size, for a file) ...
      for (const m of gnu)
        expect(
          layer.find((e) => e.name === m.name),
          `${m.name} as GNU tar lists it`,
        ).toEqual(m.type === '-' ? m : { ...m, size: undefined });
      // ... and the layer holds nothing else but the parent directories of those members
      const parents = new Set(
        gnu.flatMap((m) =>
          m.name
            .split('/')
            .slice(0, -1)
            .map((_, i, a) => a.slice(0, i + 1).join('/')),
        ),
      );
      expect(
        layer.filter((e) => !gnu.some((m) => m.name === e.name) && !(e.type === 'd' && parents.has(e.name))),
      ).toEqual([]);
      return { gnu, layer, fs };
    };

    it.skipIf(!gnuTar)(
      'smuggle.tar (a GNU long name whose first 100 characters end in "/", data that is a tar): one regular file, no `smuggled` — as GNU tar lists it',
      () => {
        const inner = innerTar();
        const { gnu, fs } = sameAsGnuTar('smuggle.tar', smuggleTar());
        expect(gnu).toEqual([{ type: '-', name: SMUGGLE_NAME, size: inner.length }]); // the reference: what GNU tar says
        expect(readFileSync(join(fs, SMUGGLE_NAME)).equals(inner)).toBe(true); // the data is the file's, byte for byte
        expect(existsSync(join(fs, 'smuggled'))).toBe(false);
      },
    );

    it.skipIf(!gnuTar)(
      'slash.tar (a regular file named "carrier/" whose data is a tar, which readers disagree on): refused, nothing kept',
      () => {
        const file = join(fx, 'slash.tar');
        writeFileSync(file, slashTar());
        // what GNU tar lists: one member (a directory whose data it skips) — no `smuggled` either way
        expect(gnuList(file).map((m) => m.name)).toEqual(['carrier']);
        refused(
          file,
          /entry "carrier\/" is a regular file \(typeflag '0'\) named like a directory, with 2048 bytes of data: tar readers disagree on it .* — refusing the archive$/,
        );
        expect(storeState()).toEqual({ layers: [], images: [] });
      },
    );
  });
});
