// IPAM on a real state root in a temp directory: the subnet choice against routes, leases,
// release, gc's reclaim, and that every write leaves a whole file.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  allocate,
  chooseSubnet,
  createNetwork,
  listNetworks,
  readNetwork,
  reclaimLeases,
  release,
  removeNetwork,
  SUBNET_CANDIDATES,
} from '../../src/runtime/network/ipam';
import { parseCidr } from '../../src/runtime/network/ipv4';

const route = (cidr: string) => {
  const c = parseCidr(cidr)!;
  return { dst: c.addr, dstLen: c.len };
};

describe('chooseSubnet', () => {
  it('takes the first candidate when no route overlaps it; the default route is no collision', () => {
    expect(chooseSubnet([route('0.0.0.0/0'), route('192.0.2.0/24')], [])).toBe('10.87.0.0/16');
    expect(SUBNET_CANDIDATES[0]).toBe('10.87.0.0/16');
    expect(SUBNET_CANDIDATES).not.toContain('172.17.0.0/16');
    expect(SUBNET_CANDIDATES).not.toContain('10.88.0.0/16');
  });
  it('skips a candidate overlapped by a narrower route, a wider route, or another network', () => {
    expect(chooseSubnet([route('10.87.3.0/24')], [])).toBe('10.86.0.0/16');
    expect(chooseSubnet([route('10.0.0.0/8')], [], ['10.87.0.0/16', '172.30.0.0/16'])).toBe('172.30.0.0/16');
    expect(chooseSubnet([], ['10.87.0.0/16', '10.86.0.0/16'])).toBe('10.85.0.0/16');
  });
  it('says what to do when every candidate collides', () => {
    expect(() => chooseSubnet([route('10.0.0.0/8')], [])).toThrow(/overlaps a route of this host .* --subnet CIDR/);
  });
});

