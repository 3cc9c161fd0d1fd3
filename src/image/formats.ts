// What kind of file is being imported, and what it holds.
//
//   plain rootfs tar    bin/ etc/ ... (optionally gzip): one layer, no config (like `docker import`)
//   Docker archive      `docker save` / `podman save`: manifest.json ([{Config, RepoTags, Layers}]),
//                       the config JSON and one tar per layer (by path, or blobs/sha256/<hex> since
//                       Docker 25)
//   OCI image layout    `skopeo copy oci:` / `oci-archive:`: oci-layout, index.json, blobs/sha256/*;
//                       index -> manifest -> config + layers, every step named by its sha256
// A directory is read in place; an archive of the last two is first copied member by member into
// a scratch directory of the store (its members may come in any order: manifest.json comes last
// in `docker save` output), with the same hostile-name checks as layers.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  statSync,
  writeSync,
} from 'node:fs';
import { posix } from 'node:path';
import { MinidockError, fail } from '../errors.js';
import { parseImageConfig, type ParsedConfig } from './config.js';
import { HostileArchiveError, safeParts } from './extract.js';
import { type ByteBudget, openLayer, sniffFile, detectCompression, unsupportedCompression } from './source.js';
import { TarReader } from './tar-reader.js';

export type Format = 'rootfs-tar' | 'docker-archive' | 'oci-layout';

export interface LayerPlan {
  /** host path of the layer's bytes (in the source directory or the scratch copy) */
  path: string;
  /** the diff ID the config promises (absent for a plain rootfs tar: computed) */
  diffId?: string;
  /** the digest of the stored bytes, when the format names it (OCI blobs) */
  blobDigest?: string;
  blobSize?: number;
  what: string;
}

export interface ImagePlan {
  /** the config's exact bytes: the image ID is their sha256 (absent for a rootfs tar) */
  configBytes?: Buffer;
  parsed?: ParsedConfig;
  names: string[];
  layers: LayerPlan[];
}

export interface Bundle {
  format: Format;
  images: ImagePlan[];
}

const sha256 = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');
const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** Read a member of a source directory: a regular file inside it, never through a symlink out. */
class SourceDir {
  readonly real: string;
  constructor(
    readonly dir: string,
    private label: string,
  ) {
    this.real = realpathSync(dir);
  }
  path(name: string): string {
    const parts = safeParts(name, this.label, 'member name');
    if (!parts.length) fail(`${this.label}: empty member name`);
    const p = posix.join(this.dir, ...parts);
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      return fail(`${this.label}: ${name} is missing — the archive is incomplete`);
    }
    if (!real.startsWith(this.real + '/'))
      throw new HostileArchiveError(`${this.label}: ${name} leads outside the archive (symlink) — refusing it`);
    if (!statSync(real).isFile()) fail(`${this.label}: ${name} is not a regular file`);
    return real;
  }
  read(name: string, max = 64 << 20): Buffer {
    const p = this.path(name);
    if (statSync(p).size > max) fail(`${this.label}: ${name} is larger than ${max} bytes — not a manifest or config`);
    return readFileSync(p);
  }
  json<T>(name: string, bytes?: Buffer): T {
    try {
      return JSON.parse((bytes ?? this.read(name)).toString('utf8')) as T;
    } catch (e) {
      if (e instanceof MinidockError) throw e;
      return fail(`${this.label}: ${name} is not valid JSON (${(e as Error).message})`);
    }
  }
  has(name: string): boolean {
    return existsSync(posix.join(this.dir, name));
  }
}

/** The member names of a tar (first pass, bodies skipped): used to tell the three formats apart. */
export async function listMembers(file: string, budget: ByteBudget): Promise<Set<string>> {
  const names = new Set<string>();
  const tar = new TarReader(openLayer(file, `import ${file}`, budget).reader);
  for await (const entry of tar.entries()) {
    names.add(
      entry.path
        .split('/')
        .filter((part) => part && part !== '.')
        .join('/'),
    );
    if (names.size > 200_000) break;
  }
  return names;
}

export async function detectFormat(file: string, budget: ByteBudget): Promise<Format> {
  let stats;
  try {
    stats = statSync(file);
  } catch {
    return fail(`import ${file}: no such file or directory`);
  }
  if (stats.isDirectory()) {
    if (existsSync(posix.join(file, 'oci-layout'))) return 'oci-layout';
    if (existsSync(posix.join(file, 'manifest.json'))) return 'docker-archive';
    return fail(
      `import ${file}: a directory, but neither an OCI image layout (no oci-layout file) nor an unpacked \`docker save\` (no manifest.json) — to run a rootfs directory, use \`minidock run ${file} CMD\``,
    );
  }
  if (!stats.isFile()) fail(`import ${file}: not a regular file`);
  const compression = detectCompression(sniffFile(file, 8));
  if (compression !== 'none' && compression !== 'gzip') unsupportedCompression(compression, `import ${file}`);
  const names = await listMembers(file, budget);
  if (names.has('oci-layout') && names.has('index.json')) return 'oci-layout';
  if (names.has('manifest.json')) return 'docker-archive';
  return 'rootfs-tar';
}

