// The runtimes the benchmark knows, in the order they appear in tables and charts.
import { BarePeer } from './bare.js';
import { CtrPeer, DockerPeer, PodmanPeer } from './engines.js';
import { MinidockPeer } from './minidock.js';
import { OciRuntimePeer } from './runc.js';
import type { Peer } from './types.js';

export const ALL_PEERS = ['bare', 'minidock', 'runc', 'crun', 'podman', 'docker', 'ctr'] as const;
export type PeerName = (typeof ALL_PEERS)[number];

export function makePeer(name: PeerName): Peer {
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
    const n = raw === 'containerd' ? 'ctr' : raw;
    if (!(ALL_PEERS as readonly string[]).includes(n)) {
      throw new Error(`unknown runtime "${raw}": choose from ${ALL_PEERS.join(', ')}`);
    }
    if (!out.includes(n as PeerName)) out.push(n as PeerName);
  }
  return out;
}
