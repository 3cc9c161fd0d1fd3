// Netlink by hand: the messages `ip link`, `ip addr` and `ip route` send, built byte by byte.
//
// The kernel's network configuration is not a file and not an ioctl any more: it is a conversation
// over an AF_NETLINK socket (protocol NETLINK_ROUTE). Each request is one message; the kernel
// answers each with an ack (an NLMSG_ERROR carrying errno 0) or an error (the same, with -errno),
// or, for a dump request, with a series of messages ended by NLMSG_DONE. minidock builds the
// messages here, the way the seccomp BPF is assembled in src/runtime/seccomp/: it costs one system
// call per step instead of starting `ip` (~2 ms each) several times per launch, and every byte can be
// read. test/unit/network-netlink.test.ts compares them with what iproute2 6.1 sends, captured with
// strace.
//
// Every number is in host byte order (netlink never crosses machines; minidock's platforms, x86_64
// and aarch64, are little-endian), except IP addresses: those stay in network order, as on the wire.
//
// The wire layout, once (from <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>):
//
//   struct nlmsghdr  (16 bytes, every message starts with it)
//     u32 nlmsg_len    the whole message, header included
//     u16 nlmsg_type   RTM_NEWLINK, RTM_NEWADDR, ... NLMSG_ERROR, NLMSG_DONE
//     u16 nlmsg_flags  NLM_F_REQUEST | NLM_F_ACK (answer even on success) | NLM_F_CREATE | NLM_F_EXCL
//                      (create, and fail with EEXIST if it exists) | NLM_F_DUMP (all of them)
//     u32 nlmsg_seq    chosen by the sender; the kernel copies it into the answer
//     u32 nlmsg_pid    the sender's port; 0 = "let the kernel fill it in"
//   then a fixed family header, one of:
//   struct ifinfomsg (16 bytes: links)
//     u8 ifi_family (AF_UNSPEC), u8 pad, u16 ifi_type (ARPHRD_*, 0 in requests),
//     s32 ifi_index (0 = a new link, or the link to change), u32 ifi_flags (IFF_UP ...),
//     u32 ifi_change (which bits of ifi_flags to change: 1 = IFF_UP only)
//   struct ifaddrmsg (8 bytes: addresses)
//     u8 ifa_family (AF_INET), u8 ifa_prefixlen, u8 ifa_flags, u8 ifa_scope, u32 ifa_index
//   struct rtmsg     (12 bytes: routes)
//     u8 rtm_family, u8 rtm_dst_len, u8 rtm_src_len, u8 rtm_tos, u8 rtm_table (254 = main),
//     u8 rtm_protocol (3 = boot, what `ip route add` writes), u8 rtm_scope (0 universe, 253 link),
//     u8 rtm_type (1 = unicast), u32 rtm_flags
//   then attributes, each a struct rtattr and its payload, padded to 4 bytes:
//     u16 rta_len (header + payload, without the padding), u16 rta_type, payload...
//   An attribute can hold attributes (nesting): a veth is
//     IFLA_IFNAME "veth0", IFLA_LINKINFO { IFLA_INFO_KIND "veth",
//                                          IFLA_INFO_DATA { VETH_INFO_PEER { ifinfomsg, IFLA_IFNAME "eth0", ... } } }
//   (the peer's payload starts with its own ifinfomsg, as if it were a second message).
import { closeSync } from 'node:fs';
import { MinidockError } from '../../errors.js';
import { errnoName } from '../../sys/errno.js';
import { mdNlOpen, mdNlRecv, mdNlSend } from '../../sys/native.js';
import { formatIPv4, ipv4Bytes } from './ipv4.js';

// protocols (socket(AF_NETLINK, SOCK_RAW, protocol))
const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

// message types
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const RTM_GETROUTE = 26;

// flags
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP_INTR = 0x10;
const NLM_F_DUMP = 0x300;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
/** in an NLMSG_ERROR: extended-ack attributes follow the echoed request header */
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

// link attributes (IFLA_*), the nested link-info ones (IFLA_INFO_*), the veth peer
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_PID = 19;
export const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
// address and route attributes
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_TABLE = 15;

const AF_UNSPEC = 0;
const AF_INET = 2;
const IFF_UP = 0x1;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RTN_UNICAST = 1;

// ---- encoding ----

