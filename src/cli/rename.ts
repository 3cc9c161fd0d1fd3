// `minidock rename CONTAINER NEW_NAME`: give a container another name (src/runtime/lifecycle/rename.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('rename')
    .description('rename a container (running or not)')
    .argument('<container>', 'container ID (or unique prefix) or name')
    .argument('<new-name>', 'the new name: letters, digits, "_", "." and "-"')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, newName: string, flags: Record<string, unknown>) => {
      process.exitCode = await rename(ref, newName, flags);
    });
}

async function rename(ref: string, newName: string, flags: RootFlag): Promise<number> {
  const [{ resolve }, { rootOf }, { renameContainer }, { refFailed }] = await Promise.all([
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/rename.js'),
    import('./container-lines.js'),
  ]);
  const root = rootOf(flags);
  try {
    renameContainer(root, resolve(root, ref), newName);
    return 0; // Docker prints nothing
  } catch (err) {
    return refFailed(err);
  }
}
