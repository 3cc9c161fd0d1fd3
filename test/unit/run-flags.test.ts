// run's Docker flags of issue 19, part 1, without root: --label/--label-file, --stop-signal,
// --oom-score-adj, --oom-kill-disable, --memory-swappiness, --blkio-weight parsing (one line each for a
// bad value), what the v1 and v2 drivers write for them on fake trees (and what v2 refuses, creating
// nothing), the plan's oom_score_adj step, ps --filter and --cidfile's refusal.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkCidfile, removeCidfile, writeCidfile } from '../../src/runtime/cidfile.js';
import { createCgroup, type CgroupOptions } from '../../src/runtime/cgroups/index.js';
import { buildPlan } from '../../src/runtime/build-plan.js';
import { parseLabels, parseOomScoreAdj, parseStopSignal, signalName } from '../../src/runtime/flag-parsers.js';
import { blkioToIoWeight, parseLimits } from '../../src/runtime/limits.js';
import { matchesPsFilter, parsePsFilters } from '../../src/runtime/lifecycle/ps.js';
import type { Entry } from '../../src/runtime/container-store/records.js';
import { describeStep, Op } from '../../src/runtime/plan.js';
import { allDirs, fakeV1, fakeV2, read, type FakeTree } from './cgroup-fake-tree.js';
import { testSpec } from './spec-fixture.js';
import { minidockError } from '../helpers.js';

const error = (fn: () => unknown): string => minidockError(fn).message;
const temps: string[] = [];
const trees: FakeTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'md-flags-'));
  temps.push(d);
  return d;
};

/** A fake tree whose new cgroups also get `extra` files (what the fake leaves out: swappiness, weights). */
function withFiles<T extends FakeTree>(t: T, extra: Record<string, string>): T {
  trees.push(t);
  const ops = t.opts.root!.ops!;
  const mkdir = ops.mkdir.bind(ops);
  ops.mkdir = (dir: string) => {
    mkdir(dir);
    for (const [f, v] of Object.entries(extra)) {
      const [ctrl, file] = f.split(':');
      if (!ctrl || dir.includes(`/${ctrl}/`) || !file) writeFileSync(join(dir, file ?? f), v);
    }
  };
  return t;
}
const files = (o: CgroupOptions, name: string, limits: Parameters<typeof createCgroup>[1]) => {
  const cg = createCgroup(name, limits, o);
  const w = cg.writes.filter((x) => !x.file.includes('devices.') && !x.file.endsWith('subtree_control'));
  cg.destroy();
  return w.map((x) => [x.file.split('/').slice(-2).join('/'), x.value]);
};

describe('--label, --label-file', () => {
  it('files first, then -l; a later key wins; a bare key is ""; comments and blank lines skipped', () => {
    const f = join(tmp(), 'labels');
    writeFileSync(f, '# team labels\n\na=from-file\r\nb=2=two\n  c  \n');
    expect(parseLabels(['a=cli', 'd'], [f])).toEqual({ a: 'cli', b: '2=two', c: '', d: '' });
    expect(parseLabels([], [])).toBeUndefined();
  });
  it('refuses a nameless label and an unreadable file, in one line', () => {
    expect(error(() => parseLabels(['=x'], []))).toBe(
      '--label "=x": the label has no name — use KEY=VALUE (e.g. com.example.team=web)',
    );
    const f = join(tmp(), 'bad');
    writeFileSync(f, 'ok=1\n=nope\n');
    expect(error(() => parseLabels([], [f]))).toContain(`--label-file ${f} line 2: "=nope": the label has no name`);
    expect(error(() => parseLabels([], ['/nonexistent/labels']))).toBe(
      '--label-file /nonexistent/labels: ENOENT — give a readable file of KEY=VALUE lines',
    );
  });
});

