// The netlink encoders against the bytes iproute2 sends. Provenance: captured once on Debian 12
// (iproute2 6.1.0, kernel 6.18) with
//   strace -f -e trace=sendmsg -e write=3 -s 4096 -xx ip link add mdcap0 type bridge   (and so on)
// The sequence numbers (iproute2 uses time(NULL)), ifindexes, the netns fd and the pid are the ones
// of that capture, and are passed to the encoders so that every other byte must match.
import { describe, expect, it } from 'vitest';
import {
  attrPayloadAt,
  delLinkMsg,
  dumpLinksMsg,
  getChainMsg,
  getLinkMsg,
  IFLA_NET_NS_FD,
  newAddrMsg,
  newLinkMsg,
  newRouteMsg,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseAttrs,
  parseError,
  parseLink,
  parseRoute,
  RTM_GETLINK,
  setLinkMsg,
  splitMessages,
  describeRoute,
} from '../../src/runtime/network/netlink';
import { parseIPv4 } from '../../src/runtime/network/ipv4';
import { parseMac } from '../../src/runtime/network/flags';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ip = (s: string): number => parseIPv4(s)!;
const SEQ1 = 1796469995;
const SEQ2 = 1796469996;
const SEQ3 = 1796469997;

describe('netlink requests, byte for byte as ip(8) sends them', () => {
  it('ip link add mdcap0 type bridge', () => {
    expect(hex(newLinkMsg(SEQ1, { name: 'mdcap0', kind: 'bridge' }))).toBe(
      '3c00000010000506ebf4136b00000000000000000000000000000000000000000b0003006d64636170300000100012000a0001006272696467650000',
    );
  });
  it('ip link add mdcapa mtu 1400 type veth peer name mdcapb mtu 1400 (nested LINKINFO / INFO_DATA / VETH_INFO_PEER)', () => {
    expect(
      hex(newLinkMsg(SEQ1, { name: 'mdcapa', kind: 'veth', mtu: 1400, peer: { name: 'mdcapb', mtu: 1400 } })),
    ).toBe(
      '6c00000010000506ebf4136b000000000000000000000000000000000000000008000400780500000b0003006d646361706100003800120008000100766574682c000200280001000000000000000000000000000000000008000400780500000b0003006d64636170620000',
    );
  });
  it('ip link add mdcapd type veth peer name eth0 netns 9524 (the peer born in another namespace)', () => {
    expect(hex(newLinkMsg(SEQ2, { name: 'mdcapd', kind: 'veth', peer: { name: 'eth0', netns: { pid: 9524 } } }))).toBe(
      '6400000010000506ecf4136b00000000000000000000000000000000000000000b0003006d646361706400003800120008000100766574682c00020028000100000000000000000000000000000000000800130034250000090003006574683000000000',
    );
  });
  it("ip link add mdcapi type veth peer name eth0 index 2 netns 23623 (the peer's ifindex asked for)", () => {
    expect(
      hex(
        newLinkMsg(1796470882, {
          name: 'mdcapi',
          kind: 'veth',
          peer: { name: 'eth0', netns: { pid: 23623 }, index: 2 },
        }),
      ),
    ).toBe(
      '640000001000050662f8136b00000000000000000000000000000000000000000b0003006d646361706900003800120008000100766574682c000200280001000000000002000000000000000000000008001300475c0000090003006574683000000000',
    );
  });
  it('ip link add mdcapm mtu 1400 type veth peer name eth0 address 02:42:ac:11:00:02 mtu 1400 netns 23943 index 2 (IFLA_ADDRESS: --mac-address)', () => {
    expect(
      hex(
        newLinkMsg(1796486244, {
          name: 'mdcapm',
          kind: 'veth',
          mtu: 1400,
          peer: { name: 'eth0', mtu: 1400, netns: { pid: 23943 }, index: 2, address: parseMac('02:42:ac:11:00:02') },
        }),
      ),
    ).toBe(
      '80000000100005066434146b000000000000000000000000000000000000000008000400780500000b0003006d646361706d00004c0012000800010076657468400002003c000100000000000200000000000000000000000a0001000242ac1100020000080004007805000008001300875d0000090003006574683000000000',
    );
  });
  it('ip link add mdcapu mtu 1400 master mdcap0 up type veth peer name mdcapv (the host end on the bridge and up in the same request; master 2984)', () => {
    expect(
      hex(
        newLinkMsg(1796512936, {
          name: 'mdcapu',
          kind: 'veth',
          mtu: 1400,
          master: 2984,
          up: true,
          peer: { name: 'mdcapv' },
        }),
      ),
    ).toBe(
      '6c00000010000506a89c146b0000000000000000000000000100000001000000080004007805000008000a00a80b00000b0003006d646361707500003000120008000100766574682400020020000100000000000000000000000000000000000b0003006d64636170760000',
    );
  });
  it('ip netns add mdcapns; ip link add mdcapn netns mdcapns master mdcapbr up type veth peer name eth0 index 2 (the link itself sent to another namespace by descriptor, fd 4; master 4698)', () => {
    // what the child sends from inside its new namespace (bridge.ts vethMsg): the host end goes to
    // minidock's namespace, eth0 stays in the sender's
    const msg = newLinkMsg(0x6b14c1fb, {
      name: 'mdcapn',
      kind: 'veth',
      netns: { fd: 4 },
      master: 4698,
      up: true,
      peer: { name: 'eth0', index: 2 },
    });
    expect(hex(msg)).toBe(
      '6c00000010000506fbc1146b00000000000000000000000001000000010000000800' +
        '1c000400000008000a005a1200000b0003006d646361706e0000300012000800010076657468' +
        '240002002000010000000000020000000000000000000000090003006574683000000000',
    );
    // where the child writes the descriptor it opened (child.c netlink_request)
    expect(attrPayloadAt(msg, 16, IFLA_NET_NS_FD)).toBe(36);
    expect(attrPayloadAt(msg, 16, 0x3ff)).toBe(-1);
  });
  it('ip link set mdcapa master mdcap0 (ifindex 10, master 8)', () => {
    expect(hex(setLinkMsg(SEQ2, 10, { master: 8 }))).toBe(
      '2800000010000500ecf4136b00000000000000000a000000000000000000000008000a0008000000',
    );
  });
  it('ip link set mdcapa up (IFF_UP in ifi_flags, 1 in ifi_change)', () => {
    expect(hex(setLinkMsg(SEQ2, 10, { up: true }))).toBe(
      '2000000010000500ecf4136b00000000000000000a0000000100000001000000',
    );
  });
  it('ip link set mdcapa mtu 1450', () => {
    expect(hex(setLinkMsg(SEQ2, 10, { mtu: 1450 }))).toBe(
      '2800000010000500ecf4136b00000000000000000a000000000000000000000008000400aa050000',
    );
  });
  it('ip link set mdcapa name mdcapc', () => {
    expect(hex(setLinkMsg(SEQ2, 10, { name: 'mdcapc' }))).toBe(
      '2c00000010000500ecf4136b00000000000000000a00000000000000000000000b0003006d64636170630000',
    );
  });
  it('ip link set mdcapb netns mdcapns (IFLA_NET_NS_FD, fd 4)', () => {
    expect(hex(setLinkMsg(SEQ2, 9, { netns: { fd: 4 } }))).toBe(
      '2800000010000500ecf4136b000000000000000009000000000000000000000008001c0004000000',
    );
  });
  it('ip link del mdcap0 (RTM_DELLINK, ifindex 8)', () => {
    expect(hex(delLinkMsg(SEQ3, 8))).toBe('2000000011000500edf4136b0000000000000000080000000000000000000000');
  });
  it('ip addr add 10.99.0.1/24 dev mdcap0 (IFA_LOCAL then IFA_ADDRESS)', () => {
    expect(hex(newAddrMsg(SEQ2, 8, ip('10.99.0.1'), 24))).toBe(
      '2800000014000506ecf4136b000000000218000008000000080002000a630001080001000a630001',
    );
  });
  it('ip route add 10.98.0.0/16 via 10.99.0.2 dev mdcap0', () => {
    expect(hex(newRouteMsg(SEQ2, { dst: { addr: ip('10.98.0.0'), len: 16 }, gateway: ip('10.99.0.2'), oif: 8 }))).toBe(
      '3400000018000506ecf4136b0000000002100000fe03000100000000080001000a620000080005000a6300020800040008000000',
    );
  });
  it('ip route add default via 10.99.0.1', () => {
    expect(hex(newRouteMsg(SEQ3, { gateway: ip('10.99.0.1') }))).toBe(
      '2400000018000506edf4136b0000000002000000fe03000100000000080005000a630001',
    );
  });
  it('a route without a gateway is scope link (253), as iproute2 decides', () => {
    const m = newRouteMsg(1, { dst: { addr: ip('10.99.0.0'), len: 24 }, oif: 3 });
    expect(m[16 + 6]).toBe(253);
  });
  it('a veth without a peer is refused with one line', () => {
    expect(() => newLinkMsg(1, { name: 'x', kind: 'veth' })).toThrow(/needs a peer name/);
  });
});

