// `minidock run` against the real kernel, as root. Every test compares the host before and after:
// no mount, cgroup or state directory may be left behind.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  canRun,
  codeCaches,
  cgroupParentFor,
  minidock,
  minidockAsync,
  onTerminal,
  pidsMatching,
  ROOTFS,
  skipReason,
  useLeakCheckedRoot,
  waitFor,
} from '../helpers';

const d = canRun ? describe : describe.skip;

/** Run node as nobody (uid and gid 65534, no supplementary groups). */
const asNobody = (args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args], {
    encoding: 'utf8',
    cwd,
    env,
  });
const nobodyCanRunNode = canRun && asNobody(['-e', '0'], '/').status === 0;

/**
 * minidock's bin/ and dist/ copied where nobody can read them, with an empty rootfs: whatever
 * directory this checkout lives in (mkdtemp makes 0700 directories, hence the chmod).
 */
function nobodyInstall(): { dir: string; bin: string; rootfs: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'minidock-nobody-'));
  chmodSync(dir, 0o755);
  for (const f of ['bin', 'dist', 'package.json']) cpSync(join(BIN, '..', '..', f), join(dir, f), { recursive: true });
  mkdirSync(join(dir, 'rootfs', 'bin'), { recursive: true, mode: 0o755 });
  const bin = join(dir, 'bin', 'minidock.js');
  if (asNobody(['-e', `require('fs').accessSync(${JSON.stringify(bin)}, 4)`], '/').status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${tmpdir()} is not reachable by nobody: set TMPDIR to a directory others can read`);
  }
  return { dir, bin, rootfs: join(dir, 'rootfs'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
if (!canRun) console.warn(`SKIPPED test/integration/run.test.ts: ${skipReason}`);

d('minidock run (real containers)', () => {
  let root: string;
  const run = (args: string[], extra: Parameters<typeof minidock>[1] = {}) =>
    minidock(['run', '--rm', ...args], { root, ...extra });

  useLeakCheckedRoot((r) => (root = r)); // private state root + leak check around each test

  it('runs the command as PID 1 in new namespaces', () => {
    const r = run([
      ROOTFS,
      '/bin/sh',
      '-c',
      'echo pid=$$; readlink /proc/self/ns/pid; readlink /proc/1/ns/uts; ps | wc -l',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('pid=1');
    // different namespaces than the host's
    expect(lines[1]).toMatch(/^pid:\[\d+\]$/);
    const hostPidNs = execFileSync('readlink', ['/proc/self/ns/pid'], { encoding: 'utf8' }).trim();
    expect(lines[1]).not.toBe(hostPidNs);
    // ps sees only the container: header + sh + ps + wc
    expect(Number(lines[3])).toBeLessThanOrEqual(4);
  });

  it('exit codes survive the quick exit, and the code cache is written by a launch, not by --help', () => {
    // bin/minidock.js saves the V8 code cache in an 'exit' listener; exitProcess (src/sys/native.ts)
    // ends the process with _exit() after running those listeners itself
    const cache = join(BIN, '..', '..', 'dist', 'verbs', 'run.cjs.cache');
    rmSync(cache, { force: true });
    expect(minidock(['run', '--help'], { root }).code).toBe(0);
    expect(existsSync(cache)).toBe(false); // a cache made here would lack every launch function
    expect(run([ROOTFS, 'sh', '-c', 'exit 7']).code).toBe(7);
    expect(existsSync(cache)).toBe(false); // nor one made by a failed command
    expect(run([ROOTFS, 'true']).code).toBe(0);
    expect(statSync(cache).size).toBeGreaterThan(10_000);
    expect(run([ROOTFS, 'sh', '-c', 'kill -TERM $$; exit 3']).code).toBe(3); // PID 1 ignores it
  });

  it("--dry-run and -d make the run bundle's side cache; the first launch in the foreground makes its cache", async () => {
    // bin/minidock.js: a cache holds the functions its run compiled, so a side path of the bundle
    // (src/sys/code-cache.ts) must not make the cache every later launch reads
    const { main, side, made } = codeCaches(join(BIN, '..', '..', 'dist', 'verbs'), 'run.cjs');
    writeFileSync(main, 'a cache V8 rejects (made by another Node)');
    expect(run(['--dry-run', ROOTFS, 'true']).code).toBe(0);
    expect(made()).toEqual([false, true]); // the rejected one removed, so that the side cache is read
    rmSync(side);
    const d = run(['-d', ROOTFS, 'true']);
    expect(d.code, d.stderr).toBe(0);
    expect(made()).toEqual([false, true]);
    const sideSize = statSync(side).size;
    expect(run(['--dry-run', ROOTFS, 'true']).code).toBe(0);
    expect(statSync(side).size).toBe(sideSize); // a side path never rewrites a cache it could read
    expect(run([ROOTFS, 'true']).code).toBe(0);
    // made from the side cache (its functions and this launch's), which it replaces
    expect(made()).toEqual([true, false]);
    expect(statSync(main).size).toBeGreaterThan(sideSize);
    const mtime = statSync(main).mtimeMs;
    expect(run(['--dry-run', ROOTFS, 'true']).code).toBe(0);
    expect(run([ROOTFS, 'true']).code).toBe(0);
    expect([...made(), statSync(main).mtimeMs]).toEqual([true, false, mtime]);
    // (-d --rm: the monitor removes the container once `true` has exited)
    await waitFor(() => readdirSync(join(root, 'containers')).length === 0, 10_000, 'the -d --rm container to go');
  });

  it("the shebang's V8 flag is bin/minidock.js's OWN_FLAGS; other flags get a cache file of their own", () => {
    const bin = readFileSync(BIN, 'utf8');
    const shebang = bin
      .split('\n')[0]
      .replace(/^#!.* node /, '')
      .split(' ')
      .filter((a) => a !== '--');
    expect(shebang).toEqual(JSON.parse(/const OWN_FLAGS = (\[.*\]);/.exec(bin)![1].replace(/'/g, '"')));
    expect(readFileSync(join(BIN, '..', 'minidock-oci.js'), 'utf8').split('\n')[0]).toBe(bin.split('\n')[0]);
    // `node bin/minidock.js` (no flags): V8 would reject the shebang's cache, so it has its own file
    const verbs = join(BIN, '..', '..', 'dist', 'verbs');
    const own = join(verbs, 'run.cjs.cache');
    const tagged = () => readdirSync(verbs).filter((f) => /^run\.cjs\.[0-9a-f]+\.cache$/.test(f));
    for (const f of tagged()) rmSync(join(verbs, f));
    expect(run([ROOTFS, 'true']).code).toBe(0);
    const mtime = statSync(own).mtimeMs;
    const r = spawnSync(process.execPath, [BIN, 'run', '--rm', ROOTFS, 'true'], {
      env: { ...process.env, MINIDOCK_ROOT: root },
    });
    expect(r.status).toBe(0);
    expect(tagged().length).toBe(1);
    expect(statSync(own).mtimeMs).toBe(mtime); // not rewritten under the other flags
  });

  it('reads dist/more/ only when a flag needs it, and gives each of its files a code cache', () => {
    // scripts/bundle.mjs keeps the code only some launches run (here --tmpfs: mount-flags.ts) out of
    // run.cjs; bin/minidock.js reads dist/more/GROUP.cjs on first import and caches its compiled code, per verb
    const more = join(BIN, '..', '..', 'dist', 'more');
    const cache = join(more, 'mount-flags.cjs.run.cache');
    rmSync(cache, { force: true });
    expect(existsSync(join(more, 'mount-flags.cjs'))).toBe(true);
    expect(readFileSync(join(BIN, '..', '..', 'dist', 'verbs', 'run.cjs'), 'utf8')).not.toContain('tmpfsMode');
    expect(run([ROOTFS, 'true']).code).toBe(0);
    expect(existsSync(cache)).toBe(false); // a plain launch never loaded it
    // --network none is the default spelled out (bench startup passes it): no network code either
    const net = codeCaches(more, 'network.cjs.run');
    expect(run(['--network', 'none', ROOTFS, 'true']).code).toBe(0);
    expect(net.made()).toEqual([false, false]);
    expect(
      run([
        '--network',
        'none',
        '--dns',
        '10.0.0.1',
        ROOTFS,
        'grep',
        '-c',
        '10.0.0.1',
        '/etc/resolv.conf',
      ]).stdout.trim(),
    ).toBe('1');
    // (what the check above would have seen; a side path of the network code: only a bridge launch
    // makes network.cjs's main cache, src/sys/code-cache.ts)
    expect(net.made()).toEqual([false, true]);
    const r = run(['--tmpfs', '/scratch:size=1m', ROOTFS, 'sh', '-c', 'grep -c " /scratch tmpfs" /proc/mounts']);
    expect(r.stdout.trim()).toBe('1');
    expect(statSync(cache).size).toBeGreaterThan(1000);
  });

  const strace = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p));
  it.skipIf(!strace)(
    `flushes a kept container's records to disk (fdatasync), and a --rm container's not${strace ? '' : ' — SKIPPED: needs strace'}`,
    () => {
      // writeJsonAtomic (container-store/records.ts): a --rm container is removed at its exit, so its
      // state.json need not survive a crash of the machine; a kept one's must
      const syncs = (args: string[]): number => {
        const log = join(root, `strace-${args.length}.txt`);
        const r = spawnSync(
          strace!,
          ['-f', '-e', 'trace=fdatasync', '-o', log, process.execPath, BIN, 'run', ...args],
          {
            env: { ...process.env, MINIDOCK_ROOT: root },
            encoding: 'utf8',
          },
        );
        expect(r.status).toBe(0);
        return (readFileSync(log, 'utf8').match(/fdatasync\(/g) ?? []).length;
      };
      expect(syncs(['--rm', ROOTFS, 'true'])).toBe(0);
      expect(syncs(['--name', 'kept-sync', ROOTFS, 'true'])).toBeGreaterThanOrEqual(3); // created, running, exited
      expect(minidock(['rm', 'kept-sync'], { root }).code).toBe(0);
    },
  );

  it('isolates the hostname (default: the short id; --hostname sets it)', () => {
    const r1 = run([ROOTFS, 'hostname']);
    expect(r1.code).toBe(0);
    expect(r1.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
    const r2 = run(['--hostname', 'box', ROOTFS, 'sh', '-c', 'hostname; echo $HOSTNAME']);
    expect(r2.stdout).toBe('box\nbox\n');
    expect(hostname()).not.toBe('box');
  });

  it('has only an up loopback in its network namespace', () => {
    const r = run([
      ROOTFS,
      'sh',
      '-c',
      "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; ip -o link | cut -d: -f2,3; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok",
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('lo');
    expect(lines[1]).toMatch(/^ lo: <LOOPBACK,UP/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('ping-ok');
  });

  it('has its own mount table: overlay root, proc, ro sysfs, a minimal /dev', () => {
    const r = run([ROOTFS, 'sh', '-c', 'cat /proc/self/mounts; echo "DEV: $(ls /dev | tr "\\n" " ")"']);
    expect(r.code).toBe(0);
    const mounts = r.stdout
      .split('\n')
      .filter((l) => /^\S+ \/\S* /.test(l))
      .map((l) => l.split(' '));
    const at = (p: string) => mounts.find((m) => m[1] === p);
    expect(at('/')?.[2]).toBe('overlay');
    expect(at('/proc')?.[2]).toBe('proc');
    expect(at('/sys')?.[3]).toMatch(/^ro,/);
    expect(at('/dev')?.[2]).toBe('tmpfs');
    expect(at('/dev/pts')?.[2]).toBe('devpts');
    // none of the host's own mounts is visible
    expect(mounts.find((m) => m[1].startsWith('/work') || m[1].startsWith('/var/lib'))).toBeUndefined();
    const devs = r.stdout
      .split('\n')
      .find((l) => l.startsWith('DEV: '))!
      .slice(5)
      .trim()
      .split(' ')
      .sort();
    expect(devs).toEqual([
      'fd',
      'full',
      'mqueue',
      'null',
      'ptmx',
      'pts',
      'random',
      'shm',
      'stderr',
      'stdin',
      'stdout',
      'tty',
      'urandom',
      'zero',
    ]);
  });

  it('never writes into ROOTFS (writes go to the overlay upper layer)', () => {
    const beforeHost = readFileSync(join(ROOTFS, 'etc/hostname'), 'utf8');
    const r = run([
      ROOTFS,
      'sh',
      '-c',
      'echo changed > /etc/hostname && touch /newfile && rm /bin/ls && cat /etc/hostname && ls /newfile',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('changed\n/newfile\n');
    expect(readFileSync(join(ROOTFS, 'etc/hostname'), 'utf8')).toBe(beforeHost);
    expect(existsSync(join(ROOTFS, 'newfile'))).toBe(false);
    expect(existsSync(join(ROOTFS, 'bin/ls'))).toBe(true);
  });

  it('bind-mounts volumes read-write and read-only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'minidock-vol-'));
    writeFileSync(join(dir, 'in.txt'), 'from host\n');
    try {
      const rw = run([
        '-v',
        `${dir}:/data`,
        ROOTFS,
        'sh',
        '-c',
        'cat /data/in.txt; echo from container > /data/out.txt',
      ]);
      expect(rw.code).toBe(0);
      expect(rw.stdout).toBe('from host\n');
      expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('from container\n');
      const ro = run(['-v', `${dir}:/data:ro`, ROOTFS, 'sh', '-c', 'cat /data/in.txt; echo x > /data/out2.txt']);
      expect(ro.code).not.toBe(0);
      expect(ro.stdout).toBe('from host\n');
      expect(ro.stderr).toMatch(/Read-only file system/);
      expect(existsSync(join(dir, 'out2.txt'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes env (-e, --env-file), workdir (-w) and user (-u)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'minidock-env-'));
    writeFileSync(join(dir, 'env'), '# comment\nFROM_FILE=yes\n\nB=from-file\n');
    try {
      const r = run([
        '-e',
        'A=1',
        '-e',
        'B=two words',
        '--env-file',
        join(dir, 'env'),
        '-w',
        '/tmp',
        ROOTFS,
        'sh',
        '-c',
        'echo "$A|$B|$FROM_FILE|$HOME"; pwd',
      ]);
      expect(r.code).toBe(0);
      // -e wins over --env-file (Docker's order)
      expect(r.stdout).toBe('1|two words|yes|/root\n/tmp\n');
      const u = run(['-u', '1000:100', ROOTFS, 'sh', '-c', 'id -u; id -g; echo $HOME; grep CapEff /proc/self/status']);
      expect(u.stdout.split('\n').slice(0, 3)).toEqual(['1000', '100', '/home/user']);
      expect(u.stdout).toMatch(/CapEff:\s+0000000000000000/);
      const named = run(['-u', 'nobody', ROOTFS, 'id']);
      expect(named.stdout.trim()).toBe('uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits like Docker: status, 126, 127, 128+signal', () => {
    expect(run([ROOTFS, 'true']).code).toBe(0);
    expect(run([ROOTFS, 'sh', '-c', 'exit 7']).code).toBe(7);
    const notExec = run([ROOTFS, '/etc/passwd']);
    expect(notExec.code).toBe(126);
    expect(notExec.stderr).toMatch(/^minidock: exec "\/etc\/passwd": permission denied \(EACCES\)/);
    const missing = run([ROOTFS, 'no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/^minidock: exec "no-such-command": executable file not found .*ENOENT/);
    // PID 1 is immune even to SIGKILL sent from inside its own namespace (the kernel protects a
    // namespace's init): `kill -9 $$` does nothing. 128+N is tested with signals from the host below.
    expect(run([ROOTFS, 'sh', '-c', 'kill -9 $$; echo survived']).stdout).toBe('survived\n');
  });

  it('delivers stdout and stderr intact, also 10 MB of output', () => {
    const r = run([ROOTFS, 'sh', '-c', 'head -c 10485760 /dev/zero | tr "\\0" "x"; echo err >&2']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(10 * 1024 * 1024);
    expect(createHash('sha256').update(r.stdout).digest('hex')).toBe(
      createHash('sha256')
        .update('x'.repeat(10 * 1024 * 1024))
        .digest('hex'),
    );
    expect(r.stderr).toBe('err\n');
  });

  it('reads stdin with -i, and gives /dev/null without it', () => {
    const withI = run(['-i', ROOTFS, 'sh', '-c', 'cat; echo done'], { input: 'hello from a pipe\n' });
    expect(withI.stdout).toBe('hello from a pipe\ndone\n');
    const without = run([ROOTFS, 'sh', '-c', 'cat; echo done'], { input: 'ignored\n' });
    expect(without.stdout).toBe('done\n');
  });

  it('gives a real pty with -t (through util-linux script)', async () => {
    const cmd = `MINIDOCK_ROOT=${root} MINIDOCK_CGROUP_PARENT=${cgroupParentFor(root)} ${BIN} run --rm -t ${ROOTFS} sh -c 'tty; stty size; echo $TERM; echo end'`;
    const r = await onTerminal(cmd);
    expect(r.code).toBe(0);
    const out = r.out.replace(/\r/g, '').trim().split('\n');
    expect(out).toEqual(['/dev/pts/0', expect.stringMatching(/^\d+ \d+$/), 'xterm', 'end']);
  });

  it('-t: ^C typed on the terminal reaches the container as SIGINT (raw mode relay)', async () => {
    const cmd = `MINIDOCK_ROOT=${root} MINIDOCK_CGROUP_PARENT=${cgroupParentFor(root)} ${BIN} run --rm -t ${ROOTFS} sh -c 'trap "echo got-INT; exit 5" INT; echo ready; sleep 20'`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    await waitFor(() => out.includes('ready'), 15_000, 'container start');
    child.stdin.write('\x03'); // ^C, as a keyboard sends it
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(out).toMatch(/got-INT/);
    expect(code).toBe(5);
  });

  it('forwards SIGTERM to the container, and SIGKILLs after --stop-timeout', async () => {
    const marker = `${Date.now() % 100000}`;
    const a = minidockAsync(
      [
        'run',
        '--rm',
        ROOTFS,
        'sh',
        '-c',
        `trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.${marker.slice(0, 2)}1; done`,
      ],
      { root },
    );
    await waitFor(() => a.output().includes('ready'), 10_000, 'container start');
    a.child.kill('SIGTERM');
    const r = await a.done;
    expect(r.stdout).toBe('ready\ngot TERM\n');
    expect(r.code).toBe(3);

    // PID 1 without a handler ignores SIGTERM: after the grace period it is killed
    const b = minidockAsync(['run', '--rm', '--stop-timeout', '1', ROOTFS, 'sh', '-c', 'echo ready; exec sleep 3600'], {
      root,
    });
    await waitFor(() => b.output().includes('ready'), 10_000, 'container start');
    const t0 = Date.now();
    b.child.kill('SIGTERM');
    const rb = await b.done;
    expect(rb.code).toBe(137);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  it('leaves nothing when the container is SIGKILLed from the host', async () => {
    const a = minidockAsync(['run', '--rm', ROOTFS, 'sh', '-c', 'echo ready; exec sleep 3601'], { root });
    await waitFor(() => a.output().includes('ready'), 10_000, 'container start');
    const pids = await waitFor(() => pidsMatching('sleep 3601', 'sleep'), 5000, 'container pid');
    process.kill(pids[0], 'SIGKILL');
    const r = await a.done;
    expect(r.code).toBe(137);
    expect(pidsMatching('sleep 3601', 'sleep')).toEqual([]);
  });

  // PR_SET_PDEATHSIG is cleared by the kernel when the credentials change (setresuid to 1000): the
  // child must arm it again after its identity steps, or the container outlives a killed minidock.
  for (const user of ['0', '1000:1000']) {
    it(`SIGKILL of the foreground minidock kills the container too (-u ${user})`, async () => {
      const marker = `sleep 36${user.length}2`;
      const a = minidockAsync(['run', '--rm', '-u', user, ROOTFS, 'sh', '-c', `echo ready; exec ${marker}`], { root });
      try {
        await waitFor(() => a.output().includes('ready'), 10_000, 'container start');
        const [pid] = await waitFor(() => pidsMatching(marker, 'sleep'), 5000, 'container pid');
        expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(
          new RegExp(`^Uid:\\s+${user.split(':')[0]}\\s`, 'm'),
        );
        a.child.kill('SIGKILL'); // the launcher itself: no cleanup code of it runs
        expect((await a.done).signal).toBe('SIGKILL');
        await waitFor(
          () => pidsMatching(marker, 'sleep').length === 0,
          3000,
          `the -u ${user} container to die with its launcher`,
        );
      } finally {
        for (const p of pidsMatching(marker, 'sleep')) process.kill(p, 'SIGKILL');
        await waitFor(() => pidsMatching(marker, 'sleep').length === 0, 5000, 'the container to be gone');
        // the launcher died before its cleanup: gc removes its cgroup and directory (--rm)
        expect(minidock(['gc'], { root }).code).toBe(0);
      }
    });
  }

  it('rejects bad input with exit 125 and one clear line', () => {
    const file = join(tmpdir(), `minidock-notadir-${process.pid}`);
    writeFileSync(file, '');
    try {
      const cases: Array<[string[], RegExp]> = [
        [['/nonexistent-rootfs', 'true'], /^minidock: rootfs \/nonexistent-rootfs: no such directory/],
        [[file, 'true'], /^minidock: rootfs .*: not a directory/],
        [[ROOTFS], /^minidock: no command given/],
        [['--no-such-flag', ROOTFS, 'true'], /^minidock: unknown option '--no-such-flag'/],
        [['-e', '=x', ROOTFS, 'true'], /^minidock: -e "=x": the variable name/],
        // (a bare word is a volume name, as in Docker: a path that is not absolute is neither)
        [
          ['-v', './relative:/data', ROOTFS, 'true'],
          /^minidock: -v \.\/relative:\/data: "\.\/relative" is not a valid volume name/,
        ],
        [
          ['-v', '/no/such/dir:/data', ROOTFS, 'true'],
          /^minidock: -v \/no\/such\/dir:\/data: host path \/no\/such\/dir does not exist/,
        ],
        [['-w', 'relative', ROOTFS, 'true'], /^minidock: -w relative: the working directory must be an absolute path/],
        [['-w', '/no/such/dir', ROOTFS, 'true'], /^minidock: chdir\(\/no\/such\/dir\): ENOENT/],
        [['-u', 'ghost', ROOTFS, 'true'], /^minidock: -u ghost: no user "ghost"/],
        [['--hostname', 'bad_name!', ROOTFS, 'true'], /^minidock: --hostname bad_name!:/],
        [['--trace=xml', ROOTFS, 'true'], /^minidock: --trace=xml: use --trace/],
      ];
      for (const [args, re] of cases) {
        const r = run(args);
        expect(r.code, args.join(' ')).toBe(125);
        expect(r.stderr, args.join(' ')).toMatch(re);
        expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      }
    } finally {
      rmSync(file, { force: true });
    }
  });

  it.skipIf(!nobodyCanRunNode)(
    `without root (rootless) and no state root it can make: one line, exit 125${nobodyCanRunNode ? '' : ' — SKIPPED: setpriv or a node that nobody can execute is missing'}`,
    () => {
      // (a normal user's launch is rootless: test/integration/userns.test.ts; nobody's HOME does not exist)
      // What is tested is minidock's own check, so it runs as nobody from a copy nobody can read: a
      // checkout under a 0700 directory (mktemp -d) is unreadable to nobody, and node would fail with
      // its own error before minidock runs. The copy holds bin/ and dist/ only (no node_modules, no
      // native library): the check comes before anything else is loaded.
      const inst = nobodyInstall();
      try {
        const env = { ...process.env, HOME: '/nonexistent', XDG_RUNTIME_DIR: '', MINIDOCK_ROOT: '' };
        const r = asNobody([inst.bin, 'run', inst.rootfs, 'true'], inst.dir, env);
        expect(r.stderr).toMatch(
          /^minidock: cannot create the state root \/nonexistent\/\.local\/share\/minidock: .* — choose another state root \(--root DIR or MINIDOCK_ROOT; .*\)\n$/,
        );
        expect(r.status).toBe(125);
        // the checkout itself, when nobody can read it (said in the output: which case ran)
        const inPlace = asNobody(['-e', `require('fs').accessSync(${JSON.stringify(BIN)}, 4)`], inst.dir).status === 0;
        console.log(
          `refuses to run without root: checked from a copy; the checkout ${inPlace ? 'too' : 'is not readable by nobody, so not in place'}`,
        );
        if (inPlace) {
          const r2 = asNobody([BIN, 'run', inst.rootfs, 'true'], inst.dir, env);
          expect([r2.status, r2.stderr]).toEqual([125, r.stderr]);
        }
      } finally {
        inst.cleanup();
      }
    },
  );

  // --dry-run and the launch come from one decision (planLaunch + the cgroup driver in dry mode)
  const cgroupMode = readFileSync('/proc/self/mountinfo', 'utf8').includes(' - cgroup cgroup ') ? 'v1' : 'v2';
  // the container's id, and its short form (the cgroup's name, the hostname)
  const norm = (s: string): string =>
    s.replace(/[0-9a-f]{64}/g, 'ID').replace(/(?<![0-9a-f])[0-9a-f]{12}(?![0-9a-f])/g, 'SHORT');
  const parseDryRun = (out: string): { calls: string[]; writes: string[] } => ({
    calls: out
      .split('\n')
      .map((l) => /^\s*\d+ {2}\S+\s+(.*)$/.exec(l)?.[1])
      .filter((c): c is string => !!c)
      .map(norm),
    writes: out
      .split('\n')
      .map((l) => /^ {4}(echo .*)$/.exec(l)?.[1])
      .filter((c): c is string => !!c)
      .map(norm),
  });

  it(`--dry-run prints the steps and cgroup writes that the launch makes (--trace) — cgroup ${cgroupMode} here`, () => {
    const opts = ['-m', '50M', '--pids-limit', '20', '-u', '1000'];
    const dry = minidock(['run', '--dry-run', ...opts, ROOTFS, 'true'], { root });
    expect(dry.code, dry.stderr).toBe(0);
    const real = minidock(['run', '--rm', '--trace=json', ...opts, ROOTFS, 'true'], { root });
    expect(real.code, real.stderr).toBe(0);
    const trace = JSON.parse(real.stderr.trim().split('\n').pop()!) as {
      steps: Array<{ call: string }>;
      cgroup: { mode: string; writes: Array<{ file: string; value: string }> };
    };
    const planned = parseDryRun(dry.stdout);
    expect(planned.calls).toEqual(trace.steps.map((s) => norm(s.call)));
    expect(planned.writes).toEqual(trace.cgroup.writes.map((w) => norm(`echo ${JSON.stringify(w.value)} > ${w.file}`)));
    expect(trace.cgroup.mode).toBe(cgroupMode);
    expect(dry.stdout).toContain(`cgroup ${cgroupMode}`);
    // -m 50M and --pids-limit 20 are in the writes
    expect(planned.writes.some((w) => /^echo "52428800" > .*\/memory\.(limit_in_bytes|max)$/.test(w))).toBe(true);
    expect(planned.writes.some((w) => /^echo "20" > .*\/pids\.max$/.test(w))).toBe(true);
    if (cgroupMode === 'v1') {
      // the child joins itself through tasks and waits for nothing: no SYNC step
      expect(planned.calls.filter((c) => /\/tasks", "0"\)$/.test(c)).length).toBeGreaterThan(0);
      expect(planned.calls.some((c) => c.startsWith('read(sync_pipe)'))).toBe(false);
    } else {
      expect(planned.calls.some((c) => c.startsWith('read(sync_pipe)'))).toBe(true);
      expect(dry.stdout).toMatch(/echo PID > .*\/cgroup\.procs/);
    }
    // a dry run creates nothing: no container directory, no cgroup (the leak check after each test
    // would see one) — and none of its state in the root
    expect(existsSync(join(root, 'containers')) ? readdirSync(join(root, 'containers')) : []).toEqual([]);
  });

  it.skipIf(!nobodyCanRunNode)(
    `--dry-run as a non-root user prints the plan a root launch makes${nobodyCanRunNode ? '' : ' — SKIPPED: setpriv or a node that nobody can execute is missing'}`,
    () => {
      const inst = nobodyInstall();
      try {
        const state = join(inst.dir, 'state'); // does not exist, and nobody could not create it
        const args = ['run', '--root', state, '--dry-run', '-m', '50M', inst.rootfs, 'true'];
        // the same cgroup parent as minidock() gives the root run below (this file's test parent)
        const mine = asNobody([inst.bin, ...args], inst.dir, {
          ...process.env,
          MINIDOCK_CGROUP_PARENT: cgroupParentFor(root),
        });
        expect(mine.stderr).toBe('');
        expect(mine.status).toBe(0);
        const roots = minidock(args, { root });
        expect(roots.code, roots.stderr).toBe(0);
        expect(norm(mine.stdout)).toBe(norm(roots.stdout));
        expect(parseDryRun(mine.stdout).writes.some((w) => w.startsWith('echo "52428800"'))).toBe(true);
        expect(existsSync(state)).toBe(false);
      } finally {
        inst.cleanup();
      }
    },
  );

  it('runs containers in parallel without collisions', async () => {
    const runs = Array.from({ length: 4 }, (_, i) =>
      minidockAsync(['run', '--rm', ROOTFS, 'sh', '-c', `echo ${i} > /id; sleep 0.3; cat /id; hostname`], { root }),
    );
    const results = await Promise.all(runs.map((r) => r.done));
    results.forEach((r, i) => {
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(String(i));
    });
    expect(new Set(results.map((r) => r.stdout.split('\n')[1])).size).toBe(4);
  });

  it('--read-only makes / read-only but keeps /dev/shm and volumes writable', () => {
    const r = run(['--read-only', ROOTFS, 'sh', '-c', 'touch /x 2>&1; touch /dev/shm/ok && echo shm-ok']);
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).toMatch(/shm-ok/);
  });

  it('--trace prints every step with its duration; --trace=json for machines', () => {
    const t = run(['--trace', ROOTFS, 'true']);
    expect(t.code).toBe(0);
    expect(t.stderr).toMatch(/pivot_root\("\.", "\."\)/);
    expect(t.stderr).toMatch(/execve\("true"/);
    // cgroup v1: the child joins its own cgroups by writing "0" to each hierarchy's tasks file
    expect(t.stderr).toMatch(/write\("\/sys\/fs\/cgroup\/memory\/.*\/tasks", "0"\)|cgroup join/);
    const j = run(['--trace=json', ROOTFS, 'true']);
    const trace = JSON.parse(j.stderr);
    const calls = trace.steps.map((s: { call: string }) => s.call);
    expect(calls.find((c: string) => c.startsWith('mount('))).toBe('mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)');
    expect(calls.some((c: string) => c.startsWith('pivot_root'))).toBe(true);
    for (const s of trace.steps) expect(s.took).toBeGreaterThanOrEqual(0);
    // child steps happen after the clone mark and in order
    const ats = trace.steps.map((s: { at: number }) => s.at);
    expect([...ats].sort((a: number, b: number) => a - b)).toEqual(ats);
  });

  it('a failing step names the syscall, path and errno, and leaves nothing', () => {
    const r = run(['--trace', '-w', '/etc/passwd', ROOTFS, 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/chdir\("\/etc\/passwd"\) = -1 ENOTDIR/);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^minidock: chdir\(\/etc\/passwd\): ENOTDIR/);
  });

  it('accepts a rootfs that lives on tmpfs or on overlayfs', () => {
    const base = mkdtempSync(join(tmpdir(), 'minidock-fs-'));
    const t = join(base, 'tmpfs');
    const lower = join(base, 'lower');
    const ovl = join(base, 'ovl');
    mkdirSync(t);
    mkdirSync(lower);
    mkdirSync(ovl);
    for (const p of ['upper', 'work']) mkdirSync(join(base, p));
    try {
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', t]);
      execFileSync('cp', ['-a', `${ROOTFS}/.`, t]);
      const r1 = run([t, 'sh', '-c', 'echo on-tmpfs']);
      expect(r1.stdout).toBe('on-tmpfs\n');
      execFileSync('mount', [
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${ROOTFS},upperdir=${join(base, 'upper')},workdir=${join(base, 'work')}`,
        ovl,
      ]);
      const r2 = run([ovl, 'sh', '-c', 'echo on-overlay']);
      expect(r2.stdout).toBe('on-overlay\n');
    } finally {
      spawnSync('umount', [ovl]);
      spawnSync('umount', [t]);
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('works when the state root itself is on overlayfs (upper layer on a tmpfs)', () => {
    const base = mkdtempSync(join(tmpdir(), 'minidock-stateovl-'));
    const [lo, up, wk, mnt] = ['lo', 'up', 'wk', 'mnt'].map((p) => join(base, p));
    for (const p of [lo, up, wk, mnt]) mkdirSync(p);
    chmodSync(up, 0o711); // the root of the mount: a state root minidock would otherwise tighten, and say so
    try {
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lo},upperdir=${up},workdir=${wk}`, mnt]);
      const r = minidock(['run', '--rm', ROOTFS, 'sh', '-c', 'echo hi > /f; cat /f'], {
        root: mnt,
        env: { MINIDOCK_CGROUP_PARENT: cgroupParentFor(root) },
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('hi\n');
      expect(readdirSync(join(mnt, 'containers'))).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('keeps the rootfs mode bits and refuses a symlink escape in -v targets', () => {
    // a rootfs whose /data is a symlink to /etc: the bind must land in the container's /etc
    const base = mkdtempSync(join(tmpdir(), 'minidock-link-'));
    const vol = join(base, 'vol');
    mkdirSync(vol);
    writeFileSync(join(vol, 'marker'), 'm');
    chmodSync(base, 0o755);
    try {
      execFileSync('cp', ['-a', `${ROOTFS}/.`, join(base, 'rootfs')]);
      execFileSync('ln', ['-s', '/etc', join(base, 'rootfs', 'data')]);
      const r = run(['-v', `${vol}:/data/sub`, join(base, 'rootfs'), 'ls', '/etc/sub']);
      expect(r.stdout.trim()).toBe('marker');
      expect(existsSync('/etc/sub')).toBe(false);
      expect(statSync(join(base, 'rootfs', 'etc')).isDirectory()).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
