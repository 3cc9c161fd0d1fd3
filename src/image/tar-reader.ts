// A streaming tar reader that keeps what image layers need and the `tar` package's parser drops.
//
// The `tar` package decodes each 512-byte header for us (Header: octal and base-256 numbers, the
// ustar prefix, checksums). What it does not keep is the raw bytes of PAX records: it turns them
// into a string, and drops SCHILY.xattr.* altogether — but a layer's xattrs (security.capability
// on a ping binary, say) are binary and must survive exactly. So this file walks the archive block
// by block itself: PAX ('x'/'g') and GNU long names ('L'/'K') are read raw, every other entry is
// handed to the caller, whose body it may stream or leave (the reader then skips it).
//
// The entry's type and size are read here from the block's typeflag and size fields, never from
// Header's `type`/`size`: Header turns a regular file ('0') whose 100-byte name field ends in "/"
// into a directory and sets its size to 0 (the V7 convention for directories). Decoded on its own,
// without the GNU long name ('L') before it, a name field is only the first 100 characters of the
// real name, so "aaa…a/carrier.txt" looked like the directory "aaa…a/" and the file's data was
// then read as more entries — entries GNU tar, Python and Go never see (a smuggled file). Like
// them, this reader takes the type from the typeflag and skips the data by the size field.
import { Header } from 'tar';
import { MinidockError } from '../errors.js';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'unsupported';

export interface TarEntry {
  /** the name as written in the archive (not yet checked: may hold "..", a leading "/", ...) */
  path: string;
  kind: EntryKind;
  /** the type code of the header ('0', '5', 'S', ...), for messages about unsupported types */
  typeCode: string;
  mode: number; // permission bits, with setuid/setgid/sticky (& 0o7777)
  uid: number;
  gid: number;
  size: number;
  mtime?: Date;
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.NAME records, raw bytes */
  xattrs: Map<string, Buffer>;
}

/** A pull-based byte source over an async iterable of chunks (a file or decompressor stream). */
export class ByteReader {
  private it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  /** bytes consumed so far: the offset of the next byte, for messages */
  offset = 0;
  /** names the archive in error messages ("layer 2/3 (...) of FILE") */
  constructor(
    src: AsyncIterable<Buffer>,
    readonly label = 'archive',
  ) {
    this.it = src[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (!this.buf.length) {
      const next = await this.it.next();
      if (next.done) return false;
      this.buf = next.value;
    }
    return true;
  }

  /** Exactly n bytes; null at end of data when no byte of them was there; throws if cut short. */
  async readExact(n: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    if (this.buf.length >= n) {
      const out = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      this.offset += n;
      return out;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      if (!(await this.fill()))
        throw new MinidockError(
          `${this.label}: truncated archive: ended at byte ${this.offset}, inside a ${n}-byte block — the file is incomplete`,
        );
      const take = Math.min(need, this.buf.length);
      parts.push(this.buf.subarray(0, take));
      this.buf = this.buf.subarray(take);
      this.offset += take;
      need -= take;
    }
    return Buffer.concat(parts, n);
  }

  /** Up to max bytes without copying (a view of the current chunk); throws at end of data. */
  async readSome(max: number): Promise<Buffer> {
    if (!(await this.fill()))
      throw new MinidockError(
        `${this.label}: truncated archive: ended at byte ${this.offset}, inside a file's data — the file is incomplete`,
      );
    const take = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, take);
    this.buf = this.buf.subarray(take);
    this.offset += take;
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.readSome(n)).length;
  }

  /** Read (and throw away) everything that is left: trailing padding still counts in a digest. */
  async drain(): Promise<void> {
    while (await this.fill()) {
      this.offset += this.buf.length;
      this.buf = Buffer.alloc(0);
    }
  }
}

