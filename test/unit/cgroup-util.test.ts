// The decisions both cgroup drivers share (cgroups/util.ts): which controllers a set of limits needs,
// and which --memory-swap values a kernel without swap accounting can still honour.
import { describe, expect, it } from 'vitest';
import { checkSwapWithoutAccounting, neededControllers } from '../../src/runtime/cgroups/util';

const MiB = 1048576;

describe('neededControllers', () => {
  it('needs nothing without limits', () => {
    expect([...neededControllers({})]).toEqual([]);
  });

  it.each([
    [{ memory: 50 * MiB }, ['memory']],
    [{ memorySwap: -1 }, ['memory']],
    [{ memoryReservation: 10 * MiB }, ['memory']],
    [{ cpuQuotaUs: 50_000, cpuPeriodUs: 100_000 }, ['cpu']],
    [{ cpuShares: 512 }, ['cpu']],
    [{ cpuWeight: 50 }, ['cpu']],
    [{ pids: 10 }, ['pids']],
    [{ cpusetCpus: '0' }, ['cpuset']],
    [{ memory: MiB, pids: 5, cpusetCpus: '0-1', cpuQuotaUs: 1000 }, ['cpu', 'cpuset', 'memory', 'pids']],
  ])('%j needs %j', (limits, want) => {
    expect([...neededControllers(limits)].sort()).toEqual(want);
  });
});

describe('checkSwapWithoutAccounting', () => {
  const file = '/sys/fs/cgroup/memory/minidock/x/memory.memsw.limit_in_bytes';
  it('accepts what needs no swap file: none given, -1, or equal to --memory', () => {
    expect(() => checkSwapWithoutAccounting({ memory: 50 * MiB }, file)).not.toThrow();
    expect(() => checkSwapWithoutAccounting({ memory: 50 * MiB, memorySwap: -1 }, file)).not.toThrow();
    expect(() => checkSwapWithoutAccounting({ memory: 50 * MiB, memorySwap: 50 * MiB }, file)).not.toThrow();
  });

  it('refuses any other value in one line naming the file and the fixes', () => {
    expect(() => checkSwapWithoutAccounting({ memory: 50 * MiB, memorySwap: 100 * MiB }, file)).toThrow(
      `cannot apply --memory-swap 104857600: ${file} does not exist (ENOENT) because swap accounting is off in this kernel; boot with swapaccount=1, or use --memory-swap -1 or equal to --memory`,
    );
  });
});
