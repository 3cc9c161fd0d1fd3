// The plan encoder: byte layout, and op numbers that match native/plan.h exactly.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stepError } from '../../src/runtime/step-error';
import * as plan from '../../src/runtime/plan';
import {
  describeStep,
  encodePlan,
  MSG,
  Op,
  OPS,
  PLAN_MAGIC,
  REPORT_BYTES,
  SPAWNED,
  STEP_FLAGS,
  type OpName,
  type Step,
} from '../../src/runtime/plan';
import type { ContainerSpec } from '../../src/runtime/spec';
import { ROOT_DIR } from '../helpers';

const header = readFileSync(join(ROOT_DIR, 'native/plan.h'), 'utf8');

/** A decoder written from the format description in plan.h, independent of the encoder. */
function decode(buf: Uint8Array) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  expect(dv.getUint32(0, true)).toBe(PLAN_MAGIC);
  const n = dv.getUint32(4, true);
  let off = 8;
  const steps = [];
  for (let i = 0; i < n; i++) {
    expect(off % 8).toBe(0);
    const op = dv.getUint16(off, true);
    const flags = dv.getUint16(off + 2, true);
    const nints = dv.getUint32(off + 4, true);
    const nstrs = dv.getUint32(off + 8, true);
    off += 16;
    const ints: bigint[] = [];
    for (let j = 0; j < nints; j++, off += 8) ints.push(dv.getBigUint64(off, true));
    const strs: string[] = [];
    for (let j = 0; j < nstrs; j++) {
      const len = dv.getUint32(off, true);
      strs.push(Buffer.from(buf.subarray(off + 4, off + 4 + len)).toString());
      expect(buf[off + 4 + len]).toBe(0); // NUL-terminated for C
      off += 4 + len + 1;
    }
    off = (off + 7) & ~7;
    steps.push({ op, flags, ints, strs });
  }
  expect(off).toBe(buf.length);
  return steps;
}

