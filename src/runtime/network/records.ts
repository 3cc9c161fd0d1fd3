// A container's network record, <dir>/network.json (written by wiring.ts before clone): what rm,
// gc, ps, inspect and port read. Reading only, and nothing native: ps and inspect import this.
import { pathIn } from '../state-root.js';
import { readJson } from '../container-store/records.js';
import type { ExtraHost, NetworkMode } from './flags.js';
import type { PublishedPort } from './nft.js';

/** The container's network record, <dir>/network.json: what rm, gc, ps, inspect and port read. */
export interface NetworkRecord {
  mode: NetworkMode;
  network?: string;
  ip?: string;
  prefixLen?: number;
  gateway?: string;
  hostIf?: string;
  ports: PublishedPort[];
  /** container: the ID of the container whose namespace it shares */
  joined?: string;
  /** --network-alias: its other names on its user-defined network (in every member's hosts file) */
  aliases?: string[];
  /** --add-host: lines of its own hosts file (host-gateway: the network's gateway) */
  extraHosts?: ExtraHost[];
  /** --dns: its nameservers */
  dns?: string[];
  /** --mac-address: eth0's MAC */
  mac?: string;
}

export const networkFile = (dir: string): string => pathIn(dir, 'network.json');

export function readNetworkRecord(dir: string): NetworkRecord | undefined {
  return readJson<NetworkRecord>(networkFile(dir));
}

/** What ps, inspect and port show: `0.0.0.0:8080->80/tcp` for each published port. */
export function formatPorts(ports: PublishedPort[]): string {
  return ports.map((p) => `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(', ');
}