type Attr = { type: number; payload: Uint8Array };
const pad4 = (n: number): number => (n + 3) & ~3;
const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};
// (Buffer, which every launch has used by then: a first TextEncoder costs ~0.06 ms more here)
const cstr = (s: string): Uint8Array => Buffer.from(`${s}\0`, 'utf8');

/** rta_len counts the header and the payload; the padding after it is not counted. */
function attrs(list: Attr[]): Uint8Array {
  const out = new Uint8Array(list.reduce((n, a) => n + pad4(4 + a.payload.length), 0));
  const dv = new DataView(out.buffer);
  let off = 0;
  for (const a of list) {
    dv.setUint16(off, 4 + a.payload.length, true);
    dv.setUint16(off + 2, a.type, true);
    out.set(a.payload, off + 4);
    off += pad4(4 + a.payload.length);
  }
  return out;
}
const nest = (type: number, list: Attr[]): Attr => ({ type, payload: attrs(list) });

function ifinfomsg(index = 0, flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, AF_UNSPEC);
  dv.setInt32(4, index, true);
  dv.setUint32(8, flags, true);
  dv.setUint32(12, change, true);
  return b;
}

function message(type: number, flags: number, seq: number, head: Uint8Array, list: Attr[] = []): Uint8Array {
  const body = attrs(list);
  const out = new Uint8Array(16 + head.length + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, out.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq >>> 0, true);
  dv.setUint32(12, 0, true); // nlmsg_pid: the kernel is port 0; ours it fills in
  out.set(head, 16);
  out.set(body, 16 + head.length);
  return out;
}

/** Where a link goes: the namespace of a process, or of an open /proc/PID/ns/net (or bind-mounted
 * /run/netns/NAME) file descriptor. */
export type Netns = { pid: number } | { fd: number };
const netnsAttr = (ns: Netns): Attr =>
  'pid' in ns ? { type: IFLA_NET_NS_PID, payload: u32(ns.pid) } : { type: IFLA_NET_NS_FD, payload: u32(ns.fd) };

export interface NewLink {
  name: string;
  kind: 'bridge' | 'veth';
  mtu?: number;
  /** another namespace for the link itself (its peer, without one, stays in the sender's) */
  netns?: Netns;
  /** the bridge's ifindex, and IFF_UP, set in the same request (`ip link add ... master BR up`):
   * each request waits for the RTNL lock, which a dying namespace's tear-down may be holding */
  master?: number;
  up?: boolean;
  /** a veth's other end: created with it, in one message, optionally straight in another namespace,
   * and with the ifindex asked for (a fresh namespace has only lo, 1: asking for 2 makes the index
   * known in advance, so the container's own steps can be built before it exists) */
  peer?: { name: string; mtu?: number; netns?: Netns; index?: number; address?: Uint8Array };
}

/** The attributes of one end, in iproute2's order (it adds IFLA_IFNAME after the others). `address`:
 * the link's MAC (IFLA_ADDRESS, its 6 bytes as they go on the wire; `ip link add ... address X`). */
function linkAttrs(o: { name?: string; mtu?: number; netns?: Netns; master?: number; address?: Uint8Array }): Attr[] {
  const list: Attr[] = [];
  if (o.address !== undefined) list.push({ type: IFLA_ADDRESS, payload: o.address });
  if (o.mtu !== undefined) list.push({ type: IFLA_MTU, payload: u32(o.mtu) });
  if (o.netns) list.push(netnsAttr(o.netns));
  if (o.master !== undefined) list.push({ type: IFLA_MASTER, payload: u32(o.master) });
  if (o.name !== undefined) list.push({ type: IFLA_IFNAME, payload: cstr(o.name) });
  return list;
}

/** RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: `ip link add NAME [mtu N] type bridge|veth [peer name P ...]`. */
export function newLinkMsg(seq: number, l: NewLink): Uint8Array {
  const info: Attr[] = [{ type: IFLA_INFO_KIND, payload: Buffer.from(l.kind, 'latin1') }];
  if (l.kind === 'veth') {
    if (!l.peer) throw new MinidockError(`a veth pair needs a peer name (creating ${l.name})`);
    const peer = l.peer;
    const body = attrs(linkAttrs(peer));
    const payload = new Uint8Array(16 + body.length);
    payload.set(ifinfomsg(peer.index ?? 0), 0); // the peer's own ifinfomsg, then its attributes
    payload.set(body, 16);
    info.push(nest(IFLA_INFO_DATA, [{ type: VETH_INFO_PEER, payload }]));
  }
  const list = [
    ...linkAttrs({ name: l.name, mtu: l.mtu, netns: l.netns, master: l.master }),
    nest(IFLA_LINKINFO, info),
  ];
  const head = l.up ? ifinfomsg(0, IFF_UP, IFF_UP) : ifinfomsg();
  return message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, seq, head, list);
}

