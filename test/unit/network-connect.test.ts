// network connect's pieces without root: which networks a container's record says it is on (the
// launch's, unless disconnected, then the connections of its current run), the host end's name, and
// the hosts files of containers on several networks (each lists the members of every network it is
// on, with the aliases it has on that network).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostIfName } from '../../src/runtime/network/bridge';
import { connectionIfName } from '../../src/runtime/network/connect';
import { writeHosts } from '../../src/runtime/network/names';
import { attachedNetworks, type NetworkRecord } from '../../src/runtime/network/records';

const ID = (c: string) => c.repeat(64);
const conn = (network: string, ip: string, pid = 100, more = {}) => ({
  network,
  ip,
  prefixLen: 24,
  gateway: ip.replace(/\.\d+$/, '.1'),
  hostIf: connectionIfName(ID('a'), `br-${network}`),
  ifName: 'eth1',
  pid,
  pidStart: 5,
  ...more,
});

describe('attachedNetworks', () => {
  const primary: NetworkRecord = {
    mode: 'bridge',
    network: 'front',
    ip: '10.86.0.2',
    prefixLen: 16,
    gateway: '10.86.0.1',
    hostIf: 'mdvaaaaaaaaaaaa',
    ports: [],
    aliases: ['web'],
  };
  it("the launch's network first, then the connections of the current run only", () => {
    const rec = { ...primary, connected: [conn('back', '10.90.0.3'), conn('old', '10.91.0.3', 99)] };
    expect(attachedNetworks(rec, { pid: 100, pidStart: 5 }).map((n) => [n.network, n.ip, n.primary])).toEqual([
      ['front', '10.86.0.2', true],
      ['back', '10.90.0.3', false],
    ]);
    expect(attachedNetworks(rec).map((n) => n.network)).toEqual(['front', 'back', 'old']); // no state: all recorded
    expect(attachedNetworks(rec, { pid: 100, pidStart: 6 }).map((n) => n.network)).toEqual(['front']); // pid reused
  });
  it('a disconnected launch network, a none record with a connection, host mode, no record', () => {
    expect(attachedNetworks({ ...primary, disconnected: true }, { pid: 100, pidStart: 5 })).toEqual([]);
    expect(
      attachedNetworks({ mode: 'none', ports: [], connected: [conn('back', '10.90.0.4')] }, { pid: 100, pidStart: 5 }),
    ).toMatchObject([{ network: 'back', ip: '10.90.0.4', primary: false }]);
    expect(attachedNetworks({ mode: 'host', ports: [] })).toEqual([]);
    expect(attachedNetworks(undefined)).toEqual([]);
  });
});

describe('connectionIfName', () => {
  it('15 characters (IFNAMSIZ - 1), mdn + 8 of the id + 4 of the bridge: one per (container, network)', () => {
    const a = connectionIfName(ID('a'), 'minidock-123456');
    expect(a).toMatch(/^mdnaaaaaaaa[0-9a-f]{4}$/);
    expect(a).toHaveLength(15);
    expect(connectionIfName(ID('a'), 'minidock-654321')).not.toBe(a);
    expect(connectionIfName(ID('a'), 'minidock0')).not.toBe(hostIfName(ID('a')));
  });
});

describe('writeHosts with a container on two networks', () => {
  let root = '';
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'md-connect-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const network = (name: string, subnet: string, leases: Record<string, string>) => {
    mkdirSync(join(root, 'networks'), { recursive: true });
    const l = Object.fromEntries(Object.entries(leases).map(([ip, c]) => [ip, { container: ID(c), since: 'x' }]));
    writeFileSync(
      join(root, 'networks', `${name}.json`),
      JSON.stringify({ name, bridge: `br-${name}`, subnet, gateway: subnet.replace(/0\/24$/, '1'), leases: l }),
    );
  };
  const container = (c: string, name: string, rec: NetworkRecord) => {
    const dir = join(root, 'containers', ID(c));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ name, spec: { hostname: `h${c}` } }));
    writeFileSync(join(dir, 'network.json'), JSON.stringify(rec));
  };
  const hosts = (c: string) => readFileSync(join(root, 'containers', ID(c), 'hosts'), 'utf8');
  const bridgeRec = (network: string, ip: string, aliases?: string[]): NetworkRecord => ({
    mode: 'bridge',
    network,
    ip,
    prefixLen: 24,
    gateway: ip.replace(/\.\d+$/, '.1'),
    ports: [],
    ...(aliases ? { aliases } : {}),
  });

  it('each member lists the members of every network it is on, with the aliases it has there', () => {
    network('front', '10.1.0.0/24', { '10.1.0.2': 'x', '10.1.0.3': 'z' });
    network('back', '10.2.0.0/24', { '10.2.0.2': 'y', '10.2.0.3': 'x' });
    container('x', 'ex', {
      ...bridgeRec('front', '10.1.0.2', ['xf']),
      connected: [conn('back', '10.2.0.3', 1, { aliases: ['xb'] })],
    });
    container('y', 'why', bridgeRec('back', '10.2.0.2'));
    container('z', 'zed', bridgeRec('front', '10.1.0.3'));
    writeHosts(root, 'back');
    const x = hosts('x');
    expect(x).toContain(`10.1.0.2\thx ex xf ${ID('x').slice(0, 12)}`);
    expect(x).toContain(`10.1.0.3\thz zed ${ID('z').slice(0, 12)}`);
    expect(x).toContain(`10.2.0.2\thy why ${ID('y').slice(0, 12)}`);
    expect(x).toContain(`10.2.0.3\thx ex xb ${ID('x').slice(0, 12)}`);
    const y = hosts('y');
    expect(y).toContain(`10.2.0.3\thx ex xb ${ID('x').slice(0, 12)}`);
    expect(y).not.toContain('10.1.0.');
    expect(y).not.toContain('xf');
  });

  it('`also`: a container that left the network gets its hosts file without it', () => {
    network('front', '10.1.0.0/24', { '10.1.0.2': 'x' });
    network('back', '10.2.0.0/24', { '10.2.0.2': 'y' });
    container('x', 'ex', bridgeRec('front', '10.1.0.2'));
    container('y', 'why', bridgeRec('back', '10.2.0.2'));
    writeFileSync(join(root, 'containers', ID('x'), 'hosts'), '10.2.0.3\tex\n');
    writeHosts(root, 'back', [ID('x')]);
    expect(hosts('x')).not.toContain('10.2.0.');
    expect(hosts('x')).toContain('10.1.0.2\thx ex');
    expect(hosts('y')).not.toContain('ex');
  });
});
