// exec's spec: the container's, with exec's own -e entries parsed by the same rules as run's
// (flag-parsers.ts parseEnvEntry): a bad name or a NUL byte is one line, KEY alone copies minidock's own value.
import { describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors';
import { DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities';
import { execSpec } from '../../src/runtime/lifecycle/exec';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, type ContainerSpec } from '../../src/runtime/spec';

const base: ContainerSpec = {
  id: 'f'.repeat(64),
  rootfs: '/r',
  args: ['sh'],
  env: ['PATH=/bin:/usr/bin', 'A=from-run'],
  cwd: '/w',
  hostname: 'h',
  uid: 0,
  gid: 0,
  additionalGids: [0],
  tty: false,
  interactive: false,
  readonlyRootfs: false,
  mounts: [],
  capabilities: DOCKER_DEFAULT_CAPS,
  noNewPrivileges: true,
  seccomp: new Uint8Array(8),
  privileged: false,
  maskedPaths: DEFAULT_MASKED_PATHS,
  readonlyPaths: DEFAULT_READONLY_PATHS,
  rlimits: [],
  limits: {},
  stopTimeoutSec: 10,
};

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
