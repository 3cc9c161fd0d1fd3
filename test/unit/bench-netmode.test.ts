// bench startup --network: the mode parsed, each runtime's command line in that mode (or why it has
// none), the rows' names when both modes are measured, and the bridge-minus-none table.
import { describe, expect, it } from 'vitest';
import {
  bridgeCost,
  bridgeUnavailable,
  minidockNetwork,
  modeName,
  networkLaunch,
  parseNetModes,
  swapNetwork,
} from '../../src/bench/experiments/netmode';
import { experimentOptions } from '../../src/bench/run';

describe('bench startup --network', () => {
  it('none by default; bridge; both (in that order whatever the order given); anything else one line', () => {
    expect(parseNetModes(undefined)).toEqual(['none']);
    expect(parseNetModes('bridge')).toEqual(['bridge']);
    expect(parseNetModes('bridge,none')).toEqual(['none', 'bridge']);
    expect(() => parseNetModes('host')).toThrow(/^--network host: expected none, bridge or none,bridge/);
    expect(() => parseNetModes('none,')).toThrow(/^--network none,: expected/);
    expect(() => experimentOptions('startup', { network: 'nat' }, ['minidock'])).toThrow(
      /^--network nat: expected none, bridge or none,bridge/,
    );
    expect(experimentOptions('startup', {}, ['minidock']).network).toEqual(['none']);
  });

  it('minidock gets --network MODE after run; Podman and Docker their --network none swapped', () => {
    const md = { argv: ['/x/bin/minidock.js', 'run', '--rm', '/r', 'echo', 'ok'] };
    expect(minidockNetwork(md.argv, 'bridge')).toEqual([
      '/x/bin/minidock.js',
      'run',
      '--network',
      'bridge',
      '--rm',
      '/r',
      'echo',
      'ok',
    ]);
    expect(networkLaunch({ name: 'minidock', kind: 'minidock' }, md, 'none')).toEqual({
      argv: ['/x/bin/minidock.js', 'run', '--network', 'none', '--rm', '/r', 'echo', 'ok'],
    });
    // a build without the flag (minidock@DIR from before networking): none is its only mode
    expect(networkLaunch({ name: 'minidock@/old', kind: 'minidock' }, md, 'none', false)).toBe(md);
    expect(networkLaunch({ name: 'minidock@/old', kind: 'minidock' }, md, 'bridge', false)).toBe(
      'this minidock build has no --network flag',
    );
    const podman = { argv: ['podman', 'run', '--rm', '--network', 'none', '--runtime', 'runc', 'img', 'echo'] };
    expect(networkLaunch({ name: 'podman', kind: 'engine' }, podman, 'none')).toBe(podman);
    expect((networkLaunch({ name: 'podman', kind: 'engine' }, podman, 'bridge') as { argv: string[] }).argv).toEqual([
      'podman',
      'run',
      '--rm',
      '--network',
      'bridge',
      '--runtime',
      'runc',
      'img',
      'echo',
    ]);
    expect(swapNetwork(['docker', 'run', 'img'], 'bridge')).toBeUndefined();
    expect(networkLaunch({ name: 'docker', kind: 'engine' }, { argv: ['docker', 'run'] }, 'bridge')).toBe(
      'no --network in its command line to set to bridge',
    );
  });

  it('runc, crun, ctr, containerd pairs and rootless minidock have no bridge; bare stays the baseline', () => {
    expect(bridgeUnavailable('runc', 'runtime', 'none')).toBeUndefined();
    expect(bridgeUnavailable('runc', 'runtime', 'bridge')).toMatch(/^runc has no bridge: an OCI runtime only/);
    expect(bridgeUnavailable('crun', 'runtime', 'bridge')).toMatch(/^crun has no bridge/);
    expect(bridgeUnavailable('ctr', 'engine', 'bridge')).toMatch(/^ctr run has no bridge/);
    expect(bridgeUnavailable('containerd+crun', 'engine', 'bridge')).toMatch(/^ctr run has no bridge/);
    expect(bridgeUnavailable('minidock-rootless', 'minidock', 'bridge')).toMatch(/CAP_NET_ADMIN/);
    expect(bridgeUnavailable('bare', 'baseline', 'bridge')).toBeUndefined();
    expect(bridgeUnavailable('podman+crun', 'engine', 'bridge')).toBeUndefined();
    const bare = { argv: ['/r/bin/echo', 'ok'] };
    expect(networkLaunch({ name: 'bare', kind: 'baseline' }, bare, 'bridge')).toBe(bare);
  });

  it('both modes: the bridge rows named "X (bridge)", and what the bridge adds per runtime', () => {
    expect(modeName('minidock', 'bridge', ['none', 'bridge'])).toBe('minidock (bridge)');
    expect(modeName('minidock', 'none', ['none', 'bridge'])).toBe('minidock');
    expect(modeName('minidock', 'bridge', ['bridge'])).toBe('minidock');
    const cost = bridgeCost([
      { runtime: 'bare', median_ms: 2 },
      { runtime: 'minidock', median_ms: 150 },
      { runtime: 'minidock (bridge)', median_ms: 153.5 },
      { runtime: 'podman', median_ms: 120 },
      { runtime: 'podman (bridge)', median_ms: 280 },
    ]);
    expect(cost.columns).toEqual([
      'runtime',
      'none_ms',
      'bridge_ms',
      'bridge_minus_none_ms',
      'paired_median_ms',
      'pairs',
    ]);
    expect(cost.rows).toEqual([
      { runtime: 'minidock', none_ms: 150, bridge_ms: 153.5, bridge_minus_none_ms: 3.5, pairs: 0 },
      { runtime: 'podman', none_ms: 120, bridge_ms: 280, bridge_minus_none_ms: 160, pairs: 0 },
    ]);
    // repetition by repetition: bridge − none of each pair (a failed launch pairs with nothing)
    const row = (runtime: string, rep: number, ms: number | undefined) => ({
      runtime,
      rep,
      startup_ms: ms,
      ok: ms !== undefined,
    });
    const paired = bridgeCost(
      [
        { runtime: 'minidock', median_ms: 150 },
        { runtime: 'minidock (bridge)', median_ms: 160 },
      ],
      [
        row('minidock', 0, 100),
        row('minidock (bridge)', 0, 104),
        row('minidock', 1, 300),
        row('minidock (bridge)', 1, 302),
        row('minidock', 2, 150),
        row('minidock (bridge)', 2, 160),
        row('minidock', 3, 150),
        row('minidock (bridge)', 3, undefined),
      ],
    );
    expect(paired.rows[0]).toMatchObject({ paired_median_ms: 4, pairs: 3 });
  });
});
