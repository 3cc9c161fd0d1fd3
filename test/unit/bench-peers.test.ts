// Each adapter's command construction, without running anything.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BarePeer, barePath } from '../../src/bench/peers/bare';
import { CtrPeer, DockerPeer, PodmanPeer, engineLimitFlags } from '../../src/bench/peers/engines';
import { MinidockPeer, minidockLimitFlags, parseStatsLine } from '../../src/bench/peers/minidock';
import { ociConfig, ociResources } from '../../src/bench/peers/oci';
import { CRUN_HYBRID_WRAPPER, OciRuntimePeer } from '../../src/bench/peers/runc';
import { bytesFlag, type BenchContext } from '../../src/bench/peers/types';
import { makePeer, parseRuntimes, ALL_PEERS } from '../../src/bench/peers/index';
import { ociLayout } from '../../src/bench/context';
import { MINIDOCK_BIN } from '../../src/bench/proc';

function ctx(work: string): BenchContext {
  return {
    work,
    rootfs: join(work, 'rootfs'),
    rootfsTar: join(work, 'rootfs.tar'),
    ociTar: join(work, 'oci.tar'),
    image: 'mdbench-x',
    tag: 'mdbench-x',
    minidockRoot: join(work, 'md'),
    daemons: { containerd: '/run/c.sock', docker: '/run/d.sock', started: [] },
  };
}

const limits = { memoryBytes: 50 * 1048576, cpus: 0.5, pids: 10 };

