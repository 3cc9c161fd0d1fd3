// The shape of src/ (issue 15): the commands in src/cli/ print, the library never does; no module
// imports itself through others; no function too long to read in one sitting. Each rule reads the
// sources with the TypeScript compiler (comments and strings do not count) and names every offender.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs script, no types: importCycles(dir) -> { files, edges, cycles }
import { importCycles } from '../../scripts/import-cycles.mjs';

const ROOT = join(__dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** Every module under src/, as a path relative to the repository ("src/cli/run.ts"). */
function sources(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => relative(ROOT, join(SRC, f)))
    .sort();
}

function parse(file: string, text = readFileSync(join(ROOT, file), 'utf8')): ts.SourceFile {
  return ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.ES2022,
    true,
    file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
}

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

// --- (a) only the commands print -------------------------------------------------------------

/** Outside src/cli/, these move bytes to and from the user's terminal as their job, or are the writers themselves. */
const MAY_WRITE = new Set([
  'src/runtime/tty.ts', // the -t relay: the container's pty <-> the user's terminal
  'src/runtime/stdio-relay.ts', // the pipes that stand in for the user's terminal without -t
  'src/sys/output.ts', // writeOut/writeErr themselves
]);
const WRITERS = new Set(['writeOut', 'writeErr', 'writeAll']);

/** Each place in `sf` that writes to stdout or stderr: "file:line what". */
function terminalWrites(sf: ts.SourceFile): string[] {
  const found: string[] = [];
  const at = (n: ts.Node, what: string): void => {
    found.push(`${sf.fileName}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1} ${what}`);
  };
  walk(sf, (n) => {
    if (ts.isPropertyAccessExpression(n)) {
      const text = n.getText(sf).replace(/\s+/g, '');
      // process.stdout.write / process.stderr.write; reading .isTTY, .rows, .columns is fine
      if (/^process\.(stdout|stderr)\.write$/.test(text)) at(n, text);
      if (ts.isIdentifier(n.expression) && n.expression.text === 'console') at(n, text);
    }
    if (ts.isImportSpecifier(n) && WRITERS.has((n.propertyName ?? n.name).text))
      at(n, `imports ${(n.propertyName ?? n.name).text}`);
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier) && n.moduleSpecifier.text === 'ink')
      at(n, 'imports ink (a view: it belongs in src/cli/)');
  });
  return found;
}

describe('the library never writes to the terminal (only src/cli/ prints)', () => {
  it('no module under src/ outside src/cli/ writes to stdout or stderr (process.*.write, console, writeOut/writeErr/writeAll, ink)', () => {
    const library = sources().filter((f) => !f.startsWith('src/cli/') && !MAY_WRITE.has(f));
    expect(library.length).toBeGreaterThan(50); // the walk found the library
    expect(library.flatMap((f) => terminalWrites(parse(f)))).toEqual([]);
  });

  it('the two relays allowed to write say why in a comment at the top', () => {
    for (const f of ['src/runtime/tty.ts', 'src/runtime/stdio-relay.ts']) {
      expect(readFileSync(join(ROOT, f), 'utf8').split('\n').slice(0, 12).join('\n'), f).toMatch(
        /between the user's terminal and the container is this module's job, not printing/,
      );
    }
  });

  it('the rule sees each kind of write, and not a comment, a string or a read of isTTY', () => {
    const sf = parse(
      'x.ts',
      [
        "import { writeOut as out } from '../sys/output.js';",
        "import { render } from 'ink';",
        'process.stdout.write("a");',
        'process . stderr . write("b");',
        'console.error("c");',
        '// process.stdout.write("in a comment")',
        'const s = "process.stderr.write";',
        'const tty = process.stdout.isTTY && process.stdout.rows;',
      ].join('\n'),
    );
    expect(terminalWrites(sf)).toEqual([
      'x.ts:1 imports writeOut',
      'x.ts:2 imports ink (a view: it belongs in src/cli/)',
      'x.ts:3 process.stdout.write',
      'x.ts:4 process.stderr.write',
      'x.ts:5 console.error',
    ]);
  });
});

// --- (b) no import cycle ---------------------------------------------------------------------

describe('no import cycle in src/', () => {
  it('scripts/import-cycles.mjs finds no strongly connected group of modules (static, type-only and await import() edges)', () => {
    const { files, edges, cycles } = importCycles(SRC) as {
      files: string[];
      edges: Map<string, string[]>;
      cycles: string[][];
    };
    expect(files.length).toBeGreaterThan(100);
    expect([...edges.values()].flat().length).toBeGreaterThan(files.length); // the walk resolved imports
    expect(
      cycles.map((c) =>
        c
          .map((f) => relative(ROOT, f))
          .sort()
          .join(' <-> '),
      ),
    ).toEqual([]);
  });
});

// --- (c) no function over 100 lines ----------------------------------------------------------

const MAX_LINES = 100;
/** A flat list of steps, each with the reason it exists: long, and read as a list (issue 15). */
const MAY_BE_LONG = new Set(['src/runtime/build-plan.ts buildPlan']);

/** The name a function is known by: its own, or the variable, property or class member it is assigned to. */
function functionName(n: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(n)) return 'constructor';
  if (n.name) return n.name.getText(sf);
  const parent = n.parent;
  if (
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) &&
    parent.name
  )
    return parent.name.getText(sf);
  return `<anonymous at line ${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}>`;
}

