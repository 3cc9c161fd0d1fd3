// exec's spec: the container's, with exec's own -e entries parsed by the same rules as run's
// (flag-parsers.ts parseEnvEntry): a bad name or a NUL byte is one line, KEY alone copies minidock's own value.
import { describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors';
import { execSpec } from '../../src/runtime/lifecycle/exec';
import type { ContainerSpec } from '../../src/runtime/spec';
import { testSpec } from './spec-fixture';

const base: ContainerSpec = testSpec({ env: ['PATH=/bin:/usr/bin', 'A=from-run'], cwd: '/w' });

const refusal = (env: string[]): string => {
  try {
    execSpec(base, ['sh'], { env });
  } catch (e) {
    expect(e).toBeInstanceOf(MinidockError);
    return (e as Error).message;
  }
  throw new Error(`execSpec accepted -e ${JSON.stringify(env)}`);
};

describe('execSpec -e', () => {
  it('replaces a variable of the container and adds new ones, keeping the rest in order', () => {
    const s = execSpec(base, ['env'], { env: ['A=from-exec', 'B=2'] });
    expect(s.env).toEqual(['PATH=/bin:/usr/bin', 'A=from-exec', 'B=2']);
    expect(s.args).toEqual(['env']);
  });

  it("copies KEY from minidock's environment, and drops it when unset (as run -e does)", () => {
    process.env.MINIDOCK_EXEC_TEST_SET = 'x y';
    delete process.env.MINIDOCK_EXEC_TEST_UNSET;
    const s = execSpec(base, ['env'], { env: ['MINIDOCK_EXEC_TEST_SET', 'MINIDOCK_EXEC_TEST_UNSET'] });
    expect(s.env).toContain('MINIDOCK_EXEC_TEST_SET=x y');
    expect(s.env.some((e) => e.startsWith('MINIDOCK_EXEC_TEST_UNSET'))).toBe(false);
    delete process.env.MINIDOCK_EXEC_TEST_SET;
  });

  it("refuses a bad variable name with run's line", () => {
    expect(refusal(['1X=1'])).toBe('-e "1X=1": the variable name must be letters, digits and _ (use KEY=VALUE)');
  });

  it('refuses a NUL byte in the value (execve would cut the string there)', () => {
    expect(refusal(['A=x\0y'])).toMatch(/^-e "A=x\\u0000y": contains a NUL byte/);
  });
});
