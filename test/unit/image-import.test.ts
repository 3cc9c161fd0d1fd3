// importImage's order of effects, through the library (a real layer store in a temp directory, no
// container): one progress line per layer in order, a new layer unpacked and a known one verified but
// not unpacked, the outcomes in layer order, a name moving to the image imported under it, and a
// refused import leaving the store as it was.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importImage } from '../../src/image/import.js';
import { listImages } from '../../src/image/store.js';
import { dockerArchiveMembers, makeTar, sha256, writeOciLayout } from './image-fixtures';

let base: string;
let root: string;
const l1 = makeTar([
  { path: 'etc/', type: 'Directory' },
  { path: 'etc/one', body: 'one\n' },
]);
const l2 = makeTar([{ path: 'etc/two', body: 'two\n' }, { path: 'etc/.wh.one' }]);
const l3 = makeTar([{ path: 'three', body: '3' }]);
const l4 = makeTar([{ path: 'four', body: '4' }]);

/** importImage with its progress lines collected. */
async function imp(file: string, name?: string) {
  const lines: string[] = [];
  const result = await importImage({ root, file, name, log: (line) => lines.push(line) });
  return { result, lines };
}
const layersInStore = (): string[] => readdirSync(join(root, 'layers/sha256')).sort();

beforeAll(() => {
  if (!isRoot) return;
  base = mkdtempSync(join(tmpdir(), 'minidock-import-'));
  root = join(base, 'root');
  writeFileSync(join(base, 'two.tar'), makeTar(dockerArchiveMembers([l1, l2], { Cmd: ['sh'] }, 'two:1')));
  writeOciLayout(join(base, 'oci-two'), [l1, l2], { Cmd: ['sh'] }, 'oci:2');
  writeFileSync(join(base, 'other.tar'), makeTar(dockerArchiveMembers([l1, l3], { Cmd: ['ls'] }, 'other:1')));
  writeOciLayout(join(base, 'bad'), [l4, l2], { Cmd: ['x'] }, 'bad:1', { corruptLayer: 1 });
  writeFileSync(join(base, 'rootfs.tar'), l3);
});
afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;

// A whiteout is stored as overlayfs's 0/0 character device: mknod needs root (CAP_MKNOD).
describe.skipIf(!isRoot)(
  `importImage: layers in order, then the image record${isRoot ? '' : ' (SKIPPED: needs root to mknod whiteouts)'}`,
  () => {
    it('new layers: unpacked, one line each, outcomes in layer order', async () => {
      const { result, lines } = await imp(join(base, 'two.tar'));
      expect(result.format).toBe('docker-archive');
      expect(lines).toEqual([
        expect.stringMatching(/^layer 1\/2 sha256:[0-9a-f]{12}… {2}unpacked: 2 entries, \S+ \S*B in \d+ ms$/),
        expect.stringMatching(
          /^layer 2\/2 sha256:[0-9a-f]{12}… {2}unpacked: 2 entries, \S+ \S*B, 1 whiteouts in \d+ ms$/,
        ),
      ]);
      expect(lines[0]).toContain(sha256(l1).slice(0, 19));
      expect(result.layers.map((o) => [o.diffId, o.reused, o.stats?.entries])).toEqual([
        [sha256(l1), false, 2],
        [sha256(l2), false, 2],
      ]);
      expect(result.images.map((i) => [i.names, i.layers])).toEqual([[['two:1'], [sha256(l1), sha256(l2)]]]);
      expect(layersInStore()).toEqual([sha256(l1).slice(7), sha256(l2).slice(7)].sort());
      expect(readdirSync(join(root, 'tmp'))).toEqual([]); // the scratch directory is gone
    });

    it('layers the store holds: verified, not unpacked; the same config gets the new name too', async () => {
      const { result, lines } = await imp(join(base, 'oci-two'), 'again:3');
      expect(lines).toEqual([
        expect.stringMatching(
          /^layer 1\/2 sha256:[0-9a-f]{12}… {2}already in the store \(shared\), blob verified in \d+ ms$/,
        ),
        expect.stringMatching(
          /^layer 2\/2 sha256:[0-9a-f]{12}… {2}already in the store \(shared\), blob verified in \d+ ms$/,
        ),
      ]);
      expect(result.layers).toEqual([
        { diffId: sha256(l1), reused: true },
        { diffId: sha256(l2), reused: true },
      ]);
      expect(result.images[0].names).toEqual(['two:1', 'oci:2', 'again:3']);
    });

    it('a name moves to the image imported under it; the other keeps its ID, untagged of it', async () => {
      const before = listImages(root);
      const { result, lines } = await imp(join(base, 'other.tar'), 'again:3');
      expect(lines[0]).toMatch(/^layer 1\/2 .*already in the store \(shared\)/);
      expect(lines[1]).toMatch(/^layer 2\/2 .*unpacked: 1 entries/);
      expect(result.images[0].names).toEqual(['other:1', 'again:3']);
      const old = listImages(root).find((i) => i.id === before[0].id);
      expect(old?.names).toEqual(['two:1', 'oci:2']);
    });

    it('a rootfs tar (no diff ID until hashed): one layer, a generated config', async () => {
      const { result } = await imp(join(base, 'rootfs.tar'), 'plain:1');
      expect(result.format).toBe('rootfs-tar');
      expect(result.layers).toEqual([expect.objectContaining({ diffId: sha256(l3), reused: true })]);
      expect(result.images[0]).toMatchObject({ names: ['plain:1'], layers: [sha256(l3)] });
    });

    it('a refused import leaves the store as it was: the layer it added before the bad one is removed', async () => {
      // l4 is new (unpacked, added), then l2, already in the store, fails its blob check
      const store = layersInStore();
      await expect(imp(join(base, 'bad'))).rejects.toThrow(/digest mismatch/);
      expect(layersInStore()).toEqual(store);
      expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    });
  },
);
