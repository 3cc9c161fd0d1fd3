// --network, -p and --ip as a NetworkSpec (ContainerSpec.network). Only parsing: options.ts imports
// this, so nothing here loads the native library (--dry-run runs without it). The launch's side is
// wiring.ts.
import { MinidockError } from '../../errors.js';
import { formatPublish, parsePublish, type PublishedPort } from './nft.js';

export type NetworkMode = 'none' | 'host' | 'bridge' | 'container';

/** What `--network`, `-p` and `--ip` asked for (ContainerSpec.network; absent = none). */
export interface NetworkSpec {
  mode: NetworkMode;
  /** bridge: the network's name ('bridge', the default network, or one of `network create`) */
  network?: string;
  /** container: the container (name, ID or prefix) whose network namespace is joined */
  container?: string;
  ports: PublishedPort[];
  ip?: string;
}

/** `--network MODE`, `-p ...`, `--ip IP` -> a NetworkSpec (undefined: none without ports, today's launch). */
export function parseNetworkFlags(
  network: string | undefined,
  publishes: string[] = [],
  ip?: string,
): NetworkSpec | undefined {
  // -p without --network: a bridge (published ports need one; the default stays none otherwise)
  const mode = network ?? (publishes.length || ip !== undefined ? 'bridge' : 'none');
  let spec: NetworkSpec;
  if (mode === 'none' || mode === 'host') spec = { mode, ports: [] };
  else if (mode.startsWith('container:')) {
    const ref = mode.slice('container:'.length);
    if (!ref)
      throw new MinidockError('--network container: needs a container name or ID, e.g. --network container:web');
    spec = { mode: 'container', container: ref, ports: [] };
  } else if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(mode)) spec = { mode: 'bridge', network: mode, ports: [] };
  else
    throw new MinidockError(
      `--network ${mode}: use none, host, bridge, container:NAME or the name of a network (minidock network ls)`,
    );
  if (publishes.length && spec.mode !== 'bridge')
    throw new MinidockError(`-p with --network ${mode}: published ports need a bridge network (--network bridge)`);
  if (ip !== undefined && spec.mode !== 'bridge')
    throw new MinidockError(`--ip with --network ${mode}: an address is given on a bridge network (--network bridge)`);
  spec.ports = publishes.map(parsePublish);
  const seen = new Set<string>();
  for (const p of spec.ports) {
    const key = `${p.hostIp ?? '*'}:${p.hostPort}/${p.proto}`;
    if (seen.has(key))
      throw new MinidockError(`-p ${formatPublish(p)}: host port ${p.hostPort}/${p.proto} is published twice`);
    seen.add(key);
  }
  if (ip !== undefined) spec.ip = ip;
  return spec.mode === 'none' ? undefined : spec;
}
