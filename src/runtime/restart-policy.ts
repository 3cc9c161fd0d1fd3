// --restart no|on-failure[:N]|always|unless-stopped: the policy as parsed (parseRestartPolicy), what
// the C monitor is told about it for one run (monitorRestartArgs), Docker's back-off between
// restarts (nextBackoffMs), and the mark a user's stop or kill leaves for the monitor
// (markManuallyStopped). The monitor (native/monitor.c) carries the policy out; docs/lifecycle.md,
// "Restart policies", draws the whole loop. Imported only by launches and verbs that use a policy.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { fail } from '../errors.js';
import { pathIn } from './state-root.js';

export interface RestartPolicy {
  name: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  /** on-failure:N: at most N restarts (0: no limit, as Docker) */
  maximumRetryCount: number;
}

/** Docker's back-off: 100 ms before the first restart, doubled before each next one, at most a
 * minute; back to 100 ms after a run of 10 s or more (moby's restartmanager). */
export const BACKOFF_FIRST_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
export const BACKOFF_RESET_AFTER_MS = 10_000;

/** "no", "on-failure", "on-failure:3", "always", "unless-stopped"; anything else is one line, exit 125. */
export function parseRestartPolicy(raw: string): RestartPolicy {
  const m = /^(no|on-failure|always|unless-stopped)(?::(.*))?$/.exec(raw);
  if (!m)
    return fail(`--restart ${raw}: use no, on-failure[:MAX-RETRIES], always or unless-stopped (Docker's policies)`);
  const name = m[1] as RestartPolicy['name'];
  if (m[2] === undefined) return { name, maximumRetryCount: 0 };
  if (name !== 'on-failure')
    fail(`--restart ${raw}: only on-failure takes a maximum retry count (on-failure:3); ${name} takes none`);
  if (!/^\d+$/.test(m[2]) || Number(m[2]) > 2 ** 31 - 1)
    fail(`--restart ${raw}: the maximum retry count must be a whole number ≥ 0, e.g. on-failure:3`);
  return { name, maximumRetryCount: Number(m[2]) };
}

/** Docker's refusal of --rm with a restart policy (a container removed at its exit cannot restart). */
export function checkRestartWithRm(policy: RestartPolicy | undefined, rm: boolean | undefined): void {
  if (rm && policy && policy.name !== 'no')
    fail(
      `Conflicting options: --restart ${policy.name} and --rm — a container removed at its exit cannot be restarted; drop one`,
    );
}

/**
 * The back-off before the restart after this one, given the delay the monitor waited before the
 * last (undefined: none yet). The monitor itself goes back to BACKOFF_FIRST_MS after a run of
 * BACKOFF_RESET_AFTER_MS or more, so it records the delay it really used.
 */
export function nextBackoffMs(lastMs: number | undefined): number {
  if (!lastMs || lastMs <= 0) return BACKOFF_FIRST_MS;
  return Math.min(lastMs * 2, BACKOFF_MAX_MS);
}

/**
 * What the monitor is told for one run: restart after any exit (always, unless-stopped) or after a
 * non-zero one (on-failure), the count so far (state.json's restartCount), the delay to wait if the
 * run was short. Nothing when the policy is no, or on-failure:N has used its N restarts: the
 * monitor then records the exit and goes, as without a policy. The user's stop or kill is the
 * monitor's to check (markManuallyStopped), at the exit.
 */
export function monitorRestartArgs(
  policy: RestartPolicy | undefined,
  restartCount: number,
  lastDelayMs: number | undefined,
): string[] {
  if (!policy || policy.name === 'no') return [];
  if (policy.name === 'on-failure' && policy.maximumRetryCount > 0 && restartCount >= policy.maximumRetryCount)
    return ['--restart-count', String(restartCount)];
  // (unless-stopped is always here: minidock has no daemon whose start would tell them apart)
  const when = policy.name === 'on-failure' ? 'on-failure' : 'always';
  return [
    '--restart',
    when,
    '--restart-count',
    String(restartCount),
    '--restart-delay',
    String(nextBackoffMs(lastDelayMs)),
  ];
}

// ---- the user's stop ----
//
// Docker never restarts a container its user stopped (stop, or kill with SIGKILL or the stop
// signal). The monitor is a C program with no line to the CLI after the launch, so the CLI leaves
// a mark in the container's directory, which the monitor reads when the container exits and while
// it waits to restart it; `start` removes it (a manual start clears the manual stop, as Docker's).

const MARK = 'manually-stopped';

export function markManuallyStopped(dir: string): void {
  try {
    writeFileSync(pathIn(dir, MARK), '', { mode: 0o600 });
  } catch {
    /* the directory is gone: nothing left to restart */
  }
}

export function clearManuallyStopped(dir: string): void {
  rmSync(pathIn(dir, MARK), { force: true });
}

export function isManuallyStopped(dir: string): boolean {
  return existsSync(pathIn(dir, MARK));
}
