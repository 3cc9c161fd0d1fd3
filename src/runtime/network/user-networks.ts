// User-defined networks, as `docker network create/ls/inspect/rm/prune` have them: each its own Linux
// bridge and subnet, recorded in the state root (<root>/networks/<name>.json, ipam.ts), with its NAT
// chain in the host's nft table (nft.ts). Containers join one with `run --network NAME`
// (wiring.ts); its members find each other by name through their hosts files (names.ts); traffic
// between two minidock networks is dropped by each network's forward rule.
//
// The built-in networks: `bridge` (the default network, minidock0, made on first use), `host` and
// `none` (the modes of the same names). They are listed, and cannot be created or removed.
import { createHash, randomBytes } from 'node:crypto';
import { MinidockError } from '../../errors.js';
import { listEntries } from '../container-store/listing.js';
import { readJson } from '../container-store/records.js';
import { effectiveStatus } from '../container-store/staleness.js';
import { pathIn } from '../state-root.js';
import { detach, ensureNetwork, removeBridge } from './bridge.js';
import {
  createNetwork,
  DEFAULT_BRIDGE,
  DEFAULT_NETWORK,
  listNetworks,
  readNetwork,
  removeNetwork,
  type Network,
} from './ipam.js';
import { formatCidr, mask, overlaps, parseCidr } from './ipv4.js';
import { withNetlink } from './netlink.js';
import { readNetworkRecord } from './records.js';

export const BUILTIN_NETWORKS = ['bridge', 'host', 'none'] as const;

/** The bridge of a user-defined network: `minidock-` + 6 hex digits of its id, 15 characters
 * (IFNAMSIZ - 1). The prefix matters: each network's forward rule drops what goes from its bridge
 * to any other `minidock*` link, and a sweep can tell minidock's links. */
export const userBridgeName = (id: string): string => `minidock-${id.slice(0, 6)}`;

/** A network's id: a user network's own (random, as Docker's), a built-in's derived from its name
 * (the same on every listing, before and after `bridge` is first made). */
export const networkId = (net: { name: string; id?: string }): string =>
  net.id ?? createHash('sha256').update(`minidock network ${net.name}`).digest('hex');

export interface NetworkMember {
  id: string;
  name?: string;
  ip: string;
  prefixLen: number;
  aliases?: string[];
  running: boolean;
}

/** What `network ls` and `network inspect` show of one network. */
export interface NetworkView {
  name: string;
  id: string;
  driver: 'bridge' | 'host' | 'null';
  builtin: boolean;
  created?: string;
  subnet?: string;
  gateway?: string;
  bridge?: string;
  containers: NetworkMember[];
}

/** The containers of this state root that run (or are being started): they hold their leases. */
function liveContainers(root: string): Set<string> {
  return new Set(
    listEntries(root)
      .filter((e) => ['running', 'created'].includes(effectiveStatus(e)))
      .map((e) => e.id),
  );
}

function membersOf(root: string, net: Network, live: Set<string>): NetworkMember[] {
  const len = parseCidr(net.subnet)?.len ?? 32;
  return Object.entries(net.leases)
    .map(([ip, l]) => {
      const dir = pathIn(pathIn(root, 'containers'), l.container);
      const name = readJson<{ name?: string }>(pathIn(dir, 'config.json'))?.name;
      const aliases = readNetworkRecord(dir)?.aliases;
      return {
        id: l.container,
        ...(name ? { name } : {}),
        ip,
        prefixLen: len,
        ...(aliases?.length ? { aliases } : {}),
        running: live.has(l.container),
      };
    })
    .sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
}

function viewOf(root: string, net: Network, live: Set<string>): NetworkView {
  return {
    name: net.name,
    id: networkId(net),
    driver: 'bridge',
    builtin: net.name === DEFAULT_NETWORK,
    ...(net.created ? { created: net.created } : {}),
    subnet: net.subnet,
    gateway: net.gateway,
    bridge: net.bridge,
    containers: membersOf(root, net, live),
  };
}

/** Every network: the built-in three (bridge as recorded, or as it will be made), then the
 * user-defined ones by name. Reads only. */
export function listNetworkViews(root: string): NetworkView[] {
  const live = liveContainers(root);
  const recorded = listNetworks(root);
  const def = recorded.find((n) => n.name === DEFAULT_NETWORK);
  const builtin = (name: string, driver: NetworkView['driver']): NetworkView => ({
    name,
    id: networkId({ name }),
    driver,
    builtin: true,
    containers: [],
  });
  return [
    def ? viewOf(root, def, live) : { ...builtin(DEFAULT_NETWORK, 'bridge'), bridge: DEFAULT_BRIDGE },
    builtin('host', 'host'),
    builtin('none', 'null'),
    ...recorded
      .filter((n) => n.name !== DEFAULT_NETWORK)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((n) => viewOf(root, n, live)),
  ];
}

