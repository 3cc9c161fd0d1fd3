// NAT and published ports: one nftables table, `ip minidock`, that minidock alone writes.
//
//   table ip minidock {
//     chain prerouting  { type nat hook prerouting priority dstnat;  fib daddr type local jump publish }
//     chain output      { type nat hook output priority -100;        fib daddr type local jump publish }
//     chain publish     { tcp dport 8080 dnat to 10.87.0.2:80 comment "ctr=<id> 8080/tcp" ... }
//     chain postrouting { type nat hook postrouting priority srcnat; jump net-bridge comment "net=bridge" }
//     chain net-bridge  { ip saddr 10.87.0.0/16 oifname != "minidock0" masquerade
//                         ip saddr 127.0.0.0/8 oifname "minidock0" masquerade }
//     chain raw         { type filter hook prerouting priority raw;  iifname "minidock0" ip daddr 127.0.0.0/8 drop ... }
//     chain forward     { type filter hook forward priority filter;  iifname "minidock0" oifname "minidock*" oifname != "minidock0" drop ... }
//   }
//
// Why nftables and not iptables: Debian 12's iptables is itself iptables-nft (a translation onto
// nftables), one table of its own is removed or listed in one command, and every change below is one
// atomic transaction (`nft -f -` applies all of a script or none of it).
//
// Every rule carries a comment that says whose it is ("ctr=<id> 8080/tcp", "net=<name>"): removal
// lists the table with handles (`nft -a -j`) and deletes exactly those rules by handle, in one
// transaction, so nothing else (another container's port, another network) is touched.
//
// Connections from the host itself to 127.0.0.1:HOST (what `curl http://127.0.0.1:8080/` does):
// they never pass prerouting, so the output chain DNATs them too; after that the packet leaves
// through minidock0 with source 127.0.0.1, which the kernel refuses to route off the loopback
// ("martian") unless route_localnet is set on the outgoing link, and which the container could not
// answer anyway (127.0.0.1 is its own lo). So: route_localnet=1 on the bridge only (not "all"), and
// the localhost source masqueraded to the bridge's address. The other way, a userspace proxy per
// port (docker-proxy), costs a process and a copy of every byte, and hides the client's address.
// route_localnet has one danger (CVE-2020-8558): a neighbour on that link could send packets to
// 127.0.0.1 and reach host services bound to localhost. The raw-priority rule drops any packet that
// arrives on a minidock bridge addressed to 127.0.0.0/8 (raw runs before conntrack undoes the NAT,
// so the replies of the connections above, addressed to the bridge's own address then, pass).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import { parseIPv4 } from './ipv4.js';
import { getChainMsg, NETLINK_NETFILTER, withNetlink } from './netlink.js';

export const TABLE = 'minidock';

