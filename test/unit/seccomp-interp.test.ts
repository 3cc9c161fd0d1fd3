// The seccomp interpreter instruction by instruction: every load mode, every ALU operation (with a
// constant and with X), every jump, the scratch memory, division by zero and the traced path.
// Raw {code, jt, jf, k} instructions, so each test reads as the kernel would see the program.
import { describe, expect, it } from 'vitest';
import {
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
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MEM,
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
  BPF_TXA,
  BPF_X,
  BPF_XOR,
  BPF_A,
  type SockFilter,
  evaluate,
} from '../../src/runtime/seccomp/index.js';

const I = (code: number, k = 0, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k });
const ldA = (k: number) => I(BPF_LD | BPF_IMM, k);
const ldX = (k: number) => I(BPF_LDX | BPF_IMM, k);
const retA = I(BPF_RET | BPF_A);
const retK = (k: number) => I(BPF_RET | BPF_K, k);
/** A = a, X = x, then `op`, then return A. */
const run = (a: number, x: number, op: SockFilter) => evaluate([ldA(a), ldX(x), op, retA], { nr: 0 });

describe('interpreter: ALU operations, with k and with X, unsigned 32-bit', () => {
  const cases: [string, number, number, number][] = [
    // name, A, operand, expected A
    ['add wraps', 0xffffffff, 2, 1],
    ['sub wraps', 1, 2, 0xffffffff],
    ['mul keeps the low 32 bits', 0x10000, 0x10001, 0x10000],
    ['div truncates', 7, 2, 3],
    ['mod', 7, 3, 1],
    ['or', 0xf0, 0x0f, 0xff],
    ['and', 0xff00ff00, 0x0ff00ff0, 0x0f000f00],
    ['xor', 0xffff0000, 0xff00ff00, 0x00ffff00],
    ['lsh', 1, 31, 0x80000000],
    ['rsh is logical', 0x80000000, 31, 1],
  ];
  const ops: Record<string, number> = {
    add: BPF_ADD,
    sub: BPF_SUB,
    mul: BPF_MUL,
    div: BPF_DIV,
    mod: BPF_MOD,
    or: BPF_OR,
    and: BPF_AND,
    xor: BPF_XOR,
    lsh: BPF_LSH,
    rsh: BPF_RSH,
  };
  for (const [name, a, operand, want] of cases) {
    const op = ops[name.split(' ')[0]];
    it(`${name}: ${a} and ${operand} -> ${want}`, () => {
      expect(run(a, 0, I(BPF_ALU | op | BPF_K, operand)).raw).toBe(want);
      expect(run(a, operand, I(BPF_ALU | op | BPF_X)).raw).toBe(want);
    });
  }

  it('neg, and shifts by 32 or more give 0', () => {
    expect(run(1, 0, I(BPF_ALU | BPF_NEG)).raw).toBe(0xffffffff);
    expect(run(0xffffffff, 32, I(BPF_ALU | BPF_LSH | BPF_X)).raw).toBe(0);
    expect(run(0xffffffff, 40, I(BPF_ALU | BPF_RSH | BPF_X)).raw).toBe(0);
  });

  it('division or modulo by X = 0 stops the filter with 0 (KILL_THREAD), the instructions after it unrun', () => {
    for (const op of [BPF_DIV, BPF_MOD]) {
      const d = evaluate([ldA(7), ldX(0), I(BPF_ALU | op | BPF_X), retK(0x7fff0000)], { nr: 0 }, { trace: true });
      expect(d).toMatchObject({ action: 'KILL_THREAD', raw: 0, steps: 3, path: [0, 1, 2] });
    }
  });
});

describe('interpreter: loads, stores and register moves', () => {
  it('ld/ldx #len give sizeof(struct seccomp_data), 64', () => {
    expect(evaluate([I(BPF_LD | BPF_LEN), retA], { nr: 0 }).raw).toBe(64);
    expect(evaluate([I(BPF_LDX | BPF_LEN), I(BPF_MISC | BPF_TXA), retA], { nr: 0 }).raw).toBe(64);
  });

  it('st, stx, ld M[], ldx M[], tax and txa move values through the scratch words', () => {
    const prog = [
      ldA(11),
      I(BPF_ST, 3), // M[3] = 11
      ldX(22),
      I(BPF_STX, 15), // M[15] = 22
      I(BPF_LD | BPF_MEM, 15), // A = 22
      I(BPF_MISC | BPF_TAX), // X = 22
      I(BPF_LD | BPF_MEM, 3), // A = 11
      I(BPF_ALU | BPF_ADD | BPF_X), // A = 33
      I(BPF_LDX | BPF_MEM, 3), // X = 11
      I(BPF_ALU | BPF_MUL | BPF_X), // A = 363
      retA,
    ];
    expect(evaluate(prog, { nr: 0 })).toMatchObject({ raw: 363, steps: 11 });
  });

  it('scratch words start at 0', () => {
    expect(evaluate([ldA(5), I(BPF_LD | BPF_MEM, 9), retA], { nr: 0 }).raw).toBe(0);
  });
});

describe('interpreter: jumps', () => {
  /** A = a, then `jump` with jt = 1, jf = 0: return 1 when taken, 2 when not. */
  const taken = (a: number, x: number, jump: SockFilter): boolean => {
    const raw = evaluate([ldA(a), ldX(x), jump, retK(2), retK(1)], { nr: 0 }).raw;
    return raw === 1;
  };
  const cases: [string, number, number, number, boolean][] = [
    ['jeq', BPF_JEQ, 5, 5, true],
    ['jeq', BPF_JEQ, 5, 6, false],
    ['jgt', BPF_JGT, 6, 5, true],
    ['jgt', BPF_JGT, 5, 5, false],
    ['jgt (unsigned)', BPF_JGT, 0x80000000, 1, true],
    ['jge', BPF_JGE, 5, 5, true],
    ['jge', BPF_JGE, 4, 5, false],
    ['jset', BPF_JSET, 0b1010, 0b0010, true],
    ['jset', BPF_JSET, 0b1010, 0b0101, false],
  ];
  for (const [name, op, a, operand, want] of cases) {
    it(`${name}: A=${a}, operand ${operand} -> ${want ? 'jt' : 'jf'} (with k and with X)`, () => {
      expect(taken(a, 0, I(BPF_JMP | op | BPF_K, operand, 1, 0))).toBe(want);
      expect(taken(a, operand, I(BPF_JMP | op | BPF_X, 0, 1, 0))).toBe(want);
    });
  }

  it('ja skips k instructions; trace records the path taken and steps counts it', () => {
    const prog = [
      I(BPF_JMP | BPF_JA, 2),
      retK(1),
      retK(2),
      ldA(0),
      I(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
      retK(3),
      retK(4),
    ];
    expect(evaluate(prog, { nr: 0 }, { trace: true })).toMatchObject({ raw: 4, steps: 4, path: [0, 3, 4, 6] });
    expect(evaluate(prog, { nr: 0 }).path).toBeUndefined();
  });
});
