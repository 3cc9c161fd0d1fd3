// `network connect` and `network disconnect`: a network given to (or taken from) a container that
// is already running, as Docker's verbs of the same names.
//
// The launch gives a container its first network before its process runs: eth0 is created directly
// in the new namespace (bridge.ts attach) and the child configures it (plan steps). A running
// container's namespace already exists, so connect does all of it from the outside: a second veth
// pair whose peer is created inside the namespace (RTM_NEWLINK with IFLA_NET_NS_FD, the fd of an
// open /proc/PID/ns/net) under the lowest free ethN, then its address, link up and — only when the
// namespace has no default route yet — the default route, sent through a netlink socket opened in
// that namespace (md_nl_open: setns(CLONE_NEWNET) on the calling thread, socket, setns back; a
// netlink socket speaks to the namespace it was created in for its whole life). The lease comes
// from the network's IPAM, the hosts files of every member are rewritten (names.ts), and the
// connection is recorded in the container's network.json with the pid and start time whose
// namespace holds it. Disconnect deletes the host end of the pair: the kernel deletes both ends, and
// the peer's address and routes go with it.
import { closeSync, openSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { MinidockError } from '../../errors.js';
import { isProcess } from '../../sys/proc.js';
import { killPoint } from '../test-hooks.js';
import { lockContainer, unlockContainer } from '../container-store/locks.js';
import { entryOf, resolve } from '../container-store/listing.js';
import { writeJsonAtomic, type Entry } from '../container-store/records.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { detach, ensureNetwork } from './bridge.js';
import { allocate, DEFAULT_NETWORK, prefixOf, readNetwork, release, type Network } from './ipam.js';
import { parseIPv4 } from './ipv4.js';
import { withNetlink, type Netlink } from './netlink.js';
import { writeHosts } from './names.js';
import { attachedNetworks, networkFile, readNetworkRecord, type Connection, type NetworkRecord } from './records.js';

/**
 * The host end of a connection's veth pair: `mdn` + 8 characters of the container id + 4 hex digits
 * of a hash of the network's bridge (15 characters, IFNAMSIZ - 1). Not `mdv` + 12, the name of the
 * launch's pair (hostIfName): a container connected to the network it was launched on (after a
 * disconnect) must not meet its old name, and each (container, network) needs its own.
 */
export const connectionIfName = (container: string, bridge: string): string =>
  `mdn${container.slice(0, 8)}${createHash('sha256').update(bridge).digest('hex').slice(0, 4)}`;

export interface ConnectOptions {
  /** --ip: this address of the network (else the lowest free one) */
  ip?: string;
  /** --alias: more names of the container on this network */
  aliases?: string[];
}

export interface ConnectResult {
  network: string;
  ifName: string;
  ip: string;
  prefixLen: number;
  /** true: the namespace had no default route and this network's gateway became it */
  defaultRoute: boolean;
  /** the sentence to print when ip_forward was turned on */
  forwardNote?: string;
  /** the container has no hosts file of minidock's (launched with no network): others find it by
   * name, it finds them by address only */
  noHostsFile?: boolean;
}

/** A container by name or id, as these verbs want it: unknown is minidock's bad input (125). */
function containerOf(root: string, ref: string): Entry {
  try {
    return resolve(root, ref);
  } catch (e) {
    throw new MinidockError((e as Error).message);
  }
}

/** The network named (by name, built-in `bridge` included), refusing host and none. */
function networkOf(root: string, name: string): { name: string; bridge?: string } {
  if (name === 'host' || name === 'none')
    throw new MinidockError(
      `network ${name} is a mode a container is launched in (run --network ${name}), not one it can be connected to or disconnected from`,
    );
  if (name === DEFAULT_NETWORK) return { name, bridge: readNetwork(root, name)?.bridge };
  const net = readNetwork(root, name);
  if (!net) throw new MinidockError(`no such network: ${name} (see minidock network ls)`);
  return net;
}

/** The running container's pid and start time, or a refusal naming what to do. */
function runningProcess(e: Entry, verb: string): { pid: number; pidStart?: number } {
  const s = e.state;
  if (effectiveStatus(e) !== 'running' || !isProcess(s?.pid, s?.pidStart))
    throw new MinidockError(
      `container ${e.config?.name ?? e.id.slice(0, 12)} is not running: network ${verb} changes a running container's network namespace — start it first (minidock start ${e.config?.name ?? e.id.slice(0, 12)})`,
    );
  return { pid: s!.pid!, ...(s?.pidStart !== undefined ? { pidStart: s.pidStart } : {}) };
}

/** Run fn holding the container's lock (rm waits for it; two connects of one container queue). */
function withContainerLock<T>(e: Entry, fn: () => T): T {
  if (!lockContainer(e.dir, 10_000))
    throw new MinidockError(
      `container ${e.id.slice(0, 12)} is being created or removed by another minidock: try again when that is done`,
    );
  try {
    return fn();
  } finally {
    unlockContainer(e.dir);
  }
}

/** Run fn with a netlink socket in the network namespace of process `pid`. */
function inNamespace<T>(pid: number, fn: (nl: Netlink, fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/ns/net`, 'r');
  } catch (e) {
    throw new MinidockError(
      `/proc/${pid}/ns/net: ${(e as NodeJS.ErrnoException).code} — the container stopped meanwhile`,
    );
  }
  try {
    return withNetlink((nl) => fn(nl, fd), fd);
  } finally {
    closeSync(fd);
  }
}

/** `network connect [--ip IP] [--alias NAME] NETWORK CONTAINER`. */
export function connectNetwork(root: string, networkName: string, ref: string, o: ConnectOptions = {}): ConnectResult {
  const e = containerOf(root, ref);
  const target = networkOf(root, networkName);
  if (o.aliases?.length && target.name === DEFAULT_NETWORK)
    throw new MinidockError(
      '--alias: names on the default network bridge are not shared (as on Docker): use a user-defined network (minidock network create)',
    );
  const proc = runningProcess(e, 'connect');
  return withContainerLock(e, () => {
    const rec = readNetworkRecord(e.dir);
    if (rec?.mode === 'host' || rec?.mode === 'container')
      throw new MinidockError(
        `container ${e.id.slice(0, 12)} uses ${rec.mode === 'host' ? "the host's" : 'another container’s'} network namespace (--network ${rec.mode === 'host' ? 'host' : `container:${rec.joined?.slice(0, 12)}`}): it cannot be connected to a network of its own`,
      );
    if (attachedNetworks(rec, proc).some((n) => n.network === target.name))
      throw new MinidockError(
        `container ${e.config?.name ?? e.id.slice(0, 12)} is already connected to network ${target.name}`,
      );
    // the default network is made on first use (as by a launch); a user network exists (checked)
    const { net, mtu, forwardNote } = ensureNetwork(root, target.name, target.bridge);
    // recorded before the veth is made (as the launch writes network.json before clone): a minidock
    // killed from here on leaves a record that rm, disconnect and gc undo
    const current = (c: Connection) => c.pid === proc.pid && c.pidStart === proc.pidStart;
    const kept = (rec?.connected ?? []).filter(current);
    // (connections of an earlier run died with its namespace: their leases go now)
    for (const c of rec?.connected ?? []) if (!current(c)) unplug(root, e.id, c);
    const save = (conns: Connection[]) =>
      writeJsonAtomic(networkFile(e.dir), { ...(rec ?? { mode: 'none', ports: [] }), connected: conns });
    const conn = leased(root, e.id, net, proc, o);
    try {
      save([...kept, conn]);
      killPoint('connect');
      plugIn(net, mtu, conn);
      save([...kept, conn]);
    } catch (err) {
      unplug(root, e.id, conn);
      save(kept);
      throw err;
    }
    writeHosts(root, net.name);
    return {
      network: net.name,
      ifName: conn.ifName,
      ip: conn.ip,
      prefixLen: conn.prefixLen,
      defaultRoute: conn.defaultRoute === true,
      ...(forwardNote ? { forwardNote } : {}),
      ...(rec && (rec.mode === 'bridge' || rec.extraHosts || rec.dns) ? {} : { noHostsFile: true }),
    };
  });
}

/** A connection's lease and its names, before anything is made. */
function leased(
  root: string,
  id: string,
  net: Network,
  proc: { pid: number; pidStart?: number },
  o: ConnectOptions,
): Connection {
  return {
    network: net.name,
    ip: allocate(root, net, id, { ip: o.ip }),
    prefixLen: prefixOf(net),
    gateway: net.gateway,
    hostIf: connectionIfName(id, net.bridge),
    ifName: '',
    ...(o.aliases?.length ? { aliases: o.aliases } : {}),
    ...proc,
  };
}

/**
 * The veth pair with its peer born in the container's namespace as the lowest free ethN, the
 * peer's address, link up, and the default route when the namespace has none. Fills in `conn`'s
 * ifName and defaultRoute; the caller undoes it on failure.
 */
function plugIn(net: Network, mtu: number, conn: Connection): void {
  inNamespace(conn.pid, (inside, fd) => {
    const names = new Set(inside.links().map((l) => l.name));
    let n = 0;
    while (names.has(`eth${n}`)) n++;
    conn.ifName = `eth${n}`;
    withNetlink((host) => {
      // (IFLA_NET_NS_FD: the peer is created in the namespace of that fd, under its final name)
      host.addLink({ name: conn.hostIf, kind: 'veth', mtu, peer: { name: conn.ifName, mtu, netns: { fd } } });
      host.setLink(conn.hostIf, { master: host.link(net.bridge)?.index ?? 0 });
      host.setLink(conn.hostIf, { up: true });
    });
    inside.addAddr(conn.ifName, parseIPv4(conn.ip)!, conn.prefixLen);
    inside.setLink(conn.ifName, { up: true });
    if (!inside.routes().some((r) => r.dstLen === 0)) {
      inside.addRoute({ gateway: parseIPv4(net.gateway)! });
      conn.defaultRoute = true;
    }
  });
}

/** Undo plugIn: the host end (the kernel deletes the peer with it), the lease. Idempotent. */
function unplug(root: string, id: string, c: Pick<Connection, 'network' | 'hostIf'>): void {
  withNetlink((nl) => {
    if (!nl.link(c.hostIf)) return;
    try {
      nl.delLink(c.hostIf);
    } catch (err) {
      if (!(err instanceof MinidockError && /ENODEV|no network link/.test(err.message))) throw err; // gone meanwhile
    }
  });
  release(root, c.network, id);
}

/**
 * `network disconnect [-f] NETWORK CONTAINER`: the network's veth pair, its lease (and, for the
 * network of the launch, its published ports), its names in the members' hosts files. When the
 * default route went with it and another network remains, that one's gateway becomes the route.
 * `force`: a container that no longer runs loses what is recorded for the network (its lease,
 * its names) all the same; without it, one line saying it is not running.
 */
export function disconnectNetwork(root: string, networkName: string, ref: string, force = false): void {
  const e = containerOf(root, ref);
  const target = networkOf(root, networkName);
  const running = effectiveStatus(e) === 'running' && isProcess(e.state?.pid, e.state?.pidStart);
  const proc = running || !force ? runningProcess(e, 'disconnect') : undefined;
  withContainerLock(e, () => {
    const rec = readNetworkRecord(e.dir);
    const recorded = proc ? attachedNetworks(rec, proc) : attachedNetworks(rec);
    const att = recorded.find((n) => n.network === target.name);
    if (!rec || !att)
      throw new MinidockError(
        `container ${e.config?.name ?? e.id.slice(0, 12)} is not connected to network ${target.name}`,
      );
    if (att.primary) {
      detach(root, target.name, e.id, rec.ports.length > 0);
      writeJsonAtomic(networkFile(e.dir), { ...rec, disconnected: true, ports: [] } satisfies NetworkRecord);
    } else {
      unplug(root, e.id, att);
      const connected = (rec.connected ?? []).filter((c) => c.network !== target.name);
      writeJsonAtomic(networkFile(e.dir), { ...rec, connected } satisfies NetworkRecord);
    }
    writeHosts(root, target.name, [e.id]);
    if (proc) restoreDefaultRoute(proc.pid, attachedNetworks(readNetworkRecord(e.dir), proc));
  });
}

/** After a disconnect: a namespace left without a default route gets its first remaining
 * network's gateway (the route went with the link it used). */
function restoreDefaultRoute(pid: number, left: Array<{ gateway: string }>): void {
  if (left.length === 0) return;
  inNamespace(pid, (inside) => {
    if (!inside.routes().some((r) => r.dstLen === 0)) inside.addRoute({ gateway: parseIPv4(left[0].gateway)! });
  });
}

/**
 * rm, a foreground exit, the next start, gc: every connection of the record — its veth (gone with
 * the namespace already, unless the container still runs), its lease. The networks touched, for
 * their hosts files.
 */
export function releaseConnections(root: string, id: string, rec: NetworkRecord | undefined): string[] {
  const out: string[] = [];
  for (const c of rec?.connected ?? []) {
    unplug(root, id, c);
    out.push(c.network);
  }
  return out;
}

/**
 * gc's part for containers that run: a lease a container holds through a connection of an earlier
 * run (a container launched without a network and started again: its old namespace, and the veth
 * in it, died with its last process, and the start did not load the network code that would have
 * released it). The container's other leases are left alone.
 */
export function isStaleConnection(root: string, network: string, id: string): boolean {
  const e = entryOf(root, id);
  if (!e) return false;
  const rec = readNetworkRecord(e.dir);
  if (!rec?.connected?.some((c) => c.network === network)) return false;
  return !attachedNetworks(rec, { pid: e.state?.pid, pidStart: e.state?.pidStart }).some((n) => n.network === network);
}
