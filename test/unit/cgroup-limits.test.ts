import { describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors.js';
import {
  parseCpuList,
  parseCpuPercent,
  parseCpus,
  parseCpuset,
  parseLimits,
  parseMemory,
  sharesToWeight,
  weightToShares,
  type HostInfo,
} from '../../src/runtime/limits.js';

const host2: HostInfo = { onlineCpus: [0, 1] };
const host4: HostInfo = { onlineCpus: [0, 1, 2, 3] };

function err(fn: () => unknown): MinidockError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MinidockError);
    expect((e as MinidockError).code).toBe(125);
    expect((e as Error).message).not.toContain('\n');
    return e as MinidockError;
  }
  throw new Error('expected a MinidockError');
}

describe('parseMemory', () => {
  it.each([
    ['50M', 52_428_800],
    ['50m', 52_428_800],
    ['1g', 1_073_741_824],
    ['1G', 1_073_741_824],
    ['512k', 524_288],
    ['512K', 524_288],
    ['1048576', 1_048_576],
    ['100b', 100],
    ['1.5g', 1_610_612_736],
    ['0.5m', 524_288],
    ['2t', 2_199_023_255_552],
    ['64MiB', 67_108_864],
    ['64mb', 67_108_864],
    ['64 M', 67_108_864],
    ['1.0000001k', 1024], // fractions of a byte are dropped
  ])('%s -> %d bytes', (v, n) => {
    expect(parseMemory('memory', v)).toBe(n);
  });

  it.each(['50X', '-1', '', 'M', '1..5g', '5 g b', 'abc', '1e6', '0x10'])('rejects "%s" with one clear line', (v) => {
    expect(err(() => parseMemory('memory', v)).message).toBe(
      `invalid --memory "${v}": use a number with an optional unit b, k, m or g (e.g. 50M)`,
    );
  });

  it('names the flag it parses', () => {
    expect(err(() => parseMemory('--memory-swap', '1q')).message).toMatch(/^invalid --memory-swap "1q"/);
    expect(err(() => parseMemory('memory-reservation', 'x')).message).toMatch(/^invalid --memory-reservation "x"/);
  });

  it('rejects values beyond 2^53 bytes', () => {
    expect(err(() => parseMemory('memory', '9999999t')).message).toMatch(/larger than 9007199254740991 bytes/);
  });
});

describe('parseCpus', () => {
  it.each([
    ['0.5', 50_000],
    ['1', 100_000],
    ['2', 200_000],
    ['1.25', 125_000],
    ['0.01', 1_000],
    ['.5', 50_000],
  ])('%s -> %d/100000', (v, q) => {
    expect(parseCpus(v, host2)).toEqual({ quotaUs: q, periodUs: 100_000 });
  });

  it('rejects non-numbers', () => {
    expect(err(() => parseCpus('half', host2)).message).toBe(
      'invalid --cpus "half": use a number of CPUs between 0.01 and 2 (e.g. 0.5)',
    );
    expect(err(() => parseCpus('', host2)).message).toMatch(/^invalid --cpus "":/);
    expect(err(() => parseCpus('-1', host2)).message).toMatch(/^invalid --cpus "-1": use a number/);
  });
  it('rejects 0', () => {
    expect(err(() => parseCpus('0', host2)).message).toBe(
      'invalid --cpus "0": must be greater than 0; use a number of CPUs between 0.01 and 2 (e.g. 0.5)',
    );
  });
  it('rejects quotas below the kernel minimum of 1000us', () => {
    expect(err(() => parseCpus('0.005', host2)).message).toBe(
      'invalid --cpus "0.005": below 0.01 CPU (the kernel\'s minimum quota is 1000us per 100000us); use a number of CPUs between 0.01 and 2 (e.g. 0.5)',
    );
  });
  it('rejects more CPUs than are online', () => {
    expect(err(() => parseCpus('3', host2)).message).toBe(
      'invalid --cpus "3": this host has only 2 online CPUs (0-1); use a number of CPUs between 0.01 and 2 (e.g. 0.5)',
    );
    expect(parseCpus('4', host4).quotaUs).toBe(400_000);
  });
  it('defaults to the real host', () => {
    expect(parseCpus('0.5').quotaUs).toBe(50_000);
  });
});

describe('parseCpuPercent', () => {
  it.each([
    ['25', 25_000],
    ['100', 100_000],
    ['150', 150_000],
    ['1', 1_000],
    ['12.5', 12_500],
    ['50%', 50_000],
  ])('--cpu %s -> %d/100000', (v, q) => {
    expect(parseCpuPercent(v, host2)).toEqual({ quotaUs: q, periodUs: 100_000 });
  });
  it('rejects bad values', () => {
    expect(err(() => parseCpuPercent('lots', host2)).message).toBe(
      'invalid --cpu "lots": use a percentage of one CPU between 1 and 200 (e.g. 25)',
    );
    expect(err(() => parseCpuPercent('0', host2)).message).toBe(
      'invalid --cpu "0": must be greater than 0; use a percentage of one CPU between 1 and 200 (e.g. 25)',
    );
    expect(err(() => parseCpuPercent('0.5', host2)).message).toBe(
      'invalid --cpu "0.5": below 1% of a CPU (the kernel\'s minimum quota is 1000us per 100000us); use a percentage of one CPU between 1 and 200 (e.g. 25)',
    );
    expect(err(() => parseCpuPercent('201', host2)).message).toBe(
      'invalid --cpu "201": this host has only 2 online CPUs; use a percentage of one CPU between 1 and 200 (e.g. 25)',
    );
  });
});

