// The network modes wired into a launch (docs/network.md, "Wiring it into the launch"):
//
//   none       today's container: a new network namespace with only lo (the default)
//   host       no CLONE_NEWNET: the host's own network namespace, every link of the host
//   container: the network namespace of a running container (setns on /proc/PID/ns/net)
//   bridge     a new namespace and a veth pair to a minidock bridge: an address, a default route,
//   or NAME    NAT out, published ports (-p) in; NAME is a network of `minidock network create`
//
// Around clone, for a bridge (launch.ts calls these in order):
//   before clone   prepareNetwork: the network (bridge, NAT) exists, the lease is taken, the
//                  container's /etc/hosts, /etc/hostname, /etc/resolv.conf are written, and
//                  network.json records all of it in the container's directory (rm and gc read it)
//   in the child   its NETLINK steps (build-plan.ts), sent from inside its new namespace: the veth
//                  pair (the host end put in minidock's namespace, eth0 kept), its address, eth0
//                  up, the default route. Nothing for minidock to do between clone and exec, so a
//                  bridge launch keeps the vfork clone of a plain one. (With a user namespace the
//                  child may not touch the host's namespace: minidock makes the pair at SYNC,
//                  connectChild.)
//   after the plan publishPorts: the published ports' DNAT rules, once eth0 exists (gc takes a rule
//                  whose container has no veth for a leftover)
//   at the end     releaseNetwork: veth (gone with the namespace already), ports, lease
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import { pathIn } from '../state-root.js';
import { isProcess } from '../../sys/proc.js';
import { resolve } from '../container-store/listing.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { writeJsonAtomic } from '../container-store/records.js';
import {
  attach,
  CONTAINER_IFINDEX,
  containerSteps,
  detach,
  ensureNetwork,
  hostIfName,
  type Attachment,
  type InsideStep,
} from './bridge.js';
import {
  DEFAULT_BRIDGE,
  DEFAULT_NETWORK,
  SUBNET_CANDIDATES,
  allocate,
  listNetworks,
  nextFree,
  prefixOf,
  readNetwork,
  release,
  type Network,
} from './ipam.js';
import { formatIPv4, parseCidr } from './ipv4.js';
import { withNetlink } from './netlink.js';
import { listRules, publish, removePublished, type PublishedPort } from './nft.js';
import type { NetworkMode, NetworkSpec } from './flags.js';
import { containerResolvConf, hostsText, namesOn, resolveExtraHosts, writeHosts } from './names.js';
import { networkFile, readNetworkRecord, type NetworkRecord } from './records.js';
import { isStaleConnection, releaseConnections } from './connect.js';

export { containerResolvConf, writeHosts } from './names.js';

/** What the plan needs from the network (planLaunch's `net`), decided before clone. */
export interface NetPlan {
  mode: NetworkMode;
  /** container: the namespace file the child joins instead of making its own */
  joinNetns?: string;
  /** bridge: eth0's address, prefix, gateway, MTU (the child's NETLINK steps) */
  attachment?: Attachment;
  /** bridge: the veth pair, eth0's address, eth0 up, the default route: the child's NETLINK steps
   * (bridge.ts containerSteps) */
  inside?: InsideStep[];
  /** bridge with a user namespace: minidock makes the veth pair at SYNC (connectChild), not the child */
  vethAtSync?: boolean;
  /** bridge: files of the container's directory bind-mounted over the rootfs's */
  nameFiles?: Array<{ source: string; target: string }>;
}

/** In a container's directory: another container joined its network namespace (--network container:). */
const NETNS_SHARED = 'netns-shared';

/** The container `ref` must be running: its first process's network namespace is joined. */
function joinTarget(root: string, ref: string): { id: string; path: string; dir: string } {
  let e;
  try {
    e = resolve(root, ref);
  } catch (err) {
    throw new MinidockError(`--network container:${ref}: ${(err as Error).message}`); // (a run's bad input: 125)
  }
  const s = e.state;
  if (effectiveStatus(e) !== 'running' || !isProcess(s?.pid, s?.pidStart))
    throw new MinidockError(
      `--network container:${ref}: that container is not running — start it first (its network namespace lives only while it runs)`,
    );
  return { id: e.id, path: `/proc/${s!.pid}/ns/net`, dir: e.dir };
}

