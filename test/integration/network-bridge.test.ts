// The network pieces on the real kernel, without the launch: a bridge and a veth pair made with
// minidock's own netlink messages, one end moved into a network namespace this test creates (a
// sleeping `unshare --net`), addresses and a default route set inside it through a netlink socket
// opened in that namespace, pings both ways, a port published to busybox httpd in the namespace and
// fetched from the host through 127.0.0.1, a container-like namespace reaching a server in another
// namespace through the masquerade; then everything removed, and `ip -j link`, `ip -j addr` and
// `nft -j list ruleset` compared with what they were before.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, ROOTFS, waitFor } from '../helpers';
import { allocate, createNetwork, readNetwork, reclaimLeases, release } from '../../src/runtime/network/ipam';
import {
  attach,
  type Attachment,
  containerSteps,
  detach,
  ensureNetwork,
  hostIfName,
  natKey,
} from '../../src/runtime/network/bridge';
import { parseCidr, parseIPv4 } from '../../src/runtime/network/ipv4';
import { withNetlink } from '../../src/runtime/network/netlink';
import {
  chainExists,
  ensureIpForward,
  ensureNetworkNat,
  listRules,
  parsePublish,
  publish,
  removeNetworkNat,
  removePublished,
  setRouteLocalnet,
} from '../../src/runtime/network/nft';

/** The attachment prepareNetwork makes for container `id`'s lease `ip` on a network. */
function attachment(
  id: string,
  ip: string,
  o: { net: { name: string; bridge: string; subnet: string; gateway: string }; mtu: number; bridgeIndex: number },
): Attachment {
  return {
    network: o.net.name,
    bridge: o.net.bridge,
    hostIf: hostIfName(id),
    ifindex: 2,
    ip,
    prefixLen: parseCidr(o.net.subnet)!.len,
    gateway: o.net.gateway,
    mtu: o.mtu,
    bridgeIndex: o.bridgeIndex,
  };
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const lib = existsSync(join(__dirname, '..', '..', 'native', 'build', 'libminidock.so'));
const skip = !isRoot
  ? 'needs root (CAP_NET_ADMIN)'
  : !has('nft')
    ? 'needs nft (apt-get install nftables)'
    : !has('ip') || !has('nsenter') || !has('unshare')
      ? 'needs ip, nsenter and unshare'
      : !lib
        ? 'needs `npm run build` (libminidock.so)'
        : !existsSync(join(ROOTFS, 'bin', 'busybox'))
          ? 'needs ./rootfs (npm run build)'
          : '';

const sh = (cmd: string, args: string[]): string => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.status} ${r.stderr}`);
  return r.stdout;
};
/** What must come back exactly: link names, addresses, the whole ruleset. */
function snapshot() {
  const links = (JSON.parse(sh('ip', ['-j', 'link'])) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
  const addrs = (
    JSON.parse(sh('ip', ['-j', 'addr'])) as Array<{
      ifname: string;
      addr_info: Array<{ local: string; prefixlen: number }>;
    }>
  )
    .flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`))
    .sort();
  // -s (stateless): without counters, which other software's traffic moves meanwhile (Podman's tables)
  const ruleset = sh('nft', ['-j', '-s', 'list', 'ruleset']);
  return { links, addrs, ruleset };
}

const tag = Math.floor(Math.random() * 0xffff)
  .toString(16)
  .padStart(4, '0');
const BRIDGE = `minidock-t${tag}`;
const HOSTEND = `mdv-${tag}`;
const PEER = `mdp-${tag}`;
const CTR = `c${tag}`.padEnd(64, '0');
const children: ChildProcess[] = [];

