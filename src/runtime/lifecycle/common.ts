// Helpers shared by the lifecycle functions (ps, stop, kill, rm, logs, exec, inspect, stats, wait,
// prune, gc): they return values and throw MinidockError; the verbs in src/cli/ print.
import { readdirSync, readFileSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import { SIGNALS } from '../../sys/constants.js';
import { stateRoot } from '../state-root.js';
import { isProcess } from '../../sys/proc.js';
import { readState, type ContainerState, type Entry } from '../container-store/records.js';
import { deadReason, effectiveStatus } from '../container-store/staleness.js';
import { openCgroupAt, type Cgroup } from '../cgroups/index.js';
import { freezerState, thaw } from '../cgroups/freezer.js';
import { markManuallyStopped } from '../restart-policy.js';
import { journal } from './events.js';

export interface RootFlag {
  root?: string;
}

export const rootOf = (f: RootFlag): string => stateRoot(f.root);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Is the container's first process alive right now (the same process: pid + start time)? */
export function isRunning(e: Entry): boolean {
  const s = e.state;
  return effectiveStatus(e) === 'running' && isProcess(s?.pid, s?.pidStart);
}

/** "KILL", "SIGKILL", "kill" or "9" -> 9 */
export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = raw.toUpperCase().replace(/^SIG/, '');
    const n = SIGNALS[`SIG${name}`];
    if (n) return n;
  }
  throw new MinidockError(`invalid signal "${raw}": use a name such as TERM, KILL, HUP, or a number 1-64`, 125);
}

/**
 * Send a signal to the container's first process. The pid is checked against its recorded start
 * time first: a pid the kernel recycled since must never be signalled.
 */
export function signal(e: Entry, sig: number): void {
  if (!isRunning(e)) throw new MinidockError(`container ${e.config?.name ?? e.id.slice(0, 12)} is not running`, 1);
  // SIGKILL or its stop signal (--stop-signal, else SIGTERM) from the user: its restart policy must
  // not bring it back (Docker)
  if (sig === 9 || sig === (e.config?.spec.stopSignal ?? 15)) markManuallyStopped(e.dir);
  try {
    process.kill(e.state!.pid!, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
  journal(e, 'kill', { signal: String(sig) }); // (stop's and rm -f's signals too, as Docker's)
  // SIGKILL to a paused container: on cgroup v1 a frozen task holds even SIGKILL pending until it
  // is thawed, so it is thawed right after the kill, as Docker does (v2 wakes it for a fatal signal).
  if (sig === 9) {
    const cg = cgroupOf(e);
    const frozen = cg && freezerState(cg);
    if (cg && (frozen === 'FROZEN' || frozen === 'FREEZING')) thaw(cg);
  }
}

/** The container's cgroup, reopened from the directories its state.json records; undefined once gone. */
export function cgroupOf(e: Entry): Cgroup | undefined {
  return openCgroupAt(e.state?.cgroupPaths ?? []);
}

/**
 * Wait until the container is no longer running: state.json says "exited" (the monitor wrote it),
 * or nobody looks after it any more, or its directory is gone (--rm). Polls state.json; a
 * container's exit is rare enough that 20 ms polling costs nothing measurable. A monitor that
 * exits between a read of "running" and the staleness check is not mistaken for a dead one:
 * staleReason reads state.json again once the keeper is gone, and finds "exited" there.
 */
export async function waitExit(e: Entry, timeoutMs = Infinity): Promise<ContainerState | undefined> {
  const t0 = Date.now();
  for (;;) {
    const s = readState(e.dir);
    if (!s) return undefined; // removed (--rm)
    const cur: Entry = { ...e, state: s };
    if (s.status === 'exited' || effectiveStatus(cur) === 'dead') return s;
    if (Date.now() - t0 > timeoutMs) return s;
    await sleep(20);
  }
}

/**
 * A container between two runs of its restart policy, after the user's stop mark was left
 * (markManuallyStopped): wait until the restart is settled — its monitor saw the mark during the
 * back-off and wrote "exited" (within 50 ms), or a relaunch already under way ran it ("running",
 * for the caller to stop now; the new monitor sees the mark at that exit). Returns it as it is then.
 */
export async function settleRestart(e: Entry, timeoutMs = 20_000): Promise<Entry> {
  const t0 = Date.now();
  for (;;) {
    const s = readState(e.dir);
    const cur: Entry = { ...e, state: s };
    if (s?.status !== 'restarting' || effectiveStatus(cur) !== 'restarting' || Date.now() - t0 > timeoutMs) return cur;
    await sleep(20);
  }
}

/** Wait for a process (by pid + start) to be gone. */
export async function waitGone(
  pid: number | undefined,
  start: number | undefined,
  timeoutMs: number,
): Promise<boolean> {
  const t0 = Date.now();
  while (isProcess(pid, start)) {
    if (Date.now() - t0 > timeoutMs) return false;
    await sleep(10);
  }
  return true;
}

/** "3 seconds", "2 minutes", as Docker words ages */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 1) return 'Less than a second';
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hour${hours === 1 ? '' : 's'}`;
  return `${Math.round(hours / 24)} days`;
}

/** Docker's STATUS column: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created", and "Dead" with
 * the reason (nobody saw how it ended, so there is no exit code to show). */
export function statusText(e: Entry, now = Date.now()): string {
  const st = effectiveStatus(e);
  const s = e.state;
  if (st === 'running') return `Up ${humanDuration(now - Date.parse(s?.startedAt ?? e.config?.created ?? ''))}`;
  if (st === 'exited') {
    const ago = s?.finishedAt ? ` ${humanDuration(now - Date.parse(s.finishedAt))} ago` : '';
    return `Exited (${s?.exitCode ?? '?'})${ago}${s?.oomKilled ? ' (OOM killed)' : ''}`;
  }
  if (st === 'created') return 'Created';
  if (st === 'restarting') {
    const ago = s?.finishedAt ? ` ${humanDuration(now - Date.parse(s.finishedAt))} ago` : '';
    return `Restarting (${s?.exitCode ?? '?'})${ago}`;
  }
  if (st === 'unknown') return 'Unknown: its state.json cannot be parsed';
  return `Dead: ${deadReason(e)}`;
}

/** The monitors looking after the container in `dir` (it is their argv[1]), found in /proc: for
 * when state.json cannot say who they are. */
export function monitorsOf(dir: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv[0].endsWith('/minidock-monitor') && argv[1] === dir) out.push(Number(p));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
