// `minidock port CONTAINER [PRIVATE_PORT[/PROTO]]`: the host ports published for a running
// container (-p), one line each, as `docker port` prints them: `80/tcp -> 0.0.0.0:8080`.
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export function register(program: Command): void {
  program
    .command('port')
    .description("list a running container's published ports (-p)")
    .argument('<container>', 'container ID (or unique prefix) or name')
    .argument('[port]', 'only this container port, e.g. 80 or 80/tcp')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, port: string | undefined, flags: Record<string, unknown>) => {
      process.exitCode = await portVerb(ref, port, flags);
    });
}

async function portVerb(ref: string, port: string | undefined, flags: RootFlag): Promise<number> {
  const [{ fail }, { writeOut }, { resolve, displayName }, { rootOf, isRunning }, { readNetworkRecord }] =
    await Promise.all([
      import('../errors.js'),
      import('../sys/output.js'),
      import('../runtime/container-store/listing.js'),
      import('../runtime/lifecycle/common.js'),
      import('../runtime/network/records.js'),
    ]);
  const m = port === undefined ? undefined : /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(port);
  if (port !== undefined && !m) fail(`port ${port}: give a container port, e.g. 80 or 80/tcp`);
  const e = resolve(rootOf(flags), ref);
  if (!isRunning(e)) fail(`container ${displayName(e)} is not running: its ports were released when it stopped`);
  const ports = (readNetworkRecord(e.dir)?.ports ?? []).filter(
    (p) => !m || (p.containerPort === Number(m[1]) && p.proto === (m[2] ?? 'tcp')),
  );
  if (m && ports.length === 0)
    fail(`container ${displayName(e)} does not publish ${m[1]}/${m[2] ?? 'tcp'} (see minidock port ${displayName(e)})`);
  for (const p of ports)
    writeOut(`${m ? '' : `${p.containerPort}/${p.proto} -> `}${p.hostIp ?? '0.0.0.0'}:${p.hostPort}\n`);
  return 0;
}
