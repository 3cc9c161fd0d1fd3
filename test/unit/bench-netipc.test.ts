// bench network and bench ipc, the pure parts: the probes' lines parsed, the summaries (medians, the
// loopback ceiling, the native baseline), the Docker-like command lines and the container address.
import { describe, expect, it } from 'vitest';
import { containerIp, runArgv, withoutNetwork } from '../../src/bench/experiments/dockerlike';
import { ipcSummary, parseIpcbench } from '../../src/bench/experiments/ipc';
import { networkSummary, parseNetbench } from '../../src/bench/experiments/network';
import { PODMAN_RUN } from '../../src/bench/peers/engines';
import { benchRuntimes, DEFAULT_REPS } from '../../src/bench/run';

describe('bench network', () => {
  it('"netbench bytes=N ns=T" is MB/s of 10^6 bytes; anything else is no measurement', () => {
    expect(parseNetbench('netbench bytes=1073741824 ns=500000000\n')).toEqual({
      bytes: 1073741824,
      seconds: 0.5,
      mbPerS: 2147.483648,
    });
    expect(parseNetbench('netbench send: connect 10.0.0.2:5201: Connection refused')).toBeUndefined();
    expect(parseNetbench('netbench bytes=10 ns=0')).toBeUndefined();
  });

  it('median per runtime and path, as a fraction of the loopback median; failed transfers left out', () => {
    const rows = [
      { runtime: 'bare', path: 'loopback', rep: 0, mb_per_s: 3000, ok: true },
      { runtime: 'bare', path: 'loopback', rep: 1, mb_per_s: 1000, ok: true },
      { runtime: 'minidock', path: 'published', rep: 0, mb_per_s: 1000, ok: true },
      { runtime: 'minidock', path: 'published', rep: 1, mb_per_s: undefined, ok: false },
      { runtime: 'minidock', path: 'bridge', rep: 0, mb_per_s: 500, ok: true },
      { runtime: 'podman', path: 'bridge', rep: 0, mb_per_s: undefined, ok: false },
    ];
    expect(networkSummary(rows)).toEqual([
      expect.objectContaining({ runtime: 'bare', path: 'loopback', n: 2, median_mb_s: 2000, of_loopback: 1 }),
      expect.objectContaining({ runtime: 'minidock', path: 'published', n: 1, median_mb_s: 1000, of_loopback: 0.5 }),
      expect.objectContaining({ runtime: 'minidock', path: 'bridge', n: 1, median_mb_s: 500, of_loopback: 0.25 }),
    ]);
    expect(networkSummary(rows.slice(2))[0].of_loopback).toBeUndefined();
  });

  it('bare, minidock, Podman and Docker by default; --runtimes as given', () => {
    expect(benchRuntimes('network', {})).toEqual(['bare', 'minidock', 'podman', 'docker']);
    expect(benchRuntimes('ipc', { runtimes: 'minidock' })).toEqual(['minidock']);
    expect(DEFAULT_REPS.network).toEqual({ reps: 5, quick: 2 });
  });
});

describe('bench ipc', () => {
  it('one line per transport: the mean round trip in µs, MB/s of the 1 MiB requests', () => {
    const out = [
      'ipcbench transport=shm rounds=20000 rtt_ns=1500 bytes=268435456 ns=100000000',
      'ipcbench transport=unix rounds=20000 rtt_ns=30000 bytes=268435456 ns=50000000',
    ].join('\n');
    expect(parseIpcbench(out)).toEqual([
      { transport: 'shm', rttUs: 1.5, mbPerS: expect.closeTo(2684.35456, 6) },
      { transport: 'unix', rttUs: 30, mbPerS: expect.closeTo(5368.70912, 6) },
    ]);
    expect(parseIpcbench('ipcbench client: no server')).toEqual([]);
  });

  it('medians per runtime, setup and transport, beside native with the same transport', () => {
    const r = (runtime: string, setup: string, transport: string, rtt: number, mb: number) => ({
      runtime,
      setup,
      transport,
      rtt_us: rtt,
      mb_per_s: mb,
      ok: true,
    });
    const s = ipcSummary([
      r('bare', 'native', 'shm', 2, 4000),
      r('bare', 'native', 'unix', 20, 5000),
      r('minidock', 'shared-shm', 'shm', 4, 2000),
      r('minidock', 'shared-shm', 'shm', 6, 2000),
      r('minidock', 'bind-mount', 'unix', 40, 5000),
      { runtime: 'minidock', setup: 'bind-mount', rep: 1, ok: false },
    ]);
    expect(s.map((x) => [x.runtime, x.setup, x.transport, x.n, x.rtt_median_us])).toEqual([
      ['bare', 'native', 'shm', 1, 2],
      ['bare', 'native', 'unix', 1, 20],
      ['minidock', 'shared-shm', 'shm', 2, 5],
      ['minidock', 'bind-mount', 'unix', 1, 40],
    ]);
    expect(s[2]).toMatchObject({ round_trips_per_s: 200000, x_native_rtt: 2.5, of_native_mb_s: 0.5 });
    expect(s[3]).toMatchObject({ x_native_rtt: 2, of_native_mb_s: 1 });
  });
});

describe('the Docker-like command lines', () => {
  const podman = {
    name: 'podman',
    base: ['podman', '--cgroup-manager', 'cgroupfs'],
    runFlags: withoutNetwork(PODMAN_RUN),
    image: 'localhost/img',
    rm: ['rm', '-f', '-t', '0'],
  };
  it('Podman keeps its runtime and ulimits, not its --network none; -d --name or --rm', () => {
    expect(podman.runFlags).not.toContain('--network');
    expect(podman.runFlags).toContain('--runtime');
    expect(
      runArgv(podman, { detach: 'x1', flags: ['--ipc', 'shareable'], cmd: ['/bin/ipcbench', 'serve', '/dev/shm'] }),
    ).toEqual([
      'podman',
      '--cgroup-manager',
      'cgroupfs',
      'run',
      '-d',
      '--name',
      'x1',
      ...podman.runFlags,
      '--ipc',
      'shareable',
      'localhost/img',
      '/bin/ipcbench',
      'serve',
      '/dev/shm',
    ]);
    expect(runArgv(podman, { flags: [], cmd: ['true'] }).slice(3, 5)).toEqual(['run', '--rm']);
  });

  it("a container's address from inspect: minidock's object, Docker's and Podman's arrays, a network's", () => {
    expect(containerIp(JSON.stringify({ NetworkSettings: { IPAddress: '10.87.0.2' } }))).toBe('10.87.0.2');
    expect(containerIp(JSON.stringify([{ NetworkSettings: { IPAddress: '172.17.0.2' } }]))).toBe('172.17.0.2');
    expect(
      containerIp(
        JSON.stringify([{ NetworkSettings: { IPAddress: '', Networks: { podman: { IPAddress: '10.88.0.5' } } } }]),
      ),
    ).toBe('10.88.0.5');
    expect(containerIp('[]')).toBeUndefined();
    expect(containerIp('not json')).toBeUndefined();
  });
});