/** Where the payload of top-level attribute `type` starts in request `msg`, whose fixed header after
 * the nlmsghdr is `head` bytes (an ifinfomsg: 16); -1 when it has none. */
export function attrPayloadAt(msg: Uint8Array, head: number, type: number): number {
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  for (let off = 16 + head; off + 4 <= msg.length; off += pad4(dv.getUint16(off, true))) {
    if (dv.getUint16(off, true) < 4) break;
    if ((dv.getUint16(off + 2, true) & 0x3fff) === type) return off + 4;
  }
  return -1;
}

export interface LinkChange {
  up?: boolean;
  /** the bridge's ifindex (`ip link set X master BR`); 0 detaches */
  master?: number;
  mtu?: number;
  netns?: Netns;
  /** rename (`ip link set X name Y`; the link must be down) */
  name?: string;
}

/** RTM_NEWLINK on an existing link (no NLM_F_CREATE): `ip link set`. `up` travels in the fixed
 * header, not as an attribute: ifi_flags holds the new bits, ifi_change says which bits to touch. */
export function setLinkMsg(seq: number, index: number, c: LinkChange): Uint8Array {
  const head = c.up === undefined ? ifinfomsg(index) : ifinfomsg(index, c.up ? IFF_UP : 0, IFF_UP);
  return message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, head, linkAttrs(c));
}

/** RTM_DELLINK: `ip link del`. Deleting one end of a veth deletes both. */
export function delLinkMsg(seq: number, index: number): Uint8Array {
  return message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(index));
}

/** RTM_NEWADDR: `ip addr add IP/LEN dev X`. IFA_LOCAL is the interface's own address; IFA_ADDRESS
 * the peer's on point-to-point links, the same on any other (iproute2 sends both). */
export function newAddrMsg(seq: number, index: number, ip: number, prefixLen: number): Uint8Array {
  const head = new Uint8Array(8);
  const dv = new DataView(head.buffer);
  dv.setUint8(0, AF_INET);
  dv.setUint8(1, prefixLen);
  dv.setUint8(3, RT_SCOPE_UNIVERSE);
  dv.setUint32(4, index, true);
  const list = [
    { type: IFA_LOCAL, payload: ipv4Bytes(ip) },
    { type: IFA_ADDRESS, payload: ipv4Bytes(ip) },
  ];
  return message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, seq, head, list);
}

export interface NewRoute {
  /** absent: the default route (0.0.0.0/0) */
  dst?: { addr: number; len: number };
  gateway?: number;
  oif?: number;
}

/** RTM_NEWROUTE: `ip route add DST [via GW] [dev X]`, in the main table. Without a gateway the
 * destination is on the link itself: scope link, as iproute2 decides. */
export function newRouteMsg(seq: number, r: NewRoute): Uint8Array {
  const head = new Uint8Array(12);
  head.set([
    AF_INET,
    r.dst?.len ?? 0,
    0,
    0,
    RT_TABLE_MAIN,
    RTPROT_BOOT,
    r.gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
    RTN_UNICAST,
  ]);
  const list: Attr[] = [];
  if (r.dst && r.dst.len > 0) list.push({ type: RTA_DST, payload: ipv4Bytes(r.dst.addr) });
  if (r.gateway !== undefined) list.push({ type: RTA_GATEWAY, payload: ipv4Bytes(r.gateway) });
  if (r.oif !== undefined) list.push({ type: RTA_OIF, payload: u32(r.oif) });
  return message(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, seq, head, list);
}

/** RTM_GETLINK for one name (the answer is one RTM_NEWLINK, or ENODEV). */
export function getLinkMsg(seq: number, name: string): Uint8Array {
  return message(RTM_GETLINK, NLM_F_REQUEST, seq, ifinfomsg(), [{ type: IFLA_IFNAME, payload: cstr(name) }]);
}

// nftables speaks netlink too (protocol NETLINK_NETFILTER; <linux/netfilter/nfnetlink.h> and
// <linux/netfilter/nf_tables.h>): a message type is subsystem << 8 | command, and the family header
// is struct nfgenmsg (4 bytes): u8 nfgen_family (NFPROTO_IPV4 = 2), u8 version (NFNETLINK_V0 = 0),
// be16 res_id (0). `nft` itself is a client of the same messages.
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETCHAIN = 4;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
const NFPROTO_IPV4 = 2;

