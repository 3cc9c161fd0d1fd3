// The cBPF assembler, encoder, interpreter and disassembler (no kernel needed).
import { describe, expect, it } from 'vitest';
import {
  BPF_ALU,
  BPF_DIV,
  BPF_JMP,
  BPF_K,
  type Item,
  MAX_COND_JUMP,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  add,
  aluX,
  and,
  assemble,
  checkSeccompProgram,
  decode,
  disassemble,
  encode,
  evaluate,
  ja,
  jeq,
  jeqX,
  jge,
  jgt,
  jset,
  label,
  ldAbs,
  ldImm,
  ldLen,
  ldMem,
  ldxImm,
  ldxMem,
  lsh,
  neg,
  or,
  ret,
  retA,
  rsh,
  st,
  stx,
  sub,
  tax,
  txa,
  BPF_ADD,
} from '../../src/runtime/seccomp/index.js';

const bytes = (...b: number[]): number[] => b;
const enc = (items: Item[]): number[] => [...encode(items)];

describe('instruction encoding (struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, little-endian)', () => {
  // Each single instruction is followed by a label "end" where jump tests need a target.
  const cases: [string, Item, number[]][] = [
    ['ld [4]', ldAbs(4), bytes(0x20, 0x00, 0, 0, 0x04, 0, 0, 0)],
    ['ld [20]', ldAbs(20), bytes(0x20, 0x00, 0, 0, 0x14, 0, 0, 0)],
    ['ld #0x12345678', ldImm(0x12345678), bytes(0x00, 0x00, 0, 0, 0x78, 0x56, 0x34, 0x12)],
    ['ld M[3]', ldMem(3), bytes(0x60, 0x00, 0, 0, 3, 0, 0, 0)],
    ['ld #len', ldLen(), bytes(0x80, 0x00, 0, 0, 0, 0, 0, 0)],
    ['ldx #7', ldxImm(7), bytes(0x01, 0x00, 0, 0, 7, 0, 0, 0)],
    ['ldx M[15]', ldxMem(15), bytes(0x61, 0x00, 0, 0, 15, 0, 0, 0)],
    ['st M[2]', st(2), bytes(0x02, 0x00, 0, 0, 2, 0, 0, 0)],
    ['stx M[2]', stx(2), bytes(0x03, 0x00, 0, 0, 2, 0, 0, 0)],
    ['and #0x7e020000', and(0x7e020000), bytes(0x54, 0x00, 0, 0, 0x00, 0x00, 0x02, 0x7e)],
    ['or #1', or(1), bytes(0x44, 0x00, 0, 0, 1, 0, 0, 0)],
    ['add #1', add(1), bytes(0x04, 0x00, 0, 0, 1, 0, 0, 0)],
    ['sub #1', sub(1), bytes(0x14, 0x00, 0, 0, 1, 0, 0, 0)],
    ['lsh #4', lsh(4), bytes(0x64, 0x00, 0, 0, 4, 0, 0, 0)],
    ['rsh #4', rsh(4), bytes(0x74, 0x00, 0, 0, 4, 0, 0, 0)],
    ['neg', neg(), bytes(0x84, 0x00, 0, 0, 0, 0, 0, 0)],
    ['add x', aluX(BPF_ADD), bytes(0x0c, 0x00, 0, 0, 0, 0, 0, 0)],
    ['tax', tax(), bytes(0x07, 0x00, 0, 0, 0, 0, 0, 0)],
    ['txa', txa(), bytes(0x87, 0x00, 0, 0, 0, 0, 0, 0)],
    ['ret #ALLOW', ret(SECCOMP_RET_ALLOW), bytes(0x06, 0x00, 0, 0, 0x00, 0x00, 0xff, 0x7f)],
    ['ret #ERRNO(EPERM)', ret(SECCOMP_RET_ERRNO | 1), bytes(0x06, 0x00, 0, 0, 0x01, 0x00, 0x05, 0x00)],
    ['ret #KILL_PROCESS', ret(SECCOMP_RET_KILL_PROCESS), bytes(0x06, 0x00, 0, 0, 0x00, 0x00, 0x00, 0x80)],
    ['ret A', retA(), bytes(0x16, 0x00, 0, 0, 0, 0, 0, 0)],
  ];
  for (const [name, item, expected] of cases) {
    it(name, () => expect(enc([item])).toEqual(expected));
  }

  it('jumps: code, jt/jf offsets to labels, k', () => {
    // 0: jeq #0xc000003e, next, L2   1: ret ALLOW   2: ret KILL
    expect(
      enc([jeq(0xc000003e, undefined, 'kill'), ret(SECCOMP_RET_ALLOW), label('kill'), ret(0x80000000)]).slice(0, 8),
    ).toEqual(bytes(0x15, 0x00, 0, 1, 0x3e, 0x00, 0x00, 0xc0));
    const prog = (j: Item): number[] => enc([j, ret(0), ret(0), label('t'), ret(0), label('f'), ret(0)]).slice(0, 8);
    expect(prog(jgt(5, 't', 'f'))).toEqual(bytes(0x25, 0x00, 2, 3, 5, 0, 0, 0));
    expect(prog(jge(5, 't', 'f'))).toEqual(bytes(0x35, 0x00, 2, 3, 5, 0, 0, 0));
    expect(prog(jset(0x40000000, 't', 'f'))).toEqual(bytes(0x45, 0x00, 2, 3, 0, 0, 0, 0x40));
    expect(prog(jeqX('t', 'f'))).toEqual(bytes(0x1d, 0x00, 2, 3, 0, 0, 0, 0));
    expect(prog(ja('f'))).toEqual(bytes(0x05, 0x00, 0, 0, 3, 0, 0, 0));
  });

  it('decode() inverts encode()', () => {
    const filters = [
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 255, jf: 7, k: 0xc000003e },
      { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
    ];
    expect(decode(encode(filters))).toEqual(filters);
  });

  it('refuses constants that do not fit in 32 bits', () => {
    expect(() => ldImm(2 ** 32)).toThrow(RangeError);
    expect(() => jeq(1.5)).toThrow(RangeError);
  });
});

