// minidock itself, through its CLI (bin/minidock.js), exactly as a student runs it.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PKG_ROOT, sh, which } from '../proc.js';
import {
  unavailable,
  type BenchContext,
  type BenchLimits,
  type Detection,
  type EngineReport,
  type Launch,
  type Peer,
  type Workload,
} from './types.js';

export function minidockLimitFlags(l: BenchLimits = {}): string[] {
  const f: string[] = [];
  if (l.memoryBytes !== undefined) f.push('--memory', String(l.memoryBytes));
  if (l.memorySwapBytes !== undefined) f.push('--memory-swap', String(l.memorySwapBytes));
  if (l.cpus !== undefined) f.push('--cpus', String(l.cpus));
  if (l.pids !== undefined) f.push('--pids-limit', String(l.pids));
  return f;
}

/** The `--stats=json` line minidock prints on stderr at exit (the last line that parses). */
export function parseStatsLine(stderr: string): Record<string, unknown> | undefined {
  const lines = stderr.split('\n').reverse();
  for (const l of lines) {
    if (!l.startsWith('{') || !l.includes('exitCode')) continue;
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      /* not it */
    }
  }
  return undefined;
}

export class MinidockPeer implements Peer {
  readonly name: string;
  readonly kind = 'minidock' as const;
  /** the build measured: this checkout's bin/minidock.js, or another checkout's (`minidock@DIR`) */
  readonly bin: string;
  /** filled by detect(): does this build have run -d / exec / rm (issue 5's lifecycle verbs)? */
  lifecycle = { detach: false, exec: false, rm: false };
  // the per-container monitor (native/build/minidock-monitor; comm is cut at 15 characters)
  monitorComms = ['minidock-monito', 'minidock-monitor'];

  /**
   * `checkout`: the directory of a built minidock (bin/, dist/, native/build/). Another checkout than
   * this one is the runtime `minidock@DIR`: the build before a change, measured interleaved with this
   * one (`bench startup --runtimes minidock,minidock@/tmp/before`).
   */
  constructor(
    readonly checkout = PKG_ROOT,
    name = 'minidock',
  ) {
    this.name = name;
    this.bin = join(checkout, 'bin', 'minidock.js');
  }

  env(ctx: BenchContext): NodeJS.ProcessEnv {
    return { ...process.env, MINIDOCK_ROOT: ctx.minidockRoot, MINIDOCK_CGROUP_PARENT: ctx.tag };
  }

