// minidock-oci's cgroup verbs without a container: their command lines (src/oci/argv.ts), update's
// LinuxResources -> Limits mapping and runc's flags (src/oci/update.ts), ps's filter and events'
// JSON (src/oci/control.ts), --preserve-fds in the plan (src/oci/launch.ts).
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors';
import { parseDuration, parseOciArgv } from '../../src/oci/argv';
import { eventLine, filterPs, runcStats } from '../../src/oci/control';
import { mapConfig } from '../../src/oci/config';
import { checkPreservedFds, ociPlan } from '../../src/oci/launch';
import { Op, describeStep } from '../../src/runtime/plan';
import { limitsFromResources, readResources, resourcesFromFlags } from '../../src/oci/update';

const error = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MinidockError);
    expect((e as MinidockError).message.split('\n')).toHaveLength(1);
    return (e as MinidockError).message;
  }
  throw new Error('no error');
};

describe('the command lines', () => {
  it('ps: --format before the id, everything after it is ps\'s (a "--" after the id dropped)', () => {
    expect(parseOciArgv(['ps', '-f', 'json', 'c1'])).toMatchObject({
      verb: 'ps',
      flags: { format: 'json' },
      args: ['c1'],
    });
    expect(parseOciArgv(['ps', 'c1', '-o', 'pid,stat'])).toMatchObject({ args: ['c1', '-o', 'pid,stat'] });
    expect(parseOciArgv(['ps', 'c1', '--', 'aux'])).toMatchObject({ args: ['c1', 'aux'] });
  });
  it("update: runc's flags (values may start with a dash), --cpu-shares beside runc's --cpu-share", () => {
    const c = parseOciArgv([
      'update',
      '--memory',
      '50m',
      '--memory-swap',
      '-1',
      '--cpu-shares=512',
      '--pids-limit',
      '9',
      'c1',
    ]);
    expect(c).toMatchObject({
      verb: 'update',
      args: ['c1'],
      flags: { memory: '50m', 'memory-swap': '-1', 'cpu-shares': '512', 'pids-limit': '9' },
    });
    expect(parseOciArgv(['update', '-r', '-', 'c1']).flags).toEqual({ resources: '-' });
    expect(error(() => parseOciArgv(['update', '--memroy', '5m', 'c1']))).toMatch(
      /flag provided but not defined: -memroy/,
    );
  });
  it('events --stats --interval; exec --ignore-paused; create --no-pivot --no-new-keyring --preserve-fds', () => {
    expect(parseOciArgv(['events', '--stats', '--interval', '1s', 'c1']).flags).toEqual({
      stats: true,
      interval: '1s',
    });
    expect(parseOciArgv(['exec', '--ignore-paused', 'c1', 'true']).flags).toEqual({ 'ignore-paused': true });
    expect(parseOciArgv(['create', '--no-pivot', '--no-new-keyring', '--preserve-fds', '2', 'c1']).flags).toEqual({
      'no-pivot': true,
      'no-new-keyring': true,
      'preserve-fds': '2',
    });
  });
  it('Go durations for --interval, in ms; 0 and nonsense refused', () => {
    expect(parseDuration('interval', '5s')).toBe(5000);
    expect(parseDuration('interval', '250ms')).toBe(250);
    expect(parseDuration('interval', '1m30s')).toBe(90_000);
    expect(parseDuration('interval', '1.5s')).toBe(1500);
    expect(error(() => parseDuration('interval', '0s'))).toMatch(/greater than 0/);
    expect(error(() => parseDuration('interval', '5'))).toMatch(/invalid value "5" for flag -interval/);
    expect(error(() => parseDuration('interval', '5s x'))).toMatch(/invalid value/);
  });
});