describe('labels', () => {
  it('resolve to forward offsets; "next" when absent', () => {
    const { filters, labels } = assemble([
      ldAbs(0),
      jeq(1, 'a', 'b'),
      jeq(2, 'b'),
      label('a'),
      ret(1),
      label('b'),
      ret(2),
    ]);
    expect(labels.get('a')).toBe(3);
    expect(labels.get('b')).toBe(4);
    expect(filters.map((f) => [f.jt, f.jf])).toEqual([
      [0, 0],
      [1, 2],
      [1, 0],
      [0, 0],
      [0, 0],
    ]);
  });

  it('unknown, duplicate and backward labels are errors', () => {
    expect(() => assemble([jeq(1, 'nowhere'), ret(0)])).toThrow(/unknown label "nowhere"/);
    expect(() => assemble([label('x'), label('x'), ret(0)])).toThrow(/defined twice/);
    expect(() => assemble([label('top'), ldAbs(0), jeq(1, 'top'), ret(0)])).toThrow(/backwards/);
  });
});

describe('programs longer than 255 instructions', () => {
  // ld [0]; then 300 × "jeq #i, far, next"; ret ERRNO(1); far: ret ALLOW.
  const N = 300;
  const items: Item[] = [ldAbs(0)];
  for (let i = 0; i < N; i++) items.push(jeq(1000 + i, 'far'));
  items.push(ret(SECCOMP_RET_ERRNO | 1), label('far'), ret(SECCOMP_RET_ALLOW));

  it('assembles with trampolines, every jt/jf fits in 8 bits, and the kernel checks pass', () => {
    const { filters, trampolines } = assemble(items);
    expect(trampolines).toBeGreaterThan(0);
    // one trampoline per ~255 instructions, not one per jump
    expect(trampolines).toBeLessThanOrEqual(3);
    for (const f of filters) {
      expect(f.jt).toBeLessThanOrEqual(MAX_COND_JUMP);
      expect(f.jf).toBeLessThanOrEqual(MAX_COND_JUMP);
    }
    const raw = encode(items);
    for (let o = 0; o < raw.length; o += 8) {
      expect(raw[o + 2]).toBeLessThanOrEqual(255);
      expect(raw[o + 3]).toBeLessThanOrEqual(255);
    }
    expect(checkSeccompProgram(filters)).toEqual([]);
  });

  it('still jumps to the right place (interpreter)', () => {
    const prog = encode(items);
    for (const i of [0, 1, 44, 45, 100, 254, 255, 256, 299]) {
      expect(evaluate(prog, { nr: 1000 + i }).action).toBe('ALLOW');
    }
    expect(evaluate(prog, { nr: 999 })).toMatchObject({ action: 'ERRNO', errno: 1 });
    expect(evaluate(prog, { nr: 1000 + N })).toMatchObject({ action: 'ERRNO', errno: 1 });
  });

  it('handles far targets on both jt and jf, and chains of far jumps', () => {
    const it2: Item[] = [ldAbs(0), jeq(7, 'A', 'B')];
    for (let i = 0; i < 600; i++) it2.push(ldImm(i));
    it2.push(ret(1), label('A'), ret(2));
    for (let i = 0; i < 400; i++) it2.push(ldImm(i));
    it2.push(label('B'), ret(3));
    const prog = encode(it2);
    expect(evaluate(prog, { nr: 7 }).raw).toBe(2);
    expect(evaluate(prog, { nr: 8 }).raw).toBe(3);
  });

  it('agrees with a label-level reference executor on random programs', () => {
    // A reference: run the unassembled Item list, following labels directly.
    const run = (items: Item[], nr: number): number => {
      const pos = new Map<string, number>();
      items.forEach((it, i) => {
        if (it.kind === 'label') pos.set(it.name, i);
      });
      let A = 0;
      for (let pc = 0; ; ) {
        const it = items[pc];
        if (it.kind === 'label') {
          pc++;
          continue;
        }
        if (it.code === 0x20) {
          A = nr;
          pc++;
          continue;
        }
        if (it.code === 0x06) return it.k;
        if (it.code === 0x04) {
          A = (A + it.k) >>> 0;
          pc++;
          continue;
        }
        if ((it.code & 0x07) === BPF_JMP) {
          if (it.code === 0x05) {
            pc = pos.get(it.jt!)!;
            continue;
          }
          const op = it.code & 0xf0;
          const c = op === 0x10 ? A === it.k : op === 0x20 ? A > it.k : op === 0x30 ? A >= it.k : (A & it.k) !== 0;
          const t = c ? it.jt : it.jf;
          pc = t === undefined ? pc + 1 : pos.get(t)!;
          continue;
        }
        throw new Error('unexpected');
      }
    };
    let seed = 12345;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    let trampolines = 0;
    for (let trial = 0; trial < 25; trial++) {
      const len = 200 + rnd(900);
      const labels = Array.from({ length: 12 }, (_, i) => ({ name: `L${i}`, at: 5 + rnd(len) }));
      const items: Item[] = [ldAbs(0)];
      for (let i = 0; i < len; i++) {
        for (const l of labels) if (l.at === i) items.push(label(l.name));
        const later = labels.filter((l) => l.at > i);
        const pick = (): string | undefined => (later.length && rnd(3) ? later[rnd(later.length)].name : undefined);
        const r = rnd(10);
        if (r < 6) items.push([jeq, jgt, jge, jset][rnd(4)](rnd(64), pick(), pick()));
        else if (r < 7 && later.length) items.push(ja(later[rnd(later.length)].name));
        else if (r < 8) items.push(ret(rnd(1000)));
        else items.push(add(rnd(3)));
      }
      for (const l of labels) if (l.at >= len) items.push(label(l.name));
      items.push(ret(4242));
      const prog = encode(items);
      trampolines += assemble(items).trampolines;
      expect(checkSeccompProgram(decode(prog))).toEqual([]);
      for (let nr = 0; nr < 64; nr += 3) expect(evaluate(prog, { nr }).raw).toBe(run(items, nr));
    }
    expect(trampolines).toBeGreaterThan(0);
  });
});

