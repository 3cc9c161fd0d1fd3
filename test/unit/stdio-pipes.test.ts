// Which fds a container gets as pipes to minidock's relay (the user's terminal never reaches it),
// how the plan says so, and what happens once nobody reads the container's output.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildPlan, stdioPipes } from '../../src/runtime/build-plan';
import { killIfOutputGone } from '../../src/runtime/process';
import { Op, describeStep } from '../../src/runtime/plan';
import type { ContainerSpec } from '../../src/runtime/spec';
import { testSpec } from './spec-fixture';

const base: ContainerSpec = testSpec();
const stdioStep = (over: Partial<ContainerSpec>, terminals: number) =>
  buildPlan({ ...base, ...over }, { merged: '/m', upper: '/u', work: '/w' }, [], { terminals }).find(
    (s) => s.op === Op.STDIO,
  )!;

describe('stdioPipes: the terminal fds become pipes, unless -t', () => {
  it('pipes exactly the fds that are a terminal; stdin only with -i (else /dev/null)', () => {
    expect(stdioPipes({ tty: false, interactive: false }, 0b111)).toBe(0b110);
    expect(stdioPipes({ tty: false, interactive: true }, 0b111)).toBe(0b111);
    expect(stdioPipes({ tty: false, interactive: true }, 0b001)).toBe(0b001); // `run -i ... | less`
    expect(stdioPipes({ tty: false, interactive: true }, 0b100)).toBe(0b100); // stderr alone on the terminal
    expect(stdioPipes({ tty: false, interactive: true }, 0)).toBe(0); // scripts and tests: as they are
    expect(stdioPipes({ tty: true, interactive: true }, 0b111)).toBe(0); // -t: the container's own pty
  });

  it('the STDIO step carries the mask, and says so in --dry-run/--trace; without terminals it is as before', () => {
    const none = stdioStep({ interactive: true }, 0);
    expect(none.ints).toEqual([0]);
    expect(describeStep(none)).toBe('fcntl(0..2, clear FD_CLOEXEC|O_NONBLOCK); setsid()');
    const all = stdioStep({ interactive: true }, 0b111);
    expect(all.ints).toEqual([0, 0b111]);
    expect(describeStep(all)).toBe(
      'dup2(pipe, 0); dup2(pipe, 1); dup2(pipe, 2); fcntl(0..2, clear FD_CLOEXEC|O_NONBLOCK); setsid()',
    );
    expect(all.why).toMatch(/fd 0, 1, 2: the user's terminal, so a pipe to minidock's relay instead/);
    const noI = stdioStep({}, 0b111);
    expect(noI.ints).toEqual([1, 0b110]);
    expect(describeStep(noI)).toMatch(/^dup2\(pipe, 1\); dup2\(pipe, 2\); dup2\(open\("\/dev\/null"\), 0\)/);
    expect(stdioStep({ tty: true, interactive: true }, 0b111).ints).toEqual([0]);
  });
});

describe('killIfOutputGone', () => {
  const sleeper = () => spawn('sleep', ['30'], { stdio: 'ignore' });
  const exited = (c: ReturnType<typeof sleeper>) =>
    new Promise<string | null>((r) => c.on('exit', (_code, sig) => r(sig)));

  it('SIGKILLs the target escalateMs after the output went away', async () => {
    const c = sleeper();
    let gone = (): void => {};
    const undo = killIfOutputGone({ outputGone: new Promise((r) => (gone = r)) }, () => c.pid!, 50);
    const t0 = Date.now();
    gone();
    expect(await exited(c)).toBe('SIGKILL');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    undo();
  });

  it('does nothing once undone (the container exited first), nor while the output is read', async () => {
    const c = sleeper();
    let gone = (): void => {};
    const undo = killIfOutputGone({ outputGone: new Promise((r) => (gone = r)) }, () => c.pid!, 20);
    await new Promise((r) => setTimeout(r, 60)); // output still read: no kill
    undo();
    gone();
    await new Promise((r) => setTimeout(r, 80));
    expect(c.exitCode).toBe(null);
    expect(c.signalCode).toBe(null);
    c.kill('SIGKILL');
    await exited(c);
  });
});
