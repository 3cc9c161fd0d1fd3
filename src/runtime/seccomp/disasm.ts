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
  0x00: 'add',
  0x10: 'sub',
  0x20: 'mul',
  0x30: 'div',
  0x40: 'or',
  0x50: 'and',
  0x60: 'lsh',
  0x70: 'rsh',
  0x80: 'neg',
  0x90: 'mod',
  0xa0: 'xor',
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
  if (off >= 16 && off < 64)
    return {
      kind: 'arg',
      index: Math.floor((off - 16) / 8),
      half: (off - 16) % 8 === 0 ? 'low' : 'high',
      masked: false,
    };
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

/** One instruction decoded: its text, an inferred note, and where control goes next. */
interface Decoded {
  text: string;
  note?: string;
  /** What A holds after it, when it falls through to the following instruction. */
  after?: AState;
  /** Its jump targets (absolute indexes); A is unchanged along a jump. */
  jumps?: number[];
}

/** Disassemble a seccomp program into a commented listing, one instruction per line. */
export function disassemble(bytes: Uint8Array | readonly SockFilter[], opts: DisassembleOptions = {}): string {
  const prog = bytes instanceof Uint8Array ? decode(bytes) : bytes;
  const count = prog.length;
  const width = String(Math.max(count - 1, 0)).length;

  // Accumulator state flowing into each instruction.
  const incoming: (AState | undefined)[] = new Array(count).fill(undefined);
  incoming[0] = OTHER;
  const flow = (to: number, state: AState): void => {
    if (to >= count) return;
    const current = incoming[to];
    incoming[to] = current === undefined || same(current, state) ? state : OTHER;
  };

  const lines: string[] = [];
  lines.push(
    `seccomp BPF program: ${count} instructions, ${count * SOCK_FILTER_SIZE} bytes (${SOCK_FILTER_SIZE} per struct sock_filter)`,
  );
  lines.push(`jump targets are line numbers (Ln); "next" is the following line`);
  lines.push('');
  for (let i = 0; i < count; i++) {
    const state = incoming[i] ?? OTHER;
    const decoded = decodeInstruction(prog, i, state);
    for (const to of decoded.jumps ?? []) flow(to, state);
    if (decoded.after) flow(i + 1, decoded.after);
    lines.push(listingLine(i, prog[i], decoded, opts, width));
  }
  return lines.join('\n') + '\n';
}

/** Decode instruction `i`, given what A holds when it runs. */
function decodeInstruction(prog: readonly SockFilter[], i: number, state: AState): Decoded {
  const insn = prog[i];
  switch (bpfClass(insn.code)) {
    case BPF_LD:
      return decodeLoad(insn, state);
    case BPF_LDX: {
      const mode = insn.code & 0xe0;
      const text =
        mode === BPF_IMM
          ? `ldx  #${num(insn.k)}`
          : mode === BPF_MEM
            ? `ldx  M[${insn.k}]`
            : mode === BPF_LEN
              ? 'ldx  #len'
              : `ldx? code=${hex(insn.code)}`;
      return { text, after: state };
    }
    case BPF_ST:
      return { text: `st   M[${insn.k}]`, after: state };
    case BPF_STX:
      return { text: `stx  M[${insn.k}]`, after: state };
    case BPF_ALU:
      return decodeAlu(insn, state);
    case BPF_JMP:
      return decodeJump(prog, i, state);
    case BPF_RET:
      return { text: (insn.code & 0x18) === BPF_A ? 'ret  A' : `ret  ${formatAction(insn.k)}` };
    case BPF_MISC: {
      const isTax = (insn.code & 0xf8) === BPF_TAX;
      return { text: isTax ? 'tax' : 'txa', after: isTax ? state : OTHER };
    }
    default:
      return { text: `???  code=${hex(insn.code)}`, after: state };
  }
}

