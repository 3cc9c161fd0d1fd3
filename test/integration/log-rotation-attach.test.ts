// --log-driver/--log-opt and attach's stdin against the real kernel, as root, in a private state
// root: json-file rotation done by the C monitor (~3 MB through max-size=1m, max-file=2: exactly two
// files, each at most 1 MiB, whole lines, logs/--tail/-f giving the newest lines in order, the
// oldest gone), --log-driver none (no file, logs refuses in one line), the bad values (one line,
// 125, nothing made), and run -d -i: attach's stdin reaches the container through its monitor's
// socket, EOF leaves it open for the next attach, SIGKILL of attach or of the monitor leaves no
// socket, process or directory. Each test compares the host before and after.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ROOTFS,
  canRun,
  hostSnapshot,
  minidock,
  minidockAsync,
  pidsMatching,
  removeStateRoot,
  skipReason,
  sleep,
  tempStateRoot,
  waitFor,
} from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/log-rotation-attach.test.ts: ${skipReason}`);

/** The abstract unix sockets listening now whose name starts with minidock-attach/ (from /proc/net/unix). */
function attachSockets(): string[] {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .map((l) => (l.trim().split(/\s+/)[7] ?? '').replace(/@+$/, '')) // (its zero padding shows as @)
    .filter((p) => p.startsWith('@minidock-attach/'))
    .sort();
}

d('--log-driver, --log-opt rotation, attach with stdin (real containers)', () => {
  let root: string;
  let before: ReturnType<typeof hostSnapshot>;
  let socketsBefore: string[];
  const md = (args: string[], input?: string) => minidock(args, { root, ...(input === undefined ? {} : { input }) });
  const ok = (args: string[], input?: string): string => {
    const r = md(args, input);
    expect(r.stderr, `minidock ${args.join(' ')}`).toBe('');
    expect(r.code, `minidock ${args.join(' ')}`).toBe(0);
    return r.stdout;
  };
  const oneLine = (r: ReturnType<typeof md>, code: number, re: RegExp) => {
    expect(r.code, r.stderr).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^minidock: [^\n]+\n$/);
    expect(r.stderr).toMatch(re);
  };
  const dirOf = (id: string) => join(root, 'containers', id);
  const monitors = () => pidsMatching(join(root, 'containers'), 'minidock-monito');
  const waitExited = (id: string) =>
    waitFor(() => JSON.parse(ok(['inspect', id]))[0].State.Status === 'exited', 30_000, `${id} to exit`);

  beforeAll(() => {
    root = tempStateRoot();
  });
  afterAll(() => {
    for (const p of monitors()) process.kill(p, 'SIGKILL'); // only after a failure: tests remove theirs
    removeStateRoot(root);
  });
  beforeEach(() => {
    before = hostSnapshot(root);
    socketsBefore = attachSockets();
  });
  afterEach(async () => {
    const left = md(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (left.length) md(['rm', '-f', ...left]);
    await waitFor(() => monitors().length === 0, 10_000, 'monitors to exit');
    expect(left).toEqual([]);
    expect(attachSockets()).toEqual(socketsBefore);
    expect(hostSnapshot(root)).toEqual(before);
  });

  it('max-size=1m, max-file=2 over ~3 MB: exactly two files of whole lines, each ≤ 1 MiB; logs, --tail and -f show the newest lines in order', async () => {
    // 40000 lines of ~80 bytes (~130 as json-file lines: ~5 MB of log from ~3 MB of output), in 8
    // bursts a short pause apart: the follower below polls every 100 ms, and a follower more than
    // max-file - 1 rotations behind loses a file (the monitor waits for no reader, as Docker's json-file)
    const script =
      'sleep 1; i=0; while [ $i -lt 40000 ]; do echo "line $i ........................................................................"; i=$((i+1)); [ $((i % 5000)) = 0 ] && sleep 0.4; done; true';
    const id = ok([
      'run',
      '-d',
      '--log-opt',
      'max-size=1m',
      '--log-opt',
      'max-file=2',
      ROOTFS,
      'sh',
      '-c',
      script,
    ]).trim();
    // a follower started at once goes on across every rotation: it sees each line once, in order
    const follow = minidockAsync(['logs', '-f', id], { root });
    await waitExited(id);
    const followed = await follow.done;
    expect(followed.code, followed.stderr).toBe(0);
    const seen = followed.stdout.split('\n').filter(Boolean);
    expect(seen.length).toBe(40000);
    expect(seen.every((l, i) => l.startsWith(`line ${i} `))).toBe(true);

    const logs = readdirSync(dirOf(id))
      .filter((f) => f.startsWith('container.log'))
      .sort();
    expect(logs).toEqual(['container.log', 'container.log.1']);
    for (const f of logs) {
      const text = readFileSync(join(dirOf(id), f), 'utf8');
      expect(statSync(join(dirOf(id), f)).size).toBeLessThanOrEqual(1 << 20);
      expect(text.endsWith('\n')).toBe(true);
      for (const l of text.split('\n').filter(Boolean)) expect(() => JSON.parse(l)).not.toThrow();
    }
    // logs: the older file, then the current one; the newest lines, consecutive, the last one last
    const out = ok(['logs', id]).split('\n').filter(Boolean);
    const first = Number(/^line (\d+) /.exec(out[0])?.[1]);
    expect(first).toBeGreaterThan(20000); // the oldest lines are gone (~2 MiB kept of ~5)
    expect(out.every((l, i) => l.startsWith(`line ${first + i} `))).toBe(true);
    expect(out[out.length - 1]).toMatch(/^line 39999 /);
    expect(
      ok(['logs', '--tail', '3', id])
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[1]),
    ).toEqual(['39997', '39998', '39999']);
    // inspect: Docker's LogConfig, the options as given
    expect(JSON.parse(ok(['inspect', id]))[0].HostConfig.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-size': '1m', 'max-file': '2' },
    });
    ok(['rm', id]);
  }, 120_000);

  it('--log-driver none: no container.log, logs refuses in one line (125), inspect says none; --dry-run names the log', async () => {
    const id = ok(['run', '-d', '--log-driver', 'none', ROOTFS, 'sh', '-c', 'echo hidden; exit 4']).trim();
    await waitExited(id);
    expect(JSON.parse(ok(['inspect', id]))[0].State.ExitCode).toBe(4);
    expect(readdirSync(dirOf(id)).filter((f) => f.startsWith('container.log'))).toEqual([]);
    oneLine(md(['logs', id]), 125, /log driver is none/);
    expect(JSON.parse(ok(['inspect', id]))[0].HostConfig.LogConfig).toEqual({ Type: 'none', Config: {} });
    ok(['rm', id]);
    expect(ok(['run', '--dry-run', '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3', ROOTFS, 'true'])).toMatch(
      /^# minidock: log driver json-file: container.log rotated at 10m \(10485760 bytes\), at most 3 files/m,
    );
  });

  it('bad --log-driver/--log-opt values: one line each, 125, nothing made', () => {
    const bad: [string[], RegExp][] = [
      [['--log-driver', 'syslog'], /--log-driver syslog: minidock has json-file .* and none/],
      [['--log-opt', 'max-size=10x'], /max-size=10x: use a size above 0/],
      [['--log-opt', 'max-size=0'], /max-size=0: use a size above 0/],
      [['--log-opt', 'max-file=3'], /max-file=3: max-file needs max-size/],
      [['--log-opt', 'max-size=1m', '--log-opt', 'max-file=0'], /max-file=0: use a whole number/],
      [['--log-opt', 'compress=true'], /compress=true: unknown option for the json-file log driver/],
      [['--log-opt', 'max-size'], /--log-opt max-size: use KEY=VALUE/],
      [['--log-driver', 'none', '--log-opt', 'max-size=1m'], /none log driver takes no options/],
      [['-i', '-t'], /-d -i -t: minidock attach relays stdin through a pipe/],
    ];
    for (const [flags, re] of bad) oneLine(md(['run', '-d', ...flags, ROOTFS, 'true']), 125, re);
    expect(existsSync(join(root, 'containers')) ? readdirSync(join(root, 'containers')) : []).toEqual([]);
  });

  it("run -d -i: attach's stdin reaches the container (read x; echo got $x), its exit status is attach's", async () => {
    const id = ok(['run', '-d', '-i', ROOTFS, 'sh', '-c', 'read x; echo got $x; exit 7']).trim();
    expect(attachSockets()).toContain(`@minidock-attach/${id}`);
    const r = md(['attach', id], 'hello\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('got hello\n');
    expect(r.code).toBe(7);
    expect(ok(['logs', id])).toBe('got hello\n');
    expect(JSON.parse(ok(['inspect', id]))[0].Config.OpenStdin).toBe(true);
    expect(attachSockets()).not.toContain(`@minidock-attach/${id}`); // gone at the exit
    ok(['rm', id]);
  });

  it("attach's EOF leaves the container's stdin open (a second attach writes more); --no-stdin sends nothing; SIGKILL of attach, then of the monitor, leaves nothing", async () => {
    const id = ok(['run', '-d', '-i', ROOTFS, 'sh', '-c', 'while read x; do echo "got $x"; done; echo eof']).trim();
    const first = minidockAsync(['attach', id], { root, input: 'one\n' });
    await waitFor(() => ok(['logs', id]).includes('got one'), 10_000, 'the first line');
    const second = minidockAsync(['attach', id], { root, input: 'two\n' });
    await waitFor(() => ok(['logs', id]).includes('got two'), 10_000, 'the second line');
    const quiet = minidockAsync(['attach', '--no-stdin', id], { root, input: 'never\n' });
    await sleep(500);
    for (const a of [first, second, quiet]) a.child.kill('SIGKILL');
    for (const a of [first, second, quiet]) expect((await a.done).signal).toBe('SIGKILL');
    expect(ok(['logs', id])).toBe('got one\ngot two\n');
    expect(JSON.parse(ok(['inspect', id]))[0].State.Status).toBe('running');
    // the monitor SIGKILLed: the kernel drops the abstract name and the pipe; the container goes
    // with it (its parent-death signal)
    const monitorPid = JSON.parse(ok(['inspect', id]))[0].State.MonitorPid as number;
    expect(monitorPid).toBeGreaterThan(1);
    process.kill(monitorPid, 'SIGKILL');
    await waitFor(() => !attachSockets().includes(`@minidock-attach/${id}`), 5000, 'the socket to go');
    await waitFor(() => pidsMatching('while read x', 'sh').length === 0, 5000, 'the container to go');
    ok(['rm', '-f', id]);
  }, 60_000);

  it('create -i, start -a -i: our stdin to the container, its output and exit status back', () => {
    const id = ok(['create', '-i', ROOTFS, 'sh', '-c', 'read x; echo "started got $x"; exit 5']).trim();
    const r = md(['start', '-a', '-i', id], 'hi\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('started got hi\n');
    expect(r.code).toBe(5);
    ok(['rm', id]);
  });
});
