// User-defined networks through the real CLI, as root: `network create` (a bridge, a subnet free of
// the host's routes, its nft chain), two containers on one network reaching each other by name,
// hostname and alias (busybox ping and wget to busybox httpd), hosts files kept in sync as members
// come and go, --add-host and --dns, two networks unable to reach each other (the forward rule),
// `network rm` refused while a container runs on it, and nothing left — no bridge, veth, nft rule,
// lease or hosts line — after rm, after a minidock SIGKILLed mid-launch and gc, and after `network rm`:
// `ip -j link`, `nft -j list ruleset` (minidock's table) and the state root's network records are
// compared with what they were before the file ran. Network names carry a tag unique to this run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leasesOf, minidock, pidsMatching, useLeakCheckedRoot, waitFor } from '../helpers';
import { cliOn, hostLinks, minidockRuleset, networkSkip, sh } from '../network-helpers';

const skip = networkSkip();

/** minidock's part of the host: links (but minidock0, kept like docker0 and shared with other test
 * files), minidock's nft table without handles, and the network records of this state root. */
function hostNet(root: string) {
  const links = hostLinks();
  const ruleset = minidockRuleset();
  const dir = join(root, 'networks');
  const records = existsSync(dir) ? readdirSync(dir).sort() : [];
  return { links, ruleset, records };
}

const tag = Math.floor(Math.random() * 0xfffff).toString(16);
const A = `t${tag}a`;
const B = `t${tag}b`;
/** the ghosts' command line, unique to this run: found (and waited for) by pidsMatching */
const SLEEP = String(800 + (Number.parseInt(tag, 16) % 199));

