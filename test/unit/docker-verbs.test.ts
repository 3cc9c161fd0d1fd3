// The pure parts of the Docker verbs (issue 19): top's /proc parsing, update's flags against the
// container's limits, and diff's walk of an upper directory built in a temp dir (its whiteouts and
// opaque directories need root: mknod of a 0/0 character device, a trusted.* xattr).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuTime, parseEffectiveUid, parseNSpid } from '../../src/runtime/lifecycle/top.js';
import { limitsFromFlags } from '../../src/runtime/lifecycle/update.js';
import { upperChanges } from '../../src/runtime/lifecycle/diff.js';
import { mdLsetxattr, mdMknod } from '../../src/sys/native.js';
import { isRoot, minidockError } from '../helpers.js';

describe('top: /proc/PID/status', () => {
  const status = 'Name:\tsleep\nUid:\t0\t1000\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t4711\t12\t1\nNSpgid:\t4711\t12\t1\n';
  it('NSpid: host first, innermost last; absent (kernel < 4.1) is []', () => {
    expect(parseNSpid(status)).toEqual([4711, 12, 1]);
    expect(parseNSpid('NSpid:\t99\n')).toEqual([99]);
    expect(parseNSpid('Name:\tx\n')).toEqual([]);
  });
  it('the effective uid is the second field of Uid:', () => {
    expect(parseEffectiveUid(status)).toBe(1000);
    expect(parseEffectiveUid('Name:\tx\n')).toBeUndefined();
  });
  it("CPU time as ps's TIME (ticks at 100 Hz)", () => {
    expect(cpuTime(0)).toBe('00:00:00');
    expect(cpuTime(100 * 3723)).toBe('01:02:03');
    expect(cpuTime(199)).toBe('00:00:01');
  });
});

describe("update: flags against the container's limits", () => {
  const M = 1024 * 1024;
  it("-m alone follows run's default (2 x memory) when the swap limit was that default", () => {
    expect(
      limitsFromFlags({ memory: '30M' }, { memory: 100 * M, memorySwap: 200 * M, memorySwapDefault: true }),
    ).toEqual({
      memory: 30 * M,
      memorySwap: 60 * M,
      memorySwapDefault: true,
    });
  });
  it('-m alone keeps an explicit swap limit, and is refused above it', () => {
    expect(limitsFromFlags({ memory: '30M' }, { memory: 100 * M, memorySwap: 100 * M })).toEqual({
      memory: 30 * M,
      memorySwap: 100 * M,
    });
    expect(limitsFromFlags({ memory: '300M' }, { memory: 100 * M, memorySwap: -1 })).toEqual({
      memory: 300 * M,
      memorySwap: -1,
    });
    expect(
      minidockError(() => limitsFromFlags({ memory: '300M' }, { memory: 100 * M, memorySwap: 100 * M })).message,
    ).toMatch(/^-m 300M: above the container's --memory-swap \(104857600 bytes/);
  });
  it('--memory-swap alone keeps the memory limit; pids and shares as run parses them', () => {
    expect(limitsFromFlags({ memorySwap: '150M' }, { memory: 100 * M })).toEqual({
      memory: 100 * M,
      memorySwap: 150 * M,
    });
    expect(limitsFromFlags({ pidsLimit: '-1', cpuShares: '512' }, {})).toEqual({ pids: -1, cpuShares: 512 });
  });
  it('refuses no flags and bad values, in one line', () => {
    expect(minidockError(() => limitsFromFlags({}, {})).message).toMatch(/^update needs at least one of/);
    expect(minidockError(() => limitsFromFlags({ memory: '1x' }, {})).message).toMatch(/^invalid --memory "1x"/);
    expect(minidockError(() => limitsFromFlags({ pidsLimit: '0' }, {})).message).toMatch(/--pids-limit "0"/);
    expect(minidockError(() => limitsFromFlags({ memorySwap: '10M' }, {})).message).toMatch(/needs --memory too/);
  });
});

describe('diff: an upper directory against its lower layer', () => {
  let tmp = '';
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));
  const tree = (): { lower: string; upper: string } => {
    tmp = mkdtempSync(join(tmpdir(), 'minidock-diff-'));
    const lower = join(tmp, 'lower');
    const upper = join(tmp, 'upper');
    for (const d of ['etc', 'home/user', 'tmp', 'usr/bin']) mkdirSync(join(lower, d), { recursive: true });
    for (const f of ['etc/passwd', 'etc/group', 'home/user/.profile', 'usr/bin/sh']) writeFileSync(join(lower, f), 'x');
    mkdirSync(upper);
    return { lower, upper };
  };

  it('added and changed files; an added directory stays A, its parent C; sorted by path', () => {
    const { lower, upper } = tree();
    mkdirSync(join(upper, 'etc'));
    writeFileSync(join(upper, 'etc/passwd'), 'changed'); // a copy-up
    mkdirSync(join(upper, 'tmp/new/sub'), { recursive: true });
    writeFileSync(join(upper, 'tmp/new/sub/f'), 'new');
    writeFileSync(join(upper, 'added'), 'new');
    expect(upperChanges(upper, [lower]).map((c) => `${c.kind} ${c.path}`)).toEqual([
      'A /added',
      'C /etc',
      'C /etc/passwd',
      'C /tmp',
      'A /tmp/new',
      'A /tmp/new/sub',
      'A /tmp/new/sub/f',
    ]);
  });

  it.skipIf(!isRoot)(
    'a whiteout (char device 0/0) is D, an opaque directory C with what it hides D (needs root: mknod, trusted.* xattr)',
    () => {
      const { lower, upper } = tree();
      mkdirSync(join(upper, 'etc'));
      expect(mdMknod(join(upper, 'etc/group'), 0o020000 | 0o600, 0, 0)).toBe(0);
      mkdirSync(join(upper, 'home'));
      expect(mdLsetxattr(join(upper, 'home'), 'trusted.overlay.opaque', Buffer.from('y'))).toBe(0);
      writeFileSync(join(upper, 'home/me'), 'new');
      expect(upperChanges(upper, [lower]).map((c) => `${c.kind} ${c.path}`)).toEqual([
        'C /etc',
        'D /etc/group',
        'C /home',
        'A /home/me',
        'D /home/user',
      ]);
    },
  );

  it('with several lower layers (an image), a path any of them has is C, one none has is A', () => {
    const { lower, upper } = tree();
    const top = join(tmp, 'top');
    mkdirSync(join(top, 'usr'), { recursive: true });
    writeFileSync(join(top, 'usr/new'), 'x');
    mkdirSync(join(upper, 'usr'));
    writeFileSync(join(upper, 'usr/new'), 'changed');
    writeFileSync(join(upper, 'usr/bin2'), 'x');
    expect(upperChanges(upper, [top, lower]).map((c) => `${c.kind} ${c.path}`)).toEqual([
      'C /usr',
      'A /usr/bin2',
      'C /usr/new',
    ]);
  });
});