describe('leases', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'minidock-ipam-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const A = 'a'.repeat(64);
  const B = 'b'.repeat(64);
  const C = 'c'.repeat(64);

  it('creates a network once, with the gateway as the first host', () => {
    const n = createNetwork(root, { name: 'bridge', bridge: 'minidock0', routes: [route('10.87.0.0/24')] });
    expect(n).toMatchObject({ subnet: '10.86.0.0/16', gateway: '10.86.0.1', leases: {} });
    expect(createNetwork(root, { name: 'bridge', bridge: 'minidock0', routes: [] }).subnet).toBe('10.86.0.0/16');
    expect(() =>
      createNetwork(root, { name: 'other', bridge: 'minidock1', routes: [], subnet: '10.86.4.0/24' }),
    ).toThrow(/overlaps network bridge/);
    expect(() => createNetwork(root, { name: 'bad', bridge: 'x', routes: [], subnet: '10.1.2.3/24' })).toThrow(
      /invalid --subnet/,
    );
    expect(() => createNetwork(root, { name: '../x', bridge: 'x', routes: [] })).toThrow(/invalid network name/);
    expect(() =>
      createNetwork(root, { name: 'g', bridge: 'y', routes: [], subnet: '10.50.0.0/24', gateway: '10.51.0.1' }),
    ).toThrow(/invalid --gateway/);
    expect(listNetworks(root).map((x) => x.name)).toEqual(['bridge']);
  });

  const D = 'd'.repeat(64);
  const net = (name = 'n') => readNetwork(root, name, false)!;

  it('allocates the lowest free address, and --ip exactly', () => {
    createNetwork(root, { name: 'n', bridge: 'minidock1', routes: [], subnet: '10.90.0.0/29' }); // hosts .1-.6
    const n = net();
    expect(allocate(root, n, A)).toBe('10.90.0.2');
    expect(allocate(root, n, B, { ip: '10.90.0.5' })).toBe('10.90.0.5');
    expect(allocate(root, n, B, { ip: '10.90.0.5' })).toBe('10.90.0.5'); // a retried --ip
    expect(allocate(root, n, C)).toBe('10.90.0.3');
    expect(() => allocate(root, n, D, { ip: '10.90.0.5' })).toThrow(/already used by container bbbbbbbbbbbb/);
    expect(() => allocate(root, n, D, { ip: '10.90.0.1' })).toThrow(/not a free host address/); // the gateway
    expect(() => allocate(root, n, D, { ip: '10.90.0.7' })).toThrow(/not a free host address/); // broadcast
    expect(allocate(root, n, D)).toBe('10.90.0.4');
    expect(allocate(root, n, 'e'.repeat(64))).toBe('10.90.0.6');
    expect(() => allocate(root, n, 'f'.repeat(64))).toThrow(/has no free address/);
    expect(release(root, 'n', C, '10.90.0.3')).toEqual(['10.90.0.3']); // the address its record names
    expect(release(root, 'n', C)).toEqual([]);
    // the address named is B's, not D's: every lease is looked at, and B keeps its own
    expect(release(root, 'n', D, '10.90.0.5')).toEqual(['10.90.0.4']);
    expect(readNetwork(root, 'n')!.leases['10.90.0.5'].container).toBe(B);
    expect(allocate(root, n, 'f'.repeat(64))).toBe('10.90.0.3');
    expect(() => allocate(root, { ...n, name: 'nope' }, A)).toThrow(/no such network: nope/);
  });

  it('takes a lease without the lock; a missing leases directory is made, a removed network refused', () => {
    createNetwork(root, { name: 'n', bridge: 'minidock1', routes: [], subnet: '10.90.0.0/24' });
    const dir = join(root, 'networks', 'n.leases');
    expect(readdirSync(dir)).toEqual([]); // made with the network
    // an address taken by somebody else since the listing: O_EXCL refuses it, the next one is taken
    writeFileSync(join(dir, '10.90.0.2'), '');
    expect(allocate(root, net(), A)).toBe('10.90.0.3');
    rmSync(dir, { recursive: true });
    expect(allocate(root, net(), B)).toBe('10.90.0.2'); // (the directory made again, under the lock)
    expect(readdirSync(dir)).toEqual(['10.90.0.2']);
    const n = net();
    release(root, 'n', B, '10.90.0.2');
    removeNetwork(root, 'n');
    expect(() => allocate(root, n, C)).toThrow(/no such network: n/);
    expect(readdirSync(join(root, 'networks'))).toEqual([]);
  });

  it('reclaims the leases of containers that no longer exist, and only those', () => {
    createNetwork(root, { name: 'n', bridge: 'minidock1', routes: [], subnet: '10.90.0.0/24' });
    allocate(root, net(), A);
    allocate(root, net(), B);
    const got = reclaimLeases(root, (id) => id === A);
    expect(got).toEqual([{ network: 'n', ip: '10.90.0.3', container: B }]);
    expect(Object.keys(readNetwork(root, 'n')!.leases)).toEqual(['10.90.0.2']);
    expect(reclaimLeases(root, () => true)).toEqual([]);
  });

  it('keeps each lease in a file of its own, and moves the leases an older minidock kept in NAME.json', () => {
    createNetwork(root, { name: 'n', bridge: 'minidock1', routes: [], subnet: '10.90.0.0/24' });
    expect(allocate(root, net(), A)).toBe('10.90.0.2');
    const file = join(root, 'networks', 'n.leases', '10.90.0.2');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ container: A });
    // an older state root: the leases inside the network's file
    const json = join(root, 'networks', 'n.json');
    const old = {
      ...JSON.parse(readFileSync(json, 'utf8')),
      leases: { '10.90.0.3': { container: B, since: '' }, '10.90.0.7': { container: B, since: '' } },
    };
    writeFileSync(json, JSON.stringify(old));
    expect(Object.keys(readNetwork(root, 'n')!.leases).sort()).toEqual(['10.90.0.2', '10.90.0.3', '10.90.0.7']); // counted
    expect(JSON.parse(readFileSync(json, 'utf8')).leases).toBeDefined(); // (reading moves nothing)
    expect(allocate(root, net(), C)).toBe('10.90.0.4'); // a launch's read moved them first, under the lock
    expect(JSON.parse(readFileSync(json, 'utf8')).leases).toBeUndefined();
    expect(readdirSync(join(root, 'networks', 'n.leases')).sort()).toEqual([
      '10.90.0.2',
      '10.90.0.3',
      '10.90.0.4',
      '10.90.0.7',
    ]);
    expect(release(root, 'n', B).sort()).toEqual(['10.90.0.3', '10.90.0.7']);
  });

  it('refuses to remove a network in use, removes it when free; leaves no temp file behind', () => {
    createNetwork(root, { name: 'n', bridge: 'minidock1', routes: [], subnet: '10.90.0.0/24' });
    allocate(root, net(), A);
    expect(() => removeNetwork(root, 'n')).toThrow(/in use by aaaaaaaaaaaa/);
    release(root, 'n', A);
    expect(readNetwork(root, 'n')!.leases).toEqual({});
    expect(JSON.parse(readFileSync(join(root, 'networks', 'n.json'), 'utf8')).leases).toBeUndefined(); // a file per lease
    removeNetwork(root, 'n');
    expect(readdirSync(join(root, 'networks'))).toEqual([]);
    expect(() => removeNetwork(root, 'n')).toThrow(/no such network/);
  });
});
