// A tiny classic-BPF interpreter: runs a seccomp program on a made-up syscall, so decisions can be
// checked (in tests, and by `minidock seccomp test`) without loading anything into a kernel.
//
// It does what the kernel does: build the 64-byte `struct seccomp_data` for the call, run the
// instructions with the accumulator A, the index register X and 16 scratch words, and decode the value
// of the `ret` the program stops at.

import { AUDIT_ARCH_X86_64, type ActionName, decodeAction } from './actions.js';
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_DIV,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MISC,
  BPF_MOD,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_X,
  BPF_XOR,
  SECCOMP_DATA,
  type SockFilter,
  bpfClass,
  checkSeccompProgram,
  decode,
} from './bpf.js';

export interface SyscallInput {
  /** The syscall number (x86_64 numbering, or with the x32 bit set). */
  nr: number;
  /** AUDIT_ARCH_* of the calling ABI; default AUDIT_ARCH_X86_64. */
  arch?: number;
  /** Up to six arguments, as 64-bit values. Missing ones are 0. */
  args?: readonly (bigint | number)[];
  instructionPointer?: bigint;
}

export interface Decision {
  action: ActionName;
  /** For ERRNO: the errno the call fails with. */
  errno?: number;
  /** For TRACE and TRAP: the 16-bit data. */
  data?: number;
  /** The value the program returned. */
  raw: number;
  /** How many instructions ran (a cost measure). */
  steps: number;
  /** With `{ trace: true }`: the index of every instruction that ran, in order. */
  path?: number[];
}

export interface EvaluateOptions {
  /** Record the instructions that ran (Decision.path), e.g. to show which way the filter went. */
  trace?: boolean;
}

/** Build the `struct seccomp_data` the kernel would hand to the filter (little-endian). */
export function seccompData(input: SyscallInput): DataView {
  const view = new DataView(new ArrayBuffer(SECCOMP_DATA.size));
  view.setUint32(SECCOMP_DATA.nr, input.nr >>> 0, true);
  view.setUint32(SECCOMP_DATA.arch, (input.arch ?? AUDIT_ARCH_X86_64) >>> 0, true);
  view.setBigUint64(8, BigInt.asUintN(64, input.instructionPointer ?? 0n), true);
  const args = input.args ?? [];
  if (args.length > 6) throw new RangeError('a syscall has at most 6 arguments');
  args.forEach((arg, i) => {
    view.setBigUint64(16 + 8 * i, BigInt.asUintN(64, BigInt(arg)), true);
  });
  return view;
}

/**
 * Run a seccomp program (bytes as produced by encode()/compileProfile()) on one syscall and return
 * the decision. Throws if the program is one the kernel would refuse to load.
 */
export function evaluate(
  program: Uint8Array | readonly SockFilter[],
  input: SyscallInput,
  opts: EvaluateOptions = {},
): Decision {
  const prog = program instanceof Uint8Array ? decode(program) : program;
  const problems = checkSeccompProgram(prog);
  if (problems.length) throw new Error(`invalid seccomp program: ${problems.join('; ')}`);
  const m: Machine = { A: 0, X: 0, pc: 0, mem: new Uint32Array(BPF_MEMWORDS), data: seccompData(input) };
  let steps = 0;
  const path: number[] | undefined = opts.trace ? [] : undefined;
  // checkSeccompProgram proved that every path ends in a `ret` inside the program (jumps only go
  // forward and stay in bounds, the last instruction is a `ret`), so this loop always stops.
  for (;;) {
    steps++;
    path?.push(m.pc);
    const raw = step(prog[m.pc], m);
    if (raw !== undefined) {
      const result = decision(raw, steps);
      if (path) result.path = path;
      return result;
    }
  }
}

/** What the kernel's BPF interpreter holds while a filter runs. */
interface Machine {
  /** The accumulator and the index register, unsigned 32-bit. */
  A: number;
  X: number;
  /** The index of the instruction to run next. */
  pc: number;
  /** The 16 scratch words (M[0..15]). */
  mem: Uint32Array;
  /** The struct seccomp_data the filter reads with `ld [k]`. */
  data: DataView;
}