describe('CPU lists and weights', () => {
  it('parses kernel CPU lists', () => {
    expect(parseCpuList('0-1,3')).toEqual([0, 1, 3]);
    expect(parseCpuList('3,0-1,1')).toEqual([0, 1, 3]);
    expect(parseCpuList('0\n')).toEqual([0]);
    expect(parseCpuList('')).toEqual([]);
    expect(parseCpuList('1-0')).toBeUndefined();
    expect(parseCpuList('a')).toBeUndefined();
    expect(parseCpuList('0,,1')).toBeUndefined();
  });
  it('validates --cpuset-cpus against the online CPUs', () => {
    expect(parseCpuset('0-1,3', host4)).toBe('0-1,3');
    expect(parseCpuset('1, 0', host4)).toBe('0-1');
    expect(err(() => parseCpuset('0-2', host2)).message).toBe(
      'invalid --cpuset-cpus "0-2": CPU 2 is not online on this host; use CPUs from 0-1',
    );
    expect(err(() => parseCpuset('x', host2)).message).toBe(
      'invalid --cpuset-cpus "x": use a list of CPU numbers and ranges like 0-1,3 (online here: 0-1)',
    );
    expect(err(() => parseCpuset('3-1', host4)).message).toMatch(/^invalid --cpuset-cpus "3-1": use a list/);
  });
  // runc's and crun's mapping, written out from their source: opencontainers/cgroups utils.go
  // (ConvertCPUSharesToCgroupV2Value) and containers/crun src/libcrun/cgroup-internal.h (convert_shares_to_weight)
  const upstream = (shares: number): number => {
    if (shares === 0) return 0;
    if (shares <= 2) return 1;
    if (shares >= 262144) return 10000;
    const l = Math.log2(shares);
    return Math.ceil(10 ** ((l * l + 125 * l) / 612.0 - 7.0 / 34.0));
  };
  it('converts shares to weight as runc and crun do: minimum, default and maximum onto each other', () => {
    // the ends and v1's default onto v2's, and the points of opencontainers/cgroups' own test
    expect([2, 1024, 262144].map(sharesToWeight)).toEqual([1, 100, 10000]);
    expect([3, 262143].map(sharesToWeight)).toEqual([2, 10000]);
    // everywhere else as the formula: every power of two, and numbers between them
    const points = [...Array(17).keys()]
      .flatMap((i) => [2 ** (i + 1), 3 * 2 ** i, 2 ** (i + 1) + 1])
      .filter((s) => s <= 262144);
    for (const s of points) expect(sharesToWeight(s), `${s} shares`).toBe(upstream(s));
    expect(sharesToWeight(512)).toBe(59); // half the default is not half the weight: the curve is no line
  });
  it('converts weight to shares (--cpu-weight on v1) on the same curve, inverted', () => {
    expect([1, 100, 10000].map(weightToShares)).toEqual([2, 1024, 262144]);
    for (let w = 1; w <= 10000; w++) {
      if (sharesToWeight(weightToShares(w)) !== w)
        expect(`weight ${w} -> ${weightToShares(w)} shares -> weight ${sharesToWeight(weightToShares(w))}`).toBe(
          'the same weight',
        );
    }
    const shares = [...Array(10000).keys()].map((w) => weightToShares(w + 1));
    expect(shares.every((s, i) => i === 0 || s > shares[i - 1]!)).toBe(true); // a higher weight is always more shares
  });
});

