// What the network tests share: the host commands they need, and the parts of the host minidock's
// network may change (links, addresses, its nft table, the leases), to compare before and after.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { canRun, leasesOf, minidock, skipReason } from './helpers';

/** Why a network test cannot run here ('' when it can): root, nft, ip, and `also` on the PATH. */
export function networkSkip(also: string[] = []): string {
  const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (!canRun) return skipReason;
  if (!has('nft')) return 'needs nft (apt-get install nftables)';
  const missing = ['ip', ...also].filter((c) => !has(c));
  return missing.length ? `needs ${missing.join(', ')} on the host` : '';
}

/** A host command's stdout; an error naming the command when it fails. */
export function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.status} ${r.stderr}`);
  return r.stdout;
}

/** The host's links but minidock0 (made once and kept, like docker0, and shared by the test files). */
export function hostLinks(): string[] {
  return (JSON.parse(sh('ip', ['-j', 'link'])) as Array<{ ifname: string }>)
    .map((l) => l.ifname)
    .filter((n) => n !== 'minidock0')
    .sort();
}

/** The host's addresses (`IFNAME ADDR/PREFIX`) but minidock0's. */
export function hostAddrs(): string[] {
  return (
    JSON.parse(sh('ip', ['-j', 'addr'])) as Array<{
      ifname: string;
      addr_info: Array<{ local: string; prefixlen: number }>;
    }>
  )
    .filter((l) => l.ifname !== 'minidock0')
    .flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`))
    .sort();
}

/** minidock's nft table, each object as one sorted line, without handles. */
export function minidockRuleset(): string[] {
  return (JSON.parse(sh('nft', ['-j', 'list', 'ruleset'])).nftables as Array<Record<string, Record<string, unknown>>>)
    .map((o) => Object.entries(o)[0])
    .filter(([kind, v]) => (kind === 'table' ? v.name : v.table) === 'minidock')
    .map(([kind, v]) => {
      const { handle: _h, ...rest } = v;
      return `${kind} ${JSON.stringify(rest)}`;
    })
    .sort();
}

/** Links, addresses, the publish chain's rules (by comment) and the default network's leases. */
export function bridgeSnapshot(root: string) {
  const nft = spawnSync('nft', ['-j', 'list', 'chain', 'ip', 'minidock', 'publish'], { encoding: 'utf8' });
  const rules =
    nft.status === 0
      ? (JSON.parse(nft.stdout).nftables as Array<{ rule?: { comment?: string } }>)
          .filter((o) => o.rule)
          .map((o) => o.rule!.comment)
      : [];
  return { links: hostLinks(), addrs: hostAddrs(), rules, leases: Object.keys(leasesOf(root, 'bridge')) };
}

/**
 * minidock from the repository's directory (its ./rootfs) on the state root `root()` gives: `md` runs
 * it; `ok` expects exit 0 and nothing on stderr, and returns stdout; `refused` expects exit 125 and
 * one line matching `line`.
 */
export function cliOn(root: () => string) {
  const md = (args: string[], env: Record<string, string> = {}) =>
    minidock(args, { root: root(), cwd: join(__dirname, '..'), env });
  const ok = (args: string[]): string => {
    const r = md(args);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.code, args.join(' ')).toBe(0);
    return r.stdout;
  };
  const refused = (args: string[], line: RegExp): void => {
    const r = md(args);
    expect(r.code, args.join(' ')).toBe(125);
    expect(r.stderr).toMatch(line);
    expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
  };
  return { md, ok, refused };
}