/** Run one instruction: move `m` on, or return the value the program stops with. Split by instruction class. */
function step(insn: SockFilter, m: Machine): number | undefined {
  switch (bpfClass(insn.code)) {
    case BPF_LD:
      loadA(insn, m);
      break;
    case BPF_LDX:
      loadX(insn, m);
      break;
    case BPF_ST:
      m.mem[insn.k] = m.A;
      break;
    case BPF_STX:
      m.mem[insn.k] = m.X;
      break;
    case BPF_ALU:
      if (!alu(insn, m)) return 0;
      break;
    case BPF_JMP:
      jump(insn, m);
      return undefined;
    case BPF_RET:
      return (insn.code & 0x18) === BPF_A ? m.A : insn.k;
    case BPF_MISC:
      if ((insn.code & 0xf8) === BPF_TAX) m.X = m.A;
      else m.A = m.X;
      break;
  }
  m.pc++;
  return undefined;
}

/** The operand of an ALU or jump instruction: X with the BPF_X bit, else the constant k. */
function operandOf(insn: SockFilter, m: Machine): number {
  return (insn.code & BPF_X) === BPF_X ? m.X : insn.k;
}

/** `ld`: A = a word of seccomp_data, a constant, a scratch word, or the data's length. */
function loadA(insn: SockFilter, m: Machine): void {
  switch (insn.code & 0xe0) {
    case BPF_ABS:
      m.A = m.data.getUint32(insn.k, true);
      break;
    case BPF_IMM:
      m.A = insn.k;
      break;
    case BPF_MEM:
      m.A = m.mem[insn.k];
      break;
    case BPF_LEN:
      m.A = SECCOMP_DATA.size;
      break;
  }
}

/** `ldx`: X = a constant, a scratch word, or the data's length (there is no `ldx [k]` in seccomp). */
function loadX(insn: SockFilter, m: Machine): void {
  switch (insn.code & 0xe0) {
    case BPF_IMM:
      m.X = insn.k;
      break;
    case BPF_MEM:
      m.X = m.mem[insn.k];
      break;
    case BPF_LEN:
      m.X = SECCOMP_DATA.size;
      break;
  }
}

/**
 * Arithmetic on A, kept unsigned 32-bit (`>>> 0`). Returns false on a division or modulo by zero:
 * the kernel's interpreter then stops the filter with 0, i.e. SECCOMP_RET_KILL_THREAD.
 */
function alu(insn: SockFilter, m: Machine): boolean {
  const operand = operandOf(insn, m);
  const A = m.A;
  switch (insn.code & 0xf0) {
    case BPF_ADD:
      m.A = (A + operand) >>> 0;
      break;
    case BPF_SUB:
      m.A = (A - operand) >>> 0;
      break;
    case BPF_MUL:
      m.A = Math.imul(A, operand) >>> 0;
      break;
    case BPF_DIV:
      if (operand === 0) return false;
      m.A = Math.floor(A / operand) >>> 0;
      break;
    case BPF_MOD:
      if (operand === 0) return false;
      m.A = (A % operand) >>> 0;
      break;
    case BPF_OR:
      m.A = (A | operand) >>> 0;
      break;
    case BPF_AND:
      m.A = (A & operand) >>> 0;
      break;
    case BPF_XOR:
      m.A = (A ^ operand) >>> 0;
      break;
    case BPF_LSH:
      m.A = operand >= 32 ? 0 : (A << operand) >>> 0;
      break;
    case BPF_RSH:
      m.A = operand >= 32 ? 0 : A >>> operand;
      break;
    case BPF_NEG:
      m.A = -A >>> 0;
      break;
  }
  return true;
}

/** `ja` skips k instructions; a conditional jump compares A and skips jt if true, jf if false. */
function jump(insn: SockFilter, m: Machine): void {
  const op = insn.code & 0xf0;
  if (op === BPF_JA) {
    m.pc += 1 + insn.k;
    return;
  }
  const operand = operandOf(insn, m);
  const A = m.A;
  let cond = false;
  if (op === BPF_JEQ) cond = A === operand >>> 0;
  else if (op === BPF_JGT) cond = A > operand >>> 0;
  else if (op === BPF_JGE) cond = A >= operand >>> 0;
  else if (op === BPF_JSET) cond = (A & operand) !== 0;
  m.pc += 1 + (cond ? insn.jt : insn.jf);
}

function decision(raw: number, steps: number): Decision {
  const decoded = decodeAction(raw);
  const out: Decision = { action: decoded.action, raw: decoded.raw, steps };
  if (decoded.errno !== undefined) out.errno = decoded.errno;
  if (decoded.data !== undefined) out.data = decoded.data;
  return out;
}
