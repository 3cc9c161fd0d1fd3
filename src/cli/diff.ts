// `minidock diff CONTAINER`: what the container changed in its filesystem, one "A|C|D /path" line
// each, sorted, as `docker diff` prints them (its overlay's upper layer: src/runtime/lifecycle/diff.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('diff')
    .description(
      "list what a container changed in its filesystem: A added, C changed, D deleted (its overlay's upper layer)",
    )
    .argument('<container>', 'container ID (or unique prefix) or name')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, flags: Record<string, unknown>) => {
      process.exitCode = await diff(ref, flags);
    });
}

async function diff(ref: string, flags: RootFlag): Promise<number> {
  const [{ writeOut }, { resolve }, { rootOf }, { containerChanges }, { refFailed }] = await Promise.all([
    import('../sys/output.js'),
    import('../runtime/container-store/listing.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/diff.js'),
    import('./container-lines.js'),
  ]);
  try {
    writeOut(
      containerChanges(resolve(rootOf(flags), ref))
        .map((c) => `${c.kind} ${c.path}\n`)
        .join(''),
    );
    return 0;
  } catch (err) {
    return refFailed(err);
  }
}
