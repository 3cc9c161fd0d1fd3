// IPAM: which container has which address. A network's settings are one file,
// <root>/networks/<name>.json:
//
//   { "name": "bridge", "bridge": "minidock0", "subnet": "10.87.0.0/16", "gateway": "10.87.0.1" }
//
// and each lease a file of its own in <root>/networks/<name>.leases/, named by the address, holding
// { "container": "<64-hex id>", "since": "2025-..." } — the layout of CNI's host-local plugin.
//
// Why a file per lease: taking an address at every bridge launch and giving it back at its end used
// to rewrite the network's file (a temp file, fdatasync, rename: ~5 ms each way here). Now a lease is
// one create (O_EXCL: two launches can never hold one address) and one unlink, without fdatasync: a
// lease only has to outlive the minidock that took it, not a crash of the machine, after which its
// container is gone too (a lost lease file frees an address nobody uses; a surviving one is stale and
// gc's). The network's own file, which must survive a crash, is written only by `network create`
// (writeJsonAtomic: temp file, fdatasync, rename).
//
// Taking an address needs no lock: the O_EXCL create is the arbiter (a launch that loses the race
// for an address tries the next one). `network rm` removes the leases directory with rmdir, which
// fails while any lease is in it, so a network in use is never removed under a launch; a launch that
// finds the directory gone takes the state root's lock (withLock, the flock that guards the name
// registry) and finds that the network is gone too. Giving an address back is done under that lock:
// the lease is read to check whose it is, then unlinked, and gc may be releasing the same lease at
// the same moment. A lease whose container is gone (minidock SIGKILLed between the lease and the
// container's state, a machine crash) stays until reclaimLeases(), which gc calls with the set of
// containers that exist.
import { existsSync, mkdirSync, readdirSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import { isoNow } from '../../sys/time.js';
import { pathIn } from '../state-root.js';
import { withLock } from '../container-store/locks.js';
import { readJson, writeJsonAtomic } from '../container-store/records.js';
import { contains, formatIPv4, mask, overlaps, parseCidr, parseIPv4, type Cidr } from './ipv4.js';
import type { Route } from './netlink.js';

export interface Lease {
  container: string;
  since: string;
}

export interface Network {
  name: string;
  /** 64 hex digits (`network create`); the built-in `bridge` has none stored: networkId() derives it */
  id?: string;
  /** when `network create` made it (ISO 8601) */
  created?: string;
  /** the Linux bridge that carries it */
  bridge: string;
  subnet: string;
  gateway: string;
  /** the addresses taken, from networks/<name>.leases/ (never stored in <name>.json) */
  leases: Record<string, Lease>;
}

export const DEFAULT_NETWORK = 'bridge';
export const DEFAULT_BRIDGE = 'minidock0';

/*
 * The subnet candidates, tried in order; the first that overlaps none of the host's routes (and no
 * other minidock network) wins. 10.87.0.0/16 first, going down:
 *  - not Docker's 172.17.0.0/16: on a machine that also runs Docker (this project benchmarks against
 *    it) docker0 holds it, and a student comparing `docker inspect` with `minidock inspect` should
 *    not see the same addresses mean two different bridges;
 *  - not Podman's 10.88.0.0/16 (its default network) nor 10.89.0.0/16 (where `podman network
 *    create` takes its subnets): Podman creates those bridges only while a container runs, so the
 *    host's routes would not show them at the moment minidock looks;
 *  - /16 like both of them: 65 533 containers, far more than the machine runs.
 */
export const SUBNET_CANDIDATES = Array.from({ length: 8 }, (_, i) => `10.${87 - i}.0.0/16`);

/** Names: what a file name and an nft comment can hold without quoting. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

export function networksDir(root: string): string {
  return pathIn(root, 'networks');
}

function networkFile(root: string, name: string): string {
  if (!NAME_RE.test(name))
    throw new MinidockError(
      `invalid network name "${name}": use letters, digits, _ . - (at most 64, not starting with a symbol)`,
    );
  return pathIn(networksDir(root), `${name}.json`);
}

/** The directory of a network's leases (its name checked by networkFile). */
function leasesDir(root: string, name: string): string {
  networkFile(root, name);
  return pathIn(networksDir(root), `${name}.leases`);
}

/** The leases of network `name`: one file per address. (A file that cannot be read, a lease being
 * written this instant, counts as taken by nobody known: '?'.) */
function readLeases(root: string, name: string): Record<string, Lease> {
  const dir = leasesDir(root, name);
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return {};
  }
  const out: Record<string, Lease> = {};
  for (const ip of files.filter((f) => parseIPv4(f) !== undefined))
    out[ip] = readJson<Lease>(pathIn(dir, ip)) ?? { container: '?', since: '' };
  return out;
}