/** NFT_MSG_GETCHAIN for one chain of an `ip` table, as `nft list chain ip TABLE CHAIN` sends it (the
 * answer is one NFT_MSG_NEWCHAIN and the ack, or ENOENT: no such table or chain). */
export function getChainMsg(seq: number, table: string, chain: string): Uint8Array {
  const head = new Uint8Array(4);
  head[0] = NFPROTO_IPV4;
  return message((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN, NLM_F_REQUEST | NLM_F_ACK, seq, head, [
    { type: NFTA_CHAIN_TABLE, payload: cstr(table) },
    { type: NFTA_CHAIN_NAME, payload: cstr(chain) },
  ]);
}

/** RTM_GETLINK with NLM_F_DUMP: every link of the namespace (`ip link`). */
export function dumpLinksMsg(seq: number): Uint8Array {
  return message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, ifinfomsg());
}

/** RTM_GETROUTE with NLM_F_DUMP, IPv4: every route of every table (`ip route show table all`). */
export function dumpRoutesMsg(seq: number): Uint8Array {
  const head = new Uint8Array(12);
  head[0] = AF_INET;
  return message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, head);
}

// ---- decoding ----

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  /** after the 16-byte header */
  body: Uint8Array;
}

/** Split one datagram into its messages (a dump packs many into each). */
export function splitMessages(buf: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = dv.getUint32(off, true);
    if (len < 16 || off + len > buf.length)
      throw new MinidockError(
        `netlink: a malformed message from the kernel (length ${len} at offset ${off} of ${buf.length})`,
      );
    out.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      body: buf.subarray(off + 16, off + len),
    });
    off += pad4(len);
  }
  return out;
}

/** The attributes of a region: type -> payload (a repeated type keeps the last). */
export function parseAttrs(buf: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = dv.getUint16(off, true);
    if (len < 4 || off + len > buf.length) break;
    out.set(dv.getUint16(off + 2, true) & 0x3fff, buf.subarray(off + 4, off + len)); // without NLA_F_NESTED/NET_BYTEORDER
    off += pad4(len);
  }
  return out;
}

const readU32 = (b: Uint8Array | undefined): number | undefined =>
  b && b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : undefined;
const readStr = (b: Uint8Array | undefined): string | undefined =>
  b ? Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8').replace(/\0.*$/s, '') : undefined;
const readIp = (b: Uint8Array | undefined): number | undefined =>
  b && b.length === 4 ? ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0 : undefined;

/** An NLMSG_ERROR's verdict: errno (0 = the ack of a success) and, with NETLINK_EXT_ACK, the
 * kernel's own sentence. struct nlmsgerr: s32 error (-errno), then the request's nlmsghdr (only the
 * header: NETLINK_CAP_ACK), then the extended-ack attributes when NLM_F_ACK_TLVS is set. */
export function parseError(m: NlMessage): { errno: number; kernelMessage?: string } {
  const dv = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const errno = 0 - dv.getInt32(0, true);
  if (!(m.flags & NLM_F_ACK_TLVS) || m.body.length < 20) return { errno };
  const echoed = dv.getUint32(4, true); // the echoed header's nlmsg_len: the whole request when not capped
  const capped = m.flags & 0x100; /* NLM_F_CAPPED */
  const tlvs = m.body.subarray(4 + (capped ? 16 : pad4(echoed)));
  return { errno, kernelMessage: readStr(parseAttrs(tlvs).get(NLMSGERR_ATTR_MSG)) };
}

export interface Link {
  index: number;
  name: string;
  /** IFF_* bits: 1 = IFF_UP */
  flags: number;
  up: boolean;
  mtu?: number;
  /** the bridge it is attached to */
  master?: number;
  /** 'bridge', 'veth', ... (absent for physical links and lo) */
  kind?: string;
}

export function parseLink(body: Uint8Array): Link {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const a = parseAttrs(body.subarray(16));
  const info = a.get(IFLA_LINKINFO);
  const flags = dv.getUint32(8, true);
  return {
    index: dv.getInt32(4, true),
    name: readStr(a.get(IFLA_IFNAME)) ?? '',
    flags,
    up: (flags & IFF_UP) !== 0,
    mtu: readU32(a.get(IFLA_MTU)),
    master: readU32(a.get(IFLA_MASTER)),
    kind: info ? readStr(parseAttrs(info).get(IFLA_INFO_KIND)) : undefined,
  };
}