describe("update's resources", () => {
  it('LinuxResources -> Limits: only what is set; 0 and "" keep the value; -1 is no limit', () => {
    expect(
      limitsFromResources({
        memory: { limit: 50 << 20, reservation: 0, swap: -1 },
        cpu: { shares: 512, quota: 20000, period: 50000, cpus: '0-1', mems: '' },
        pids: { limit: 40 },
      }),
    ).toEqual({
      memory: 50 << 20,
      memorySwap: -1,
      cpuShares: 512,
      cpuQuotaUs: 20000,
      cpuPeriodUs: 50000,
      cpusetCpus: '0-1',
      pids: 40,
    });
    expect(limitsFromResources({ memory: { limit: 0 }, cpu: { quota: -1 }, pids: { limit: -1 } })).toEqual({
      cpuQuotaUs: -1,
      pids: -1,
    });
    expect(limitsFromResources({})).toEqual({});
  });
  it("what containerd sends beside the limits: device rules ignored (as runc update), empty sections and Docker's blockIO weight 0 accepted", () => {
    expect(
      limitsFromResources({
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        ],
        memory: { limit: 1 << 30, disableOOMKiller: false },
        blockIO: { weight: 0 },
        hugepageLimits: [],
        unified: {},
      }),
    ).toEqual({ memory: 1 << 30 });
  });
  it('bad values and what the drivers cannot write: one line naming the field and the input', () => {
    expect(error(() => limitsFromResources({ memory: { limit: 'x' } }, '--resources r.json'))).toMatch(
      /^--resources r\.json: memory\.limit must be a positive integer, -1 \(no limit\) or 0/,
    );
    expect(error(() => limitsFromResources({ memory: { limit: -5 } }))).toMatch(
      /memory\.limit must be a positive integer, -1/,
    );
    expect(error(() => limitsFromResources({ memory: { limit: 100 << 20, swap: 50 << 20 } }))).toMatch(
      /memory\.swap is memory plus swap: it must be at least memory\.limit/,
    );
    expect(error(() => limitsFromResources({ cpu: { shares: 1 } }))).toMatch(/cpu\.shares must be from 2 to 262144/);
    expect(error(() => limitsFromResources({ cpu: { quota: 10 } }))).toMatch(/cpu\.quota must be at least 1000/);
    expect(error(() => limitsFromResources({ cpu: { cpus: '0-' } }))).toMatch(/cpu\.cpus must be a list like/);
    expect(error(() => limitsFromResources({ cpu: { realtimeRuntime: 5 } }))).toMatch(
      /cpu\.realtimeRuntime cannot be changed/,
    );
    expect(error(() => limitsFromResources({ blockIO: { weight: 300 } }))).toMatch(/blockIO cannot be changed/);
    expect(error(() => limitsFromResources({ memory: { kernel: 1 } }))).toMatch(/memory\.kernel cannot be changed/);
  });
  it("runc's flags make the same object: memory sizes with units or -1, integers for the rest", () => {
    const r = resourcesFromFlags({
      memory: '50m',
      'memory-swap': '-1',
      'cpu-shares': '512',
      'cpu-quota': '-1',
      'cpuset-cpus': '0',
      'pids-limit': '7',
    });
    expect(r).toEqual({
      memory: { limit: 50 << 20, swap: -1 },
      cpu: { shares: 512, quota: -1, cpus: '0' },
      pids: { limit: 7 },
    });
    expect(limitsFromResources(r)).toEqual({
      memory: 50 << 20,
      memorySwap: -1,
      cpuShares: 512,
      cpuQuotaUs: -1,
      cpusetCpus: '0',
      pids: 7,
    });
    expect(resourcesFromFlags({ 'cpu-share': '300', 'cpu-shares': '999' })).toEqual({ cpu: { shares: 300 } });
    expect(error(() => resourcesFromFlags({ memory: 'abc' }))).toMatch(/invalid --memory "abc"/);
    expect(error(() => resourcesFromFlags({ 'pids-limit': '1.5' }))).toMatch(
      /invalid --pids-limit "1.5": give an integer/,
    );
  });
  it('--resources: a file or stdin (-), JSON object; a missing file or bad JSON is one line', () => {
    const files: Record<string, string> = { 'r.json': '{"pids":{"limit":3}}', bad: '{', arr: '[]' };
    const read = (f: string | number) => {
      if (f === 0) return '{"memory":{"limit":1}}';
      if (!(String(f) in files)) throw Object.assign(new Error('x'), { code: 'ENOENT' });
      return files[String(f)]!;
    };
    expect(readResources('r.json', read)).toEqual({ pids: { limit: 3 } });
    expect(readResources('-', read)).toEqual({ memory: { limit: 1 } });
    expect(error(() => readResources('nope', read))).toMatch(/^--resources nope: cannot read it \(ENOENT\)/);
    expect(error(() => readResources('bad', read))).toMatch(/^--resources bad: not valid JSON/);
    expect(error(() => readResources('arr', read))).toMatch(
      /^--resources arr: the top level must be a JSON object, got an array/,
    );
  });
});

