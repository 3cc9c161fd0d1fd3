// The cgroup v2 device filter: an eBPF program built from the same rules as the v1 devices cgroup.
import { describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors';
import {
  BPF_DEVCG_ACC_MKNOD as M,
  BPF_DEVCG_ACC_READ as R,
  BPF_DEVCG_ACC_WRITE as W,
  BPF_DEVCG_DEV_BLOCK as B,
  BPF_DEVCG_DEV_CHAR as C,
  deviceProgram,
  encodeEbpf,
  evaluateDevice,
  parseDeviceRule,
} from '../../src/runtime/cgroups/device-bpf';
import { V1_DEVICE_RULES } from '../../src/runtime/cgroups/v1';

const prog = deviceProgram(V1_DEVICE_RULES.map(parseDeviceRule));

describe('device filter (cgroup v2, eBPF)', () => {
  it('allows exactly the minimal /dev and mknod, as the v1 rules do', () => {
    expect(evaluateDevice(prog, C, R | W, 1, 3)).toBe(1); // /dev/null
    expect(evaluateDevice(prog, C, R, 1, 9)).toBe(1); // /dev/urandom
    expect(evaluateDevice(prog, C, R | W, 136, 7)).toBe(1); // /dev/pts/7
    expect(evaluateDevice(prog, C, M, 4, 1)).toBe(1); // mknod of any char device...
    expect(evaluateDevice(prog, B, M, 8, 0)).toBe(1); // ...and block device (Docker's rules)
    expect(evaluateDevice(prog, B, R, 8, 0)).toBe(0); // but reading the host's disk: no
    expect(evaluateDevice(prog, B, R | W, 7, 0)).toBe(0); // a loop device: no
    expect(evaluateDevice(prog, C, R, 1, 1)).toBe(0); // /dev/mem: no
    expect(evaluateDevice(prog, C, R | M, 4, 1)).toBe(0); // more than the rule allows: no
    expect(evaluateDevice(prog, C, R, 10, 200)).toBe(0); // /dev/net/tun: no
  });

  it('encodes struct bpf_insn little-endian: code, src<<4|dst, off, imm', () => {
    const bytes = encodeEbpf(deviceProgram([parseDeviceRule('c 1:3 rw')]));
    expect([...bytes.subarray(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]); // r2 = *(u32 *)(r1 + 0)
    expect([...bytes.subarray(8, 16)]).toEqual([0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]); // w2 &= 0xffff
    expect([...bytes.subarray(48, 56)]).toEqual([0x55, 0x02, 7, 0, 2, 0, 0, 0]); // if r2 != 2 (char): skip the 7 left of the block
    expect([...bytes.subarray(bytes.length - 16)]).toEqual([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]); // r0 = 0; exit
  });

  it('type "a" and wildcards skip their comparisons', () => {
    const p = deviceProgram([parseDeviceRule('a *:* r')]);
    expect(evaluateDevice(p, B, R, 8, 0)).toBe(1);
    expect(evaluateDevice(p, C, W, 1, 3)).toBe(0);
  });

  it('refuses a malformed rule', () => {
    expect(() => parseDeviceRule('x 1:3 rwm')).toThrow(MinidockError);
    expect(() => parseDeviceRule('c 1:3 rwx')).toThrow(/TYPE MAJOR:MINOR ACCESS/);
  });
});
