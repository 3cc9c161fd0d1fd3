// --network, -p, --ip, --network-alias, --add-host and --dns as a NetworkSpec (ContainerSpec.network).
// Only parsing: options.ts imports this, so nothing here loads the native library (--dry-run runs
// without it). The launch's side is wiring.ts.
import { MinidockError } from '../../errors.js';
import { parseIPv4 } from './ipv4.js';
import { formatPublish, parsePublish, type PublishedPort } from './nft.js';

export type NetworkMode = 'none' | 'host' | 'bridge' | 'container';

/** What `--network`, `-p` and `--ip` asked for (ContainerSpec.network; absent = none). */
export interface NetworkSpec {
  mode: NetworkMode;
  /** bridge: the network's name ('bridge', the default network, or one of `network create`) */
  network?: string;
  /** container: the container (name, ID or prefix) whose network namespace is joined */
  container?: string;
  ports: PublishedPort[];
  ip?: string;
  /** --network-alias: more names of this container on its user-defined network */
  aliases?: string[];
  /** --add-host NAME:IP: lines of this container's own /etc/hosts (IP `host-gateway`: its gateway) */
  extraHosts?: ExtraHost[];
  /** --dns IP: the nameservers of its /etc/resolv.conf, instead of the host's */
  dns?: string[];
  /** --mac-address: eth0's MAC (lower case, colons) */
  mac?: string;
  /** -P: publish every exposed port (`exposed`) on a free host port (ports.ts adds them to `ports`) */
  publishAll?: boolean;
  /** the image's ExposedPorts and --expose, as `80/tcp` */
  exposed?: string[];
}

/** -P, --expose, --mac-address as given, and the image's ExposedPorts keys (`80/tcp`). */
export interface BridgeFlags {
  publishAll?: boolean;
  expose?: string[];
  macAddress?: string;
  imageExposed?: string[];
}

export interface ExtraHost {
  name: string;
  ip: string;
}

/** The name files' flags (--network-alias, --add-host, --dns), as given. */
export interface NameFlags {
  alias?: string[];
  addHost?: string[];
  dns?: string[];
}

/** A host name or alias: labels of letters, digits, `-` and `_`, joined by dots (what a hosts file holds). */
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*$/;

/** IPv4 (dotted quad) or IPv6 (hex groups and colons, an IPv4 tail allowed): what a resolver reads. */
export const isIpAddress = (s: string): boolean =>
  parseIPv4(s) !== undefined || (s.includes(':') && /^[0-9a-fA-F:]{2,39}(\.\d{1,3}){0,3}$/.test(s) && !/:::/.test(s));

/** `--mac-address XX:XX:XX:XX:XX:XX` -> its 6 bytes; a multicast (the first byte's lowest bit) or
 * all-zero address is refused, as the kernel would refuse it (is_valid_ether_addr). */
export function parseMac(raw: string): Uint8Array {
  const m = /^([0-9a-fA-F]{2})([:-][0-9a-fA-F]{2}){5}$/.test(raw) ? raw.split(/[:-]/) : undefined;
  const bytes = m && Uint8Array.from(m, (h) => Number.parseInt(h, 16));
  if (!bytes)
    throw new MinidockError(`invalid --mac-address "${raw}": use six hex pairs, e.g. --mac-address 02:42:ac:11:00:02`);
  if (bytes[0] & 1)
    throw new MinidockError(
      `--mac-address ${raw}: a multicast address (the first byte is odd) cannot be a link's own; use a unicast one, e.g. 02:42:ac:11:00:02`,
    );
  if (bytes.every((b) => b === 0))
    throw new MinidockError(`--mac-address ${raw}: all zeros is no address; use e.g. 02:42:ac:11:00:02`);
  return bytes;
}

/** `--expose PORT[/tcp|udp]` or `START-END[/proto]` (Docker's) -> `80/tcp` keys. */
export function parseExpose(raw: string): string[] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp))?$/.exec(raw);
  const [lo, hi] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [0, 0];
  if (!m || lo < 1 || hi > 65535 || hi < lo || hi - lo > 1000)
    throw new MinidockError(
      `invalid --expose "${raw}": use PORT[/tcp|udp] or a range START-END (at most 1001 ports), e.g. --expose 80 or --expose 8000-8010/udp`,
    );
  return Array.from({ length: hi - lo + 1 }, (_, i) => `${lo + i}/${m[3] ?? 'tcp'}`);
}

/** The image config's ExposedPorts keys that are `PORT[/tcp|udp]` (Docker's form; sctp and bad keys are left out). */
export const exposedKeys = (keys: string[]): string[] =>
  keys.flatMap((k) =>
    /^\d{1,5}(\/(tcp|udp))?$/.test(k) && +k.split('/')[0] >= 1 && +k.split('/')[0] <= 65535
      ? [k.includes('/') ? k : `${k}/tcp`]
      : [],
  );

/** `--add-host NAME:IP` (IPv6 after the first colon, e.g. `db:fd00::5`; `NAME:host-gateway`). */
export function parseAddHost(raw: string): ExtraHost {
  const at = raw.search(/[:=]/); // (Docker accepts NAME=IP too)
  const name = at < 0 ? raw : raw.slice(0, at);
  const ip = at < 0 ? '' : raw.slice(at + 1);
  if (!HOST_NAME.test(name) || name.length > 253 || !(ip === 'host-gateway' || isIpAddress(ip)))
    throw new MinidockError(
      `invalid --add-host "${raw}": use NAME:IP, e.g. --add-host db:10.0.0.5 (NAME:host-gateway is the host's address on the container's network)`,
    );
  return { name, ip };
}