describe('parseLimits', () => {
  it('leaves unset options unset', () => {
    expect(parseLimits({}, host2)).toEqual({});
    expect(parseLimits({ memory: undefined, cpus: '' }, host2)).toEqual({});
  });

  it('parses every option', () => {
    expect(
      parseLimits(
        {
          memory: '50M',
          memorySwap: '100M',
          memoryReservation: '20M',
          cpus: '0.5',
          cpuShares: '512',
          cpusetCpus: '0',
          pidsLimit: '10',
        },
        host2,
      ),
    ).toEqual({
      memory: 52_428_800,
      memorySwap: 104_857_600,
      memoryReservation: 20_971_520,
      cpuQuotaUs: 50_000,
      cpuPeriodUs: 100_000,
      cpuShares: 512,
      cpusetCpus: '0',
      pids: 10,
    });
    expect(parseLimits({ cpu: '25', cpuWeight: '200', pids: '-1', memory: '6m', memorySwap: '-1' }, host2)).toEqual({
      cpuQuotaUs: 25_000,
      cpuPeriodUs: 100_000,
      cpuWeight: 200,
      pids: -1,
      memory: 6_291_456,
      memorySwap: -1,
    });
    expect(parseLimits({ pidsLimit: '5', pids: '5' }, host2)).toEqual({ pids: 5 });
  });

  // Docker's rule (docs.docker.com, "Runtime options with Memory, CPUs, and GPUs"): without it a host
  // with swap would swap a cgroup at its -m limit out instead of OOM-killing it
  it('--memory-swap follows Docker: unset with -m = 2 x memory, equal to -m = no swap, -1 = unlimited', () => {
    expect(parseLimits({ memory: '50M' }, host2)).toEqual({
      memory: 52_428_800,
      memorySwap: 104_857_600,
      memorySwapDefault: true,
    });
    expect(parseLimits({ memory: '50M', memorySwap: '50M' }, host2)).toEqual({
      memory: 52_428_800,
      memorySwap: 52_428_800,
    });
    expect(parseLimits({ memory: '50M', memorySwap: '-1' }, host2)).toEqual({ memory: 52_428_800, memorySwap: -1 });
    expect(parseLimits({ memory: '50M', memorySwap: '200M' }, host2)).toEqual({
      memory: 52_428_800,
      memorySwap: 209_715_200,
    });
    // no -m: no swap limit either (as in Docker)
    expect(parseLimits({ memoryReservation: '20M' }, host2)).toEqual({ memoryReservation: 20_971_520 });
  });

  it.each([
    [{ memory: '50X' }, 'invalid --memory "50X": use a number with an optional unit b, k, m or g (e.g. 50M)'],
    [{ memory: '-1' }, 'invalid --memory "-1": use a number with an optional unit b, k, m or g (e.g. 50M)'],
    [
      { memory: '4m' },
      'invalid --memory "4m": the minimum is 6M (6291456 bytes), below that a process cannot start; use e.g. 50M',
    ],
    [
      { memory: '0' },
      'invalid --memory "0": the minimum is 6M (6291456 bytes), below that a process cannot start; use e.g. 50M',
    ],
    [
      { memorySwap: '100M' },
      'invalid --memory-swap "100M": it is memory plus swap, so it needs --memory too (e.g. -m 50M --memory-swap 100M)',
    ],
    [
      { memory: '100M', memorySwap: '50M' },
      'invalid --memory-swap "50M": smaller than --memory 100M; it counts memory plus swap, so use at least the --memory value, or -1 for unlimited swap',
    ],
    [
      { memory: '100M', memorySwap: '-2' },
      'invalid --memory-swap "-2": use a number with an optional unit b, k, m or g (e.g. 50M)',
    ],
    [
      { memory: '50M', memoryReservation: '60M' },
      'invalid --memory-reservation "60M": larger than --memory 50M; a reservation is a soft limit below the hard one',
    ],
    [{ memoryReservation: '0' }, 'invalid --memory-reservation "0": must be greater than 0 (e.g. 20M)'],
    [
      { cpus: '0.5', cpu: '50' },
      'conflicting --cpus "0.5" and --cpu "50": both set the CPU quota; use only one (--cpus 0.5 equals --cpu 50)',
    ],
    [
      { cpus: '9' },
      'invalid --cpus "9": this host has only 2 online CPUs (0-1); use a number of CPUs between 0.01 and 2 (e.g. 0.5)',
    ],
    [{ cpuShares: '1' }, 'invalid --cpu-shares "1": out of range; use an integer between 2 and 262144 (default 1024)'],
    [{ cpuShares: '1.5' }, 'invalid --cpu-shares "1.5": use an integer between 2 and 262144 (default 1024)'],
    [
      { cpuWeight: '10001' },
      'invalid --cpu-weight "10001": out of range; use an integer between 1 and 10000 (default 100)',
    ],
    [
      { cpuShares: '512', cpuWeight: '50' },
      'conflicting --cpu-shares "512" and --cpu-weight "50": both set the relative CPU weight; use only one',
    ],
    [{ cpusetCpus: '5' }, 'invalid --cpuset-cpus "5": CPU 5 is not online on this host; use CPUs from 0-1'],
    [
      { pidsLimit: '0' },
      'invalid --pids-limit "0": must not be 0; use a positive integer (e.g. 100), or -1 for unlimited',
    ],
    [{ pids: '-5' }, 'invalid --pids "-5": out of range; use a positive integer (e.g. 100), or -1 for unlimited'],
    [{ pids: 'ten' }, 'invalid --pids "ten": use a positive integer (e.g. 100), or -1 for unlimited'],
    [
      { pidsLimit: '10', pids: '20' },
      'conflicting --pids-limit "10" and --pids "20": they are the same flag; use only one',
    ],
  ])('rejects %o', (opts, message) => {
    expect(err(() => parseLimits(opts as Record<string, string>, host2)).message).toBe(message);
  });
});
