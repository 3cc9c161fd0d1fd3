// Opening a layer (or any archive) for reading: compression detected from its first bytes, two
// sha256 digests computed on the way (of the bytes as stored, and of the uncompressed tar: OCI
// calls them the blob digest and the diff ID), and a cap on the uncompressed size, so that a
// small gzip bomb cannot fill the disk.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { MinidockError, fail } from '../errors.js';
import { ByteReader } from './tar-reader.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'lz4' | 'lzip' | 'compress';

/** The magic numbers at the start of each format (tar itself has none at offset 0). */
const MAGIC: Array<[Compression, number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
  ['lzip', [0x4c, 0x5a, 0x49, 0x50]],
  ['compress', [0x1f, 0x9d]],
];

export function detectCompression(head: Buffer): Compression {
  for (const [name, magic] of MAGIC)
    if (head.length >= magic.length && magic.every((expected, i) => head[i] === expected)) return name;
  return 'none';
}

export function sniffFile(path: string, length = 512): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    return buffer.subarray(0, readSync(fd, buffer, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/** One clear line for a compression minidock does not read (Node 20's zlib has gzip only). */
export function unsupportedCompression(compression: Compression, what: string): never {
  const tool: Record<string, string> = {
    zstd: 'zstd -d',
    xz: 'xz -d',
    bzip2: 'bzip2 -d',
    lz4: 'lz4 -d',
    lzip: 'lzip -d',
    compress: 'uncompress',
  };
  return fail(
    `${what}: ${compression}-compressed, which minidock cannot read (it reads plain tar and gzip) — decompress it first (${tool[compression] ?? compression}) and import the plain tar`,
  );
}

export const DEFAULT_MAX_BYTES = 8 * 1024 ** 3;

/** The size cap for one import: --max-size, else $MINIDOCK_IMPORT_MAX_SIZE, else 8 GiB. */
export function parseSize(raw: string | undefined, what: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(raw.trim());
  if (!match) return fail(`${what} ${raw}: use a size such as 500M, 2G or 1048576`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[
    match[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'
  ];
  return Math.floor(Number(match[1]) * mult);
}

/** Counts bytes across all the layers of one import, and stops at the cap. */
export class ByteBudget {
  used = 0;
  constructor(readonly max: number) {}
  take(bytes: number, what: string): void {
    this.used += bytes;
    if (this.used > this.max) {
      throw new MinidockError(
        `${what}: more than ${fmtBytes(this.max)} once uncompressed — refusing it as a tar bomb (raise the limit with --max-size or $MINIDOCK_IMPORT_MAX_SIZE if the image really is that big)`,
      );
    }
  }
}

export function fmtBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let value = bytes;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i ? value.toFixed(value < 10 ? 1 : 0) : value} ${units[i]}`;
}

async function* hashing(src: AsyncIterable<Buffer>, hash: Hash, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of src) {
    hash.update(chunk);
    onBytes?.(chunk.length);
    yield chunk;
  }
}

export interface OpenedLayer {
  reader: ByteReader;
  compression: Compression;
  /** sha256 of the bytes as stored ("sha256:<hex>"), once the reader has been drained */
  blobDigest(): string;
  /** sha256 of the uncompressed tar, once the reader has been drained */
  diffId(): string;
  /** bytes as stored / uncompressed, read so far */
  storedBytes(): number;
  tarBytes(): number;
}

/**
 * Open a file holding a (possibly gzip-compressed) tar for streaming. `what` names it in errors;
 * `budget` caps the uncompressed bytes.
 */
export function openLayer(path: string, what: string, budget: ByteBudget): OpenedLayer {
  const compression = detectCompression(sniffFile(path, 8));
  if (compression !== 'none' && compression !== 'gzip') unsupportedCompression(compression, what);
  const blobHash = createHash('sha256');
  const tarHash = createHash('sha256');
  let stored = 0;
  let tar = 0;
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const raw = hashing(file, blobHash, (n) => (stored += n));
  let plain: AsyncIterable<Buffer>;
  if (compression === 'gzip') {
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    pipeline(Readable.from(raw), gunzip, () => {}); // errors surface on gunzip, which we iterate
    plain = gunzip;
  } else {
    plain = raw;
  }
  const counted = hashing(plain, tarHash, (n) => {
    tar += n;
    budget.take(n, what);
  });
  // zlib's own errors ("incorrect header check") become one line naming the layer
  async function* friendly(): AsyncGenerator<Buffer> {
    try {
      yield* counted;
    } catch (e) {
      if (e instanceof MinidockError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new MinidockError(
        `${what}: ${compression === 'gzip' ? 'gzip data is corrupt' : 'read failed'} (${err.code ?? err.message}) — the file is damaged or truncated`,
      );
    } finally {
      file.destroy();
    }
  }
  return {
    reader: new ByteReader(friendly(), what),
    compression,
    blobDigest: () => 'sha256:' + blobHash.copy().digest('hex'),
    diffId: () => 'sha256:' + tarHash.copy().digest('hex'),
    storedBytes: () => stored,
    tarBytes: () => tar,
  };
}

/** sha256 of a whole file, streaming. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return 'sha256:' + hash.digest('hex');
}
