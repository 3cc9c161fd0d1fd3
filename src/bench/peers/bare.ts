// bare: the same busybox binary, run directly on the host — no namespaces, no cgroup, no rootfs.
// Every container figure is read against this one ("×bare").
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, Detection, Launch, Peer, Workload } from './types.js';

/** PATH that finds the rootfs's applets first: they are symlinks to /bin/busybox, the same static binary. */
export function barePath(rootfs: string): string {
  return ['bin', 'sbin', 'usr/bin', 'usr/sbin'].map((d) => join(rootfs, d)).join(':');
}

export class BarePeer implements Peer {
  readonly name = 'bare';
  readonly kind = 'baseline' as const;

  detect(ctx: BenchContext): Detection {
    const ok = existsSync(join(ctx.rootfs, 'bin', 'busybox'));
    return {
      peer: 'bare',
      available: ok,
      version: process.version ? 'host' : undefined,
      reason: ok ? undefined : `no busybox in ${ctx.rootfs}`,
      fix: ok ? undefined : 'npm run build (builds ./rootfs from busybox-static)',
      notes: ['the rootfs busybox run on the host: no container, no limits (limits experiments skip bare)'],
      flags: [`PATH=${barePath('ROOTFS')}`],
      caps: {
        run: true,
        detached: false,
        exec: true,
        limits: { memory: false, cpus: false, pids: false },
        missing: ['no limits, no detached container: bare is the baseline'],
      },
    };
  }

  prepare(): void {}

  /** a command's first word, resolved in the rootfs when it is a path (/bin/firstinsn) */
  argv(ctx: BenchContext, cmd: string[]): string[] {
    return cmd[0].startsWith('/') ? [join(ctx.rootfs, cmd[0]), ...cmd.slice(1)] : cmd;
  }

  run(ctx: BenchContext, _id: string, w: Workload): Launch {
    return { argv: this.argv(ctx, w.cmd), env: { ...process.env, PATH: barePath(ctx.rootfs) } };
  }

  /** "exec" into bare = run the command on the host (the overhead experiment's baseline) */
  exec(ctx: BenchContext, _id: string, cmd: string[]): Launch {
    return this.run(ctx, '', { cmd });
  }

  cleanup(): void {}
}