/** A network namespace held by a sleeping process: its pid and an open /proc/PID/ns/net. */
async function netns(): Promise<{ pid: number; fd: number }> {
  const p = spawn('unshare', ['--net', 'sleep', '300'], { stdio: 'ignore' });
  children.push(p);
  const pid = p.pid!;
  // unshare execs sleep in the same process once the namespace exists
  await waitFor(() => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep', 5000, 'unshare to exec sleep');
  return { pid, fd: openSync(`/proc/${pid}/ns/net`, 'r') };
}
const inNs = (pid: number, cmd: string[]): ReturnType<typeof spawnSync> =>
  spawnSync('nsenter', ['-t', String(pid), '-n', ...cmd], { encoding: 'utf8', timeout: 20_000 });

describe.skipIf(skip)(`network pieces on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let before: ReturnType<typeof snapshot>;
  let forwardBefore: string;
  let root: string;
  let ns: { pid: number; fd: number };
  let subnet: string;
  let gateway: string;
  let ip: string;
  let uplinkMtu: number | undefined;

  beforeAll(async () => {
    before = snapshot();
    forwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    root = mkdtempSync(join(tmpdir(), 'minidock-net-'));
    ns = await netns();
  });

  afterAll(() => {
    // the cleanup of a failed run; after a passing run each of these finds nothing
    try {
      removePublished(CTR);
    } catch {
      /* reported by the leak test */
    }
    try {
      removeNetworkNat(`t${tag}`);
    } catch {
      /* idem */
    }
    for (const l of [HOSTEND, BRIDGE, 'mdo-' + tag]) spawnSync('ip', ['link', 'del', l], { stdio: 'ignore' });
    for (const c of children) c.kill('SIGKILL');
    if (ns) closeSync(ns.fd);
    writeFileSync('/proc/sys/net/ipv4/ip_forward', forwardBefore);
    rmSync(root, { recursive: true, force: true });
  });

  it('reads the host routes and links over netlink, as ip(8) shows them, and picks a subnet no route overlaps', () => {
    const { routes, links } = withNetlink((nl) => ({ routes: nl.routes(), links: nl.links() }));
    const ipRoutes = JSON.parse(sh('ip', ['-j', 'route', 'show', 'table', 'main'])) as Array<{ dst: string }>;
    expect(routes.length).toBe(ipRoutes.length);
    expect(links.map((l) => l.name).sort()).toEqual(before.links);
    const def = routes.find((r) => r.dstLen === 0 && r.oif !== undefined);
    uplinkMtu = def ? links.find((l) => l.index === def.oif)?.mtu : undefined;
    const net = createNetwork(root, { name: `t${tag}`, bridge: BRIDGE, routes });
    subnet = net.subnet;
    gateway = net.gateway;
    const c = parseCidr(subnet)!;
    for (const r of routes.filter((x) => x.dstLen > 0))
      expect(r.dst >>> (32 - Math.min(r.dstLen, c.len)) === c.addr >>> (32 - Math.min(r.dstLen, c.len))).toBe(false);
    ip = allocate(root, readNetwork(root, `t${tag}`, false)!, CTR);
    console.log(
      `network test: subnet ${subnet} (gateway ${gateway}, container ${ip}); uplink MTU ${uplinkMtu ?? 'none (no default route)'}`,
    );
  });

  it('creates the bridge and a veth pair whose peer is born in the namespace, with the uplink MTU', () => {
    const mtu = uplinkMtu ?? 1500;
    withNetlink((nl) => {
      nl.addLink({ name: BRIDGE, kind: 'bridge', mtu });
      nl.addAddr(BRIDGE, parseIPv4(gateway)!, parseCidr(subnet)!.len);
      nl.setLink(BRIDGE, { up: true });
      nl.addLink({ name: HOSTEND, kind: 'veth', mtu, peer: { name: PEER, mtu, netns: { fd: ns.fd } } });
      nl.setLink(HOSTEND, { master: nl.link(BRIDGE)!.index });
      nl.setLink(HOSTEND, { up: true });
      expect(nl.link(HOSTEND)).toMatchObject({ kind: 'veth', mtu, master: nl.link(BRIDGE)!.index, up: true });
      expect(nl.link(PEER)).toBeUndefined(); // it is in the other namespace
      // errors are one line with the errno and the way out
      expect(() => nl.addLink({ name: BRIDGE, kind: 'bridge' })).toThrow(
        /ip link add minidock-t.* type bridge \(RTM_NEWLINK\): .*EEXIST.* — it already exists/,
      );
      expect(() => nl.delLink(`nolink-${tag}`)).toThrow(/no network link named nolink-/);
    });
    // inside: what the child's plan steps will do (rename to eth0, address, up, default route)
    withNetlink((nl) => {
      nl.setLink(PEER, { name: 'eth0' });
      nl.addAddr('eth0', parseIPv4(ip)!, parseCidr(subnet)!.len);
      nl.setLink('eth0', { up: true });
      nl.setLink('lo', { up: true });
      nl.addRoute({ gateway: parseIPv4(gateway)! });
      expect(() =>
        nl.addRoute({ dst: { addr: parseIPv4('10.250.0.0')!, len: 16 }, gateway: parseIPv4('192.0.2.77')! }),
      ).toThrow(/ip route add 10.250.0.0\/16 via 192.0.2.77 \(RTM_NEWROUTE\): .*(ENETUNREACH|errno 101|unreachable)/i);
      expect(nl.link('eth0')).toMatchObject({ mtu: uplinkMtu ?? 1500, up: true });
    }, ns.fd);
    const inside = JSON.parse(inNs(ns.pid, ['ip', '-j', 'route']).stdout as string) as Array<{
      dst: string;
      gateway?: string;
    }>;
    expect(inside).toContainEqual(expect.objectContaining({ dst: 'default', gateway }));
  });

  it('pings across the bridge both ways', () => {
    // busybox's ping (the host may have none)
    const out = spawnSync(join(ROOTFS, 'bin', 'busybox'), ['ping', '-c', '1', '-W', '3', ip], { encoding: 'utf8' });
    expect(out.stdout).toContain('1 packets received');
    const back = inNs(ns.pid, [join(ROOTFS, 'bin', 'busybox'), 'ping', '-c', '1', '-W', '3', gateway]);
    expect(back.stdout).toContain('1 packets received');
  });

  it('publishes a port to busybox httpd in the namespace, reached from the host through 127.0.0.1 (no ip_forward needed)', async () => {
    const www = join(root, 'www');
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), `hello from ${tag}\n`);
    const httpd = spawn(
      'nsenter',
      ['-t', String(ns.pid), '-n', join(ROOTFS, 'bin', 'busybox'), 'httpd', '-f', '-p', '80', '-h', www],
      {
        stdio: 'ignore',
      },
    );
    children.push(httpd);
    await waitFor(
      () =>
        spawnSync('nsenter', ['-t', String(ns.pid), '-n', 'ss', '-ltn'])
          .stdout.toString()
          .includes(':80 '),
      5000,
      'httpd to listen',
    );
    ensureNetworkNat({ name: `t${tag}`, bridge: BRIDGE, subnet });
    ensureNetworkNat({ name: `t${tag}`, bridge: BRIDGE, subnet }); // idempotent: the second adds nothing
    setRouteLocalnet(BRIDGE); // (ensureNetwork's, with the bridge)
    expect(listRules().filter((r) => r.comment === `net=t${tag}`)).toHaveLength(3);
    const port = 20000 + (parseInt(tag, 16) % 20000);
    publish(CTR, ip, [parsePublish(`127.0.0.1:${port}:80`), parsePublish(`${port + 1}:80`)]);
    for (const p of [port, port + 1]) {
      const body = await (await fetch(`http://127.0.0.1:${p}/`)).text();
      expect(body).toBe(`hello from ${tag}\n`);
    }
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(forwardBefore);
    // exact removal: one port, then the rest
    expect(removePublished(CTR, parsePublish(`${port + 1}:80`))).toBe(1);
    await expect(fetch(`http://127.0.0.1:${port + 1}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(`hello from ${tag}\n`);
    expect(removePublished(CTR)).toBe(1);
    expect(removePublished(CTR)).toBe(0);
    httpd.kill('SIGKILL');
  });

  it("masquerades the namespace's traffic to a server in another namespace (ip_forward turned on and reported)", async () => {
    // the "outside": another namespace on a /30 link from the host; nothing leaves this machine
    const out = await netns();
    const hostSide = '192.168.251.1';
    const far = '192.168.251.2';
    withNetlink((nl) => {
      nl.addLink({ name: `mdo-${tag}`, kind: 'veth', peer: { name: 'eth0', netns: { pid: out.pid } } });
      nl.addAddr(`mdo-${tag}`, parseIPv4(hostSide)!, 30);
      nl.setLink(`mdo-${tag}`, { up: true });
    });
    withNetlink((nl) => {
      nl.addAddr('eth0', parseIPv4(far)!, 30);
      nl.setLink('eth0', { up: true });
    }, out.fd);
    closeSync(out.fd);
    const cgi = join(root, 'far', 'cgi-bin');
    mkdirSync(cgi, { recursive: true });
    writeFileSync(join(cgi, 'who'), '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"\n');
    chmodSync(join(cgi, 'who'), 0o755);
    const httpd = spawn(
      'nsenter',
      ['-t', String(out.pid), '-n', join(ROOTFS, 'bin', 'busybox'), 'httpd', '-f', '-p', '80', '-h', join(root, 'far')],
      {
        stdio: 'ignore',
      },
    );
    children.push(httpd);
    await waitFor(
      () =>
        spawnSync('nsenter', ['-t', String(out.pid), '-n', 'ss', '-ltn'])
          .stdout.toString()
          .includes(':80 '),
      5000,
      'httpd to listen',
    );
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
    expect(ensureIpForward()).toMatch(/ip_forward was 0: minidock set it to 1/);
    expect(ensureIpForward()).toBeUndefined();
    // the client is node's fetch, run inside the namespace (busybox-static's wget crashes in a fresh netns)
    const get = `fetch('http://${far}/cgi-bin/who', { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).then((t) => process.stdout.write(t))`;
    const r = inNs(ns.pid, [process.execPath, '-e', get]);
    httpd.kill('SIGKILL');
    spawnSync('ip', ['link', 'del', `mdo-${tag}`]);
    // the server sees the host's address on its link, not the container's private one (busybox
    // httpd shows IPv4 clients as [::ffff:a.b.c.d])
    expect(`${r.stdout}${r.stderr}`.trim().replace(/^\[::ffff:(.*)\]$/, '$1')).toBe(hostSide);
  });

  it('removes everything: links, addresses, rules and leases; the host is as before', () => {
    withNetlink((nl) => {
      nl.delLink(HOSTEND); // and its peer, eth0 in the namespace, with it
      nl.delLink(BRIDGE);
    });
    removeNetworkNat(`t${tag}`);
    expect(release(root, `t${tag}`, CTR)).toEqual([ip]);
    expect(reclaimLeases(root, () => false)).toEqual([]);
    writeFileSync('/proc/sys/net/ipv4/ip_forward', forwardBefore);
    const after = snapshot();
    expect(after.links).toEqual(before.links);
    expect(after.addrs).toEqual(before.addrs);
    expect(after.ruleset).toBe(before.ruleset);
  });
});

describe.skipIf(skip)(
  `ensureNetwork, attach and detach, as the launch will call them${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const NAME = `a${tag}`;
    const BR = `minidock-a${tag}`;
    const ID = `d${tag}`.padEnd(64, '1');
    let before: ReturnType<typeof snapshot>;
    let forwardBefore: string;
    let root: string;

    beforeAll(() => {
      before = snapshot();
      forwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
      root = mkdtempSync(join(tmpdir(), 'minidock-net-'));
    });
    afterAll(() => {
      try {
        removeNetworkNat(natKey({ name: NAME, bridge: BR }));
      } catch {
        /* reported by the leak check */
      }
      for (const l of [BR, hostIfName(ID)]) spawnSync('ip', ['link', 'del', l], { stdio: 'ignore' });
      writeFileSync('/proc/sys/net/ipv4/ip_forward', forwardBefore);
      rmSync(root, { recursive: true, force: true });
    });

    it('sets the network up once, attaches a namespace (eth0 born there), and detaches it even after the namespace died', async () => {
      const chain = `net-${natKey({ name: NAME, bridge: BR })}`;
      expect(chainExists(chain)).toBe(false); // (NFT_MSG_GETCHAIN over netlink: ENOENT)
      const first = ensureNetwork(root, NAME, BR);
      expect(first.forwardNote === undefined).toBe(forwardBefore === '1'); // reported exactly when it changed
      expect(chainExists(chain)).toBe(true);
      const rulesOnce = listRules().length;
      const again = ensureNetwork(root, NAME, BR);
      expect(again.net).toEqual(first.net);
      expect(listRules().length).toBe(rulesOnce);
      const ns = await netns();
      // (the launch takes the lease before clone: prepareNetwork)
      const att = attachment(ID, allocate(root, first.net, ID), first);
      // the child's plan steps (containerSteps' bytes) as the child sends them: from a socket in its
      // namespace, the veth pair first, its host end sent to ours by a descriptor written into the
      // request where step.ns says (child.c netlink_request does the same)
      const ours = openSync('/proc/self/ns/net', 'r');
      withNetlink((nl) => {
        for (const step of containerSteps(att, '/proc/self/ns/net')) {
          const msg = Uint8Array.from(step.msg);
          if (step.ns) new DataView(msg.buffer).setUint32(step.ns.at, ours, true);
          nl.request(step.what, () => msg);
        }
      }, ns.fd);
      closeSync(ours);
      expect(withNetlink((nl) => nl.link('eth0'), ns.fd)).toMatchObject({
        index: 2,
        kind: 'veth',
        mtu: first.mtu,
        up: true,
      });
      // the host end: in our namespace, on the bridge and up, made in the same request
      const host = withNetlink((nl) => [nl.link(hostIfName(ID)), nl.link(BR)]);
      expect(host[0]).toMatchObject({ master: host[1]!.index, up: true, mtu: first.mtu });
      expect(host[1]!.index).toBe(first.bridgeIndex);
      closeSync(ns.fd);
      expect(
        inNs(ns.pid, [join(ROOTFS, 'bin', 'busybox'), 'ping', '-c', '1', '-W', '3', att.gateway]).stdout,
      ).toContain('1 packets received');
      // with a user namespace minidock makes the pair itself (attach, at SYNC); it fails cleanly when
      // the namespace is gone: no lease, no link left
      const other = 'e'.repeat(64);
      expect(() =>
        attach(root, attachment(other, allocate(root, first.net, other), first), other, 999_999_999),
      ).toThrow(/RTM_NEWLINK/);
      expect(Object.values(readNetwork(root, NAME)!.leases).map((l) => l.container)).toEqual([ID]);
      // the namespace dies (its last process is killed): the kernel removes both ends of the pair
      const p = children.pop()!;
      p.kill('SIGKILL');
      await waitFor(
        () => !withNetlink((nl) => nl.link(hostIfName(ID))),
        5000,
        'the veth pair to go with its namespace',
      );
      detach(root, NAME, ID);
      detach(root, NAME, ID);
      expect(readNetwork(root, NAME)!.leases).toEqual({});
      removeNetworkNat(natKey({ name: NAME, bridge: BR })); // (a user network's chain is named after its bridge)
      withNetlink((nl) => nl.delLink(BR));
      writeFileSync('/proc/sys/net/ipv4/ip_forward', forwardBefore);
      const after = snapshot();
      expect(after.links).toEqual(before.links);
      expect(after.addrs).toEqual(before.addrs);
      expect(after.ruleset).toBe(before.ruleset);
    });
  },
);
