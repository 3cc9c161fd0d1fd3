// `minidock create [run's flags] ROOTFS|IMAGE CMD...`: a container made and recorded, not started
// (src/runtime/lifecycle/create.ts); prints its ID. `minidock start` runs it.
import type { Command } from 'commander';
import type { RunSpecFlags } from '../runtime/run.js';
import { runOptions } from './run-options.js';

interface CreateFlags extends RunSpecFlags {
  root?: string;
}

export function register(program: Command, argv?: readonly string[]): void {
  const create = program
    .command('create')
    .description("create a container without starting it (run's flags); minidock start runs it");
  runOptions(create, 'create', argv).action(
    async (rootfs: string, command: string[], flags: Record<string, unknown>) => {
      process.exitCode = await createCommand(rootfs, command, flags);
    },
  );
}

async function createCommand(rootfs: string, command: string[], flags: CreateFlags): Promise<number> {
  const [{ Timeline }, { writeErr, writeOut }, { stateRoot }, { createFromFlags }] = await Promise.all([
    import('../runtime/trace.js'),
    import('../sys/output.js'),
    import('../runtime/state-root.js'),
    import('../runtime/lifecycle/create.js'),
  ]);
  // --cidfile: refused if the file exists, before anything is made; written once the container is
  const cid = flags.cidfile !== undefined ? await import('../runtime/cidfile.js') : undefined;
  cid?.checkCidfile(flags.cidfile!);
  const { entry, notices } = await createFromFlags(stateRoot(flags.root), rootfs, command, flags, new Timeline());
  cid?.writeCidfile(flags.cidfile!, entry.id);
  for (const line of notices) writeErr(`minidock: ${line}\n`);
  writeOut(`${entry.id}\n`);
  return 0;
}
