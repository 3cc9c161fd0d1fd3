// `minidock version [--format json]`: this client's version, Node's, the kernel's and the cgroup mode
// (src/runtime/lifecycle/info.ts). There is no daemon, so Docker's "Server" part has no counterpart.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('version')
    .description('show the version of minidock, Node, the kernel and the cgroup mode')
    .option('--format <fmt>', 'text (default) or json')
    .action(async (flags: { format?: string }) => {
      process.exitCode = await version(program.version() ?? '', flags.format);
    });
}

async function version(client: string, format: string | undefined): Promise<number> {
  const [{ fail }, { writeOut }, { versionInfo }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/info.js'),
  ]);
  if (format !== undefined && format !== 'json' && format !== 'text') fail(`--format ${format}: use json or text`);
  const v = versionInfo(client);
  if (format === 'json') {
    writeOut(JSON.stringify(v) + '\n');
    return 0;
  }
  writeOut(
    `Client: minidock\n Version:       ${v.Version}\n Node version:  ${v.NodeVersion}\n OS/Arch:       ${v.OsArch}\n Kernel:        ${v.Kernel}\n Cgroup mode:   ${v.CgroupMode}\n`,
  );
  return 0;
}
