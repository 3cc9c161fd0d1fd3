// One benchmark run's shared preparation: a scratch directory, the bench copy of the busybox rootfs
// (with the firstinsn probe in /bin), the same rootfs as a plain tar (podman/docker import) and as
// an OCI image layout tar (ctr image import) — so every runtime runs exactly the same files.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { MinidockError } from '../errors.js';
import { allCgroupDirs, cgroupMountPoints } from '../runtime/cgroups/index.js';
import { FIRSTINSN, IPCBENCH, NETBENCH, PKG_ROOT, sh } from './proc.js';
import type { BenchContext, DaemonEndpoints } from './peers/types.js';

export interface ContextOptions {
  /** source rootfs (default ./rootfs of the package) */
  rootfs?: string;
  pin?: number;
  daemons?: DaemonEndpoints;
}

export function makeContext(o: ContextOptions = {}): BenchContext {
  const src = o.rootfs ?? join(PKG_ROOT, 'rootfs');
  if (!existsSync(join(src, 'bin', 'busybox')))
    throw new MinidockError(
      `no busybox rootfs at ${src}: run npm run build (it builds ./rootfs from busybox-static), or give --rootfs DIR`,
    );
  if (!existsSync(FIRSTINSN))
    throw new MinidockError(`the firstinsn probe is not built (${FIRSTINSN}): run make -C native`);
  let work: string;
  try {
    work = mkdtempSync(join(tmpdir(), 'minidock-bench-'));
  } catch (e) {
    throw new MinidockError(
      `cannot make the bench's scratch directory in ${tmpdir()} (${(e as NodeJS.ErrnoException).code}): create it, or point TMPDIR at a writable directory`,
    );
  }
  try {
    return fillContext(o, src, work);
  } catch (e) {
    rmSync(work, { recursive: true, force: true }); // a failed preparation leaves nothing behind
    throw e;
  }
}

function fillContext(o: ContextOptions, src: string, work: string): BenchContext {
  const tag = `mdbench-${work
    .slice(-6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')}`;
  const rootfs = join(work, 'rootfs');
  // cp -a keeps the applet symlinks and modes; the rootfs is ~2 MB
  const cp = sh(['cp', '-a', src, rootfs]);
  if (cp.code !== 0) throw new MinidockError(`cp -a ${src} ${rootfs}: ${cp.stderr.trim()}`);
  // the probes the containers run, in /bin (netbench and ipcbench when built: their experiments say so otherwise)
  for (const probe of [FIRSTINSN, NETBENCH, IPCBENCH].filter((p) => existsSync(p))) {
    copyFileSync(probe, join(rootfs, 'bin', basename(probe)));
    sh(['chmod', '755', join(rootfs, 'bin', basename(probe))]);
  }
  const rootfsTar = join(work, 'rootfs.tar');
  const t = sh(['tar', '--numeric-owner', '-C', rootfs, '-cf', rootfsTar, '.']);
  if (t.code !== 0) throw new MinidockError(`tar of the rootfs failed: ${t.stderr.trim()}`);
  const image = tag;
  const ociTar = join(work, 'oci-image.tar');
  writeOciImageTar(rootfsTar, join(work, 'oci-layout'), ociTar, `docker.io/library/${image}:latest`);
  const minidockRoot = join(work, 'minidock-state');
  mkdirSync(minidockRoot);
  return {
    work,
    rootfs,
    rootfsTar,
    ociTar,
    image,
    tag,
    minidockRoot,
    pin: o.pin,
    daemons: o.daemons ?? { started: [] },
    engineCgroupsBefore: engineCgroupParents(),
  };
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/**
 * An OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md) by hand:
 *   oci-layout, index.json -> manifest -> config + one uncompressed layer (the rootfs tar), all
 *   content-addressed under blobs/sha256/. No registry is reachable here, so this is how ctr gets it.
 */
export function ociLayout(layer: Buffer, name: string): Map<string, Buffer | string> {
  const files = new Map<string, Buffer | string>();
  const layerDigest = sha256(layer);
  files.set(`blobs/sha256/${layerDigest}`, layer);
  const config = JSON.stringify({
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
  });
  const configDigest = sha256(config);
  files.set(`blobs/sha256/${configDigest}`, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: `sha256:${configDigest}`,
      size: Buffer.byteLength(config),
    },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerDigest}`, size: layer.length },
    ],
  });
  const manifestDigest = sha256(manifest);
  files.set(`blobs/sha256/${manifestDigest}`, manifest);
  files.set('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  files.set(
    'index.json',
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${manifestDigest}`,
          size: Buffer.byteLength(manifest),
          annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': 'latest' },
        },
      ],
    }),
  );
  return files;
}

function writeOciImageTar(rootfsTar: string, dir: string, out: string, name: string): void {
  for (const [path, data] of ociLayout(readFileSync(rootfsTar), name)) {
    const p = join(dir, path);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
  }
  const t = sh(['tar', '-C', dir, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
  if (t.code !== 0) throw new MinidockError(`tar of the OCI layout failed: ${t.stderr.trim()}`);
  rmSync(dir, { recursive: true, force: true });
}

/** The parent cgroups Docker (cgroupfs driver) and Podman (--cgroup-manager cgroupfs) create, and keep. */
const ENGINE_CGROUP_PARENTS = ['docker', 'libpod_parent'];

/** The engines' parent cgroups that exist now, in every hierarchy. */
export function engineCgroupParents(): string[] {
  return cgroupMountPoints()
    .flatMap((r) => ENGINE_CGROUP_PARENTS.map((n) => join(r, n)))
    .filter((d) => existsSync(d));
}

/** The cgroup directories named after this run's tag (runc/crun/minidock parents), deepest first. */
function tagCgroupDirs(tag: string): string[] {
  return allCgroupDirs().filter((d) => d.split('/').includes(tag));
}

/**
 * Remove the scratch directory, the tag's cgroup parents (left empty by every runtime), and the
 * engines' parent cgroups that this run made Docker or Podman create (they keep them for good).
 */
export function removeContext(ctx: BenchContext): string[] {
  const problems: string[] = [];
  const before = new Set(ctx.engineCgroupsBefore ?? engineCgroupParents());
  const made = engineCgroupParents().filter((d) => !before.has(d));
  const engines = allCgroupDirs().filter((d) => made.some((p) => d === p || d.startsWith(`${p}/`)));
  for (const d of [...tagCgroupDirs(ctx.tag), ...engines]) {
    try {
      rmdirSync(d);
    } catch (e) {
      problems.push(`cgroup ${d} not removed: ${(e as NodeJS.ErrnoException).code}`);
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.startsWith(ctx.work));
  for (const m of mounts.reverse()) {
    if (sh(['umount', '-l', m]).code !== 0) problems.push(`mount ${m} not unmounted`);
  }
  rmSync(ctx.work, { recursive: true, force: true });
  return problems;
}
