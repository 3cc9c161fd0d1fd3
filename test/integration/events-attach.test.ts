// events and attach against the real kernel, as root, in a private state root: the journal the verbs
// and the C monitor append to (run, stop, rm in order with exit codes; a follow that sees another
// process's start and ends on SIGINT; the monitor's die and oom under a 20 MiB limit; a restart
// policy's die/restart/start), attach (the output after it attached, the exit status, ^C forwarded,
// the refusals), ps listing restarting containers and wait returning at the final exit. Each test
// compares the host before and after and leaves no monitor, relaunch or events process.
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
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
if (!canRun) console.warn(`SKIPPED test/integration/events-attach.test.ts: ${skipReason}`);

interface DockerEvent {
  Action: string;
  id: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano: number;
}

d('events and attach (real containers)', () => {
  let root: string;
  let before: ReturnType<typeof hostSnapshot>;
  const md = (args: string[]) => minidock(args, { root });
  const ok = (args: string[]): string => {
    const r = md(args);
    expect(r.stderr, `minidock ${args.join(' ')}`).toBe('');
    expect(r.code, `minidock ${args.join(' ')}`).toBe(0);
    return r.stdout;
  };
  const oneLine = (r: ReturnType<typeof md>, code: number, re?: RegExp) => {
    expect(r.code, r.stderr).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^minidock: [^\n]+\n$/);
    if (re) expect(r.stderr).toMatch(re);
  };
  /** the journal's events of one container (or all) between `since` and now, as Docker's JSON objects */
  const eventsOf = (since: string, ...filters: string[]): DockerEvent[] =>
    ok(['events', '--since', since, '--until', '0s', '--format', 'json', ...filters.flatMap((f) => ['--filter', f])])
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const actions = (evs: DockerEvent[]) =>
    evs.map((e) =>
      [e.Action, e.Actor.Attributes.exitCode ?? e.Actor.Attributes.signal ?? ''].join(':').replace(/:$/, ''),
    );
  const nowSec = () => String(Date.now() / 1000);
  const keepers = () => [
    ...pidsMatching(join(root, 'containers'), 'minidock-monito'),
    ...pidsMatching('--relaunch --root ' + root),
    ...pidsMatching(`${root}`).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('\0events\0');
      } catch {
        return false;
      }
    }),
  ];

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
    await waitFor(() => keepers().length === 0, 10_000, 'monitors, relaunches and events followers to exit');
    expect(left).toEqual([]);
    expect(hostSnapshot(root)).toEqual(before);
  });

  it('events --since/--until after run, run -d, stop, rm: the sequence, with exit codes and signals; text and filters', () => {
    const t0 = nowSec();
    expect(md(['run', '--name', 'fg', ROOTFS, 'sh', '-c', 'exit 3']).code).toBe(3);
    const bg = ok(['run', '-d', '--name', 'bg', ROOTFS, 'sh', '-c', 'trap "exit 9" TERM; while :; do sleep 0.1; done']);
    const id = bg.trim();
    ok(['stop', '-t', '5', 'bg']);
    ok(['rm', 'fg', 'bg']);
    expect(actions(eventsOf(t0, 'container=fg'))).toEqual(['create', 'start', 'die:3', 'destroy']);
    const evs = eventsOf(t0, 'container=bg');
    expect(actions(evs)).toEqual(['create', 'start', 'kill:15', 'die:9', 'stop', 'destroy']);
    expect(evs[0]).toMatchObject({
      id,
      Type: 'container',
      Actor: { ID: id, Attributes: { name: 'bg', image: ROOTFS } },
      scope: 'local',
    });
    for (let i = 1; i < evs.length; i++) expect(evs[i].timeNano).toBeGreaterThanOrEqual(evs[i - 1].timeNano);
    // the same in Docker's text lines; filters by event; --until before them: nothing
    const text = ok(['events', '--since', t0, '--until', '0s', '--filter', `container=${id.slice(0, 12)}`]);
    expect(text).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[\\d:]{8}\\.\\d{9}Z container die ${id} \\(exitCode=9, image=${ROOTFS}, name=bg\\)$`,
        'm',
      ),
    );
    expect(text.trim().split('\n')).toHaveLength(6);
    expect(actions(eventsOf(t0, 'event=die'))).toEqual(['die:3', 'die:9']);
    expect(ok(['events', '--since', t0, '--until', t0, '--filter', 'event=destroy'])).toBe('');
    // gc and prune keep the journal; reading verbs (ps, inspect, events) make nothing in a fresh root
    ok(['gc']);
    ok(['prune']);
    expect(eventsOf(t0)).toHaveLength(10);
    const fresh = join(root, 'not-yet');
    expect(minidock(['events', '--until', '0s'], { root: fresh }).code).toBe(0);
    expect(minidock(['ps', '-a'], { root: fresh }).code).toBe(0);
    expect(existsSync(fresh)).toBe(false);
  });

  it('a following events (no --until) prints a start made by another process, then ends on SIGINT with 0', async () => {
    ok(['run', '--rm', ROOTFS, 'true']); // (the journal exists: the follower holds it open when ready)
    const ev = minidockAsync(['events', '--filter', 'event=start', '--filter', 'event=die'], { root });
    const journal = join(root, 'events.log');
    await waitFor(
      () => {
        try {
          return readdirSync(`/proc/${ev.child.pid}/fd`).some((fd) => {
            try {
              return readlinkSync(`/proc/${ev.child.pid}/fd/${fd}`) === journal;
            } catch {
              return false;
            }
          });
        } catch {
          return false;
        }
      },
      15_000,
      'events to open the journal',
    );
    const id = ok(['run', '-d', '--name', 'seen', ROOTFS, 'sh', '-c', 'exit 4']).trim();
    await waitFor(() => ev.output().includes(`container die ${id}`), 10_000, 'the follower to print the die');
    ev.child.kill('SIGINT');
    const r = await ev.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`Z container start ${id} \\(image=${ROOTFS}, name=seen\\)$`)),
      expect.stringMatching(new RegExp(`Z container die ${id} \\(exitCode=4, image=${ROOTFS}, name=seen\\)$`)),
    ]); // not the earlier run's: a follow starts at the end
    ok(['rm', 'seen']);
  });

  it('the monitor journals die and oom: a 20 MiB container that allocates more', () => {
    const t0 = nowSec();
    const id = ok(['run', '-d', '-m', '20M', '--memory-swap', '20M', ROOTFS, 'tail', '/dev/zero']).trim();
    expect(ok(['wait', id])).toBe('137\n');
    expect(actions(eventsOf(t0, `container=${id}`))).toEqual(['create', 'start', 'oom', 'die:137']);
    // --rm: the monitor journals the destroy after it removed the directory
    const rm = ok(['run', '-d', '--rm', ROOTFS, 'sh', '-c', 'exit 2']).trim();
    waitForGone(join(root, 'containers', rm));
    expect(actions(eventsOf(t0, `container=${rm}`))).toEqual(['create', 'start', 'die:2', 'destroy']);
    ok(['rm', id]);
  });

  it("a restart policy: die, restart (the monitor's) and start per run; wait returns at the final exit; ps lists it while restarting", async () => {
    const t0 = nowSec();
    const id = ok(['run', '-d', '--restart', 'on-failure:2', ROOTFS, 'sh', '-c', 'exit 3']).trim();
    expect(ok(['wait', id])).toBe('3\n'); // after its third run, not its first
    expect(JSON.parse(ok(['inspect', id]))[0]).toMatchObject({ RestartCount: 2, State: { Status: 'exited' } });
    expect(actions(eventsOf(t0, `container=${id}`))).toEqual([
      'create',
      'start',
      'die:3',
      'restart',
      'start',
      'die:3',
      'restart',
      'start',
      'die:3',
    ]);
    ok(['rm', id]);
    // always, failing at once: the back-off doubles (100, 200, 400, 800 ms...), so it is soon
    // restarting for long stretches; ps without -a lists it then, as Docker's does
    const spin = ok(['run', '-d', '--name', 'spin', '--restart', 'always', ROOTFS, 'sh', '-c', 'exit 1']).trim();
    const status = () => JSON.parse(readFileSync(join(root, 'containers', spin, 'state.json'), 'utf8'));
    await waitFor(() => (status().restartCount ?? 0) >= 4, 20_000, 'four restarts');
    let listed = false;
    for (let i = 0; i < 50 && !listed; i++) {
      if (status().status !== 'restarting') {
        await sleep(50);
        continue;
      }
      const ps = ok(['ps', '--format', 'json']);
      listed = ps.includes(`"ID":"${spin}"`) && /"State":"restarting"/.test(ps);
    }
    expect(listed).toBe(true);
    expect(ok(['ps'])).toMatch(/Restarting \(1\)/);
    ok(['stop', 'spin']);
    ok(['rm', 'spin']);
  });

  it('attach: the output written after it attached (stdout and stderr apart), then the exit status', async () => {
    ok([
      'run',
      '-d',
      '--name',
      'talker',
      ROOTFS,
      'sh',
      '-c',
      'echo before; sleep 1.5; echo after; echo oops >&2; exit 7',
    ]);
    await sleep(500);
    const r = md(['attach', 'talker']);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('after\n');
    expect(r.stderr).toBe('oops\n');
    // an exited container, a name nobody has, bad flags
    oneLine(md(['attach', 'talker']), 1, /cannot attach to container talker: it is not running \(exited\)/);
    oneLine(md(['attach', 'nobody']), 1, /no such container: nobody/);
    oneLine(md(['attach', '--sig-proxy=maybe', 'talker']), 125, /--sig-proxy maybe: use --sig-proxy=true/);
    oneLine(md(['attach']), 125);
    oneLine(md(['attach', '--bogus', 'talker']), 125);
    const t = JSON.parse(ok(['inspect', 'talker']))[0];
    expect(t.State.ExitCode).toBe(7);
    ok(['rm', 'talker']);
  });

  it('attach: ^C goes to the container (--sig-proxy, the default), whose exit ends attach; --rm: the status from the journal', async () => {
    const t0 = nowSec();
    const id = ok([
      'run',
      '-d',
      '--rm',
      '--name',
      'trapper',
      ROOTFS,
      'sh',
      '-c',
      'trap "echo got INT; exit 5" INT; echo ready; while :; do sleep 0.1; done',
    ]).trim();
    const a = minidockAsync(['attach', '--no-stdin', 'trapper'], { root });
    await waitFor(() => eventsOf(t0, 'event=attach').length === 1, 10_000, 'attach to begin');
    a.child.kill('SIGINT');
    const r = await a.done;
    expect(r.stdout).toBe('got INT\n'); // ("ready" came before it attached)
    expect(r.code).toBe(5);
    expect(actions(eventsOf(t0, `container=${id}`))).toEqual([
      'create',
      'start',
      'attach',
      'kill:2',
      'die:5',
      'destroy',
    ]);
    // --sig-proxy=false: ^C ends attach only (killed by SIGINT), the container goes on
    ok(['run', '-d', '--name', 'stays', ROOTFS, 'sleep', '60']);
    const b = minidockAsync(['attach', '--sig-proxy=false', 'stays'], { root });
    await waitFor(() => eventsOf(t0, 'event=attach', 'container=stays').length === 1, 10_000, 'attach to begin');
    b.child.kill('SIGINT');
    expect((await b.done).signal).toBe('SIGINT');
    expect(JSON.parse(ok(['inspect', 'stays']))[0].State.Running).toBe(true);
    ok(['rm', '-f', 'stays']);
  });

  it('bad input to events: one line, exit 125, nothing made', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--since', 'yesterday'], /^minidock: --since yesterday: use a time/],
      [['--until', '1 hour'], /^minidock: --until 1 hour: use a time/],
      [['--since', '0s', '--until', '1h'], /comes before --since/],
      [['--filter', 'volume=x'], /--filter volume=x: minidock's events take container=/],
      [['--filter', 'event=strat'], /--filter event=strat: minidock journals no such event/],
      [['--filter', 'nokey'], /--filter nokey: use KEY=VALUE/],
      [['--format', '{{.ID}}'], /--format \{\{\.ID\}\}: use --format json/],
      [['--bogus'], /unknown option/],
    ];
    const journal = readFileSync(join(root, 'events.log'), 'utf8');
    for (const [args, re] of cases) oneLine(md(['events', ...args]), 125, re);
    expect(readFileSync(join(root, 'events.log'), 'utf8')).toBe(journal);
  });
});

function waitForGone(path: string): void {
  const t0 = Date.now();
  while (existsSync(path) && Date.now() - t0 < 10_000) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  expect(existsSync(path)).toBe(false);
}