export interface PrepareOptions {
  root: string;
  id: string;
  /** --name (the hosts file lists it) */
  name?: string;
  dir: string;
  hostname: string;
  /** --dry-run: decide, write nothing (the address shown is the next free one) */
  dryRun?: boolean;
  /** --rm: network.json need not survive a crash of the machine (writeJsonAtomic's durable) */
  autoRemove?: boolean;
  /** the child is in a user namespace: minidock makes its veth pair at SYNC (see vethAtSync) */
  userns?: boolean;
  /** a line for the user (ip_forward turned on) */
  onNotice?: (line: string) => void;
}

/** minidock's own network namespace, as the child can open it (the veth pair's host end goes there). */
const hostNetns = (): string => `/proc/${process.pid}/ns/net`;

/** The child's steps for `att`, and who makes the veth pair. */
const bridgePlan = (att: Attachment, o: Pick<PrepareOptions, 'userns' | 'dir'>): NetPlan => ({
  mode: 'bridge',
  attachment: att,
  inside: containerSteps(att, o.userns ? undefined : hostNetns()),
  ...(o.userns ? { vethAtSync: true } : {}),
  nameFiles: nameFiles(o.dir),
});

/**
 * Before clone: everything of the network that can exist before the container's process does.
 * A bridge: the network (bridge, NAT) made once, the lease taken, the name files and network.json
 * written. On failure after the lease it is released again (nothing stays).
 */
export function prepareNetwork(spec: NetworkSpec | undefined, o: PrepareOptions): NetPlan {
  if (!spec) return { mode: 'none' };
  if (spec.mode === 'none') return prepareNoneNames(spec, o);
  if (spec.mode === 'host') {
    if (!o.dryRun)
      writeJsonAtomic(networkFile(o.dir), { mode: 'host', ports: [] } satisfies NetworkRecord, !o.autoRemove);
    return { mode: 'host' };
  }
  if (spec.mode === 'container') {
    const t = joinTarget(o.root, spec.container!);
    if (!o.dryRun) writeFileSync(pathIn(t.dir, NETNS_SHARED), `${o.id}\n`); // (releaseNetwork)
    if (!o.dryRun)
      writeJsonAtomic(
        networkFile(o.dir),
        { mode: 'container', joined: t.id, ports: [] } satisfies NetworkRecord,
        !o.autoRemove,
      );
    return { mode: 'container', joinNetns: t.path };
  }
  const name = spec.network ?? DEFAULT_NETWORK;
  if (o.dryRun) return dryRunBridge(spec, name, o);
  const known = readNetwork(o.root, name, false);
  if (name !== DEFAULT_NETWORK && !known)
    throw new MinidockError(
      `no such network: ${name} — create it (minidock network create ${name}) or use --network bridge`,
    );
  // the default network is made on first use; a user-defined one exists (checked above)
  const { net, mtu, bridgeIndex, forwardNote } = ensureNetwork(o.root, name, known?.bridge, known);
  if (forwardNote) o.onNotice?.(forwardNote);
  const ip = allocate(o.root, net, o.id, { ip: spec.ip });
  try {
    const att = attachmentOf(net, o.id, ip, mtu, bridgeIndex, spec.mac);
    const rec: NetworkRecord = {
      mode: 'bridge',
      network: name,
      ip,
      prefixLen: att.prefixLen,
      gateway: att.gateway,
      hostIf: att.hostIf,
      ports: spec.ports,
      ...(spec.mac ? { mac: spec.mac } : {}),
      ...nameFlagsOf(spec),
    };
    writeJsonAtomic(networkFile(o.dir), rec, !o.autoRemove);
    writeNameFiles(o, spec.dns);
    if (name === DEFAULT_NETWORK) writeOwnHosts(o, spec, att);
    else writeHosts(o.root, name);
    return bridgePlan(att, o);
  } catch (e) {
    release(o.root, name, o.id, ip);
    throw e;
  }
}

