// run's options registered on demand (src/cli/run-options.ts): which command lines need the rarely used
// ones, and that a command line parses the same whether they were registered or not.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, preprocessArgv } from '../../src/cli/program';
import { namesUnregisteredOption, runOptions } from '../../src/cli/run-options';
import { VERBS } from '../../src/cli/verbs';

const common = (): Command => runOptions(new Command('run').option('-d, --detach'), 'run', []);

describe('namesUnregisteredOption', () => {
  const needs = (...argv: string[]) => namesUnregisteredOption(['run', ...argv], common());
  it('is false for the options every lesson and the bench use', () => {
    expect(needs('--rm', './rootfs', 'true')).toBe(false);
    expect(needs('-it', '--rm', '-m', '50M', '--cpus=0.5', '-e', 'A=1', '-eB=2', 'IMG')).toBe(false);
    expect(needs('-d', '--name', 'web', '-p', '8080:80', '--network', 'bridge', 'IMG')).toBe(false);
  });
  it('is true for a rarely used option, a misspelt one, or --help, before the first operand only', () => {
    expect(needs('--rm', '--tmpfs', '/x', './rootfs', 'true')).toBe(true);
    expect(needs('--cap-add=NET_ADMIN', './rootfs')).toBe(true);
    expect(needs('--rmm', './rootfs')).toBe(true);
    expect(needs('--help')).toBe(true);
    expect(needs('-itP', 'IMG')).toBe(true); // -P (publish-all) inside a cluster
    // after the operand, the words are the container's command, never minidock's
    expect(needs('--rm', './rootfs', 'ls', '--tmpfs')).toBe(false);
    expect(needs('--rm', '--', '--tmpfs')).toBe(false);
  });
  it("skips an option's value, separate or joined, so a value that looks like an option is not one", () => {
    expect(needs('-e', '--tmpfs', './rootfs')).toBe(false);
    expect(needs('-e--tmpfs', './rootfs')).toBe(false);
    expect(needs('--name', '--privileged', './rootfs')).toBe(false);
  });
});

describe('run parsed with the options it needs only', () => {
  // the same command line through the program `minidock run ...` builds (argv given) and through the
  // program with every option (no argv, as help builds it)
  function parse(argv: string[], lazy: boolean) {
    const program = buildProgram(VERBS, 'run', lazy ? argv : undefined);
    let got: unknown;
    program.commands[0].action((rootfs: string, cmd: string[], flags: Record<string, unknown>) => {
      got = { rootfs, cmd, flags };
    });
    program.parse(preprocessArgv(argv, program), { from: 'user' });
    return { got, options: program.commands[0].options.length };
  }
  it.each([
    [['run', '--rm', '-m', '50M', './rootfs', 'sh', '-c', 'true']],
    [['run', '-it', '--tmpfs', '/run', '--cap-drop', 'ALL', './rootfs', 'ls', '--tmpfs']],
    [['run', '-d', '--restart=always', '--name', 'w', 'IMG']],
  ])('%j', (argv) => {
    const lazy = parse(argv, true);
    const all = parse(argv, false);
    if (argv.includes('--tmpfs') || argv.some((a) => a.startsWith('--restart'))) expect(lazy.options).toBe(all.options);
    else expect(lazy.options).toBeLessThan(all.options / 2);
    // flags with defaults ([] for repeatable ones) appear only when registered: compare what was given
    const given = (g: unknown) => {
      const { flags, ...rest } = g as { flags: Record<string, unknown> };
      return {
        ...rest,
        flags: Object.fromEntries(
          Object.entries(flags).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
        ),
      };
    };
    expect(given(lazy.got)).toEqual(given(all.got));
  });
});
