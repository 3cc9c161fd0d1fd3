// --health-cmd and its family (issue 19) against the real kernel, as root: the monitor's keeper
// probes through `minidock exec`; ps shows "(healthy)" / "(unhealthy)" / "(health: starting)",
// inspect State.Health {Status, FailingStreak, Log}, the journal `health_status: ...`; a probe that
// outlives --health-timeout is killed and logged as Docker's timeout; failures inside the start
// period do not count; an image's HEALTHCHECK is run, --no-healthcheck drops it; bad durations are
// one line, exit 125, no container. After each test: no monitor, keeper or probe process, and the
// mounts, cgroups and directories as before (stop, rm -f and a SIGKILLed monitor each tested).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ROOTFS,
  canRun,
  hostSnapshot,
  minidock,
  pidsMatching,
  removeStateRoot,
  skipReason,
  sleep,
  tempStateRoot,
  waitFor,
} from '../helpers';
import { dockerArchiveMembers, makeTar, type FixtureConfig } from '../unit/image-fixtures';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/health.test.ts: ${skipReason}`);

d('healthchecks (real containers)', () => {
  let root: string;
  let before: ReturnType<typeof hostSnapshot>;
  let tarFile = '';
  const md = (args: string[]) => minidock(args, { root });
  const ok = (args: string[]): string => {
    const r = md(args);
    expect(r.stderr, `minidock ${args.join(' ')}`).toBe('');
    expect(r.code, `minidock ${args.join(' ')}`).toBe(0);
    return r.stdout;
  };
  const inspect = (ref: string) => JSON.parse(ok(['inspect', ref]))[0];
  const health = (ref: string) => inspect(ref).State.Health;
  /** monitors and their keepers (a fork: the same argv), and the probes (minidock exec --root ROOT) */
  const monitors = () => pidsMatching(join(root, 'containers'), 'minidock-monito');
  const probes = () => pidsMatching(`exec --root ${root} `);
  const statusOf = (ref: string) =>
    ok(['ps', '-a', '--format', 'json'])
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((r) => r.ID?.startsWith(ref.slice(0, 12)) || r.Names === ref)?.Status as string | undefined;
  const oneLine = (r: ReturnType<typeof md>) => {
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^minidock: [^\n]+\n$/);
  };

  beforeAll(() => {
    root = tempStateRoot();
    // an image whose config has a HEALTHCHECK (CMD-SHELL, 1 s interval): the busybox rootfs as one layer
    let base = execFileSync('tar', ['-C', ROOTFS, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
    while (base.length >= 512 && base.subarray(base.length - 512).every((b) => b === 0))
      base = base.subarray(0, base.length - 512);
    const layer = Buffer.concat([base, makeTar([{ path: 'ready', body: 'yes\n' }])]);
    const cfg = {
      Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sleep', '300'],
      Healthcheck: { Test: ['CMD-SHELL', 'cat /ready'], Interval: 1e9, Retries: 2 },
    } as FixtureConfig; // (Healthcheck: a field the fixtures' type does not list)
    tarFile = join(root, '..', `${root.split('/').pop()}-hc.tar`);
    writeFileSync(tarFile, makeTar(dockerArchiveMembers([layer], cfg, 'hc:1')));
    const imp = md(['import', tarFile, 'hc:1']);
    expect(imp.code, imp.stderr).toBe(0);
  });
  afterAll(() => {
    for (const p of [...monitors(), ...probes()]) process.kill(p, 'SIGKILL'); // only after a failure
    rmSync(tarFile, { force: true });
    removeStateRoot(root);
  });
  beforeEach(() => {
    before = hostSnapshot(root);
  });
  afterEach(async () => {
    const left = md(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (left.length) md(['rm', '-f', ...left]);
    await waitFor(() => monitors().length === 0 && probes().length === 0, 10_000, 'monitors, keepers, probes to exit');
    expect(left).toEqual([]);
    expect(hostSnapshot(root)).toEqual(before);
  });

  it('--health-cmd true --health-interval 1s: healthy in ps within ~2 s, inspect State.Health, the journal; stop ends the probes', async () => {
    const id = ok([
      'run',
      '-d',
      '--name',
      'fine',
      '--health-cmd',
      'true',
      '--health-interval',
      '1s',
      ROOTFS,
      'sleep',
      '300',
    ]).trim();
    expect(statusOf(id)).toMatch(/^Up .* \((health: starting|healthy)\)$/);
    const t0 = Date.now();
    await waitFor(() => /\(healthy\)$/.test(statusOf(id) ?? ''), 6000, 'ps to show (healthy)');
    const took = Date.now() - t0;
    console.log(`healthy in ps after ${took} ms (interval 1 s, one probe: node + exec)`);
    expect(took).toBeLessThan(4000);
    const h = health('fine');
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    expect(h.Log.length).toBeGreaterThanOrEqual(1);
    expect(h.Log[0]).toMatchObject({ ExitCode: 0, Output: '' });
    expect(Date.parse(h.Log[0].End)).toBeGreaterThanOrEqual(Date.parse(h.Log[0].Start));
    expect(inspect('fine').Config.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'true'],
      Interval: 1e9,
      Timeout: 30e9,
      StartPeriod: 0,
      StartInterval: 5e9,
      Retries: 3,
    });
    expect(ok(['ps', '-q', '-f', 'health=healthy']).trim()).toBe(id.slice(0, 12));
    expect(ok(['ps', '-q', '-f', 'health=none'])).toBe('');
    const events = ok(['events', '--until', '0s', '-f', 'event=health_status', '-f', 'container=fine']);
    expect(events).toMatch(new RegExp(`container health_status: healthy ${id} \\(.*name=fine`));
    expect(monitors().length).toBe(2); // the monitor and its keeper
    ok(['stop', '-t', '1', 'fine']);
    await waitFor(() => monitors().length === 0 && probes().length === 0, 10_000, 'keeper and probes gone after stop');
    // stopped: Docker's "unhealthy" (its monitor sets it when the probes stop), the last results kept
    expect(health('fine').Status).toBe('unhealthy');
    expect(statusOf(id)).toMatch(/^Exited/);
    ok(['rm', 'fine']);
  });

  it('--health-cmd "echo bad; exit 3" --health-retries 2: unhealthy after two failures, Output and ExitCode logged, at most 5 kept', async () => {
    const id = ok([
      'run',
      '-d',
      '--health-cmd',
      'echo bad; exit 3',
      '--health-retries',
      '2',
      '--health-interval',
      '1s',
      ROOTFS,
      'sleep',
      '300',
    ]).trim();
    await waitFor(() => /\(unhealthy\)$/.test(statusOf(id) ?? ''), 8000, 'ps to show (unhealthy)');
    const h = health(id);
    expect(h.Status).toBe('unhealthy');
    expect(h.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(h.Log[0]).toMatchObject({ ExitCode: 3, Output: 'bad\n' });
    expect(ok(['ps', '-q', '-f', 'health=unhealthy']).trim()).toBe(id.slice(0, 12));
    expect(ok(['events', '--until', '0s', '-f', 'event=health_status: unhealthy'])).toContain(id);
    // (no "healthy" on the way: it never succeeded)
    expect(ok(['events', '--until', '0s', '-f', 'event=health_status: healthy'])).not.toContain(id);
    await waitFor(() => health(id).Log.length >= 5 && health(id).FailingStreak >= 6, 15_000, 'six failures');
    expect(health(id).Log.length).toBe(5);
    ok(['rm', '-f', id]);
  });

  it('a probe "sleep 5" with --health-timeout 1s is killed and logged as the timeout; in the start period its failures do not count', async () => {
    const id = ok([
      'run',
      '-d',
      '--health-cmd',
      'sleep 5',
      '--health-timeout',
      '1s',
      '--health-interval',
      '1s',
      '--health-start-period',
      '1m',
      '--health-start-interval',
      '500ms',
      ROOTFS,
      'sleep',
      '300',
    ]).trim();
    await waitFor(() => (health(id).Log?.length ?? 0) >= 3, 12_000, 'three probes');
    const h = health(id);
    expect(h.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (1s)' });
    const ran = Date.parse(h.Log[0].End) - Date.parse(h.Log[0].Start);
    expect(ran).toBeGreaterThanOrEqual(1000);
    expect(ran).toBeLessThan(2500);
    // inside the start period, before any success: still starting, no streak
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(statusOf(id)).toMatch(/\(health: starting\)$/);
    // the killed probes' sleeps are gone: never more than the current one inside the container
    const sleeps = ok(['top', id])
      .split('\n')
      .filter((l) => /sleep 5$/.test(l)).length;
    expect(sleeps).toBeLessThanOrEqual(1);
    // the monitor SIGKILLed: its keeper and the probe go with it (parent-death signals)
    const mon = JSON.parse(readFileSync(join(root, 'containers', id, 'state.json'), 'utf8')).monitorPid;
    process.kill(mon, 'SIGKILL');
    await waitFor(
      () => monitors().length === 0 && probes().length === 0,
      10_000,
      'keeper and probe gone with the monitor',
    );
    ok(['rm', '-f', id]);
  });

  it("an image's HEALTHCHECK runs (healthy); --no-healthcheck drops it; --health-retries overrides one field of it", async () => {
    const id = ok(['run', '-d', 'hc:1']).trim();
    await waitFor(() => /\(healthy\)$/.test(statusOf(id) ?? ''), 6000, "the image's healthcheck to pass");
    expect(health(id).Log[0]).toMatchObject({ ExitCode: 0, Output: 'yes\n' });
    expect(inspect(id).Config.Healthcheck).toMatchObject({
      Test: ['CMD-SHELL', 'cat /ready'],
      Interval: 1e9,
      Retries: 2,
    });
    const none = ok(['run', '-d', '--no-healthcheck', 'hc:1']).trim();
    const over = ok(['run', '-d', '--health-retries', '7', 'hc:1']).trim();
    expect(inspect(over).Config.Healthcheck).toMatchObject({
      Test: ['CMD-SHELL', 'cat /ready'],
      Interval: 1e9,
      Retries: 7,
    });
    await sleep(1500);
    expect(statusOf(none)).toMatch(/^Up [^()]*$/);
    expect(inspect(none).State.Health).toBeUndefined();
    expect(ok(['ps', '-q', '-f', 'health=none']).trim()).toBe(none.slice(0, 12));
    expect(readdirSync(join(root, 'containers', none))).not.toContain('health.json');
    // a foreground run of the image has no monitor: no healthcheck, no refusal
    const fg = md(['run', '--rm', 'hc:1', 'true']);
    expect(fg.code, fg.stderr).toBe(0);
    ok(['rm', '-f', id, none, over]);
  });

  it('bad input: one line, exit 125, no container', () => {
    for (const flags of [
      ['--health-interval', '10', '--health-cmd', 'true'],
      ['--health-interval', '-1s', '--health-cmd', 'true'],
      ['--health-timeout', '1x', '--health-cmd', 'true'],
      ['--health-start-period', '500us', '--health-cmd', 'true'],
      ['--health-retries', '-1', '--health-cmd', 'true'],
      ['--health-retries', 'three', '--health-cmd', 'true'],
      ['--health-cmd', ''],
      ['--health-interval', '1s'],
      ['--no-healthcheck', '--health-cmd', 'true'],
    ]) {
      oneLine(md(['run', '-d', ...flags, ROOTFS, 'sleep', '1']));
      oneLine(md(['create', ...flags, ROOTFS, 'sleep', '1']));
    }
    // a foreground run has no monitor to probe it
    const r = md(['run', '--rm', '--health-cmd', 'true', ROOTFS, 'true']);
    oneLine(r);
    expect(r.stderr).toContain('without -d');
    expect(md(['ps', '-aq']).stdout).toBe('');
    expect(readdirSync(join(root, 'containers')).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});
