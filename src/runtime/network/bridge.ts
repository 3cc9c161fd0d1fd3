// The host side of bridge networking, from the pieces in this directory: the bridge of a network
// (created once, kept like Docker's docker0), and a container's veth pair (attach/detach). What
// happens inside the container's namespace (address, link up, default route) is not here: those are
// the child's plan steps (docs/network.md, "Wiring it into the launch").
import { readFileSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import {
  createNetwork,
  DEFAULT_BRIDGE,
  DEFAULT_NETWORK,
  prefixOf,
  readNetwork,
  release,
  type Network,
} from './ipam.js';
import { formatIPv4, mask, parseCidr, parseIPv4 } from './ipv4.js';
import {
  attrPayloadAt,
  IFLA_NET_NS_FD,
  newAddrMsg,
  newLinkMsg,
  newRouteMsg,
  setLinkMsg,
  withNetlink,
  type Netlink,
} from './netlink.js';
import { ensureIpForward, ensureNetworkNat, removeNetworkNat, removePublished, setRouteLocalnet } from './nft.js';

/** What the child needs to configure eth0 in its namespace, and what rm needs to undo. */
export interface Attachment {
  network: string;
  bridge: string;
  /** the host end of the veth pair: mdv + the container id's first 12 characters (IFNAMSIZ: 15) */
  hostIf: string;
  /** eth0's ifindex inside the container's namespace: always 2 (lo is 1), asked for at creation */
  ifindex: number;
  ip: string;
  prefixLen: number;
  gateway: string;
  mtu: number;
  /** --mac-address: eth0's MAC (else macOf its address) */
  mac?: string;
  /** the bridge's ifindex on the host (IFLA_MASTER of the host end), as ensureNetwork found it */
  bridgeIndex: number;
}

/** A fresh network namespace holds only lo (ifindex 1); eth0 is asked to be 2. */
export const CONTAINER_IFINDEX = 2;

export const hostIfName = (container: string): string => `mdv${container.slice(0, 12)}`;

/** true when `fn` failed only because the thing exists already (another launch made it first). */
function tolerateExists(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof MinidockError && /EEXIST/.test(e.message))) throw e;
  }
}

/**
 * What a network's NAT chain and rule tags are named after (`net-<key>`, `comment "net=<key>"`):
 * the default network's name, a user-defined network's bridge. The nft table is the host's, shared
 * by every state root, while a network's name belongs to one root: two roots may each have a
 * network `front`, on two bridges, and must not find (or remove) each other's rules. The bridge's
 * name is unique on the host; the default network's bridge, minidock0, is shared by every root.
 */
export const natKey = (net: Pick<Network, 'name' | 'bridge'>): string =>
  net.name === DEFAULT_NETWORK ? DEFAULT_NETWORK : net.bridge;

/** The MTU of the host's uplink (the link of the default route), 1500 without one: a container's
 * eth0 larger than the path out would lose its big packets where the host's link is smaller (a VM, a
 * VPN or a cloud link with MTU 1400-1460). */
export function uplinkMtu(nl: Netlink): number {
  const def = nl.routes().find((r) => r.dstLen === 0 && r.oif !== undefined);
  const link = def ? nl.links().find((l) => l.index === def.oif) : undefined;
  return link?.mtu ?? 1500;
}

/** The subnet of a bridge that exists already (another state root on this host made it: the bridge
 * is the host's, the records are each root's): its link route, which the kernel adds with the
 * address. Adopting it keeps one subnet per bridge, and the NAT chain made for it right. */
function existingSubnet(nl: Netlink, bridge: string): string | undefined {
  const link = nl.link(bridge);
  const route = link && nl.routes().find((r) => r.oif === link.index && r.dstLen > 0 && r.gateway === undefined);
  return route ? `${formatIPv4(route.dst)}/${route.dstLen}` : undefined;
}

/**
 * Make sure a network exists on the host: its record (subnet chosen from the host's routes), its
 * bridge with the gateway address, up, with the uplink's MTU, and its NAT rules. Idempotent, and
 * safe against a concurrent launch doing the same (each step tolerates "exists"). `known`: the
 * network's record when the caller has read it. Returns the bridge's MTU and ifindex (what the veth
 * pair needs), and `forwardNote`, the sentence to print when this turned ip_forward on.
 * (`net.leases` is empty: ask readNetwork.)
 */
