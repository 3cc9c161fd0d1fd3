// A classic BPF (cBPF) assembler: the instruction set seccomp filters are written in.
//
// A cBPF machine has a 32-bit accumulator A, an index register X, 16 scratch words M[0..15], and a
// read-only input (for seccomp: `struct seccomp_data`, see SECCOMP_DATA below). Each instruction is a
// `struct sock_filter` of 8 bytes:
//
//     struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; };
//
// `code` says what to do, `k` is the constant operand, and for a conditional jump `jt`/`jf` are how many
// instructions to skip forward when the test is true/false (0 = the next instruction). Jumps only go
// forward, so every program terminates; the kernel also checks that the last instruction is a RET.
//
// Because jt/jf are 8-bit, a conditional jump reaches at most 255 instructions ahead. Only the
// unconditional `ja` has a 32-bit offset (in k). The assembler below lets you write jumps to symbolic
// labels at any distance and, where a target is too far, routes the jump through a `ja` "trampoline"
// (see assemble()).

// ---- opcode fields (linux/bpf_common.h, linux/filter.h) ----------------------------------------

/** Instruction classes (low 3 bits of code). */
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;

/** Load size. Seccomp only accepts 32-bit words (BPF_W). */
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;

/** Load mode. */
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;

/** ALU operations. */
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;

/** Jump operations. There is no "less than": write `a < k` as `a >= k` with jt/jf swapped. */
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

/** Operand source: the constant k, or the X register. */
export const BPF_K = 0x00;
export const BPF_X = 0x08;
/** RET source: the constant k, or the accumulator A. */
export const BPF_A = 0x10;

