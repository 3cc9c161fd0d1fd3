// The Docker verbs a student types (issue 19), on the real kernel through the real CLI: pause and
// unpause (the freezer), top, rename, update (limits rewritten live), diff (the upper layer), version
// and info. Every test leaves mounts, cgroups and container directories as it found them.
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectCgroups } from '../../src/runtime/cgroups/index.js';
import { ROOT_DIR, ROOTFS, canRun, minidock, skipReason, sleep, useLeakCheckedRoot, waitFor } from '../helpers';

const PROBES = join(ROOT_DIR, 'native', 'build', 'probes');
const haveAlloc = existsSync(join(PROBES, 'alloc'));
const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/docker-verbs.test.ts: ${skipReason}`);
const mode = canRun ? detectCgroups().mode : 'none';

d('Docker verbs (real containers)', () => {
  let root = '';
  useLeakCheckedRoot((r) => (root = r));
  const md = (args: string[]) => minidock(args, { root });
  const runD = (args: string[]): string => {
    const r = md(['run', '-d', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout.trim();
  };
  const inspect = (ref: string) => JSON.parse(md(['inspect', ref]).stdout)[0];
  /** one line `minidock: ...` on stderr, nothing on stdout, this exit code */
  const refused = (args: string[], code: number, text: RegExp): void => {
    const r = md(args);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^minidock: [^\n]+\n$/);
    expect(r.stderr).toMatch(text);
  };
  /** the counter the container writes, read from the host through its upper layer (an exec would freeze too) */
  const counter = (id: string): number =>
    Number(readFileSync(join(root, 'containers', id, 'upper', 'tmp', 'n'), 'utf8').trim() || '0');
  const COUNT = 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done';
  /** what the kernel says of the container's freezer (v1 freezer.state, v2 cgroup.events) */
  const frozen = (id: string): boolean => {
    const paths: string[] = inspect(id).CgroupPaths;
    if (mode === 'v2') return /^frozen 1$/m.test(readFileSync(join(paths[0], 'cgroup.events'), 'utf8'));
    const dir = paths.find((p) => p.includes('/freezer/'));
    return !!dir && readFileSync(join(dir, 'freezer.state'), 'utf8').trim() === 'FROZEN';
  };

  it(`pause stops a counter and unpause resumes it; ps and inspect say "paused"; wrong states are refused (cgroup ${mode})`, async () => {
    const id = runD(['--name', 'counter', ROOTFS, 'sh', '-c', COUNT]);
    await waitFor(
      () => existsSync(join(root, 'containers', id, 'upper', 'tmp', 'n')) && counter(id) > 2,
      10_000,
      'the counter',
    );
    expect(md(['pause', 'counter'])).toMatchObject({ code: 0, stdout: 'counter\n', stderr: '' });
    expect(frozen(id)).toBe(true);
    const n1 = counter(id);
    await sleep(600); // 12 periods of the counter
    expect(counter(id)).toBe(n1);
    expect(md(['ps']).stdout).toMatch(/Up .* \(Paused\)/);
    expect(inspect('counter').State).toMatchObject({ Status: 'paused', Paused: true, Running: true });
    refused(['pause', 'counter'], 1, /already paused/);

    expect(md(['unpause', 'counter'])).toMatchObject({ code: 0, stdout: 'counter\n' });
    expect(frozen(id)).toBe(false);
    await waitFor(() => counter(id) > n1 + 2, 5_000, 'the counter to go on');
    expect(inspect('counter').State).toMatchObject({ Status: 'running', Paused: false });
    refused(['unpause', 'counter'], 1, /is not paused/);

    expect(md(['rm', '-f', 'counter']).code).toBe(0);
    refused(['pause', 'counter'], 1, /no such container: counter/);
  });

  it(`stop of a paused container kills it (SIGKILL, then thawed: on v1 a frozen task holds it pending) (cgroup ${mode})`, async () => {
    const id = runD([ROOTFS, 'sh', '-c', COUNT]);
    await waitFor(() => existsSync(join(root, 'containers', id, 'upper', 'tmp', 'n')), 10_000, 'the counter');
    expect(md(['pause', id]).code).toBe(0);
    const t0 = Date.now();
    expect(md(['stop', '-t', '1', id])).toMatchObject({ code: 0, stdout: `${id}\n` });
    expect(Date.now() - t0).toBeLessThan(8_000); // not the 10 s stop waits for an exit that cannot come
    expect(inspect(id).State).toMatchObject({ Status: 'exited', ExitCode: 137, Paused: false });
    refused(['pause', id], 1, /is not running/);
    refused(['unpause', id], 1, /is not running/);
    expect(md(['rm', id]).code).toBe(0);
  });

  it(`rm -f of a paused container removes it and its cgroups (cgroup ${mode})`, async () => {
    const id = runD([ROOTFS, 'sleep', '1000']);
    expect(md(['pause', id]).code).toBe(0);
    const t0 = Date.now();
    expect(md(['rm', '-f', id])).toMatchObject({ code: 0, stderr: '' });
    expect(Date.now() - t0).toBeLessThan(8_000);
  });

  it("top lists the container's processes with host and container PIDs side by side; ps options are ignored", () => {
    runD(['--name', 'tops', ROOTFS, 'sh', '-c', 'sleep 1000 & exec sleep 1001']);
    const hostPid = inspect('tops').State.Pid;
    let out = '';
    for (const args of [
      ['top', 'tops'],
      ['top', 'tops', '-eo', 'pid'],
    ]) {
      const r = md(args);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      out = r.stdout;
      expect(out.split('\n')[0]).toMatch(/^UID\s+PID\s+CONTAINER PID\s+PPID\s+TIME\s+CMD$/);
    }
    const rows = out
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s{2,}/));
    expect(rows).toHaveLength(2);
    const init = rows.find((r) => r[5] === 'sleep 1001')!;
    expect(init.slice(0, 3)).toEqual(['root', String(hostPid), '1']);
    const child = rows.find((r) => r[5] === 'sleep 1000')!;
    expect(Number(child[2])).toBeGreaterThan(1);
    expect(Number(child[1])).not.toBe(Number(child[2])); // another PID namespace: the host's pid differs
    expect(md(['rm', '-f', 'tops']).code).toBe(0);
    refused(['top', 'tops'], 1, /no such container/);
  });

  it('rename gives a container another name and frees the old one; taken or bad names are refused', () => {
    const id = runD(['--name', 'old', ROOTFS, 'sleep', '1000']);
    const other = runD(['--name', 'taken', ROOTFS, 'sleep', '1000']);
    expect(md(['rename', 'old', 'new'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(inspect('new').Id).toBe(id);
    expect(inspect('new').Name).toBe('/new');
    expect(md(['inspect', 'old'])).toMatchObject({
      code: 1,
      stderr: 'minidock: no such container: old (see minidock ps -a)\n',
    });
    expect(readlinkSync(join(root, 'names', 'new'))).toBe(id);
    expect(existsSync(join(root, 'names', 'old'))).toBe(false);
    refused(['rename', 'new', 'taken'], 125, /already in use/);
    refused(['rename', 'new', 'new'], 1, /already named new/);
    refused(['rename', 'new', 'a/b'], 125, /use letters, digits/);
    refused(['rename', 'nosuch', 'x'], 1, /no such container: nosuch/);
    // the old name is free again: another container may take it
    const third = runD(['--name', 'old', ROOTFS, 'true']);
    expect(md(['rm', '-f', id, other, third]).code).toBe(0);
  });

  it.skipIf(!haveAlloc)(
    `update -m lowers a running container's memory limit live: an allocation that fit is OOM-killed after (cgroup ${mode}; needs native/build/probes/alloc)`,
    () => {
      runD([
        '--name',
        'upd',
        '-m',
        '100M',
        '--memory-swap',
        '100M',
        '-v',
        `${PROBES}:/probes:ro`,
        ROOTFS,
        'sleep',
        '1000',
      ]);
      const fit = md(['exec', 'upd', '/probes/alloc', '50']);
      expect(fit.code).toBe(0);
      expect(fit.stdout).toMatch(/done 50 MiB/);
      expect(md(['update', '-m', '30M', '--memory-swap', '30M', '--pids-limit', '50', 'upd'])).toMatchObject({
        code: 0,
        stdout: 'upd\n',
        stderr: '',
      });
      const paths: string[] = inspect('upd').CgroupPaths;
      const memFile =
        mode === 'v2'
          ? join(paths[0], 'memory.max')
          : join(paths.find((p) => p.includes('/memory/'))!, 'memory.limit_in_bytes');
      expect(readFileSync(memFile, 'utf8').trim()).toBe(String(30 << 20));
      const pidsFile = join(mode === 'v2' ? paths[0] : paths.find((p) => p.includes('/pids/'))!, 'pids.max');
      expect(readFileSync(pidsFile, 'utf8').trim()).toBe('50');
      expect(inspect('upd').HostConfig.Limits).toMatchObject({ memory: 30 << 20, memorySwap: 30 << 20, pids: 50 });
      expect(md(['exec', 'upd', '/probes/alloc', '50']).code).toBe(137); // killed by the OOM killer: SIGKILL
      // raising it again (v1: memsw first, or the kernel refuses a memory limit above it)
      expect(md(['update', '-m', '200M', '--memory-swap', '200M', 'upd']).code).toBe(0);
      expect(readFileSync(memFile, 'utf8').trim()).toBe(String(200 << 20));
      refused(['update', 'upd'], 125, /needs at least one of/);
      refused(['update', '-m', '1x', 'upd'], 125, /invalid --memory "1x"/);
      refused(['update', '--cpus', '-1', 'upd'], 125, /--cpus/);
      refused(['update', '-m', '30M', 'nosuch'], 1, /no such container/);
      expect(md(['rm', '-f', 'upd']).code).toBe(0);
    },
  );

  it('diff lists exactly what a shell command added, changed and deleted, as Docker does', () => {
    expect(existsSync(join(ROOTFS, 'home', 'user'))).toBe(true); // what the opaque directory hides
    const r = md([
      'run',
      '--name',
      'df',
      ROOTFS,
      'sh',
      '-c',
      'mkdir -p /tmp/new/sub && echo hi > /tmp/new/sub/f && echo x >> /etc/passwd && rm /etc/group && rm -rf /home && mkdir /home && touch /home/me',
    ]);
    expect(r.code).toBe(0);
    expect(md(['diff', 'df'])).toMatchObject({
      code: 0,
      stderr: '',
      stdout: [
        'C /etc',
        'D /etc/group',
        'C /etc/passwd',
        'C /home',
        'A /home/me',
        'D /home/user',
        'C /tmp',
        'A /tmp/new',
        'A /tmp/new/sub',
        'A /tmp/new/sub/f',
        '',
      ].join('\n'),
    });
    expect(md(['rm', 'df']).code).toBe(0);
    refused(['diff', 'df'], 1, /no such container: df/);
  });

  it('version names this client, Node and the kernel; info counts running, paused and stopped containers', () => {
    const v = md(['version', '--format', 'json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      Version: JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')).version,
      NodeVersion: process.version,
      Kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
      CgroupMode: expect.stringMatching(new RegExp(`^${mode}`)),
    });
    const a = runD([ROOTFS, 'sleep', '1000']);
    const b = runD([ROOTFS, 'sleep', '1000']);
    expect(md(['pause', b]).code).toBe(0);
    expect(md(['run', '--name', 'ended', ROOTFS, 'true']).code).toBe(0);
    const info = md(['info', '--format', 'json']);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({
      Containers: 3,
      ContainersRunning: 1,
      ContainersPaused: 1,
      ContainersStopped: 1,
      StorageDriver: 'overlay',
      StateRoot: root,
    });
    expect(md(['info']).stdout).toMatch(/^Containers: 3\n Running: 1\n Paused: 1\n Stopped: 1\n/);
    refused(['info', '--format', 'yaml'], 125, /--format yaml/);
    expect(md(['rm', '-f', a, b, 'ended']).code).toBe(0);
  });
});
