// The network modes as flags and as plan steps, without root: parseNetworkFlags (one line per bad
// input), planLaunch's clone flags, SYNC, SETNS, name-file bind mounts and the child's NETLINK steps.
import { describe, expect, it } from 'vitest';
import { planLaunch } from '../../src/runtime/build-plan';
import { containerSteps, type Attachment } from '../../src/runtime/network/bridge';
import { parseNetworkFlags } from '../../src/runtime/network/flags';
import { containerResolvConf, type NetPlan } from '../../src/runtime/network/wiring';
import { Op, describeStep } from '../../src/runtime/plan';
import { CLONE } from '../../src/sys/constants';
import type { ContainerSpec } from '../../src/runtime/spec';

const spec = {
  id: 'a'.repeat(64),
  rootfs: '/r',
  args: ['/bin/true'],
  env: [],
  cwd: '/',
  hostname: 'h',
  uid: 0,
  gid: 0,
  additionalGids: [],
  tty: false,
  interactive: false,
  readonlyRootfs: false,
  mounts: [],
  capabilities: [],
  noNewPrivileges: true,
  privileged: false,
  maskedPaths: [],
  readonlyPaths: [],
  rlimits: [],
  limits: {},
  stopTimeoutSec: 10,
} as unknown as ContainerSpec;
const dirs = { merged: '/c/merged', upper: '/c/upper', work: '/c/work' };
const v1 = { mode: 'v1' as const, paths: ['/sys/fs/cgroup/memory/x'], fsMounts: [], writes: [] };
const v2 = { mode: 'v2' as const, paths: ['/sys/fs/cgroup/x'], fsMounts: [], writes: [] };
const attachment: Attachment = {
  network: 'bridge',
  bridge: 'minidock0',
  hostIf: 'mdvaaaaaaaaaaaa',
  ifindex: 2,
  ip: '10.87.0.2',
  prefixLen: 16,
  gateway: '10.87.0.1',
  mtu: 1500,
  bridgeIndex: 7,
};
const bridge: NetPlan = {
  mode: 'bridge',
  attachment,
  inside: containerSteps(attachment, '/proc/99/ns/net'),
  nameFiles: [{ source: '/c/hosts', target: '/etc/hosts' }],
};
// with a user namespace minidock makes the veth pair at SYNC (wiring.ts vethAtSync)
const bridgeUserns: NetPlan = { ...bridge, inside: containerSteps(attachment), vethAtSync: true };
const ops = (steps: { op: number }[]): number[] => steps.map((s) => s.op);

describe('--network, -p, --ip', () => {
  it('none (and nothing) is no network spec at all: the launch of before', () => {
    expect(parseNetworkFlags(undefined)).toBeUndefined();
    expect(parseNetworkFlags('none')).toBeUndefined();
  });
  it('host, bridge, container:NAME, a network name; -p alone implies bridge', () => {
    expect(parseNetworkFlags('host')).toEqual({ mode: 'host', ports: [] });
    expect(parseNetworkFlags('container:web')).toEqual({ mode: 'container', container: 'web', ports: [] });
    expect(parseNetworkFlags('mynet')).toEqual({ mode: 'bridge', network: 'mynet', ports: [] });
    expect(parseNetworkFlags(undefined, ['8080:80'])).toEqual({
      mode: 'bridge',
      network: 'bridge',
      ports: [{ hostIp: undefined, hostPort: 8080, containerPort: 80, proto: 'tcp' }],
    });
  });
  it('refuses in one line what cannot work', () => {
    expect(() => parseNetworkFlags('none', ['8080:80'])).toThrow(
      /^-p with --network none: published ports need a bridge network/,
    );
    expect(() => parseNetworkFlags('host', [], '10.87.0.9')).toThrow(/^--ip with --network host/);
    expect(() => parseNetworkFlags('container:')).toThrow(/needs a container name/);
    expect(() => parseNetworkFlags('a/b')).toThrow(/use none, host, bridge/);
    expect(() => parseNetworkFlags('bridge', ['8080:80', '8080:81'])).toThrow(/published twice/);
  });
});

