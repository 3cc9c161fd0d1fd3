// What every experiment does first: detect and prepare the requested runtimes, turning each one
// that cannot take part into a skip record (reason + fix) instead of dropping it.
import { timed, type Timed } from '../proc.js';
import type { PeerName } from '../peers/index.js';
import type { BenchContext, Launch, Peer } from '../peers/types.js';
import type { ActivePeer, Emit, Row, Skip } from '../types.js';

export interface PeerPool {
  /** detection and preparation happen once per bench run, for all experiments */
  get(name: PeerName): ActivePeer | Skip;
}

export function isSkip(x: ActivePeer | Skip): x is Skip {
  return (x as Skip).reason !== undefined && (x as ActivePeer).peer === undefined;
}

/**
 * Split the requested runtimes into usable peers and skips for one experiment. `need` says which
 * capability the experiment uses (a runtime without detached containers cannot do `scale`).
 */
export function selectPeers(
  experiment: string,
  names: PeerName[],
  pool: PeerPool,
  emit: Emit,
  need: (a: ActivePeer) => string | undefined = () => undefined,
): { active: ActivePeer[]; skipped: Skip[] } {
  const active: ActivePeer[] = [];
  const skipped: Skip[] = [];
  for (const n of names) {
    const got = pool.get(n);
    let skip: Skip | undefined;
    if (isSkip(got)) skip = { ...got, experiment };
    else {
      const why = need(got);
      if (why) skip = { experiment, runtime: n, reason: why, fix: got.det.fix };
      else active.push(got);
    }
    if (skip) {
      skipped.push(skip);
      emit({ type: 'skip', experiment, runtime: n, reason: skip.reason });
    }
  }
  return { active, skipped };
}

/**
 * Run one launch (timed), then its untimed cleanup. Launches run in the bench's scratch directory:
 * what an engine leaves in its working directory stays there (Podman's conmon writes a file named
 * `oom` into its cwd when a container is OOM-killed) and goes with it.
 */
export function runLaunch(ctx: BenchContext, l: Launch, timeoutMs?: number): Timed {
  try {
    return timed(l.argv, { env: l.env, pin: ctx.pin, stdout: l.stdout, timeoutMs, cwd: ctx.work });
  } finally {
    l.cleanup?.();
  }
}

/** Short, single-line description of a failed command for skip records and notes. */
export function failure(peer: Peer, r: Timed): string {
  const msg = (r.stderr.trim() || r.stdout.trim()).split('\n').filter(Boolean).slice(-1)[0] ?? '';
  return `${peer.name} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}${msg ? `: ${msg.slice(0, 300)}` : ''}`;
}

let counter = 0;
/** Unique container ids/names: `<tag>-<experiment>-<n>` (Docker/Podman filters find leftovers by tag). */
export function newId(ctx: BenchContext, what: string): string {
  return `${ctx.tag}-${what}-${++counter}`;
}

/** Let the event loop breathe between (synchronous) launches: the live view redraws, signals arrive. */
export const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** The runtimes none of whose rows worked (and not skipped already): each a skip saying `reason` (its notes say why). */
export function failedRuntimes(rows: Row[], skipped: Skip[], experiment: string, reason: string): Skip[] {
  const names = [...new Set(rows.map((r) => String(r.runtime)))];
  return names
    .filter((n) => !rows.some((r) => r.runtime === n && r.ok) && !skipped.some((s) => s.runtime === n))
    .map((n) => ({ experiment, runtime: n, reason }));
}
