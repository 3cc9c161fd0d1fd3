import { describe, expect, it } from 'vitest';
import { formatIPv4, parseCidr, parseIPv4 } from '../../src/runtime/network/ipv4';

describe('parseIPv4 (by hand, no regular expression)', () => {
  it('reads four decimal octets', () => {
    expect(parseIPv4('10.87.0.1')).toBe(0x0a570001);
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4('010.1.1.1')).toBe(0x0a010101); // leading zeros: decimal, as before
    for (const s of ['1.2.3.4', '192.168.100.200', '172.17.0.2']) expect(formatIPv4(parseIPv4(s)!)).toBe(s);
  });
  it('refuses anything else', () => {
    for (const s of [
      '',
      '1.2.3',
      '1.2.3.4.',
      '.1.2.3.4',
      '1..2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.1000',
      '1.2.3.0001',
      '1.2.3.x',
      ' 1.2.3.4',
      '1.2.3.4/24',
      '-1.2.3.4',
    ])
      expect(parseIPv4(s), s).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it('reads a network and its prefix length', () => {
    expect(parseCidr('10.87.0.0/16')).toEqual({ addr: 0x0a570000, len: 16 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ addr: 0, len: 0 });
    expect(parseCidr('10.1.2.3/32')).toEqual({ addr: 0x0a010203, len: 32 });
  });
  it('refuses host bits, bad lengths and other shapes', () => {
    for (const s of [
      '10.87.0.1/16',
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0',
      '10.0.0.0/1x',
      '10.0.0.0/123',
      '/8',
      'x/8',
    ])
      expect(parseCidr(s), s).toBeUndefined();
  });
});