describe('bench adapters build the same workload for every runtime', () => {
  it("maps one set of limits to each runtime's flags", () => {
    expect(bytesFlag(50 * 1048576)).toBe('50m');
    expect(bytesFlag(1024 * 1048576)).toBe('1g');
    expect(bytesFlag(1000)).toBe('1000');
    expect(engineLimitFlags(limits)).toEqual(['--memory', '50m', '--cpus', '0.5', '--pids-limit', '10']);
    expect(minidockLimitFlags(limits)).toEqual(['--memory', '52428800', '--cpus', '0.5', '--pids-limit', '10']);
    expect(ociResources(limits)).toEqual({
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 52428800 },
      cpu: { quota: 50000, period: 100000 },
      pids: { limit: 10 },
    });
    expect(new CtrPeer().limitFlags(limits)).toEqual([
      '--memory-limit',
      '52428800',
      '--cpu-quota',
      '50000',
      '--cpu-period',
      '100000',
    ]);
  });

  it('bare runs the rootfs busybox on the host', () => {
    const c = ctx('/w');
    expect(barePath('/w/rootfs')).toBe('/w/rootfs/bin:/w/rootfs/sbin:/w/rootfs/usr/bin:/w/rootfs/usr/sbin');
    const l = new BarePeer().run(c, '', { cmd: ['/bin/firstinsn'] });
    expect(l.argv).toEqual(['/w/rootfs/bin/firstinsn']);
    expect(new BarePeer().run(c, '', { cmd: ['echo', 'ok'] }).env?.PATH).toBe(barePath('/w/rootfs'));
  });

  it('minidock: run --rm, -d --name, exec, rm -f, with its own state root and cgroup parent', () => {
    const c = ctx('/w');
    const p = new MinidockPeer();
    const l = p.run(c, 'id1', { cmd: ['echo', 'ok'], limits });
    expect(l.argv).toEqual([
      MINIDOCK_BIN,
      'run',
      '--rm',
      '--memory',
      '52428800',
      '--cpus',
      '0.5',
      '--pids-limit',
      '10',
      '/w/rootfs',
      'echo',
      'ok',
    ]);
    expect(l.env).toMatchObject({ MINIDOCK_ROOT: '/w/md', MINIDOCK_CGROUP_PARENT: 'mdbench-x' });
    expect(p.runKeep(c, 'id1', { cmd: ['true'] }).argv.slice(1, 4)).toEqual(['run', '--rm', '--stats=json']);
    expect(p.start(c, 'id2', { cmd: ['sleep', '9'] }).argv).toEqual([
      MINIDOCK_BIN,
      'run',
      '-d',
      '--name',
      'id2',
      '/w/rootfs',
      'sleep',
      '9',
    ]);
    expect(p.exec(c, 'id2', ['true']).argv).toEqual([MINIDOCK_BIN, 'exec', 'id2', 'true']);
    expect(p.remove(c, ['a', 'b'])[0].argv).toEqual([MINIDOCK_BIN, 'rm', '-f', 'a', 'b']);
  });

  it('minidock --stats=json line is parsed into the engine report', () => {
    const stderr =
      'minidock: out of memory inside the container: the kernel killed "tail"\n{"exitCode":0,"oomKilled":false,"memoryPeakBytes":52428800,"oomKills":1}\n';
    expect(parseStatsLine(stderr)).toMatchObject({ oomKills: 1 });
    const r = new MinidockPeer().report(ctx('/w'), '', { stdout: '', stderr, code: 0 });
    expect(r).toMatchObject({ exitCode: 0, oomKilled: false, memoryPeakBytes: 52428800, oomKills: 1 });
    expect(r.message).toMatch(/^out of memory inside the container/);
  });

  it('runc: a bundle per container, a private --root, run/-d/exec/delete -f', () => {
    const work = mkdtempSync(join(tmpdir(), 'bench-peers-'));
    try {
      const c = ctx(work);
      const p = new OciRuntimePeer('runc', () => false);
      const l = p.run(c, 'c1', { cmd: ['echo', 'ok'], limits });
      expect(l.argv).toEqual([
        'runc',
        '--root',
        join(work, 'runc-state'),
        'run',
        '--bundle',
        join(work, 'bundles', 'c1'),
        'c1',
      ]);
      const cfg = JSON.parse(readFileSync(join(work, 'bundles', 'c1', 'config.json'), 'utf8'));
      expect(cfg.ociVersion).toBe('1.0.2'); // Debian's crun 1.8.1 rejects newer
      expect(cfg.process.args).toEqual(['echo', 'ok']);
      expect(cfg.root.path).toBe(c.rootfs);
      expect(cfg.linux.cgroupsPath).toBe('/mdbench-x/c1');
      expect(cfg.linux.resources.pids).toEqual({ limit: 10 });
      l.cleanup!();
      expect(existsSync(join(work, 'bundles', 'c1'))).toBe(false);
      expect(p.start(c, 'c2', { cmd: ['sleep', '1'] }).argv).toContain('-d');
      expect(p.exec(c, 'c2', ['true']).argv).toEqual([
        'runc',
        '--root',
        join(work, 'runc-state'),
        'exec',
        'c2',
        'true',
      ]);
      expect(p.remove(c, ['c2']).map((x) => x.argv.slice(3))).toEqual([['delete', '-f', 'c2']]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('crun on a hybrid host goes through the private-mount-namespace wrapper', () => {
    const c = ctx('/w');
    const p = new OciRuntimePeer('crun', () => true);
    const d = p.detect(c);
    if (!d.available) {
      expect(d.reason).toMatch(/crun/);
      expect(d.fix).toBe('apt-get install -y crun');
      return;
    }
    expect(p.binary).toBe('/w/crun-hybrid');
    expect(d.notes.join(' ')).toMatch(/private mount namespace/);
    expect(p.exec(c, 'x', ['true']).argv[0]).toBe('/w/crun-hybrid');
    expect(CRUN_HYBRID_WRAPPER).toContain('umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"');
  });

  it('Podman: cgroupfs, file events, pinned ulimits, runc, no network; rm -f -t 0', () => {
    const c = ctx('/w');
    const p = new PodmanPeer();
    expect(p.run(c, 'x', { cmd: ['echo', 'ok'] }).argv).toEqual([
      'podman',
      '--cgroup-manager',
      'cgroupfs',
      '--events-backend',
      'file',
      'run',
      '--rm',
      '--network',
      'none',
      '--ulimit',
      'nofile=20000:20000',
      '--ulimit',
      'nproc=32768:32768',
      '--runtime',
      'runc',
      'localhost/mdbench-x',
      'echo',
      'ok',
    ]);
    expect(p.runKeep(c, 'x', { cmd: ['true'], limits }).argv).toEqual(
      expect.arrayContaining(['--name', 'x', '--memory', '50m', '--pids-limit', '10']),
    );
    expect(p.remove(c, ['a', 'b'])[0].argv.slice(-6)).toEqual(['rm', '-f', '-t', '0', 'a', 'b']);
  });

  it('Docker: the daemon socket, --network none, rm -f', () => {
    const c = ctx('/w');
    const p = new DockerPeer();
    expect(p.run(c, 'x', { cmd: ['echo', 'ok'] }).argv).toEqual([
      'docker',
      '-H',
      'unix:///run/d.sock',
      'run',
      '--rm',
      '--network',
      'none',
      'mdbench-x',
      'echo',
      'ok',
    ]);
    expect(p.start(c, 'y', { cmd: ['sleep', '1'] }).argv).toEqual([
      'docker',
      '-H',
      'unix:///run/d.sock',
      'run',
      '-d',
      '--name',
      'y',
      '--network',
      'none',
      'mdbench-x',
      'sleep',
      '1',
    ]);
    expect(p.remove(c, ['y'])[0].argv).toEqual(['docker', '-H', 'unix:///run/d.sock', 'rm', '-f', 'y']);
  });

  it('ctr: namespace per run, image from the OCI layout, task exec/kill/delete', () => {
    const c = ctx('/w');
    const p = new CtrPeer();
    expect(p.run(c, 'x', { cmd: ['echo', 'ok'] }).argv).toEqual([
      'ctr',
      '-a',
      '/run/c.sock',
      '-n',
      'mdbench-x',
      'run',
      '--rm',
      'docker.io/library/mdbench-x:latest',
      'x',
      'echo',
      'ok',
    ]);
    expect(p.exec(c, 'x', ['true']).argv.slice(5, 8)).toEqual(['task', 'exec', '--exec-id']);
    expect(p.remove(c, ['x']).map((l) => l.argv.slice(5).join(' '))).toEqual([
      'task kill -s SIGKILL x',
      'task delete -f x',
      'container delete x',
    ]);
  });

  it('an engine whose daemon is not running is a skip with reason and fix', () => {
    const c = { ...ctx('/w'), daemons: { started: [] } };
    for (const p of [new DockerPeer(), new CtrPeer()]) {
      const d = p.detect(c);
      expect(d.available).toBe(false);
      expect(d.reason).toMatch(/not (running|installed)/);
      expect(d.fix).toMatch(/--start-daemons|apt-get install/);
    }
  });

  it('a peer that is not installed is a skip with the apt-get command', () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const d = new PodmanPeer().detect(ctx('/w'));
      expect(d).toMatchObject({ peer: 'podman', available: false, reason: 'podman is not installed' });
      expect(d.fix).toMatch(/^apt-get install -y podman/);
      const r = new OciRuntimePeer('runc').detect(ctx('/w'));
      expect(r).toMatchObject({ available: false, fix: 'apt-get install -y runc' });
    } finally {
      process.env.PATH = saved;
    }
  });

  it('runtime lists', () => {
    expect(parseRuntimes(undefined)).toEqual([...ALL_PEERS]);
    expect(parseRuntimes('runc, containerd,runc')).toEqual(['runc', 'ctr']);
    expect(() => parseRuntimes('lxc')).toThrow(/unknown runtime "lxc"/);
  });

  it('minidock@DIR: the minidock built in another checkout, measured beside this one', () => {
    const here = resolve(__dirname, '../..'); // this checkout has bin/minidock.js
    expect(parseRuntimes(`minidock,minidock@${here}/test/..`)).toEqual(['minidock', `minidock@${here}`]);
    expect(() => parseRuntimes('minidock@/nonexistent')).toThrow(/\/nonexistent has no bin\/minidock\.js/);
    const peer = makePeer(`minidock@${here}`) as MinidockPeer;
    expect(peer.name).toBe(`minidock@${here}`);
    expect(peer.bin).toBe(join(here, 'bin', 'minidock.js'));
    expect((makePeer('minidock') as MinidockPeer).name).toBe('minidock');
  });

  it('OCI image layout: content-addressed blobs, index names the image', () => {
    const files = ociLayout(Buffer.from('layer'), 'docker.io/library/x:latest');
    const index = JSON.parse(String(files.get('index.json')));
    expect(index.manifests[0].annotations['io.containerd.image.name']).toBe('docker.io/library/x:latest');
    const mdigest = index.manifests[0].digest.slice(7);
    const manifest = JSON.parse(String(files.get(`blobs/sha256/${mdigest}`)));
    // sha256("layer")
    expect(manifest.layers[0].digest).toBe('sha256:dac1d7cfa95021764849fd102524e141488c5e3a90f861dbb5a12d9ac8584f85');
    expect(files.has(`blobs/sha256/${manifest.layers[0].digest.slice(7)}`)).toBe(true);
    expect(files.get('oci-layout')).toBe('{"imageLayoutVersion":"1.0.0"}');
  });

  it('OCI config: runc spec defaults, private /tmp, cgroup mount for in-container reads', () => {
    const cfg = ociConfig({ rootfs: '/r', cmd: ['true'], cgroupsPath: '/t/x' }) as {
      mounts: Array<{ destination: string }>;
      linux: { namespaces: Array<{ type: string }> };
    };
    expect(cfg.mounts.map((m) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/shm',
      '/dev/mqueue',
      '/sys',
      '/sys/fs/cgroup',
      '/tmp',
    ]);
    expect(cfg.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
  });
});
