// Image fixtures for the image tests, built from scratch (no network): a tiny tar writer (the tar
// package's Header encodes the blocks; PAX records for xattrs are written here), Docker archives and
// OCI layouts around layer tars.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

export interface FixtureEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  body?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkpath?: string;
  devmaj?: number;
  devmin?: number;
  xattrs?: Record<string, Buffer | string>;
}

function pax(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/** A tar archive (uncompressed) of exactly these entries, in this order. */
export function makeTar(entries: FixtureEntry[]): Buffer {
  const out: Buffer[] = [];
  const mtime = new Date('2024-01-02T03:04:05Z');
  for (const e of entries) {
    const type = e.type ?? 'File';
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    if (e.xattrs && Object.keys(e.xattrs).length) {
      const recs = Buffer.concat(Object.entries(e.xattrs).map(([k, v]) => pax(`SCHILY.xattr.${k}`, Buffer.from(v))));
      const h = Buffer.alloc(512);
      new Header({
        path: 'PaxHeader',
        type: 'ExtendedHeader',
        size: recs.length,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime,
      }).encode(h, 0);
      out.push(h, recs, pad(recs.length));
    }
    const h = Buffer.alloc(512);
    new Header({
      path: e.path,
      type,
      size: type === 'File' ? body.length : 0,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime,
      linkpath: e.linkpath ?? '',
      uname: '',
      gname: '',
      devmaj: e.devmaj ?? 0,
      devmin: e.devmin ?? 0,
    }).encode(h, 0);
    out.push(h);
    if (type === 'File') out.push(body, pad(body.length));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

export const sha256 = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

export interface FixtureConfig {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
}

export function imageConfig(layers: Buffer[], cfg: FixtureConfig): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      created: '2024-01-02T03:04:05Z',
      config: cfg,
      rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
    }),
  );
}

/** `docker save` (Docker < 25 layout): <n>/layer.tar, <config-hex>.json, manifest.json — as members. */
export function dockerArchiveMembers(layers: Buffer[], cfg: FixtureConfig, tag: string): FixtureEntry[] {
  const config = imageConfig(layers, cfg);
  const cfgName = `${sha256(config).slice(7)}.json`;
  const names = layers.map((l) => `${sha256(l).slice(7)}/layer.tar`);
  const members: FixtureEntry[] = [];
  layers.forEach((l, i) => {
    members.push(
      { path: `${sha256(l).slice(7)}/`, type: 'Directory' },
      { path: names[i], body: l },
      { path: `${sha256(l).slice(7)}/VERSION`, body: '1.0' },
    );
  });
  members.push({ path: cfgName, body: config });
  members.push({ path: 'manifest.json', body: JSON.stringify([{ Config: cfgName, RepoTags: [tag], Layers: names }]) });
  members.push({ path: 'repositories', body: '{}' });
  return members;
}

/** An OCI image layout in `dir` with gzip-compressed layers; returns the manifest digest. */
export function writeOciLayout(
  dir: string,
  layers: Buffer[],
  cfg: FixtureConfig,
  name: string,
  opts: { corruptLayer?: number } = {},
): string {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer): string => {
    const d = sha256(b);
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b);
    return d;
  };
  const config = imageConfig(layers, cfg);
  const gz = layers.map((l) => gzipSync(l));
  const layerDescs = gz.map((g) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: put(g),
    size: g.length,
  }));
  if (opts.corruptLayer !== undefined) {
    // same size, same content once uncompressed, different bytes: only the blob digest check can catch it
    const d = layerDescs[opts.corruptLayer];
    const b = Buffer.from(gz[opts.corruptLayer]);
    b[4] ^= 0xff; // the gzip header's MTIME: still valid gzip of the same tar, other bytes
    writeFileSync(join(dir, 'blobs', 'sha256', d.digest.slice(7)), b);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(config), size: config.length },
      layers: layerDescs,
    }),
  );
  const md = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: md,
          size: manifest.length,
          annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.split(':').pop() },
        },
      ],
    }),
  );
  return md;
}

/**
 * One 512-byte tar header written byte by byte (not with the `tar` package, whose Header is what
 * the smuggling test suspects): NAME (only its first 100 bytes fit), TYPEFLAG, SIZE (octal, or
 * base-256 from 8 GiB), a GNU magic ("ustar  \0") and a valid checksum.
 */
export function rawHeader(name: string, typeflag: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name.slice(0, 100), 0, 'latin1');
  b.write('0000644\0', 100, 'latin1'); // mode
  b.write('0000000\0', 108, 'latin1'); // uid
  b.write('0000000\0', 116, 'latin1'); // gid
  if (size <= 0o77777777777) b.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  else {
    // GNU's base-256 for 8 GiB and more: 0x80, then the size as a big-endian binary number
    b[124] = 0x80;
    for (let i = 135, n = size; i > 124; i--, n = Math.floor(n / 256)) b[i] = n % 256;
  }
  b.write('14540000000\0', 136, 'latin1'); // mtime
  b.write(typeflag, 156, 'latin1');
  b.write('ustar  \0', 257, 'latin1');
  b.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

/** A complete tar of one regular file `smuggled` (5 bytes): the payload a smuggling archive hides. */
export function innerTar(): Buffer {
  return Buffer.concat([rawHeader('smuggled', '0', 5), Buffer.from('evil\n'), pad(5), Buffer.alloc(1024)]);
}

/** The long name of smuggle.tar's carrier: over 100 characters, its first 100 end in "/". */
export const SMUGGLE_NAME = 'a'.repeat(99) + '/carrier.txt';

/**
 * smuggle.tar: a GNU 'L' long-name header for SMUGGLE_NAME, then a regular file ('0') whose data
 * is itself a tar (innerTar()). To GNU tar it holds one regular file; a reader that takes the type
 * from the truncated 100-byte name field sees a directory "aaa…a/" and parses the data as entries.
 */
export function smuggleTar(): Buffer {
  const long = Buffer.from(SMUGGLE_NAME + '\0');
  const inner = innerTar();
  return Buffer.concat([
    rawHeader('././@LongLink', 'L', long.length),
    long,
    pad(long.length),
    rawHeader(SMUGGLE_NAME, '0', inner.length),
    inner,
    pad(inner.length),
    Buffer.alloc(1024),
  ]);
}

/** slash.tar: a regular file ('0') named "carrier/" whose data is a tar. Readers disagree: GNU tar
 * 1.34 lists a directory (data skipped) but extracts `smuggled` too, as the `tar` package does;
 * Python and Go read a regular file "carrier/". */
export function slashTar(): Buffer {
  const inner = innerTar();
  return Buffer.concat([rawHeader('carrier/', '0', inner.length), inner, pad(inner.length), Buffer.alloc(1024)]);
}
