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

/**
 * The runtimes in the order repetition `rep` launches them: the rows of a Williams design (a Latin
 * square that crossover trials use; for an odd count, with its mirror image), taken in turn. Within a
 * repetition every runtime then comes right after every other one equally often, and at each place
 * equally often. Why: a launch leaves work to the kernel after it returns (its namespaces' and
 * cgroup's tear-down), which the next launch shares 2 cores with. With the same order every time, the
 * build that always came right after minidock-rootless (which leaves little) was measured ~4-5 ms
 * faster than the same build the other way round (`bench startup --runtimes minidock,minidock@DIR`,
 * 30 repetitions each way, 2026-12-05). (A rotation alone would not do: B would still always follow A.)
 */
export function balancedOrder<T>(items: readonly T[], rep: number): T[] {
  const n = items.length;
  if (n < 2) return [...items];
  // the first row: 0, 1, n-1, 2, n-2, ...; row r adds r to each (mod n)
  const first = Array.from({ length: n }, (_, j) => (j % 2 === 1 ? (j + 1) / 2 : (n - j / 2) % n));
  const rows = n % 2 === 0 ? n : 2 * n;
  const r = ((rep % rows) + rows) % rows;
  const row = first.map((x) => items[(x + r) % n]);
  return r < n ? row : row.reverse();
}

/** The rows of a balancedOrder run as a table reads best: by repetition, then in the runtimes' order. */
export function inRunOrder(rows: Row[], runs: readonly { name: string }[]): Row[] {
  const place = new Map(runs.map((r, i) => [r.name, i]));
  const at = (r: Row): number => place.get(String(r.runtime)) ?? 0;
  return [...rows].sort((a, b) => Number(a.rep) - Number(b.rep) || at(a) - at(b));
}
