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
import { newAddrMsg, newRouteMsg, setLinkMsg, withNetlink, type Netlink } from './netlink.js';
import { ensureIpForward, ensureNetworkNat, removeNetworkNat, removePublished } from './nft.js';

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
 * safe against a concurrent launch doing the same (each step tolerates "exists"). `forwardNote` is
 * the sentence to print when this turned ip_forward on. (`net.leases` is empty: ask readNetwork.)
 */
export function ensureNetwork(
  root: string,
  name = DEFAULT_NETWORK,
  bridge = DEFAULT_BRIDGE,
): { net: Network; mtu: number; forwardNote?: string } {
  const known = readNetwork(root, name, false);
  const ready = known && readyBridgeMtu(known);
  const { net, mtu } = ready
    ? { net: known, mtu: ready }
    : withNetlink((nl) => {
        const net =
          known ?? createNetwork(root, { name, bridge, routes: nl.routes(), subnet: existingSubnet(nl, bridge) });
        // A bridge an earlier launch made has the uplink's MTU of then: its own is used
        const link = nl.link(net.bridge);
        const mtu = link?.mtu ?? uplinkMtu(nl);
        if (!link) tolerateExists(() => nl.addLink({ name: net.bridge, kind: 'bridge', mtu }));
        tolerateExists(() => nl.addAddr(net.bridge, parseIPv4(net.gateway)!, prefixOf(net)));
        if (!link?.up) nl.setLink(net.bridge, { up: true });
        return { net, mtu };
      });
  ensureNetworkNat({ ...net, name: natKey(net) });
  return { net, mtu, forwardNote: ensureIpForward() };
}

/**
 * The MTU of `net`'s bridge when an earlier launch set it up — it exists, is up, and has the network's
 * prefix route (which the kernel adds with the gateway address) — else undefined. Read from sysfs and
 * /proc/net/route, which take no lock: every rtnetlink request waits for the RTNL lock, which the
 * tear-down of the previous container's network namespace may still hold (measured: a ~0.2 ms
 * RTM_GETLINK took ~4 ms right after another launch).
 */
function readyBridgeMtu(net: Network): number | undefined {
  try {
    const dir = `/sys/class/net/${net.bridge}`;
    if (!(Number.parseInt(readFileSync(`${dir}/flags`, 'latin1'), 16) & 1)) return undefined; // IFF_UP
    const c = parseCidr(net.subnet)!;
    // (/proc/net/route: the destination and mask as the kernel's 32-bit words, printed in hex on a
    // little-endian machine: 10.87.0.0 is 0000570A)
    const le = (n: number) =>
      [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24]
        .map((b) => b.toString(16).padStart(2, '0'))
        .join('')
        .toUpperCase();
    const want = [net.bridge, le(c.addr), le(mask(c.len))];
    const routed = readFileSync('/proc/net/route', 'latin1')
      .split('\n')
      .some((l) => {
        const f = l.split('\t');
        return f[0] === want[0] && f[1] === want[1] && f[7] === want[2];
      });
    return routed ? Number(readFileSync(`${dir}/mtu`, 'latin1')) || undefined : undefined;
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

/**
 * Give container `container`, whose first process is host pid `pid`, its veth pair for attachment
 * `att` (its lease taken by prepareNetwork): one RTM_NEWLINK makes the host end, on the bridge and
 * up, and the other end directly in the container's namespace under its final name and index, eth0
 * and 2 (no rename step, no moment when the container's end sits in the host's namespace, and an
 * index the plan can name in advance). One request, because each waits for the RTNL lock, which the
 * previous container's namespace may still hold while the kernel tears it down. On failure nothing
 * stays: the lease is released, the link deleted.
 */
export function attach(root: string, att: Attachment, container: string, pid: number): void {
  try {
    withNetlink((nl) => {
      nl.addLink({
        name: att.hostIf,
        kind: 'veth',
        mtu: att.mtu,
        master: bridgeIndex(nl, att.bridge),
        up: true,
        peer: {
          name: 'eth0',
          mtu: att.mtu,
          netns: { pid },
          index: CONTAINER_IFINDEX,
          address: Uint8Array.from((att.mac ?? macOf(att.ip)).split(':'), (h) => Number.parseInt(h, 16)),
        },
      });
    });
  } catch (e) {
    detach(root, att.network, container);
    throw e;
  }
}

/** The bridge's ifindex, from sysfs (no RTNL lock; see readyBridgeMtu), else asked over netlink. */
function bridgeIndex(nl: Netlink, bridge: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${bridge}/ifindex`, 'latin1'));
  } catch {
    const link = nl.link(bridge);
    if (!link)
      throw new MinidockError(
        `no network link named ${bridge} (see ip link): it was deleted during the launch — run again, which makes it again`,
      );
    return link.index;
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
 * which a launch's clean-up need not sit through.
 */
export function detach(root: string, network: string, container: string, published = true, deleteLink = true): void {
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
  release(root, network, container);
}

/**
 * The container's side as netlink requests, built here before the container exists (eth0's index
 * is known: CONTAINER_IFINDEX), for the child to send from inside its namespace: eth0's address,
 * eth0 up, the default route via the bridge. Each is one plan step (docs/network.md: the child
 * writes the bytes to an AF_NETLINK socket and reads the ack: socket, write and read are already on
 * its async-signal-safe list). `what` is the step's line in --trace.
 */
export function containerSteps(att: Attachment): Array<{ what: string; msg: Uint8Array }> {
  const ip = parseIPv4(att.ip)!;
  const gw = parseIPv4(att.gateway)!;
  return [
    { what: `ip addr add ${att.ip}/${att.prefixLen} dev eth0`, msg: newAddrMsg(1, att.ifindex, ip, att.prefixLen) },
    { what: 'ip link set eth0 up', msg: setLinkMsg(2, att.ifindex, { up: true }) },
    { what: `ip route add default via ${att.gateway}`, msg: newRouteMsg(3, { gateway: gw }) },
  ];
}
