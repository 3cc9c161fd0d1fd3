// The OCI runtimes as binaries something else drives: runc, crun and minidock's OCI entry point
// (bin/minidock-oci.js). The engine × runtime pairs (pairs.ts) point Podman (`--runtime PATH`),
// containerd (`ctr run --runc-binary PATH`) and dockerd (`--add-runtime NAME=PATH`) at them; the cycle
// experiment calls them itself (`create`, `start`, `delete` on one bundle). Pure where it can be:
// the paths and argv are tested without running anything.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PKG_ROOT, sh, which } from '../proc.js';
import { CRUN_HYBRID_WRAPPER, installedRuntime, isHybridHost } from './runc.js';
import { unavailable, type BenchContext, type Detection } from './types.js';

export const OCI_RUNTIMES = ['runc', 'crun', 'minidock'] as const;
export type OciRuntimeName = (typeof OCI_RUNTIMES)[number];

/** What an OCI runtime is run as: the program engines and the cycle call, in every position. */
export interface OciRuntime {
  readonly name: OciRuntimeName;
  /** absolute path of the program (the crun wrapper on hybrid hosts; minidock-oci.js for minidock) */
  binary(ctx: BenchContext): string;
  /** installed, answering `--version`, usable here; never throws */
  detect(ctx: BenchContext): Detection;
  /** once per bench run, untimed: the crun wrapper script */
  prepare(ctx: BenchContext): void;
  cleanup(ctx: BenchContext): void;
}

/** The entry point engines are pointed at (docs/oci.md): runc's command line, run by Node. */
export const MINIDOCK_OCI = join(PKG_ROOT, 'bin', 'minidock-oci.js');

/** "runc,crun,minidock" -> names; undefined or "all" -> all three. Throws on an unknown one. */
export function parseOciRuntimes(spec: string | undefined): OciRuntimeName[] {
  if (!spec || spec === 'all') return [...OCI_RUNTIMES];
  const out: OciRuntimeName[] = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const n = raw === 'minidock-oci' ? 'minidock' : raw;
    if (!(OCI_RUNTIMES as readonly string[]).includes(n))
      throw new Error(`unknown OCI runtime "${raw}": choose from ${OCI_RUNTIMES.join(', ')}`);
    if (!out.includes(n as OciRuntimeName)) out.push(n as OciRuntimeName);
  }
  if (!out.length) throw new Error(`no OCI runtime in "${spec}": choose from ${OCI_RUNTIMES.join(', ')}`);
  return out;
}

/** runc and crun: the Debian binaries; crun through the private-mount-namespace wrapper on hybrid hosts. */
class BinaryRuntime implements OciRuntime {
  constructor(
    readonly name: 'runc' | 'crun',
    private readonly hybrid = isHybridHost,
  ) {}

  wrapped(): boolean {
    return this.name === 'crun' && this.hybrid();
  }

  binary(ctx: BenchContext): string {
    if (this.wrapped()) return join(ctx.work, 'crun-hybrid');
    return which(this.name) ?? this.name;
  }

  detect(ctx: BenchContext): Detection {
    const found = installedRuntime(this.name);
    if ('available' in found) return found;
    const { version } = found;
    const notes = this.wrapped()
      ? [
          `hybrid cgroup host: ${this.binary(ctx)} runs crun in a private mount namespace with /sys/fs/cgroup/unified unmounted (crun 1.8 refuses hybrid mode); the host is unchanged`,
        ]
      : [];
    return {
      peer: this.name,
      available: true,
      version,
      notes,
      flags: [this.binary(ctx)],
      caps: { run: true, detached: true, exec: false, limits: { memory: true, cpus: true, pids: true } },
    };
  }

  prepare(ctx: BenchContext): void {
    if (!this.wrapped()) return;
    writeFileSync(this.binary(ctx), CRUN_HYBRID_WRAPPER);
    chmodSync(this.binary(ctx), 0o755);
  }

  cleanup(ctx: BenchContext): void {
    if (this.wrapped()) rmSync(this.binary(ctx), { force: true });
  }
}

/** minidock's OCI side, bin/minidock-oci.js: a Node program, so every verb pays Node's start. */
class MinidockOciRuntime implements OciRuntime {
  readonly name = 'minidock' as const;

  binary(): string {
    return MINIDOCK_OCI;
  }

  detect(): Detection {
    const built = ['dist/verbs/oci.cjs', 'native/build/libminidock.so'].every((f) => existsSync(join(PKG_ROOT, f)));
    if (!built)
      return unavailable(
        'minidock',
        'minidock is not built (dist/verbs/oci.cjs or native/build/libminidock.so missing)',
        `cd ${PKG_ROOT} && npm run build`,
      );
    if (process.getuid?.() !== 0)
      return unavailable(
        'minidock',
        'minidock-oci needs root (namespaces, mounts, cgroups)',
        'sudo minidock bench ...',
      );
    const v = sh([MINIDOCK_OCI, '--version']);
    let version = /version\s+(\S+)/.exec(v.stdout)?.[1];
    if (v.code !== 0 || !version) {
      try {
        version = (JSON.parse(readFileSync(join(PKG_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
      } catch {
        return unavailable(
          'minidock',
          `${MINIDOCK_OCI} --version failed: ${v.stderr.trim().split('\n')[0]}`,
          `cd ${PKG_ROOT} && npm run build`,
        );
      }
    }
    return {
      peer: 'minidock',
      available: true,
      version: `${version} (minidock-oci)`,
      notes: [
        `${MINIDOCK_OCI}: runc's command line, a Node program (every verb pays Node's start); the rootfs used as given (no overlay)`,
      ],
      flags: [MINIDOCK_OCI],
      caps: { run: true, detached: true, exec: false, limits: { memory: true, cpus: true, pids: true } },
    };
  }

  prepare(): void {}
  cleanup(): void {}
}

export function makeOciRuntime(name: OciRuntimeName, hybrid?: () => boolean): OciRuntime {
  return name === 'minidock' ? new MinidockOciRuntime() : new BinaryRuntime(name, hybrid);
}
