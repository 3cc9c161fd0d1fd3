// The runtimes the benchmark knows, in the order they appear in tables and charts.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BarePeer } from './bare.js';
import { CtrPeer, DockerPeer, PodmanPeer } from './engines.js';
import { MinidockPeer } from './minidock.js';
import { EnginePairPeer, splitPair, type PairName } from './pairs.js';
import { OciRuntimePeer } from './runc.js';
import type { Peer } from './types.js';

export const ALL_PEERS = ['bare', 'minidock', 'runc', 'crun', 'podman', 'docker', 'ctr'] as const;
/**
 * a known runtime, `minidock@DIR` (the minidock built in another checkout: the build before a change),
 * or an engine × OCI runtime pair, `podman+crun` (peers/pairs.ts)
 */
export type PeerName = (typeof ALL_PEERS)[number] | `minidock@${string}` | PairName;

export function makePeer(name: PeerName): Peer {
  if (name.startsWith('minidock@')) return new MinidockPeer(name.slice('minidock@'.length), name);
  const pair = splitPair(name);
  if (pair) return new EnginePairPeer(pair.engine, pair.runtime);
  switch (name) {
    case 'bare':
      return new BarePeer();
    case 'minidock':
      return new MinidockPeer();
    case 'runc':
      return new OciRuntimePeer('runc');
    case 'crun':
      return new OciRuntimePeer('crun');
    case 'podman':
      return new PodmanPeer();
    case 'docker':
      return new DockerPeer();
    case 'ctr':
      return new CtrPeer();
    default:
      throw new Error(`unknown runtime "${name}"`);
  }
}

/** "bare,minidock,runc" -> peer names; "all" or undefined -> all of them. */
export function parseRuntimes(spec: string | undefined): PeerName[] {
  if (!spec || spec === 'all') return [...ALL_PEERS];
  const out: PeerName[] = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (raw.startsWith('minidock@')) {
      const dir = resolve(raw.slice('minidock@'.length));
      if (!existsSync(join(dir, 'bin', 'minidock.js'))) {
        throw new Error(`"${raw}": ${dir} has no bin/minidock.js — give the directory of a minidock checkout (built)`);
      }
      if (!out.includes(`minidock@${dir}`)) out.push(`minidock@${dir}`);
      continue;
    }
    if (raw.includes('+')) {
      const pair = splitPair(raw);
      if (!pair)
        throw new Error(
          `unknown engine+runtime pair "${raw}": an engine (podman, docker, containerd) + an OCI runtime (runc, crun, minidock), e.g. podman+crun`,
        );
      const n: PairName = `${pair.engine}+${pair.runtime}`;
      if (!out.includes(n)) out.push(n);
      continue;
    }
    const n = raw === 'containerd' ? 'ctr' : raw;
    if (!(ALL_PEERS as readonly string[]).includes(n)) {
      throw new Error(`unknown runtime "${raw}": choose from ${ALL_PEERS.join(', ')}`);
    }
    if (!out.includes(n as PeerName)) out.push(n as PeerName);
  }
  return out;
}