/** `ld`: a word of seccomp_data (named, and tracked), a constant, scratch memory or the length. */
function decodeLoad(insn: SockFilter, state: AState): Decoded {
  const mode = insn.code & 0xe0;
  if (mode === BPF_ABS) return { text: `ld   [${insn.k}]`, note: fieldName(insn.k), after: stateAfterLoad(insn.k) };
  if (mode === BPF_IMM) return { text: `ld   #${num(insn.k)}`, after: OTHER };
  if (mode === BPF_MEM) return { text: `ld   M[${insn.k}]`, after: OTHER };
  if (mode === BPF_LEN) return { text: 'ld   #len', note: 'sizeof(struct seccomp_data) = 64', after: OTHER };
  return { text: `ld?  code=${hex(insn.code)} k=${hex(insn.k)}`, after: state };
}

/** Arithmetic on A; an `and` keeps an argument half tracked (as masked) and names the namespace flags mask. */
function decodeAlu(insn: SockFilter, state: AState): Decoded {
  const op = insn.code & 0xf0;
  const fromX = (insn.code & BPF_X) === BPF_X;
  const name = ALU_NAMES[op] ?? 'alu?';
  const text = op === 0x80 ? 'neg' : `${name.padEnd(4)} ${fromX ? 'x' : `#${num(insn.k)}`}`;
  let note: string | undefined;
  if (op === 0x50 && !fromX) {
    const names = CLONE_FLAGS.filter(([bit]) => (insn.k & bit) !== 0).map(([, flagName]) => flagName);
    const allFlags = CLONE_FLAGS.reduce((mask, [bit]) => mask | bit, 0);
    if (insn.k >>> 0 === allFlags >>> 0) note = `namespace flags: ${names.join('|')}`;
  }
  const after: AState = state.kind === 'arg' && op === 0x50 ? { ...state, masked: true } : OTHER;
  return { text, note, after };
}

/** `ja` or a conditional jump; a comparison with a constant is explained from what A holds. */
function decodeJump(prog: readonly SockFilter[], i: number, state: AState): Decoded {
  const insn = prog[i];
  const op = insn.code & 0xf0;
  if (op === BPF_JA) return { text: `ja   L${i + 1 + insn.k}`, jumps: [i + 1 + insn.k] };
  const fromX = (insn.code & BPF_X) === BPF_X;
  const name = JMP_NAMES[op] ?? 'j?';
  const operand = fromX ? 'x' : `#${num(insn.k)}`;
  return {
    text: `${name.padEnd(4)} ${operand}, ${jumpLabel(prog, i, insn.jt)}, ${jumpLabel(prog, i, insn.jf)}`,
    note: fromX ? undefined : compareComment(state, insn.k, op),
    jumps: [i + 1 + insn.jt, i + 1 + insn.jf],
  };
}

/** A jump target; when it is a `ja` trampoline, also where that leads: "L47→L313". */
function jumpLabel(prog: readonly SockFilter[], i: number, offset: number): string {
  const to = i + 1 + offset;
  const hop = prog[to];
  if (hop && bpfClass(hop.code) === BPF_JMP && (hop.code & 0xf0) === BPF_JA) return `L${to}→L${to + 1 + hop.k}`;
  return offset === 0 ? 'next' : `L${to}`;
}

/** One line of the listing: index, raw fields (with `raw`), text, then the inferred and compiler notes. */
function listingLine(i: number, insn: SockFilter, decoded: Decoded, opts: DisassembleOptions, width: number): string {
  const { text, note } = decoded;
  const extra = opts.comments?.[i];
  const notes = note && extra && extra.startsWith(note) ? [extra] : [note, extra].filter(Boolean);
  const rawCol = opts.raw
    ? `${hex(insn.code).padEnd(6)} ${String(insn.jt).padStart(3)} ${String(insn.jf).padStart(3)} ${hex(insn.k).padEnd(10)}  `
    : '';
  const body = notes.length ? `${text.padEnd(34)} ; ${notes.join(' - ')}` : text;
  return `${String(i).padStart(width + 2)}  ${rawCol}${body}`.trimEnd();
}