/**
 * Copy the members of an image archive (Docker or OCI, a tar) into `dest`: regular files and
 * directories only; a symlink (docker save links duplicate layers) becomes a hard link to a member
 * already copied. Names are checked like layer entries; the budget caps the bytes.
 */
export async function stageArchive(file: string, dest: string, budget: ByteBudget): Promise<void> {
  const label = `archive ${file}`;
  const tar = new TarReader(openLayer(file, label, budget).reader);
  for await (const entry of tar.entries()) {
    const parts = safeParts(entry.path, label);
    if (!parts.length) continue;
    const hostPath = posix.join(dest, ...parts);
    mkdirSync(posix.dirname(hostPath), { recursive: true, mode: 0o700 });
    if (entry.kind === 'dir') {
      mkdirSync(hostPath, { recursive: true, mode: 0o700 });
    } else if (entry.kind === 'file') {
      const fd = openSync(hostPath, 'wx', 0o600);
      try {
        for (let chunk = await tar.body(); chunk; chunk = await tar.body())
          for (let offset = 0; offset < chunk.length; ) offset += writeSync(fd, chunk, offset, chunk.length - offset);
      } finally {
        closeSync(fd);
      }
    } else if (entry.kind === 'symlink' || entry.kind === 'hardlink') {
      const target =
        entry.kind === 'symlink' ? posix.normalize(posix.join(...parts.slice(0, -1), entry.linkpath)) : entry.linkpath;
      if (entry.linkpath.startsWith('/') || target.startsWith('../') || target === '..') {
        throw new HostileArchiveError(
          `${label}: member ${JSON.stringify(entry.path)} links to ${JSON.stringify(entry.linkpath)}, outside the archive — refusing it`,
        );
      }
      const targetPath = posix.join(dest, ...safeParts(target, label, 'link target'));
      let isFile = false;
      try {
        isFile = lstatSync(targetPath).isFile();
      } catch {
        /* missing */
      }
      if (!isFile)
        throw new MinidockError(
          `${label}: member ${JSON.stringify(entry.path)} links to ${JSON.stringify(entry.linkpath)}, which is not a file earlier in the archive`,
        );
      linkSync(targetPath, hostPath);
    } else {
      throw new HostileArchiveError(
        `${label}: member ${JSON.stringify(entry.path)} is a ${entry.kind} — an image archive holds only files and directories; refusing it`,
      );
    }
  }
}

function fromDocker(src: SourceDir, label: string): ImagePlan[] {
  type Entry = { Config?: string; RepoTags?: string[] | null; Layers?: string[] };
  const manifest = src.json<Entry[]>('manifest.json');
  if (!Array.isArray(manifest) || !manifest.length) fail(`${label}: manifest.json lists no images`);
  return manifest.map((image, i) => {
    if (typeof image.Config !== 'string' || !Array.isArray(image.Layers))
      fail(`${label}: manifest.json entry ${i} has no Config or Layers`);
    const configBytes = src.read(image.Config!);
    // the config is named by its own digest: "<hex>.json" (Docker < 25) or "blobs/sha256/<hex>"
    const named = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(image.Config!);
    if (named && sha256(configBytes) !== `sha256:${named[1]}`) {
      fail(
        `${label}: config ${image.Config} does not match its digest (sha256 is ${sha256(configBytes).slice(7, 19)}…) — the archive is corrupt or was tampered with`,
      );
    }
    const parsed = parseImageConfig(configBytes.toString('utf8'), `${label}: ${image.Config}`);
    if (parsed.diffIds.length !== image.Layers!.length) {
      fail(
        `${label}: manifest.json lists ${image.Layers!.length} layers but the config has ${parsed.diffIds.length} diff IDs`,
      );
    }
    const layerCount = image.Layers!.length;
    const layers = image.Layers!.map((layerPath, index): LayerPlan => {
      const blob = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(layerPath);
      return {
        path: src.path(layerPath),
        diffId: parsed.diffIds[index],
        blobDigest: blob ? `sha256:${blob[1]}` : undefined,
        what: `${label}: layer ${index + 1}/${layerCount} (${layerPath})`,
      };
    });
    return { configBytes, parsed, names: (image.RepoTags ?? []).filter((tag) => typeof tag === 'string'), layers };
  });
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);
const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

function blob(src: SourceDir, descriptor: Descriptor, label: string, what: string): { path: string; bytes?: Buffer } {
  const match = DIGEST.exec(descriptor.digest ?? '');
  if (!match)
    return fail(
      `${label}: ${what} has digest ${JSON.stringify(descriptor.digest)}, not sha256:<64 hex digits> (minidock reads sha256 blobs only)`,
    );
  return { path: src.path(`blobs/sha256/${match[1]}`) };
}

