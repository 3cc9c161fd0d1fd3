// runc and crun: OCI runtimes without a daemon. One bundle per container (config.json holds the
// command), a private state directory (--root) so the bench never sees anyone else's containers.
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroups } from '../../runtime/cgroups/index.js';
import { sh, which } from '../proc.js';
import { ociConfig, writeBundle } from './oci.js';
import {
  ALL_CAPS,
  unavailable,
  type BenchContext,
  type Detection,
  type Launch,
  type Peer,
  type Workload,
} from './types.js';

/** runc or crun on PATH and answering `--version`: its path and version, or why not. */
export function installedRuntime(name: 'runc' | 'crun'): { bin: string; version: string } | Detection {
  const bin = which(name);
  if (!bin) return unavailable(name, `${name} is not installed`, `apt-get install -y ${name}`);
  const v = sh([bin, '--version']);
  const version = /version\s+(\S+)/.exec(v.stdout)?.[1];
  if (v.code !== 0 || !version)
    return unavailable(
      name,
      `${bin} --version failed: ${v.stderr.trim().split('\n')[0]}`,
      `apt-get install --reinstall -y ${name}`,
    );
  return { bin, version };
}

/**
 * Debian's crun 1.8.1 refuses hybrid hosts ("cgroups in hybrid mode not supported, drop all
 * controllers from cgroupv2") because the cgroup2 mount here lists a controller (hugetlb). The
 * workaround: run crun in a private mount namespace where /sys/fs/cgroup/unified is unmounted, so
 * crun sees a pure v1 host. The host's own mounts are unchanged (the namespace dies with crun).
 */
export const CRUN_HYBRID_WRAPPER = `#!/bin/sh
# minidock bench: crun on a cgroup v1 hybrid host (see src/bench/peers/runc.ts)
exec unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"' crun "$@"
`;

export function isHybridHost(): boolean {
  try {
    const d = detectCgroups();
    return d.mode === 'v1' && d.mounts.v2 !== undefined;
  } catch {
    return false;
  }
}

export class OciRuntimePeer implements Peer {
  readonly kind = 'runtime' as const;
  /** the command used in every position: the binary, or the crun wrapper script on hybrid hosts */
  binary: string;
  wrapped = false;

  constructor(
    readonly name: 'runc' | 'crun',
    private readonly hybrid = isHybridHost,
  ) {
    this.binary = name;
  }

  stateDir(ctx: BenchContext): string {
    return join(ctx.work, `${this.name}-state`);
  }

  bundleDir(ctx: BenchContext, id: string): string {
    return join(ctx.work, 'bundles', id);
  }

  detect(ctx: BenchContext): Detection {
    const found = installedRuntime(this.name);
    if ('available' in found) return found;
    const { version } = found;
    const notes: string[] = [];
    const flags = ['--root', this.stateDir(ctx), 'run', '--bundle', 'BUNDLE'];
    if (this.name === 'crun' && this.hybrid()) {
      this.wrapped = true;
      this.binary = join(ctx.work, 'crun-hybrid');
      notes.push(
        'hybrid cgroup host: crun runs in a private mount namespace with /sys/fs/cgroup/unified unmounted (crun 1.8 refuses hybrid mode); the host is unchanged',
      );
      flags.unshift('(unshare -m, umount /sys/fs/cgroup/unified)');
    }
    notes.push('bundle from `runc spec` defaults: no seccomp profile, 3 capabilities; rootfs bind (no overlay)');
    return { peer: this.name, available: true, version, notes, flags, caps: ALL_CAPS };
  }

  prepare(ctx: BenchContext): void {
    if (this.wrapped) {
      writeFileSync(this.binary, CRUN_HYBRID_WRAPPER);
      chmodSync(this.binary, 0o755);
    }
  }

  private bundle(ctx: BenchContext, id: string, w: Workload): string {
    const dir = this.bundleDir(ctx, id);
    writeBundle(dir, ociConfig({ rootfs: ctx.rootfs, cmd: w.cmd, limits: w.limits, cgroupsPath: `/${ctx.tag}/${id}` }));
    return dir;
  }

  /** argv for a foreground run (pure: tests check it) */
  runArgv(ctx: BenchContext, id: string, detach = false): string[] {
    return [
      this.binary,
      '--root',
      this.stateDir(ctx),
      'run',
      ...(detach ? ['-d'] : []),
      '--bundle',
      this.bundleDir(ctx, id),
      id,
    ];
  }

  run(ctx: BenchContext, id: string, w: Workload): Launch {
    this.bundle(ctx, id, w);
    // `runc run` deletes the container (and its cgroup) when the process exits: that is --rm
    return { argv: this.runArgv(ctx, id), cleanup: () => this.dropBundle(ctx, id) };
  }

  runKeep(ctx: BenchContext, id: string, w: Workload): Launch {
    return this.run(ctx, id, w);
  }

  start(ctx: BenchContext, id: string, w: Workload): Launch {
    this.bundle(ctx, id, w);
    return { argv: this.runArgv(ctx, id, true), stdout: 'ignore' };
  }

  exec(ctx: BenchContext, id: string, cmd: string[]): Launch {
    return { argv: [this.binary, '--root', this.stateDir(ctx), 'exec', id, ...cmd] };
  }

  remove(ctx: BenchContext, ids: string[]): Launch[] {
    return ids.map((id) => ({
      argv: [this.binary, '--root', this.stateDir(ctx), 'delete', '-f', id],
      cleanup: () => this.dropBundle(ctx, id),
    }));
  }

  private dropBundle(ctx: BenchContext, id: string): void {
    rmSync(this.bundleDir(ctx, id), { recursive: true, force: true });
  }

  cleanup(ctx: BenchContext): void {
    // anything still listed in our private state dir was left by an interrupted run: force-delete it
    const state = this.stateDir(ctx);
    if (existsSync(state)) {
      const list = sh([this.binary, '--root', state, 'list', '-q']);
      for (const id of list.stdout.split('\n').filter(Boolean)) sh([this.binary, '--root', state, 'delete', '-f', id]);
    }
    if (this.wrapped) rmSync(this.binary, { force: true });
  }
}
