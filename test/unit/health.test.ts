// The healthcheck's flags (src/runtime/lifecycle/health.ts): Go's durations as Docker's flags take
// them, their printing, the merge of flags over an image's HEALTHCHECK over Docker's defaults, and
// what the monitor is told.
import { describe, expect, it } from 'vitest';
import { formatDuration, healthFromFlags, monitorHealthArgs, parseDuration } from '../../src/runtime/lifecycle/health';
import type { ContainerSpec } from '../../src/runtime/spec';
import { minidockError } from '../helpers';

describe('parseDuration (Go time.ParseDuration)', () => {
  it('takes units, sums and fractions', () => {
    expect(parseDuration('1s', '--x')).toBe(1000);
    expect(parseDuration('1m30s', '--x')).toBe(90_000);
    expect(parseDuration('500ms', '--x')).toBe(500);
    expect(parseDuration('1.5h', '--x')).toBe(5_400_000);
    expect(parseDuration('2000us', '--x')).toBe(2);
    expect(parseDuration('0', '--x')).toBe(0);
    expect(parseDuration('+5s', '--x')).toBe(5000);
  });
  it('refuses in one line: no unit, negative, under 1ms, junk', () => {
    expect(minidockError(() => parseDuration('10', '--health-interval')).message).toMatch(
      /^--health-interval 10: not a duration — use a number with a unit/,
    );
    expect(minidockError(() => parseDuration('-1s', '--health-timeout')).message).toContain('cannot be negative');
    expect(minidockError(() => parseDuration('500us', '--x')).message).toContain('less than 1ms');
    for (const bad of ['', 's', '1x', '1s2', '1 s', '1e3s'])
      expect(minidockError(() => parseDuration(bad, '--x')).message).toContain('not a duration');
  });
});

describe('formatDuration (Go Duration.String)', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h0m0s'],
  ])('%d ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('healthFromFlags', () => {
  const image = { Test: ['CMD-SHELL', 'cat /ready'], Interval: 2e9, Retries: 5 };
  it("fills Docker's defaults", () => {
    expect(healthFromFlags({ healthCmd: 'true' })).toEqual({
      test: ['CMD-SHELL', 'true'],
      intervalMs: 30_000,
      timeoutMs: 30_000,
      startPeriodMs: 0,
      startIntervalMs: 5_000,
      retries: 3,
    });
  });
  it("merges field by field: flag over the image's over the default", () => {
    expect(healthFromFlags({ healthTimeout: '3s' }, image)).toMatchObject({
      test: ['CMD-SHELL', 'cat /ready'],
      intervalMs: 2000,
      timeoutMs: 3000,
      retries: 5,
    });
    expect(healthFromFlags({ healthCmd: 'true', healthRetries: '1' }, image)).toMatchObject({
      test: ['CMD-SHELL', 'true'],
      intervalMs: 2000,
      retries: 1,
    });
  });
  it('none: --no-healthcheck, an image without one or with NONE', () => {
    expect(healthFromFlags({ healthcheck: false }, image)).toBeUndefined();
    expect(healthFromFlags({}, undefined)).toBeUndefined();
    expect(healthFromFlags({}, { Test: ['NONE'] })).toBeUndefined();
  });
  it('refuses conflicts and timings with nothing to time', () => {
    expect(minidockError(() => healthFromFlags({ healthcheck: false, healthCmd: 'true' })).message).toContain(
      'conflicts',
    );
    expect(minidockError(() => healthFromFlags({ healthInterval: '1s' })).message).toContain('without --health-cmd');
    expect(minidockError(() => healthFromFlags({ healthCmd: 'x', healthRetries: '1.5' })).message).toContain(
      'whole number',
    );
  });
});

describe('monitorHealthArgs', () => {
  it('timings in ms, the timeout as Docker prints it, the probe through minidock exec', () => {
    const spec = {
      id: 'a'.repeat(64),
      healthcheck: healthFromFlags({ healthCmd: 'echo hi', healthInterval: '1s', healthTimeout: '1m30s' }),
    } as ContainerSpec;
    expect(monitorHealthArgs(spec, '/var/lib/minidock', '/m/bin/minidock.js')).toEqual([
      '--health',
      '1000',
      '90000',
      '0',
      '5000',
      '3',
      '1m30s',
      '8',
      '/m/bin/minidock.js',
      'exec',
      '--root',
      '/var/lib/minidock',
      'a'.repeat(64),
      '/bin/sh',
      '-c',
      'echo hi',
    ]);
  });
});
