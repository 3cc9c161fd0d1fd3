// minidock-oci (bin/minidock-oci.js) through the real binary: the state directory verbs on containers
// recorded as create will record them (a real process as their init: no OCI launch exists yet, see
// docs/oci.md), runc's error format and exit codes, and the same calls answered by runc itself
// where runc is installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeRecord, type OciRecord } from '../../src/oci/state';
import { mapConfig, readBundleConfig } from '../../src/oci/config';
import { procStart } from '../../src/sys/proc';
import { waitFor } from '../helpers';

const BIN = join(__dirname, '../../bin/minidock-oci.js');
const oci = (args: string[]) => {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const hasRunc = spawnSync('runc', ['--version']).status === 0;

let dir: string;
let root: string;
const children: ChildProcess[] = [];
const alive = (pid: number) => procStart(pid) !== undefined;

/** A container as create will record it, its init a real `sleep` of this test. */
function recordContainer(id: string, status: OciRecord['status'] = 'running', pidStart?: number): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid!;
  writeRecord(root, {
    ociVersion: '1.1.0',
    id,
    status,
    pid,
    pidStart: pidStart ?? procStart(pid),
    bundle: dir,
    created: new Date().toISOString(),
    owner: 'root',
    annotations: { a: 'b' },
  });
  return pid;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'minidock-oci-cli-'));
  root = join(dir, 'state');
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('minidock-oci over its state directory', () => {
  it('state, list, kill (SIGTERM by default), then stopped, then delete: nothing left', async () => {
    const pid = recordContainer('c1');
    const st = oci(['--root', root, 'state', 'c1']);
    expect(st.code).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({
      ociVersion: '1.1.0',
      id: 'c1',
      pid,
      status: 'running',
      bundle: dir,
      annotations: { a: 'b' },
    });
    const list = oci(['--root', root, 'list']);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(list.stdout).toMatch(new RegExp(`^c1\\s+${pid}\\s+running\\s+${dir}`, 'm'));
    expect(oci(['--root', root, 'list', '-q']).stdout).toBe('c1\n');
    expect(JSON.parse(oci(['--root', root, 'list', '--format', 'json']).stdout)).toEqual([
      expect.objectContaining({ id: 'c1', status: 'running' }),
    ]);

    expect(oci(['--root', root, 'kill', 'c1']).code).toBe(0);
    await waitFor(() => !alive(pid) || undefined, 5000, 'the init to end on SIGTERM');
    expect(JSON.parse(oci(['--root', root, 'state', 'c1']).stdout)).toMatchObject({ status: 'stopped', pid: 0 });
    const again = oci(['--root', root, 'kill', 'c1', 'KILL']);
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('level=error msg="container not running"')]);

    expect(oci(['--root', root, 'delete', 'c1']).code).toBe(0);
    expect(readdirSync(root)).toEqual([]);
  });

  it('delete refuses a running container without --force (it keeps running); --force kills and removes it', async () => {
    const pid = recordContainer('c2');
    const r = oci(['--root', root, 'delete', 'c2']);
    expect([r.code, r.stderr]).toEqual([1, expect.any(String)]);
    expect(r.stderr).toContain('cannot delete container c2 that is not stopped: running');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(alive(pid)).toBe(true);
    expect(oci(['--root', root, 'delete', '--force', 'c2']).code).toBe(0);
    await waitFor(() => !alive(pid) || undefined, 5000, 'the init to be killed');
    expect(existsSync(join(root, 'c2'))).toBe(false);
  });

  it('a created container is deleted without --force (nothing of the user ran), as runc does', async () => {
    const pid = recordContainer('c3', 'created');
    expect(JSON.parse(oci(['--root', root, 'state', 'c3']).stdout).status).toBe('created');
    expect(oci(['--root', root, 'delete', 'c3']).code).toBe(0);
    await waitFor(() => !alive(pid) || undefined, 5000, 'the created init to be killed');
    expect(existsSync(join(root, 'c3'))).toBe(false);
  });

  it('a recycled pid (another start time) is stopped, and kill does not signal it', () => {
    const pid = recordContainer('c4', 'running', 1);
    expect(JSON.parse(oci(['--root', root, 'state', 'c4']).stdout)).toMatchObject({ status: 'stopped', pid: 0 });
    expect(oci(['--root', root, 'kill', 'c4', '9']).code).toBe(1);
    expect(alive(pid)).toBe(true);
    expect(oci(['--root', root, 'delete', 'c4']).code).toBe(0);
    expect(alive(pid)).toBe(true);
  });

  it("errors: runc's words, exit 1, logrus text on stderr or text/json in --log", () => {
    const none = oci(['--root', root, 'state', 'nope']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^time="[^"]+Z" level=error msg="container does not exist"\n$/);
    const log = join(dir, 'log.json');
    const j = oci(['--root', root, '--log', log, '--log-format', 'json', 'kill', 'nope']);
    expect([j.code, j.stderr]).toEqual([1, 'container does not exist\n']);
    expect(JSON.parse(readFileSync(log, 'utf8'))).toMatchObject({ level: 'error', msg: 'container does not exist' });
    expect(oci(['--root', root, 'delete', '--force', 'nope']).code).toBe(0);
    expect(oci(['--root', root, 'state', '../x']).stderr).toContain('invalid container id');
    expect(oci(['--root', root, '--log-format', 'xml', 'list']).stderr).toContain('invalid log-format: xml');
    expect(oci(['--systemd-cgroup', '--root', root, 'list']).stderr).toContain('--systemd-cgroup is not supported');
    // the cgroup verbs on a container that does not exist: runc's words
    for (const verb of ['ps', 'pause', 'resume', 'update', 'events']) {
      const r = oci(['--root', root, verb, 'x']);
      expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('msg="container does not exist"')]);
    }
    expect(existsSync(join(root, 'x'))).toBe(false);
  });

  it('spec writes a config.json that minidock maps without a warning; a second spec refuses, as runc', () => {
    const b = join(dir, 'bundle');
    mkdirSync(join(b, 'rootfs'), { recursive: true });
    expect(oci(['spec', '--bundle', b]).code).toBe(0);
    const m = mapConfig(readBundleConfig(b), b, { id: 'c'.repeat(64), name: 'x' });
    expect(m.warnings).toEqual([]);
    expect(m.spec.rootfs).toBe(join(b, 'rootfs'));
    const again = oci(['spec', '-b', b]);
    expect([again.code, again.stderr]).toEqual([
      1,
      expect.stringContaining('File config.json exists. Remove it first'),
    ]);
  });

  it('features and --version', () => {
    const f = JSON.parse(oci(['features']).stdout);
    expect(f).toMatchObject({
      ociVersionMin: '1.0.0',
      linux: { namespaces: expect.arrayContaining(['pid', 'network', 'cgroup']), seccomp: { enabled: true } },
    });
    expect(f.linux.namespaces).toContain('user'); // config.json's uidMappings/gidMappings (config.ts)
    expect(f.linux.namespaces).not.toContain('time');
    // every point: the in-container ones as plan steps, the rest from create, start and delete (hooks.ts)
    expect(f.hooks).toEqual([
      'prestart',
      'createRuntime',
      'createContainer',
      'startContainer',
      'poststart',
      'poststop',
    ]);
    expect(oci(['--version']).stdout).toMatch(/^minidock-oci version \d+\.\d+\.\d+\nspec: 1\.1\.0\n$/);
  });
});

describe.skipIf(!hasRunc)('the same calls answered by runc (skipped: runc is not installed)', () => {
  it('an empty root: list -f json is null for both; state of a missing id is exit 1, "container does not exist" in the json log', () => {
    const rroot = join(dir, 'runc-root');
    for (const [bin, r] of [
      ['runc', rroot],
      [BIN, root],
    ] as const) {
      const l = spawnSync(bin, ['--root', `${r}-empty`, 'list', '-f', 'json'], { encoding: 'utf8' });
      expect([bin, l.status, l.stdout.trim()]).toEqual([bin, 0, 'null']);
      const log = join(dir, `${bin === BIN ? 'md' : 'runc'}.log`);
      const s = spawnSync(bin, ['--root', r, '--log', log, '--log-format', 'json', 'state', 'nope'], {
        encoding: 'utf8',
      });
      expect([bin, s.status]).toEqual([bin, 1]);
      expect(JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop()!)).toMatchObject({
        level: 'error',
        msg: 'container does not exist',
      });
    }
  });
});
