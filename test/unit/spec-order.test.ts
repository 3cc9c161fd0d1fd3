// specFromFlags' order of effects, which `inspect`, the saved config and --dry-run show: the spec's
// keys in one fixed order (an unset optional part leaves no key), the environment in the order later
// entries replace earlier ones, and, when several flags are wrong, the first in checking order reported.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunFlags, specFromFlags } from '../../src/runtime/options.js';

let base: string;
let root: string;
const ID = 'b'.repeat(64);
const calls: string[][] = [];
const seccompFor = (_choice: unknown, caps: string[]) => {
  calls.push(caps);
  return { program: new Uint8Array(8), name: 'test-profile' };
};
const spec = (f: RunFlags, args = ['sh'], rootfs = root) => specFromFlags(ID, rootfs, args, f, seccompFor);
const error = async (f: RunFlags, args = ['sh'], rootfs = root): Promise<string> => {
  try {
    await spec(f, args, rootfs);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'minidock-spec-order-'));
  root = join(base, 'rootfs');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'data'));
  mkdirSync(join(base, 'vol'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nuser:x:1000:\n');
  writeFileSync(join(base, 'env'), 'A=file\nB=file\n');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('specFromFlags: the spec in a fixed order', () => {
  it('keys, with every optional part set', async () => {
    const s = await spec({ name: 'n', volume: [`${join(base, 'vol')}:/data`], memory: '50M', network: 'bridge' });
    expect(Object.keys(s)).toEqual([
      'id',
      'name',
      'rootfs',
      'args',
      'env',
      'cwd',
      'hostname',
      'uid',
      'gid',
      'additionalGids',
      'tty',
      'ttySize',
      'interactive',
      'readonlyRootfs',
      'mounts',
      'capabilities',
      'noNewPrivileges',
      'seccomp',
      'seccompProfileName',
      'privileged',
      'maskedPaths',
      'readonlyPaths',
      'rlimits',
      'limits',
      'cgroupParent',
      'stopTimeoutSec',
      'network',
    ]);
    expect(s.seccompProfileName).toBe('test-profile');
    expect(s.seccomp).toHaveLength(8);
  });

  it('--privileged: no seccomp compiled, no masked paths, no no_new_privs', async () => {
    calls.length = 0;
    const s = await spec({ privileged: true });
    expect(calls).toEqual([]);
    expect(s).toMatchObject({ privileged: true, noNewPrivileges: false, maskedPaths: [], readonlyPaths: [] });
    expect(s.seccomp).toBeUndefined();
    expect('seccomp' in s).toBe(true); // the key is there, undefined
  });

  it('seccomp is compiled for the capability set after --cap-drop', async () => {
    calls.length = 0;
    const s = await spec({ capDrop: ['ALL'], capAdd: ['CHOWN'] });
    expect(calls).toEqual([['CAP_CHOWN']]);
    expect(s.capabilities).toEqual(['CAP_CHOWN']);
  });

  it('environment: PATH, HOSTNAME, HOME, TERM with -t, --env-file, -e; a later entry replaces in place', async () => {
    const s = await spec({
      tty: true,
      user: 'user',
      hostname: 'h',
      envFile: [join(base, 'env')],
      env: ['B=cli', 'HOME=/x'],
    });
    expect(s.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOSTNAME=h',
      'HOME=/x',
      'TERM=xterm',
      'A=file',
      'B=cli',
    ]);
  });
});

describe('specFromFlags: the first bad input is the one reported', () => {
  it('rootfs, then command, then hostname, -w, -u, -e, -v, --security-opt, --stop-timeout, --ulimit, limits', async () => {
    const bad: RunFlags = {
      hostname: '-bad-',
      workdir: 'rel',
      user: 'nobody-here',
      env: ['=x'],
      volume: ['./relative:/data'],
      securityOpt: ['nonsense'],
      stopTimeout: '-1',
      ulimit: ['nofile'],
      memory: '1k',
    };
    expect(await error(bad, ['sh'], join(base, 'missing'))).toMatch(/^rootfs .*missing: no such directory/);
    expect(await error(bad, [])).toMatch(/^no command given/);
    const order: (keyof RunFlags)[] = [
      'hostname',
      'workdir',
      'user',
      'env',
      'volume',
      'securityOpt',
      'stopTimeout',
      'ulimit',
      'memory',
    ];
    const seen: string[] = [];
    const flags = { ...bad };
    for (const key of order) {
      seen.push(await error(flags));
      delete flags[key];
    }
    expect(await error(flags)).toBe('no error');
    expect(seen).toEqual([
      expect.stringMatching(/^--hostname -bad-: /),
      expect.stringMatching(/^-w rel: /),
      expect.stringMatching(/^-u nobody-here: /),
      expect.stringMatching(/^-e "=x": /),
      expect.stringMatching(/^-v \.\/relative:\/data: /),
      expect.stringMatching(/^--security-opt nonsense: /),
      expect.stringMatching(/^--stop-timeout -1: /),
      expect.stringMatching(/^--ulimit nofile: /),
      expect.stringMatching(/^invalid --memory "1k": /),
    ]);
  });
});
