// The code caches bin/minidock.js keeps beside each bundle (dist/verbs/VERB.cjs.cache,
// dist/more/GROUP.cjs.VERB.cache) and why a build must remove them: V8 checks a cache against the
// length of its script, not its text.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'md-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('code caches across builds', () => {
  it("this V8's check of a cache: another script of the same length is accepted, another length rejected", () => {
    const a = '(function () { return function f() { return 1 + 2; }; })';
    const b = '(function () { return function g() { return 3 * 4; }; })'; // same length, other code
    expect(b.length).toBe(a.length);
    const script = new Script(a);
    (script.runInThisContext() as () => () => number)()(); // compile f too, as a launch compiles what it runs
    const cache = script.createCachedData();
    expect(new Script(`${a} `, { cachedData: cache }).cachedDataRejected).toBe(true);
    // What makes the build's removal necessary. (A V8 that compared the text would reject this
    // too; the removal would then only save a rejected read.)
    const same = new Script(b, { cachedData: cache });
    console.log(
      same.cachedDataRejected
        ? 'this V8 rejects a cache made for other text of the same length'
        : "this V8 accepts a cache made for other text of the same length: a stale cache would run the old bundle's code",
    );
    expect(typeof same.cachedDataRejected).toBe('boolean');
  });

  it('scripts/bundle.mjs removes every cache of the bundles it writes', { timeout: 120_000 }, () => {
    const build = (): void => {
      const r = spawnSync(process.execPath, ['scripts/bundle.mjs', out], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    };
    build();
    const planted = [join(out, 'verbs', 'run.cjs.cache'), join(out, 'more', 'network.cjs.run.cache')];
    for (const f of planted) writeFileSync(f, 'a cache of an earlier build');
    expect(planted.every((f) => existsSync(f))).toBe(true);
    build();
    expect(planted.filter((f) => existsSync(f))).toEqual([]);
    expect(readdirSync(join(out, 'verbs')).filter((f) => f.endsWith('.cache'))).toEqual([]);
  });
});