  detect(ctx: BenchContext): Detection {
    const built = ['dist/minidock.cjs', 'native/build/libminidock.so'].every((f) => existsSync(join(this.checkout, f)));
    if (!built) {
      return unavailable(
        this.name,
        'minidock is not built (dist/ or native/build/libminidock.so missing)',
        `cd ${this.checkout} && npm run build`,
      );
    }
    if (process.getuid?.() !== 0)
      return unavailable(this.name, 'minidock run needs root (namespaces, mounts, cgroups)', 'sudo minidock bench ...');
    let version = '?';
    try {
      version = (JSON.parse(readFileSync(join(this.checkout, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      /* keep ? */
    }
    const runHelp = sh([this.bin, 'run', '--help']).stdout;
    this.lifecycle = {
      detach: /--detach\b/.test(runHelp),
      exec: sh([this.bin, 'exec', '--help']).code === 0,
      rm: sh([this.bin, 'rm', '--help']).code === 0,
    };
    const detached = this.lifecycle.detach && this.lifecycle.rm;
    const missing: string[] = [];
    if (!detached) missing.push('this build has no `minidock run -d` / `minidock rm` (lifecycle verbs, issue 5)');
    if (!this.lifecycle.exec) missing.push('this build has no `minidock exec` (issue 5)');
    return {
      peer: this.name,
      available: true,
      version,
      notes: [
        'overlayfs rootfs, Docker default seccomp profile, Docker default capabilities; Node start included in every launch',
      ],
      flags: ['run', '--rm', 'ROOTFS', `MINIDOCK_ROOT=${ctx.minidockRoot}`, `MINIDOCK_CGROUP_PARENT=${ctx.tag}`],
      caps: {
        run: true,
        detached,
        exec: detached && this.lifecycle.exec,
        limits: { memory: true, cpus: true, pids: true },
        missing,
      },
    };
  }

  prepare(): void {}

  runArgv(ctx: BenchContext, w: Workload, extra: string[] = []): string[] {
    return [this.bin, 'run', '--rm', ...extra, ...minidockLimitFlags(w.limits), ctx.rootfs, ...w.cmd];
  }

  run(ctx: BenchContext, _id: string, w: Workload): Launch {
    return { argv: this.runArgv(ctx, w), env: this.env(ctx) };
  }

  /** with --stats=json: minidock reports the cgroup's own account (peak, OOM kills, throttling) at exit */
  runKeep(ctx: BenchContext, _id: string, w: Workload): Launch {
    return { argv: this.runArgv(ctx, w, ['--stats=json']), env: this.env(ctx) };
  }

  report(_ctx: BenchContext, _id: string, run: { stdout: string; stderr: string; code: number }): EngineReport {
    const s = parseStatsLine(run.stderr);
    const msg = run.stderr.split('\n').find((l) => l.startsWith('minidock: ') && /memory|killed/.test(l));
    const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    return {
      exitCode: num(s?.exitCode) ?? run.code,
      oomKilled: typeof s?.oomKilled === 'boolean' ? s.oomKilled : undefined,
      memoryPeakBytes: num(s?.memoryPeakBytes),
      oomKills: num(s?.oomKills),
      nrThrottled: num(s?.nrThrottled),
      nrPeriods: num(s?.nrPeriods),
      message: msg?.replace(/^minidock: /, ''),
    };
  }

  start(ctx: BenchContext, id: string, w: Workload): Launch {
    return {
      argv: [this.bin, 'run', '-d', '--name', id, ...minidockLimitFlags(w.limits), ctx.rootfs, ...w.cmd],
      env: this.env(ctx),
      stdout: 'ignore',
    };
  }

  exec(ctx: BenchContext, id: string, cmd: string[]): Launch {
    return { argv: [this.bin, 'exec', id, ...cmd], env: this.env(ctx) };
  }

  remove(ctx: BenchContext, ids: string[]): Launch[] {
    return [{ argv: [this.bin, 'rm', '-f', ...ids], env: this.env(ctx) }];
  }

  cleanup(): void {}
}

/** The user a rootless row runs as: nobody (no /etc/subuid range: the single-id map). */
export const ROOTLESS_UID = 65534;

/**
 * Why minidock cannot be measured rootless here (undefined: it can): the bench must be root to
 * become another user, and setpriv (util-linux) does it without a login session.
 */
export function rootlessUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the bench is not root, so it cannot run minidock as another user';
  if (!which('setpriv')) return 'setpriv (util-linux) not found';
  return undefined;
}

/**
 * The same launch as a normal user (nobody, through setpriv: about 1 ms of exec more than a direct
 * launch): `minidock run` is then rootless (a user namespace, no cgroup on v1). Its state root and
 * XDG_RUNTIME_DIR are a directory of nobody's in the bench's scratch directory, which is made
 * traversable (0711: the container's root, nobody, must pass through it to the rootfs).
 */
export function rootlessLaunch(ctx: BenchContext, l: Launch): Launch {
  const dir = `${ctx.work}/minidock-rootless`;
  if (!existsSync(dir)) {
    chmodSync(ctx.work, 0o711);
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, ROOTLESS_UID, ROOTLESS_UID);
  }
  const env: NodeJS.ProcessEnv = { ...l.env, XDG_RUNTIME_DIR: dir, MINIDOCK_ROOT: `${dir}/minidock` };
  delete env.MINIDOCK_CGROUP_PARENT; // (a cgroup parent of root's: not the user's to use)
  const id = String(ROOTLESS_UID);
  return { ...l, argv: ['setpriv', '--reuid', id, '--regid', id, '--clear-groups', '--', ...l.argv], env };
}