describe('--stop-signal, --oom-score-adj', () => {
  it('takes names with or without SIG, any case, and numbers 1-64', () => {
    expect(parseStopSignal('SIGUSR1')).toBe(10);
    expect(parseStopSignal('usr1')).toBe(10);
    expect(parseStopSignal('QUIT')).toBe(3);
    expect(parseStopSignal('40')).toBe(40);
    expect(signalName(10)).toBe('SIGUSR1');
    expect(signalName(40)).toBe('40');
    for (const bad of ['FOO', '0', '65', '', '-1'])
      expect(error(() => parseStopSignal(bad))).toBe(
        `--stop-signal ${bad}: not a signal — use a name such as SIGTERM, SIGUSR1, SIGQUIT, or a number 1-64`,
      );
  });
  it('--oom-score-adj -1000..1000', () => {
    expect(parseOomScoreAdj('-1000')).toBe(-1000);
    expect(parseOomScoreAdj('1000')).toBe(1000);
    expect(parseOomScoreAdj('0')).toBe(0);
    for (const bad of ['1001', '-1001', '1.5', 'x', ''])
      expect(error(() => parseOomScoreAdj(bad))).toBe(
        `--oom-score-adj ${bad}: use an integer from -1000 (never chosen by the OOM killer) to 1000 (chosen first)`,
      );
  });
  it('the plan writes /proc/self/oom_score_adj after the rlimits, before the capabilities go', () => {
    const steps = buildPlan(testSpec({ oomScoreAdj: 500 }), { merged: '/m', upper: '/u', work: '/w' });
    const i = steps.findIndex((s) => s.op === Op.WRITE_FILE && s.strs?.[0] === '/proc/self/oom_score_adj');
    expect(i).toBeGreaterThan(steps.findIndex((s) => s.op === Op.PIVOT_ROOT));
    expect(i).toBeLessThan(steps.findIndex((s) => s.op === Op.CAPBSET));
    expect(describeStep(steps[i]!)).toBe('write("/proc/self/oom_score_adj", "500")');
    // without the flag: no such step (a plain run's plan is unchanged)
    const plain = buildPlan(testSpec(), { merged: '/m', upper: '/u', work: '/w' });
    expect(plain.some((s) => s.strs?.[0] === '/proc/self/oom_score_adj')).toBe(false);
  });
});

describe('--oom-kill-disable, --memory-swappiness, --blkio-weight (parseLimits)', () => {
  it('parses them, Docker-style unset values included', () => {
    expect(parseLimits({ oomKillDisable: 'true', memorySwappiness: '0', blkioWeight: '10' })).toEqual({
      oomKillDisable: true,
      memorySwappiness: 0,
      blkioWeight: 10,
    });
    expect(parseLimits({ memorySwappiness: '-1', blkioWeight: '0' })).toEqual({});
    expect(parseLimits({ memorySwappiness: '100', blkioWeight: '1000' })).toEqual({
      memorySwappiness: 100,
      blkioWeight: 1000,
    });
  });
  it('refuses out-of-range values in one line', () => {
    expect(error(() => parseLimits({ memorySwappiness: '101' }))).toBe(
      'invalid --memory-swappiness "101": out of range; use an integer between 0 (swap only when it must) and 100 (swap as freely as the host)',
    );
    expect(error(() => parseLimits({ memorySwappiness: 'lots' }))).toContain('invalid --memory-swappiness "lots"');
    for (const bad of ['5', '1001', '-3', 'x'])
      expect(error(() => parseLimits({ blkioWeight: bad }))).toContain(`invalid --blkio-weight "${bad}"`);
  });
  it("maps a blkio weight onto v2's io.weight as runc does", () => {
    expect([10, 500, 1000].map(blkioToIoWeight)).toEqual([1, 4950, 10000]);
  });
});