export function ensureNetwork(
  root: string,
  name = DEFAULT_NETWORK,
  bridge = DEFAULT_BRIDGE,
  known = readNetwork(root, name, false),
): { net: Network; mtu: number; bridgeIndex: number; forwardNote?: string } {
  const ready = known && readyBridge(known);
  const { net, mtu, bridgeIndex } = ready
    ? { net: known, ...ready }
    : withNetlink((nl) => {
        const net =
          known ?? createNetwork(root, { name, bridge, routes: nl.routes(), subnet: existingSubnet(nl, bridge) });
        // A bridge an earlier launch made has the uplink's MTU of then: its own is used
        const link = nl.link(net.bridge);
        const mtu = link?.mtu ?? uplinkMtu(nl);
        if (!link) tolerateExists(() => nl.addLink({ name: net.bridge, kind: 'bridge', mtu }));
        tolerateExists(() => nl.addAddr(net.bridge, parseIPv4(net.gateway)!, prefixOf(net)));
        if (!link?.up) nl.setLink(net.bridge, { up: true });
        const made = link ?? nl.link(net.bridge);
        if (!made) throw new MinidockError(`bridge ${net.bridge} vanished while it was set up: run again`);
        return { net, mtu, bridgeIndex: made.index };
      });
  ensureNetworkNat({ ...net, name: natKey(net) });
  if (!ready) setRouteLocalnet(net.bridge); // (the bridge's own setting: again whenever it is set up)
  return { net, mtu, bridgeIndex, forwardNote: ensureIpForward() };
}

/**
 * The MTU and ifindex of `net`'s bridge when an earlier launch set it up, else undefined. Set up
 * means that the network's prefix route is on the bridge: the kernel adds it with the gateway
 * address and removes it when the link goes down, so the route says "exists, up, addressed" at once.
 * Read from /proc/net/route and sysfs, which take no lock: every rtnetlink request waits for the
 * RTNL lock, which the tear-down of the previous container's network namespace may still hold
 * (measured: a ~0.2 ms RTM_GETLINK took ~4 ms right after another launch). Each file is read as
 * 'utf8', which Node does in one call of its own C++ (readFileUtf8); any other encoding goes through
 * fs's general JavaScript path (open, fstat, a 64 KiB buffer for a /proc file, read, close): ~0.1-0.3
 * ms more here for these three, and over 1 ms when it is the first such read of the process.
 */
function readyBridge(net: Network): { mtu: number; bridgeIndex: number } | undefined {
  try {
    const c = parseCidr(net.subnet)!;
    // (/proc/net/route: the destination and mask as the kernel's 32-bit words, printed in hex on a
    // little-endian machine: 10.87.0.0 is 0000570A)
    const le = (n: number) =>
      [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24]
        .map((b) => b.toString(16).padStart(2, '0'))
        .join('')
        .toUpperCase();
    const want = [net.bridge, le(c.addr), le(mask(c.len))];
    const routed = readFileSync('/proc/net/route', 'utf8')
      .split('\n')
      .some((l) => {
        const f = l.split('\t');
        return f[0] === want[0] && f[1] === want[1] && f[7] === want[2];
      });
    if (!routed) return undefined;
    const dir = `/sys/class/net/${net.bridge}`;
    const mtu = Number(readFileSync(`${dir}/mtu`, 'utf8'));
    const bridgeIndex = Number(readFileSync(`${dir}/ifindex`, 'utf8'));
    return mtu > 0 && bridgeIndex > 0 ? { mtu, bridgeIndex } : undefined;
  } catch {
    return undefined; // no such bridge (yet)
  }
}

/**
 * Undo ensureNetwork on the host: the network's NAT rules and chain (the table too when nothing else
 * is left in it), then its bridge. Idempotent (`network rm` run again after a crash finishes it).
 * (Deleting a bridge only detaches its ports, it does not delete them: the callers detach every
 * container first.)
 */
export function removeBridge(net: Pick<Network, 'name' | 'bridge'>): void {
  removeNetworkNat(natKey(net));
  withNetlink((nl) => {
    if (!nl.link(net.bridge)) return;
    try {
      nl.delLink(net.bridge);
    } catch (e) {
      if (!(e instanceof MinidockError && /ENODEV|no network link/.test(e.message))) throw e; // gone meanwhile
    }
  });
}

/** The veth pair of attachment `att` in one RTM_NEWLINK: the host end on the bridge and up, the
 * other end eth0 with index 2 and its MAC (no rename step, no moment when the container's end sits
 * in the host's namespace, and an index the plan can name in advance). `where` says who sends it:
 * - `hostNs` (a launch): the child, from inside its new namespace, where eth0 stays (a peer without
 *   a namespace of its own is made in the sender's); the host end goes to minidock's namespace,
 *   named by a descriptor of this file (IFLA_NET_NS_FD) that the child opens and writes in at `at`
 *   (child.c netlink_request). The kernel looks the master up in the link's own namespace, the host's.
 * - `pid` (a user namespace, where the child holds no CAP_NET_ADMIN over the host's namespace):
 *   minidock, at SYNC, with eth0 sent into the child's namespace by its pid (IFLA_NET_NS_PID).
 * eth0 is not made up here: the kernel applies a peer's flags before it ties the two ends together,
 * and a veth cannot open without its peer (ENOTCONN); containerSteps brings it up. */
