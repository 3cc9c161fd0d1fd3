// CLI parsing, without running anything: commander wiring of `run` and the --X=json rewriting.
import { describe, expect, it, vi } from 'vitest';
import { DOCKER_ONLY_VERBS, buildProgram, preprocessArgv, reportError, runCli } from '../../src/cli/program';
import { VERBS } from '../../src/cli/verbs';
import { MinidockError } from '../../src/errors';
import { writeErr } from '../../src/sys/output';

// what reportError writes to fd 2 (src/sys/output.ts), collected instead
vi.mock('../../src/sys/output', () => ({ writeErr: vi.fn(), writeOut: vi.fn() }));

function parseRun(argv: string[]) {
  const program = buildProgram(VERBS);
  let got: { rootfs: string; cmd: string[]; flags: Record<string, unknown> } | undefined;
  program.commands
    .find((c) => c.name() === 'run')!
    .action((rootfs: string, cmd: string[], flags: Record<string, unknown>) => {
      got = { rootfs, cmd, flags };
    });
  program.parse(preprocessArgv(argv, program), { from: 'user' });
  return got!;
}

describe('minidock run flags', () => {
  it('separates minidock flags from the container command', () => {
    const r = parseRun([
      'run',
      '-it',
      '-e',
      'A=1',
      '-e',
      'B=2',
      '--trace=json',
      '-v',
      '/a:/b:ro',
      './rootfs',
      'sh',
      '-c',
      'ls -l',
      '--trace=json',
      '-e',
    ]);
    expect(r.rootfs).toBe('./rootfs');
    expect(r.cmd).toEqual(['sh', '-c', 'ls -l', '--trace=json', '-e']);
    expect(r.flags).toMatchObject({
      interactive: true,
      tty: true,
      env: ['A=1', 'B=2'],
      traceFormat: 'json',
      volume: ['/a:/b:ro'],
    });
  });

  it('takes --trace alone without swallowing ROOTFS', () => {
    const r = parseRun(['run', '--trace', './rootfs', 'true']);
    expect(r.flags.trace).toBe(true);
    expect(r.rootfs).toBe('./rootfs');
  });

  it('keeps option values that look like --trace=json', () => {
    const program = buildProgram(VERBS);
    expect(preprocessArgv(['run', '-e', '--trace=json', '--stats=json', 'r', 'c'], program)).toEqual([
      'run',
      '-e',
      '--trace=json',
      '--stats-format=json',
      'r',
      'c',
    ]);
  });

  it("has Docker's spellings and the class handouts' aliases", () => {
    const r = parseRun([
      'run',
      '-m',
      '50M',
      '--cpus',
      '0.5',
      '--cpu',
      '25',
      '--pids',
      '10',
      '--pids-limit',
      '5',
      '-h',
      'box',
      '-u',
      '1000',
      '-w',
      '/tmp',
      '--rm',
      './r',
      'x',
    ]);
    expect(r.flags).toMatchObject({
      memory: '50M',
      cpus: '0.5',
      cpu: '25',
      pids: '10',
      pidsLimit: '5',
      hostname: 'box',
      user: '1000',
      workdir: '/tmp',
      rm: true,
    });
  });
});

describe('reportError', () => {
  it('turns errors into one line and Docker exit codes', () => {
    vi.mocked(writeErr).mockClear();
    expect(reportError(new MinidockError('bad thing'))).toBe(125);
    expect(reportError(new MinidockError('not found', 127))).toBe(127);
    expect(vi.mocked(writeErr).mock.calls).toEqual([['minidock: bad thing\n'], ['minidock: not found\n']]);
  });
});

describe('unknown verbs', () => {
  const errOf = async (argv: string[]) => {
    vi.mocked(writeErr).mockClear();
    const code = await runCli(argv, VERBS);
    return {
      code,
      err: vi
        .mocked(writeErr)
        .mock.calls.map((c) => c[0])
        .join(''),
    };
  };

  it('says a Docker verb minidock lacks does not exist yet, and lists the verbs it has (not "did you mean stop?")', async () => {
    for (const v of ['swarm', 'compose', 'pull', 'login']) {
      const { code, err } = await errOf([v, 'x']);
      expect(code).toBe(125);
      expect(err).toMatch(
        new RegExp(
          `^minidock: "${v}" is a Docker command that minidock does not have yet; minidock's commands are: run, ps, stop, .*exec.*\\n$`,
        ),
      );
      expect(err.split('\n')).toHaveLength(2); // one line
      expect(err).not.toMatch(/did you mean/i);
    }
  });

  it('keeps "did you mean" for typos of its own verbs, on one line', async () => {
    const { code, err } = await errOf(['rnu', './rootfs', 'sh']);
    expect(code).toBe(125);
    expect(err).toBe("minidock: unknown command 'rnu' — did you mean run? (see minidock --help)\n");
    expect((await errOf(['frobnicate'])).err).toBe("minidock: unknown command 'frobnicate' (see minidock --help)\n");
  });

  it('lists no verb minidock has among the Docker-only ones', () => {
    for (const v of Object.keys(VERBS)) expect(DOCKER_ONLY_VERBS.has(v)).toBe(false);
  });
});