describe('the drivers (fake trees)', () => {
  it('v1: memory.oom_control and memory.swappiness in the memory cgroup, blkio.weight in blkio', () => {
    const t = withFiles(fakeV1(), { 'memory:memory.swappiness': '60\n', 'blkio:blkio.weight': '500\n' });
    const limits = { memory: 50 << 20, oomKillDisable: true, memorySwappiness: 10, blkioWeight: 300 };
    const cg = createCgroup('md-f1', limits, t.opts);
    const mem = join(t.root, 'memory/process_api/abc/md-f1');
    expect(read(join(mem, 'memory.oom_control'))).toBe('1');
    expect(read(join(mem, 'memory.swappiness'))).toBe('10');
    expect(read(join(t.root, 'blkio/md-f1/blkio.weight'))).toBe('300');
    cg.destroy();
    expect(existsSync(join(t.root, 'blkio/md-f1'))).toBe(false);
    // no --blkio-weight: no blkio cgroup at all
    const plain = createCgroup('md-f2', { memory: 50 << 20 }, t.opts);
    expect(plain.paths.some((p) => p.includes('/blkio/'))).toBe(false);
    plain.destroy();
  });
  it("v1: BFQ's blkio.bfq.weight when the kernel has it", () => {
    const t = withFiles(fakeV1(), { 'blkio:blkio.bfq.weight': '100\n' });
    expect(files(t.opts, 'md-f3', { blkioWeight: 200 })).toEqual([['md-f3/blkio.bfq.weight', '200']]);
  });
  it('v1: no weight file (no proportional scheduler): refused in one line, nothing left', () => {
    const t = withFiles(fakeV1(), {});
    const before = allDirs(t.root);
    expect(error(() => createCgroup('md-f4', { blkioWeight: 200 }, t.opts))).toBe(
      `cannot apply --blkio-weight: ${join(t.root, 'blkio/md-f4')} has neither blkio.bfq.weight nor blkio.weight — proportional I/O weights need the BFQ I/O scheduler (modprobe bfq; echo bfq > /sys/block/DEV/queue/scheduler); drop the flag`,
    );
    expect(allDirs(t.root)).toEqual(before);
  });
  it('v2: refuses --oom-kill-disable and --memory-swappiness before creating anything', () => {
    const t = withFiles(fakeV2(), {});
    const before = allDirs(t.root);
    expect(error(() => createCgroup('md-f5', { oomKillDisable: true }, t.opts))).toMatch(
      /^--oom-kill-disable: cgroup v2 has no switch to turn the OOM killer off for a cgroup/,
    );
    expect(error(() => createCgroup('md-f5', { memorySwappiness: 0 }, t.opts))).toMatch(
      /^--memory-swappiness 0: cgroup v2 has no per-cgroup swappiness/,
    );
    expect(allDirs(t.root)).toEqual(before);
  });
  it('v2: +io down the tree, then io.weight (converted) or io.bfq.weight (as given)', () => {
    const t = withFiles(fakeV2(), { 'io.weight': 'default 100\n' });
    const cg = createCgroup('md-f6', { blkioWeight: 500 }, t.opts);
    expect(cg.writes.filter((w) => w.value === '+io').length).toBeGreaterThan(0);
    expect(read(join(t.root, 'user.slice/md-f6/io.weight'))).toBe('4950');
    cg.destroy();
    const b = withFiles(fakeV2(), { 'io.bfq.weight': 'default 100\n', 'io.weight': 'default 100\n' });
    expect(files(b.opts, 'md-f7', { blkioWeight: 500 })).toEqual([['md-f7/io.bfq.weight', '500']]);
  });
  it('v2: no io controller offered: the usual one line', () => {
    const t = withFiles(fakeV2({ controllers: ['cpu', 'memory', 'pids'] }), {});
    expect(error(() => createCgroup('md-f8', { blkioWeight: 500 }, t.opts))).toMatch(
      /^cannot apply the io limit: .* does not list io/,
    );
  });
});

describe('ps --filter', () => {
  const entry = (name: string, labels?: Record<string, string>): Entry =>
    ({ id: 'a'.repeat(64), dir: '/x', config: { name, spec: { labels } } }) as unknown as Entry;
  it('every label must match, any name part, any status', () => {
    const web = entry('web-1', { team: 'web', tier: '' });
    const f = (...raw: string[]) => parsePsFilters(raw);
    expect(matchesPsFilter(web, 'running', f('label=team'))).toBe(true);
    expect(matchesPsFilter(web, 'running', f('label=team=web', 'label=tier'))).toBe(true);
    expect(matchesPsFilter(web, 'running', f('label=team=web', 'label=other'))).toBe(false);
    expect(matchesPsFilter(web, 'running', f('label=team=db'))).toBe(false);
    expect(matchesPsFilter(web, 'running', f('name=db', 'name=web'))).toBe(true);
    expect(matchesPsFilter(web, 'running', f('name=db'))).toBe(false);
    expect(matchesPsFilter(web, 'exited', f('status=running', 'status=exited'))).toBe(true);
    expect(matchesPsFilter(web, 'paused', f('status=running'))).toBe(false);
    expect(matchesPsFilter(entry('x'), 'running', f('label=team'))).toBe(false);
  });
  it('refuses unknown keys and statuses in one line', () => {
    expect(error(() => parsePsFilters(['bogus']))).toBe(
      '--filter bogus: use label=KEY, label=KEY=VALUE, name=NAME or status=STATE (minidock knows these three)',
    );
    expect(error(() => parsePsFilters(['status=sleeping']))).toBe(
      '--filter status=sleeping: the status must be one of created, restarting, running, removing, paused, exited, dead',
    );
  });
});

describe('--cidfile', () => {
  it("refuses an existing file with Docker's words, writes the ID exclusively, removes it", () => {
    const d = tmp();
    const f = join(d, 'cid');
    checkCidfile(f);
    writeCidfile(f, 'abc');
    expect(read(f)).toBe('abc');
    expect(error(() => checkCidfile(f))).toBe(
      `--cidfile ${f}: Container ID file found, make sure the other container isn't running or delete ${f}`,
    );
    expect(error(() => writeCidfile(f, 'def'))).toContain('Container ID file found');
    expect(read(f)).toBe('abc');
    removeCidfile(f);
    expect(existsSync(f)).toBe(false);
    expect(error(() => writeCidfile(join(d, 'no/such/dir'), 'x'))).toBe(
      `--cidfile ${join(d, 'no/such/dir')}: ENOENT — give a path in an existing, writable directory`,
    );
  });
});
