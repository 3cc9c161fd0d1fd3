// `minidock run` as a new user meets it: -it with a pipe, --env-file from a pipe, the bytes a
// terminal receives under -it, a ^C that PID 1 ignores, Docker verbs minidock lacks. Real CLI, real
// kernel (as root), real ptys (util-linux script).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  ROOTFS,
  built,
  canRun,
  cgroupParentFor,
  hasScript,
  minidock,
  minidockAsync,
  onTerminal,
  pidsMatching,
  skipReason,
  useLeakCheckedRoot,
  waitFor,
} from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/run-ux.test.ts: ${skipReason}`);
const hasBash = spawnSync('bash', ['-c', 'true']).status === 0;

d('minidock run: what a new user meets', () => {
  let root: string;
  const env = () => `MINIDOCK_ROOT=${root} MINIDOCK_CGROUP_PARENT=${cgroupParentFor(root)}`;

  useLeakCheckedRoot((r) => (root = r)); // private state root + leak check around each test

  it('-it with stdin from a pipe: one line, exit 125, "drop -t" (Docker: the input device is not a TTY), instead of hanging', () => {
    const r = minidock(['run', '--rm', '-it', ROOTFS, 'sh'], { root, input: 'echo hi\n', timeout: 20_000 });
    expect(r.signal).toBe(null); // not killed by the timeout
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^minidock: -i -t: the input device is not a TTY .*drop -t[^\n]*\n$/);
    expect(r.stdout).toBe('');
    // -i alone reads the pipe to its end, and the container sees the end of input
    const i = minidock(['run', '--rm', '-i', ROOTFS, 'sh'], { root, input: 'echo hi\n', timeout: 20_000 });
    expect(i.code).toBe(0);
    expect(i.stdout).toBe('hi\n');
  });

  it("--env-file /dev/stdin reads stdin when it is a socket (as Node's child_process makes it)", () => {
    const r = minidock(['run', '--rm', '--env-file', '/dev/stdin', ROOTFS, 'sh', '-c', 'echo "B=$B"'], {
      root,
      input: 'B=2\n',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('B=2\n');
  });

  it.skipIf(!hasBash)(
    `--env-file /dev/stdin and <(printf ...) read shell pipes as regular files (Node itself used to drain them, taking --env-file as its own option)${hasBash ? '' : ' (SKIPPED: no bash)'}`,
    () => {
      const sh = (line: string) => spawnSync('bash', ['-c', `${env()} ${line}`], { encoding: 'utf8', timeout: 30_000 });
      const stdin = sh(`printf 'B=2\\n' | ${BIN} run --rm --env-file /dev/stdin ${ROOTFS} sh -c 'echo "B=$B"'`);
      expect(stdin.stderr).toBe('');
      expect(stdin.stdout).toBe('B=2\n');
      const subst = sh(`${BIN} run --rm --env-file <(printf 'B=2\\nC=3\\n') ${ROOTFS} sh -c 'echo "B=$B C=$C"'`);
      expect(subst.stderr).toBe('');
      expect(subst.stdout).toBe('B=2 C=3\n');
    },
  );

  it('a missing --env-file is minidock\'s one line, exit 125 (not Node\'s "node: X: not found", exit 9)', () => {
    const r = minidock(['run', '--rm', '--env-file', '/nonexistent/env', ROOTFS, 'true'], { root });
    expect(r.code).toBe(125);
    expect(r.stderr).toBe('minidock: --env-file /nonexistent/env: ENOENT — give a readable file of KEY=VALUE lines\n');
  });

  it.skipIf(!hasScript)(
    `-it on a real terminal: lines end in \\r\\n, not \\r\\r\\n (OPOST off in raw mode), and the terminal is restored after${hasScript ? '' : ' (SKIPPED: no util-linux script)'}`,
    async () => {
      // script(1) runs the command on a new pty: minidock's stdin and stdout are that terminal, with
      // the usual cooked settings (ICANON, ECHO, OPOST+ONLCR). After minidock, stty -a shows them again.
      const cmd = `${env()} ${BIN} run --rm -it ${ROOTFS} sh -c 'echo one; echo two'; echo rc=$?; stty -a`;
      const { code, out } = await onTerminal(cmd);
      expect(code).toBe(0);
      // the container's pty turned "\n" into "\r\n" once; the user's terminal must not add a second "\r"
      expect(out).toContain('one\r\ntwo\r\n');
      expect(out).not.toContain('\r\r\n');
      expect(out).toContain('rc=0\r\n'); // output processing is back on: the shell's "\n" became "\r\n"
      const words = out.split(/[\s;]+/);
      for (const flag of ['opost', 'onlcr', 'icanon', 'echo', 'isig', 'icrnl']) expect(words).toContain(flag);
      expect(words).not.toContain('-opost');
    },
  );

  it.skipIf(!hasScript)(
    `-it: the container's last line is never lost at its exit (libuv's EOF on POLLHUP came before the pty's last bytes, about 1 run in 30; 30 runs here)${hasScript ? '' : ' (SKIPPED: no util-linux script)'}`,
    async () => {
      const one = `${BIN} run --rm -it ${ROOTFS} sh -c 'echo one; echo two'`;
      const cmd = `export ${env()}; for i in $(seq 30); do ${one}; done; echo rc=$?`;
      const { code, out } = await onTerminal(cmd);
      expect(code).toBe(0);
      expect(out.endsWith('rc=0\r\n')).toBe(true);
      expect(out.split('one\r\ntwo\r\n').length - 1).toBe(30);
    },
    60_000,
  );

  it('^C (SIGINT) to a foreground container whose PID 1 has no handler: one line saying so, then SIGKILL after --stop-timeout: 137', async () => {
    const c = minidockAsync(['run', '--rm', '--stop-timeout', '1', ROOTFS, 'sleep', '3017'], { root });
    await waitFor(() => pidsMatching('sleep 3017', 'sleep').length > 0, 15_000, "the container's sleep");
    const t0 = Date.now();
    c.child.kill('SIGINT');
    const r = await c.done;
    expect(r.code).toBe(137);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(r.stderr).toMatch(
      /^minidock: SIGINT forwarded to the container's PID 1 \(sleep\), which has no handler for it and so ignores it .*SIGKILL follows in 1 s \(--stop-timeout\) — run a PID 1 that handles the signal[^\n]*\n$/,
    );
  });

  it('a PID 1 that handles SIGINT and SIGTERM exits by itself, with no such line', async () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      // busybox sh runs a trap between commands: at the latest when the current `sleep 0.1` ends
      const c = minidockAsync(
        [
          'run',
          '--rm',
          '--stop-timeout',
          '10',
          ROOTFS,
          'sh',
          '-c',
          'trap "exit 3" INT TERM; echo ready; while :; do sleep 0.1; done',
        ],
        {
          root,
        },
      );
      await waitFor(() => c.output().includes('ready'), 15_000, "the container's ready");
      const t0 = Date.now();
      c.child.kill(sig);
      const r = await c.done;
      expect(r.code, sig).toBe(3);
      expect(Date.now() - t0, sig).toBeLessThan(5_000); // its own exit, long before the SIGKILL
      expect(r.stderr, sig).toBe('');
    }
  });
});

describe.skipIf(!built)(`minidock and Docker's verbs${built ? '' : ' (SKIPPED: needs `npm run build` first)'}`, () => {
  it('a Docker verb minidock lacks: one line saying so and listing the verbs it has, exit 125; a typo still gets "did you mean"', () => {
    const top = minidock(['pull', 'busybox']); // (a verb in DOCKER_ONLY_VERBS, src/cli/program.ts)
    expect(top.code).toBe(125);
    expect(top.stderr).toMatch(
      /^minidock: "pull" is a Docker command that minidock does not have yet; minidock's commands are: run, ps, stop, [^\n]*\n$/,
    );
    const typo = minidock(['rnu', ROOTFS, 'true']);
    expect(typo.code).toBe(125);
    expect(typo.stderr).toBe("minidock: unknown command 'rnu' — did you mean run? (see minidock --help)\n");
  });
});
