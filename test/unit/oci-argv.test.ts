// runc's command line as minidock-oci parses it (src/oci/argv.ts) and logrus's line format.
import { describe, expect, it } from 'vitest';
import { MinidockError } from '../../src/errors';
import { parseOciArgv } from '../../src/oci/argv';
import { logLine } from '../../src/cli/oci-main';

describe('parseOciArgv', () => {
  it("global flags before the verb, as containerd's shim passes them", () => {
    const c = parseOciArgv([
      '--root',
      '/run/containerd/runc/k8s.io',
      '--log',
      '/x/log.json',
      '--log-format',
      'json',
      '--systemd-cgroup',
      'delete',
      '--force',
      'abc',
    ]);
    expect(c).toMatchObject({
      verb: 'delete',
      args: ['abc'],
      flags: { force: true },
      globals: { root: '/run/containerd/runc/k8s.io', log: '/x/log.json', logFormat: 'json', systemdCgroup: true },
    });
  });
  it('--flag=value, one dash, and kill/delete flags after the id', () => {
    expect(parseOciArgv(['-root=/r', 'kill', 'abc', 'KILL', '--all'])).toMatchObject({
      verb: 'kill',
      args: ['abc', 'KILL'],
      flags: { all: true },
      globals: { root: '/r' },
    });
    expect(parseOciArgv(['list', '-f', 'json'])).toMatchObject({ flags: { format: 'json' } });
    expect(parseOciArgv(['--version']).version).toBe(true);
    expect(parseOciArgv([]).verb).toBeUndefined();
  });
  it.each([
    [['--bogus', 'list'], 'flag provided but not defined: -bogus'],
    [['--root'], 'flag needs an argument: -root'],
    [['--log-format', 'xml', 'list'], 'invalid log-format: xml'],
    [['frobnicate'], "No help topic for 'frobnicate'"],
    [['state', '--bundle', 'x'], 'flag provided but not defined: -bundle'],
  ])('%j: exit 1, %s', (argv, msg) => {
    try {
      parseOciArgv(argv);
    } catch (e) {
      expect(e).toBeInstanceOf(MinidockError);
      expect((e as MinidockError).code).toBe(1);
      expect((e as MinidockError).message).toContain(msg);
      return;
    }
    throw new Error('expected an error');
  });
});

describe('logLine', () => {
  const t = new Date('2026-01-02T03:04:05.678Z');
  it("logrus's text and JSON lines, as runc writes them", () => {
    expect(logLine('error', 'container "x" does not exist', 'text', t)).toBe(
      'time="2026-01-02T03:04:05Z" level=error msg="container \\"x\\" does not exist"\n',
    );
    expect(JSON.parse(logLine('error', 'boom', 'json', t))).toEqual({
      level: 'error',
      msg: 'boom',
      time: '2026-01-02T03:04:05Z',
    });
  });
});
