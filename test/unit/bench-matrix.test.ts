// The engine × OCI runtime matrix of bench startup (issue 16), without running an engine: the
// flags parsed, the pairs expanded, each engine's command with each runtime, dockerd's runtimes, an
// unavailable half named in the pair's reason, and the summary's ratio, matrix table and chart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartSpecs } from '../../src/bench/charts';
import { dockerDaemonJson } from '../../src/bench/daemons';
import { pairMatrix, startupSummary } from '../../src/bench/experiments/startup';
import { makePeer, parseRuntimes } from '../../src/bench/peers/index';
import { MINIDOCK_OCI, parseOciRuntimes } from '../../src/bench/peers/oci-runtimes';
import {
  dockerRuntimes,
  EnginePairPeer,
  expandPairs,
  pairsFromFlags,
  parseEngines,
  podmanRunFlags,
  splitPair,
} from '../../src/bench/peers/pairs';
import type { BenchContext } from '../../src/bench/peers/types';
import { benchRuntimes } from '../../src/bench/run';
import type { ExperimentResult, Row } from '../../src/bench/types';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'minidock-bench-matrix-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ctx = (daemons: BenchContext['daemons'] = { containerd: '/c.sock', docker: '/d.sock', started: [] }) =>
  ({
    work,
    rootfs: join(work, 'rootfs'),
    rootfsTar: join(work, 'rootfs.tar'),
    ociTar: join(work, 'oci.tar'),
    image: 'mdbench-x',
    tag: 'mdbench-x',
    minidockRoot: join(work, 'md'),
    daemons,
  }) as BenchContext;

describe('the flags and the pairs', () => {
  it('--engines × --oci-runtimes: engine by engine, either alone meaning all of the other', () => {
    expect(parseEngines('podman, ctr,docker,podman')).toEqual(['podman', 'containerd', 'docker']);
    expect(parseEngines(undefined)).toEqual(['podman', 'docker', 'containerd']);
    expect(parseOciRuntimes('minidock-oci,runc')).toEqual(['minidock', 'runc']);
    expect(expandPairs(['podman', 'docker'], ['runc', 'minidock'])).toEqual([
      'podman+runc',
      'podman+minidock',
      'docker+runc',
      'docker+minidock',
    ]);
    expect(pairsFromFlags(undefined, undefined)).toEqual([]);
    expect(pairsFromFlags('containerd', undefined)).toEqual([
      'containerd+runc',
      'containerd+crun',
      'containerd+minidock',
    ]);
    expect(pairsFromFlags(undefined, 'crun')).toEqual(['podman+crun', 'docker+crun', 'containerd+crun']);
  });

  it('a bad name is one line naming it and the choices', () => {
    expect(() => parseEngines('podman,lxc')).toThrow('unknown engine "lxc": choose from podman, docker, containerd');
    expect(() => parseOciRuntimes('youki')).toThrow('unknown OCI runtime "youki": choose from runc, crun, minidock');
    expect(() => parseEngines(',')).toThrow('no engine in ","');
    expect(() => parseRuntimes('podman+youki')).toThrow(/unknown engine\+runtime pair "podman\+youki"/);
    expect(() => benchRuntimes('startup', { engines: 'lxc' })).toThrow('unknown engine "lxc"');
    expect(() => benchRuntimes('scale', { engines: 'podman' })).toThrow(
      '--engines and --oci-runtimes are for bench startup (the engine × runtime matrix)',
    );
  });

  it('a pair is a runtime name too: --runtimes docker+crun, and --runtimes beside the matrix', () => {
    expect(splitPair('docker+crun')).toEqual({ engine: 'docker', runtime: 'crun' });
    expect(splitPair('ctr+minidock')).toEqual({ engine: 'containerd', runtime: 'minidock' });
    expect(splitPair('docker+crun+runc')).toBeUndefined();
    expect(splitPair('runc')).toBeUndefined();
    expect(parseRuntimes('bare,ctr+runc,containerd+runc')).toEqual(['bare', 'containerd+runc']);
    expect(makePeer('podman+crun').name).toBe('podman+crun');
    expect(benchRuntimes('startup', { engines: 'podman', ociRuntimes: 'runc,crun' })).toEqual([
      'podman+runc',
      'podman+crun',
    ]);
    expect(benchRuntimes('startup', { runtimes: 'runc,podman+runc', engines: 'podman', ociRuntimes: 'runc' })).toEqual([
      'runc',
      'podman+runc',
    ]);
    // the cycle's runtimes are OCI runtimes, all three by default
    expect(benchRuntimes('cycle', {})).toEqual(['runc', 'crun', 'minidock']);
    expect(() => benchRuntimes('cycle', { runtimes: 'podman' })).toThrow('unknown OCI runtime "podman"');
  });
});