function vethMsg(seq: number, att: Attachment, where: { hostNs: true } | { pid: number }): Uint8Array {
  return newLinkMsg(seq, {
    name: att.hostIf,
    kind: 'veth',
    mtu: att.mtu,
    ...('pid' in where ? {} : { netns: { fd: 0 } }), // (the child writes the descriptor in)
    master: att.bridgeIndex,
    up: true,
    peer: {
      name: 'eth0',
      mtu: att.mtu,
      ...('pid' in where ? { netns: { pid: where.pid } } : {}),
      index: CONTAINER_IFINDEX,
      address: Uint8Array.from((att.mac ?? macOf(att.ip)).split(':'), (h) => Number.parseInt(h, 16)),
    },
  });
}

/**
 * With a user namespace: give container `container`, whose first process is host pid `pid` and
 * waits at SYNC, its veth pair (vethMsg; its lease taken by prepareNetwork). On failure nothing
 * stays: the lease is released, the link deleted.
 */
export function attach(root: string, att: Attachment, container: string, pid: number): void {
  try {
    withNetlink((nl) =>
      nl.request(`ip link add ${att.hostIf} type veth peer eth0 (RTM_NEWLINK)`, (seq) => vethMsg(seq, att, { pid })),
    );
  } catch (e) {
    detach(root, att.network, container, false, true, att.ip); // (ports are published after the plan: none yet)
    throw e;
  }
}

/**
 * eth0's MAC when --mac-address does not give one: 02:42 and the four bytes of its address, as
 * Docker makes them (02 = locally administered, unicast). Why not a random one: addresses are reused
 * (the lowest free one), and the host's neighbour table may still map a reused address to the last
 * container's MAC for seconds — traffic to a published port would go nowhere until it expires.
 */
export function macOf(ip: string): string {
  return ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

/**
 * Undo attach (and publish): the host end of the veth pair (the kernel deletes both ends; when the
 * container's namespace died first, both are gone already), its published ports, its lease.
 * Idempotent: rm, a failed launch and gc may all call it. `published` false: the container's record
 * says it published no port, so no `nft` runs to look for its rules (gc still sweeps rules a crash
 * may have left: sweepRules). `deleteLink` false: the container's namespace is dying with its last
 * process and nothing else holds it, so the kernel deletes the pair with it, a moment later, in its
 * own worker: deleting a veth waits for RCU grace periods (~30 ms measured here with `ip link del`),
 * which a launch's clean-up need not sit through. `ip`: the address the container's record names
 * (its lease is read and released alone; see release).
 */
export function detach(
  root: string,
  network: string,
  container: string,
  published = true,
  deleteLink = true,
  ip?: string,
): void {
  if (deleteLink)
    withNetlink((nl) => {
      if (!nl.link(hostIfName(container))) return;
      try {
        nl.delLink(hostIfName(container));
      } catch (e) {
        if (!(e instanceof MinidockError && /ENODEV|no network link/.test(e.message))) throw e; // gone meanwhile
      }
    });
  if (published) removePublished(container);
  release(root, network, container, ip);
}

/** A NETLINK step of the child (plan.ts NETLINK): the request, its `ip` command for --trace, and the
 * namespace file whose descriptor the request wants, with where it goes. */
export interface InsideStep {
  what: string;
  msg: Uint8Array;
  ns?: { file: string; at: number };
}

/**
 * The container's side as netlink requests, built here before the container exists (eth0's index
 * is known: CONTAINER_IFINDEX), for the child to send from inside its namespace: the veth pair
 * itself (unless `hostNs` is undefined: a user namespace, where minidock makes it at SYNC), eth0's
 * address, eth0 up, the default route via the bridge. Each is one plan step (docs/network.md: the
 * child writes the bytes to an AF_NETLINK socket and reads the ack: socket, write and read are
 * already on its async-signal-safe list). `what` is the step's line in --trace. `hostNs`: minidock's
 * network namespace as a file the child can open, /proc/<minidock's pid>/ns/net.
 */
export function containerSteps(att: Attachment, hostNs?: string): InsideStep[] {
  const ip = parseIPv4(att.ip)!;
  const gw = parseIPv4(att.gateway)!;
  const veth = hostNs ? vethMsg(1, att, { hostNs: true }) : undefined;
  return [
    ...(veth && hostNs
      ? [
          {
            what: `ip link add ${att.hostIf} netns ${hostNs} master ${att.bridge} up type veth peer name eth0 index ${CONTAINER_IFINDEX}`,
            msg: veth,
            ns: { file: hostNs, at: attrPayloadAt(veth, 16, IFLA_NET_NS_FD) },
          },
        ]
      : []),
    { what: `ip addr add ${att.ip}/${att.prefixLen} dev eth0`, msg: newAddrMsg(2, att.ifindex, ip, att.prefixLen) },
    { what: 'ip link set eth0 up', msg: setLinkMsg(3, att.ifindex, { up: true }) },
    { what: `ip route add default via ${att.gateway}`, msg: newRouteMsg(4, { gateway: gw }) },
  ];
}
