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
  const data = seccompData(input);
  const mem = new Uint32Array(BPF_MEMWORDS);
  let A = 0;
  let X = 0;
  let pc = 0;
  let steps = 0;
  const path: number[] | undefined = opts.trace ? [] : undefined;
  const finish = (raw: number, stepCount: number): Decision => {
    const result = decision(raw, stepCount);
    if (path) result.path = path;
    return result;
  };
  for (;;) {
    const insn = prog[pc];
    steps++;
    path?.push(pc);
    const operand = (insn.code & BPF_X) === BPF_X ? X : insn.k;
    switch (bpfClass(insn.code)) {
      case BPF_LD:
        switch (insn.code & 0xe0) {
          case BPF_ABS:
            A = data.getUint32(insn.k, true);
            break;
          case BPF_IMM:
            A = insn.k;
            break;
          case BPF_MEM:
            A = mem[insn.k];
            break;
          case BPF_LEN:
            A = SECCOMP_DATA.size;
            break;
        }
        break;
      case BPF_LDX:
        switch (insn.code & 0xe0) {
          case BPF_IMM:
            X = insn.k;
            break;
          case BPF_MEM:
            X = mem[insn.k];
            break;
          case BPF_LEN:
            X = SECCOMP_DATA.size;
            break;
        }
        break;
      case BPF_ST:
        mem[insn.k] = A;
        break;
      case BPF_STX:
        mem[insn.k] = X;
        break;
      case BPF_ALU:
        switch (insn.code & 0xf0) {
          case BPF_ADD:
            A = (A + operand) >>> 0;
            break;
          case BPF_SUB:
            A = (A - operand) >>> 0;
            break;
          case BPF_MUL:
            A = Math.imul(A, operand) >>> 0;
            break;
          case BPF_DIV:
            if (operand === 0) return finish(0, steps);
            A = Math.floor(A / operand) >>> 0;
            break;
          case BPF_MOD:
            if (operand === 0) return finish(0, steps);
            A = (A % operand) >>> 0;
            break;
          case BPF_OR:
            A = (A | operand) >>> 0;
            break;
          case BPF_AND:
            A = (A & operand) >>> 0;
            break;
          case BPF_XOR:
            A = (A ^ operand) >>> 0;
            break;
          case BPF_LSH:
            A = operand >= 32 ? 0 : (A << operand) >>> 0;
            break;
          case BPF_RSH:
            A = operand >= 32 ? 0 : A >>> operand;
            break;
          case BPF_NEG:
            A = -A >>> 0;
            break;
        }
        break;
      case BPF_JMP: {
        const op = insn.code & 0xf0;
        if (op === BPF_JA) {
          pc += 1 + insn.k;
          continue;
        }
        let cond = false;
        if (op === BPF_JEQ) cond = A === operand >>> 0;
        else if (op === BPF_JGT) cond = A > operand >>> 0;
        else if (op === BPF_JGE) cond = A >= operand >>> 0;
        else if (op === BPF_JSET) cond = (A & operand) !== 0;
        pc += 1 + (cond ? insn.jt : insn.jf);
        continue;
      }
      case BPF_RET:
        return finish((insn.code & 0x18) === BPF_A ? A : insn.k, steps);
      case BPF_MISC:
        if ((insn.code & 0xf8) === BPF_TAX) X = A;
        else A = X;
        break;
    }
    pc++;
  }
}

function decision(raw: number, steps: number): Decision {
  const decoded = decodeAction(raw);
  const out: Decision = { action: decoded.action, raw: decoded.raw, steps };
  if (decoded.errno !== undefined) out.errno = decoded.errno;
  if (decoded.data !== undefined) out.data = decoded.data;
  return out;
}
