// Killed at the wrong moment (issue "Nothing lost, nothing reachable", item 3, and its fault test):
// launches and imports SIGKILLed from outside at a random point 0-300 ms, then one `minidock gc`.
// Nothing may be left — no mount, cgroup, container directory, scratch file or process — and
// every container that was already the user's (kept: it ran without --rm) must still be listed
// with its data. The random delays are printed, so a failure can be replayed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BIN,
  ROOTFS,
  canRun,
  cgroupParentFor,
  hostSnapshot,
  minidock,
  minidockCgroups,
  pidsMatching,
  removeStateRoot,
  skipReason,
  tempStateRoot,
  waitFor,
} from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/faults.test.ts: ${skipReason}`);

d('SIGKILL at a random point of a launch or an import, then one gc (real kernel)', () => {
  let root: string;
  let fx: string;
  let bigTar: string;
  const md = (args: string[]) => minidock(args, { root });
  const env = () => ({ ...process.env, MINIDOCK_ROOT: root, MINIDOCK_CGROUP_PARENT: cgroupParentFor(root) });
  const monitors = () => pidsMatching(join(root, 'containers'), 'minidock-monito');
  /** container cgroups (minidock-<id>) under this root's cgroup parent */
  const containerCgroups = () => minidockCgroups().filter((p) => p.includes(`/${cgroupParentFor(root)}/minidock-`));
  const tmpEntries = () => (existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : []);
  const layers = () => (existsSync(join(root, 'layers/sha256')) ? readdirSync(join(root, 'layers/sha256')) : []);

  /** Start minidock with args, SIGKILL it after `ms` (if still running); resolves with what it printed. */
  function killAfter(args: string[], ms: number): Promise<{ stdout: string; killed: boolean }> {
    const child = spawn(BIN, args, { env: env(), stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    return new Promise((res) =>
      child.on('close', (_code, sig) => {
        clearTimeout(t);
        res({ stdout, killed: sig === 'SIGKILL' });
      }),
    );
  }

  /** Let what is still legitimately running end (containers of `sleep 1`, their monitors), then gc once. */
  async function settleThenGc(marker: string): Promise<string> {
    await waitFor(
      () => pidsMatching(marker).length === 0 && monitors().length === 0,
      30_000,
      'the containers and monitors to end',
    );
    const gc = md(['gc']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stderr).toBe('');
    return gc.stdout;
  }

  beforeAll(() => {
    root = tempStateRoot();
    fx = join(root, '..', `${root.split('/').pop()}-fixtures`);
    mkdirSync(join(fx, 'tree'), { recursive: true });
    // An archive that takes a while to import (~1 s here): a rootfs tar with 48 MiB of data.
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < 48; i++) {
      chunk.fill(i);
      writeFileSync(join(fx, 'tree', `blob-${i}`), chunk);
    }
    bigTar = join(fx, 'big.tar');
    const t = spawnSync('tar', ['-cf', bigTar, '-C', join(fx, 'tree'), '.'], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
  });
  afterAll(() => {
    for (const p of monitors()) process.kill(p, 'SIGKILL'); // only after a failure
    const left = md(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    if (left.length) md(['rm', '-f', ...left]);
    removeStateRoot(root);
    rmSync(fx, { recursive: true, force: true });
  });

  it('run -d --rm killed 20 times and import killed 10 times mid-way: one gc removes every cgroup, directory and tmp/ entry at once', async () => {
    const before = hostSnapshot(root);
    const marker = 'fault-item3';
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      const ms = Math.floor(Math.random() * 300);
      delays.push(ms);
      await killAfter(['run', '-d', '--rm', ROOTFS, 'sh', '-c', 'sleep 1', marker], ms);
    }
    const importDelays: number[] = [];
    let killedMidImport = 0;
    for (let i = 0; i < 10; i++) {
      const ms = 100 + Math.floor(Math.random() * 200);
      importDelays.push(ms);
      if ((await killAfter(['import', '-q', bigTar, `big:${i}`], ms)).killed) killedMidImport++;
    }
    console.log(
      `run -d --rm killed after ${delays.join(', ')} ms; import after ${importDelays.join(', ')} ms (${killedMidImport} killed mid-way)`,
    );
    const out = await settleThenGc(marker);
    // no age is waited for: what a dead launcher or import left goes at once
    expect(containerCgroups()).toEqual([]);
    expect(hostSnapshot(root)).toEqual(before);
    expect(tmpEntries()).toEqual([]);
    // the layers of the imports that finished are their images'; an interrupted one left none
    const images = md(['images', '-q']).stdout.split('\n').filter(Boolean);
    expect(layers().length).toBe(images.length ? 1 : 0); // every image here has the same single layer
    if (killedMidImport) expect(out).not.toBe('nothing to collect\n');
    expect(md(['gc']).stdout).toBe('nothing to collect\n');
  }, 120_000);

  it('the fault test: 50 launches (foreground, -d, -d --rm, import) each SIGKILLed at 0-300 ms, then one gc: nothing left, every kept container listed with its data', async () => {
    const before = hostSnapshot(root);
    const marker = 'fault-mix';
    const kinds = ['fg', 'd', 'drm', 'import'] as const;
    const printed: string[] = []; // IDs run -d printed before it was killed: the user's
    const log: string[] = [];
    for (let i = 0; i < 50; i++) {
      const kind = kinds[i % kinds.length];
      const ms = Math.floor(Math.random() * 300);
      log.push(`${kind}@${ms}`);
      const cmd = [ROOTFS, 'sh', '-c', 'echo data > /kept; sleep 1', marker];
      const args =
        kind === 'fg'
          ? ['run', ...cmd]
          : kind === 'd'
            ? ['run', '-d', ...cmd]
            : kind === 'drm'
              ? ['run', '-d', '--rm', ...cmd]
              : ['import', '-q', bigTar, `mix:${i}`];
      const r = await killAfter(args, ms);
      if (kind === 'd' && /^[0-9a-f]{64}\n$/.test(r.stdout)) printed.push(r.stdout.trim());
    }
    console.log(`fault test: ${log.join(' ')}; run -d printed ${printed.length} IDs`);
    await settleThenGc(marker);

    // nothing left behind
    expect(containerCgroups()).toEqual([]);
    expect(hostSnapshot(root).mounts).toEqual(before.mounts);
    expect(hostSnapshot(root).cgroups).toEqual(before.cgroups);
    expect(tmpEntries()).toEqual([]);
    expect(readdirSync(join(root, 'containers')).filter((n) => n.startsWith('.'))).toEqual([]); // no staging directory
    expect(pidsMatching(marker)).toEqual([]);
    expect(monitors()).toEqual([]);
    // every container left is a kept one, listed, with its data; each ID run -d printed is among them
    const listed = md(['ps', '-a', '--format', 'json'])
      .stdout.split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    for (const id of printed) expect(listed.map((c) => c.ID)).toContain(id);
    for (const c of listed) {
      expect(['exited', 'dead'], c.ID).toContain(c.State);
      const dir = join(root, 'containers', c.ID);
      expect(readdirSync(dir), c.ID).toEqual(expect.arrayContaining(['config.json', 'state.json', 'upper']));
    }
    for (const id of printed) expect(existsSync(join(root, 'containers', id, 'upper', 'kept')), id).toBe(true); // it ran: its data is there
    expect(readdirSync(join(root, 'containers')).sort()).toEqual(listed.map((c) => c.ID).sort());
    expect(md(['gc']).stdout).toBe('nothing to collect\n');
    // and rm removes them, back to the host as it was
    if (listed.length) expect(md(['rm', ...listed.map((c) => c.ID)]).code).toBe(0);
    expect(hostSnapshot(root)).toEqual({ ...before, containers: [] });
  }, 150_000);
});
