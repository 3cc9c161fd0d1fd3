// run -P and --mac-address through the real CLI (issue 17), as root: an image imported from a Docker
// archive whose config has ExposedPorts {"80/tcp":{}} and busybox httpd as its Cmd, run -d -P: `port`
// and `ps` show a host port of the kernel's ephemeral range, and wget on the host fetches the page
// through it; --mac-address is eth0's MAC inside (`ip link show eth0`); -P with a rootfs directory
// publishes nothing and says nothing; a bad MAC is one line, exit 125, no container. After each
// test the links, addresses, the publish chain and the leases are what they were (and the mounts,
// cgroups, directories of useLeakCheckedRoot).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minidock, ROOTFS, useLeakCheckedRoot, waitFor } from '../helpers';
import { bridgeSnapshot, networkSkip } from '../network-helpers';
import { dockerArchiveMembers, makeTar, type FixtureConfig } from '../unit/image-fixtures';

const skip = networkSkip(['wget']);
/** Links (without the bridge, kept like docker0), addresses, the publish chain's rules, the leases. */
const netSnapshot = bridgeSnapshot;

describe.skipIf(skip)(`run -P and --mac-address${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let root = '';
  useLeakCheckedRoot((r) => (root = r));
  let bridgeBefore = false;
  let before: ReturnType<typeof netSnapshot>;
  let tarFile = '';

  beforeAll(() => {
    bridgeBefore = spawnSync('ip', ['link', 'show', 'minidock0'], { stdio: 'ignore' }).status === 0;
    // the busybox rootfs as one layer (GNU tar's end-of-archive blocks cut: makeTar's own follow)
    let base = execFileSync('tar', ['-C', ROOTFS, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
    while (base.length >= 512 && base.subarray(base.length - 512).every((b) => b === 0))
      base = base.subarray(0, base.length - 512);
    const layer = Buffer.concat([base, makeTar([{ path: 'www/index.html', body: 'exposed and published\n' }])]);
    const cfg = {
      Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', '/www'],
      ExposedPorts: { '80/tcp': {} },
    } as FixtureConfig; // (ExposedPorts: a field the fixtures' type does not list)
    tarFile = join(root, '..', `${root.split('/').pop()}-web.tar`);
    writeFileSync(tarFile, makeTar(dockerArchiveMembers([layer], cfg, 'web:1')));
    const imp = minidock(['import', tarFile, 'web:1'], { root });
    expect(imp.code, imp.stderr).toBe(0); // (its progress lines go to stderr)
    before = netSnapshot(root);
  });
  afterAll(async () => {
    rmSync(tarFile, { force: true });
    minidock(['rmi', 'web:1'], { root });
    if (!bridgeBefore) {
      const { removeNetworkNat } = await import('../../src/runtime/network/nft');
      try {
        removeNetworkNat('bridge');
      } catch {
        /* none */
      }
      spawnSync('ip', ['link', 'del', 'minidock0'], { stdio: 'ignore' });
    }
  });
  // (a --rm container's veth goes with its namespace, which the kernel tears down a moment after the
  // container's last process: launch.ts leaves it to it)
  const expectNetClean = async (): Promise<void> => {
    await waitFor(() => isDeepStrictEqual(netSnapshot(root), before), 5_000, 'the host network as before').catch(
      () => {},
    );
    expect(netSnapshot(root)).toEqual(before);
  };

  it('the image keeps ExposedPorts through import (image inspect)', () => {
    const img = JSON.parse(minidock(['image', 'inspect', 'web:1'], { root }).stdout);
    expect(JSON.stringify(img)).toContain('"ExposedPorts":{"80/tcp":{}}');
  });

  it('run -d -P IMAGE: port and ps show an ephemeral host port, wget on the host gets the page; --mac-address is eth0s; rm leaves nothing', async () => {
    const mac = '02:42:ac:11:00:2a';
    const r = minidock(['run', '-d', '-P', '--name', 'web', '--mac-address', mac, 'web:1'], { root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    try {
      const port = minidock(['port', 'web'], { root }).stdout;
      const m = /^80\/tcp -> 0\.0\.0\.0:(\d+)\n$/.exec(port);
      expect(m, `port web: ${port}`).not.toBeNull();
      const hostPort = Number(m![1]);
      const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
      expect(hostPort).toBeGreaterThanOrEqual(lo);
      expect(hostPort).toBeLessThanOrEqual(hi);
      const ps = JSON.parse(minidock(['ps', '--format', 'json'], { root }).stdout.trim());
      expect(ps.Ports).toBe(`0.0.0.0:${hostPort}->80/tcp`);
      const page = await waitFor(
        async () => {
          const w = spawnSync('wget', ['-q', '-O', '-', '-T', '2', `http://127.0.0.1:${hostPort}/index.html`], {
            encoding: 'utf8',
            timeout: 5_000,
          });
          return w.status === 0 ? w.stdout : undefined;
        },
        10_000,
        'httpd through the port -P published',
      );
      expect(page).toBe('exposed and published\n');
      const link = minidock(['exec', 'web', 'ip', 'link', 'show', 'eth0'], { root });
      expect(link.code).toBe(0);
      expect(link.stdout).toContain(`link/ether ${mac} `);
    } finally {
      expect(minidock(['rm', '-f', 'web'], { root }).code).toBe(0);
    }
    await expectNetClean();
  });

  it('-P with a rootfs directory (no image config): a bridge, nothing published, nothing said', async () => {
    const r = minidock(['run', '--rm', '-P', ROOTFS, '/bin/sh', '-c', 'ip -o -4 addr show eth0 | wc -l'], { root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('1'); // eth0 with an address: -P made it a bridge container
    const dry = minidock(['run', '--dry-run', '-P', ROOTFS, 'true'], { root });
    expect(dry.stdout).toContain('-P: no exposed ports');
    await expectNetClean();
  });

  it('a multicast or malformed --mac-address, or one without a bridge: one line, exit 125, no container', async () => {
    for (const [args, why] of [
      [['--mac-address', '01:00:5e:00:00:01'], /a multicast address/],
      [['--mac-address', '02:42:ac:11:00'], /invalid --mac-address "02:42:ac:11:00": use six hex pairs/],
      [['--network', 'none', '--mac-address', '02:42:ac:11:00:02'], /only a bridge network/],
    ] as const) {
      const r = minidock(['run', ...args, ROOTFS, 'true'], { root });
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(why);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(minidock(['ps', '-a', '-q'], { root }).stdout).toBe('');
    await expectNetClean();
  });
});
