// seccomp in the real kernel: the program minidock compiles in TypeScript is loaded as the last step
// before execve, and the kernel then answers the container's system calls with it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compileProfile, evaluate, loadProfileFile, DEFAULT_PROFILE } from '../../src/runtime/seccomp/index.js';
import { DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities.js';
import {
  ROOTFS,
  ROOT_DIR,
  canRun,
  hostSnapshot,
  minidock,
  removeStateRoot,
  skipReason,
  tempStateRoot,
} from '../helpers';

const PROBES = join(ROOT_DIR, 'native', 'build', 'probes');
const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/seccomp.test.ts: ${skipReason}`);

const SCRIPT =
  'grep Seccomp: /proc/self/status; for p in mount_tmpfs unshare_user_mount keyctl clone3 bpf; do /probe/breakout $p; done';

/** "mount_tmpfs: EPERM # ..." -> { mount_tmpfs: 'EPERM' }, plus the Seccomp mode. */
function results(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of stdout.split('\n')) {
    const m = /^(\w+):\s+(\S+)/.exec(l);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

d('seccomp in the kernel (real containers)', () => {
  let root: string;
  let files: string;
  let before: ReturnType<typeof hostSnapshot>;
  const run = (args: string[]) => minidock(['run', '--rm', '-v', `${PROBES}:/probe:ro`, ...args], { root });

  beforeAll(() => {
    root = tempStateRoot();
    files = mkdtempSync(join(tmpdir(), 'minidock-seccomp-'));
  });
  afterAll(() => {
    removeStateRoot(root);
    rmSync(files, { recursive: true, force: true });
  });
  beforeEach(() => {
    before = hostSnapshot(root);
  });
  afterEach(() => {
    expect(hostSnapshot(root)).toEqual(before);
  });

  it('the default profile: mount/unshare/keyctl/bpf EPERM, clone3 ENOSYS', () => {
    const r = run([ROOTFS, 'sh', '-c', SCRIPT]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(results(r.stdout)).toEqual({
      Seccomp: '2',
      mount_tmpfs: 'EPERM',
      unshare_user_mount: 'EPERM',
      keyctl: 'EPERM',
      clone3: 'ENOSYS',
      bpf: 'EPERM',
    });
  });

  it('seccomp=unconfined: no filter (Seccomp: 0); the kernel itself answers', () => {
    const r = run(['--security-opt', 'seccomp=unconfined', ROOTFS, 'sh', '-c', SCRIPT]);
    expect(r.code).toBe(0);
    const res = results(r.stdout);
    expect(res.Seccomp).toBe('0');
    expect(res.clone3).toBe('EINVAL'); // the kernel's answer to clone3(NULL, 0)
    expect(res.keyctl).toBe('ok');
    expect(res.mount_tmpfs).toBe('EPERM'); // still: no CAP_SYS_ADMIN
  });

  it('the profile is compiled for the capabilities: --cap-add SYS_ADMIN lets mount and clone3 through', () => {
    const r = run(['--cap-add', 'SYS_ADMIN', ROOTFS, 'sh', '-c', SCRIPT]);
    expect(r.code).toBe(0);
    expect(results(r.stdout)).toMatchObject({ Seccomp: '2', mount_tmpfs: 'ok', clone3: 'EINVAL' });
  });

  it('the default profile as a Docker JSON file round-trips: same program, same decisions, same results in a container', () => {
    const file = join(files, 'default.json');
    writeFileSync(file, JSON.stringify(DEFAULT_PROFILE, null, 2));
    const loaded = loadProfileFile(file);
    const a = compileProfile(DEFAULT_PROFILE, { caps: DOCKER_DEFAULT_CAPS });
    const b = compileProfile(loaded, { caps: DOCKER_DEFAULT_CAPS });
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    for (let nr = 0; nr < 480; nr++) {
      for (const args of [[], [0x10000000n], [40n], [0xffffffffn]]) {
        expect(evaluate(b, { nr, args }).raw, `nr ${nr}`).toBe(evaluate(a, { nr, args }).raw);
      }
    }
    const viaDefault = run([ROOTFS, 'sh', '-c', SCRIPT]);
    const viaFile = run(['--security-opt', `seccomp=${file}`, ROOTFS, 'sh', '-c', SCRIPT]);
    expect(viaFile.code).toBe(0);
    expect(results(viaFile.stdout)).toEqual(results(viaDefault.stdout));
  });

  it('a profile file is really what the kernel enforces: deny mkdir with EACCES', () => {
    const file = join(files, 'nomkdir.json');
    writeFileSync(
      file,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
      }),
    );
    const r = run([
      '--security-opt',
      `seccomp=${file}`,
      ROOTFS,
      'sh',
      '-c',
      'mkdir /x; echo rc=$?; touch /y && echo touch-ok',
    ]);
    expect(r.stdout).toContain('rc=1');
    expect(r.stdout).toContain('touch-ok');
    expect(r.stderr).toMatch(/Permission denied/);
    // and without the profile mkdir works
    expect(run([ROOTFS, 'sh', '-c', 'mkdir /x && echo ok']).stdout).toBe('ok\n');
  });

  it('a malformed profile: exit 125, one line naming the file and the problem, nothing created', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['truncated.json', '{"defaultAction": ', /not valid JSON/],
      [
        'unknown.json',
        JSON.stringify({
          defaultAction: 'SCMP_ACT_ERRNO',
          syscalls: [{ names: ['read', 'mkdirx'], action: 'SCMP_ACT_ALLOW' }],
        }),
        /unknown syscall "mkdirx" in syscalls\[0\]\.names/,
      ],
      ['badaction.json', JSON.stringify({ defaultAction: 'SCMP_ACT_MAYBE' }), /defaultAction/],
    ];
    for (const [name, text, why] of cases) {
      const file = join(files, name);
      writeFileSync(file, text);
      const r = run(['--security-opt', `seccomp=${file}`, ROOTFS, 'true']);
      expect(r.code, name).toBe(125);
      const lines = r.stderr.trim().split('\n');
      expect(lines, name).toHaveLength(1);
      expect(lines[0]).toContain(`seccomp profile ${file}:`);
      expect(lines[0]).toMatch(why);
    }
    const missing = run(['--security-opt', `seccomp=${join(files, 'nope.json')}`, ROOTFS, 'true']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain(`seccomp profile ${join(files, 'nope.json')}: cannot read it (ENOENT)`);
  });

  it('no-new-privileges=false still gets the filter (loaded before the capabilities go)', () => {
    for (const user of [[], ['-u', '1000']]) {
      const r = run([
        ...user,
        '--security-opt',
        'no-new-privileges=false',
        ROOTFS,
        'sh',
        '-c',
        'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; /probe/breakout mount_tmpfs',
      ]);
      expect(r.stderr, user.join(' ')).toBe('');
      expect(r.stdout).toMatch(/NoNewPrivs:\s+0/);
      expect(r.stdout).toMatch(/Seccomp:\s+2/);
      expect(r.stdout).toMatch(/mount_tmpfs: EPERM/);
    }
  });
});
