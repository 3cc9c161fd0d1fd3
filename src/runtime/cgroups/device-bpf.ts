// The device allow-list on cgroup v2: an eBPF program.
//
// cgroup v1 has a devices controller with files (devices.deny / devices.allow, see v1.ts). cgroup v2
// has none: instead a BPF_PROG_TYPE_CGROUP_DEVICE program is attached to the cgroup, and the kernel
// runs it on every open() and mknod() of a device node by a process in that cgroup. The program gets
// a struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } in r1 — access_type is
// (access << 16) | type — and returns 1 to allow, 0 to deny (EPERM). runc does the same.
//
// This is eBPF, not the classic BPF of seccomp (src/runtime/seccomp/bpf.ts): 64-bit registers r0-r10,
// 8-byte instructions {u8 code; u4 dst; u4 src; s16 off; s32 imm}, jumps relative to the next one.
import { fail } from '../../errors.js';

/**
 * What a container may do with devices, in the devices cgroup's `TYPE MAJOR:MINOR ACCESS` syntax: the
 * minimal /dev, and mknod of anything (Docker's rules; opening a node made that way is still denied).
 * v1 writes these lines to devices.allow; v2 compiles them into the eBPF program below.
 */
export const DEVICE_RULES: readonly string[] = [
  'c *:* m', // mknod of any character device
  'b *:* m', // mknod of any block device
  'c 1:3 rwm', // /dev/null
  'c 1:5 rwm', // /dev/zero
  'c 1:7 rwm', // /dev/full
  'c 1:8 rwm', // /dev/random
  'c 1:9 rwm', // /dev/urandom
  'c 5:0 rwm', // /dev/tty
  'c 5:2 rwm', // /dev/ptmx (and pts/ptmx of the container's own devpts)
  'c 136:* rwm', // /dev/pts/N: the pty slaves
];

/** One rule, parsed. */
export interface DeviceRule {
  type: 'a' | 'b' | 'c';
  major: number | '*';
  minor: number | '*';
  access: string; // some of r, w, m
}

// from <linux/bpf.h>
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;

export function parseDeviceRule(rule: string): DeviceRule {
  const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(rule);
  if (!m) return fail(`device rule "${rule}": use TYPE MAJOR:MINOR ACCESS, e.g. "c 1:3 rwm"`);
  const num = (s: string): number | '*' => (s === '*' ? '*' : Number(s));
  return { type: m[1] as DeviceRule['type'], major: num(m[2]), minor: num(m[3]), access: m[4] };
}

function accessMask(access: string): number {
  return (
    (access.includes('m') ? BPF_DEVCG_ACC_MKNOD : 0) |
    (access.includes('r') ? BPF_DEVCG_ACC_READ : 0) |
    (access.includes('w') ? BPF_DEVCG_ACC_WRITE : 0)
  );
}

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** for the reader of a disassembly */
  comment?: string;
}

// opcodes used here (BPF_CLASS | BPF_OP/SIZE | BPF_SRC/MODE)
const LDX_MEM_W = 0x61; // dst = *(u32 *)(src + off)
const ALU32_AND_K = 0x54; // (u32) dst &= imm
const ALU32_RSH_K = 0x74; // (u32) dst >>= imm
const ALU32_MOV_X = 0xbc; // (u32) dst = src
const ALU64_MOV_K = 0xb7; // dst = imm
const JMP_JNE_K = 0x55; // if dst != imm: pc += off
const JMP_JNE_X = 0x5d; // if dst != src: pc += off
const JMP_EXIT = 0x95; // return r0

const ins = (code: number, dst: number, src: number, off: number, imm: number, comment?: string): Insn => ({
  code,
  dst,
  src,
  off,
  imm,
  comment,
});

/**
 * The program: load type, access, major and minor once, then one block per rule — the first rule
 * that matches allows; none matching denies. A block is skipped with a forward jump past its end.
 */