describe.skipIf(skip)(
  `user-defined networks: network create/ls/inspect/rm, names${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let root = '';
    useLeakCheckedRoot((r) => (root = r));
    let before: ReturnType<typeof hostNet>;
    let subnetB = '';
    const { md, ok, refused } = cliOn(() => root);
    const inspectNet = (name: string) => JSON.parse(ok(['network', 'inspect', name]))[0];
    const ipOf = (ctr: string): string => JSON.parse(ok(['inspect', ctr]))[0].NetworkSettings.IPAddress;
    const httpd = (name: string, net: string, ...extra: string[]) =>
      ok([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        net,
        ...extra,
        './rootfs',
        '/bin/busybox',
        'httpd',
        '-f',
        '-p',
        '80',
        '-h',
        '/etc',
      ]).trim();

    beforeAll(() => {
      before = hostNet(root);
      // a /24 of 10.199.0.0/16 that no route of this host covers
      const routes = sh('ip', ['-4', 'route']);
      const third = [7, 77, 177, 207].find(
        (n) => !routes.includes(`10.199.${n}.`) && !routes.includes('10.199.0.0/16'),
      );
      subnetB = `10.199.${third}.0/24`;
    });
    afterAll(() => {
      // whatever a failed test left: containers, then the networks (their bridges and rules)
      for (const id of minidock(['ps', '-aq'], { root }).stdout.split('\n').filter(Boolean))
        minidock(['rm', '-f', id], { root });
      for (const n of [A, B]) minidock(['network', 'rm', n], { root });
    });

    it('network create: a bridge with the gateway address, a subnet free of the host routes, its nft chain; ls, -q, inspect', () => {
      const idA = ok(['network', 'create', A]).trim();
      expect(idA).toMatch(/^[0-9a-f]{64}$/);
      ok(['network', 'create', '--subnet', subnetB, B]);
      const a = inspectNet(A);
      const b = inspectNet(B);
      expect(a).toMatchObject({
        Name: A,
        Id: idA,
        Driver: 'bridge',
        Bridge: `minidock-${idA.slice(0, 6)}`,
        Containers: {},
      });
      expect(b.IPAM.Config).toEqual([{ Subnet: subnetB, Gateway: subnetB.replace(/0\/24$/, '1') }]);
      // A's subnet: one of the candidates, overlapping no other route of the host
      const [subnetA] = a.IPAM.Config.map((c: { Subnet: string }) => c.Subnet);
      expect(subnetA).toMatch(/^10\.8[0-7]\.0\.0\/16$/);
      for (const [net, cidr] of [
        [a, subnetA],
        [b, subnetB],
      ]) {
        const addr = JSON.parse(sh('ip', ['-j', 'addr', 'show', 'dev', net.Bridge]))[0];
        const v4 = addr.addr_info.filter((i: { family: string }) => i.family === 'inet');
        expect(v4.map((i: { local: string; prefixlen: number }) => `${i.local}/${i.prefixlen}`)).toEqual([
          `${net.IPAM.Config[0].Gateway}/${cidr.split('/')[1]}`,
        ]);
        const routes = JSON.parse(sh('ip', ['-j', '-4', 'route'])) as Array<{ dst: string; dev: string }>;
        expect(routes.filter((r) => r.dst === cidr).map((r) => r.dev)).toEqual([net.Bridge]); // its own, no other
        expect(sh('nft', ['list', 'chain', 'ip', 'minidock', `net-${net.Bridge}`])).toContain(`ip saddr ${cidr}`);
        expect(sh('nft', ['list', 'chain', 'ip', 'minidock', 'forward'])).toContain(
          `iifname "${net.Bridge}" oifname "minidock*" oifname != "${net.Bridge}" drop`,
        );
      }
      const ls = ok(['network', 'ls']);
      expect(ls.split('\n')[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SUBNET\s+BRIDGE\s+CONTAINERS$/);
      expect(ls).toMatch(
        new RegExp(
          `^${idA.slice(0, 12)}\\s+${A}\\s+bridge\\s+${subnetA.replace(/\./g, '\\.')}\\s+${a.Bridge}\\s+0$`,
          'm',
        ),
      );
      expect(ls).toMatch(/^\w{12}\s+bridge\s+bridge\s/m);
      expect(ls).toMatch(/^\w{12}\s+none\s+null\s/m);
      expect(ok(['network', 'ls', '-q']).split('\n')).toContain(idA.slice(0, 12));
      expect(inspectNet(idA.slice(0, 10)).Name).toBe(A); // by id prefix
    });

    it('refuses in one line: a name that exists, a built-in, a bad or taken subnet, a gateway outside it', () => {
      refused(['network', 'create', A], new RegExp(`^minidock: network ${A} already exists`));
      refused(['network', 'create', 'bridge'], /^minidock: network bridge is a built-in network: choose another name/);
      refused(
        ['network', 'create', '--subnet', '10.199.0.1/24', `${A}x`],
        /^minidock: invalid --subnet "10\.199\.0\.1\/24"/,
      );
      refused(
        ['network', 'create', '--subnet', subnetB, `${A}x`],
        /^minidock: --subnet .* overlaps this host's route .* \(dev minidock-/,
      );
      refused(
        ['network', 'create', '--subnet', '10.198.3.0/24', '--gateway', '10.198.4.1', `${A}x`],
        /^minidock: invalid --gateway "10\.198\.4\.1": give a host address inside 10\.198\.3\.0\/24/,
      );
      refused(['network', 'create', 'a/b'], /^minidock: invalid network name "a\/b"/);
      refused(
        ['run', '--network', `${A}nope`, './rootfs', '/bin/true'],
        new RegExp(`^minidock: no such network: ${A}nope — create it`),
      );
      refused(
        ['run', '--network', 'bridge', '--network-alias', 'x', './rootfs', '/bin/true'],
        /^minidock: --network-alias with --network bridge/,
      );
      refused(
        ['network', 'inspect', `${A}nope`],
        new RegExp(`^minidock: no such network: ${A}nope \\(see minidock network ls\\)`),
      );
      expect(md(['network', 'ls']).stdout).not.toContain(`${A}x`); // nothing of the refused creates
      expect(existsSync(join(root, 'networks', `${A}x.json`))).toBe(false);
    });

    it('two containers on one network reach each other by name, hostname and alias; hosts files follow joins and leaves; --add-host, --dns', async () => {
      const srv = httpd('srv', A, '--hostname', 'websrv', '--network-alias', 'db');
      try {
        const r = md([
          'run',
          '--rm',
          '--network',
          A,
          '--add-host',
          'static.example:192.0.2.10',
          '--add-host',
          'gw:host-gateway',
          '--dns',
          '192.0.2.53',
          './rootfs',
          '/bin/sh',
          '-c',
          'ping -c1 -W2 srv >/dev/null && ping -c1 -W2 websrv >/dev/null && wget -q -O- http://db/hostname && cat /etc/hosts /etc/resolv.conf',
        ]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const gateway = inspectNet(A).IPAM.Config[0].Gateway;
        const [served, ...files] = r.stdout.split('\n');
        expect(served).toBe('websrv'); // srv's /etc/hostname, served by srv, fetched by its alias
        const text = files.join('\n');
        expect(text).toMatch(/^192\.0\.2\.10\tstatic\.example$/m);
        expect(text).toMatch(new RegExp(`^${gateway.replace(/\./g, '\\.')}\\tgw$`, 'm'));
        expect(text).toMatch(
          new RegExp(`^${ipOf('srv').replace(/\./g, '\\.')}\\twebsrv srv db ${srv.slice(0, 12)}$`, 'm'),
        );
        expect(text).toMatch(/^nameserver 192\.0\.2\.53$/m);
        expect(text.match(/^nameserver /gm)).toHaveLength(1);
        // inspect: srv with its address and alias; the client (--rm) gone
        const c = inspectNet(A).Containers;
        expect(Object.keys(c)).toEqual([srv]);
        expect(c[srv]).toMatchObject({ Name: 'srv', IPv4Address: `${ipOf('srv')}/16`, Aliases: ['db'], Running: true });
        // a later member appears in srv's hosts file (rewritten in place under its bind mount), and leaves it
        const late = httpd('late', A);
        const hostsOfSrv = () => ok(['exec', 'srv', 'cat', '/etc/hosts']);
        expect(hostsOfSrv()).toMatch(new RegExp(`\\t${late.slice(0, 12)} late$`, 'm'));
        ok(['rm', '-f', 'late']);
        expect(hostsOfSrv()).not.toContain('late');
        expect(hostsOfSrv()).not.toContain(r.stdout.match(/\t([0-9a-f]{12})\n/)?.[1] ?? 'no client line'); // the --rm client left too
      } finally {
        ok(['rm', '-f', 'srv']);
      }
      expect(leasesOf(root, A)).toEqual({});
    });

    it('--add-host and --dns with --network none: the name files only, lo alone', () => {
      const out = ok([
        'run',
        '--rm',
        '--add-host',
        'db:192.0.2.7',
        '--dns',
        '192.0.2.53',
        './rootfs',
        '/bin/sh',
        '-c',
        'cat /etc/hosts /etc/resolv.conf; ls /sys/class/net',
      ]);
      expect(out).toMatch(/^192\.0\.2\.7\tdb$/m);
      expect(out).toMatch(/^nameserver 192\.0\.2\.53$/m);
      expect(out.trim().split('\n').pop()).toBe('lo');
    });

    it('two networks cannot reach each other (dropped by the forward rule); within one, they can', () => {
      httpd('other', B);
      httpd('srv2', A);
      try {
        const ipOther = ipOf('other');
        expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1'); // routed, were it not dropped
        // from B itself: reachable
        expect(md(['run', '--rm', '--network', B, './rootfs', 'ping', '-c1', '-W2', ipOther]).code).toBe(0);
        // from A: by address, dropped; by name, unknown
        const r = md(['run', '--rm', '--network', A, './rootfs', 'ping', '-c1', '-W2', ipOther]);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain('100% packet loss');
        const n = md(['run', '--rm', '--network', A, './rootfs', 'ping', '-c1', '-W1', 'other']);
        expect(n.code).toBe(1);
        expect(n.stderr).toMatch(/bad address 'other'/);
        // and the other way round, B to A's srv2
        expect(md(['run', '--rm', '--network', B, './rootfs', 'ping', '-c1', '-W2', ipOf('srv2')]).code).toBe(1);
        // the control: without the two networks' forward rules (each drops what leaves its bridge
        // for another minidock bridge: A's the request, B's the reply), A reaches B — so the drop
        // above is theirs, not the routing's or another table's; then the rules as they were
        const forward = () =>
          (
            JSON.parse(sh('nft', ['-a', '-j', 'list', 'chain', 'ip', 'minidock', 'forward'])).nftables as Array<{
              rule?: { handle: number; comment?: string };
            }>
          ).flatMap((o) => (o.rule ? [o.rule] : []));
        const bridges = [inspectNet(A).Bridge, inspectNet(B).Bridge];
        const mine = forward().filter((r) => bridges.some((b) => r.comment === `net=${b}`));
        expect(mine).toHaveLength(2);
        for (const r of mine) sh('nft', ['delete', 'rule', 'ip', 'minidock', 'forward', 'handle', String(r.handle)]);
        try {
          expect(md(['run', '--rm', '--network', A, './rootfs', 'ping', '-c1', '-W2', ipOther]).code).toBe(0);
        } finally {
          for (const b of bridges)
            sh('nft', [
              'add',
              'rule',
              'ip',
              'minidock',
              'forward',
              'iifname',
              b,
              'oifname',
              'minidock*',
              'oifname',
              '!=',
              b,
              'drop',
              'comment',
              `"net=${b}"`,
            ]);
        }
        expect(forward().filter((r) => bridges.some((b) => r.comment === `net=${b}`))).toHaveLength(2);
      } finally {
        ok(['rm', '-f', 'other', 'srv2']);
      }
    });

    it('network rm: refused while a container runs on it and for built-ins; a stopped container does not hold it', async () => {
      httpd('holder', A);
      try {
        refused(
          ['network', 'rm', A],
          new RegExp(`^minidock: network ${A} has 1 running container\\(s\\) attached \\(holder\\): remove them first`),
        );
        refused(['network', 'rm', 'bridge'], /^minidock: network bridge is a built-in network: it cannot be removed/);
        refused(['network', 'rm', 'none'], /^minidock: network none is a built-in network/);
        refused(['network', 'rm', `${A}nope`], /^minidock: no such network/);
        expect(inspectNet(A).Bridge).toBeTruthy();
      } finally {
        ok(['rm', '-f', 'holder']);
      }
      // a kept container that exited still holds its lease (until rm or gc); network rm releases it
      const id = ok(['run', '-d', '--network', B, './rootfs', '/bin/true']).trim();
      await waitFor(
        () => JSON.parse(ok(['inspect', id]))[0].State.Status === 'exited',
        10_000,
        'the container to exit',
      );
      expect(Object.keys(inspectNet(B).Containers)).toEqual([id]);
      const bridgeB = inspectNet(B).Bridge;
      expect(ok(['network', 'rm', B])).toBe(`${B}\n`);
      expect(spawnSync('ip', ['link', 'show', bridgeB], { stdio: 'ignore' }).status).not.toBe(0);
      expect(
        spawnSync('nft', ['list', 'chain', 'ip', 'minidock', `net-${bridgeB}`], { stdio: 'ignore' }).status,
      ).not.toBe(0);
      ok(['rm', id]);
      ok(['network', 'create', '--subnet', subnetB, B]); // for the next test
    });

    it('a minidock SIGKILLed mid-launch (lease and hosts line taken; veth made) leaves nothing once gc has run', async () => {
      const peer = httpd('peer', A);
      const bridgeA = inspectNet(A).Bridge;
      const portsOf = (bridge: string) =>
        (JSON.parse(sh('ip', ['-j', 'link'])) as Array<{ ifname: string; master?: string }>)
          .filter((l) => l.master === bridge)
          .map((l) => l.ifname);
      try {
        for (const phase of ['clone', 'join']) {
          const r = md(['run', '--name', `ghost-${phase}`, '--network', A, './rootfs', '/bin/sleep', SLEEP], {
            MINIDOCK_TEST_KILL_AT: phase,
          });
          expect(r.signal, phase).toBe('SIGKILL');
          const leases = () => leasesOf(root, A);
          expect(Object.keys(leases()), phase).toHaveLength(2); // peer's and the ghost's
          expect(ok(['exec', 'peer', 'cat', '/etc/hosts']), phase).toContain(`ghost-${phase}`);
          await waitFor(() => pidsMatching(`/bin/sleep ${SLEEP}`).length === 0, 10_000, 'the ghost to die');
          const gc = md(['gc']);
          expect(gc.code, phase).toBe(0);
          expect(gc.stdout, phase).toMatch(new RegExp(`lease 10\\.\\d+\\.0\\.\\d+ on ${A}`));
          expect(Object.values(leases()), phase).toEqual([peer]);
          expect(ok(['exec', 'peer', 'cat', '/etc/hosts']), phase).not.toContain('ghost');
          expect(portsOf(bridgeA), phase).toEqual([`mdv${peer.slice(0, 12)}`]); // the ghost's veth went with its namespace
        }
      } finally {
        ok(['rm', '-f', 'peer']);
      }
      expect(portsOf(bridgeA)).toEqual([]); // no port left on A's bridge
    });

    it('network prune removes the unused networks; then the host is as before the file ran', () => {
      const out = ok(['network', 'prune']);
      expect(out.split('\n').slice(1).filter(Boolean).sort()).toEqual([A, B].sort());
      expect(ok(['network', 'prune'])).toBe('Nothing to prune\n');
      expect(hostNet(root)).toEqual(before);
    });
  },
);
