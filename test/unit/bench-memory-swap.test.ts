// The limits scoreboard's memory case asks every runtime for no swap (memory-swap = memory): with
// -m alone Docker, Podman and minidock allow as much again in swap, and on a host with swap the
// workload would be swapped out instead of OOM-killed at the limit.
import { describe, expect, it } from 'vitest';
import { memoryCase } from '../../src/bench/experiments/limits.js';
import { engineLimitFlags } from '../../src/bench/peers/engines.js';
import { minidockLimitFlags } from '../../src/bench/peers/minidock.js';
import { ociResources } from '../../src/bench/peers/oci.js';

describe('memory case: swap off for every runtime', () => {
  const l = memoryCase(50).limits;
  it('asks for memory plus swap equal to memory', () => {
    expect(l).toEqual({ memoryBytes: 50 * 1048576, memorySwapBytes: 50 * 1048576 });
  });
  it('each runtime gets it through its own flag', () => {
    expect(minidockLimitFlags(l)).toEqual(['--memory', '52428800', '--memory-swap', '52428800']);
    expect(engineLimitFlags(l)).toEqual(['--memory', '50m', '--memory-swap', '50m']);
    expect(ociResources(l)).toMatchObject({ memory: { limit: 52428800, swap: 52428800 } });
  });
});
