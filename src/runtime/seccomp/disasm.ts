// A disassembler for seccomp BPF programs: bytes -> a listing a student can read.
//
//   seccomp BPF program: 312 instructions, 2496 bytes
//      0  ld   [4]                        ; arch
//      1  jeq  #0xc000003e, next, L311    ; AUDIT_ARCH_X86_64
//      2  ld   [0]                        ; syscall number
//      3  jge  #0x40000000, L311, next    ; x32 syscall bit
//      4  jeq  #0, L309, next             ; read
//
// To name the constants, it tracks what the accumulator holds at each instruction (the syscall
// number, the arch, an argument half). cBPF jumps only go forward, so one pass in program order sees
// every path into an instruction before the instruction itself.

import { AUDIT_ARCH_NAMES, X32_SYSCALL_BIT, formatAction } from './actions.js';
import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
  BPF_IMM,
  BPF_JA,
  BPF_JMP,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_MEM,
  BPF_MISC,
  BPF_RET,
  BPF_ST,
  BPF_STX,
  BPF_TAX,
  BPF_X,
  SOCK_FILTER_SIZE,
  type SockFilter,
  bpfClass,
  decode,
} from './bpf.js';
import { syscallName } from './syscalls-x86_64.js';

export interface DisassembleOptions {
  /** Per-instruction notes from the compiler (CompiledFilter.comments), shown after the inferred ones. */
  comments?: readonly (string | undefined)[];
  /** Also show each instruction's raw fields (code, jt, jf, k) in hex. */
  raw?: boolean;
}

/** What the accumulator holds. */
type AState =
  | { kind: 'nr' }
  | { kind: 'arch' }
  | { kind: 'arg'; index: number; half: 'low' | 'high'; masked: boolean }
  | { kind: 'ip' }
  | { kind: 'other' };

const OTHER: AState = { kind: 'other' };
const same = (a: AState, b: AState): boolean => JSON.stringify(a) === JSON.stringify(b);

const ALU_NAMES: Record<number, string> = {
  0x00: 'add', 0x10: 'sub', 0x20: 'mul', 0x30: 'div', 0x40: 'or', 0x50: 'and', 0x60: 'lsh', 0x70: 'rsh',
  0x80: 'neg', 0x90: 'mod', 0xa0: 'xor',
};
const JMP_NAMES: Record<number, string> = { 0x00: 'ja', 0x10: 'jeq', 0x20: 'jgt', 0x30: 'jge', 0x40: 'jset' };

const CLONE_FLAGS: [number, string][] = [
  [0x00020000, 'CLONE_NEWNS'],
  [0x02000000, 'CLONE_NEWCGROUP'],
  [0x04000000, 'CLONE_NEWUTS'],
  [0x08000000, 'CLONE_NEWIPC'],
  [0x10000000, 'CLONE_NEWUSER'],
  [0x20000000, 'CLONE_NEWPID'],
  [0x40000000, 'CLONE_NEWNET'],
];

/** Name of a word of struct seccomp_data. */
function fieldName(off: number): string {
  if (off === 0) return 'syscall number';
  if (off === 4) return 'arch';
  if (off === 8) return 'instruction_pointer low 32 bits';
  if (off === 12) return 'instruction_pointer high 32 bits';
  if (off >= 16 && off < 64) {
    const i = Math.floor((off - 16) / 8);
    return `args[${i}] ${(off - 16) % 8 === 0 ? 'low' : 'high'} 32 bits`;
  }
  return `offset ${off}`;
}

