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
  /** `network disconnect` took the network above away (the mode stays what run asked for) */
  disconnected?: boolean;
  /** `network connect`: the networks given to the running container after its launch */
  connected?: Connection[];
}

/** A network given by `network connect` to a running container (connect.ts): its own veth pair. */
export interface Connection {
  network: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  /** the host end of its veth pair (connectionIfName) */
  hostIf: string;
  /** the container's end: eth0, eth1, ... the lowest free in its namespace when it was connected */
  ifName: string;
  aliases?: string[];
  /** its gateway became the namespace's default route (there was none) */
  defaultRoute?: boolean;
  /** the namespace it was made in belongs to this process (pid and its start time): a container
   * started again has a new namespace, where the connection no longer exists */
  pid: number;
  pidStart?: number;
}

/** A network a container is on now: the one of its launch and those connected since. */
export interface AttachedNetwork {
  network: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  hostIf: string;
  aliases?: string[];
  /** true: the network of its launch (run --network) */
  primary: boolean;
}

/**
 * The networks of a container's record: its launch's bridge network (unless disconnected), then
 * the connections made in its current namespace (`state`: its pid and start time; a connection of
 * an earlier run is not listed). Pure.
 */
export function attachedNetworks(
  rec: NetworkRecord | undefined,
  state?: { pid?: number; pidStart?: number },
): AttachedNetwork[] {
  if (!rec) return [];
  const out: AttachedNetwork[] = [];
  if (rec.mode === 'bridge' && rec.network && rec.ip && !rec.disconnected)
    out.push({
      network: rec.network,
      ip: rec.ip,
      prefixLen: rec.prefixLen ?? 0,
      gateway: rec.gateway ?? '',
      hostIf: rec.hostIf ?? '',
      ...(rec.aliases ? { aliases: rec.aliases } : {}),
      primary: true,
    });
  for (const c of rec.connected ?? [])
    if (state === undefined || (c.pid === state.pid && c.pidStart === state.pidStart))
      out.push({
        network: c.network,
        ip: c.ip,
        prefixLen: c.prefixLen,
        gateway: c.gateway,
        hostIf: c.hostIf,
        ...(c.aliases ? { aliases: c.aliases } : {}),
        primary: false,
      });
  return out;
}

export const networkFile = (dir: string): string => pathIn(dir, 'network.json');

export function readNetworkRecord(dir: string): NetworkRecord | undefined {
  return readJson<NetworkRecord>(networkFile(dir));
}

/** What ps, inspect and port show: `0.0.0.0:8080->80/tcp` for each published port. */
export function formatPorts(ports: PublishedPort[]): string {
  return ports.map((p) => `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(', ');
}
