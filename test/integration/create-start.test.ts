// create, start (-a), restart and --restart policies against the real kernel, as root: a created
// container has no process and no cgroup; start runs it from its recorded spec with its filesystem
// and log kept; the C monitor carries out restart policies (counted, backed off, never after the
// user's stop or kill). Every test compares the host before and after (mounts, cgroups, container
// directories) and checks that no monitor or relaunch is left.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ROOTFS,
  canRun,
  hostSnapshot,
  minidock,
  minidockCgroups,
  pidsMatching,
  removeStateRoot,
  skipReason,
  sleep,
  tempStateRoot,
  waitFor,
} from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/create-start.test.ts: ${skipReason}`);

d('create, start, restart, --restart (real containers)', () => {
  let root: string;
  let before: ReturnType<typeof hostSnapshot>;
  const md = (args: string[]) => minidock(args, { root });
  const ok = (args: string[]): string => {
    const r = md(args);
    expect(r.stderr, `minidock ${args.join(' ')}`).toBe('');
    expect(r.code, `minidock ${args.join(' ')}`).toBe(0);
    return r.stdout;
  };
  const state = (id: string) => JSON.parse(readFileSync(join(root, 'containers', id, 'state.json'), 'utf8'));
  const inspect = (ref: string) => JSON.parse(ok(['inspect', ref]))[0];
  /** the containers' monitors, and the minidock a monitor becomes to relaunch one (its argv names the root) */
  const keepers = () => [
    ...pidsMatching(join(root, 'containers'), 'minidock-monito'),
    ...pidsMatching('--relaunch --root ' + root),
  ];
  /** one line on stderr, nothing on stdout */
  const oneLine = (r: ReturnType<typeof md>, code: number) => {
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^minidock: [^\n]+\n$/);
  };

  beforeAll(() => {
    root = tempStateRoot();
  });
  afterAll(() => {
    for (const p of keepers()) process.kill(p, 'SIGKILL'); // only after a failure: tests remove theirs
    removeStateRoot(root);
  });
  beforeEach(() => {
    before = hostSnapshot(root);
  });
  afterEach(async () => {
    const left = md(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (left.length) md(['rm', '-f', ...left]);
    await waitFor(() => keepers().length === 0, 10_000, 'monitors and relaunches to exit');
    expect(left).toEqual([]);
    expect(hostSnapshot(root)).toEqual(before);
  });

  it('create records the container: ps -a shows Created, nothing runs, no cgroup; gc keeps it; rm removes it', () => {
    const id = ok(['create', '--name', 'made', '-m', '32m', ROOTFS, 'echo', 'hi']).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(ok(['ps', '-a'])).toMatch(new RegExp(`^${id.slice(0, 12)} .* Created .*made$`, 'm'));
    expect(ok(['ps', '-q'])).toBe(''); // not running
    expect(state(id)).toMatchObject({ status: 'created', cgroupPaths: [] });
    expect(state(id).launcherPid).toBeUndefined();
    expect(minidockCgroups().filter((c) => c.includes(id.slice(0, 12)))).toEqual([]);
    expect(keepers()).toEqual([]);
    expect(inspect('made')).toMatchObject({ Id: id, State: { Status: 'created', Running: false }, RestartCount: 0 });
    // the name is taken, as by run
    oneLine(md(['create', '--name', 'made', ROOTFS, 'true']), 125);
    // nobody is its keeper, and it is not garbage: gc leaves it
    ok(['gc']);
    expect(existsSync(join(root, 'containers', id))).toBe(true);
    expect(ok(['rm', 'made'])).toBe('made\n');
    expect(existsSync(join(root, 'containers', id))).toBe(false);
  });

  it('start runs it from its spec, detached, with the same ID and name; a file of run 1 is there in run 2; logs append', async () => {
    const id = ok(['create', '--name', 'keep', ROOTFS, 'sh', '-c', 'echo run >> /data; cat /data']).trim();
    expect(ok(['start', 'keep'])).toBe('keep\n');
    expect(ok(['wait', 'keep'])).toBe('0\n');
    expect(ok(['logs', 'keep'])).toBe('run\n');
    expect(ok(['start', id.slice(0, 12)])).toBe(`${id.slice(0, 12)}\n`);
    expect(ok(['wait', 'keep'])).toBe('0\n');
    // run 2 found run 1's line in its upper layer (Docker keeps the filesystem across restarts)
    expect(ok(['logs', 'keep'])).toBe('run\nrun\nrun\n');
    expect(ok(['ps', '-aq', '--no-trunc'])).toBe(`${id}\n`);
    expect(inspect('keep')).toMatchObject({ Id: id, Name: '/keep', State: { Status: 'exited', ExitCode: 0 } });
    ok(['rm', 'keep']);
  });

  it("start -a prints this run's output and exits with its status; start of a running container does nothing", () => {
    ok(['create', '--name', 'att', ROOTFS, 'sh', '-c', 'echo hello; echo oops >&2; exit 7']);
    for (let i = 0; i < 2; i++) {
      const r = md(['start', '-a', 'att']);
      expect(r).toMatchObject({ code: 7, stdout: 'hello\n', stderr: 'oops\n' }); // (not the earlier run's again)
    }
    ok(['rm', 'att']);

    const id = ok(['run', '-d', '--name', 'up', ROOTFS, 'sleep', '3600']).trim();
    const pid = state(id).pid;
    expect(ok(['start', 'up'])).toBe('up\n');
    expect(state(id)).toMatchObject({ status: 'running', pid });
    oneLine(md(['start', '-a', 'up', 'att']), 125); // -a: one container at a time
    ok(['rm', '-f', 'up']);
  });

  it('restart stops (the grace period, then SIGKILL) and starts it again: a new process, the same container', () => {
    const id = ok(['run', '-d', '--name', 'rs', ROOTFS, 'sh', '-c', 'echo up; exec sleep 3600']).trim();
    const first = state(id);
    const t0 = Date.now();
    expect(ok(['restart', '-t', '0', 'rs'])).toBe('rs\n');
    expect(Date.now() - t0).toBeLessThan(5000);
    const second = state(id);
    expect(second.status).toBe('running');
    expect(second.pid).not.toBe(first.pid);
    expect(existsSync(`/proc/${first.pid}`)).toBe(false);
    expect(inspect('rs').RestartCount).toBe(0); // a user's restart is not the policy's
    // restart of a created container just starts it
    ok(['create', '--name', 'rc', ROOTFS, 'sleep', '3600']);
    expect(ok(['restart', 'rc'])).toBe('rc\n');
    expect(inspect('rc').State.Status).toBe('running');
    ok(['rm', '-f', 'rs', 'rc']);
  });

  it('--restart on-failure:3 restarts a failing command exactly 3 times, then it stays exited (RestartCount 3)', async () => {
    const id = ok([
      'run',
      '-d',
      '--name',
      'f3',
      '--restart',
      'on-failure:3',
      ROOTFS,
      'sh',
      '-c',
      'echo try; exit 3',
    ]).trim();
    const seen = new Set<string>();
    await waitFor(
      () => {
        const s = state(id);
        seen.add(s.status);
        return s.status === 'exited' && s.restartCount === 3;
      },
      20_000,
      'the fourth run to exit',
    );
    expect(seen.has('restarting')).toBe(true);
    await sleep(1000); // and no fifth run
    expect(state(id)).toMatchObject({ status: 'exited', exitCode: 3, restartCount: 3 });
    expect(ok(['logs', 'f3'])).toBe('try\n'.repeat(4));
    expect(inspect('f3')).toMatchObject({
      RestartCount: 3,
      State: { Status: 'exited', ExitCode: 3 },
      HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } },
    });
    expect(keepers()).toEqual([]);
    // on-failure does not restart a success
    const okId = ok(['run', '-d', '--restart', 'on-failure', ROOTFS, 'true']).trim();
    expect(ok(['wait', okId])).toBe('0\n');
    expect(state(okId).restartCount).toBe(0);
    ok(['rm', 'f3', okId]);
  });

  it("--restart always restarts after each exit, with back-off; the user's stop or kill ends it for good", async () => {
    const id = ok([
      'run',
      '-d',
      '--name',
      'al',
      '--restart',
      'always',
      ROOTFS,
      'sh',
      '-c',
      'echo up; sleep 0.2',
    ]).trim();
    await waitFor(() => (state(id).restartCount ?? 0) >= 2, 20_000, 'two restarts');
    ok(['stop', '-t', '1', 'al']);
    const stopped = state(id);
    expect(stopped.status).toBe('exited');
    await sleep(1500); // longer than the back-off so far (100 + 200 + 400 ms)
    expect(state(id)).toMatchObject({ status: 'exited', restartCount: stopped.restartCount });
    expect(keepers()).toEqual([]);
    expect(ok(['ps', '-a'])).toMatch(/ Exited \(\d+\) .*al$/m);

    // kill (SIGKILL) of a running one: not restarted either
    const k = ok(['run', '-d', '--name', 'ak', '--restart', 'always', ROOTFS, 'sleep', '3600']).trim();
    ok(['kill', 'ak']);
    await waitFor(() => state(k).status === 'exited', 5000, 'the kill');
    await sleep(800);
    expect(state(k)).toMatchObject({ status: 'exited', exitCode: 137, restartCount: 0 });
    // a start clears the user's stop: the policy applies again
    ok(['start', 'ak']);
    expect(state(k).status).toBe('running');
    const pid = state(k).pid;
    process.kill(pid, 'SIGKILL'); // not the user's minidock kill: the policy restarts it
    await waitFor(() => state(k).status === 'running' && state(k).pid !== pid, 10_000, 'a restart after the crash');
    expect(state(k).restartCount).toBe(1);
    ok(['rm', '-f', 'al', 'ak']);
  });

  it('rm refuses a restarting container without -f; rm -f cancels its restart and removes it', async () => {
    // exits at once and then waits out a back-off that grows: catch it between two runs
    const id = ok(['run', '-d', '--name', 'rr', '--restart', 'always', ROOTFS, 'true']).trim();
    await waitFor(() => state(id).status === 'restarting' && state(id).restartCount >= 3, 20_000, 'a restarting state');
    const r = md(['rm', 'rr']);
    if (state(id).status === 'restarting') oneLine(r, 1);
    expect(ok(['rm', '-f', 'rr'])).toBe('rr\n');
    expect(existsSync(join(root, 'containers', id))).toBe(false);
  });

  it('bad input: one line, nothing made', () => {
    const made = () => md(['ps', '-aq']).stdout;
    oneLine(md(['start', 'nosuch']), 1); // an unknown reference: 1, as for stop, rm and Docker
    oneLine(md(['restart', 'nosuch']), 1);
    for (const verb of [['run', '-d'], ['create']]) {
      const bogus = md([...verb, '--restart', 'bogus', ROOTFS, 'true']);
      oneLine(bogus, 125);
      expect(bogus.stderr).toContain('--restart bogus');
      const rm = md([...verb, '--rm', '--restart', 'always', ROOTFS, 'true']);
      oneLine(rm, 125);
      expect(rm.stderr).toContain('Conflicting options');
      oneLine(md([...verb, ROOTFS]), 125); // no command: run's own check
      oneLine(md([...verb, '-m', 'lots', ROOTFS, 'true']), 125);
    }
    oneLine(md(['run', '--restart', 'always', ROOTFS, 'true']), 125); // foreground: no monitor to restart it
    oneLine(md(['restart', '-t', 'x', 'nosuch']), 125);
    expect(made()).toBe('');
  });
});
