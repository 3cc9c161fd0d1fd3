// Stop one container (minidock stop): its stop signal (--stop-signal; SIGTERM by default), a grace
// period, then SIGKILL (PID 1 ignores the signal unless it installed a handler: the kernel protects a
// namespace's init from signals it does not handle, so many containers only ever stop by SIGKILL).
import { gcEntries } from '../container-store/gc.js';
import type { Entry } from '../container-store/records.js';
import { isStale } from '../container-store/staleness.js';
import { markManuallyStopped } from '../restart-policy.js';
import { isRunning, settleRestart, signal, waitExit } from './common.js';
import { journal } from './events.js';

export async function stopOne(root: string, found: Entry, graceSec: number): Promise<void> {
  // a container its user stopped is not restarted by its policy (Docker); one between two runs of
  // its policy stays stopped, or, when its next run had already begun, is stopped below
  markManuallyStopped(found.dir);
  const e = found.state?.status === 'restarting' ? await settleRestart(found) : found;
  if (!isRunning(e)) {
    // Nobody looks after it (its monitor died): what it left running is killed by its cgroups
    // (nothing could wait for a graceful exit), and it is recorded dead, as gc would.
    if (isStale(e)) gcEntries(root, [e]);
    return; // Docker: stopping a stopped container succeeds
  }
  signal(e, e.config?.spec.stopSignal ?? 15);
  const s = await waitExit(e, graceSec * 1000);
  if (s && s.status !== 'exited' && isRunning({ ...e, state: s })) {
    signal(e, 9);
    await waitExit(e, 10_000);
  }
  journal(e, 'stop');
}
