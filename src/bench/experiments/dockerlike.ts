// minidock, Podman and Docker share Docker's `run` flags (-d, --name, --network, -p, -v, --ipc,
// --shm-size, --rm): the network and ipc experiments build their command lines once, here, from the
// same binaries, globals and image each peer uses for the other experiments (peers/*.ts).
import type { MinidockPeer } from '../peers/minidock.js';
import { PODMAN_GLOBAL, PODMAN_RUN, type DockerPeer, type PodmanPeer } from '../peers/engines.js';
import type { BenchContext } from '../peers/types.js';
import type { ActivePeer } from '../types.js';

export interface DockerLike {
  name: string;
  /** the binary and its global flags */
  base: string[];
  env?: NodeJS.ProcessEnv;
  /** flags every `run` gets (Podman's runtime and ulimits) */
  runFlags: string[];
  /** what `run` runs: the rootfs (minidock) or the imported image */
  image: string;
  /** `rm -f` and its flags */
  rm: string[];
}

/** Everything after `--network none` removed: the experiment says which network it wants. */
export function withoutNetwork(flags: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] === '--network') i++;
    else out.push(flags[i]);
  }
  return out;
}

/** The command lines of a minidock, Podman or Docker peer; undefined for any other runtime. */
export function dockerLike(ctx: BenchContext, a: ActivePeer): DockerLike | undefined {
  const { peer } = a;
  if (peer.kind === 'minidock') {
    const md = peer as MinidockPeer;
    return { name: peer.name, base: [md.bin], env: md.env(ctx), runFlags: [], image: ctx.rootfs, rm: ['rm', '-f'] };
  }
  if (peer.name === 'podman')
    return {
      name: 'podman',
      base: [(peer as PodmanPeer).bin, ...PODMAN_GLOBAL],
      runFlags: withoutNetwork(PODMAN_RUN),
      image: `localhost/${ctx.image}`,
      // -t 0: the programs run as PID 1 and ignore SIGTERM
      rm: ['rm', '-f', '-t', '0'],
    };
  if (peer.name === 'docker')
    return {
      name: 'docker',
      base: [(peer as DockerPeer).bin, '-H', `unix://${ctx.daemons.docker ?? '/var/run/docker.sock'}`],
      runFlags: [],
      image: ctx.image,
      rm: ['rm', '-f'],
    };
  return undefined;
}

/** `run` with `flags` then the image and `cmd`: detached (-d --name) or foreground (--rm). */
export function runArgv(d: DockerLike, o: { detach?: string; flags: string[]; cmd: string[] }): string[] {
  const how = o.detach ? ['-d', '--name', o.detach] : ['--rm'];
  return [...d.base, 'run', ...how, ...d.runFlags, ...o.flags, d.image, ...o.cmd];
}

/**
 * The container's address on its bridge from `inspect`'s JSON (an array for Podman and Docker, an
 * array or an object for minidock): NetworkSettings.IPAddress, else its first network's.
 */
export function containerIp(json: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  const c = (Array.isArray(v) ? v[0] : v) as { NetworkSettings?: Record<string, unknown> } | undefined;
  const ns = c?.NetworkSettings;
  if (!ns) return undefined;
  if (typeof ns.IPAddress === 'string' && ns.IPAddress) return ns.IPAddress;
  const nets = Object.values((ns.Networks ?? {}) as Record<string, { IPAddress?: string }>);
  return nets.map((n) => n.IPAddress).find((ip) => typeof ip === 'string' && ip.length > 0);
}