function stateAfterLoad(off: number): AState {
  if (off === 0) return { kind: 'nr' };
  if (off === 4) return { kind: 'arch' };
  if (off === 8 || off === 12) return { kind: 'ip' };
  if (off >= 16 && off < 64) return { kind: 'arg', index: Math.floor((off - 16) / 8), half: (off - 16) % 8 === 0 ? 'low' : 'high', masked: false };
  return OTHER;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
/** Small numbers in decimal, big ones (flags, masks) in hex. */
const num = (n: number): string => (n >>> 0 < 4096 ? String(n >>> 0) : hex(n));

/** Comment for a comparison of A (in state s) with k. */
function compareComment(s: AState, k: number, op: number): string | undefined {
  switch (s.kind) {
    case 'nr':
      if (op === 0x10) return syscallName(k) ?? `syscall ${k} (unknown on x86_64)`;
      if (k === X32_SYSCALL_BIT) return 'x32 syscall bit';
      return undefined;
    case 'arch':
      return AUDIT_ARCH_NAMES.get(k >>> 0) ?? 'unknown arch';
    case 'arg': {
      const sym = op === 0x10 ? '==' : op === 0x20 ? '>' : op === 0x30 ? '>=' : '&';
      return `args[${s.index}] ${s.half}${s.masked ? ' & mask' : ''} ${sym} ${num(k)}?`;
    }
    default:
      return undefined;
  }
}

/** Disassemble a seccomp program into a commented listing, one instruction per line. */
export function disassemble(bytes: Uint8Array | readonly SockFilter[], opts: DisassembleOptions = {}): string {
  const prog = bytes instanceof Uint8Array ? decode(bytes) : bytes;
  const n = prog.length;
  const width = String(Math.max(n - 1, 0)).length;
  // A jump target; when it is a `ja` trampoline, also where that leads: "L47→L313".
  const target = (i: number, off: number): string => {
    const t = i + 1 + off;
    const hop = prog[t];
    if (hop && bpfClass(hop.code) === BPF_JMP && (hop.code & 0xf0) === BPF_JA) return `L${t}→L${t + 1 + hop.k}`;
    return off === 0 ? 'next' : `L${t}`;
  };

  // Accumulator state flowing into each instruction.
  const incoming: (AState | undefined)[] = new Array(n).fill(undefined);
  incoming[0] = OTHER;
  const flow = (to: number, s: AState): void => {
    if (to >= n) return;
    const cur = incoming[to];
    incoming[to] = cur === undefined || same(cur, s) ? s : OTHER;
  };

  const lines: string[] = [];
  lines.push(`seccomp BPF program: ${n} instructions, ${n * SOCK_FILTER_SIZE} bytes (${SOCK_FILTER_SIZE} per struct sock_filter)`);
  lines.push(`jump targets are line numbers (Ln); "next" is the following line`);
  lines.push('');

  for (let i = 0; i < n; i++) {
    const f = prog[i];
    const s = incoming[i] ?? OTHER;
    let text: string;
    let note: string | undefined;
    let out: AState = s;
    let falls = true;
    const srcX = (f.code & BPF_X) === BPF_X;

    switch (bpfClass(f.code)) {
      case BPF_LD: {
        const mode = f.code & 0xe0;
        if (mode === BPF_ABS) {
          text = `ld   [${f.k}]`;
          note = fieldName(f.k);
          out = stateAfterLoad(f.k);
        } else if (mode === BPF_IMM) {
          text = `ld   #${num(f.k)}`;
          out = OTHER;
        } else if (mode === BPF_MEM) {
          text = `ld   M[${f.k}]`;
          out = OTHER;
        } else if (mode === BPF_LEN) {
          text = 'ld   #len';
          note = 'sizeof(struct seccomp_data) = 64';
          out = OTHER;
        } else text = `ld?  code=${hex(f.code)} k=${hex(f.k)}`;
        break;
      }
      case BPF_LDX: {
        const mode = f.code & 0xe0;
        text = mode === BPF_IMM ? `ldx  #${num(f.k)}` : mode === BPF_MEM ? `ldx  M[${f.k}]` : mode === BPF_LEN ? 'ldx  #len' : `ldx? code=${hex(f.code)}`;
        break;
      }
      case BPF_ST:
        text = `st   M[${f.k}]`;
        break;
      case BPF_STX:
        text = `stx  M[${f.k}]`;
        break;
      case BPF_ALU: {
        const op = f.code & 0xf0;
        const name = ALU_NAMES[op] ?? 'alu?';
        text = op === 0x80 ? 'neg' : `${name.padEnd(4)} ${srcX ? 'x' : `#${num(f.k)}`}`;
        if (op === 0x50 && !srcX) {
          const names = CLONE_FLAGS.filter(([bit]) => (f.k & bit) !== 0).map(([, nm]) => nm);
          const all = CLONE_FLAGS.reduce((m, [bit]) => m | bit, 0);
          if (f.k >>> 0 === all >>> 0) note = `namespace flags: ${names.join('|')}`;
        }
        out = s.kind === 'arg' && op === 0x50 ? { ...s, masked: true } : OTHER;
        break;
      }
      case BPF_JMP: {
        const op = f.code & 0xf0;
        falls = false;
        if (op === BPF_JA) {
          text = `ja   L${i + 1 + f.k}`;
          flow(i + 1 + f.k, s);
        } else {
          const name = JMP_NAMES[op] ?? 'j?';
          const operand = srcX ? 'x' : `#${num(f.k)}`;
          text = `${name.padEnd(4)} ${operand}, ${target(i, f.jt)}, ${target(i, f.jf)}`;
          if (!srcX) note = compareComment(s, f.k, op);
          flow(i + 1 + f.jt, s);
          flow(i + 1 + f.jf, s);
        }
        break;
      }
      case BPF_RET:
        falls = false;
        text = (f.code & 0x18) === BPF_A ? 'ret  A' : `ret  ${formatAction(f.k)}`;
        break;
      case BPF_MISC:
        text = (f.code & 0xf8) === BPF_TAX ? 'tax' : 'txa';
        out = (f.code & 0xf8) === BPF_TAX ? s : OTHER;
        break;
      default:
        text = `???  code=${hex(f.code)}`;
    }
    if (falls) flow(i + 1, out);

    const extra = opts.comments?.[i];
    const notes = note && extra && extra.startsWith(note) ? [extra] : [note, extra].filter(Boolean);
    const rawCol = opts.raw ? `${hex(f.code).padEnd(6)} ${String(f.jt).padStart(3)} ${String(f.jf).padStart(3)} ${hex(f.k).padEnd(10)}  ` : '';
    const body = notes.length ? `${text.padEnd(34)} ; ${notes.join(' - ')}` : text;
    lines.push(`${String(i).padStart(width + 2)}  ${rawCol}${body}`.trimEnd());
  }
  return lines.join('\n') + '\n';
}