describe('ps and events output', () => {
  const PS = [
    'UID        PID  PPID  C STIME TTY          TIME CMD',
    'root         1     0  0 10:00 ?        00:00:01 /sbin/init',
    'root       500     1  0 10:01 ?        00:00:00 sh -c while true; do sleep 1; done',
    'root       501   500  0 10:01 ?        00:00:00 sleep 1',
    '',
  ].join('\n');
  it("the table: ps's header and the lines whose PID column is the container's", () => {
    expect(filterPs(PS, [500, 501])).toBe(
      `${PS.split('\n').slice(0, 1).concat(PS.split('\n').slice(2, 4)).join('\n')}\n`,
    );
    expect(filterPs('  PID STAT\n  500 Ss\n  777 S\n', [500])).toBe('  PID STAT\n  500 Ss\n');
    expect(filterPs(PS, [])).toBe(`${PS.split('\n')[0]}\n`);
    expect(error(() => filterPs('STAT CMD\nS sh\n', [1]))).toMatch(/couldn't find PID field in ps output/);
    expect(error(() => filterPs('PID CMD\nabc sh\n', [1]))).toMatch(/unexpected pid 'abc'/);
  });
  it("events' stats: runc's JSON (ns, Go's omitempty), no-limit values as runc prints them", () => {
    const data = runcStats(
      {
        cpuUsageUs: 1500,
        cpuUserUs: 1000,
        cpuSystemUs: 0,
        nrPeriods: 3,
        memoryUsageBytes: 4096,
        memoryLimitHits: 0,
        pidsCurrent: 2,
      },
      'v1',
    );
    expect(data).toEqual({
      cpu: { usage: { total: 1_500_000, user: 1_000_000 }, throttling: { periods: 3 } },
      memory: { usage: { limit: 9223372036854771712n, usage: 4096, failcnt: 0 } },
      pids: { current: 2 },
      blkio: {},
      hugetlb: {},
    });
    const line = eventLine({ type: 'stats', id: 'c1', data });
    expect(line).toContain('"limit":9223372036854771712,');
    expect(line.endsWith('}\n')).toBe(true);
    expect(
      eventLine({ type: 'stats', id: 'c', data: runcStats({ memoryLimitBytes: 1 << 20, pidsLimit: 9 }, 'v2') }),
    ).toContain('"memory":{"usage":{"limit":1048576,"failcnt":0}},"pids":{"limit":9}');
    expect(runcStats({}, 'v2')).toMatchObject({ memory: { usage: { limit: 18446744073709551615n } } });
    expect(eventLine({ type: 'oom', id: 'c1' })).toBe('{"type":"oom","id":"c1"}\n');
  });
});

describe('--preserve-fds', () => {
  const bundle = mkdtempSync(join(tmpdir(), 'minidock-oci-verbs-'));
  mkdirSync(join(bundle, 'rootfs'));
  afterAll(() => rmSync(bundle, { recursive: true, force: true }));
  const config = JSON.parse(readFileSync(join(__dirname, 'oci-runc-spec.json'), 'utf8'));
  config.process.terminal = false;
  const cfg = mapConfig(config, bundle, {
    id: 'p'.repeat(64),
    name: 'p',
    hostHostname: () => 'h',
    apparmorEnabled: () => false,
  });
  const cg = { mode: 'v1' as const, paths: ['/sys/fs/cgroup/pids/p'], fsMounts: [], writes: [] };
  it("the plan's close-on-exec sweep starts above the preserved fds (3+N); without them at 3, as every plan", () => {
    const close = (n: number) => ociPlan(cfg, cg, 9, n).steps.find((s) => s.op === Op.CLOSE_FDS)!;
    expect(close(0).ints ?? []).toEqual([]);
    expect(describeStep(close(0))).toContain('close_range(3, ~0, CLOSE_RANGE_CLOEXEC)');
    expect(close(2).ints).toEqual([5]);
    expect(describeStep(close(2))).toContain('fcntl(3..4, F_SETFD, 0); close_range(5, ~0, CLOSE_RANGE_CLOEXEC)');
  });
  it('every fd 3..3+N-1 must be open here; N=0 asks nothing', () => {
    checkPreservedFds(0, () => false);
    checkPreservedFds(
      2,
      (fd) => fd === 3 || fd === 4,
      () => 'pipe:[12]',
    );
    expect(
      error(() =>
        checkPreservedFds(
          2,
          () => true,
          (fd) => (fd === 4 ? 'anon_inode:[eventpoll]' : 'socket:[1]'),
        ),
      ),
    ).toMatch(
      /--preserve-fds 2: fd 4 was not passed by the caller \(it is minidock-oci's own anon_inode:\[eventpoll\]\)/,
    );
    expect(
      error(() =>
        checkPreservedFds(
          3,
          (fd) => fd !== 5,
          () => 'pipe:[1]',
        ),
      ),
    ).toMatch(/--preserve-fds 3: fd 5 is not open in minidock-oci/);
  });
});
