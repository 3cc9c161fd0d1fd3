// --log-driver/--log-opt parsing (src/runtime/log-config.ts): Docker's names, units and rules, the
// monitor's arguments, --dry-run's line. No root needed.
import { describe, expect, it } from 'vitest';
import { describeLogConfig, logConfigFromFlags } from '../../src/runtime/log-config';
import { minidockError } from '../helpers';

describe('--log-driver, --log-opt', () => {
  it('json-file is the default; max-size in k/m/g (binary, Docker units), max-file 1 unless given', () => {
    expect(logConfigFromFlags(undefined, [])).toEqual({ type: 'json-file', config: {} });
    expect(logConfigFromFlags('json-file', ['max-size=10m', 'max-file=3'])).toEqual({
      type: 'json-file',
      config: { 'max-size': '10m', 'max-file': '3' },
      maxSize: 10 * 1024 * 1024,
      maxFile: 3,
    });
    expect(logConfigFromFlags(undefined, ['max-size=512k']).maxSize).toBe(512 * 1024);
    expect(logConfigFromFlags(undefined, ['max-size=1g']).maxSize).toBe(1024 ** 3);
    expect(logConfigFromFlags(undefined, ['max-size=2MiB']).maxSize).toBe(2 * 1024 ** 2);
    expect(logConfigFromFlags(undefined, ['max-size=4096']).maxSize).toBe(4096);
    expect(logConfigFromFlags(undefined, ['max-size=1m']).maxFile).toBe(1);
    expect(logConfigFromFlags('none', [])).toEqual({ type: 'none', config: {} });
  });

  it('every bad value is one line naming it, exit 125', () => {
    const cases: [string | undefined, string[], RegExp][] = [
      ['syslog', [], /^--log-driver syslog: minidock has json-file/],
      ['local', [], /^--log-driver local:/],
      [undefined, ['max-size=10x'], /^--log-opt max-size=10x: use a size above 0/],
      [undefined, ['max-size=-1'], /max-size=-1/],
      [undefined, ['max-size=0'], /max-size=0/],
      [undefined, ['max-size='], /max-size=: use a size/],
      [undefined, ['max-file=2'], /max-file needs max-size/],
      [undefined, ['max-size=1m', 'max-file=0'], /max-file=0: use a whole number of files from 1 to 1000/],
      [undefined, ['max-size=1m', 'max-file=two'], /max-file=two/],
      [undefined, ['compress=true'], /unknown option for the json-file log driver/],
      [undefined, ['=1'], /--log-opt =1: use KEY=VALUE/],
      ['none', ['max-size=1m'], /none log driver takes no options/],
    ];
    for (const [driver, opts, re] of cases) {
      const e = minidockError(() => logConfigFromFlags(driver, opts));
      expect(e.code).toBe(125);
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain('\n');
    }
  });

  it("--dry-run's line names the driver, the size and the files", () => {
    expect(describeLogConfig(logConfigFromFlags('none', []))).toMatch(
      /^log driver none: the output is read and dropped/,
    );
    expect(describeLogConfig(logConfigFromFlags(undefined, []))).toBe(
      'log driver json-file: container.log, never rotated',
    );
    expect(describeLogConfig(logConfigFromFlags(undefined, ['max-size=1m', 'max-file=2']))).toBe(
      'log driver json-file: container.log rotated at 1m (1048576 bytes), at most 2 files (container.log, .1)',
    );
  });
});
