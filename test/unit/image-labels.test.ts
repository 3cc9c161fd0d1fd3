// Image labels (issue 19): config.Labels kept by parseImageConfig (an import's and load's parser),
// `commit --change 'LABEL ...'` as Docker's Dockerfile parser reads a LABEL line (and every other
// instruction refused in one line), `images --filter label=` parsed and matched, and imageLabels'
// fallback to the stored config for an image recorded before the record kept them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseChanges } from '../../src/image/commit';
import { parseImageConfig } from '../../src/image/config';
import { imageLabels, labelsMatch, parseImageFilters, rawConfigPath } from '../../src/image/raw-config';
import type { ImageRecord } from '../../src/image/store';
import { minidockError } from '../helpers';

const config = (labels: unknown): string =>
  JSON.stringify({ config: { Cmd: ['sh'], Labels: labels }, rootfs: { type: 'layers', diff_ids: [] } });

describe('config.Labels', () => {
  it('are kept; null or {} is none', () => {
    expect(parseImageConfig(config({ a: '1', 'org.opencontainers.image.title': 'x' }), 'c').config.Labels).toEqual({
      a: '1',
      'org.opencontainers.image.title': 'x',
    });
    expect(parseImageConfig(config(null), 'c').config.Labels).toBeUndefined();
    expect(parseImageConfig(config({}), 'c').config.Labels).toBeUndefined();
  });

  it('anything but a map of strings is one line', () => {
    for (const bad of [['a'], { a: 1 }, 'a=1'])
      expect(minidockError(() => parseImageConfig(config(bad), 'c')).message).toBe(
        'image config: config.Labels must map names to strings',
      );
  });
});

describe('commit --change LABEL', () => {
  it("Docker's forms: k=v pairs, quotes, escapes, the old `LABEL key value`, case-insensitive, later wins", () => {
    expect(
      parseChanges(['LABEL a=1 b="two words" c=\'x y\'', 'label d=e\\ f', 'LABEL old the rest  of it', 'LABEL a=9']),
    ).toEqual({
      a: '9',
      b: 'two words',
      c: 'x y',
      d: 'e f',
      old: 'the rest of it',
    });
    expect(parseChanges(['LABEL empty= q="1=2"'])).toEqual({ empty: '', q: '1=2' }); // (split at the first =)
    expect(parseChanges([])).toEqual({});
  });

  it('every other instruction, and a malformed LABEL, is one line', () => {
    expect(minidockError(() => parseChanges(['CMD ["sh"]'])).message).toMatch(
      /^commit --change "CMD \[\\"sh\\"\]": minidock's commit takes LABEL only \(e\.g\. --change 'LABEL version=1\.0'\)/,
    );
    expect(minidockError(() => parseChanges(['LABEL'])).message).toMatch(/LABEL needs KEY=VALUE/);
    expect(minidockError(() => parseChanges(['LABEL a=1 b'])).message).toMatch(/"b" is not KEY=VALUE/);
    expect(minidockError(() => parseChanges(['LABEL a=1 =2'])).message).toMatch(/"=2" is not KEY=VALUE/);
    expect(minidockError(() => parseChanges(['LABEL a="open'])).message).toMatch(/a " quote is not closed/);
  });
});

describe('images --filter label=', () => {
  it('KEY or KEY=VALUE; all must match', () => {
    const f = parseImageFilters(['label=a', 'label=b=2=3']);
    expect(f).toEqual([{ key: 'a' }, { key: 'b', value: '2=3' }]);
    expect(labelsMatch({ a: '', b: '2=3' }, f)).toBe(true);
    expect(labelsMatch({ a: 'x', b: '2' }, f)).toBe(false);
    expect(labelsMatch({ b: '2=3' }, f)).toBe(false);
    expect(labelsMatch({}, [])).toBe(true);
  });

  it('another key is one line', () => {
    for (const bad of ['dangling=true', 'label=', 'label'])
      expect(minidockError(() => parseImageFilters([bad])).message).toMatch(
        /^images --filter .*: use label=KEY or label=KEY=VALUE/,
      );
  });
});

describe('imageLabels', () => {
  const root = mkdtempSync(join(tmpdir(), 'minidock-unit-labels-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const rec = (over: Partial<ImageRecord>): ImageRecord => ({
    id: `sha256:${'c'.repeat(64)}`,
    names: [],
    layers: [],
    config: {},
    imported: '2026-01-01T00:00:00Z',
    format: 'docker-archive',
    ...over,
  });

  it("the record's, else the stored config's (an image recorded before the record kept them), else none", () => {
    expect(imageLabels(root, rec({ config: { Labels: { a: '1' } } }))).toEqual({ a: '1' });
    expect(imageLabels(root, rec({}))).toEqual({});
    mkdirSync(join(root, 'images'));
    writeFileSync(rawConfigPath(root, `sha256:${'c'.repeat(64)}`), config({ b: '2', n: 3 }));
    expect(imageLabels(root, rec({}))).toEqual({ b: '2' });
  });
});
