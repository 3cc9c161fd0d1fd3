// Create a container without starting it (minidock create): run's flags through run's own checks
// (runSpec: the same code path, so the same lines for the same bad input), then the container's
// directory, config.json, name and overlay directories as a launch makes them, and state.json
// "created" with nobody named as its keeper: at rest. Nothing runs and no cgroup exists until
// start (lifecycle/start.ts).
import { MinidockError } from '../../errors.js';
import type { Entry } from '../container-store/records.js';
import { containerCgroup, defineContainer } from '../launch.js';
import { privilegedWarning, runSpec, type RunSpecFlags } from '../run.js';
import { ensureStateRoot, newId } from '../state-root.js';
import { appendEvent } from './events.js';
import type { Timeline } from '../trace.js';

export interface Created {
  entry: Entry;
  /** lines for the user: --privileged's warning, a user namespace's note */
  notices: string[];
}

export async function createFromFlags(
  root: string,
  rootfs: string,
  command: string[],
  flags: RunSpecFlags,
  timeline: Timeline,
): Promise<Created> {
  // a normal user: a rootless container, as run makes (docs/security.md)
  if (process.geteuid?.() !== 0) flags.rootless = true;
  const spec = await runSpec(newId(), root, rootfs, command, flags);
  const notices: string[] = [];
  const warning = privilegedWarning(spec);
  if (warning) notices.push(`WARNING: ${warning}`);
  if (spec.userns?.rootless) {
    containerCgroup(spec, true); // (a limit flag rootless cannot honour is refused now, as by run)
    ensureStateRoot(root);
  }
  if (spec.userns?.note) notices.push(spec.userns.note);
  if (spec.ttySize) delete spec.ttySize; // the terminal of the start that attaches one decides
  const entry = await defineContainer(spec, { root, timeline, autoRemove: !!flags.rm });
  if (!entry.config) throw new MinidockError(`container ${spec.id}: config.json was not written`);
  appendEvent(root, 'create', entry);
  return { entry, notices };
}
