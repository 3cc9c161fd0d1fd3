// minidock-oci's cgroup verbs through the real binary, on containers of a bundle made here (the
// project's busybox rootfs, config.json from `minidock-oci spec`): ps (json: the cgroup's pids;
// the table: the host's ps filtered), pause/resume (the freezer: "paused" in state and list, a
// counter that stops and goes on, runc's refusals), update (the values in the live cgroup files),
// events --stats (runc's JSON), kill and delete --force of a paused container, --preserve-fds.
// After each test nothing is left: no cgroup (frozen or not), mount, process or state dir. The
// same pause/resume/ps questions asked of runc where it is installed.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { detectCgroups } from '../../src/runtime/cgroups/index';
import { canRun, hostSnapshot, ROOTFS, skipReason, waitFor } from '../helpers';

const BIN = join(__dirname, '../../bin/minidock-oci.js');
const hasRunc = spawnSync('runc', ['--version']).status === 0;
const hasPs = spawnSync('ps', ['--version']).status === 0;
const mode = (() => {
  try {
    return detectCgroups().mode;
  } catch {
    return undefined;
  }
})();
const hasFreezer =
  mode === 'v2' || (mode === 'v1' && detectCgroups().mounts.v1.some((h) => h.controllers.includes('freezer')));
const why = !canRun ? skipReason : !hasFreezer ? 'skipped: no freezer cgroup on this host' : `cgroup ${mode}`;

let dir: string;
let root: string;
let bundle: string;
let outFile: string;

/** A runtime with stdout/stderr in a file (a container inherits them: a pipe would stay open). */
function runtime(bin: string, args: string[], o: { input?: string; fds?: number[] } = {}) {
  const fd = openSync(outFile, 'w');
  try {
    const r = spawnSync(bin, args, {
      stdio: [o.input === undefined ? 'ignore' : 'pipe', fd, fd, ...(o.fds ?? [])],
      input: o.input,
      timeout: 30_000,
    });
    return { code: r.status, out: readFileSync(outFile, 'utf8') };
  } finally {
    closeSync(fd);
  }
}
const oci = (args: string[], o?: { input?: string; fds?: number[] }) => runtime(BIN, ['--root', root, ...args], o);
const statusOf = (id: string) => JSON.parse(oci(['state', id]).out);
const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
/** The container's cgroup directories, as create recorded them. */
const cgroupPaths = (r: string, id: string): string[] =>
  JSON.parse(readFileSync(join(r, id, 'state.json'), 'utf8')).cgroupPaths;
const freezerState = (paths: string[]): string => {
  for (const p of paths) {
    if (existsSync(join(p, 'freezer.state'))) return readFileSync(join(p, 'freezer.state'), 'utf8').trim();
    if (existsSync(join(p, 'cgroup.freeze')))
      return readFileSync(join(p, 'cgroup.freeze'), 'utf8').trim() === '1' ? 'FROZEN' : 'THAWED';
  }
  return 'none';
};
const inHierarchy = (paths: string[], controller: string, file: string): string => {
  const d = paths.find((p) => existsSync(join(p, file)));
  if (!d) throw new Error(`no ${controller} directory with ${file} among ${paths.join(', ')}`);
  return readFileSync(join(d, file), 'utf8').trim();
};