/** MISC operations: copy A to X, X to A. */
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** The kernel refuses filters longer than this (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** Scratch memory words M[0..15] (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;

/**
 * `struct seccomp_data`, the input a seccomp filter reads (all fields in the CPU's byte order,
 * little-endian on x86_64):
 *
 *     struct seccomp_data {
 *         int   nr;                    // offset 0: the syscall number
 *         __u32 arch;                  // offset 4: AUDIT_ARCH_* of the calling ABI
 *         __u64 instruction_pointer;   // offset 8
 *         __u64 args[6];               // offset 16 + 8*i
 *     };
 *
 * cBPF can only load 32 bits at a time, so a 64-bit argument is two loads: on little-endian the low
 * half is at 16 + 8*i and the high half at 16 + 8*i + 4.
 */
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  ipLo: 8,
  ipHi: 12,
  argLo: (i: number): number => 16 + 8 * i,
  argHi: (i: number): number => 16 + 8 * i + 4,
  size: 64,
} as const;

// ---- program representation --------------------------------------------------------------------

/** One resolved instruction, exactly what the kernel reads. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/**
 * One instruction before assembly. Jump targets are label names; an absent jt/jf means "the next
 * instruction" (offset 0). `comment` is kept for listings and ignored by the encoder.
 */
export interface Insn {
  kind: 'insn';
  code: number;
  k: number;
  jt?: string;
  jf?: string;
  comment?: string;
}

/** A position in the program that jumps can name. Takes no space in the output. */
export interface Label {
  kind: 'label';
  name: string;
}

export type Item = Insn | Label;

const u32 = (k: number): number => {
  if (!Number.isInteger(k) || k < -0x80000000 || k > 0xffffffff)
    throw new RangeError(`BPF constant out of range: ${k}`);
  return k >>> 0;
};

const insn = (code: number, k: number, jt?: string, jf?: string, comment?: string): Insn => {
  const i: Insn = { kind: 'insn', code, k: u32(k) };
  if (jt !== undefined) i.jt = jt;
  if (jf !== undefined) i.jf = jf;
  if (comment !== undefined) i.comment = comment;
  return i;
};

// ---- instruction constructors ------------------------------------------------------------------

export const label = (name: string): Label => ({ kind: 'label', name });

/** A = 32-bit word at byte offset `off` of the input (`ld [off]`). */
export const ldAbs = (off: number, comment?: string): Insn =>
  insn(BPF_LD | BPF_W | BPF_ABS, off, undefined, undefined, comment);
/** A = k (`ld #k`). */
export const ldImm = (k: number, comment?: string): Insn =>
  insn(BPF_LD | BPF_W | BPF_IMM, k, undefined, undefined, comment);
/** A = M[i]. */
export const ldMem = (i: number, comment?: string): Insn =>
  insn(BPF_LD | BPF_W | BPF_MEM, i, undefined, undefined, comment);
/** A = length of the input (64 for seccomp). */
export const ldLen = (comment?: string): Insn => insn(BPF_LD | BPF_W | BPF_LEN, 0, undefined, undefined, comment);
/** X = k. */
export const ldxImm = (k: number, comment?: string): Insn =>
  insn(BPF_LDX | BPF_W | BPF_IMM, k, undefined, undefined, comment);
/** X = M[i]. */
export const ldxMem = (i: number, comment?: string): Insn =>
  insn(BPF_LDX | BPF_W | BPF_MEM, i, undefined, undefined, comment);
/** M[i] = A. */
export const st = (i: number, comment?: string): Insn => insn(BPF_ST, i, undefined, undefined, comment);
/** M[i] = X. */
export const stx = (i: number, comment?: string): Insn => insn(BPF_STX, i, undefined, undefined, comment);

/** A = A <op> k, e.g. alu(BPF_AND, 0xff). */
export const alu = (op: number, k: number, comment?: string): Insn =>
  insn(BPF_ALU | op | BPF_K, k, undefined, undefined, comment);
/** A = A <op> X. */
export const aluX = (op: number, comment?: string): Insn =>
  insn(BPF_ALU | op | BPF_X, 0, undefined, undefined, comment);
export const and = (k: number, comment?: string): Insn => alu(BPF_AND, k, comment);
export const or = (k: number, comment?: string): Insn => alu(BPF_OR, k, comment);
export const add = (k: number, comment?: string): Insn => alu(BPF_ADD, k, comment);
export const sub = (k: number, comment?: string): Insn => alu(BPF_SUB, k, comment);
export const lsh = (k: number, comment?: string): Insn => alu(BPF_LSH, k, comment);
export const rsh = (k: number, comment?: string): Insn => alu(BPF_RSH, k, comment);
/** A = -A. */
export const neg = (comment?: string): Insn => insn(BPF_ALU | BPF_NEG, 0, undefined, undefined, comment);

/** Unconditional jump to a label; 32-bit offset, so it reaches anywhere (forward). */
export const ja = (target: string, comment?: string): Insn => insn(BPF_JMP | BPF_JA, 0, target, undefined, comment);
/** if (A == k) goto jt else goto jf. */
export const jeq = (k: number, jt?: string, jf?: string, comment?: string): Insn =>
  insn(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf, comment);
/** if (A > k) goto jt else goto jf (unsigned). */
export const jgt = (k: number, jt?: string, jf?: string, comment?: string): Insn =>
  insn(BPF_JMP | BPF_JGT | BPF_K, k, jt, jf, comment);
/** if (A >= k) goto jt else goto jf (unsigned). */
export const jge = (k: number, jt?: string, jf?: string, comment?: string): Insn =>
  insn(BPF_JMP | BPF_JGE | BPF_K, k, jt, jf, comment);
/** if (A & k) goto jt else goto jf. */
export const jset = (k: number, jt?: string, jf?: string, comment?: string): Insn =>
  insn(BPF_JMP | BPF_JSET | BPF_K, k, jt, jf, comment);
/** if (A == X) goto jt else goto jf: the X form of a jump (the interpreter and disassembler take the others too). */
export const jeqX = (jt?: string, jf?: string, comment?: string): Insn =>
  insn(BPF_JMP | BPF_JEQ | BPF_X, 0, jt, jf, comment);

/** Stop and return k (for seccomp: the action, see SECCOMP_RET_* in compile.ts). */
export const ret = (k: number, comment?: string): Insn => insn(BPF_RET | BPF_K, k, undefined, undefined, comment);
/** Stop and return A. */
export const retA = (comment?: string): Insn => insn(BPF_RET | BPF_A, 0, undefined, undefined, comment);
/** X = A. */
export const tax = (comment?: string): Insn => insn(BPF_MISC | BPF_TAX, 0, undefined, undefined, comment);
/** A = X. */
export const txa = (comment?: string): Insn => insn(BPF_MISC | BPF_TXA, 0, undefined, undefined, comment);

// ---- assembler ---------------------------------------------------------------------------------

/** The class bits of an opcode. */
export const bpfClass = (code: number): number => code & 0x07;
/** True for conditional jumps (JEQ/JGT/JGE/JSET), which use the 8-bit jt/jf. */
export const isCondJump = (code: number): boolean => bpfClass(code) === BPF_JMP && (code & 0xf0) !== BPF_JA;
/** True for the unconditional `ja`, which uses the 32-bit k. */
export const isJa = (code: number): boolean => bpfClass(code) === BPF_JMP && (code & 0xf0) === BPF_JA;

/** The largest distance a conditional jump can cover (jt/jf are u8). */
export const MAX_COND_JUMP = 255;

export interface AssembleResult {
  /** The resolved program. */
  filters: SockFilter[];
  /** Comments of the instructions, by index (trampolines get one too). */
  comments: (string | undefined)[];
  /** Label name -> instruction index. */
  labels: Map<string, number>;
  /** How many `ja` trampolines were added to reach far targets. */
  trampolines: number;
}

/**
 * Resolve labels to jump offsets.
 *
 * Conditional jumps can only skip 255 instructions. When a target is further away, the jump is sent
 * to a `ja` trampoline instead, a one-instruction hop with a 32-bit offset:
 *
 *     jeq #0, far, next          becomes      jeq #0, T, next+1    ; T is the next instruction
 *                                             T: ja far            ; only reached via the jump
 *                                             next: ...
 *
 * The fall-through path skips the trampoline, so it costs nothing there. A trampoline already
 * placed within reach for the same target is reused, and far jumps are fixed from the end of the
 * program backwards, so one trampoline serves every jump in the 255 instructions before it. Each
 * insertion moves later code by one, which can push another jump out of range; the loop repeats
 * until every jump fits (it always ends: each round either adds a trampoline right next to a
 * jump or retargets a jump to a closer one).
 */
export function assemble(items: readonly Item[]): AssembleResult {
  // Work on a copy: a list of instructions, each with an optional label set in front of it.
  const work: Item[] = items.map((item) => ({ ...item }));
  const newLabel = labelMaker(items);
  let trampolines = 0;
  for (let round = 0; ; round++) {
    if (round > 100_000) throw new Error('bpf assemble: could not place trampolines');
    const far = lastFarJump(work);
    if (!far) break;
    if (reuseTrampoline(work, far, newLabel)) continue;
    insertTrampoline(work, far, newLabel);
    trampolines++;
  }
  const { filters, comments, labels } = emit(work);
  // Labels -> instruction index (a label at the very end points one past the last instruction).
  return { filters, comments, labels, trampolines };
}

/** A conditional jump whose target is more than MAX_COND_JUMP instructions ahead. */
interface FarJump {
  /** its index in the work list */
  idx: number;
  which: 'jt' | 'jf';
  /** its instruction index */
  pos: number;
  /** the instruction index of every item of the work list, as laid out now */
  positions: number[];
}

/** A maker of label names that are not taken yet: "hint.0", "hint.1", ... */
function labelMaker(items: readonly Item[]): (hint: string) => string {
  let fresh = 0;
  const taken = new Set(items.filter((item): item is Label => item.kind === 'label').map((item) => item.name));
  return (hint: string): string => {
    let name: string;
    do name = `${hint}.${fresh++}`;
    while (taken.has(name));
    taken.add(name);
    return name;
  };
}

/** Find the LAST conditional jump with a target out of reach (and refuse a backward jump on the way). */
function lastFarJump(work: readonly Item[]): FarJump | undefined {
  const { positions, labels } = layout(work);
  for (let i = work.length - 1; i >= 0; i--) {
    const item = work[i];
    if (item.kind !== 'insn' || !isCondJump(item.code)) continue;
    for (const which of ['jt', 'jf'] as const) {
      const targetName = item[which];
      if (targetName === undefined) continue;
      const dist = resolve(labels, targetName) - positions[i] - 1;
      if (dist < 0)
        throw new Error(`bpf assemble: jump to "${targetName}" goes backwards (cBPF jumps only go forward)`);
      if (dist > MAX_COND_JUMP) return { idx: i, which, pos: positions[i], positions };
    }
  }
  return undefined;
}

/** 1. Reuse a `ja target` already placed within reach after the jump; false when there is none. */
function reuseTrampoline(work: Item[], far: FarJump, newLabel: (hint: string) => string): boolean {
  const jump = work[far.idx] as Insn;
  const target = jump[far.which]!;
  for (let j = far.idx + 1; j < work.length; j++) {
    const item = work[j];
    if (item.kind !== 'insn') continue;
    const dist = far.positions[j] - far.pos - 1;
    if (dist > MAX_COND_JUMP) break;
    if (isJa(item.code) && item.jt === target) {
      // Name the trampoline with a label just before it (or reuse one).
      const prev = work[j - 1];
      let name: string;
      if (prev && prev.kind === 'label') name = prev.name;
      else {
        name = newLabel(`${target}.via`);
        work.splice(j, 0, label(name));
      }
      jump[far.which] = name;
      return true;
    }
  }
  return false;
}

/**
 * 2. Insert a new trampoline right after the jump; the other branch (if it fell through to the
 *    next instruction) must now skip over it.
 */
function insertTrampoline(work: Item[], far: FarJump, newLabel: (hint: string) => string): void {
  const jump = work[far.idx] as Insn;
  const target = jump[far.which]!;
  const trampolineName = newLabel(`${target}.via`);
  const after = newLabel('after');
  const other = far.which === 'jt' ? 'jf' : 'jt';
  jump[far.which] = trampolineName;
  if (jump[other] === undefined) jump[other] = after;
  const trampoline = ja(target, `trampoline: a conditional jump reaches only ${MAX_COND_JUMP} ahead`);
  work.splice(far.idx + 1, 0, label(trampolineName), trampoline, label(after));
}

/** Final pass: emit numeric offsets. */
function emit(work: readonly Item[]): {
  filters: SockFilter[];
  comments: (string | undefined)[];
  labels: Map<string, number>;
} {
  const { positions, labels } = layout(work);
  const filters: SockFilter[] = [];
  const comments: (string | undefined)[] = [];
  for (let i = 0; i < work.length; i++) {
    const item = work[i];
    if (item.kind !== 'insn') continue;
    const here = positions[i];
    const offsetTo = (targetName: string | undefined): number =>
      targetName === undefined ? 0 : resolve(labels, targetName) - here - 1;
    if (isJa(item.code)) {
      const offset = item.jt === undefined ? item.k : offsetTo(item.jt);
      filters.push({ code: item.code, jt: 0, jf: 0, k: offset >>> 0 });
    } else if (isCondJump(item.code)) {
      filters.push({ code: item.code, jt: offsetTo(item.jt), jf: offsetTo(item.jf), k: item.k });
    } else {
      if (item.jt !== undefined || item.jf !== undefined)
        throw new Error(`bpf assemble: instruction 0x${item.code.toString(16)} is not a jump but has a target`);
      filters.push({ code: item.code, jt: 0, jf: 0, k: item.k });
    }
    comments.push(item.comment);
  }
  return { filters, comments, labels };
}

/** Instruction index of each item and of each label. */
function layout(work: readonly Item[]): { positions: number[]; labels: Map<string, number> } {
  const positions: number[] = [];
  const labels = new Map<string, number>();
  let pc = 0;
  for (const it of work) {
    positions.push(pc);
    if (it.kind === 'label') {
      if (labels.has(it.name)) throw new Error(`bpf assemble: label "${it.name}" defined twice`);
      labels.set(it.name, pc);
    } else pc++;
  }
  return { positions, labels };
}

function resolve(labels: Map<string, number>, name: string): number {
  const pos = labels.get(name);
  if (pos === undefined) throw new Error(`bpf assemble: unknown label "${name}"`);
  return pos;
}

// ---- binary encoding ---------------------------------------------------------------------------

/** Bytes per `struct sock_filter`. */
export const SOCK_FILTER_SIZE = 8;

function isItems(prog: readonly Item[] | readonly SockFilter[]): prog is readonly Item[] {
  return prog.length > 0 && 'kind' in prog[0];
}

/**
 * Encode a program as the kernel's `struct sock_filter` array: u16 code, u8 jt, u8 jf, u32 k, in
 * little-endian (x86_64's byte order), 8 bytes per instruction. Unassembled items are assembled first.
 */
export function encode(prog: readonly Item[] | readonly SockFilter[]): Uint8Array {
  const filters = isItems(prog) ? assemble(prog).filters : (prog as readonly SockFilter[]);
  const out = new Uint8Array(filters.length * SOCK_FILTER_SIZE);
  const view = new DataView(out.buffer);
  filters.forEach((f, i) => {
    if (f.jt < 0 || f.jt > 255 || f.jf < 0 || f.jf > 255)
      throw new RangeError(`instruction ${i}: jt/jf must fit in 8 bits`);
    const o = i * SOCK_FILTER_SIZE;
    view.setUint16(o, f.code, true);
    view.setUint8(o + 2, f.jt);
    view.setUint8(o + 3, f.jf);
    view.setUint32(o + 4, f.k >>> 0, true);
  });
  return out;
}

/** The inverse of encode(). */
export function decode(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0)
    throw new Error(`BPF program length ${bytes.length} is not a multiple of ${SOCK_FILTER_SIZE}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let o = 0; o < bytes.length; o += SOCK_FILTER_SIZE) {
    out.push({
      code: view.getUint16(o, true),
      jt: view.getUint8(o + 2),
      jf: view.getUint8(o + 3),
      k: view.getUint32(o + 4, true),
    });
  }
  return out;
}

/**
 * Check a program the way the kernel does before accepting a seccomp filter (bpf_check_classic +
 * seccomp_check_filter): 1..4096 instructions, every jump lands inside the program, the last
 * instruction is a RET, loads read aligned 32-bit words inside seccomp_data, scratch memory indexes
 * are 0..15, no constant division by zero, and only the opcodes seccomp allows. Returns a list of
 * problems (empty when the program is valid).
 */
export function checkSeccompProgram(filters: readonly SockFilter[]): string[] {
  const problems: string[] = [];
  const n = filters.length;
  if (n === 0) problems.push('program is empty');
  if (n > BPF_MAXINSNS) problems.push(`program has ${n} instructions, more than the kernel's ${BPF_MAXINSNS}`);
  filters.forEach((f, i) => {
    const at = `instruction ${i}`;
    const cls = bpfClass(f.code);
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const mode = f.code & 0xe0;
        const size = f.code & 0x18;
        if (size !== BPF_W) problems.push(`${at}: seccomp loads must be 32-bit words`);
        if (mode === BPF_ABS && cls === BPF_LD) {
          if (f.k % 4 !== 0 || f.k >= SECCOMP_DATA.size)
            problems.push(`${at}: ld [${f.k}] is not an aligned word inside seccomp_data`);
        } else if (mode === BPF_MEM) {
          if (f.k >= BPF_MEMWORDS) problems.push(`${at}: scratch memory index ${f.k} > 15`);
        } else if (mode !== BPF_IMM && mode !== BPF_LEN)
          problems.push(`${at}: load mode 0x${mode.toString(16)} not allowed in seccomp`);
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (f.k >= BPF_MEMWORDS) problems.push(`${at}: scratch memory index ${f.k} > 15`);
        break;
      case BPF_ALU: {
        const op = f.code & 0xf0;
        if (op > BPF_XOR) problems.push(`${at}: unknown ALU operation`);
        if ((op === BPF_DIV || op === BPF_MOD) && (f.code & BPF_X) === 0 && f.k === 0)
          problems.push(`${at}: division by constant 0`);
        break;
      }
      case BPF_JMP: {
        const op = f.code & 0xf0;
        if (op > BPF_JSET) problems.push(`${at}: unknown jump operation`);
        if (op === BPF_JA) {
          if (f.k >= n - i - 1) problems.push(`${at}: ja +${f.k} jumps past the end`);
        } else if (i + 1 + Math.max(f.jt, f.jf) >= n) problems.push(`${at}: jump past the end`);
        break;
      }
      case BPF_RET:
        if ((f.code & 0x18) !== BPF_K && (f.code & 0x18) !== BPF_A) problems.push(`${at}: bad RET source`);
        break;
      case BPF_MISC:
        if ((f.code & 0xf8) !== BPF_TAX && (f.code & 0xf8) !== BPF_TXA) problems.push(`${at}: unknown MISC operation`);
        break;
    }
  });
  if (n > 0 && bpfClass(filters[n - 1].code) !== BPF_RET) problems.push('the last instruction is not a RET');
  return problems;
}