export function deviceProgram(rules: readonly DeviceRule[]): Insn[] {
  const prog: Insn[] = [
    ins(LDX_MEM_W, 2, 1, 0, 0, 'r2 = ctx->access_type'),
    ins(ALU32_AND_K, 2, 0, 0, 0xffff, 'r2 = type (1 block, 2 char)'),
    ins(LDX_MEM_W, 3, 1, 0, 0, 'r3 = ctx->access_type'),
    ins(ALU32_RSH_K, 3, 0, 0, 16, 'r3 = access (1 mknod, 2 read, 4 write)'),
    ins(LDX_MEM_W, 4, 1, 4, 0, 'r4 = ctx->major'),
    ins(LDX_MEM_W, 5, 1, 8, 0, 'r5 = ctx->minor'),
  ];
  for (const r of rules) {
    const block: Insn[] = [];
    const label = `${r.type} ${r.major}:${r.minor} ${r.access}`;
    // each jump below is patched to land just past this block (off = instructions left to skip)
    if (r.type !== 'a')
      block.push(
        ins(
          JMP_JNE_K,
          2,
          0,
          0,
          r.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
          `${label}: not this type? next rule`,
        ),
      );
    // every access bit asked for must be allowed: (access & allowed) == access
    block.push(ins(ALU32_MOV_X, 1, 3, 0, 0, 'r1 = access'));
    block.push(ins(ALU32_AND_K, 1, 0, 0, accessMask(r.access), `r1 &= allowed (${r.access})`));
    block.push(ins(JMP_JNE_X, 1, 3, 0, 0, 'asks for more than allowed? next rule'));
    if (r.major !== '*') block.push(ins(JMP_JNE_K, 4, 0, 0, r.major, `major != ${r.major}? next rule`));
    if (r.minor !== '*') block.push(ins(JMP_JNE_K, 5, 0, 0, r.minor, `minor != ${r.minor}? next rule`));
    block.push(ins(ALU64_MOV_K, 0, 0, 0, 1, `${label}: allow`));
    block.push(ins(JMP_EXIT, 0, 0, 0, 0));
    block.forEach((x, i) => {
      if (x.code === JMP_JNE_K || x.code === JMP_JNE_X) x.off = block.length - i - 1;
    });
    prog.push(...block);
  }
  prog.push(ins(ALU64_MOV_K, 0, 0, 0, 0, 'no rule matched: deny (EPERM)'), ins(JMP_EXIT, 0, 0, 0, 0));
  return prog;
}

/** struct bpf_insn[] as the kernel reads it (little-endian). */
export function encodeEbpf(prog: readonly Insn[]): Uint8Array {
  const buf = new Uint8Array(prog.length * 8);
  const dv = new DataView(buf.buffer);
  prog.forEach((x, i) => {
    dv.setUint8(i * 8, x.code);
    dv.setUint8(i * 8 + 1, (x.src << 4) | x.dst);
    dv.setInt16(i * 8 + 2, x.off, true);
    dv.setInt32(i * 8 + 4, x.imm | 0, true);
  });
  return buf;
}

/** Run the program on one access, the way the kernel would (only the opcodes above). For tests and lessons. */
export function evaluateDevice(
  prog: readonly Insn[],
  type: number,
  access: number,
  major: number,
  minor: number,
): 0 | 1 {
  const ctx = [(access << 16) | type, major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0; pc < prog.length; pc++) {
    const x = prog[pc];
    switch (x.code) {
      case LDX_MEM_W:
        r[x.dst] = ctx[x.off / 4] >>> 0;
        break;
      case ALU32_AND_K:
        r[x.dst] = (r[x.dst] & x.imm) >>> 0;
        break;
      case ALU32_RSH_K:
        r[x.dst] = r[x.dst] >>> x.imm;
        break;
      case ALU32_MOV_X:
        r[x.dst] = r[x.src] >>> 0;
        break;
      case ALU64_MOV_K:
        r[x.dst] = x.imm;
        break;
      case JMP_JNE_K:
        if (r[x.dst] !== x.imm) pc += x.off;
        break;
      case JMP_JNE_X:
        if (r[x.dst] !== r[x.src]) pc += x.off;
        break;
      case JMP_EXIT:
        return r[0] ? 1 : 0;
      default:
        throw new Error(`opcode 0x${x.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('fell off the end of the program');
}