/** PAX extended header records: "LEN KEY=VALUE\n", LEN counting the whole record in bytes. */
export function parsePax(body: Buffer, label = 'archive'): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // NUL padding
    const space = body.indexOf(0x20, pos);
    const len = space > pos ? Number(body.toString('latin1', pos, space)) : NaN;
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) {
      throw new MinidockError(
        `${label}: malformed PAX header record at byte ${pos} of its block — not a valid tar archive`,
      );
    }
    const record = body.subarray(space + 1, pos + len - 1); // without the trailing "\n"
    const equals = record.indexOf(0x3d);
    if (equals > 0) out.set(record.toString('utf8', 0, equals), Buffer.from(record.subarray(equals + 1)));
    pos += len;
  }
  return out;
}

const KIND: Record<string, EntryKind> = {
  '0': 'file',
  '': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
  D: 'dir',
};

function octal(block: Buffer, off: number, len: number): number {
  const digits = block
    .toString('latin1', off, off + len)
    .replace(/[\0 ].*$/s, '')
    .trim();
  return digits ? parseInt(digits, 8) || 0 : 0;
}

/** The size field: octal, or GNU's base-256 (first byte 0x80: a big-endian binary number) for
 * files of 8 GiB and more. */
function sizeField(block: Buffer, at: number, label: string): number {
  if (!(block[124] & 0x80)) return parseInt(block.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim(), 8) || 0;
  let size = block[124] & 0x7f;
  for (let i = 125; i < 136; i++) size = size * 256 + block[i];
  if (block[124] === 0xff || !Number.isSafeInteger(size))
    throw new MinidockError(
      `${label}: the header at byte ${at} has a negative or huge size field — the archive is corrupt`,
    );
  return size;
}

function pad512(size: number): number {
  return (512 - (size % 512)) % 512;
}

/** Extended headers (PAX records, GNU long names) read so far: they apply to the next real entry. */
interface PendingMeta {
  pax: Map<string, Buffer>;
  globalPax: Map<string, Buffer>;
  longPath?: string;
  longLink?: string;
}

/**
 * Iterate over the entries of a tar stream. Each yielded entry's body can be streamed with
 * `body(max)` before asking for the next entry; whatever is left of it is skipped.
 */
export class TarReader {
  private pendingBody = 0;
  private pendingPad = 0;
  /** the number of bytes of the current entry's body not yet read */
  get remaining(): number {
    return this.pendingBody;
  }
  constructor(readonly src: ByteReader) {}

  /** The next chunk (at most max bytes) of the current entry's body, or null when it is all read. */
  async body(max = 1 << 20): Promise<Buffer | null> {
    if (this.pendingBody <= 0) return null;
    const chunk = await this.src.readSome(Math.min(max, this.pendingBody));
    this.pendingBody -= chunk.length;
    return chunk;
  }

  private async finishEntry(): Promise<void> {
    await this.src.skip(this.pendingBody + this.pendingPad);
    this.pendingBody = 0;
    this.pendingPad = 0;
  }

  private async readMeta(size: number, what: string): Promise<Buffer> {
    if (size > 16 << 20)
      throw new MinidockError(
        `${this.src.label}: a ${what} header of ${size} bytes at byte ${this.src.offset}: refusing (over 16 MiB of metadata for one entry)`,
      );
    const bytes = (await this.src.readExact(size)) ?? Buffer.alloc(0);
    if (bytes.length < size) throw new MinidockError(`${this.src.label}: truncated archive inside a header`);
    await this.src.skip(pad512(size));
    return bytes;
  }

  async *entries(): AsyncGenerator<TarEntry> {
    const meta: PendingMeta = { pax: new Map(), globalPax: new Map() };
    let sawZero = false;
    for (;;) {
      await this.finishEntry();
      const at = this.src.offset;
      const block = await this.src.readExact(512);
      if (!block) {
        if (at === 0) throw new MinidockError(`${this.src.label}: empty archive: not a tar file (0 bytes)`);
        return; // EOF without the two zero blocks: tolerated, as GNU tar does
      }
      if (block.every((byte) => byte === 0)) {
        if (sawZero) return; // end-of-archive marker: two zero blocks
        sawZero = true;
        continue;
      }
      sawZero = false;
      const header = new Header(block, 0);
      if (!header.cksumValid) {
        throw new MinidockError(
          `${this.src.label}: not a tar archive: bad header checksum at byte ${at}${at === 0 ? ' (the file is neither tar nor a compression format minidock knows)' : ' — the file is corrupt'}`,
        );
      }
      const code = block[156] === 0 ? '' : block.toString('latin1', 156, 157);
      const size = sizeField(block, at, this.src.label);
      if (await this.readMetaHeader(code, size, meta)) continue;
      yield this.entryFrom(block, header, code, size, meta);
    }
  }

