// IPv4 addresses as unsigned 32-bit numbers (10.87.0.1 = 0x0a570001): arithmetic on them is what
// IPAM and the subnet choice need, and netlink wants the 4 bytes in network order (big-endian).

export interface Cidr {
  /** the network address (host bits cleared) */
  addr: number;
  /** the prefix length, 0-32 */
  len: number;
}

/** '10.87.0.1' -> 0x0a570001; undefined when it is not four decimal octets (1-3 digits, 0-255).
 * Parsed by hand: a launch's first use of a regular expression makes V8 compile it, and this one,
 * with its four bounded repeats, took ~0.2 ms of every bridge launch. */
export function parseIPv4(s: string): number | undefined {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // the end closes the last octet like a '.'
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else if (c === 46 && digits > 0) {
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      if (i < s.length && ++dots > 3) return undefined;
    } else return undefined;
  }
  return dots === 3 ? n : undefined;
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
  const slash = s.indexOf('/');
  const bits = s.slice(slash + 1);
  const digit = (i: number): boolean => bits.charCodeAt(i) >= 48 && bits.charCodeAt(i) <= 57;
  if (slash < 0 || bits.length < 1 || bits.length > 2 || !digit(0) || (bits.length === 2 && !digit(1)))
    return undefined;
  const addr = parseIPv4(s.slice(0, slash));
  const len = Number(bits);
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
