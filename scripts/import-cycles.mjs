// Lists the import cycles among src/'s modules: every relative import (static, `import type` and
// `await import()` alike, as the TypeScript compiler's own pre-processor reads them) is an edge,
// and a cycle is a strongly connected group of more than one file (Tarjan). Exit 1 when one exists.
//   node scripts/import-cycles.mjs [dir]
// test/unit/architecture.test.ts imports importCycles() from here.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** './x.js' from `from` -> the .ts or .tsx file it names */
function target(from, spec) {
  const base = resolve(dirname(from), spec).replace(/\.js$/, '');
  return [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((f) => existsSync(f));
}

/**
 * The modules under `dir` (absolute paths), their relative imports (`edges`: file -> files it
 * imports) and the import cycles among them, each a list of files.
 */
export function importCycles(dir) {
  const top = resolve(dir);
  const files = readdirSync(top, { recursive: true })
    .map((f) => join(top, f))
    .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'));
  const edges = new Map();
  for (const f of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
    edges.set(
      f,
      importedFiles
        .filter((i) => i.fileName.startsWith('.'))
        .map((i) => target(f, i.fileName))
        .filter(Boolean),
    );
  }

  // Tarjan's strongly connected components
  let index = 0;
  const idx = new Map(),
    low = new Map(),
    stack = [],
    on = new Set(),
    cycles = [];
  function visit(v) {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const group = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) cycles.push(group);
    }
  }
  for (const f of files) if (!idx.has(f)) visit(f);
  return { files, edges, cycles };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, edges, cycles } = importCycles(process.argv[2] ?? 'src');
  const rel = (f) => relative(process.cwd(), f);
  console.log(
    `${files.length} modules, ${[...edges.values()].reduce((a, e) => a + e.length, 0)} relative imports, ${cycles.length} import cycle(s)`,
  );
  for (const c of cycles) console.log(`cycle: ${c.map(rel).sort().join(' <-> ')}`);
  process.exit(cycles.length ? 1 : 0);
}