export interface Route {
  /** the destination network address (0 for the default route) */
  dst: number;
  dstLen: number;
  gateway?: number;
  oif?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
}

export function parseRoute(body: Uint8Array): Route {
  const a = parseAttrs(body.subarray(12));
  return {
    dst: readIp(a.get(RTA_DST)) ?? 0,
    dstLen: body[1],
    gateway: readIp(a.get(RTA_GATEWAY)),
    oif: readU32(a.get(RTA_OIF)),
    table: readU32(a.get(RTA_TABLE)) ?? body[4],
    protocol: body[5],
    scope: body[6],
    type: body[7],
  };
}

/** A route as `ip route` prints it (for messages and tests). */
export function describeRoute(r: Route): string {
  const dst = r.dstLen === 0 ? 'default' : `${formatIPv4(r.dst)}/${r.dstLen}`;
  return r.gateway === undefined ? dst : `${dst} via ${formatIPv4(r.gateway)}`;
}

// ---- the socket ----

const HINTS: Record<number, string> = {
  1: 'run as root: changing the network needs CAP_NET_ADMIN',
  17: 'it already exists (see ip link, ip addr, ip route)',
  19: 'no such link (see ip link)',
  95: 'this kernel lacks it (modprobe bridge, modprobe veth)',
  101: 'no route to that gateway: give the link an address in its subnet first',
};

/** Where every socket's answers land, one per process (64 KiB zeroed is 16 fresh pages: a launch
 * opens several sockets); each answer is copied out of it before the next receive. */
let recvBuf: Uint8Array | undefined;

/** One netlink conversation with the kernel, in this network namespace or another one. */
export class Netlink {
  private readonly fd: number;
  private seq: number;

  /** netnsFd: an open /proc/PID/ns/net, to configure that namespace's links from here.
   * protocol: NETLINK_ROUTE (links, addresses, routes) or NETLINK_NETFILTER (nftables' objects). */
  constructor(netnsFd = -1, protocol = NETLINK_ROUTE) {
    const fd = mdNlOpen(netnsFd, protocol);
    if (fd < 0)
      throw new MinidockError(
        `netlink socket: ${errnoName(-fd)} — ${HINTS[-fd] ?? 'the kernel refused an AF_NETLINK socket'}`,
      );
    this.fd = fd;
    this.seq = Math.floor(Date.now() / 1000) >>> 0; // iproute2's choice: time(NULL), then +1 per request
  }

  close(): void {
    closeSync(this.fd);
  }

  private send(build: (seq: number) => Uint8Array): number {
    const seq = ++this.seq >>> 0;
    const msg = build(seq);
    const n = mdNlSend(this.fd, msg);
    if (n < 0) throw new MinidockError(`netlink send: ${errnoName(-n)}`);
    // the answer carries the message's own nlmsg_seq (a prebuilt message may have its own number)
    return new DataView(msg.buffer, msg.byteOffset, msg.byteLength).getUint32(8, true);
  }

  private recv(what: string): NlMessage[] {
    const buf = (recvBuf ??= new Uint8Array(65536));
    const n = mdNlRecv(this.fd, buf);
    if (n < 0) throw new MinidockError(`netlink (${what}): no answer from the kernel (${errnoName(-n)})`);
    return splitMessages(buf.slice(0, n));
  }

  private fail(what: string, m: NlMessage): never {
    const { errno, kernelMessage } = parseError(m);
    const why = kernelMessage ? `${kernelMessage} (${errnoName(errno)})` : errnoName(errno);
    const hint = HINTS[errno];
    throw new MinidockError(`${what}: ${why}${hint ? ` — ${hint}` : ''}`);
  }

  /** Send a request with NLM_F_ACK and wait for its verdict; `what` names it in the error line. */
  request(what: string, build: (seq: number) => Uint8Array): void {
    const seq = this.send(build);
    for (;;) {
      for (const m of this.recv(what)) {
        if (m.seq !== seq || m.type !== NLMSG_ERROR) continue; // a late answer to an earlier request
        if (parseError(m).errno === 0) return;
        this.fail(what, m);
      }
    }
  }

