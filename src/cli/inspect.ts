// `minidock inspect ID...`: everything the store knows of each container, as one JSON array
// (one container's object: describe, src/runtime/lifecycle/inspect.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('print what minidock knows about containers, as JSON')
    .argument('<container...>', 'container IDs (or unique prefixes) or names')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (refs: string[], flags: Record<string, unknown>) => {
      process.exitCode = await inspect(refs, flags);
    });
}

async function inspect(refs: string[], flags: RootFlag): Promise<number> {
  const [{ writeOut }, { listEntries, resolve }, { rootOf }, { describe }, { refFailed, reportUnknown }, { isPaused }] =
    await Promise.all([
      import('../sys/output.js'),
      import('../runtime/container-store/listing.js'),
      import('../runtime/lifecycle/common.js'),
      import('../runtime/lifecycle/inspect.js'),
      import('./container-lines.js'),
      import('../runtime/lifecycle/pause.js'),
    ]);
  const root = rootOf(flags);
  const entries = listEntries(root);
  const out: Record<string, unknown>[] = [];
  let code = 0;
  for (const ref of refs) {
    try {
      const e = resolve(root, ref, entries);
      reportUnknown([e]);
      const d = describe(e);
      // Docker's State.Paused, and Status "paused" while frozen (asked of the freezer, never recorded)
      const paused = isPaused(e);
      Object.assign(d.State as Record<string, unknown>, { Paused: paused }, paused ? { Status: 'paused' } : {});
      if (e.config?.spec?.healthcheck) await addHealth(d, e);
      out.push(d);
    } catch (err) {
      code = refFailed(err);
    }
  }
  writeOut(JSON.stringify(out, null, 2) + '\n');
  return code;
}

/** Docker's Config.Healthcheck and State.Health (the monitor's health.json; "starting" before it
 * exists, "unhealthy" once stopped). health.ts is loaded only for a container that has a healthcheck. */
async function addHealth(
  d: Record<string, unknown>,
  e: import('../runtime/container-store/records.js').Entry,
): Promise<void> {
  const { healthConfigJson, readHealth } = await import('../runtime/lifecycle/health.js');
  const h = e.config!.spec.healthcheck!;
  if (d.Config && typeof d.Config === 'object') Object.assign(d.Config, { Healthcheck: healthConfigJson(h) });
  const state = d.State as Record<string, unknown>;
  const health = readHealth(e.dir) ?? (state.Running ? { Status: 'starting', FailingStreak: 0, Log: [] } : undefined);
  // stopped: "unhealthy", as Docker sets it when its probes stop; the last results stay
  if (health) state.Health = state.Running ? health : { ...health, Status: 'unhealthy' };
}
