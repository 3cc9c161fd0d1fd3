// -P, --expose and --mac-address (issue 17): parsing, the exposed set (the image's ExposedPorts kept
// by import, --expose), the host ports -P picks (with the host's state injected), and the refusals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseImageConfig } from '../../src/image/config';
import { exposedKeys, parseExpose, parseMac, parseNetworkFlags } from '../../src/runtime/network/flags';
import { canBind, ephemeralRange, publishAllPorts } from '../../src/runtime/network/ports';
import { minidockError } from '../helpers';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('--mac-address', () => {
  it('six hex pairs (colons or dashes, any case) as the 6 bytes IFLA_ADDRESS carries', () => {
    expect(hex(parseMac('02:42:ac:11:00:02'))).toBe('0242ac110002');
    expect(hex(parseMac('02-42-AC-11-00-FF'))).toBe('0242ac1100ff');
  });
  it.each([
    ['zz', /invalid --mac-address "zz": use six hex pairs/],
    ['02:42:ac:11:00', /six hex pairs/],
    ['02:42:ac:11:00:02:03', /six hex pairs/],
    ['0242ac110002', /six hex pairs/],
    ['01:00:5e:00:00:01', /multicast address/],
    ['ff:ff:ff:ff:ff:ff', /multicast address/],
    ['00:00:00:00:00:00', /all zeros/],
  ])('%s is refused in one line', (raw, why) => {
    expect(minidockError(() => parseMac(raw)).message).toMatch(why);
  });
  it('implies a bridge like --ip; normalised to lower case; refused with none, host, container:', () => {
    expect(parseNetworkFlags(undefined, [], undefined, {}, { macAddress: '02:42:AC:11:00:02' })).toMatchObject({
      mode: 'bridge',
      network: 'bridge',
      mac: '02:42:ac:11:00:02',
    });
    expect(parseNetworkFlags('front', [], undefined, {}, { macAddress: '02:42:ac:11:00:02' })?.network).toBe('front');
    for (const mode of ['none', 'host', 'container:web'])
      expect(
        minidockError(() => parseNetworkFlags(mode, [], undefined, {}, { macAddress: '02:42:ac:11:00:02' })).message,
      ).toMatch(new RegExp(`--mac-address with --network ${mode}: only a bridge network`));
    // a malformed one is named first, whatever the mode
    expect(minidockError(() => parseNetworkFlags('host', [], undefined, {}, { macAddress: 'x' })).message).toMatch(
      /invalid --mac-address "x"/,
    );
  });
});

describe('--expose and the image ExposedPorts', () => {
  it('PORT, PORT/proto and ranges as 80/tcp keys', () => {
    expect(parseExpose('80')).toEqual(['80/tcp']);
    expect(parseExpose('53/udp')).toEqual(['53/udp']);
    expect(parseExpose('8000-8002/tcp')).toEqual(['8000/tcp', '8001/tcp', '8002/tcp']);
  });
  it.each(['0', '65536', '80/sctp', '90-80', 'http', '1-5000', ''])('--expose %j is refused in one line', (raw) => {
    expect(minidockError(() => parseExpose(raw)).message).toMatch(/^invalid --expose ".*": use PORT\[\/tcp\|udp\]/);
  });
  it("the image's keys: PORT is tcp, sctp and junk are left out", () => {
    expect(exposedKeys(['80/tcp', '53/udp', '8080', '132/sctp', 'x/tcp', '0/tcp', '70000'])).toEqual([
      '80/tcp',
      '53/udp',
      '8080/tcp',
    ]);
  });
  it('parseImageConfig keeps ExposedPorts (the keys; Docker writes {} for each)', () => {
    const text = (ports: unknown): string =>
      JSON.stringify({ config: { Cmd: ['x'], ExposedPorts: ports }, rootfs: { type: 'layers', diff_ids: [] } });
    expect(parseImageConfig(text({ '80/tcp': {}, '53/udp': {} }), 'c').config.ExposedPorts).toEqual({
      '80/tcp': {},
      '53/udp': {},
    });
    expect(parseImageConfig(text({}), 'c').config.ExposedPorts).toBeUndefined();
    expect(parseImageConfig(text(['80/tcp']), 'c').config.ExposedPorts).toBeUndefined();
    expect(parseImageConfig(text(null), 'c').config.ExposedPorts).toBeUndefined();
  });
});

