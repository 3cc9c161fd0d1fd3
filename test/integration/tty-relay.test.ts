// The user's terminal never reaches a container, and a closed output ends a run quietly. Real CLI,
// real kernel (as root), real ptys (util-linux script).
//
// Without -t, the fds of minidock that are a terminal reach the container as pipes to a relay
// (build-plan.ts stdioPipes, tty.ts startPipeRelay): a process inside with CAP_SYS_ADMIN and no
// seccomp filter (--privileged) could otherwise push input into the user's terminal (TIOCSTI) or
// change its settings. When nobody reads minidock's output any more (`| head -1`), the relay hangs
// up on the container instead of crashing on EPIPE, and the run ends and cleans up as usual.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BIN,
  ROOTFS,
  ROOT_DIR,
  canRun,
  cgroupParentFor,
  hasScript,
  minidock,
  onTerminal,
  skipReason,
  useLeakCheckedRoot,
} from '../helpers';

const PROBES = join(ROOT_DIR, 'native', 'build', 'probes');
const noScript = hasScript ? '' : ' (SKIPPED: no util-linux script)';

describe.skipIf(!canRun)(
  `the user's terminal stays out of the container; a closed output ends the run quietly${canRun ? '' : ` (SKIPPED: ${skipReason})`}`,
  () => {
    let root = '';
    useLeakCheckedRoot((r) => (root = r));
    const env = () => `MINIDOCK_ROOT=${root} MINIDOCK_CGROUP_PARENT=${cgroupParentFor(root)}`;
    const scratch = mkdtempSync(join(tmpdir(), 'minidock-tty-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    /** onTerminal's transcript without the "\r"s; `input` typed after `delayMs` */
    const onTty = async (cmd: string, input = '', delayMs = 0): Promise<{ code: number | null; out: string }> => {
      const r = await onTerminal(cmd, { input, delayMs });
      return { code: r.code, out: r.out.replace(/\r/g, '') };
    };
    /** `NAME: RESULT` lines of native/probes/refused (not anchored: bytes it pushed into a terminal
     * are echoed where the next line starts) */
    const results = (out: string): Record<string, string> =>
      Object.fromEntries([...out.matchAll(/(tiocsti_fd\d|tcsetattr_fd\d|fd\d): (\S+)/g)].map((m) => [m[1], m[2]]));

    for (const flags of [['--privileged'], ['--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined']]) {
      it.skipIf(!hasScript)(
        `${flags.join(' ')} -i on a terminal: fds 0-2 are pipes, TIOCSTI and tcsetattr cannot reach the outer terminal${noScript}`,
        async () => {
          const run = `${BIN} run --rm -i ${flags.join(' ')} -v ${PROBES}:/probe:ro ${ROOTFS} /probe/refused stdio`;
          // stty -g before and after: the outer terminal's settings, which the probe tries to change
          // (echo off); last, the same probe on the host, to say what this kernel allows by itself
          const { code, out } = await onTty(
            `stty -g; ${env()} ${run}; echo rc=$?; stty -g; echo ===; ${PROBES}/refused stdio`,
          );
          expect(code).toBe(0);
          const [inside, host] = out.split('===\n');
          expect(inside).toContain('rc=0\n');
          const r = results(inside);
          for (const fd of [0, 1, 2]) {
            expect(r[`fd${fd}`], inside).toMatch(/^pipe:\[\d+\]$/);
            expect(r[`tiocsti_fd${fd}`], inside).toBe('ENOTTY');
            expect(r[`tcsetattr_fd${fd}`], inside).toBe('ENOTTY');
          }
          const stty = inside.split('\n').filter((l) => /^[0-9a-f]+(:[0-9a-f]+)+$/.test(l));
          expect(stty).toHaveLength(2);
          expect(stty[1]).toBe(stty[0]); // (the host probe runs after both)
          expect(inside).not.toContain('MDINJ'); // no byte was pushed (it would be echoed)
          // what the kernel does on the host terminal, as root: the case this test checked
          const h = results(host);
          expect(h.fd0).toMatch(/^\/dev\/pts\/\d+$/);
          console.log(
            `host terminal, as root: TIOCSTI ${h.tiocsti_fd0}, tcsetattr ${h.tcsetattr_fd0}` +
              (h.tiocsti_fd0 === 'ok'
                ? ' — this kernel allows both: only the pipes kept the container out'
                : ' — this kernel refuses TIOCSTI by itself; tcsetattr was kept out by the pipes'),
          );
        },
      );
    }

    it.skipIf(!hasScript)(
      `ls -l /proc/self/fd/0 inside is a pipe with -i, /dev/null without; never the host's pty${noScript}`,
      async () => {
        const { code, out } = await onTty(
          `${env()} ${BIN} run --rm -i ${ROOTFS} ls -l /proc/self/fd/0; ${env()} ${BIN} run --rm ${ROOTFS} ls -l /proc/self/fd/0 /proc/self/fd/1`,
        );
        expect(code).toBe(0);
        expect(out).toMatch(
          /\/proc\/self\/fd\/0 -> pipe:\[\d+\]\n[\s\S]*\/proc\/self\/fd\/0 -> \/dev\/null\n[\s\S]*\/proc\/self\/fd\/1 -> pipe:\[\d+\]\n/,
        );
        expect(out).not.toMatch(/-> \/dev\/pts/);
      },
    );

    it.skipIf(!hasScript)(
      `-i on a terminal: typed lines reach the container, ^D ends its input, its exit status comes back${noScript}`,
      async () => {
        const { code, out } = await onTty(
          `${env()} ${BIN} run --rm -i ${ROOTFS} sh -c 'read a; echo "got $a"; echo err >&2; cat; exit 7'; echo rc=$?`,
          'hello\nworld\n\x04',
          1500,
        );
        expect(code).toBe(0);
        expect(out).toContain('got hello\n');
        expect(out).toContain('err\n');
        expect(out).toMatch(/world\n(.*\n)*rc=7\n/); // cat copied the rest, ^D ended it
      },
    );

    it('stdio that is not a terminal (files here) is given to the container as it is: no pipe, no relay', () => {
      const out = join(scratch, 'out');
      const r = spawnSync(
        'sh',
        [
          '-c',
          `${env()} ${BIN} run --rm ${ROOTFS} sh -c 'ls -l /proc/self/fd/1; readlink /proc/self/fd/2 >&2' >${out} 2>&1 </dev/null`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(0);
      const text = readFileSync(out, 'utf8');
      expect(text).not.toContain('pipe:');
      expect(text).toContain(out); // the host's file itself (its path as seen from the host's root)
      const dry = minidock(['run', '--dry-run', ROOTFS, 'true'], { root });
      expect(dry.stdout).toMatch(/fcntl\(0\.\.2/);
      expect(dry.stdout).not.toContain('dup2(pipe');
    });

    it.skipIf(!hasScript)(`--dry-run on a terminal shows the pipes the launch would make${noScript}`, async () => {
      const { out } = await onTty(`${env()} ${BIN} run --dry-run -i ${ROOTFS} true`);
      expect(out).toMatch(/dup2\(pipe, 0\); dup2\(pipe, 1\); dup2\(pipe, 2\); fcntl/);
    });

    // ---- a closed output ----

    /** `sh -c 'CMD | head -1'`, with CMD's stderr and exit status kept in files */
    const intoHead = (cmd: string) => {
      const err = join(scratch, 'err');
      const rc = join(scratch, 'rc');
      const t0 = Date.now();
      const r = spawnSync('sh', ['-c', `{ ${env()} ${cmd} 2>${err}; echo $? >${rc}; } | head -1`], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      return {
        stdout: r.stdout,
        ms: Date.now() - t0,
        stderr: readFileSync(err, 'utf8'),
        code: Number(readFileSync(rc, 'utf8')),
      };
    };

    it('run --rm -t ROOTFS yes | head -1: one line, no EPIPE crash, the container (directory, cgroups) cleaned up at once', () => {
      const r = intoHead(`${BIN} run --rm -t ${ROOTFS} yes`);
      expect(r.stdout).toBe('y\r\n'); // the container's pty turned \n into \r\n
      expect(r.stderr).toBe('');
      // the relay hung up: yes's next write got EIO, and it exited 1 by itself
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(10_000);
      // (the leak check after each test: no container directory, cgroup or mount left)
    });

    it('without --rm the container is kept, exited, with its status; a PID 1 that ignores its failed writes is killed after --stop-timeout', () => {
      const r = intoHead(`${BIN} run -t --name kept-yes ${ROOTFS} yes`);
      expect(r.stderr).toBe('');
      const ps = minidock(['ps', '-a'], { root });
      expect(ps.stdout).toMatch(/kept-yes/);
      expect(JSON.parse(minidock(['inspect', 'kept-yes'], { root }).stdout)).toMatchObject([
        { State: { Status: 'exited', ExitCode: 1 } },
      ]);
      expect(minidock(['rm', 'kept-yes'], { root }).code).toBe(0);
      // busybox sh's echo builtin fails quietly on EIO and the loop goes on: SIGKILL after 1 s
      const loop = intoHead(`${BIN} run --rm -t --stop-timeout 1 ${ROOTFS} sh -c 'while :; do echo y; done'`);
      expect(loop.stdout).toBe('y\r\n');
      expect(loop.stderr).toBe('');
      expect(loop.code).toBe(137);
      expect(loop.ms).toBeGreaterThanOrEqual(1000);
      expect(loop.ms).toBeLessThan(10_000);
    });

    it('logs -f ID | head -1 and logs ID | head -1 on a container printing `yes`: one line, exit 0, at once', () => {
      const id = minidock(['run', '-d', ROOTFS, 'yes'], { root }).stdout.trim();
      try {
        for (const args of [
          ['logs', '-f', id],
          ['logs', id],
          ['logs', '--tail', '5', '-f', id],
        ]) {
          const r = intoHead(`${BIN} ${args.join(' ')}`);
          expect(r.stdout, args.join(' ')).toBe('y\n');
          expect(r.stderr, args.join(' ')).toBe('');
          expect(r.code, args.join(' ')).toBe(0);
          expect(r.ms, args.join(' ')).toBeLessThan(10_000);
        }
      } finally {
        expect(minidock(['rm', '-f', id], { root }).code).toBe(0);
      }
    });
  },
);