/** config.json from `minidock-oci spec`: args, no terminal. */
function setConfig(b: string, args: string[]): void {
  const c = JSON.parse(readFileSync(join(dir, 'spec', 'config.json'), 'utf8'));
  c.process.args = args;
  c.process.terminal = false;
  writeFileSync(join(b, 'config.json'), JSON.stringify(c));
}
// a counter in the container's /dev/shm (a tmpfs of its own), read through /proc/PID/root
const COUNTER = ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /dev/shm/n; sleep 0.05; done'];
const count = (pid: number): number => Number(readFileSync(`/proc/${pid}/root/dev/shm/n`, 'utf8').trim() || 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What this file's containers could leave: cgroups named after its IDs, mounts under its dir, processes in its rootfs. */
function snapshot() {
  const s = hostSnapshot();
  const procs = readdirSync('/proc').filter((p) => {
    try {
      return /^\d+$/.test(p) && readlinkSync(`/proc/${p}/root`) === join(bundle, 'rootfs');
    } catch {
      return false;
    }
  });
  return {
    mounts: s.mounts.filter((m) => m.includes(dir)),
    cgroups: s.cgroups.filter((c) => /\/minidock-oci-v[a-z0-9]+$/.test(c)),
    procs,
  };
}

describe.skipIf(!canRun || !hasFreezer)(`minidock-oci ps, pause, resume, update, events (${why})`, () => {
  let before: ReturnType<typeof snapshot>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'minidock-oci-verbs-'));
    root = join(dir, 'state');
    bundle = join(dir, 'bundle');
    outFile = join(dir, 'out.txt');
    cpSync(ROOTFS, join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(dir, 'spec'));
    expect(runtime(BIN, ['spec', '--bundle', join(dir, 'spec')]).code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    before = snapshot();
  });
  afterEach(() => {
    expect(snapshot()).toEqual(before);
    expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
  });

  it("ps -f json lists the cgroup's pids (the init among them); the table is ps's lines of those pids", async () => {
    setConfig(bundle, COUNTER);
    expect(oci(['run', '-d', '--bundle', bundle, 'vps'])).toEqual({ code: 0, out: '' });
    const { pid } = statusOf('vps');
    await waitFor(() => count(pid) > 0 || undefined, 5000, 'the counter to start');
    const json = oci(['ps', '-f', 'json', 'vps']);
    expect(json.code).toBe(0);
    const pids: number[] = JSON.parse(json.out);
    expect(pids).toContain(pid);
    const procs = readFileSync(join(cgroupPaths(root, 'vps')[0]!, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(pids.every((p) => procs.includes(String(p)) || !alive(p))).toBe(true);
    if (hasPs) {
      const table = oci(['ps', 'vps']);
      expect(table.code).toBe(0);
      expect(table.out.split('\n')[0]).toMatch(/^UID\s+PID\s+PPID/);
      expect(table.out).toMatch(new RegExp(`^root\\s+${pid}\\s.*sh -c i=0`, 'm'));
      expect(table.out).not.toMatch(new RegExp(`\\s${process.pid}\\s`));
      const custom = oci(['ps', 'vps', '--', '-o', 'pid,comm']);
      expect(custom.out.split('\n')[0]).toMatch(/^\s*PID COMMAND$/);
      expect(custom.out).toMatch(new RegExp(`^\\s*${pid} sh$`, 'm'));
    }
    expect(oci(['ps', '-f', 'yaml', 'vps'])).toMatchObject({
      code: 1,
      out: expect.stringMatching(/invalid format option: yaml/),
    });
    expect(oci(['kill', 'vps', 'KILL']).code).toBe(0);
    await waitFor(() => !alive(pid) || undefined, 5000, 'the init to die');
    expect(oci(['ps', '-f', 'json', 'vps']).out).toBe('null\n'); // (runc's answer for none)
    expect(oci(['delete', 'vps']).code).toBe(0);
  });

  it('pause: "paused" in state and list, the counter stops, runc\'s refusals; resume: it goes on', async () => {
    setConfig(bundle, COUNTER);
    expect(oci(['run', '-d', '--bundle', bundle, 'vpause']).code).toBe(0);
    const { pid } = statusOf('vpause');
    await waitFor(() => count(pid) > 0 || undefined, 5000, 'the counter to start');
    const refused = (args: string[], msg: RegExp) => {
      const r = oci(args);
      expect(r.code).toBe(1);
      expect(r.out.trim().split('\n')).toEqual([expect.stringMatching(msg)]);
    };
    refused(['resume', 'vpause'], /level=error msg="container not paused"/);
    expect(oci(['pause', 'vpause'])).toEqual({ code: 0, out: '' });
    expect(statusOf('vpause')).toMatchObject({ status: 'paused', pid });
    expect(oci(['list']).out).toMatch(new RegExp(`^vpause\\s+${pid}\\s+paused\\s`, 'm'));
    expect(freezerState(cgroupPaths(root, 'vpause'))).toBe('FROZEN');
    const n = count(pid);
    await sleep(400); // 8 rounds of the counter
    expect(count(pid)).toBe(n);
    refused(['pause', 'vpause'], /msg="container not running"/);
    refused(['start', 'vpause'], /msg="cannot start a container in the paused state"/);
    refused(['delete', 'vpause'], /msg="cannot delete container vpause that is not stopped: paused/);
    refused(['exec', 'vpause', 'true'], /msg="cannot exec in a paused state \(use --ignore-paused to override\)"/);
    expect(oci(['resume', 'vpause'])).toEqual({ code: 0, out: '' });
    expect(statusOf('vpause').status).toBe('running');
    await waitFor(() => count(pid) > n + 2 || undefined, 5000, 'the counter to go on');
    expect(freezerState(cgroupPaths(root, 'vpause'))).toBe('THAWED');
    expect(oci(['delete', '--force', 'vpause']).code).toBe(0);
    refused(['pause', 'vpause'], /msg="container does not exist"/);
  });

  it('kill KILL of a paused container: it dies (thawed after the signal, as runc), nothing is left frozen', async () => {
    setConfig(bundle, COUNTER);
    expect(oci(['run', '-d', '--bundle', bundle, 'vkill']).code).toBe(0);
    const { pid } = statusOf('vkill');
    const paths = cgroupPaths(root, 'vkill');
    expect(oci(['pause', 'vkill']).code).toBe(0);
    // SIGTERM waits for resume (sh as PID 1 ignores it anyway); SIGKILL does not
    expect(oci(['kill', 'vkill', 'KILL']).code).toBe(0);
    await waitFor(() => !alive(pid) || undefined, 5000, 'the paused init to die');
    expect(statusOf('vkill').status).toBe('stopped');
    expect(freezerState(paths)).toBe('THAWED');
    expect(oci(['delete', 'vkill']).code).toBe(0);
  });

  it('delete --force of a paused container: killed, its cgroups (the frozen one too) removed', async () => {
    setConfig(bundle, COUNTER);
    expect(oci(['run', '-d', '--bundle', bundle, 'vforce']).code).toBe(0);
    const { pid } = statusOf('vforce');
    const paths = cgroupPaths(root, 'vforce');
    expect(oci(['pause', 'vforce']).code).toBe(0);
    expect(oci(['delete', '--force', 'vforce'])).toEqual({ code: 0, out: '' });
    expect(alive(pid)).toBe(false);
    expect(paths.filter((p) => existsSync(p))).toEqual([]);
  });

  it('a created container can be paused (runc allows it) and resumed to "created"; start then runs it', async () => {
    setConfig(bundle, ['true']);
    expect(oci(['create', '--bundle', bundle, 'vcreated']).code).toBe(0);
    expect(oci(['pause', 'vcreated']).code).toBe(0);
    expect(statusOf('vcreated').status).toBe('paused');
    expect(oci(['resume', 'vcreated']).code).toBe(0);
    expect(statusOf('vcreated').status).toBe('created');
    expect(oci(['start', 'vcreated']).code).toBe(0);
    await waitFor(() => statusOf('vcreated').status === 'stopped' || undefined, 5000, 'true to end');
    expect(oci(['pause', 'vcreated'])).toMatchObject({ code: 1, out: expect.stringMatching(/container not running/) });
    expect(oci(['resume', 'vcreated'])).toMatchObject({ code: 1, out: expect.stringMatching(/container not paused/) });
    expect(oci(['update', '--memory', '50m', 'vcreated'])).toMatchObject({
      code: 1,
      out: expect.stringMatching(/container not running/),
    });
    expect(oci(['delete', 'vcreated']).code).toBe(0);
  });

  it('update: flags and --resources (stdin) written into the live cgroup; events --stats shows the new limit', async () => {
    setConfig(bundle, ['sleep', '60']);
    expect(oci(['run', '-d', '--bundle', bundle, 'vupd']).code).toBe(0);
    const paths = cgroupPaths(root, 'vupd');
    const v1 = mode === 'v1';
    expect(oci(['update', '--memory', '50m', '--pids-limit', '40', 'vupd'])).toEqual({ code: 0, out: '' });
    expect(inHierarchy(paths, 'memory', v1 ? 'memory.limit_in_bytes' : 'memory.max')).toBe(String(50 << 20));
    expect(inHierarchy(paths, 'pids', 'pids.max')).toBe('40');
    const r = oci(['update', '-r', '-', 'vupd'], {
      input: JSON.stringify({
        memory: { limit: 60 << 20 },
        cpu: { quota: 20000, period: 50000, shares: 512 },
        pids: { limit: -1 },
      }),
    });
    expect(r).toEqual({ code: 0, out: '' });
    expect(inHierarchy(paths, 'memory', v1 ? 'memory.limit_in_bytes' : 'memory.max')).toBe(String(60 << 20));
    expect(inHierarchy(paths, 'pids', 'pids.max')).toBe('max');
    if (v1) {
      expect(inHierarchy(paths, 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
      expect(inHierarchy(paths, 'cpu', 'cpu.cfs_period_us')).toBe('50000');
      expect(inHierarchy(paths, 'cpu', 'cpu.shares')).toBe('512');
      // the period alone keeps the quota (the drivers write both)
      expect(oci(['update', '--cpu-period', '100000', 'vupd']).code).toBe(0);
      expect(inHierarchy(paths, 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
      expect(inHierarchy(paths, 'cpu', 'cpu.cfs_period_us')).toBe('100000');
    } else expect(inHierarchy(paths, 'cpu', 'cpu.max')).toBe('20000 50000');
    const ev = oci(['events', '--stats', 'vupd']);
    expect(ev.code).toBe(0);
    expect(ev.out.split('\n')).toHaveLength(2);
    expect(JSON.parse(ev.out)).toMatchObject({
      type: 'stats',
      id: 'vupd',
      data: { memory: { usage: { limit: 60 << 20 } }, pids: { current: 1 }, cpu: { usage: {} } },
    });
    // refused: one line, exit 1, nothing changed
    for (const [args, msg] of [
      [['update', '--memory', 'lots', 'vupd'], /invalid --memory \\"lots\\"/],
      [['update', '-r', join(dir, 'nope.json'), 'vupd'], /--resources .*nope\.json: cannot read it \(ENOENT\)/],
      [['update', '--blkio-weight', '300', 'vupd'], /blockIO cannot be changed by minidock-oci update/],
      [['update', '--memory', '5m', 'nosuch'], /container does not exist/],
      [['events', '--interval', '0s', 'vupd'], /-interval must be greater than 0/],
    ] as const) {
      const res = oci([...args]);
      expect(res.code).toBe(1);
      expect(res.out.trim().split('\n')).toEqual([expect.stringMatching(msg)]);
    }
    expect(inHierarchy(paths, 'memory', v1 ? 'memory.limit_in_bytes' : 'memory.max')).toBe(String(60 << 20));
    expect(oci(['delete', '--force', 'vupd']).code).toBe(0);
  });

  it('events without --stats: a stats line every interval, and it ends when the container stops', async () => {
    setConfig(bundle, ['sleep', '1']);
    expect(oci(['run', '-d', '--bundle', bundle, 'vev']).code).toBe(0);
    const t0 = Date.now();
    const ev = oci(['events', '--interval', '200ms', 'vev']);
    expect(ev.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const lines = ev.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.every((l) => l.type === 'stats' && l.id === 'vev')).toBe(true);
    expect(oci(['delete', 'vev']).code).toBe(0);
  });

  it("--preserve-fds 1: the caller's fd 3 is the container's fd 3; one not passed is refused; --no-pivot, --no-new-keyring accepted", () => {
    const file = join(dir, 'fd3.txt');
    writeFileSync(file, '');
    const fd = openSync(file, 'w');
    try {
      // (the shell's own fds: ls would show its directory's too)
      const FDS =
        'echo through fd 3 >&3; for n in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$n ] && echo "fd $n open"; done; true';
      setConfig(bundle, ['sh', '-c', FDS]);
      const r = oci(['run', '--bundle', bundle, '--preserve-fds', '1', '--no-pivot', '--no-new-keyring', 'vfds'], {
        fds: [fd],
      });
      expect(r).toEqual({ code: 0, out: 'fd 3 open\n' });
      expect(readFileSync(file, 'utf8')).toBe('through fd 3\n');
      // without it, fd 3 is closed at exec like every other
      const closed = oci(['run', '--bundle', bundle, 'vfds0'], { fds: [fd] });
      expect(closed).toEqual({ code: 0, out: expect.stringMatching(/^sh: .*3: Bad file descriptor\n$/) });
      const bad = oci(['run', '--bundle', bundle, '--preserve-fds', '2', 'vfds2'], { fds: [fd] });
      expect(bad.code).toBe(1);
      expect(bad.out.trim().split('\n')).toEqual([
        expect.stringMatching(/--preserve-fds 2: fd 4 (is not open|was not passed by the caller)/),
      ]);
    } finally {
      closeSync(fd);
    }
  });
});

describe.skipIf(!canRun || !hasFreezer || !hasRunc)(
  `the same pause/resume/ps answered by runc (${!hasRunc ? 'skipped: runc is not installed' : why})`,
  () => {
    let rdir: string;
    beforeAll(() => {
      rdir = mkdtempSync(join(tmpdir(), 'minidock-oci-verbs-runc-'));
      cpSync(ROOTFS, join(rdir, 'bundle', 'rootfs'), { recursive: true, verbatimSymlinks: true });
      outFile = join(rdir, 'out.txt');
    });
    afterAll(() => {
      runtime('runc', ['--root', join(rdir, 'state'), 'delete', '--force', 'vrunc']);
      rmSync(rdir, { recursive: true, force: true });
    });
    it('paused after pause, "container not paused" for resume of a running one, ps -f json has the init, kill KILL of a paused one ends it', async () => {
      expect(runtime('runc', ['spec', '--bundle', join(rdir, 'bundle')]).code).toBe(0);
      const c = JSON.parse(readFileSync(join(rdir, 'bundle', 'config.json'), 'utf8'));
      c.process.args = ['sleep', '60'];
      c.process.terminal = false;
      writeFileSync(join(rdir, 'bundle', 'config.json'), JSON.stringify(c));
      const runc = (args: string[]) => runtime('runc', ['--root', join(rdir, 'state'), ...args]);
      expect(runc(['run', '-d', '--bundle', join(rdir, 'bundle'), 'vrunc']).code).toBe(0);
      const pid = JSON.parse(runc(['state', 'vrunc']).out).pid;
      expect(runc(['resume', 'vrunc'])).toMatchObject({ code: 1, out: expect.stringMatching(/container not paused/) });
      expect(JSON.parse(runc(['ps', '-f', 'json', 'vrunc']).out)).toContain(pid);
      expect(runc(['pause', 'vrunc']).code).toBe(0);
      expect(JSON.parse(runc(['state', 'vrunc']).out).status).toBe('paused');
      expect(runc(['pause', 'vrunc'])).toMatchObject({ code: 1, out: expect.stringMatching(/container not running/) });
      expect(runc(['kill', 'vrunc', 'KILL']).code).toBe(0);
      await waitFor(() => !alive(pid) || undefined, 5000, "runc's paused init to die");
      expect(runc(['delete', 'vrunc']).code).toBe(0);
    });
  },
);