describe('kernel-style program checks', () => {
  it('rejects what the kernel rejects', () => {
    expect(checkSeccompProgram([])).toContain('program is empty');
    expect(checkSeccompProgram(decode(encode([ldAbs(0)])))).toContain('the last instruction is not a RET');
    expect(
      checkSeccompProgram([
        { code: 0x20, jt: 0, jf: 0, k: 2 },
        { code: 6, jt: 0, jf: 0, k: 0 },
      ]).join(),
    ).toMatch(/aligned/);
    expect(
      checkSeccompProgram([
        { code: 0x20, jt: 0, jf: 0, k: 64 },
        { code: 6, jt: 0, jf: 0, k: 0 },
      ]).join(),
    ).toMatch(/inside seccomp_data/);
    expect(
      checkSeccompProgram([
        { code: 0x15, jt: 5, jf: 0, k: 0 },
        { code: 6, jt: 0, jf: 0, k: 0 },
      ]).join(),
    ).toMatch(/past the end/);
    expect(
      checkSeccompProgram([
        { code: BPF_ALU | BPF_DIV | BPF_K, jt: 0, jf: 0, k: 0 },
        { code: 6, jt: 0, jf: 0, k: 0 },
      ]).join(),
    ).toMatch(/division/);
    expect(
      checkSeccompProgram([
        { code: 0x28, jt: 0, jf: 0, k: 0 },
        { code: 6, jt: 0, jf: 0, k: 0 },
      ]).join(),
    ).toMatch(/32-bit/);
    expect(() => evaluate(encode([ldAbs(0)]), { nr: 0 })).toThrow(/invalid seccomp program/);
  });
});