describe('the plan of each mode', () => {
  it('none: CLONE_NEWNET and LOOPBACK_UP, no SYNC on v1 (the vfork launch), no netlink', () => {
    const p = planLaunch(spec, dirs, v1);
    expect(p.cloneFlags & CLONE.CLONE_NEWNET).toBeTruthy();
    expect(ops(p.steps)).toContain(Op.LOOPBACK_UP);
    expect(p.sync).toBe(false);
    expect(ops(p.steps)).not.toContain(Op.NETLINK);
    expect(planLaunch(spec, dirs, v1, 0, undefined, { mode: 'none' })).toEqual(p);
  });
  it('none with --add-host/--dns: the same namespace and no SYNC, plus the name files bound over /etc', () => {
    const plain = planLaunch(spec, dirs, v1);
    const p = planLaunch(spec, dirs, v1, 0, undefined, {
      mode: 'none',
      nameFiles: [{ source: '/c/hosts', target: '/etc/hosts' }],
    });
    expect(p.cloneFlags).toBe(plain.cloneFlags);
    expect(p.sync).toBe(false);
    expect(ops(p.steps)).toContain(Op.LOOPBACK_UP);
    expect(ops(p.steps)).not.toContain(Op.NETLINK);
    expect(
      p.steps.some((s) => s.op === Op.MOUNT && s.strs![0] === '/c/hosts' && s.strs![1] === '/c/merged/etc/hosts'),
    ).toBe(true);
    expect(plain.steps.some((s) => s.op === Op.MOUNT && s.strs![0] === '/c/hosts')).toBe(false);
  });
  it('host: no CLONE_NEWNET, no LOOPBACK_UP', () => {
    const p = planLaunch(spec, dirs, v2, 0, undefined, { mode: 'host' });
    expect(p.cloneFlags & CLONE.CLONE_NEWNET).toBe(0);
    expect(ops(p.steps)).not.toContain(Op.LOOPBACK_UP);
  });
  it('container: no CLONE_NEWNET, SETNS on its netns before pivot_root', () => {
    const p = planLaunch(spec, dirs, v2, 0, undefined, { mode: 'container', joinNetns: '/proc/42/ns/net' });
    expect(p.cloneFlags & CLONE.CLONE_NEWNET).toBe(0);
    const i = p.steps.findIndex((s) => s.op === Op.SETNS);
    expect(p.steps[i].strs).toEqual(['/proc/42/ns/net']);
    expect(p.steps[i].ints).toEqual([CLONE.CLONE_NEWNET]);
    expect(i).toBeLessThan(p.steps.findIndex((s) => s.op === Op.PIVOT_ROOT));
  });
  for (const cg of [v1, v2]) {
    it(`bridge on cgroup ${cg.mode}: the child makes its veth pair and configures eth0 in NETLINK steps, no SYNC of its own; the name files bound`, () => {
      const p = planLaunch(spec, dirs, cg, 0, undefined, bridge);
      const none = planLaunch(spec, dirs, cg);
      // the same clone and handshake as --network none: vfork on v1, SYNC only for v2's cgroup join
      expect(p.sync).toBe(none.sync);
      expect(p.cloneFlags).toBe(none.cloneFlags);
      expect(ops(p.steps).filter((o) => o === Op.SYNC)).toEqual(ops(none.steps).filter((o) => o === Op.SYNC));
      const nl = p.steps.map((s, i) => [s, i] as const).filter(([s]) => s.op === Op.NETLINK);
      expect(nl.map(([s]) => s.strs![1])).toEqual([
        'ip link add mdvaaaaaaaaaaaa netns /proc/99/ns/net master minidock0 up type veth peer name eth0 index 2',
        'ip addr add 10.87.0.2/16 dev eth0',
        'ip link set eth0 up',
        'ip route add default via 10.87.0.1',
      ]);
      // the veth request names minidock's namespace by a descriptor the child opens: where it goes
      const veth = nl[0][0];
      expect(veth.strs![2]).toBe('/proc/99/ns/net');
      const at = Number(veth.ints![0]);
      const msg = veth.strs![0] as Uint8Array;
      const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
      expect(dv.getUint16(at - 2, true)).toBe(28); // IFLA_NET_NS_FD's header right before it
      expect(dv.getUint16(at - 4, true)).toBe(8);
      expect(nl.slice(1).every(([s]) => s.strs!.length === 2 && !s.ints?.length)).toBe(true);
      // after lo is up, before pivot_root (the host's /proc is still there) and the sysctls, with CAP_NET_ADMIN
      const at_ = (op: number) => p.steps.findIndex((s) => s.op === op);
      expect(nl.every(([, i]) => i > at_(Op.LOOPBACK_UP) && i < at_(Op.PIVOT_ROOT))).toBe(true);
      expect(nl.every(([, i]) => i < at_(Op.CAPBSET))).toBe(true);
      expect(describeStep(veth)).toMatch(
        /^open\("\/proc\/99\/ns\/net"\): its fd at byte \d+; write\(socket\(AF_NETLINK, NETLINK_ROUTE\), \{\d+ bytes: ip link add mdv/,
      );
      expect(describeStep(nl[1][0])).toMatch(/^write\(socket\(AF_NETLINK, NETLINK_ROUTE\), \{40 bytes: ip addr add/);
      expect(
        p.steps.some((s) => s.op === Op.MOUNT && s.strs![0] === '/c/hosts' && s.strs![1] === '/c/merged/etc/hosts'),
      ).toBe(true);
    });
  }
  it('bridge with a user namespace: minidock makes the veth pair at the SYNC the id maps need; eth0 steps after it', () => {
    const p = planLaunch(
      { ...spec, userns: { uidMap: [], gidMap: [] } } as unknown as ContainerSpec,
      dirs,
      v1,
      0,
      undefined,
      bridgeUserns,
    );
    expect(p.sync).toBe(true);
    const syncs = p.steps.map((s, i) => [s, i] as const).filter(([s]) => s.op === Op.SYNC);
    expect(syncs).toHaveLength(1);
    expect(syncs[0][0].why).toMatch(/creates our veth pair \(mdvaaaaaaaaaaaa on minidock0, eth0 here\)/);
    const nl = p.steps.map((s, i) => [s, i] as const).filter(([s]) => s.op === Op.NETLINK);
    expect(nl.map(([s]) => s.strs![1])).toEqual([
      'ip addr add 10.87.0.2/16 dev eth0',
      'ip link set eth0 up',
      'ip route add default via 10.87.0.1',
    ]);
    expect(nl.every(([, i]) => i > syncs[0][1])).toBe(true);
  });
});

describe('resolv.conf', () => {
  it("the host's without loopback nameservers; Docker's fallback when none is left", () => {
    expect(containerResolvConf('nameserver 127.0.0.53\nsearch lan\nnameserver 10.0.0.1\n')).toBe(
      'search lan\nnameserver 10.0.0.1\n',
    );
    expect(containerResolvConf('nameserver 127.0.0.53\n')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });
});