const attachmentOf = (
  net: Network,
  id: string,
  ip: string,
  mtu: number,
  bridgeIndex: number,
  mac?: string,
): Attachment => ({
  network: net.name,
  bridge: net.bridge,
  hostIf: hostIfName(id),
  ifindex: CONTAINER_IFINDEX,
  ip,
  prefixLen: prefixOf(net),
  gateway: net.gateway,
  mtu,
  bridgeIndex,
  ...(mac ? { mac } : {}),
});

/** The name flags as network.json keeps them (writeHosts reads every member's). */
const nameFlagsOf = (spec: NetworkSpec): Pick<NetworkRecord, 'aliases' | 'extraHosts' | 'dns'> => ({
  ...(spec.aliases ? { aliases: spec.aliases } : {}),
  ...(spec.extraHosts ? { extraHosts: spec.extraHosts } : {}),
  ...(spec.dns ? { dns: spec.dns } : {}),
});

/** --dry-run of a bridge: the record as it is (or the first candidate subnet, chosen for real at the
 * first launch) and the next free address, nothing written. */
function dryRunBridge(spec: NetworkSpec, name: string, o: PrepareOptions): NetPlan {
  const net =
    readNetwork(o.root, name) ??
    (name === DEFAULT_NETWORK
      ? {
          name,
          bridge: DEFAULT_BRIDGE,
          subnet: SUBNET_CANDIDATES[0],
          gateway: formatIPv4(parseCidr(SUBNET_CANDIDATES[0])!.addr + 1),
          leases: {},
        }
      : undefined);
  if (!net) throw new MinidockError(`no such network: ${name} (see minidock network ls)`);
  return bridgePlan(attachmentOf(net, o.id, spec.ip ?? nextFree(net), 1500, 0, spec.mac), o);
}

/** --network none with --add-host or --dns: no address, but the container's own name files. */
function prepareNoneNames(spec: NetworkSpec, o: PrepareOptions): NetPlan {
  if (!o.dryRun) {
    writeNameFiles(o, spec.dns);
    writeFileSync(pathIn(o.dir, 'hosts'), hostsText([], resolveExtraHosts(spec.extraHosts)));
  }
  return { mode: 'none', nameFiles: nameFiles(o.dir) };
}

/** The hosts file of a container joining the default network, where each knows only itself (as on
 * Docker's default bridge): what writeHosts would write for it, without reading every other member's
 * records and rewriting their files unchanged. */
function writeOwnHosts(o: PrepareOptions, spec: NetworkSpec, att: Attachment): void {
  const names = namesOn(DEFAULT_NETWORK, o.id, {
    cfg: { name: o.name, spec: { hostname: o.hostname } },
    rec: { mode: 'bridge', network: DEFAULT_NETWORK, ports: [], ...(spec.aliases ? { aliases: spec.aliases } : {}) },
  });
  const text = hostsText([{ ip: att.ip, names }], resolveExtraHosts(spec.extraHosts, att.gateway));
  writeFileSync(pathIn(o.dir, 'hosts'), text);
}

/** /etc/hostname and /etc/resolv.conf in the container's directory (hosts: writeHosts). */
function writeNameFiles(o: PrepareOptions, dns?: string[]): void {
  writeFileSync(pathIn(o.dir, 'hostname'), `${o.hostname}\n`);
  writeFileSync(pathIn(o.dir, 'resolv.conf'), containerResolvConf(readOr('/etc/resolv.conf'), dns));
}

const readOr = (f: string): string => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};

const nameFiles = (dir: string): Array<{ source: string; target: string }> =>
  ['hosts', 'hostname', 'resolv.conf'].map((f) => ({ source: pathIn(dir, f), target: `/etc/${f}` }));

