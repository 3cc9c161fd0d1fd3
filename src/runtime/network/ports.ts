// -P: every exposed port (the image's ExposedPorts, --expose) published on a free host port, as
// Docker does: a port of the kernel's ephemeral range (net.ipv4.ip_local_port_range, the range it
// picks client ports from itself) that nothing on the host has bound (checked by binding it for a
// moment) and that no other container publishes (its DNAT rule binds nothing, so only the rules
// show it). Decided when the spec is made: the ports are then the container's like -p's (ps, port,
// inspect, and the same ports again at start/restart).
import { readFileSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import type { NetworkSpec } from './flags.js';
import { listRules, type PublishedPort } from './nft.js';

/** The kernel's ephemeral range, [32768, 60999] when it cannot be read. */
export function ephemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [lo, hi] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (lo >= 1 && hi <= 65535 && lo <= hi) return [lo, hi];
  } catch {
    // no /proc: the kernel's default
  }
  return [32768, 60999];
}

/** Whether `port`/`proto` can be bound on every address right now (the socket is closed again at once). */
export async function canBind(port: number, proto: 'tcp' | 'udp'): Promise<boolean> {
  if (proto === 'udp') {
    const { createSocket } = await import('node:dgram');
    const s = createSocket('udp4');
    return new Promise((res) => {
      s.once('error', () => res(false));
      s.bind(port, '0.0.0.0', () => s.close(() => res(true)));
    });
  }
  const { createServer } = await import('node:net');
  const srv = createServer();
  return new Promise((res) => {
    srv.once('error', () => res(false));
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => res(true)));
  });
}

/** Host ports other containers publish now (every state root's: the nft table is the host's). */
function publishedNow(): Set<string> {
  try {
    // (a user who cannot read the ruleset, e.g. --dry-run as non-root, sees none)
    return new Set(listRules().flatMap((r) => /^ctr=[0-9a-f]+ (\d+\/(tcp|udp))$/.exec(r.comment ?? '')?.[1] ?? []));
  } catch {
    return new Set();
  }
}

/**
 * The published ports -P adds to `spec`: each exposed port that no -p publishes already, on a free
 * host port of the ephemeral range (tried from a random place in it, so that two launches at once
 * rarely try the same one). `taken`: host ports in use by DNAT rules (`80/tcp` form).
 */
export async function publishAllPorts(
  spec: NetworkSpec,
  taken: Set<string> = publishedNow(),
  range: [number, number] = ephemeralRange(),
  bindable: (port: number, proto: 'tcp' | 'udp') => Promise<boolean> = canBind,
): Promise<PublishedPort[]> {
  if (!spec.publishAll) return [];
  const out: PublishedPort[] = [];
  const used = new Set([...taken, ...spec.ports.map((p) => `${p.hostPort}/${p.proto}`)]);
  const [lo, hi] = range;
  const size = hi - lo + 1;
  for (const key of spec.exposed ?? []) {
    const [port, proto] = key.split('/') as [string, 'tcp' | 'udp'];
    if (spec.ports.some((p) => p.containerPort === +port && p.proto === proto)) continue; // -p wins
    const start = Math.floor(Math.random() * size);
    let found: number | undefined;
    for (let i = 0; i < size && found === undefined; i++) {
      const cand = lo + ((start + i) % size);
      if (!used.has(`${cand}/${proto}`) && (await bindable(cand, proto))) found = cand;
    }
    if (found === undefined)
      throw new MinidockError(
        `-P: no free host port for ${key} in the ephemeral range ${lo}-${hi} (net.ipv4.ip_local_port_range) — publish it with -p HOST:${port}/${proto}`,
      );
    used.add(`${found}/${proto}`);
    out.push({ hostPort: found, containerPort: +port, proto });
  }
  return out;
}