describe('an nftables request, byte for byte as nft(8) sends it', () => {
  // captured on Debian 12 (nftables 1.0.6) with
  //   strace -e trace=sendto -e write=3 -s 4096 -xx nft list chain ip minidock net-bridge
  // nft sends seq 0 and leaves the 3 padding bytes after "minidock\0" uninitialized (da bc 2e in
  // that capture; the kernel never reads padding): they are zeros here.
  it('nft list chain ip minidock net-bridge (NFNL_SUBSYS_NFTABLES<<8|NFT_MSG_GETCHAIN, nfgenmsg AF_INET)', () => {
    expect(hex(getChainMsg(0, 'minidock', 'net-bridge'))).toBe(
      '34000000040a0500000000000000000002000000' + '0d0001006d696e69646f636b000000000f0003006e65742d6272696467650000',
    );
  });
});

describe('netlink answers', () => {
  it('splits a datagram into messages and reads a dump request back', () => {
    const two = new Uint8Array([...dumpLinksMsg(7), ...getLinkMsg(8, 'eth0')]);
    const ms = splitMessages(two);
    expect(ms.map((m) => [m.type, m.seq, m.flags])).toEqual([
      [RTM_GETLINK, 7, 0x301],
      [RTM_GETLINK, 8, 1],
    ]);
    expect(new TextDecoder().decode(parseAttrs(ms[1].body.subarray(16)).get(3))).toBe('eth0\0');
  });

  it('refuses a message whose length runs past the datagram', () => {
    const m = dumpLinksMsg(1);
    m[0] = 200;
    expect(() => splitMessages(m)).toThrow(/malformed message/);
  });

  it('reads an ack, an errno and the extended-ack sentence of an NLMSG_ERROR', () => {
    // struct nlmsgerr {s32 error; struct nlmsghdr msg (capped: header only)} + NLMSGERR_ATTR_MSG
    const err = (errno: number, text?: string): Uint8Array => {
      const tlv = text
        ? Buffer.concat([
            Buffer.from([4 + text.length + 1, 0, 1, 0]),
            Buffer.from(text + '\0'),
            Buffer.alloc((4 - ((text.length + 1) % 4)) % 4),
          ])
        : Buffer.alloc(0);
      const body = Buffer.concat([Buffer.alloc(4), Buffer.from(delLinkMsg(5, 1).subarray(0, 16)), tlv]);
      body.writeInt32LE(-errno, 0);
      const hdr = Buffer.alloc(16);
      hdr.writeUInt32LE(16 + body.length, 0);
      hdr.writeUInt16LE(NLMSG_ERROR, 4);
      hdr.writeUInt16LE(text ? 0x300 : 0x100, 6); // NLM_F_CAPPED, plus NLM_F_ACK_TLVS with a sentence
      hdr.writeUInt32LE(5, 8);
      return new Uint8Array(Buffer.concat([hdr, body]));
    };
    expect(parseError(splitMessages(err(0))[0])).toEqual({ errno: 0 });
    expect(parseError(splitMessages(err(17))[0])).toEqual({ errno: 17 });
    expect(parseError(splitMessages(err(101, 'Nexthop has invalid gateway'))[0])).toEqual({
      errno: 101,
      kernelMessage: 'Nexthop has invalid gateway',
    });
    expect(NLMSG_DONE).toBe(3);
  });

  it('parses a link and a route the way the kernel sends them (built with the request encoders: same layout)', () => {
    const veth = newLinkMsg(1, { name: 'mdcapa', kind: 'veth', mtu: 1400, peer: { name: 'mdcapb' } });
    const l = parseLink(splitMessages(veth)[0].body);
    expect(l).toMatchObject({ index: 0, name: 'mdcapa', mtu: 1400, kind: 'veth', up: false });
    const up = parseLink(splitMessages(setLinkMsg(1, 10, { up: true, master: 8 }))[0].body);
    expect(up).toMatchObject({ index: 10, up: true, master: 8 });
    const r = parseRoute(
      splitMessages(newRouteMsg(1, { dst: { addr: ip('10.98.0.0'), len: 16 }, gateway: ip('10.99.0.2'), oif: 8 }))[0]
        .body,
    );
    expect(r).toEqual({
      dst: ip('10.98.0.0'),
      dstLen: 16,
      gateway: ip('10.99.0.2'),
      oif: 8,
      table: 254,
      protocol: 3,
      scope: 0,
      type: 1,
    });
    expect(describeRoute(r)).toBe('10.98.0.0/16 via 10.99.0.2');
    expect(describeRoute(parseRoute(splitMessages(newRouteMsg(1, { gateway: ip('10.99.0.1') }))[0].body))).toBe(
      'default via 10.99.0.1',
    );
  });
});