/** A network's record with its leases (undefined when it does not exist). A state root written by
 * an older minidock kept the leases inside <name>.json: those are moved to lease files (under the
 * lock, by the callers that change leases) and counted meanwhile. */
function readWithLeases(root: string, path: string, migrate = false): Network | undefined {
  const net = readJson<Network>(path);
  if (!net) return undefined;
  const old = net.leases ?? {};
  if (migrate && Object.keys(old).length) {
    mkdirSync(leasesDir(root, net.name), { recursive: true, mode: 0o700 });
    for (const [ip, l] of Object.entries(old)) writeLease(root, net.name, ip, l); // (false: a file has it already)
    const { leases: _, ...settings } = net;
    writeJsonAtomic(path, settings);
    return { ...settings, leases: readLeases(root, net.name) };
  }
  return { ...net, leases: { ...old, ...readLeases(root, net.name) } };
}

/**
 * The first candidate that overlaps none of `routes` (the host's, from Netlink.routes()) and none of
 * `taken` (other minidock networks' subnets). The default route (0.0.0.0/0) overlaps everything and
 * is not a collision: it is where traffic goes when nothing more specific matches.
 */
export function chooseSubnet(
  routes: Pick<Route, 'dst' | 'dstLen'>[],
  taken: string[],
  candidates = SUBNET_CANDIDATES,
): string {
  const used: Cidr[] = [
    ...routes.filter((r) => r.dstLen > 0).map((r) => ({ addr: (r.dst & mask(r.dstLen)) >>> 0, len: r.dstLen })),
    ...taken.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== undefined),
  ];
  for (const cand of candidates) {
    const c = parseCidr(cand)!;
    if (!used.some((u) => overlaps(u, c))) return cand;
  }
  throw new MinidockError(
    `every candidate subnet for a minidock network (${candidates[0]} … ${candidates[candidates.length - 1]}) overlaps a route of this host (ip route) or another minidock network: give one with --subnet CIDR`,
  );
}

/** A network's record (undefined when it does not exist); `leases` false: its settings only (its
 * `leases` empty), without reading a file per address (a launch's check that the network is set up;
 * only launches ask for this). */
export function readNetwork(root: string, name: string, leases = true): Network | undefined {
  const path = networkFile(root, name);
  if (leases) return readWithLeases(root, path);
  const net = readJson<Network>(path);
  // an older minidock's leases, inside <name>.json: moved to files (under the lock) before a launch
  // takes an address without it, or it could take one of them
  if (net?.leases && Object.keys(net.leases).length) return withLock(root, () => readWithLeases(root, path, true));
  return net && { ...net, leases: {} };
}

