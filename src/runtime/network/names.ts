// A container's name files — /etc/hosts, /etc/hostname, /etc/resolv.conf — written in its
// directory and bind-mounted over the rootfs's by plan steps, as Docker does.
//
// Names on a user-defined network resolve through the hosts files, kept in sync: every join and
// every leave rewrites the hosts file of each container of that network (under the state root's
// lock), so each lists every member by address: hostname, name, aliases, short id. Docker answers
// the same question with a DNS server inside its daemon (127.0.0.11 in each container); minidock
// has no daemon, and a resolver process per network would be one more thing to start, supervise and
// leak. The cost of the choice: a program that caches what it resolved does not see a later change,
// and a name is known only to containers of this state root. Rewritten in place (truncate + write),
// never by rename: a bind mount holds the inode it was made with.
import { existsSync, writeFileSync } from 'node:fs';
import { pathIn } from '../state-root.js';
import { withLock } from '../container-store/locks.js';
import { readJson } from '../container-store/records.js';
import { DEFAULT_NETWORK, listNetworks, type Network } from './ipam.js';
import type { ExtraHost } from './flags.js';
import { readNetworkRecord, type NetworkRecord } from './records.js';

/** One line of a hosts file: an address and the names that mean it. */
export interface HostsEntry {
  ip: string;
  names: string[];
}

/**
 * A hosts file: localhost, then the container's --add-host lines (`host-gateway` already replaced),
 * then the network's members (the container itself among them). Pure.
 */
export function hostsText(members: HostsEntry[], extra: ExtraHost[] = []): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...extra.map((h) => `${h.ip}\t${h.name}`),
    ...members.map((p) => `${p.ip}\t${p.names.join(' ')}`),
    '',
  ].join('\n');
}

/**
 * resolv.conf for a container: the host's, without loopback nameservers (systemd-resolved's
 * 127.0.0.53 is the host's own lo, unreachable from the container); none left: Docker's fallback.
 * With --dns, those nameservers instead of the host's (its search and options lines stay).
 */
export function containerResolvConf(host: string, dns: string[] = []): string {
  const lines = host
    .split('\n')
    .filter((l) => l.trim() !== '' && !(dns.length ? /^\s*nameserver\s/ : /^\s*nameserver\s+(127\.|::1\b)/).test(l));
  lines.push(...dns.map((d) => `nameserver ${d}`));
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  return lines.join('\n').replace(/\n*$/, '\n');
}

/** --add-host lines with `host-gateway` as the network's gateway. */
export const resolveExtraHosts = (extra: ExtraHost[] = [], gateway?: string): ExtraHost[] =>
  extra.map((h) => (h.ip === 'host-gateway' && gateway ? { ...h, ip: gateway } : h));

/**
 * The hosts file of every container on network `name` (this state root), and of the containers
 * `also` names (one that just left it): localhost, its own --add-host lines, then each container of
 * every network it is on (`network connect` puts one on several) by address, with its hostname,
 * name, aliases on that network and short id. On the default network a container knows only
 * itself (as on Docker's default bridge); on a user-defined one, every member.
 */
export function writeHosts(root: string, name: string, also: string[] = []): void {
  withLock(root, () => {
    const nets = listNetworks(root);
    const net = nets.find((n) => n.name === name);
    if (!net && also.length === 0) return;
    const info = new Map<string, { dir: string; cfg?: HostsConfig; rec?: NetworkRecord }>();
    const infoOf = (id: string) => {
      let i = info.get(id);
      if (!i) {
        const dir = pathIn(pathIn(root, 'containers'), id);
        i = { dir, cfg: readJson<HostsConfig>(pathIn(dir, 'config.json')), rec: readNetworkRecord(dir) };
        info.set(id, i);
      }
      return i;
    };
    const entriesOn = (n: Network, only?: string): HostsEntry[] =>
      Object.entries(n.leases)
        .filter(([, l]) => (only === undefined || l.container === only) && infoOf(l.container).cfg)
        .map(([ip, l]) => ({ ip, names: namesOn(n.name, l.container, infoOf(l.container)) }));
    const targets = new Set([...Object.values(net?.leases ?? {}).map((l) => l.container), ...also]);
    for (const id of targets) {
      const me = infoOf(id);
      if (!me.cfg || !existsSync(me.dir)) continue;
      const mine = nets.filter((n) => Object.values(n.leases).some((l) => l.container === id));
      const members = mine.flatMap((n) => entriesOn(n, n.name === DEFAULT_NETWORK ? id : undefined));
      const primary = mine.find((n) => n.name === me.rec?.network) ?? mine[0];
      const text = hostsText(
        members.filter((m, i) => members.findIndex((o) => o.ip === m.ip) === i),
        resolveExtraHosts(me.rec?.extraHosts, primary?.gateway),
      );
      writeFileSync(pathIn(me.dir, 'hosts'), text); // (in place: O_TRUNC keeps the inode)
    }
  });
}

interface HostsConfig {
  name?: string;
  spec?: { hostname?: string };
}

/** A container's names on network `network`: hostname, name, its aliases there, short id. */
export function namesOn(network: string, id: string, i: { cfg?: HostsConfig; rec?: NetworkRecord }): string[] {
  const aliases =
    i.rec?.network === network && !i.rec.disconnected
      ? i.rec.aliases
      : i.rec?.connected?.find((c) => c.network === network)?.aliases;
  const names = [i.cfg?.spec?.hostname, i.cfg?.name, ...(aliases ?? []), id.slice(0, 12)];
  return [...new Set(names.filter((n): n is string => !!n))];
}
