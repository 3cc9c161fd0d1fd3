// The nftables side as text: -p parsing, the scripts minidock applies, reading `nft -a -j` back,
// and the ip_forward switch on a stand-in file. test/integration/network-bridge.test.ts applies
// the same scripts to the real kernel.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  deleteScript,
  ensureIpForward,
  formatPublish,
  networkScript,
  parsePublish,
  parseRules,
  publishScript,
  tableScript,
} from '../../src/runtime/network/nft';

describe('-p [IP:]HOST:CONTAINER[/tcp|udp]', () => {
  it('parses the three forms', () => {
    expect(parsePublish('8080:80')).toEqual({ hostIp: undefined, hostPort: 8080, containerPort: 80, proto: 'tcp' });
    expect(parsePublish('127.0.0.1:8080:80/udp')).toEqual({
      hostIp: '127.0.0.1',
      hostPort: 8080,
      containerPort: 80,
      proto: 'udp',
    });
    expect(formatPublish(parsePublish('127.0.0.1:53:5353/udp'))).toBe('127.0.0.1:53:5353/udp');
  });
  it.each([
    ['80', /give both ports/],
    ['8080:80/sctp', /tcp or udp/],
    ['8080:0', /container port must be a number from 1 to 65535/],
    ['70000:80', /host port must be/],
    ['localhost:8080:80', /localhost is not an IPv4 address/],
    ['1:2:3:4', /give both ports/],
  ])('refuses %s with one line naming the form', (spec, why) => {
    expect(() => parsePublish(spec)).toThrow(why);
    expect(() => parsePublish(spec)).toThrow(/the form is \[IP:\]HOST_PORT:CONTAINER_PORT/);
  });
});

describe('the scripts', () => {
  it('creates the table with create (fails as a whole when it exists) and jumps to publish only for local destinations', () => {
    const t = tableScript();
    expect(t.split('\n')[0]).toBe('create table ip minidock');
    expect(t).toContain('add rule ip minidock prerouting fib daddr type local jump publish');
    expect(t).toContain('add rule ip minidock output fib daddr type local jump publish');
    expect(t).toContain('hook prerouting priority raw');
  });
  it('gives a network its masquerade, its localhost masquerade, the 127/8 guard and the isolation rule, all tagged', () => {
    const s = networkScript({ name: 'bridge', bridge: 'minidock0', subnet: '10.87.0.0/16' });
    expect(s.split('\n')).toEqual([
      'create chain ip minidock net-bridge',
      'add rule ip minidock net-bridge ip saddr 10.87.0.0/16 oifname != "minidock0" masquerade',
      'add rule ip minidock net-bridge ip saddr 127.0.0.0/8 oifname "minidock0" masquerade',
      'add rule ip minidock postrouting jump net-bridge comment "net=bridge"',
      'add rule ip minidock raw iifname "minidock0" ip daddr 127.0.0.0/8 drop comment "net=bridge"',
      'add rule ip minidock forward iifname "minidock0" oifname "minidock*" oifname != "minidock0" drop comment "net=bridge"',
      '',
    ]);
  });
  it('publishes each port with a DNAT rule tagged with the container and the port', () => {
    const id = 'f'.repeat(64);
    expect(publishScript(id, '10.87.0.2', [parsePublish('8080:80'), parsePublish('127.0.0.1:5353:53/udp')])).toBe(
      `add rule ip minidock publish tcp dport 8080 dnat to 10.87.0.2:80 comment "ctr=${id} 8080/tcp"\n` +
        `add rule ip minidock publish ip daddr 127.0.0.1 udp dport 5353 dnat to 10.87.0.2:53 comment "ctr=${id} 5353/udp"\n`,
    );
  });
  it('reads handles, comments and jumps from nft -a -j (output of nft 1.0.6) and deletes by handle', () => {
    // captured: nft -a -j list table ip minidock, after tableScript, a network "bridge" and one port
    const json = readFileSync(join(__dirname, 'network-nft.fixture.json'), 'utf8');
    const rules = parseRules(json);
    expect(rules).toEqual([
      { chain: 'prerouting', handle: 7, comment: undefined, jump: 'publish' },
      { chain: 'output', handle: 8, comment: undefined, jump: 'publish' },
      { chain: 'publish', handle: 12, comment: 'ctr=abc 8080/tcp', jump: undefined },
      { chain: 'postrouting', handle: 11, comment: 'net=bridge', jump: 'net-bridge' },
      { chain: 'net-bridge', handle: 10, comment: undefined, jump: undefined },
    ]);
    expect(deleteScript([rules[3]], ['net-bridge'])).toBe(
      'delete rule ip minidock postrouting handle 11\ndelete chain ip minidock net-bridge\n',
    );
  });
});

describe('ip_forward', () => {
  it('is turned on only when off, and the change is reported once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'minidock-fwd-'));
    const f = join(dir, 'ip_forward');
    try {
      writeFileSync(f, '0\n');
      expect(ensureIpForward(f)).toMatch(/was 0: minidock set it to 1 .*\(sysctl -w net\.ipv4\.ip_forward=0/);
      expect(readFileSync(f, 'utf8')).toBe('1');
      expect(ensureIpForward(f)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