  /** A PAX or GNU long-name header: read it into `meta` and return true; false for any other entry. */
  private async readMetaHeader(code: string, size: number, meta: PendingMeta): Promise<boolean> {
    if (code === 'x' || code === 'X') {
      meta.pax = parsePax(await this.readMeta(size, 'PAX'), this.src.label);
      return true;
    }
    if (code === 'g') {
      meta.globalPax = new Map([
        ...meta.globalPax,
        ...parsePax(await this.readMeta(size, 'global PAX'), this.src.label),
      ]);
      return true;
    }
    if (code === 'L' || code === 'N') {
      meta.longPath = (await this.readMeta(size, 'long name')).toString('utf8').replace(/\0.*$/s, '');
      return true;
    }
    if (code === 'K') {
      meta.longLink = (await this.readMeta(size, 'long link name')).toString('utf8').replace(/\0.*$/s, '');
      return true;
    }
    return false;
  }

  /** The entry a header block describes, with the PAX and long-name headers before it applied (and then forgotten). */
  private entryFrom(block: Buffer, header: Header, code: string, size: number, meta: PendingMeta): TarEntry {
    const paxRecords = new Map([...meta.globalPax, ...meta.pax]);
    meta.pax = new Map();
    const str = (key: string): string | undefined => paxRecords.get(key)?.toString('utf8');
    const num = (key: string): number | undefined => {
      const value = str(key);
      return value !== undefined && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
    };
    const path = str('path') ?? meta.longPath ?? header.path ?? '';
    const linkpath = str('linkpath') ?? meta.longLink ?? header.linkpath ?? '';
    meta.longPath = meta.longLink = undefined;
    const realSize = num('size') ?? size;
    // The V7 convention: a regular file whose *whole* name ends in "/" is a directory. With data
    // it is ambiguous, and readers disagree: for typeflag '0', GNU tar 1.34 lists one directory
    // (data skipped) but extracts the data as more entries, as the `tar` package does, while
    // Python and Go read a regular file; for '\0', Python and Go read the data as entries. An
    // archive that means different things to different readers is refused, not read one way.
    const v7dir = (code === '0' || code === '') && path.endsWith('/');
    if (v7dir && realSize > 0) {
      throw new MinidockError(
        `${this.src.label}: entry ${JSON.stringify(path)} is a regular file (typeflag '${code || '\\0'}') named like a directory, with ${realSize} bytes of data: tar readers disagree on it (a directory, a file, or a directory followed by more entries made of its data) — refusing the archive`,
      );
    }
    const kind = v7dir ? 'dir' : KIND[code];
    // hard links, directories and devices may carry a size field but (in GNU and PAX) no data
    this.pendingBody = KIND[code] === 'file' || KIND[code] === undefined || code === 'D' ? realSize : 0;
    this.pendingPad = pad512(this.pendingBody);
    if (!kind) {
      return {
        path,
        kind: 'unsupported',
        typeCode: code,
        mode: 0,
        uid: 0,
        gid: 0,
        size: realSize,
        linkpath,
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
      };
    }
    const xattrs = new Map<string, Buffer>();
    for (const [key, value] of paxRecords)
      if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    const mtime = num('mtime');
    return {
      path,
      kind,
      typeCode: code,
      mode: (header.mode ?? 0) & 0o7777,
      uid: num('uid') ?? header.uid ?? 0,
      gid: num('gid') ?? header.gid ?? 0,
      size: this.pendingBody,
      mtime: mtime !== undefined ? new Date(mtime * 1000) : header.mtime,
      linkpath,
      // ustar and GNU both keep device numbers at 329/337 (tar's Header decodes them for ustar only)
      devmajor: octal(block, 329, 8),
      devminor: octal(block, 337, 8),
      xattrs,
    };
  }
}