/**
 * At SYNC, with a user namespace (the child waits, and may not make its veth pair itself: vethAtSync):
 * the veth pair, eth0 born in the child's namespace by its pid. The caller runs it inside release's
 * join, so a failure kills the child; the caller's cleanup then calls releaseNetwork.
 */
export function connectChild(root: string, id: string, pid: number, plan: NetPlan): void {
  if (plan.attachment && plan.vethAtSync) attach(root, plan.attachment, id, pid);
}

/** Once the child has run its plan (eth0 exists): the published ports' DNAT rules. */
export function publishPorts(id: string, plan: NetPlan, ports: PublishedPort[]): void {
  if (plan.attachment) publish(id, plan.attachment.ip, ports);
}

/**
 * Undo a bridge container's network: its veth (gone with its namespace already, unless another
 * container shares it), its DNAT rules, its lease, and its line in its network's hosts files.
 * Idempotent; nothing to do for the other modes.
 */
export function releaseNetwork(root: string, id: string, dir: string, namespaceDying = false): void {
  const rec = readNetworkRecord(dir);
  const touched = releaseConnections(root, id, rec); // (network connect's: connect.ts)
  if (touched.length) writeJsonAtomic(networkFile(dir), { ...rec!, connected: [] });
  if (rec?.mode === 'bridge' && rec.network) {
    // a namespace another container joined (--network container:) outlives this one: its veth is
    // deleted here, or it would keep the address this release hands out again
    const shared = existsSync(pathIn(dir, NETNS_SHARED));
    detach(root, rec.network, id, rec.ports.length > 0, !namespaceDying || shared, rec.ip);
    touched.push(rec.network);
  }
  for (const n of new Set(touched)) if (n !== DEFAULT_NETWORK) writeHosts(root, n);
}

/**
 * gc's part: leases held by containers of this state root that no longer run (`live(id)` false),
 * their veths, their lines in hosts files; and DNAT rules whose container's veth is gone (a rule
 * names its container, whose namespace — and with it both ends of the veth — dies with it; the
 * veth says it without knowing which state root the container belongs to). Returns what went.
 */
export function reclaimNetwork(root: string, live: (id: string) => boolean): string[] {
  const out: string[] = [];
  const stale: Array<{ network: string; container: string; ip: string }> = [];
  const touched = new Set<string>();
  for (const net of listNetworks(root)) {
    for (const [ip, l] of Object.entries(net.leases)) {
      if (!live(l.container)) stale.push({ network: net.name, container: l.container, ip });
      else if (isStaleConnection(root, net.name, l.container)) {
        // a connection of an earlier run of a container that runs again: only its lease (its veth
        // died with that run's namespace; the container's own mdv link is alive and stays)
        release(root, net.name, l.container);
        touched.add(net.name);
        out.push(`lease ${ip} on ${net.name} (a connection of an earlier run of ${l.container.slice(0, 12)})`);
      }
    }
  }
  for (const s of stale) {
    detach(root, s.network, s.container);
    touched.add(s.network);
    out.push(`lease ${s.ip} on ${s.network} (container ${s.container.slice(0, 12)})`);
  }
  for (const n of touched) if (n !== DEFAULT_NETWORK) writeHosts(root, n);
  out.push(...sweepRules());
  return out;
}

/** DNAT rules whose container's veth is gone: the rules of a container whose namespace died. */
export function sweepRules(): string[] {
  let rules;
  try {
    rules = listRules();
  } catch {
    return []; // no nft: no rules either
  }
  const ids = new Set(
    rules.map((r) => /^ctr=([0-9a-f]{64}) /.exec(r.comment ?? '')?.[1]).filter((x): x is string => !!x),
  );
  const out: string[] = [];
  if (ids.size === 0) return out;
  const links = new Set(withNetlink((nl) => nl.links().map((l) => l.name)));
  for (const id of ids) {
    if (links.has(hostIfName(id))) continue;
    const n = removePublished(id);
    if (n) out.push(`${n} published port rule(s) of container ${id.slice(0, 12)}`);
  }
  return out;
}
