// parseLimits' order of effects, which a saved config and --dry-run show: the keys of the Limits it
// returns come in one fixed order, unset flags leave no key (not even an undefined one), and when
// several flags are wrong the one reported is the first in that order.
import { describe, expect, it } from 'vitest';
import { type HostInfo, parseLimits } from '../../src/runtime/limits.js';

const host: HostInfo = { onlineCpus: [0, 1] };
const error = (opts: Record<string, string | undefined>): string => {
  try {
    parseLimits(opts, host);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('parseLimits: keys and the first error, in a fixed order', () => {
  it('every flag: memory, swap, reservation, CPU quota, weight, cpuset, pids', () => {
    const all = parseLimits(
      {
        pids: '10',
        cpusetCpus: '0',
        cpuShares: '512',
        cpus: '0.5',
        memoryReservation: '20M',
        memorySwap: '100M',
        memory: '50M',
      },
      host,
    );
    expect(Object.keys(all)).toEqual([
      'memory',
      'memorySwap',
      'memoryReservation',
      'cpuQuotaUs',
      'cpuPeriodUs',
      'cpuShares',
      'cpusetCpus',
      'pids',
    ]);
    expect(JSON.stringify(parseLimits({ cpu: '25', cpuWeight: '200', memory: '50M' }, host))).toBe(
      '{"memory":52428800,"memorySwap":104857600,"memorySwapDefault":true,"cpuQuotaUs":25000,"cpuPeriodUs":100000,"cpuWeight":200}',
    );
  });

  it('no flag, no key', () => {
    expect(Object.keys(parseLimits({ memory: undefined, cpus: '', pids: undefined }, host))).toEqual([]);
    expect(Object.keys(parseLimits({ memorySwap: undefined, memory: '10M' }, host))).toEqual([
      'memory',
      'memorySwap',
      'memorySwapDefault',
    ]);
  });

  it('several bad flags: memory is reported before the CPU quota, the quota before the weight, the weight before pids', () => {
    const bad = { memory: '1k', cpus: '99', cpuShares: '1', pids: '0' };
    expect(error(bad)).toMatch(/^invalid --memory "1k"/);
    expect(error({ ...bad, memory: undefined })).toMatch(/^invalid --cpus "99"/);
    expect(error({ ...bad, memory: undefined, cpus: undefined })).toMatch(/^invalid --cpu-shares "1"/);
    expect(error({ pids: '0', cpusetCpus: '7' })).toMatch(/^invalid --cpuset-cpus "7"/);
    expect(error({ pids: '0' })).toBe(
      'invalid --pids "0": must not be 0; use a positive integer (e.g. 100), or -1 for unlimited',
    );
    expect(error({ memorySwap: '1M', memoryReservation: '0' })).toMatch(
      /^invalid --memory-swap "1M": .*needs --memory/,
    );
    expect(error({ memory: '50M', memorySwap: '10M', memoryReservation: '60M' })).toMatch(
      /^invalid --memory-swap "10M": smaller than --memory 50M/,
    );
    expect(error({ memory: '50M', memoryReservation: '60M' })).toMatch(/^invalid --memory-reservation "60M": larger/);
    expect(error({ pidsLimit: '5', pids: '6' })).toBe(
      'conflicting --pids-limit "5" and --pids "6": they are the same flag; use only one',
    );
  });
});
