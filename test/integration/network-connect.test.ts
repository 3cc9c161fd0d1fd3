import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { leasesOf, minidock, useLeakCheckedRoot, waitFor } from '../helpers';
import { cliOn, hostLinks, minidockRuleset, networkSkip, sh } from '../network-helpers';

const skip = networkSkip();

/** The host as minidock may change it: links (but minidock0, shared with other test files), the
 * minidock nft table without handles, and the leases of every network of the state root. */
function hostNet(root: string) {
  const links = hostLinks();
  const ruleset = minidockRuleset();
  const dir = join(root, 'networks');
  const leases = existsSync(dir)
    ? Object.fromEntries(
        readdirSync(dir)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => [f, leasesOf(root, f.slice(0, -5))]),
      )
    : {};
  return { links, ruleset, leases };
}

const tag = Math.floor(Math.random() * 0xfffff).toString(16);
const A = `c${tag}a`;
const B = `c${tag}b`;

describe.skipIf(skip)(`network connect / disconnect${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let root = '';
  useLeakCheckedRoot((r) => (root = r));
  let fileBefore: ReturnType<typeof hostNet>;
  let testBefore: ReturnType<typeof hostNet>;
  const { md, ok, refused } = cliOn(() => root);
  const sleeper = (name: string, ...net: string[]) =>
    ok(['run', '-d', '--name', name, ...net, './rootfs', '/bin/sleep', '600']).trim();
  const settings = (ctr: string) => JSON.parse(ok(['inspect', ctr]))[0].NetworkSettings;
  const ipOn = (ctr: string, net: string): string => settings(ctr).Networks[net].IPAddress;
  const ping = (from: string, to: string) => md(['exec', from, 'ping', '-c', '1', '-W', '2', to]);
  const gatewayOf = (net: string): string => JSON.parse(ok(['network', 'inspect', net]))[0].IPAM.Config[0].Gateway;

  beforeAll(() => {
    fileBefore = hostNet(root);
    const routes = sh('ip', ['-4', 'route']);
    const third = [9, 99, 199, 209].find((n) => !routes.includes(`10.198.${n}.`) && !routes.includes('10.198.0.0/16'));
    ok(['network', 'create', A]);
    ok(['network', 'create', '--subnet', `10.198.${third}.0/24`, B]);
  });
  afterAll(() => {
    for (const id of minidock(['ps', '-aq'], { root }).stdout.split('\n').filter(Boolean))
      minidock(['rm', '-f', id], { root });
    for (const n of [A, B]) minidock(['network', 'rm', n], { root });
    expect(hostNet(root)).toEqual(fileBefore); // no bridge, veth, rule or record of this file left
  });
  beforeEach(() => {
    testBefore = hostNet(root);
  });
  afterEach(() => {
    for (const id of minidock(['ps', '-aq'], { root }).stdout.split('\n').filter(Boolean))
      minidock(['rm', '-f', id], { root });
    expect(hostNet(root)).toEqual(testBefore);
  });

  it('connect: eth1 in the running container, names both ways, one default route, isolation kept; disconnect: unreachable; the last: only lo', () => {
    sleeper('x', '--network', A);
    sleeper('y', '--network', B, '--network-alias', 'why');
    sleeper('z', '--network', A);
    const yIp = ipOn('y', B);
    expect(ping('x', yIp).code, 'x cannot reach B before connect').not.toBe(0);

    ok(['network', 'connect', '--alias', 'ex', B, 'x']);
    const xOnB = ipOn('x', B);
    expect(ok(['exec', 'x', 'ip', '-o', '-4', 'addr', 'show', 'eth1'])).toContain(`inet ${xOnB}/24`);
    const routes = ok(['exec', 'x', 'ip', 'route']);
    expect(routes.split('\n').filter((l) => l.startsWith('default'))).toEqual([
      expect.stringContaining(`default via ${gatewayOf(A)} dev eth0`),
    ]);
    for (const to of ['y', 'why', yIp]) expect(ping('x', to).code, `x -> ${to}`).toBe(0);
    for (const to of ['x', 'ex']) {
      const r = ping('y', to);
      expect(r.code, `y -> ${to}`).toBe(0);
      expect(r.stdout).toContain(`(${xOnB})`);
    }
    expect(ping('z', yIp).code, 'z, on A only, still cannot reach B').not.toBe(0);
    expect(Object.keys(settings('x').Networks).sort()).toEqual([A, B].sort());
    const ps = ok(['ps', '--format', 'json'])
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(ps.find((c) => c.Names === 'x').Networks).toBe(`${A},${B}`);
    const members = JSON.parse(ok(['network', 'inspect', B]))[0].Containers;
    expect(
      Object.values(members)
        .map((m) => (m as { Name: string }).Name)
        .sort(),
    ).toEqual(['x', 'y']);

    ok(['network', 'disconnect', B, 'x']);
    expect(md(['exec', 'x', 'ip', 'link', 'show', 'eth1']).code).not.toBe(0);
    expect(ping('x', 'y').stderr + ping('x', 'y').stdout).toMatch(/bad address/);
    expect(ping('x', yIp).code, 'x -> y by address after disconnect').not.toBe(0);
    expect(ok(['exec', 'y', 'cat', '/etc/hosts'])).not.toMatch(/\bex\b/);
    expect(Object.keys(settings('x').Networks)).toEqual([A]);

    ok(['network', 'disconnect', A, 'x']);
    expect(ok(['exec', 'x', 'ip', '-o', 'link']).trim().split('\n')).toHaveLength(1);
    expect(ok(['exec', 'x', 'ip', '-o', 'link'])).toMatch(/^1: lo:/);
    expect(settings('x').Networks).toEqual({});
    expect(ping('z', 'x').code).not.toBe(0);
  });

  it('a container launched without a network: connect gives it eth0 and the default route; rm releases it all', () => {
    sleeper('n');
    sleeper('y', '--network', B);
    const r = md(['network', 'connect', B, 'n']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/no \/etc\/hosts of minidock's/);
    expect(ok(['exec', 'n', 'ip', 'route'])).toContain(`default via ${gatewayOf(B)} dev eth0`);
    expect(ping('n', ipOn('y', B)).code).toBe(0);
    expect(ping('y', 'n').code).toBe(0);
    ok(['rm', '-f', 'n']);
    expect(ok(['exec', 'y', 'cat', '/etc/hosts'])).not.toMatch(/\bn\b/);
  });

  it('a connection lasts for the run: after a restart it is not shown, gc releases its lease, connect works again', () => {
    sleeper('n');
    const n = JSON.parse(ok(['inspect', 'n']))[0].Id as string;
    md(['network', 'connect', B, 'n']);
    const leasesB = () => Object.values(hostNet(root).leases[`${B}.json`]);
    expect(leasesB()).toEqual([n]);
    ok(['restart', '-t', '0', 'n']);
    expect(settings('n').Networks ?? {}).toEqual({}); // a new namespace: only lo in it
    expect(ok(['exec', 'n', 'ip', '-o', 'link']).trim().split('\n')).toHaveLength(1);
    const gc = md(['gc']);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(new RegExp(`lease 10\\.198\\.\\d+\\.\\d+ on ${B} \\(a connection of an earlier run`));
    expect(leasesB()).toEqual([]);
    expect(md(['network', 'connect', B, 'n']).code).toBe(0);
    expect(Object.keys(settings('n').Networks)).toEqual([B]);
  });

  it('bad input: one line, exit 125, nothing made', async () => {
    sleeper('x', '--network', A);
    ok(['run', '-d', '--name', 's', '--network', A, './rootfs', '/bin/true']);
    await waitFor(() => JSON.parse(ok(['inspect', 's']))[0].State.Status === 'exited', 10_000, 's to exit');
    sleeper('h', '--network', 'host');
    const snap = hostNet(root);
    refused(['network', 'connect', 'nosuch-net', 'x'], /no such network: nosuch-net/);
    refused(['network', 'connect', B, 'nosuch-ctr'], /no such container: nosuch-ctr/);
    refused(['network', 'connect', A, 'x'], /already connected to network/);
    refused(['network', 'disconnect', B, 'x'], /not connected to network/);
    refused(['network', 'connect', 'host', 'x'], /network host is a mode/);
    refused(['network', 'connect', B, 's'], /not running/);
    refused(['network', 'disconnect', A, 's'], /not running/);
    refused(['network', 'connect', B, 'h'], /cannot be connected/);
    refused(['network', 'connect', '--alias', 'al', 'bridge', 'x'], /--alias/);
    refused(['network', 'connect', '--ip', '192.0.2.9', B, 'x'], /--ip 192\.0\.2\.9 is not a free host address/);
    expect(hostNet(root)).toEqual(snap);
  });

  it('SIGKILL: of minidock mid-connect (rm undoes it), of a connected container (gc undoes it)', async () => {
    sleeper('x', '--network', A);
    const r = md(['network', 'connect', B, 'x'], { MINIDOCK_TEST_KILL_AT: 'connect' });
    expect(r.signal).toBe('SIGKILL');
    const leasesB = () => Object.values(hostNet(root).leases[`${B}.json`]);
    expect(leasesB()).toHaveLength(1); // the lease was taken and recorded; the veth was not made
    ok(['rm', '-f', 'x']);
    expect(leasesB()).toEqual([]);

    const x2 = sleeper('x2', '--network', A);
    ok(['network', 'connect', B, 'x2']);
    const pid = JSON.parse(ok(['inspect', 'x2']))[0].State.Pid as number;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => JSON.parse(ok(['inspect', 'x2']))[0].State.Status !== 'running', 10_000, 'x2 to die');
    // the namespace died with its last process, both veths with it; the leases stay until gc
    expect(hostNet(root).links).toEqual(testBefore.links);
    expect(leasesB()).toEqual([x2]);
    const gc = md(['gc']);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(new RegExp(`lease 10\\.198\\.\\d+\\.\\d+ on ${B}`));
    expect(leasesB()).toEqual([]);
  });
});
