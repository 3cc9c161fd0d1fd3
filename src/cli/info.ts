// `minidock info [--format json]`: the machine as minidock sees it — containers running, paused and
// stopped, images, storage and cgroup drivers, kernel, security options (src/runtime/lifecycle/info.ts).
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('info')
    .description('show containers, images, storage and cgroup drivers, kernel and security options')
    .option('--format <fmt>', 'text (default) or json')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: RootFlag & { format?: string }) => {
      process.exitCode = await info(flags);
    });
}

async function info(flags: RootFlag & { format?: string }): Promise<number> {
  const [{ fail }, { writeOut }, { rootOf }, { systemInfo }] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/info.js'),
  ]);
  if (flags.format !== undefined && flags.format !== 'json' && flags.format !== 'text')
    fail(`--format ${flags.format}: use json or text`);
  const i = systemInfo(rootOf(flags));
  if (flags.format === 'json') {
    writeOut(JSON.stringify(i) + '\n');
    return 0;
  }
  writeOut(
    [
      `Containers: ${i.Containers}`,
      ` Running: ${i.ContainersRunning}`,
      ` Paused: ${i.ContainersPaused}`,
      ` Stopped: ${i.ContainersStopped}`,
      `Images: ${i.Images}`,
      `Storage Driver: ${i.StorageDriver}`,
      `Cgroup Driver: ${i.CgroupDriver}`,
      `Cgroup Version: ${i.CgroupMode}`,
      'Security Options:',
      ...(i.SecurityOptions as string[]).map((s) => ` ${s}`),
      `Kernel Version: ${i.KernelVersion}`,
      `Operating System: ${i.OperatingSystem}`,
      `Architecture: ${i.Architecture}`,
      `CPUs: ${i.CPUs}`,
      `Total Memory: ${((i.MemTotal as number) / 1024 ** 3).toFixed(2)}GiB`,
      `Minidock Root Dir: ${i.StateRoot}`,
    ].join('\n') + '\n',
  );
  return 0;
}