export interface PublishedPort {
  /** absent: every local address (127.0.0.1 included) */
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

/** `-p [IP:]HOST:CONTAINER[/tcp|udp]` -> a PublishedPort; one line naming what was wrong otherwise. */
export function parsePublish(spec: string): PublishedPort {
  const bad = (why: string): never => {
    throw new MinidockError(
      `invalid -p "${spec}": ${why} (the form is [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp], e.g. -p 8080:80 or -p 127.0.0.1:8080:80/tcp)`,
    );
  };
  const [addr, proto = 'tcp', ...extra] = spec.split('/');
  if (extra.length || (proto !== 'tcp' && proto !== 'udp')) bad(`the protocol must be tcp or udp`);
  const parts = addr.split(':');
  if (parts.length < 2 || parts.length > 3) bad('give both ports');
  const [hostIp, host = '', ctr = ''] = parts.length === 3 ? parts : [undefined, ...parts];
  if (hostIp !== undefined && parseIPv4(hostIp) === undefined) bad(`${hostIp} is not an IPv4 address`);
  const port = (s: string, which: string): number => {
    if (!/^\d{1,5}$/.test(s) || +s < 1 || +s > 65535) bad(`the ${which} port must be a number from 1 to 65535`);
    return +s;
  };
  return { hostIp, hostPort: port(host, 'host'), containerPort: port(ctr, 'container'), proto: proto as 'tcp' | 'udp' };
}

export function formatPublish(p: PublishedPort): string {
  return `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}:${p.containerPort}/${p.proto}`;
}

// ---- the scripts (pure: unit-tested as text) ----

/** The table and its fixed chains. `create table` fails when the table exists, and a failed
 * transaction applies nothing: so two minidocks that race here create it exactly once. */
export function tableScript(): string {
  return [
    `create table ip ${TABLE}`,
    `add chain ip ${TABLE} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    // -100 is dstnat's number; nft 1.0.6 accepts the name only on prerouting ("invalid priority expression value in this context")
    `add chain ip ${TABLE} output { type nat hook output priority -100; policy accept; }`,
    `add chain ip ${TABLE} publish`,
    `add chain ip ${TABLE} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ip ${TABLE} raw { type filter hook prerouting priority raw; policy accept; }`,
    `add chain ip ${TABLE} forward { type filter hook forward priority filter; policy accept; }`,
    // only packets addressed to this host can be published ports (not those it forwards)
    `add rule ip ${TABLE} prerouting fib daddr type local jump publish`,
    `add rule ip ${TABLE} output fib daddr type local jump publish`,
    '',
  ].join('\n');
}

export interface NetworkNat {
  name: string;
  bridge: string;
  subnet: string;
}

/** A network's rules. The `create chain` first makes it idempotent the same way as the table. */
export function networkScript(n: NetworkNat): string {
  const chain = `net-${n.name}`;
  const tag = `comment "net=${n.name}"`;
  return [
    `create chain ip ${TABLE} ${chain}`,
    // outbound: the containers' private addresses leave as the host's
    `add rule ip ${TABLE} ${chain} ip saddr ${n.subnet} oifname != "${n.bridge}" masquerade`,
    // the host's own connections to 127.0.0.1:PORT, after DNAT, go out on the bridge: as the bridge's address
    `add rule ip ${TABLE} ${chain} ip saddr 127.0.0.0/8 oifname "${n.bridge}" masquerade`,
    `add rule ip ${TABLE} postrouting jump ${chain} ${tag}`,
    `add rule ip ${TABLE} raw iifname "${n.bridge}" ip daddr 127.0.0.0/8 drop ${tag}`,
    // containers on one network talk freely; between two minidock networks, nothing
    `add rule ip ${TABLE} forward iifname "${n.bridge}" oifname "minidock*" oifname != "${n.bridge}" drop ${tag}`,
    '',
  ].join('\n');
}

/** The tag of one published port: what removePublished matches. */
export const portTag = (container: string, p: PublishedPort): string => `ctr=${container} ${p.hostPort}/${p.proto}`;

/** DNAT rules for a container's published ports. */
export function publishScript(container: string, containerIp: string, ports: PublishedPort[]): string {
  return ports
    .map(
      (p) =>
        `add rule ip ${TABLE} publish ${p.hostIp ? `ip daddr ${p.hostIp} ` : ''}${p.proto} dport ${p.hostPort} dnat to ${containerIp}:${p.containerPort} comment "${portTag(container, p)}"\n`,
    )
    .join('');
}

export interface RuleRef {
  chain: string;
  handle: number;
  comment?: string;
  /** the rule's jump target, if it is a jump */
  jump?: string;
}

/** Parse `nft -a -j list table ip minidock`: every rule with its handle and comment. */
export function parseRules(json: string): RuleRef[] {
  const doc = JSON.parse(json) as { nftables: Array<Record<string, Record<string, unknown>>> };
  return doc.nftables
    .filter((o) => o.rule)
    .map((o) => {
      const r = o.rule as {
        chain: string;
        handle: number;
        comment?: string;
        expr?: Array<{ jump?: { target: string } }>;
      };
      return { chain: r.chain, handle: r.handle, comment: r.comment, jump: r.expr?.find((e) => e.jump)?.jump?.target };
    });
}

/** The script deleting `rules` by handle (and the chains named, after the rules that jump to them). */
export function deleteScript(rules: RuleRef[], chains: string[] = []): string {
  return (
    rules.map((r) => `delete rule ip ${TABLE} ${r.chain} handle ${r.handle}\n`).join('') +
    chains.map((c) => `delete chain ip ${TABLE} ${c}\n`).join('')
  );
}

// ---- applying them ----

function nft(args: string[], input?: string): string {
  try {
    return execFileSync('nft', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new MinidockError(
        'nft is not installed: apt-get install nftables (npm run build installs it when run as root)',
      );
    const line =
      (err.stderr ?? '').split('\n').find((l) => l.startsWith('Error:')) ??
      String(err.stderr ?? err.message)
        .trim()
        .split('\n')[0];
    throw new NftError(`nft ${args.join(' ')}: ${line}`, line);
  }
}

export class NftError extends MinidockError {
  constructor(
    message: string,
    readonly nftLine: string,
  ) {
    super(message);
  }
}

const isExists = (e: unknown): boolean => e instanceof NftError && /File exists/.test(e.nftLine);

/** Apply a script in one transaction (all of it or none). */
export function applyScript(script: string): void {
  if (script) nft(['-f', '-'], script);
}

/** The table's rules, [] when there is no table. */
export function listRules(): RuleRef[] {
  try {
    return parseRules(nft(['-a', '-j', 'list', 'table', 'ip', TABLE]));
  } catch (e) {
    if (e instanceof NftError && /No such file or directory/.test(e.nftLine)) return [];
    throw e;
  }
}

export function ensureTable(): void {
  try {
    applyScript(tableScript());
  } catch (e) {
    if (!isExists(e)) throw e;
  }
}

/** Whether chain `chain` of minidock's table exists: one netlink request (NFT_MSG_GETCHAIN), not an
 * `nft` run (a process start, 5-20 ms here: it was the largest part of a bridge launch). */
export function chainExists(chain: string): boolean {
  const ENOENT = 2;
  return withNetlink(
    (nl) =>
      nl.has(`nft list chain ip ${TABLE} ${chain} (NFT_MSG_GETCHAIN)`, ENOENT, (s) => getChainMsg(s, TABLE, chain)),
    -1,
    NETLINK_NETFILTER,
  );
}

/**
 * The table and a network's rules, each created at most once. When all is in place (every launch
 * but a network's first) no `nft` runs at all: the network's chain is looked up over netlink, and
 * it exists only if the one transaction that made it and the rules jumping to it went in.
 * Otherwise one listing and one transaction. A concurrent minidock that creates the same first makes
 * the transaction fail as a whole with EEXIST; the second look then finds it. (route_localnet, the
 * bridge's own setting, is set apart: setRouteLocalnet.)
 */
export function ensureNetworkNat(n: NetworkNat): void {
  for (let attempt = 0; !chainExists(`net-${n.name}`); attempt++) {
    const rules = listRules();
    if (rules.some((r) => r.jump === `net-${n.name}`)) break;
    try {
      applyScript((rules.length === 0 ? tableScript() : '') + networkScript(n));
      break;
    } catch (e) {
      if (!isExists(e) || attempt > 0) throw e;
    }
  }
}

/** route_localnet=1 on `bridge` (see the top of this file): a setting of the link, which goes with
 * it, so ensureNetwork sets it whenever it sets the bridge up. */
export function setRouteLocalnet(bridge: string): void {
  writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
}

/** Remove a network's rules and chain; the table too when nothing else is left in it. */
export function removeNetworkNat(name: string): void {
  const rules = listRules();
  const mine = rules.filter((r) => r.comment === `net=${name}` || r.chain === `net-${name}`);
  if (rules.some((r) => r.chain === `net-${name}` || r.jump === `net-${name}`) || mine.length > 0) {
    // the rules inside the chain go with `delete chain`; the ones pointing at it must go first
    applyScript(
      deleteScript(
        mine.filter((r) => r.chain !== `net-${name}`),
        [`net-${name}`],
      ),
    );
  }
  removeTableIfUnused(rules.filter((r) => !mine.includes(r)));
}

/** Publish a container's ports (one transaction). */
export function publish(container: string, containerIp: string, ports: PublishedPort[]): void {
  if (ports.length === 0) return;
  try {
    applyScript(publishScript(container, containerIp, ports)); // one nft run when the table is there
  } catch (e) {
    if (!(e instanceof NftError && /No such file or directory/.test(e.nftLine))) throw e;
    ensureTable();
    applyScript(publishScript(container, containerIp, ports));
  }
}

/** Remove a container's published ports (all of them, or only `port`): the rules removed. */
export function removePublished(container: string, port?: PublishedPort): number {
  const all = listRules();
  const rules = all.filter(
    (r) =>
      r.chain === 'publish' &&
      (port ? r.comment === portTag(container, port) : r.comment?.startsWith(`ctr=${container} `)),
  );
  applyScript(deleteScript(rules));
  removeTableIfUnused(all.filter((r) => !rules.includes(r)));
  return rules.length;
}

/** When no network and no port is left, the table goes: nothing of minidock's stays in the ruleset.
 * `rules`: what is left in the table, when the caller has just listed it (saves an nft run). */
export function removeTableIfUnused(rules = listRules()): void {
  const fixed = rules.every((r) => (r.chain === 'prerouting' || r.chain === 'output') && r.jump === 'publish');
  if (rules.length > 0 && fixed) {
    try {
      applyScript(`delete table ip ${TABLE}\n`);
    } catch (e) {
      if (!(e instanceof NftError && /No such file or directory/.test(e.nftLine))) throw e;
    }
  }
}

/**
 * Turn on IPv4 forwarding, needed for a container's traffic to leave the host (and for published
 * ports reached from other machines); not for the host's own connections to a container, which
 * the bridge carries without forwarding. Returns the sentence to print when minidock changed it,
 * undefined when it was already on. It is never turned off behind the user's back: other software
 * (Docker, a VPN, a router's configuration) may rely on it by then.
 */
export function ensureIpForward(path = '/proc/sys/net/ipv4/ip_forward'): string | undefined {
  if (readFileSync(path, 'utf8').trim() === '1') return undefined;
  writeFileSync(path, '1');
  return "net.ipv4.ip_forward was 0: minidock set it to 1 so that the host forwards the containers' traffic (sysctl -w net.ipv4.ip_forward=0 turns it off again)";
}