/** Every function in `sf` longer than `max` lines: "file name: N lines" (a nested function counts in its parent too). */
function longFunctions(sf: ts.SourceFile, max = MAX_LINES): string[] {
  const found: string[] = [];
  walk(sf, (n) => {
    if (!ts.isFunctionLike(n) || !('body' in n) || !n.body) return;
    const fn = n as ts.FunctionLikeDeclaration;
    const first = sf.getLineAndCharacterOfPosition(fn.getStart(sf)).line; // after its leading comments
    const last = sf.getLineAndCharacterOfPosition(fn.getEnd()).line;
    const lines = last - first + 1;
    if (lines > max) found.push(`${sf.fileName} ${functionName(fn, sf)}: ${lines} lines`);
  });
  return found;
}

describe(`no function in src/ over ${MAX_LINES} lines (but buildPlan)`, () => {
  it('counted with the TypeScript compiler, each offender named with its length', () => {
    const all = sources().flatMap((f) => longFunctions(parse(f)));
    const allowed = all.filter((o) => MAY_BE_LONG.has(o.replace(/:.*/, '')));
    expect(all.filter((o) => !allowed.includes(o))).toEqual([]);
  });

  it('the count sees declarations, methods, arrow functions and function expressions, and names them', () => {
    const body = (n: number): string => Array.from({ length: n }, (_, i) => `  step(${i});`).join('\n');
    const sf = parse(
      'y.ts',
      [
        `function long() {\n${body(99)}\n}`, // 101 lines
        `function fits() {\n${body(98)}\n}`, // 100 lines
        `const arrow = () => {\n${body(99)}\n};`,
        `class C {\n  method() {\n${body(99)}\n  }\n}`,
        `run(function () {\n${body(99)}\n});`,
      ].join('\n'),
    );
    expect(longFunctions(sf)).toEqual([
      'y.ts long: 101 lines',
      'y.ts arrow: 101 lines',
      'y.ts method: 101 lines',
      expect.stringMatching(/^y\.ts <anonymous at line \d+>: 101 lines$/),
    ]);
  });
});

// --- (d) a plain run does not load the code of the launches that need more ------------------

/** The modules scripts/bundle.mjs puts in dist/more/ (ONLY_SOME_LAUNCHES): loaded with await import() only. */
const ONLY_SOME_LAUNCHES =
  /^src\/runtime\/(network\/[\w-]+|seccomp\/[\w-]+|userns|namespaces|mount-flags|kernel-flags|volumes|restart-policy|cidfile|log-config|lifecycle\/health)\.ts$/;

/** The modules `file` imports for their values at load: not `import type`, not `await import()`. */
function staticImports(file: string): string[] {
  const out: string[] = [];
  for (const st of parse(file).statements) {
    if (!ts.isImportDeclaration(st) && !ts.isExportDeclaration(st)) continue;
    if (!st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const spec = st.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    if (ts.isImportDeclaration(st)) {
      const c = st.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      // type-only: `import type {...}`, or every name `type X` (erased, nothing loaded)
      if (c?.isTypeOnly || (c && !c.name && named && named.length > 0 && named.every((e) => e.isTypeOnly))) continue;
    } else if (st.isTypeOnly) continue;
    const base = relative(ROOT, join(ROOT, file, '..', spec)).replace(/\.js$/, '');
    const hit = [`${base}.ts`, `${base}.tsx`].find((f) => sources().includes(f));
    if (hit) out.push(hit);
  }
  return out;
}

/** Every module reached from `entry` through static value imports, with the chain that reaches it. */
function loadedAtStart(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length) {
    const f = queue.shift()!;
    for (const g of staticImports(f))
      if (!seen.has(g)) {
        seen.set(g, [...seen.get(f)!, g]);
        queue.push(g);
      }
  }
  return seen;
}

describe('a plain run loads no network, user-namespace or namespace-sharing code', () => {
  it('no static import chain from the launch reaches network/*, userns.ts, namespaces.ts, mount-flags.ts, kernel-flags.ts or volumes.ts (they are await import()ed)', () => {
    const offenders: string[] = [];
    for (const entry of ['src/runtime/run.ts', 'src/runtime/launch.ts', 'src/runtime/options.ts'])
      for (const [f, chain] of loadedAtStart(entry)) if (ONLY_SOME_LAUNCHES.test(f)) offenders.push(chain.join(' -> '));
    expect(offenders).toEqual([]);
  });
  it('the rule sees a static import and ignores type-only ones', () => {
    expect(staticImports('src/runtime/launch.ts')).toContain('src/runtime/handshake.ts');
    expect(staticImports('src/runtime/launch.ts')).not.toContain('src/runtime/network/wiring.ts'); // (import type)
    expect(staticImports('src/runtime/network/wiring.ts')).toContain('src/runtime/network/bridge.ts');
  });
  it('scripts/bundle.mjs moves the same modules to dist/more/', () => {
    const text = readFileSync(join(ROOT, 'scripts/bundle.mjs'), 'utf8');
    const literal = /const ONLY_SOME_LAUNCHES =\s*\/(.+)\/;/.exec(text)?.[1];
    expect(literal, 'scripts/bundle.mjs defines ONLY_SOME_LAUNCHES').toBeDefined();
    const bundled = new RegExp(literal!);
    const mismatched = sources().filter((f) => bundled.test(`/${f}`) !== ONLY_SOME_LAUNCHES.test(f));
    expect(mismatched).toEqual([]);
    expect(sources().filter((f) => ONLY_SOME_LAUNCHES.test(f)).length).toBeGreaterThan(5);
  });
});