describe('-P', () => {
  it("implies a bridge like -p, with the image's and --expose's ports (deduplicated); none/host refused", () => {
    const spec = parseNetworkFlags(
      undefined,
      [],
      undefined,
      {},
      { publishAll: true, imageExposed: ['80/tcp'], expose: ['80', '53/udp'] },
    );
    expect(spec).toMatchObject({ mode: 'bridge', publishAll: true, exposed: ['80/tcp', '53/udp'], ports: [] });
    // nothing exposed (a rootfs directory, an image without EXPOSE): a bridge, nothing to publish
    expect(parseNetworkFlags(undefined, [], undefined, {}, { publishAll: true })).toMatchObject({
      mode: 'bridge',
      publishAll: true,
      ports: [],
    });
    for (const mode of ['none', 'host'])
      expect(minidockError(() => parseNetworkFlags(mode, [], undefined, {}, { publishAll: true })).message).toMatch(
        `-P with --network ${mode}: published ports need a bridge network`,
      );
  });
  it('--expose alone publishes nothing and needs no network (Docker: it only records the port)', () => {
    expect(parseNetworkFlags(undefined, [], undefined, {}, { expose: ['80'] })).toBeUndefined();
  });
  it('a free host port of the range for each exposed port; -p wins for its port; taken and unbindable ports skipped', async () => {
    const spec = parseNetworkFlags(
      undefined,
      ['8080:80'],
      undefined,
      {},
      { publishAll: true, imageExposed: ['80/tcp', '443/tcp', '53/udp'] },
    )!;
    const tried: string[] = [];
    const ports = await publishAllPorts(spec, new Set(['40000/tcp', '40001/tcp']), [40000, 40003], async (p, proto) => {
      tried.push(`${p}/${proto}`);
      return !(p === 40002 && proto === 'tcp'); // bound by someone on the host
    });
    expect(ports).toHaveLength(2);
    const [https, dns] = ports;
    expect(https).toEqual({ hostPort: 40003, containerPort: 443, proto: 'tcp' });
    expect(dns.containerPort).toBe(53);
    expect(dns.proto).toBe('udp');
    expect(dns.hostPort).toBeGreaterThanOrEqual(40000);
    expect(dns.hostPort).toBeLessThanOrEqual(40003);
    expect(tried).not.toContain('40000/tcp'); // published by another container: not even tried
    expect(tried).not.toContain('40001/tcp');
  });
  it('two exposed ports never get the same host port; an exhausted range is one line naming -p', async () => {
    const spec = parseNetworkFlags(undefined, [], undefined, {}, { publishAll: true, expose: ['80', '81'] })!;
    const ports = await publishAllPorts(spec, new Set(), [50000, 50001], async () => true);
    expect(new Set(ports.map((p) => p.hostPort))).toEqual(new Set([50000, 50001]));
    const three = parseNetworkFlags(undefined, [], undefined, {}, { publishAll: true, expose: ['80-82'] })!;
    const e = await publishAllPorts(three, new Set(), [50000, 50001], async () => true).catch((x) => x);
    expect(e.message).toMatch(
      /^-P: no free host port for 82\/tcp in the ephemeral range 50000-50001 .* -p HOST:82\/tcp/,
    );
  });
  it('without -P nothing is picked', async () => {
    const spec = parseNetworkFlags('bridge', [], undefined, {}, { expose: ['80'] })!;
    expect(await publishAllPorts(spec, new Set(), [50000, 50001], async () => true)).toEqual([]);
  });
  it("the kernel's ephemeral range, and its default when the file is unreadable or odd", () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-range-'));
    try {
      writeFileSync(join(dir, 'r'), '32768\t60999\n');
      expect(ephemeralRange(join(dir, 'r'))).toEqual([32768, 60999]);
      writeFileSync(join(dir, 'r'), '1024 2048\n');
      expect(ephemeralRange(join(dir, 'r'))).toEqual([1024, 2048]);
      writeFileSync(join(dir, 'r'), '9000 10\n');
      expect(ephemeralRange(join(dir, 'r'))).toEqual([32768, 60999]);
      expect(ephemeralRange(join(dir, 'none'))).toEqual([32768, 60999]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('canBind: false for a port a listener holds, true once it is closed (tcp), udp too', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((res) => srv.listen(0, '0.0.0.0', () => res()));
    const port = (srv.address() as { port: number }).port;
    expect(await canBind(port, 'tcp')).toBe(false);
    await new Promise((res) => srv.close(res));
    expect(await canBind(port, 'tcp')).toBe(true);
    const { createSocket } = await import('node:dgram');
    const u = createSocket('udp4');
    await new Promise<void>((res) => u.bind(0, '0.0.0.0', () => res()));
    const uport = u.address().port;
    expect(await canBind(uport, 'udp')).toBe(false);
    await new Promise<void>((res) => u.close(() => res()));
  });
});