describe("the container's own steps, prebuilt for the child", () => {
  const att = {
    network: 'bridge',
    bridge: 'minidock0',
    hostIf: 'mdv0123456789ab',
    ifindex: 2,
    ip: '10.87.0.5',
    prefixLen: 16,
    gateway: '10.87.0.1',
    mtu: 1500,
    bridgeIndex: 9,
  };
  it("the veth pair (host end to minidock's namespace), then address, up and default route, all naming eth0 by its fixed index 2", async () => {
    const { containerSteps } = await import('../../src/runtime/network/bridge');
    const steps = containerSteps(att, '/proc/77/ns/net');
    expect(steps.map((s) => s.what)).toEqual([
      'ip link add mdv0123456789ab netns /proc/77/ns/net master minidock0 up type veth peer name eth0 index 2',
      'ip addr add 10.87.0.5/16 dev eth0',
      'ip link set eth0 up',
      'ip route add default via 10.87.0.1',
    ]);
    const veth = splitMessages(steps[0].msg)[0];
    expect(parseLink(veth.body)).toMatchObject({
      index: 0,
      name: 'mdv0123456789ab',
      up: true,
      mtu: 1500,
      master: 9,
      kind: 'veth',
    });
    const attrs = parseAttrs(veth.body.subarray(16));
    expect(attrs.has(IFLA_NET_NS_FD)).toBe(true);
    expect(steps[0].ns).toEqual({ file: '/proc/77/ns/net', at: attrPayloadAt(steps[0].msg, 16, IFLA_NET_NS_FD) });
    // the peer: eth0, index 2, 02:42 + its address as MAC, no namespace of its own (the sender's)
    const peer = parseAttrs(
      parseAttrs(parseAttrs(attrs.get(18)!).get(2)!)
        .get(1 /* VETH_INFO_PEER */)!
        .subarray(16),
    );
    expect(Buffer.from(peer.get(3)!).toString('latin1')).toBe('eth0\0');
    expect(Buffer.from(peer.get(1 /* IFLA_ADDRESS */)!).toString('hex')).toBe('02420a570005');
    expect(peer.has(IFLA_NET_NS_FD) || peer.has(19)).toBe(false);
    expect(hex(steps[1].msg)).toBe(hex(newAddrMsg(2, 2, ip('10.87.0.5'), 16)));
    expect(parseLink(splitMessages(steps[2].msg)[0].body)).toMatchObject({ index: 2, up: true });
    expect(describeRoute(parseRoute(splitMessages(steps[3].msg)[0].body))).toBe('default via 10.87.0.1');
  });
  it('with a user namespace (no host namespace file): no veth step, minidock makes it at SYNC', async () => {
    const { containerSteps } = await import('../../src/runtime/network/bridge');
    expect(containerSteps(att).map((s) => s.what)).toEqual([
      'ip addr add 10.87.0.5/16 dev eth0',
      'ip link set eth0 up',
      'ip route add default via 10.87.0.1',
    ]);
  });
});