/** Read a small blob (index, manifest, config) and check it against its descriptor. */
function smallBlob(src: SourceDir, descriptor: Descriptor, label: string, what: string): Buffer {
  const { path } = blob(src, descriptor, label, what);
  const bytes = readFileSync(path);
  if (sha256(bytes) !== descriptor.digest)
    fail(
      `${label}: ${what} ${descriptor.digest!.slice(0, 19)}… does not match its digest (got ${sha256(bytes).slice(0, 19)}…) — the image is corrupt or was tampered with`,
    );
  if (typeof descriptor.size === 'number' && descriptor.size !== bytes.length)
    fail(
      `${label}: ${what} ${descriptor.digest!.slice(0, 19)}… is ${bytes.length} bytes, the descriptor says ${descriptor.size}`,
    );
  return bytes;
}

const hostArch = (): string =>
  (
    ({
      x64: 'amd64',
      arm64: 'arm64',
      arm: 'arm',
      ia32: '386',
      ppc64: 'ppc64le',
      s390x: 's390x',
      riscv64: 'riscv64',
    }) as Record<string, string>
  )[process.arch] ?? process.arch;

function fromOci(src: SourceDir, label: string): ImagePlan[] {
  const layout = src.json<{ imageLayoutVersion?: string }>('oci-layout');
  if (layout.imageLayoutVersion !== '1.0.0')
    fail(
      `${label}: oci-layout says imageLayoutVersion ${JSON.stringify(layout.imageLayoutVersion)}; minidock reads 1.0.0`,
    );
  const index = src.json<{ manifests?: Descriptor[] }>('index.json');
  if (!Array.isArray(index.manifests) || !index.manifests.length) fail(`${label}: index.json lists no manifests`);
  const out: ImagePlan[] = [];
  const visit = (descriptor: Descriptor, name: string | undefined, depth: number): void => {
    if (depth > 4) fail(`${label}: image indexes nested too deep`);
    const mediaType = descriptor.mediaType ?? '';
    if (INDEX_TYPES.has(mediaType)) {
      const nestedIndex = JSON.parse(smallBlob(src, descriptor, label, 'image index').toString('utf8')) as {
        manifests?: Descriptor[];
      };
      // a multi-platform index: take the manifest for this machine
      const pick = (nestedIndex.manifests ?? []).find(
        (candidate) =>
          (candidate.platform?.os ?? 'linux') === 'linux' &&
          (candidate.platform?.architecture ?? hostArch()) === hostArch(),
      );
      if (!pick) fail(`${label}: no manifest for linux/${hostArch()} in the image index`);
      visit(pick!, name, depth + 1);
      return;
    }
    if (!MANIFEST_TYPES.has(mediaType))
      fail(`${label}: manifest media type ${JSON.stringify(mediaType)} is not an OCI/Docker image manifest`);
    const manifest = JSON.parse(smallBlob(src, descriptor, label, 'manifest').toString('utf8')) as {
      config?: Descriptor;
      layers?: Descriptor[];
    };
    if (!manifest.config || !Array.isArray(manifest.layers))
      fail(`${label}: manifest ${descriptor.digest} has no config or layers`);
    const configBytes = smallBlob(src, manifest.config!, label, 'config');
    const parsed = parseImageConfig(configBytes.toString('utf8'), `${label}: config`);
    const layerCount = manifest.layers!.length;
    if (parsed.diffIds.length !== layerCount)
      fail(`${label}: the manifest lists ${layerCount} layers but the config has ${parsed.diffIds.length} diff IDs`);
    const layers = manifest.layers!.map((layer, index): LayerPlan => {
      if (!LAYER_TYPES.has(layer.mediaType ?? ''))
        fail(
          `${label}: layer ${index + 1}/${layerCount} has media type ${JSON.stringify(layer.mediaType)}, not a tar layer minidock knows`,
        );
      return {
        path: blob(src, layer, label, `layer ${index + 1}`).path,
        diffId: parsed.diffIds[index],
        blobDigest: layer.digest,
        blobSize: layer.size,
        what: `${label}: layer ${index + 1}/${layerCount} (${layer.digest!.slice(0, 19)}…)`,
      };
    });
    out.push({ configBytes, parsed, names: name ? [name] : [], layers });
  };
  for (const descriptor of index.manifests!) {
    const annotations = descriptor.annotations ?? {};
    // containerd writes the full name; skopeo/buildah a ref name that may be a bare tag
    const ref = annotations['io.containerd.image.name'] ?? annotations['org.opencontainers.image.ref.name'];
    const name = ref && /[:/]/.test(ref) ? ref : undefined; // a bare tag names no repository
    visit(descriptor, name, 0);
  }
  return out;
}

/** The images a bundle (a source directory: given, or staged from an archive) holds. */
export function readBundle(dir: string, format: Format, label: string): Bundle {
  const src = new SourceDir(dir, label);
  return { format, images: format === 'oci-layout' ? fromOci(src, label) : fromDocker(src, label) };
}