describe('interpreter', () => {
  it('reads nr, arch, instruction pointer and 64-bit args (low word first)', () => {
    const prog = encode([
      ldAbs(28), // args[1] high
      st(0),
      ldAbs(24), // args[1] low
      aluX(BPF_ADD), // A += X (X = 0)
      ldxMem(0),
      txa(),
      retA(),
    ]);
    expect(evaluate(prog, { nr: 0, args: [0n, 0x1234567800000000n] }).raw).toBe(0x12345678);
    const ip = encode([ldAbs(12), retA()]);
    expect(evaluate(ip, { nr: 0, instructionPointer: 0xabcdef0000000000n }).raw).toBe(0xabcdef00);
    const arch = encode([ldAbs(4), retA()]);
    expect(evaluate(arch, { nr: 0 }).raw).toBe(0xc000003e);
  });

  it('decodes actions', () => {
    const one = (k: number) => evaluate(encode([ret(k)]), { nr: 0 });
    expect(one(0x7fff0000)).toMatchObject({ action: 'ALLOW' });
    expect(one(0x00050026)).toMatchObject({ action: 'ERRNO', errno: 38 });
    expect(one(0x80000000)).toMatchObject({ action: 'KILL_PROCESS' });
    expect(one(0)).toMatchObject({ action: 'KILL_THREAD' });
    expect(one(0x00030000)).toMatchObject({ action: 'TRAP' });
    expect(one(0x7ffc0000)).toMatchObject({ action: 'LOG' });
    expect(one(0x7ff00005)).toMatchObject({ action: 'TRACE', data: 5 });
    expect(one(0x12340000)).toMatchObject({ action: 'KILL_PROCESS' }); // unknown -> kill, like the kernel
  });
});

describe('disassembler', () => {
  it('prints a commented listing with absolute jump targets', () => {
    const prog = encode([
      ldAbs(4),
      jeq(0xc000003e, undefined, 'kill'),
      ldAbs(0),
      jeq(59, 'allow'),
      ret(SECCOMP_RET_ERRNO | 1),
      label('allow'),
      ret(SECCOMP_RET_ALLOW),
      label('kill'),
      ret(SECCOMP_RET_KILL_PROCESS),
    ]);
    const text = disassemble(prog);
    expect(text).toContain('7 instructions, 56 bytes');
    expect(text).toMatch(/0 {2}ld {3}\[4\] +; arch/);
    expect(text).toMatch(/jeq {2}#0xc000003e, next, L6 +; AUDIT_ARCH_X86_64/);
    expect(text).toMatch(/jeq {2}#59, L5, next +; execve/);
    expect(text).toContain('ret  ERRNO(EPERM)');
    expect(text).toContain('ret  ALLOW');
    expect(text).toContain('ret  KILL_PROCESS');
  });
});
