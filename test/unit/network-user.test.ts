// User-defined networks without root: the run flags of names (--network-alias, --add-host, --dns)
// and each misuse's one line, the hosts and resolv.conf text, an explicit --subnet against the
// host's routes, the bridge's name, ids, finding a network by name or id prefix, and the record
// `network create` makes (a second create of the name refused).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAddHost, parseNetworkFlags } from '../../src/runtime/network/flags';
import { createNetwork, readNetwork } from '../../src/runtime/network/ipam';
import { parseCidr } from '../../src/runtime/network/ipv4';
import { containerResolvConf, hostsText, resolveExtraHosts } from '../../src/runtime/network/names';
import {
  checkSubnetFree,
  findNetwork,
  networkId,
  userBridgeName,
  type NetworkView,
} from '../../src/runtime/network/user-networks';

const route = (cidr: string, oif?: number) => {
  const c = parseCidr(cidr)!;
  return { dst: c.addr, dstLen: c.len, oif };
};

describe('run flags of names', () => {
  it('--network-alias on a user-defined network; refused on the default bridge, none, host', () => {
    expect(parseNetworkFlags('front', [], undefined, { alias: ['db', 'db', 'cache.internal'] })).toMatchObject({
      mode: 'bridge',
      network: 'front',
      aliases: ['db', 'cache.internal'],
    });
    for (const mode of ['bridge', 'none', 'host', undefined])
      expect(() => parseNetworkFlags(mode, [], undefined, { alias: ['db'] })).toThrow(
        /^--network-alias with --network (bridge|none|host): aliases are names on a user-defined network \(minidock network create NAME/,
      );
    expect(() => parseNetworkFlags('front', [], undefined, { alias: ['-x'] })).toThrow(/^invalid --network-alias "-x"/);
  });

  it('--add-host NAME:IP (IPv4, IPv6 after the first colon, NAME=IP, host-gateway)', () => {
    expect(parseAddHost('db:10.0.0.5')).toEqual({ name: 'db', ip: '10.0.0.5' });
    expect(parseAddHost('v6:fd00::5')).toEqual({ name: 'v6', ip: 'fd00::5' });
    expect(parseAddHost('eq=192.0.2.1')).toEqual({ name: 'eq', ip: '192.0.2.1' });
    expect(parseAddHost('gw:host-gateway')).toEqual({ name: 'gw', ip: 'host-gateway' });
    for (const bad of ['db', 'db:', ':10.0.0.5', 'db:10.0.0.256', 'db:hello', 'a b:10.0.0.1'])
      expect(() => parseAddHost(bad), bad).toThrow(
        /^invalid --add-host ".*": use NAME:IP, e\.g\. --add-host db:10\.0\.0\.5/,
      );
  });

  it('--add-host and --dns with none give a spec of mode none (its name files); with host or container: refused', () => {
    expect(parseNetworkFlags(undefined, [], undefined, { addHost: ['db:10.0.0.5'] })).toEqual({
      mode: 'none',
      ports: [],
      extraHosts: [{ name: 'db', ip: '10.0.0.5' }],
    });
    expect(parseNetworkFlags('none', [], undefined, { dns: ['10.0.0.53'] })).toEqual({
      mode: 'none',
      ports: [],
      dns: ['10.0.0.53'],
    });
    expect(parseNetworkFlags('none', [], undefined, { addHost: [], dns: [] })).toBeUndefined(); // (commander's defaults)
    expect(() => parseNetworkFlags('host', [], undefined, { dns: ['10.0.0.53'] })).toThrow(
      /^--dns with --network host: that container's name files are not its own/,
    );
    expect(() => parseNetworkFlags('container:web', [], undefined, { addHost: ['a:10.0.0.1'] })).toThrow(
      /^--add-host with --network container:web/,
    );
    expect(() => parseNetworkFlags('none', [], undefined, { addHost: ['gw:host-gateway'] })).toThrow(
      /^--add-host NAME:host-gateway with --network none: only a bridge network has a gateway/,
    );
    expect(() => parseNetworkFlags('bridge', [], undefined, { dns: ['8.8.8'] })).toThrow(
      /^invalid --dns "8\.8\.8": give a nameserver's IP address/,
    );
    expect(parseNetworkFlags('bridge', [], undefined, { dns: ['2001:db8::53'] })?.dns).toEqual(['2001:db8::53']);
  });
});

describe('name files', () => {
  it('a hosts file: localhost, the --add-host lines, then the members', () => {
    expect(
      hostsText(
        [
          { ip: '10.86.0.2', names: ['web', 'db', '0123456789ab'] },
          { ip: '10.86.0.3', names: ['api'] },
        ],
        resolveExtraHosts(
          [
            { name: 'gw', ip: 'host-gateway' },
            { name: 'x', ip: '192.0.2.9' },
          ],
          '10.86.0.1',
        ),
      ),
    ).toBe(
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.86.0.1\tgw\n192.0.2.9\tx\n10.86.0.2\tweb db 0123456789ab\n10.86.0.3\tapi\n',
    );
  });
  it('resolv.conf with --dns: those nameservers instead of the host’s; search and options stay', () => {
    const host = 'search lan\nnameserver 10.0.0.1\noptions ndots:2\nnameserver 127.0.0.53\n';
    expect(containerResolvConf(host, ['192.0.2.53', '192.0.2.54'])).toBe(
      'search lan\noptions ndots:2\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n',
    );
    expect(containerResolvConf(host)).toBe('search lan\nnameserver 10.0.0.1\noptions ndots:2\n');
  });
});

describe('network create: subnet, bridge, id', () => {
  it('an explicit --subnet must not overlap a route of the host (the default route does not count)', () => {
    const links = [{ index: 2, name: 'eth0' }];
    expect(() =>
      checkSubnetFree('10.90.0.0/24', [route('0.0.0.0/0', 2), route('192.0.2.0/24', 2)], links),
    ).not.toThrow();
    expect(() => checkSubnetFree('10.90.0.0/24', [route('10.0.0.0/8', 2)], links)).toThrow(
      /^--subnet 10\.90\.0\.0\/24 overlaps this host's route 10\.0\.0\.0\/8 \(dev eth0\): choose a subnet no route covers/,
    );
    for (const bad of ['10.90.0.1/24', '10.90.0.0/31', '10.90.0.0', 'x'])
      expect(() => checkSubnetFree(bad, [], links), bad).toThrow(/^invalid --subnet/);
  });
  it('the bridge is minidock- and 6 hex digits: within IFNAMSIZ, and matched by the forward rules\' "minidock*"', () => {
    const id = 'ab'.repeat(32);
    expect(userBridgeName(id)).toBe('minidock-ababab');
    expect(userBridgeName(id).length).toBeLessThanOrEqual(15);
  });
  it('a built-in network has a stable id derived from its name', () => {
    expect(networkId({ name: 'bridge' })).toMatch(/^[0-9a-f]{64}$/);
    expect(networkId({ name: 'bridge' })).toBe(networkId({ name: 'bridge' }));
    expect(networkId({ name: 'bridge', id: 'f'.repeat(64) })).toBe('f'.repeat(64));
  });
  it('finds a network by name, full id or unique id prefix; unknown and ambiguous refs are one line', () => {
    const v = (name: string, id: string): NetworkView => ({
      name,
      id,
      driver: 'bridge',
      builtin: false,
      containers: [],
    });
    const views = [
      v('front', 'abc1'.padEnd(64, '0')),
      v('back', 'abc2'.padEnd(64, '0')),
      v('abc1', 'ffff'.padEnd(64, '0')),
    ];
    expect(findNetwork('/nonexistent', 'front', views).name).toBe('front');
    expect(findNetwork('/nonexistent', 'abc1', views).name).toBe('abc1'); // a name before an id prefix
    expect(findNetwork('/nonexistent', 'abc2', views).name).toBe('back');
    expect(() => findNetwork('/nonexistent', 'abc', views)).toThrow(
      /^network ID prefix "abc" is ambiguous: it matches front, back/,
    );
    expect(() => findNetwork('/nonexistent', 'nope', views)).toThrow(
      /^no such network: nope \(see minidock network ls\)$/,
    );
  });
});

describe('the record of network create', () => {
  let root = '';
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'minidock-unit-netuser-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('holds the id and the creation time; a second create of the name is refused, the default network adopted', () => {
    const id = 'c'.repeat(64);
    const net = createNetwork(root, { name: 'front', bridge: userBridgeName(id), routes: [], id });
    expect(net).toMatchObject({
      name: 'front',
      id,
      bridge: 'minidock-cccccc',
      subnet: '10.87.0.0/16',
      gateway: '10.87.0.1',
    });
    expect(readNetwork(root, 'front')?.created).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(() =>
      createNetwork(root, { name: 'front', bridge: 'minidock-dddddd', routes: [], id: 'd'.repeat(64) }),
    ).toThrow(/^network front already exists/);
    // ensureNetwork's create (no id): the record as it is
    expect(createNetwork(root, { name: 'front', bridge: 'x', routes: [] })).toEqual(readNetwork(root, 'front'));
    const other = createNetwork(root, {
      name: 'back',
      bridge: 'minidock-eeeeee',
      routes: [],
      subnet: '10.90.0.0/24',
      gateway: '10.90.0.254',
      id: 'e'.repeat(64),
    });
    expect(other).toMatchObject({ subnet: '10.90.0.0/24', gateway: '10.90.0.254' });
  });
});
