// IPv4 addresses as unsigned 32-bit numbers (10.87.0.1 = 0x0a570001): arithmetic on them is what
// IPAM and the subnet choice need, and netlink wants the 4 bytes in network order (big-endian).

export interface Cidr {
  /** the network address (host bits cleared) */
  addr: number;
  /** the prefix length, 0-32 */
  len: number;
}

/** '10.87.0.1' -> 0x0a570001; undefined when it is not four decimal octets. */
export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The 4 bytes in network order, as netlink carries them (IFA_LOCAL, RTA_GATEWAY, ...). */
export function ipv4Bytes(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

export function mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** '10.87.0.0/16' -> {addr, len}; undefined when malformed. Host bits set ('10.87.0.1/16') are
 * refused rather than silently cleared: the user meant something else. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const addr = parseIPv4(m[1]);
  const len = Number(m[2]);
  if (addr === undefined || len > 32 || (addr & ~mask(len)) !== 0) return undefined;
  return { addr, len };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.addr)}/${c.len}`;
}

export function contains(c: Cidr, ip: number): boolean {
  return (ip & mask(c.len)) >>> 0 === c.addr;
}

/** Two prefixes overlap when the shorter one contains the other's network address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.len <= b.len ? contains(a, b.addr) : contains(b, a.addr);
}