/** A network by name, full id or unique id prefix (Docker's order); one line when unknown or ambiguous. */
export function findNetwork(root: string, ref: string, views = listNetworkViews(root)): NetworkView {
  const hit = views.find((v) => v.name === ref) ?? views.find((v) => v.id === ref);
  if (hit) return hit;
  const prefix = /^[0-9a-f]+$/.test(ref) ? views.filter((v) => v.id.startsWith(ref)) : [];
  if (prefix.length === 1) return prefix[0];
  if (prefix.length > 1)
    throw new MinidockError(
      `network ID prefix "${ref}" is ambiguous: it matches ${prefix.map((v) => v.name).join(', ')} — give more characters`,
    );
  throw new MinidockError(`no such network: ${ref} (see minidock network ls)`);
}

/**
 * `network create`: the record (subnet given, or the first candidate free of the host's routes and
 * of other networks), then the bridge, its address, its NAT rules. A failure after the record
 * undoes it all. `forwardNote`: the line to print when ip_forward was turned on.
 */
export function createUserNetwork(
  root: string,
  o: { name: string; subnet?: string; gateway?: string },
): { net: Network; forwardNote?: string } {
  if ((BUILTIN_NETWORKS as readonly string[]).includes(o.name))
    throw new MinidockError(`network ${o.name} is a built-in network: choose another name`);
  if (readNetwork(root, o.name))
    throw new MinidockError(
      `network ${o.name} already exists (minidock network inspect ${o.name}): choose another name`,
    );
  if (o.gateway !== undefined && o.subnet === undefined)
    throw new MinidockError(`--gateway ${o.gateway} needs --subnet: a gateway is an address inside a given subnet`);
  const { routes, links } = withNetlink((nl) => ({ routes: nl.routes(), links: nl.links() }));
  if (o.subnet !== undefined) checkSubnetFree(o.subnet, routes, links);
  let id = randomBytes(32).toString('hex');
  const bridges = new Set([...links.map((l) => l.name), ...listNetworks(root).map((n) => n.bridge)]);
  while (bridges.has(userBridgeName(id))) id = randomBytes(32).toString('hex');
  const net = createNetwork(root, { ...o, bridge: userBridgeName(id), routes, id });
  try {
    const { forwardNote } = ensureNetwork(root, net.name, net.bridge);
    return { net, forwardNote };
  } catch (e) {
    try {
      removeBridge(net);
      removeNetwork(root, net.name);
    } catch {
      /* the first error is the one to tell; network rm finishes it */
    }
    throw e;
  }
}

/** An explicit --subnet must not overlap a route of the host (other than the default route):
 * containers' traffic to those addresses would go to the bridge instead. */
export function checkSubnetFree(
  subnet: string,
  routes: Array<{ dst: number; dstLen: number; oif?: number }>,
  links: Array<{ index: number; name: string }>,
): void {
  const c = parseCidr(subnet);
  if (!c || c.len > 30)
    throw new MinidockError(
      `invalid --subnet "${subnet}": give an IPv4 network with room for hosts, e.g. 10.90.0.0/24 (host bits zero)`,
    );
  const clash = routes.find(
    (r) => r.dstLen > 0 && overlaps({ addr: (r.dst & mask(r.dstLen)) >>> 0, len: r.dstLen }, c),
  );
  if (clash)
    throw new MinidockError(
      `--subnet ${subnet} overlaps this host's route ${formatCidr({ addr: (clash.dst & mask(clash.dstLen)) >>> 0, len: clash.dstLen })}${
        clash.oif ? ` (dev ${links.find((l) => l.index === clash.oif)?.name ?? clash.oif})` : ''
      }: choose a subnet no route covers (ip route), or leave --subnet out`,
    );
}

/**
 * `network rm`: refused (one line) for a built-in network and while a running container is
 * attached. Leases of containers that no longer run are released first (their veths, ports), then
 * the NAT rules and the bridge go, and the record last — so a crash half-way leaves a record that
 * a second `network rm` finishes, never a bridge nobody knows about.
 */
export function removeUserNetwork(root: string, ref: string): string {
  const view = findNetwork(root, ref);
  if (view.builtin) throw new MinidockError(`network ${view.name} is a built-in network: it cannot be removed`);
  const running = view.containers.filter((c) => c.running);
  if (running.length)
    throw new MinidockError(
      `network ${view.name} has ${running.length} running container(s) attached (${running.map((c) => c.name ?? c.id.slice(0, 12)).join(', ')}): remove them first (minidock rm -f)`,
    );
  for (const c of view.containers) detach(root, view.name, c.id);
  const net = readNetwork(root, view.name);
  if (net) removeBridge(net);
  // (refused if a launch took a lease since the listing above: minidock has no daemon to order the
  // two, and that launch may have lost its bridge; `network rm` again once it is removed)
  removeNetwork(root, view.name);
  return view.name;
}

/** `network prune`: every user-defined network no running container is attached to. Names removed. */
export function pruneNetworks(root: string): string[] {
  return listNetworkViews(root)
    .filter((v) => !v.builtin && !v.containers.some((c) => c.running))
    .map((v) => removeUserNetwork(root, v.name));
}
