// `minidock cgroup CONTAINER|PID` — commander wiring only; see src/runtime/cgroups/view.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('cgroup')
    .description(
      "show a container's (or any process's) cgroups: each hierarchy's directory and its limit files with their values (v1 and v2)",
    )
    .argument('<container-or-pid>', 'a container ID, ID prefix or name (running), or a host PID')
    .option('--all', 'also list the files of hierarchies where the process sits in the root cgroup')
    .option('--format <fmt>', 'text (default) or json')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, flags: { all?: boolean; format?: string; root?: string }) => {
      const { fail } = await import('../errors.js');
      const { cgroupView, renderView, pidOf } = await import('../runtime/cgroups/view.js');
      if (flags.format !== undefined && flags.format !== 'text' && flags.format !== 'json')
        fail(`--format ${flags.format}: use text or json`);
      const view = cgroupView(pidOf(ref, flags.root));
      process.stdout.write(
        flags.format === 'json' ? JSON.stringify(view) + '\n' : renderView(view, { all: flags.all }),
      );
    });
}
