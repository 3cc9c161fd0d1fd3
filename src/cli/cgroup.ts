// `minidock cgroup PID` — commander wiring only; see src/runtime/cgroups/view.ts.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('cgroup')
    .description("show a process's cgroups: each hierarchy's directory and its limit files with their values (v1 and v2)")
    .argument('<pid>', 'a host PID, e.g. of a container\'s first process')
    .option('--all', 'also list the files of hierarchies where the process sits in the root cgroup')
    .option('--format <fmt>', 'text (default) or json')
    .action(async (pid: string, flags: { all?: boolean; format?: string }) => {
      const { fail } = await import('../errors.js');
      const { cgroupView, renderView } = await import('../runtime/cgroups/view.js');
      if (!/^\d+$/.test(pid.trim())) fail(`invalid PID "${pid}": give the number of a running process (e.g. from pgrep)`);
      if (flags.format !== undefined && flags.format !== 'text' && flags.format !== 'json') fail(`--format ${flags.format}: use text or json`);
      const view = cgroupView(Number(pid));
      process.stdout.write(flags.format === 'json' ? JSON.stringify(view) + '\n' : renderView(view, { all: flags.all }));
    });
}
