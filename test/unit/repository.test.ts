// The repository on its own, as a fresh clone has it: a lockfile that `npm ci` accepts, and docs that
// point at nothing outside the repository and tell users the command they will really type.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

/** Every file under `dir` whose name ends in one of `exts` (node_modules, dist and .git left out). */
function filesUnder(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (['node_modules', 'dist', '.git', 'build', 'results'].includes(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, exts));
    else if (exts.some((e) => name.endsWith(e))) out.push(p);
  }
  return out;
}

describe('package-lock.json', () => {
  // `npm ci` refuses a lockfile that lacks an optional dependency of a locked package ("package.json
  // and package-lock.json are not in sync"), even one for another platform (rollup's, under vitest).
  // A lockfile written by `npm install` on one platform can lack them; the build uses `npm ci`.
  it('locks every optional dependency of every locked package, for every platform', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const missing: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
        // resolved as Node resolves: nested under the package first, then at the top
        if (!lock.packages[`${path}/node_modules/${dep}`] && !lock.packages[`node_modules/${dep}`])
          missing.push(`${path} -> ${dep}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('documentation stands alone', () => {
  const texts = [
    join(ROOT, 'README.md'),
    ...filesUnder(join(ROOT, 'docs'), ['.md']),
    ...filesUnder(join(ROOT, 'lessons'), ['.md']),
    ...filesUnder(join(ROOT, 'src'), ['.ts', '.tsx']),
    ...filesUnder(join(ROOT, 'native'), ['.c', '.h']),
    ...filesUnder(join(ROOT, 'scripts'), ['.sh', '.mjs']),
    ...filesUnder(join(ROOT, 'bench'), ['.sh', '.mjs']),
  ];

  it('found the files to check', () => {
    expect(texts.length).toBeGreaterThan(50);
  });

  // The pattern is assembled so that this file does not itself hold the path it looks for.
  const outside = new RegExp(['\\.\\.', 'shared'].join('/') + '|\\bDESIGN\\.md|\\bPEERS\\.md');

  it('points at no file outside the repository (the shared folder beside it, DESIGN.md, PEERS.md)', () => {
    expect(outside.test('see ' + ['..', 'shared', 'DESIGN.md'].join('/'))).toBe(true);
    const bad = texts.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (outside.test(line) ? [`${relative(ROOT, f)}:${i + 1}`] : [])),
    );
    expect(bad).toEqual([]);
  });

  it('tells users to type plain `minidock`, never `npx minidock` (npm start-up at every call, and a registry look-up outside the checkout)', () => {
    const bad = texts.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/\bnpx minidock\b/.test(line) ? [`${relative(ROOT, f)}:${i + 1}`] : [])),
    );
    expect(bad).toEqual([]);
  });
});
