// run's Docker flags of issue 19, part 1, against the real kernel, as root: --oom-score-adj as the
// container's own /proc/self/oom_score_adj, --memory-swappiness and --oom-kill-disable in its memory
// cgroup (v1; refused on v2), --blkio-weight (written, or refused where no scheduler weighs I/O),
// --group-add in `id -G`, labels through ps --filter and inspect, --cidfile's content and refusal, and
// stop with --stop-signal SIGUSR1 caught by a trap inside. Every bad value: one line, exit 125, and
// nothing left (the leak check around each test, no cidfile).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOTFS, canRun, minidock, skipReason, tempStateRoot, useLeakCheckedRoot, waitFor } from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/run-flags.test.ts: ${skipReason}`);

/** Does minidock (this test's process, root) hold CAP_SYS_RESOURCE (bit 24 of CapPrm)? */
const holdsSysResource = (): boolean =>
  ((BigInt('0x' + /^CapPrm:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) >> 24n) & 1n) === 1n;

d('run flags: labels, cidfile, stop signal, OOM score, memory and I/O knobs, groups', () => {
  let root = '';
  useLeakCheckedRoot((r) => {
    root = r;
  });
  const md = (args: string[]) => minidock(args, { root });
  const ok = (args: string[]): string => {
    const r = md(args);
    expect(r.code, `minidock ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const oneLine = (r: ReturnType<typeof md>, code = 125): string => {
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^minidock: [^\n]+\n$/);
    return r.stderr;
  };
  const inspect = (ref: string) => JSON.parse(ok(['inspect', ref]))[0];

  it("--oom-score-adj: the container's own /proc/self/oom_score_adj, inherited by what it runs", () => {
    expect(ok(['run', '--rm', '--oom-score-adj', '500', ROOTFS, 'sh', '-c', 'cat /proc/self/oom_score_adj'])).toBe(
      '500\n',
    );
    // lowering it needs CAP_SYS_RESOURCE: this host's root may not hold it (then refused up front)
    const r = md(['run', '--rm', '--oom-score-adj', '-500', ROOTFS, 'cat', '/proc/self/oom_score_adj']);
    if (holdsSysResource()) expect(r.stdout).toBe('-500\n');
    else {
      console.warn('run-flags: minidock lacks CAP_SYS_RESOURCE here: checked that -500 is refused');
      expect(oneLine(r)).toContain('needs CAP_SYS_RESOURCE, which minidock does not hold here');
    }
  });

  it('--memory-swappiness and --oom-kill-disable in the memory cgroup (v1), refused on v2', () => {
    const r = md(['run', '-d', '--memory-swappiness', '7', '--oom-kill-disable', '-m', '64m', ROOTFS, 'sleep', '30']);
    if (r.code !== 0) {
      // cgroup v2: one line naming the missing switch, nothing made
      console.warn('run-flags: cgroup v2 here: checked the refusal');
      expect(oneLine(r)).toMatch(/cgroup v2 has no/);
      return;
    }
    const id = r.stdout.trim();
    const mem = (inspect(id).CgroupPaths as string[]).find((p) => p.includes('/memory/'))!;
    expect(readFileSync(join(mem, 'memory.swappiness'), 'utf8').trim()).toBe('7');
    expect(readFileSync(join(mem, 'memory.oom_control'), 'utf8')).toContain('oom_kill_disable 1');
    // and the container reads its own cgroup's value
    expect(ok(['exec', id, 'cat', '/sys/fs/cgroup/memory/memory.swappiness'])).toBe('7\n');
    expect(inspect(id).HostConfig.Limits).toMatchObject({ memorySwappiness: 7, oomKillDisable: true });
    ok(['rm', '-f', id]);
  });

  it('--blkio-weight: written where a scheduler weighs I/O, else one line', () => {
    const r = md(['run', '--rm', '--blkio-weight', '300', ROOTFS, 'sh', '-c', 'cat /sys/fs/cgroup/blkio/blkio*weight']);
    if (r.code === 0) expect(r.stdout).toBe('300\n');
    else {
      console.warn('run-flags: no BFQ (or CFQ/iocost) on this host: checked the refusal');
      expect(oneLine(r)).toMatch(/cannot apply --blkio-weight: .* has neither/);
    }
  });

  it("--group-add: a GID and a name from the container's /etc/group, in id -G", () => {
    const daemon = /^daemon:[^:]*:(\d+):/m.exec(readFileSync(join(ROOTFS, 'etc/group'), 'utf8'))![1];
    const groups = ok(['run', '--rm', '--group-add', '4242', '--group-add', 'daemon', ROOTFS, 'id', '-G'])
      .trim()
      .split(' ');
    expect(groups).toEqual(expect.arrayContaining(['0', '4242', daemon]));
    expect(oneLine(md(['run', '--rm', '--group-add', 'nosuchgroup', ROOTFS, 'true']))).toContain(
      'no group "nosuchgroup" in the container\'s /etc/group',
    );
  });

  it('--label, --label-file: ps --filter label= and inspect Config.Labels', () => {
    const file = join(root, 'labels');
    writeFileSync(file, '# a comment\nteam=db\ntier=back\n');
    const a = ok([
      'run',
      '-d',
      '--name',
      'flags-a',
      '--label-file',
      file,
      '-l',
      'team=web',
      ROOTFS,
      'sleep',
      '30',
    ]).trim();
    const b = ok(['run', '-d', '--name', 'flags-b', '-l', 'team=db', ROOTFS, 'sleep', '30']).trim();
    const ps = (...f: string[]) =>
      ok(['ps', '-q', '--no-trunc', ...f.flatMap((x) => ['--filter', x])])
        .split('\n')
        .filter(Boolean);
    expect(ps('label=team=web')).toEqual([a]);
    expect(ps('label=team').sort()).toEqual([a, b].sort());
    expect(ps('label=team=db')).toEqual([b]);
    expect(ps('label=tier', 'label=team=db')).toEqual([]);
    expect(ps('name=flags-b')).toEqual([b]);
    expect(inspect(a).Config.Labels).toEqual({ team: 'web', tier: 'back' });
    expect(inspect(b).Config.StopSignal).toBe('SIGTERM');
    ok(['rm', '-f', a, b]);
    expect(ps('status=exited')).toEqual([]);
    oneLine(md(['ps', '--filter', 'colour=blue']));
    rmSync(file);
  });

  it('--cidfile: the ID written; an existing file refused before anything is made; a bad flag leaves none', () => {
    const cid = join(tempStateRoot(), 'cid');
    try {
      const id = ok(['run', '-d', '--cidfile', cid, ROOTFS, 'sleep', '30']).trim();
      expect(readFileSync(cid, 'utf8')).toBe(id);
      expect(oneLine(md(['run', '--rm', '--cidfile', cid, ROOTFS, 'true']))).toBe(
        `minidock: --cidfile ${cid}: Container ID file found, make sure the other container isn't running or delete ${cid}\n`,
      );
      ok(['rm', '-f', id]);
      rmSync(cid);
      oneLine(md(['run', '--rm', '--cidfile', cid, '--oom-score-adj', '2000', ROOTFS, 'true']));
      expect(existsSync(cid)).toBe(false);
      // a foreground run: written before the launch, kept after the exit (Docker's)
      const out = ok(['run', '--rm', '--cidfile', cid, ROOTFS, 'true']);
      expect(out).toBe('');
      expect(readFileSync(cid, 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      rmSync(join(cid, '..'), { recursive: true, force: true });
    }
  });

  it('stop with --stop-signal SIGUSR1: the trap inside sees it, exits on its own before the grace period', async () => {
    const script = 'trap "echo got-usr1; exit 3" USR1; echo ready; while :; do sleep 0.1; done';
    const id = ok(['run', '-d', '--stop-signal', 'SIGUSR1', '--stop-timeout', '20', ROOTFS, 'sh', '-c', script]).trim();
    await waitFor(() => ok(['logs', id]).includes('ready'), 10_000, 'the trap to be set');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    const t0 = Date.now();
    expect(ok(['stop', id])).toBe(`${id}\n`);
    expect(Date.now() - t0).toBeLessThan(10_000); // not the 20 s grace period: the trap ended it
    expect(ok(['logs', id])).toContain('got-usr1');
    const c = inspect(id);
    expect(c.State.ExitCode).toBe(3);
    expect(c.Config.StopSignal).toBe('SIGUSR1');
    ok(['rm', id]);
  });

  it('bad values: one line each, exit 125, nothing made', () => {
    for (const [flag, v] of [
      ['--stop-signal', 'SIGNOPE'],
      ['--oom-score-adj', '1001'],
      ['--memory-swappiness', '101'],
      ['--blkio-weight', '5'],
      ['--label', '=x'],
      ['--label-file', '/nonexistent/labels'],
    ]) {
      expect(oneLine(md(['run', '--rm', flag!, v!, ROOTFS, 'true']))).toContain(flag!);
    }
  });
});
