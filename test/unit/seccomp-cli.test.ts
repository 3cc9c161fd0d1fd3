// `minidock seccomp show|test`: the lesson tools (no root, no kernel: the filter runs in TypeScript).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { showText, testText } from '../../src/cli/format-seccomp.js';
import { testSyscall } from '../../src/runtime/seccomp/try-syscall.js';
import { DEFAULT_PROFILE } from '../../src/runtime/seccomp/default.js';
import { MinidockError } from '../../src/errors.js';
import { BIN, built } from '../helpers';

const dir = mkdtempSync(join(tmpdir(), 'minidock-seccomp-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('seccomp show', () => {
  const text = showText('default');

  it('prints the size and one line per instruction, with syscall names and jump targets', () => {
    const m = /(\d+) instructions = (\d+) bytes/.exec(text);
    expect(m).not.toBeNull();
    const n = Number(m![1]);
    expect(Number(m![2])).toBe(n * 8);
    const listing = text.split('\n').filter((l) => /^\s+\d+ {2}\S/.test(l));
    expect(listing).toHaveLength(n);
    expect(listing.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([...Array(n).keys()]);
    expect(text).toMatch(/jeq\s+#165?|jeq\s+#0, L\d+(→L\d+)?, next\s+; read/);
    expect(text).toMatch(/; clone: check its arguments/);
    expect(text).toMatch(/ret\s+KILL_PROCESS/);
    expect(text).toMatch(/default action\s+ERRNO\(EPERM\)/);
  });

  it('has no colour unless asked, and colour when asked', () => {
    expect(text).not.toMatch(/\x1b\[/);
    const coloured = showText('default', { color: true });
    expect(coloured).toMatch(/\x1b\[32mALLOW\x1b\[0m/); // ALLOW in green
    expect(coloured).toMatch(/\x1b\[31mKILL_PROCESS\x1b\[0m/); // kill in red
    expect(coloured.replace(/\x1b\[\d+m/g, '')).toBe(text);
  });

  it('compiles for the capabilities given: --cap-add SYS_ADMIN lets mount through by number', () => {
    expect(text).not.toMatch(/; mount$/m);
    const admin = showText('default', { capAdd: ['SYS_ADMIN'] });
    expect(admin).toMatch(/jeq\s+#165, \S+, next\s+; mount$/m);
    expect(admin).toMatch(/Docker's default set \+ SYS_ADMIN/);
  });

  it('explains unconfined instead of printing a program', () => {
    const t = showText('unconfined');
    expect(t).toMatch(/no filter at all/);
    expect(t).not.toMatch(/instructions/);
  });

  it('reads a Docker-format file, and names the file in errors', () => {
    const good = join(dir, 'small.json');
    writeFileSync(
      good,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
      }),
    );
    const t = showText(good);
    expect(t).toMatch(/jeq\s+#83, \S+, next\s+; mkdir/);
    expect(t).toMatch(/ret\s+ERRNO\(EACCES\)/);
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdirx'], action: 'SCMP_ACT_ERRNO' }] }),
    );
    expect(() => showText(bad)).toThrow(MinidockError);
    expect(() => showText(bad)).toThrow(`seccomp profile ${bad}: unknown syscall "mkdirx"`);
  });
});

describe('seccomp test', () => {
  it('says what the default profile does to mount, unshare, keyctl, clone3, read', () => {
    const v = (s: string, args: string[] = [], caps: string[] = []) =>
      testSyscall('default', s, args, { capAdd: caps }).result;
    expect(v('mount')).toMatchObject({ action: 'ERRNO(EPERM)', errno: 'EPERM', nr: 165 });
    expect(v('unshare').action).toBe('ERRNO(EPERM)');
    expect(v('keyctl').action).toBe('ERRNO(EPERM)');
    expect(v('clone3')).toMatchObject({ action: 'ERRNO(ENOSYS)', errno: 'ENOSYS' });
    expect(v('read').action).toBe('ALLOW');
    expect(v('mount', [], ['SYS_ADMIN']).action).toBe('ALLOW');
    // clone: allowed without namespace flags, refused with CLONE_NEWUSER
    expect(v('clone', ['0x11']).action).toBe('ALLOW');
    expect(v('clone', ['0x10000000']).action).toBe('ERRNO(EPERM)');
  });

  it('kills other ABIs', () => {
    expect(testSyscall('default', '20', [], { arch: 'i386' }).result.action).toBe('KILL_PROCESS');
    expect(testSyscall('default', 'getpid', [], { arch: 'x32' }).result).toMatchObject({
      action: 'KILL_PROCESS',
      nr: 0x40000000 + 39,
    });
    expect(() => testSyscall('default', 'getpid', [], { arch: 'i386' })).toThrow(/NUMBER of the i386 table/);
  });

  it('shows the path the filter took: the instructions that ran, and the rules that name the call', () => {
    const t = testText('default', 'mount', []);
    const { result } = testSyscall('default', 'mount', []);
    expect(t).toContain(`path      ${result.steps} of ${result.instructions} instructions ran`);
    expect(t).toMatch(/verdict\s+ERRNO\(EPERM\)/);
    expect(t).toMatch(/returns -1 with errno EPERM/);
    expect(t).toMatch(/more "is it syscall N\?" comparisons, none matched/);
    expect(t).toMatch(/✗ syscalls\[\d+\]: ALLOW\s+\(needs CAP_SYS_ADMIN\)/);
    expect(t).toMatch(/try: minidock seccomp test default mount --cap-add SYS_ADMIN/);
    // the path ends at the ret it names
    const last = result.path[result.path.length - 1];
    expect(t).toMatch(new RegExp(`^\\s+${last}  ret\\s+ERRNO\\(EPERM\\)`, 'm'));
    // every instruction that ran is listed or counted in a fold
    const listed = t
      .split('\n')
      .filter((l) => (/^\s+\d+ {2}\S/.test(l) && !l.includes('ret ')) || /^\s+\d+ {2}ret/.test(l)).length;
    const folded = [...t.matchAll(/… (\d+) more/g)].reduce((s, m) => s + Number(m[1]), 0);
    expect(listed + folded).toBe(result.steps);
  });

  it('--json is one object; bad input is a MinidockError', () => {
    const j = JSON.parse(testText('default', 'clone3', [], { json: true }));
    expect(j).toMatchObject({ syscall: 'clone3', action: 'ERRNO(ENOSYS)', raw: '0x00050026' });
    expect(() => testText('default', 'mkdirx', [])).toThrow(/unknown syscall "mkdirx"/);
    expect(() => testText('default', 'clone', ['NEWUSER'])).toThrow(/not a number/);
    expect(() => testText('default', 'mount', [], { arch: 'arm' })).toThrow(/--arch arm/);
  });

  it('a profile in Docker JSON gives the same decisions as the built-in default', () => {
    const file = join(dir, 'default.json');
    writeFileSync(file, JSON.stringify(DEFAULT_PROFILE));
    for (const s of ['mount', 'read', 'clone3', 'keyctl', 'ptrace', 'personality', 'socket', 'bpf']) {
      expect(testSyscall(file, s, []).result.raw, s).toBe(testSyscall('default', s, []).result.raw);
    }
  });
});

// The bundled CLI, when it has been built: wiring, exit codes, no colour on a pipe.
if (!built) console.warn('SKIPPED the CLI part of test/unit/seccomp-cli.test.ts: needs `npm run build` first');
(built ? describe : describe.skip)('minidock seccomp (the CLI)', () => {
  const run = (args: string[]) => spawnSync(BIN, args, { encoding: 'utf8' });

  it('show and test print to stdout, without colour on a pipe', () => {
    const s = run(['seccomp', 'show']);
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/instructions = \d+ bytes/);
    expect(s.stdout).not.toMatch(/\x1b\[/);
    const t = run(['seccomp', 'test', 'default', 'clone', '0x10000000']);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/verdict\s+ERRNO\(EPERM\)/);
    expect(run(['seccomp', 'show', '--color']).stdout).toMatch(/\x1b\[/);
  });

  it('exits 125 with one line naming the file for a malformed profile', () => {
    const bad = join(dir, 'malformed.json');
    writeFileSync(bad, '{"defaultAction": "SCMP_ACT_ALLOW", ');
    const r = run(['seccomp', 'test', bad, 'mount']);
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`seccomp profile ${bad}: not valid JSON`);
  });
});