/** --network-alias, --add-host, --dns on the spec `spec` (mode decided): one line for each misuse. */
function addNameFlags(spec: NetworkSpec, mode: string, f: NameFlags): void {
  const aliases = f.alias ?? [];
  for (const a of aliases)
    if (!HOST_NAME.test(a) || a.length > 253)
      throw new MinidockError(
        `invalid --network-alias "${a}": use letters, digits, "-", "_" and "." (a host name, e.g. db or db.internal)`,
      );
  if (aliases.length && (spec.mode !== 'bridge' || spec.network === 'bridge'))
    throw new MinidockError(
      `--network-alias with --network ${mode}: aliases are names on a user-defined network (minidock network create NAME, then --network NAME)`,
    );
  const extra = (f.addHost ?? []).map(parseAddHost);
  for (const d of f.dns ?? [])
    if (!isIpAddress(d))
      throw new MinidockError(`invalid --dns "${d}": give a nameserver's IP address, e.g. --dns 10.0.0.53`);
  if ((extra.length || f.dns?.length) && (spec.mode === 'host' || spec.mode === 'container'))
    throw new MinidockError(
      `${extra.length ? '--add-host' : '--dns'} with --network ${mode}: that container's name files are not its own; use --network bridge, a network of minidock network create, or none`,
    );
  if (extra.some((h) => h.ip === 'host-gateway') && spec.mode !== 'bridge')
    throw new MinidockError(
      `--add-host NAME:host-gateway with --network ${mode}: only a bridge network has a gateway (--network bridge)`,
    );
  if (aliases.length) spec.aliases = [...new Set(aliases)];
  if (extra.length) spec.extraHosts = extra;
  if (f.dns?.length) spec.dns = f.dns;
}

/** -P (with the exposed ports: the image's and --expose's) and --mac-address on the spec. */
function addBridgeFlags(spec: NetworkSpec, mode: string, f: BridgeFlags): void {
  const exposed = [...new Set([...(f.imageExposed ?? []), ...(f.expose ?? []).flatMap(parseExpose)])];
  if (f.publishAll && spec.mode !== 'bridge')
    throw new MinidockError(`-P with --network ${mode}: published ports need a bridge network (--network bridge)`);
  if (f.macAddress !== undefined) {
    const mac = parseMac(f.macAddress);
    if (spec.mode !== 'bridge')
      throw new MinidockError(
        `--mac-address with --network ${mode}: only a bridge network gives the container its own eth0 (--network bridge)`,
      );
    spec.mac = Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
  }
  if (f.publishAll) spec.publishAll = true;
  if (exposed.length && spec.mode === 'bridge') spec.exposed = exposed;
}

/**
 * `--network MODE`, `-p ...`, `--ip IP`, and the name files' flags -> a NetworkSpec (undefined: none
 * without name files, the launch of before; none with --add-host/--dns: a spec of mode none, whose
 * launch writes /etc/hosts and /etc/resolv.conf).
 */
export function parseNetworkFlags(
  network: string | undefined,
  publishes: string[] = [],
  ip?: string,
  names: NameFlags = {},
  more: BridgeFlags = {},
): NetworkSpec | undefined {
  // -p, -P, --ip or --mac-address without --network: a bridge (the default stays none otherwise)
  const wantsBridge = publishes.length || ip !== undefined || more.publishAll || more.macAddress !== undefined;
  const mode = network ?? (wantsBridge ? 'bridge' : 'none');
  let spec: NetworkSpec;
  if (mode === 'none' || mode === 'host') spec = { mode, ports: [] };
  else if (mode.startsWith('container:')) {
    const ref = mode.slice('container:'.length);
    if (!ref)
      throw new MinidockError('--network container: needs a container name or ID, e.g. --network container:web');
    spec = { mode: 'container', container: ref, ports: [] };
  } else if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(mode)) spec = { mode: 'bridge', network: mode, ports: [] };
  else
    throw new MinidockError(
      `--network ${mode}: use none, host, bridge, container:NAME or the name of a network (minidock network ls)`,
    );
  if (publishes.length && spec.mode !== 'bridge')
    throw new MinidockError(`-p with --network ${mode}: published ports need a bridge network (--network bridge)`);
  if (ip !== undefined && spec.mode !== 'bridge')
    throw new MinidockError(`--ip with --network ${mode}: an address is given on a bridge network (--network bridge)`);
  spec.ports = publishes.map(parsePublish);
  const seen = new Set<string>();
  for (const p of spec.ports) {
    const key = `${p.hostIp ?? '*'}:${p.hostPort}/${p.proto}`;
    if (seen.has(key))
      throw new MinidockError(`-p ${formatPublish(p)}: host port ${p.hostPort}/${p.proto} is published twice`);
    seen.add(key);
  }
  if (ip !== undefined) spec.ip = ip;
  addBridgeFlags(spec, mode, more);
  addNameFlags(spec, mode, names);
  return spec.mode === 'none' && !spec.extraHosts && !spec.dns ? undefined : spec;
}