export function listNetworks(root: string, migrate = false): Network[] {
  let names: string[];
  try {
    names = readdirSync(networksDir(root)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return names
    .map((f) => readWithLeases(root, pathIn(networksDir(root), f), migrate))
    .filter((n): n is Network => n !== undefined);
}

/**
 * Record a network: its subnet `subnet` when given (validated, must not collide), otherwise the
 * first free candidate. The gateway (the bridge's own address) is the subnet's first host. Returns
 * the existing record unchanged when the network is already there.
 */
export function createNetwork(
  root: string,
  o: {
    name: string;
    bridge: string;
    routes: Pick<Route, 'dst' | 'dstLen'>[];
    subnet?: string;
    gateway?: string;
    /** `network create`: an existing record is an error, not the answer */
    id?: string;
  },
): Network {
  const path = networkFile(root, o.name);
  return withLock(root, () => {
    const old = readWithLeases(root, path);
    if (old && o.id !== undefined)
      throw new MinidockError(
        `network ${o.name} already exists (minidock network inspect ${o.name}): choose another name`,
      );
    if (old) return old;
    const others = listNetworks(root);
    let subnet: string;
    if (o.subnet !== undefined) {
      const c = parseCidr(o.subnet);
      if (!c || c.len > 30)
        throw new MinidockError(
          `invalid --subnet "${o.subnet}": give an IPv4 network with room for hosts, e.g. 10.90.0.0/24`,
        );
      const clash = others.find((n) => overlaps(parseCidr(n.subnet)!, c));
      if (clash)
        throw new MinidockError(
          `--subnet ${o.subnet} overlaps network ${clash.name} (${clash.subnet}): choose another`,
        );
      subnet = o.subnet;
    } else {
      subnet = chooseSubnet(
        o.routes,
        others.map((n) => n.subnet),
      );
    }
    const c = parseCidr(subnet)!;
    let gateway = formatIPv4(c.addr + 1);
    if (o.gateway !== undefined) {
      const g = parseIPv4(o.gateway);
      if (g === undefined || !contains(c, g) || g === c.addr || g === broadcast(c))
        throw new MinidockError(`invalid --gateway "${o.gateway}": give a host address inside ${subnet}`);
      gateway = o.gateway;
    }
    if (others.some((n) => n.bridge === o.bridge))
      throw new MinidockError(`bridge ${o.bridge} already carries another minidock network`);
    const settings: Omit<Network, 'leases'> = {
      name: o.name,
      ...(o.id !== undefined ? { id: o.id, created: isoNow() } : {}),
      bridge: o.bridge,
      subnet,
      gateway,
    };
    mkdirSync(networksDir(root), { recursive: true, mode: 0o700 });
    writeJsonAtomic(path, settings);
    mkdirSync(leasesDir(root, o.name), { recursive: true, mode: 0o700 }); // (a launch takes its lease in it without the lock)
    return { ...settings, leases: {} };
  });
}

/** Forget a network; refused while a container holds a lease on it. */
export function removeNetwork(root: string, name: string): void {
  const path = networkFile(root, name);
  withLock(root, () => {
    const net = readWithLeases(root, path);
    if (!net) throw new MinidockError(`no such network: ${name} (see minidock network ls)`);
    const holders = Object.values(net.leases).map((l) => l.container.slice(0, 12));
    // (rmdir, not a recursive removal: a launch takes its lease without the lock, and rmdir fails
    // when one has appeared since the listing above)
    try {
      if (!holders.length) rmdirSync(leasesDir(root, name));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY') holders.push('a container starting now');
      else if (code !== 'ENOENT') throw e;
    }
    if (holders.length)
      throw new MinidockError(`network ${name} is in use by ${holders.join(', ')}: remove those containers first`);
    unlinkSync(path);
  });
}

const broadcast = (c: Cidr): number => (c.addr | ~mask(c.len)) >>> 0;

/**
 * Lease an address on network `net` for `container`: `o.ip` when asked (--ip; a retried launch that
 * holds it already gets it again), otherwise the lowest free host address after the gateway. Without
 * the lock (see above): the directory is listed once, and each candidate taken with O_EXCL until one
 * is won. (A container started again has had its last run's lease released first: launch.ts reuseEntry.)
 */
export function allocate(
  root: string,
  net: Pick<Network, 'name' | 'subnet' | 'gateway'>,
  container: string,
  o: { ip?: string } = {},
): string {
  const c = parseCidr(net.subnet)!;
  const gw = parseIPv4(net.gateway)!;
  const lease: Lease = { container, since: isoNow() };
  if (o.ip !== undefined) {
    const n = parseIPv4(o.ip);
    if (n === undefined || !contains(c, n) || n === c.addr || n === broadcast(c) || n === gw)
      throw new MinidockError(
        `--ip ${o.ip} is not a free host address of network ${net.name} (${net.subnet}, gateway ${net.gateway})`,
      );
    if (takeLease(root, net.name, o.ip, lease)) return o.ip;
    const holder = leaseHolder(root, net.name, o.ip);
    if (holder === container) return o.ip;
    throw new MinidockError(
      `--ip ${o.ip} is already used by container ${(holder ?? '?').slice(0, 12)} on network ${net.name}`,
    );
  }
  const taken = new Set(leaseFiles(root, net.name));
  return firstHost(net, (addr) => !taken.has(addr) && takeLease(root, net.name, addr, lease));
}

/** The lowest host address of `net` after the gateway that nobody leases (what --dry-run shows
 * without taking it). */
export const nextFree = (net: Network): string => firstHost(net, (addr) => !net.leases[addr]);

/** The lowest host address of `net`, the gateway left out, for which `take` says yes. */
function firstHost(net: Pick<Network, 'name' | 'subnet' | 'gateway'>, take: (addr: string) => boolean): string {
  const c = parseCidr(net.subnet)!;
  const gw = parseIPv4(net.gateway)!;
  for (let n = c.addr + 1; n < broadcast(c); n++) if (n !== gw && take(formatIPv4(n))) return formatIPv4(n);
  throw new MinidockError(
    `network ${net.name} (${net.subnet}) has no free address: remove containers (minidock rm, minidock gc) or use a larger --subnet`,
  );
}

/**
 * Release the leases `container` holds on `name`; the addresses released ([] when none). `ip`: the
 * address its network.json names, read and released alone (a launch's clean-up: no listing of every
 * lease); when that lease is not the container's, every lease is looked at.
 */
export function release(root: string, name: string, container: string, ip?: string): string[] {
  const path = networkFile(root, name);
  return withLock(root, () => {
    if (ip !== undefined && leaseHolder(root, name, ip) === container) {
      removeLease(root, name, ip);
      return [ip];
    }
    if (!existsSync(path)) return [];
    const leases = readWithLeases(root, path, true)?.leases ?? {};
    const gone = Object.keys(leases).filter((a) => leases[a].container === container);
    for (const a of gone) removeLease(root, name, a);
    return gone;
  });
}

/** The addresses with a lease file on network `name` ([] when it has no leases directory yet). */
function leaseFiles(root: string, name: string): string[] {
  try {
    return readdirSync(leasesDir(root, name)).filter((f) => parseIPv4(f) !== undefined);
  } catch {
    return [];
  }
}

/** Who holds `addr` on `name` (undefined: nobody, or a lease being written this instant). */
function leaseHolder(root: string, name: string, addr: string): string | undefined {
  return readJson<Lease>(pathIn(leasesDir(root, name), addr))?.container;
}

/** Give `addr` back. (unlink, not rmSync: Node loads its recursive-removal module on the first
 * rmSync, ~1 ms of a launch's clean-up.) */
function removeLease(root: string, name: string, addr: string): void {
  try {
    unlinkSync(pathIn(leasesDir(root, name), addr));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Take `addr` on network `name`: O_EXCL, so an address is never handed out twice. false: somebody
 * holds it. No leases directory: made under the lock, after checking that the network still
 * exists (`network rm` removes the directory first, then the record, both under the lock). */
function takeLease(root: string, name: string, addr: string, lease: Lease): boolean {
  try {
    return writeLease(root, name, addr, lease);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return withLock(root, () => {
    // (readWithLeases with migrate: an older minidock's leases, kept inside <name>.json, become files)
    if (!readWithLeases(root, networkFile(root, name), true))
      throw new MinidockError(`no such network: ${name} (see minidock network ls)`);
    mkdirSync(leasesDir(root, name), { recursive: true, mode: 0o700 });
    return writeLease(root, name, addr, lease);
  });
}

/** Create the lease file of `addr` (O_EXCL): false when it exists. */
function writeLease(root: string, name: string, addr: string, lease: Lease): boolean {
  try {
    // (flag wx: O_CREAT|O_EXCL. A string written as utf8 is one call of Node's own C++, open, write
    // and close: writeFileUtf8)
    writeFileSync(pathIn(leasesDir(root, name), addr), `${JSON.stringify(lease)}\n`, { flag: 'wx', mode: 0o644 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  return true;
}

/**
 * gc's part: release, on every network, the leases of containers for which `exists(id)` is false.
 * Returns what was released, for gc to print (network, address, container).
 */
export function reclaimLeases(
  root: string,
  exists: (id: string) => boolean,
): Array<{ network: string; ip: string; container: string }> {
  const out: Array<{ network: string; ip: string; container: string }> = [];
  withLock(root, () => {
    for (const net of listNetworks(root, true)) {
      const gone = Object.entries(net.leases).filter(([, l]) => !exists(l.container));
      if (gone.length === 0) continue;
      for (const [ip, l] of gone) {
        removeLease(root, net.name, ip);
        out.push({ network: net.name, ip, container: l.container });
      }
    }
  });
  return out;
}

/** The prefix length of a network, for the container's address (10.87.0.2/16). */
export function prefixOf(net: Network): number {
  return parseCidr(net.subnet)!.len;
}
