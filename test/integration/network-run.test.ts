// The network modes through the real CLI: -p 8080:80 serving busybox httpd to the host's
// 127.0.0.1, a container reaching a server in a namespace this test makes through the NAT, two
// containers on the default bridge reaching each other, --network none unchanged, host, container:.
// After each test, `ip -j link`, `ip -j addr`, `nft -j list ruleset` and the lease file are what
// they were before (besides the usual mounts/cgroups/directories of useLeakCheckedRoot).
// No traffic leaves the machine: every address is in namespaces the test (or minidock) makes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeCaches, minidock, minidockAsync, ROOTFS, useLeakCheckedRoot, waitFor } from '../helpers';
import { bridgeSnapshot, networkSkip, sh } from '../network-helpers';
import { writeHosts } from '../../src/runtime/network/names';

const skip = networkSkip(['unshare', 'nsenter']);
/** Links (without the bridge: made once and kept, like docker0), addresses, the publish chain's rules, the leases. */
const netSnapshot = bridgeSnapshot;

const PORT = 18080 + Math.floor(Math.random() * 1000);

describe.skipIf(skip)(`network modes through minidock run${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let root = '';
  useLeakCheckedRoot((r) => (root = r));
  /** `script` run by sh in a --rm container on the default bridge */
  const onBridge = (script: string) =>
    minidock(['run', '--rm', '--network', 'bridge', ROOTFS, '/bin/sh', '-c', script], { root });
  let bridgeBefore = false;
  const children: ChildProcess[] = [];
  let before: ReturnType<typeof netSnapshot>;

  beforeAll(() => {
    bridgeBefore = spawnSync('ip', ['link', 'show', 'minidock0'], { stdio: 'ignore' }).status === 0;
    before = netSnapshot(root);
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    // the bridge and its NAT rules are kept like docker0; a bridge this file made goes again
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

  it('-p HOST:80 serves busybox httpd to the host on 127.0.0.1 (node fetch); ps, inspect and port show it; rm leaves nothing', async () => {
    const r = minidock(
      [
        'run',
        '-d',
        '--name',
        'web',
        '--network',
        'bridge',
        '-p',
        `${PORT}:80`,
        './rootfs',
        '/bin/busybox',
        'httpd',
        '-f',
        '-p',
        '80',
        '-h',
        '/etc',
      ],
      { root, cwd: join(__dirname, '..', '..') },
    );
    // no error and no stack frame ("    at ..."); a notice may come (a fresh machine's ip_forward was 0)
    expect(r.stderr).not.toMatch(/Error|^\s+at /m);
    expect(r.code).toBe(0);
    try {
      const text = await waitFor(
        async () => {
          try {
            return await (await fetch(`http://127.0.0.1:${PORT}/hostname`)).text();
          } catch {
            return undefined;
          }
        },
        10_000,
        'httpd through the published port',
      ).then((p) => p);
      expect(text.trim()).toBe(r.stdout.trim().slice(0, 12)); // its /etc/hostname, served by itself
      expect(minidock(['port', 'web'], { root }).stdout).toBe(`80/tcp -> 0.0.0.0:${PORT}\n`);
      const ps = JSON.parse(minidock(['ps', '--format', 'json'], { root }).stdout.trim());
      expect(ps.Ports).toBe(`0.0.0.0:${PORT}->80/tcp`);
      const ins = JSON.parse(minidock(['inspect', 'web'], { root }).stdout)[0];
      expect(ins.NetworkSettings.IPAddress).toMatch(/^10\.\d+\.0\.\d+$/);
      expect(ins.NetworkSettings.HostInterface).toBe(`mdv${r.stdout.trim().slice(0, 12)}`);
    } finally {
      expect(minidock(['rm', '-f', 'web'], { root }).code).toBe(0);
    }
    await expectNetClean();
  });

  it('a container reaches a server in another namespace through the masquerade, (nothing leaves the machine: a documentation /24 on a veth the test makes)', async () => {
    // a namespace holding NET.1 on a veth to the host; NET is a documentation /24 that no route of
    // this host covers (checked: a VM's own uplink may sit in TEST-NET-1, as here)
    const routes = sh('ip', ['-4', 'route']);
    const net = ['198.51.100', '203.0.113', '192.0.2'].find((n) => !routes.includes(`${n}.`));
    expect(net, 'a documentation /24 free on this host').toBeDefined();
    const tag = Math.floor(Math.random() * 0xffff).toString(16);
    const ns = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
    children.push(ns);
    await waitFor(() => readFileSync(`/proc/${ns.pid}/comm`, 'utf8').trim() === 'sleep', 5000, 'unshare');
    sh('ip', ['link', 'add', `mdt-${tag}`, 'type', 'veth', 'peer', 'name', 'srv0', 'netns', String(ns.pid)]);
    try {
      sh('ip', ['addr', 'add', `${net}.254/24`, 'dev', `mdt-${tag}`]);
      sh('ip', ['link', 'set', `mdt-${tag}`, 'up']);
      const inNs = (...a: string[]): string => sh('nsenter', ['-t', String(ns.pid), '-n', ...a]);
      inNs('ip', 'addr', 'add', `${net}.1/24`, 'dev', 'srv0');
      inNs('ip', 'link', 'set', 'srv0', 'up');
      inNs('ip', 'link', 'set', 'lo', 'up');
      // busybox httpd in the namespace serves one file
      const www = mkdtempSync(join(tmpdir(), 'minidock-www-'));
      writeFileSync(join(www, 'index.html'), 'served\n');
      const srv = spawn(
        'nsenter',
        [
          '-t',
          String(ns.pid),
          '-n',
          join(__dirname, '..', '..', 'rootfs', 'bin', 'busybox'),
          'httpd',
          '-f',
          '-p',
          '7000',
          '-h',
          www,
        ],
        { stdio: 'ignore' },
      );
      children.push(srv);
      await waitFor(
        () => inNs('sh', '-c', 'cat /proc/net/tcp /proc/net/tcp6').includes(':1B58 '),
        5000,
        'httpd to listen',
      ); // 7000 = 0x1B58
      const r = onBridge(`printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc ${net}.1 7000`);
      rmSync(www, { recursive: true, force: true });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('served');
      expect(r.code).toBe(0);
    } finally {
      spawnSync('ip', ['link', 'del', `mdt-${tag}`], { stdio: 'ignore' });
      ns.kill('SIGKILL');
    }
    await expectNetClean();
  });

  it('a bridge set up by an earlier launch is trusted from sysfs and /proc/net/route; one missing its address is repaired', async () => {
    // (bridge.ts readyBridgeMtu: the fast path reads no netlink; the prefix route shows the address)
    const ping = () => onBridge('ping -c1 -W2 "$(ip route | awk \'/default/ {print $3}\')" >/dev/null && echo reached');
    expect(ping().stdout).toBe('reached\n'); // (made, or found set up)
    const bridge = 'minidock0';
    sh('ip', ['addr', 'flush', 'dev', bridge]); // someone took the gateway's address away
    expect(sh('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge])).toBe('');
    expect(ping().stdout).toBe('reached\n'); // the slow path put it back
    expect(sh('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge])).toMatch(/ inet 10\.\d+\.0\.1\//);
    await expectNetClean();
  });

  it('the child makes its own veth pair, in the same launch as --network none; --userns: minidock makes it at SYNC; eth0 sysctls apply; a failed launch leaves nothing', async () => {
    type TraceStep = { call: string; why: string };
    const steps = (args: string[]): TraceStep[] => {
      const r = minidock(['run', '--rm', '--trace=json', ...args, ROOTFS, 'true'], { root });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stderr) as { steps: TraceStep[] }).steps;
    };
    const bridge = steps(['--network', 'bridge']);
    const at = (re: RegExp) => bridge.findIndex((s) => re.test(s.call));
    const veth = at(
      /ip link add mdv[0-9a-f]{12} netns \/proc\/\d+\/ns\/net master minidock0 up type veth peer name eth0 index 2/,
    );
    expect(veth).toBeGreaterThan(-1);
    expect(bridge[veth].call).toMatch(/^open\("\/proc\/\d+\/ns\/net"\): its fd at byte \d+; /);
    expect(veth).toBeLessThan(at(/^pivot_root/)); // (the host's /proc is still reachable)
    // no wait for minidock that --network none does not have (v1: none at all, the vfork launch)
    const syncs = (list: TraceStep[]) => list.filter((s) => /sync_pipe/.test(s.call)).length;
    expect(syncs(bridge)).toBe(syncs(steps(['--network', 'none'])));
    // a user namespace: the child may not touch the host's namespace, so minidock makes the pair at SYNC
    chmodSync(root, 0o711); // (its root, a mapped host uid, must pass through the state root)
    const userns = steps(['--userns', 'auto', '--network', 'bridge']);
    expect(userns.some((s) => /ip link add/.test(s.call))).toBe(false);
    expect(userns.find((s) => /sync_pipe/.test(s.call))?.why).toMatch(
      /creates our veth pair \(mdv[0-9a-f]{12} on minidock0, eth0 here\)/,
    );
    const u = minidock(
      [
        'run',
        '--rm',
        '--userns',
        'auto',
        '--network',
        'bridge',
        ROOTFS,
        'sh',
        '-c',
        'ip -4 -o addr show eth0; ip route',
      ],
      {
        root,
      },
    );
    expect(u.stdout).toMatch(/^2: eth0\s+inet 10\.\d+\.\d+\.\d+\/16 /m);
    expect(u.stdout).toMatch(/^default via 10\.\d+\.0\.1 dev eth0/m);
    // eth0 exists before the sysctls are written: its own keys apply to it
    const rp = minidock(
      [
        'run',
        '--rm',
        '--network',
        'bridge',
        '--sysctl',
        'net.ipv4.conf.eth0.rp_filter=2',
        ROOTFS,
        'cat',
        '/proc/sys/net/ipv4/conf/eth0/rp_filter',
      ],
      { root },
    );
    expect(rp.stdout).toBe('2\n');
    // a launch that fails after the pair exists (exec: not found): the pair goes with the namespace,
    // the lease with the clean-up
    const bad = minidock(['run', '--rm', '--network', 'bridge', ROOTFS, '/no/such/program'], { root });
    expect(bad.code).toBe(127);
    await expectNetClean();
  });

  it("a run in host mode makes network.cjs's side cache; the first bridge launch makes its cache", async () => {
    // bin/minidock.js: a cache holds what its run compiled, and a host or --dry-run launch runs
    // little of the network code (src/sys/code-cache.ts): a bridge launch must not read its cache
    const { main, side, made } = codeCaches(join(__dirname, '..', '..', 'dist', 'more'), 'network.cjs.run');
    expect(minidock(['run', '--rm', '--network', 'host', ROOTFS, 'true'], { root }).code).toBe(0);
    expect(made()).toEqual([false, true]);
    const sideSize = statSync(side).size;
    const dry = minidock(['run', '--rm', '--dry-run', '--network', 'bridge', ROOTFS, 'true'], { root });
    expect(dry.code, dry.stderr).toBe(0);
    expect(statSync(side).size).toBe(sideSize);
    const r = onBridge('true');
    expect(r.code, r.stderr).toBe(0);
    expect(made()).toEqual([true, false]);
    expect(statSync(main).size).toBeGreaterThan(sideSize);
    await expectNetClean();
  });

  it('two containers on the default bridge reach each other by address', async () => {
    const a = minidock(
      [
        'run',
        '-d',
        '--name',
        'peer-a',
        '--network',
        'bridge',
        '--add-host',
        'gw:host-gateway',
        './rootfs',
        '/bin/busybox',
        'httpd',
        '-f',
        '-p',
        '80',
        '-h',
        '/etc',
      ],
      {
        root,
        cwd: join(__dirname, '..', '..'),
      },
    );
    expect(a.code).toBe(0);
    try {
      const ip = JSON.parse(minidock(['inspect', 'peer-a'], { root }).stdout)[0].NetworkSettings.IPAddress as string;
      // its /etc/hosts: written by the launch alone (on the default network each knows only itself),
      // the same text writeHosts makes from every member's records
      const hosts = () => minidock(['exec', 'peer-a', 'cat', '/etc/hosts'], { root }).stdout;
      const first = hosts();
      expect(first).toMatch(new RegExp(`^${ip.replace(/\./g, '\\.')}\t${a.stdout.trim().slice(0, 12)} peer-a$`, 'm'));
      expect(first).toMatch(/^10\.\d+\.0\.1\tgw$/m);
      writeHosts(root, 'bridge');
      expect(hosts()).toBe(first);
      // (busybox wget is avoided: it crashes in a fresh netns here; nc speaks HTTP well enough)
      const b = onBridge(`printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc ${ip} 80`);
      expect(b.code).toBe(0);
      expect(b.stdout).toContain(a.stdout.trim().slice(0, 12));
    } finally {
      minidock(['rm', '-f', 'peer-a'], { root });
    }
    await expectNetClean();
  });

  it("--network none is unchanged: lo only; host: the host's links; container: shares the other's eth0", async () => {
    const cwd = join(__dirname, '..', '..');
    const none = minidock(['run', '--rm', './rootfs', '/bin/sh', '-c', 'ls /sys/class/net'], { root, cwd });
    expect(none.stdout.trim().split(/\s+/)).toEqual(['lo']);
    const explicit = minidock(['run', '--rm', '--network', 'none', '--dry-run', './rootfs', '/bin/true'], {
      root,
      cwd,
    });
    const ids = (t: string): string => t.replace(/[0-9a-f]{64}/g, 'ID').replace(/[0-9a-f]{12}/g, 'SHORT');
    expect(ids(explicit.stdout)).toBe(
      ids(minidock(['run', '--rm', '--dry-run', './rootfs', '/bin/true'], { root, cwd }).stdout),
    );
    expect(explicit.stdout).toContain('CLONE_NEWNET');
    expect(explicit.stdout).not.toMatch(/AF_NETLINK|\/etc\/hosts/);
    const hostLinks = (JSON.parse(sh('ip', ['-j', 'link'])) as Array<{ ifname: string }>).map((l) => l.ifname);
    const host = minidock(['run', '--rm', '--network', 'host', './rootfs', '/bin/sh', '-c', 'ls /sys/class/net'], {
      root,
      cwd,
    });
    expect(host.code).toBe(0);
    // (sysfs mounted in the container shows the network namespace of its mounter: the host's)
    for (const l of hostLinks.filter((n) => !n.startsWith('mdv'))) expect(host.stdout.split(/\s+/)).toContain(l);
    const a = minidock(['run', '-d', '--name', 'owner', '--network', 'bridge', './rootfs', '/bin/sleep', '30'], {
      root,
      cwd,
    });
    expect(a.code).toBe(0);
    try {
      const ip = JSON.parse(minidock(['inspect', 'owner'], { root }).stdout)[0].NetworkSettings.IPAddress as string;
      const c = minidock(
        ['run', '--rm', '--network', 'container:owner', './rootfs', '/bin/sh', '-c', 'ip -4 addr show dev eth0'],
        {
          root,
          cwd,
        },
      );
      expect(c.code).toBe(0);
      expect(c.stdout).toContain(`inet ${ip}/`);
      const stopped = minidock(['run', '--rm', '--network', 'container:nosuch', './rootfs', '/bin/true'], {
        root,
        cwd,
      });
      expect(stopped.code).toBe(125);
      expect(stopped.stderr).toMatch(/^minidock: --network container:nosuch: no such container: nosuch/);
    } finally {
      minidock(['rm', '-f', 'owner'], { root });
    }
    await expectNetClean();
  });

  it("eth0's MAC is made from its address; a namespace another container joined loses its veth when its owner exits", async () => {
    const m = onBridge('cat /sys/class/net/eth0/address; ip -4 -o addr show dev eth0');
    expect(m.code).toBe(0);
    const [mac, line] = m.stdout.trim().split('\n');
    const ip = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(line)?.[1] ?? 'no address';
    // (bridge.ts macOf: 02:42 and the address, as Docker: a reused address keeps its MAC)
    expect(mac).toBe(['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':'));
    // A --rm container's veth is left to the kernel (it dies with the namespace), unless another
    // container joined the namespace: then it is deleted before the owner's minidock exits.
    const owner = minidockAsync(['run', '--rm', '--name', 'owner2', '--network', 'bridge', ROOTFS, '/bin/sleep', '2'], {
      root,
    });
    const id = await waitFor(
      () => {
        const e = JSON.parse(minidock(['inspect', 'owner2'], { root }).stdout || '[]')[0];
        return e?.State?.Running ? (e.Id as string) : undefined;
      },
      10_000,
      'owner2 to run',
    );
    try {
      expect(
        minidock(['run', '-d', '--name', 'joiner', '--network', 'container:owner2', ROOTFS, '/bin/sleep', '30'], {
          root,
        }).code,
      ).toBe(0);
      expect((await owner.done).code).toBe(0);
      const links = (JSON.parse(sh('ip', ['-j', 'link'])) as Array<{ ifname: string }>).map((l) => l.ifname);
      expect(links).not.toContain(`mdv${id.slice(0, 12)}`); // gone already: deleted, not left to the kernel
    } finally {
      minidock(['rm', '-f', 'joiner'], { root });
    }
    await expectNetClean();
  });

  it('bad flags: one line, exit 125, nothing made', async () => {
    const cwd = join(__dirname, '..', '..');
    for (const [args, re] of [
      [['-p', '80'], /invalid -p "80"/],
      [['--network', 'none', '-p', '8080:80'], /published ports need a bridge network/],
      [['--network', 'bad/name'], /--network bad\/name: use none, host, bridge/],
      [['--network', 'nosuchnet'], /no such network: nosuchnet/],
    ] as Array<[string[], RegExp]>) {
      const r = minidock(['run', '--rm', ...args, './rootfs', '/bin/true'], { root, cwd });
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(125);
    }
    await expectNetClean();
  });

  it('a SIGKILLed run -d container leaves its lease and rule until gc, which reclaims them', async () => {
    const cwd = join(__dirname, '..', '..');
    const r = minidock(
      ['run', '-d', '--rm', '--network', 'bridge', '-p', `${PORT + 1}:80`, './rootfs', '/bin/sleep', '30'],
      { root, cwd },
    );
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const pid = JSON.parse(minidock(['inspect', id], { root }).stdout)[0].State.Pid as number;
    process.kill(pid, 'SIGKILL'); // the container dies; its monitor removes it (--rm), nobody releases the network
    await waitFor(() => !existsSync(join(root, 'containers', id)), 10_000, 'the monitor to remove it');
    expect(netSnapshot(root).leases).toHaveLength(before.leases.length + 1);
    const gc = minidock(['gc'], { root });
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(/released lease 10\.\d+\.0\.\d+ on bridge/);
    await expectNetClean();
  });
});