describe('encodePlan', () => {
  it('writes header, steps, ints and NUL-terminated strings, 8-byte aligned', () => {
    const steps: Step[] = [
      { op: Op.MOUNT, strs: ['proc', '/m/proc', 'proc', ''], ints: [14], why: 'w', phase: 'mounts' },
      { op: Op.SETHOSTNAME, strs: ['box'], why: 'w', phase: 'namespaces', flags: STEP_FLAGS.IGNORE_ALL },
      { op: Op.CAPSET, ints: [0xffffffffffn, 1, 0], why: 'w', phase: 'capabilities' },
      { op: Op.NO_NEW_PRIVS, why: 'w', phase: 'capabilities' },
    ];
    const buf = encodePlan(steps);
    const d = decode(buf);
    expect(d).toEqual([
      { op: 1, flags: 0, ints: [14n], strs: ['proc', '/m/proc', 'proc', ''] },
      { op: 6, flags: 4, ints: [], strs: ['box'] },
      { op: 13, flags: 0, ints: [0xffffffffffn, 1n, 0n], strs: [] },
      { op: 14, flags: 0, ints: [], strs: [] },
    ]);
    // first step: 8 header + 16 step header + 8 int + (4+4+1)+(4+7+1)+(4+4+1)+(4+0+1) = 67 -> 72
    expect(new DataView(buf.buffer).getUint16(72, true)).toBe(Op.SETHOSTNAME);
  });

  it("encodes negative and 64-bit ints as two's complement u64", () => {
    const [s] = decode(encodePlan([{ op: Op.SETRLIMIT, ints: [7, -1, 2n ** 63n], why: '', phase: 'identity' }]));
    expect(s.ints).toEqual([7n, 2n ** 64n - 1n, 2n ** 63n]);
  });

  it('carries binary strings (the seccomp program) byte for byte', () => {
    const prog = new Uint8Array([0, 1, 2, 0, 255, 0, 0, 0]);
    const buf = encodePlan([{ op: Op.SECCOMP, strs: [prog], why: '', phase: 'seccomp' }]);
    expect([...buf.subarray(8 + 16 + 4, 8 + 16 + 4 + 8)]).toEqual([...prog]);
  });

  it('uses exactly the op numbers of native/plan.h', () => {
    const fromC = Object.fromEntries(
      [...header.matchAll(/MD_OP_([A-Z0-9_]+) = (\d+),/g)].map((m) => [m[1], Number(m[2])]),
    );
    const fromTs = Object.fromEntries(Object.entries(Op).filter(([, v]) => typeof v === 'number'));
    expect(Object.keys(fromC).length).toBeGreaterThan(20);
    expect(fromTs).toEqual(fromC);
    const flagsC = Object.fromEntries(
      [...header.matchAll(/#define MD_F_([A-Z_]+) (\d+)u/g)].map((m) => [m[1], Number(m[2])]),
    );
    expect(flagsC).toEqual(STEP_FLAGS);
    expect(header).toContain(`0x${PLAN_MAGIC.toString(16)}`);
  });

  // (a number, hex or decimal, or a character literal: the protocol's one-byte messages)
  const defines = [...header.matchAll(/^#define MD_([A-Z0-9_]+) (0x[0-9a-f]+|\d+|'.')u?(?=\s|$)/gm)].map(
    (m) => [m[1], m[2].startsWith("'") ? m[2][1] : Number(m[2])] as const,
  );
  // the groups of plan.ts whose members are MD_<GROUP>_<NAME> in plan.h
  const groups: Record<string, Record<string, number | string>> = { F_: STEP_FLAGS, MSG_: MSG, SPAWNED_: SPAWNED };

  it('has a twin in plan.ts for every #define of native/plan.h (MD_F_X: STEP_FLAGS.X, MD_MSG_X: MSG.X, MD_SPAWNED_X: SPAWNED.X, MD_X: X)', () => {
    expect(defines.map(([n]) => n)).toEqual(
      expect.arrayContaining([
        'PLAN_MAGIC',
        'REPORT_PID',
        'REPORT_STATE',
        'MSG_RELEASE',
        'MSG_ACK',
        'SPAWNED_REPORT',
        'MONITOR_CTL_FD',
      ]),
    );
    const ts = plan as unknown as Record<string, unknown>;
    for (const [name, value] of defines) {
      const group = Object.keys(groups).find((g) => name.startsWith(g));
      const twin = group ? groups[group]![name.slice(group.length)] : ts[name];
      expect(twin, `MD_${name} in plan.h`).toBe(value);
    }
  });

  it('has every launch-protocol constant of plan.ts in native/plan.h (MSG, SPAWNED)', () => {
    const names = new Set(defines.map(([n]) => n));
    for (const [group, members] of [
      ['MSG_', MSG],
      ['SPAWNED_', SPAWNED],
    ] as const) {
      for (const key of Object.keys(members)) expect(names.has(group + key), `MD_${group}${key} in plan.h`).toBe(true);
    }
    // one byte each, and distinct: the child and the monitor compare a single byte
    expect(Object.values(MSG).every((m) => Buffer.byteLength(m) === 1)).toBe(true);
    expect(new Set(Object.values(MSG)).size).toBe(Object.values(MSG).length);
    expect(new Set(Object.values(SPAWNED)).size).toBe(Object.values(SPAWNED).length);
  });

  it('reads records of sizeof(struct md_report) bytes', () => {
    const body = /struct md_report \{([^}]*)\}/.exec(header)?.[1] ?? '';
    const sizes: Record<string, number> = { uint32_t: 4, int32_t: 4, uint64_t: 8 };
    const fields = [...body.matchAll(/^\s*(\w+) \w+;/gm)].map((m) => sizes[m[1]]);
    expect(fields.length).toBe(4);
    expect(fields).not.toContain(undefined); // a field of a type this test does not know
    // C's layout: each field at a multiple of its size, the whole a multiple of the largest
    let size = 0;
    for (const f of fields as number[]) size = Math.ceil(size / f) * f + f;
    size = Math.ceil(size / Math.max(...(fields as number[]))) * Math.max(...(fields as number[]));
    expect(REPORT_BYTES).toBe(size);
  });
});

describe('the op table', () => {
  const names = Object.keys(OPS) as OpName[];

  it('has a system call and a one-line description for every op', () => {
    for (const name of names) {
      expect(OPS[name].syscall, name).toMatch(/^[a-z]/);
      for (const step of [{ op: Op[name] }, { op: Op[name], ints: [1, 2, 3], strs: ['/a', '/b', 'c', 'd'] }]) {
        const text = describeStep({ ...step, why: '', phase: 'exec' });
        expect(text, name).toMatch(/^[a-z_0-9]+\(/);
        expect(text, name).not.toMatch(/undefined|\n/);
      }
    }
  });

  it("names the failing step's system call from the table (every op but EXEC, which names the command)", () => {
    const spec = { args: ['/bin/true'], cwd: '/' } as ContainerSpec;
    for (const name of names.filter((n) => n !== 'EXEC')) {
      const e = stepError({ op: Op[name], strs: ['/x'], why: 'the reason', phase: 'exec' }, 2, spec);
      expect(e.message, name).toMatch(new RegExp(`^${OPS[name].syscall.replace(/[()]/g, '\\$&')}\\(/x\\): ENOENT — `));
    }
    expect(
      stepError({ op: Op.EXEC, ints: [1, 0, 0], strs: ['/nope'], why: '', phase: 'exec' }, 2, {
        args: ['/nope'],
        cwd: '/',
      } as ContainerSpec).message,
    ).toMatch(/^exec "\/nope": executable file not found/);
  });
});

describe('describeStep', () => {
  it('prints steps the way strace prints syscalls', () => {
    const d = (s: Omit<Step, 'why' | 'phase'>) => describeStep({ ...s, why: '', phase: 'mounts' });
    expect(d({ op: Op.MOUNT, strs: ['', '/', '', ''], ints: [0x4000 | 0x40000] })).toBe(
      'mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)',
    );
    expect(d({ op: Op.MOUNT, strs: ['/dev/null', '/m/dev/null', '', ''], ints: [4096] })).toBe(
      'mount("/dev/null", "/m/dev/null", NULL, MS_BIND, NULL)',
    );
    expect(d({ op: Op.UMOUNT2, strs: ['.'], ints: [2] })).toBe('umount2(".", MNT_DETACH)');
    expect(d({ op: Op.UNSHARE, ints: [0x02000000] })).toBe('unshare(CLONE_NEWCGROUP)');
    expect(d({ op: Op.MKDIR, strs: ['/x'], ints: [0o1777] })).toBe('mkdir("/x", 01777)');
    expect(d({ op: Op.EXEC, ints: [2, 1, 0], strs: ['sh', '-c', 'A=1'] })).toBe('execve("sh", ["sh", "-c"], [1 vars])');
    expect(d({ op: Op.SECCOMP, strs: [new Uint8Array(16)] })).toBe(
      'seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=2 instructions})',
    );
  });
});