describe("each engine's command with each runtime", () => {
  const hybrid = () => true;
  const notHybrid = () => false;

  it('Podman: --runtime PATH in place of runc, the rest of its flags unchanged', () => {
    expect(podmanRunFlags('/x/crun-hybrid')).toEqual([
      '--network',
      'none',
      '--ulimit',
      'nofile=20000:20000',
      '--ulimit',
      'nproc=32768:32768',
      '--runtime',
      '/x/crun-hybrid',
    ]);
    const c = ctx();
    const crun = new EnginePairPeer('podman', 'crun', hybrid).run(c, 'id1', { cmd: ['echo', 'ok'] }).argv;
    expect(crun.slice(1)).toEqual([
      '--cgroup-manager',
      'cgroupfs',
      '--events-backend',
      'file',
      'run',
      '--rm',
      '--name',
      'id1',
      ...podmanRunFlags(join(work, 'crun-hybrid')),
      'localhost/mdbench-x',
      'echo',
      'ok',
    ]);
    const md = new EnginePairPeer('podman', 'minidock').run(c, 'id1', { cmd: ['true'] }).argv;
    expect(md[md.indexOf('--runtime') + 1]).toBe(MINIDOCK_OCI);
    // crun where the host is not hybrid: the binary itself, no wrapper
    const plain = new EnginePairPeer('podman', 'crun', notHybrid).run(c, 'i', { cmd: ['true'] }).argv;
    expect(plain[plain.indexOf('--runtime') + 1]).toMatch(/(^|\/)crun$/);
  });

  it('Docker: --runtime NAME on its socket; the dockerd the bench starts registers crun and minidock', () => {
    const c = ctx();
    expect(new EnginePairPeer('docker', 'minidock').run(c, 'i', { cmd: ['echo', 'ok'] }).argv.slice(1)).toEqual([
      '-H',
      'unix:///d.sock',
      'run',
      '--rm',
      '--name',
      'i',
      '--network',
      'none',
      '--runtime',
      'minidock',
      'mdbench-x',
      'echo',
      'ok',
    ]);
    const rts = dockerRuntimes(c, ['runc', 'crun', 'minidock']);
    expect(Object.keys(rts)).toEqual(['crun', 'minidock']); // runc is dockerd's own
    expect(rts.minidock).toBe(MINIDOCK_OCI);
    expect(JSON.parse(dockerDaemonJson({ minidock: '/m' }))).toEqual({ runtimes: { minidock: { path: '/m' } } });
    expect(dockerDaemonJson()).toBe('{}\n');
  });

  it("containerd: ctr run --runc-binary PATH, the shim's state in the bench's scratch directory", () => {
    const c = ctx();
    expect(new EnginePairPeer('containerd', 'crun', hybrid).run(c, 'c1', { cmd: ['echo', 'ok'] }).argv).toEqual([
      'ctr',
      '-a',
      '/c.sock',
      '-n',
      'mdbench-x',
      'run',
      '--rm',
      '--runc-binary',
      join(work, 'crun-hybrid'),
      '--runc-root',
      join(work, 'ctr-runc-root'),
      'docker.io/library/mdbench-x:latest',
      'c1',
      'echo',
      'ok',
    ]);
  });

  it('a pair whose engine is not running is unavailable, the engine named in the reason, with its fix', () => {
    const d = new EnginePairPeer('docker', 'runc').detect(ctx({ started: [] }));
    expect(d.available).toBe(false);
    expect(d.peer).toBe('docker+runc');
    expect(d.reason).toMatch(/^docker: /);
    expect(d.fix).toBeTruthy();
    const ctrd = new EnginePairPeer('containerd', 'minidock').detect(ctx({ started: [] }));
    expect(ctrd.reason).toMatch(/^containerd: /);
  });
});

describe("the matrix in startup's results", () => {
  const rows: Row[] = [];
  const add = (runtime: string, ms: number[]) => {
    for (const [i, v] of ms.entries()) rows.push({ runtime, rep: i, startup_ms: v, ok: true });
  };
  add('podman+runc', [200, 210, 220]);
  add('podman+crun', [180, 190, 200]);
  add('podman+minidock', [400, 410, 420]);
  add('docker+runc', [300, 310, 320]);
  add('docker+minidock', [600, 610, 620]);
  const order = ['podman+runc', 'podman+crun', 'podman+minidock', 'docker+runc', 'docker+minidock'];

  it("x_engine_runc: each pair's median over its engine's with runc", () => {
    const s = startupSummary(rows, order);
    expect(s.map((r) => [r.runtime, r.median_ms, r.x_engine_runc])).toEqual([
      ['podman+runc', 210, 1],
      ['podman+crun', 190, 190 / 210],
      ['podman+minidock', 410, 410 / 210],
      ['docker+runc', 310, 1],
      ['docker+minidock', 610, 610 / 310],
    ]);
  });

  it('the matrix table: an engine per row, a runtime per column, a missing pair empty', () => {
    const m = pairMatrix(startupSummary(rows, order));
    expect(m.columns).toEqual(['engine', 'runc_ms', 'crun_ms', 'minidock_ms', 'x_slowest_fastest']);
    expect(m.rows).toEqual([
      { engine: 'podman', runc_ms: 210, crun_ms: 190, minidock_ms: 410, x_slowest_fastest: 410 / 190 },
      { engine: 'docker', runc_ms: 310, crun_ms: undefined, minidock_ms: 610, x_slowest_fastest: 610 / 310 },
    ]);
    expect(pairMatrix(startupSummary([{ runtime: 'runc', startup_ms: 5, ok: true }], ['runc'])).rows).toEqual([]);
  });

  it('the grouped chart: bars per engine, one per runtime; slanted labels for the long pair names', () => {
    const e = { name: 'startup', rows, summary: startupSummary(rows, order) } as unknown as ExperimentResult;
    const specs = chartSpecs(e, order);
    expect(specs.map((s) => s.name)).toEqual(['startup', 'startup-matrix']);
    const m = specs[1].spec as { data: { values: Row[] }; encoding: Record<string, { field: string }> };
    expect(m.data.values[0]).toEqual({ engine: 'podman', runtime: 'runc', median_ms: 210 });
    expect([m.encoding.x.field, m.encoding.xOffset.field]).toEqual(['engine', 'runtime']);
    const box = specs[0].spec as { layer: Array<{ encoding: { x: { axis?: { labelAngle: number } } } }> };
    expect(box.layer[0].encoding.x.axis?.labelAngle).toBe(-30);
  });
});