  /** A get request for one object: true when the kernel answers with it (an ack after it stays
   * unread), false when it answers `absent` (its errno for "no such object"), any other error thrown. */
  has(what: string, absent: number, build: (seq: number) => Uint8Array): boolean {
    const seq = this.send(build);
    for (;;) {
      for (const m of this.recv(what)) {
        if (m.seq !== seq) continue;
        if (m.type !== NLMSG_ERROR) return true; // the object itself
        const { errno } = parseError(m);
        if (errno === absent) return false;
        this.fail(what, m);
      }
    }
  }

  /** A dump: every message until NLMSG_DONE. A dump that the kernel marks interrupted (the table
   * changed under it: NLM_F_DUMP_INTR) is asked again. */
  dump(what: string, build: (seq: number) => Uint8Array): NlMessage[] {
    for (let attempt = 0; ; attempt++) {
      const seq = this.send(build);
      const out: NlMessage[] = [];
      let intr = false;
      for (let done = false; !done; ) {
        for (const m of this.recv(what)) {
          if (m.seq !== seq) continue;
          if (m.flags & NLM_F_DUMP_INTR) intr = true;
          if (m.type === NLMSG_DONE) done = true;
          else if (m.type === NLMSG_ERROR) this.fail(what, m);
          else out.push(m);
        }
      }
      if (!intr || attempt >= 3) return out;
    }
  }

  links(): Link[] {
    return this.dump('list links (RTM_GETLINK)', dumpLinksMsg)
      .filter((m) => m.type === RTM_NEWLINK)
      .map((m) => parseLink(m.body));
  }

  /** The link named `name`, or undefined. */
  link(name: string): Link | undefined {
    const seq = this.send((s) => getLinkMsg(s, name));
    for (;;) {
      for (const m of this.recv(`find link ${name}`)) {
        if (m.seq !== seq) continue;
        if (m.type === RTM_NEWLINK) return parseLink(m.body);
        if (m.type === NLMSG_ERROR) {
          if (parseError(m).errno === 19 /* ENODEV */) return undefined;
          this.fail(`find link ${name}`, m);
        }
      }
    }
  }

  private index(name: string): number {
    const l = this.link(name);
    if (!l) throw new MinidockError(`no network link named ${name} (see ip link)`);
    return l.index;
  }

  /** IPv4 routes of the main table (what the host routes by, unless it has policy rules). */
  routes(): Route[] {
    return this.dump('list routes (RTM_GETROUTE)', dumpRoutesMsg)
      .map((m) => parseRoute(m.body))
      .filter((r) => r.table === RT_TABLE_MAIN);
  }

  addLink(l: NewLink): void {
    this.request(`ip link add ${l.name} type ${l.kind}${l.peer ? ` peer ${l.peer.name}` : ''} (RTM_NEWLINK)`, (s) =>
      newLinkMsg(s, l),
    );
  }

  setLink(name: string, c: LinkChange): void {
    const index = this.index(name);
    const what = Object.entries(c)
      .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join(' ');
    this.request(`ip link set ${name} ${what} (RTM_NEWLINK)`, (s) => setLinkMsg(s, index, c));
  }

  delLink(name: string): void {
    const index = this.index(name);
    this.request(`ip link del ${name} (RTM_DELLINK)`, (s) => delLinkMsg(s, index));
  }

  addAddr(name: string, ip: number, prefixLen: number): void {
    const index = this.index(name);
    this.request(`ip addr add ${formatIPv4(ip)}/${prefixLen} dev ${name} (RTM_NEWADDR)`, (s) =>
      newAddrMsg(s, index, ip, prefixLen),
    );
  }

  /** `dev` names the outgoing link (RTA_OIF). */
  addRoute(r: Omit<NewRoute, 'oif'> & { dev?: string }): void {
    const oif = r.dev === undefined ? undefined : this.index(r.dev);
    const dst = r.dst ? `${formatIPv4(r.dst.addr)}/${r.dst.len}` : 'default';
    const what = `ip route add ${dst}${r.gateway !== undefined ? ` via ${formatIPv4(r.gateway)}` : ''}${r.dev ? ` dev ${r.dev}` : ''} (RTM_NEWROUTE)`;
    this.request(what, (s) => newRouteMsg(s, { dst: r.dst, gateway: r.gateway, oif }));
  }
}

/** Run fn with a netlink socket (in the namespace of netnsFd when given), closed afterwards. */
export function withNetlink<T>(fn: (nl: Netlink) => T, netnsFd = -1, protocol = NETLINK_ROUTE): T {
  const nl = new Netlink(netnsFd, protocol);
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}
