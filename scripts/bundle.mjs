// Bundles src/cli/main.ts into dist/minidock.cjs with esbuild. Why bundle at all: Node pays ~1-2 ms per ES module file it loads, and a CLI that
// every container launch starts must start fast (see docs/performance.md).
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build, transform } from 'esbuild';

// Node built-ins that cost time to load and that the launch path rarely or never uses, replaced by
// stand-ins that load them on first use:
// - node:child_process alone costs ~5 ms to load (Node compiles its internals: net, streams, dgram).
//   commander requires it at load time (for git-style executable subcommands, which minidock does not
//   use), and minidock's own modules import it for rare paths that a plain launch never takes
//   (newuidmap in handshake.ts, nft in network/nft.ts): every importer gets a proxy that loads it on
//   first use. (esbuild reads an imported function at each call, `(0, m.spawnSync)(...)`, so the proxy
//   sees the first call, not the import.)
// - node:crypto costs ~4 ms to load (it sets up OpenSSL). Only rare paths hash or draw random bytes
//   (a user network's or a connection's names, an OCI exec's fifo): the same stand-in.
// - `node:module` (for createRequire) pulls in Node's ES module loader and source maps: ~0.4 ms.
//   Inside a bundle, `module.constructor` is that same Module class, already loaded.
const LAZY = {
  child_process: ['ChildProcess', 'exec', 'execFile', 'execFileSync', 'execSync', 'fork', 'spawn', 'spawnSync'],
  crypto: ['createHash', 'createHmac', 'randomBytes', 'randomUUID', 'timingSafeEqual'],
};
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?(child_process|crypto)$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      // (the stand-in's own require is the real builtin)
      return args.namespace === 'lazy-builtin'
        ? { path: `node:${name}`, external: true }
        : { path: name, namespace: 'lazy-builtin' };
    });
    b.onResolve({ filter: /^node:module$/ }, (args) =>
      args.importer.includes('/src/') ? { path: 'module', namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents:
        args.path === 'module'
          ? 'export const createRequire = (from) => module.constructor.createRequire(from);'
          : // a getter per export: esbuild's ESM interop copies an importer's names as getters onto its own
            // object, so each name reads the builtin on first use (a Proxy with no keys would copy nothing)
            `let m; for (const k of ${JSON.stringify(LAZY[args.path])})` +
            ` Object.defineProperty(module.exports, k, { enumerable: true, get: () => (m ??= require('node:${args.path}'))[k] });`,
      loader: 'js',
    }));
  },
};

// Code that only some launches run — the network (--network, -p), user namespaces (--userns,
// rootless), shared namespaces (--ipc/--pid/--uts), the storage and kernel flags (--tmpfs, --mount,
// named volumes; --device, --sysctl, --init, --cgroupns), --restart and --cidfile — lives in a file
// of its own, dist/more.cjs, which a process reads only when it first imports one of these modules.
// Why: every byte of a verb's bundle costs every start that loads it, used or not. Measured on this
// machine kind (2 cores, a VM): reading a bundle and decoding it into a string costs ~9 µs per kB,
// and its code cache more; these modules were ~100 kB of run.cjs's ~390 kB, never run by a plain
// `minidock run --rm ROOTFS true`. (Before, they were CommonJS closures inside each bundle: that
// spared V8 their top-level entries, ~3 ms, but not their bytes.)
//
// How: in a verb's bundle each such module is a stub, `module.exports = __mdMore(KEY, registry)`.
// bin/minidock.js's __mdMore loads more.cjs once (with its own code cache) and returns the module's
// exports. more.cjs holds these modules as CommonJS, and the other modules of src/ they import
// (errors.ts, sys/native.ts, ...) are not copied into it: they come from the registry the stub
// passed, a table of the importing bundle's own instances of them, so there is one MinidockError
// class and one native library per process. Their importers load them with `await import()`
// (launch.ts, options.ts, run.ts), never statically (test/unit/architecture.test.ts checks both).
const ONLY_SOME_LAUNCHES =
  /\/src\/runtime\/(network\/[\w-]+|seccomp\/[\w-]+|userns|namespaces|mount-flags|kernel-flags|volumes|restart-policy|cidfile|log-config|lifecycle\/health)\.ts$/;
const srcKey = (file) => relative(process.cwd(), file);
/** The file of dist/more/ a module goes in: its folder under src/runtime/, or its own name. */
const groupOf = (file) => ONLY_SOME_LAUNCHES.exec(file)[1].split('/')[0];

/** Resolve a relative import as esbuild would, then let `pick` decide what to do with the file. */
function onRelativeImport(b, pick) {
  b.onResolve({ filter: /^\./ }, async (args) => {
    if (args.pluginData?.resolving) return undefined;
    const r = await b.resolve(args.path, {
      kind: args.kind,
      importer: args.importer,
      resolveDir: args.resolveDir,
      pluginData: { resolving: true },
    });
    return r.errors.length ? undefined : pick(r.path, args.importer);
  });
}

/** A stub: the module's exports, from its file of dist/more/ (bin/minidock.js's __mdMore). */
const stub = (file, registry) => ({
  contents: `module.exports = globalThis.__mdMore(${JSON.stringify(groupOf(file))}, ${JSON.stringify(srcKey(file))}, ${registry});`,
  loader: 'js',
});

// The other modules of src/ that dist/more/'s modules import: found by the dist/more/ build, which
// runs first, and given to every verb's bundle as its registry.
const shared = new Set();

/** In a verb's bundle: the stubs, and the registry they pass. */
const moreStubs = {
  name: 'more-stubs',
  setup(b) {
    onRelativeImport(b, (file) => (ONLY_SOME_LAUNCHES.test(file) ? { path: file, namespace: 'more-stub' } : undefined));
    b.onResolve({ filter: /^more-registry$/ }, () => ({ path: 'more-registry', namespace: 'more-registry' }));
    b.onLoad({ filter: /.*/, namespace: 'more-stub' }, (args) => stub(args.path, "require('more-registry')"));
    // (require() inside a function: a module is run when dist/more/ first asks for it, not at start)
    b.onLoad({ filter: /.*/, namespace: 'more-registry' }, () => ({
      contents: requireTable([...shared]),
      loader: 'js',
      resolveDir: process.cwd(),
    }));
  },
};

/** In dist/more/GROUP.cjs: that group's modules as CommonJS; other groups' through their stubs, and
 * the rest of src/ taken from the registry. */
const moreChunk = {
  name: 'more-chunk',
  setup(b) {
    onRelativeImport(b, (file, importer) => {
      if (ONLY_SOME_LAUNCHES.test(file))
        return ONLY_SOME_LAUNCHES.test(importer) && groupOf(file) !== groupOf(importer)
          ? { path: file, namespace: 'more-stub' }
          : { path: file, namespace: 'more-module' };
      if (!file.includes('/src/')) return undefined;
      shared.add(srcKey(file));
      return { path: srcKey(file), namespace: 'more-shared' };
    });
    b.onResolve({ filter: /^more-entry:/ }, (args) => ({ path: args.path.slice(11), namespace: 'more-entry' }));
    b.onLoad({ filter: /.*/, namespace: 'more-entry' }, (args) => ({
      contents: requireTable(moreModules().filter((k) => groupOf(`/${k}`) === args.path)),
      loader: 'js',
      resolveDir: process.cwd(),
    }));
    b.onLoad({ filter: /.*/, namespace: 'more-stub' }, (args) => stub(args.path, 'globalThis.__mdShared'));
    // (outside the file namespace, package.json's "type": "module" does not make them ES modules)
    b.onLoad({ filter: /.*/, namespace: 'more-module' }, async (args) => ({
      contents: ownExports((await transform(readFileSync(args.path, 'utf8'), { loader: 'ts', format: 'cjs' })).code),
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
    b.onLoad({ filter: /.*/, namespace: 'more-shared' }, (args) => ({
      contents: `module.exports = globalThis.__mdShared[${JSON.stringify(args.path)}]();`,
      loader: 'js',
    }));
  },
};

/**
 * A module's exports object as esbuild's transform made it (a getter per name, so that a name is
 * read when used, after the module has run), without the copy `__toCommonJS` adds: a second getter
 * per name and the `__esModule` mark, made at the module's first require. Nothing reads the mark:
 * this group's modules read each other's names straight from the object, and a bundle's stub hands
 * it to esbuild's `__toESM`, which copies it either way. Measured on a bridge launch: the module
 * inits of dist/more/network.cjs took ~1.6 ms, netlink.ts's 50 names ~0.5 ms of it.
 */
function ownExports(code) {
  const re = /^module\.exports = __toCommonJS\((\w+)\);$/m;
  if (!re.test(code)) return code; // (a module without exports)
  return code.replace(re, 'module.exports = $1;');
}

/** `{ "src/x.ts": () => require("./src/x.ts"), ... }`: each module run when first asked for. */
const requireTable = (keys) =>
  `module.exports = {${keys.map((k) => `\n  ${JSON.stringify(k)}: () => require(${JSON.stringify(`./${k}`)}),`).join('')}\n};`;

/** The files ONLY_SOME_LAUNCHES matches, as keys (src/runtime/network/index.ts). */
function moreModules() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (ONLY_SOME_LAUNCHES.test(`/${f}`)) out.push(f);
    }
  };
  walk('src');
  return out.sort();
}

// One verb's entry: the same main as src/cli/main.ts, with a verb table holding that verb only.
// Every verb gets a bundle of its own (dist/verbs/<verb>.cjs), which bin/minidock.js loads when that
// verb is invoked: `minidock run` then reads, and deserializes the compiled code of, only what `run`
// can reach (about a third of the whole), not the image importer, the benchmark or the lessons.
// dist/minidock.cjs, with every verb, serves help, --version and unknown verbs.
const verbEntries = {
  name: 'verb-entries',
  setup(b) {
    b.onResolve({ filter: /^verb:/ }, (args) => ({ path: args.path.slice(5), namespace: 'verb-entry' }));
    b.onLoad({ filter: /.*/, namespace: 'verb-entry' }, (args) => ({
      contents: `import { runMain } from './program.js';\nimport { register } from './${args.path}.js';\nrunMain({ ${JSON.stringify(args.path)}: register });\n`,
      resolveDir: 'src/cli',
      loader: 'ts',
    }));
  },
};
// the verbs, from the imports of src/cli/verbs.ts (`import { register as runVerb } from './run.js';`)
const verbs = [
  ...readFileSync('src/cli/verbs.ts', 'utf8').matchAll(/^import \{ register as \w+ \} from '\.\/([\w-]+)\.js';$/gm),
].map((m) => m[1]);
if (verbs.length === 0) throw new Error('bundle.mjs: no verbs found in src/cli/verbs.ts');

// CommonJS files rather than ES modules: Node 20 cannot cache the compiled code of ES modules,
// but bin/minidock.js loads these files through vm.Script with V8's code cache (see there). Modules
// reached only through `await import()` (each verb's implementation) stay lazy: esbuild wraps them in
// initializers that run on first import.
const out = process.argv[2] ?? 'dist';
const options = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outdir: out,
  outExtension: { '.js': '.cjs' },
  // native bindings and the UI libraries stay outside: only the verbs that draw load ink/React
  external: ['ffi-rs', '@yuuang/*', 'ink', 'react', 'react/*', 'ink-testing-library', '@resvg/*', 'vega', 'vega-lite'],
  // The sources are ES modules. In the CommonJS bundle import.meta.dirname is __dirname, and
  // import.meta.url this file's URL, made when first asked for (pathToFileURL costs ~0.3 ms; the
  // launch path asks for import.meta.dirname only).
  define: { 'import.meta.url': '__mdMeta.url', 'import.meta.dirname': '__dirname' },
  banner: { js: "const __mdMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" },
  // Everything is minified, identifiers too: every start reads and decodes its bundle (~9 µs per kB
  // here), and minified identifiers made run.cjs a quarter smaller (263 -> 197 kB, ~1.5 ms of each
  // launch's start-up). Stack traces stay readable another way: each bundle has its source map beside
  // it (FILE.cjs.map, read only when an internal error is reported: src/cli/stack.ts), which turns
  // each frame back into a src/ file and line. (esbuild's keepNames would keep names instead, at a
  // __name() call per function made at every start: ~400 in run's bundle, and 140 kB of garbage.)
  minify: true,
  sourcemap: 'external',
  sourcesContent: false,
  metafile: true,
  logLevel: 'warning',
};
// more.cjs first: its build finds the modules of src/ the verbs' registries must hold
const groups = [...new Set(moreModules().map((k) => groupOf(`/${k}`)))];
const more = await build({
  ...options,
  entryPoints: Object.fromEntries(groups.map((g) => [`more/${g}`, `more-entry:${g}`])),
  plugins: [moreChunk, lazyBuiltins],
});
const entryPoints = { minidock: 'src/cli/main.ts' };
for (const v of verbs) entryPoints[`verbs/${v}`] = `verb:${v}`;
const result = await build({ ...options, entryPoints, plugins: [moreStubs, lazyBuiltins, verbEntries] });

// What is left of `import("x")` in the bundle are imports of external packages (ink, vega, ...) and of
// Node built-ins. Node 20 loses a vm.Script's dynamic-import hook when the script comes from V8's code
// cache ("A dynamic import callback was not specified"), so these go through globalThis.__mdIm,
// which bin/minidock.js defines in its own (ordinary) module scope, where import() always works.
//
// Each file is also written already wrapped in CommonJS's module function, so bin/minidock.js
// compiles it as it is: Module.wrap() would join the wrapper to the source, and V8 would then copy
// the joined string (~200 kB more garbage at every start, enough for a garbage collection).
//
// Both keep the source map right: __mdIm is as long as `import` (no column moves), and the wrapper's
// first line is a line of its own (every line moves by one, which src/cli/stack.ts subtracts).
for (const bundleFile of [...Object.keys(more.metafile.outputs), ...Object.keys(result.metafile.outputs)]) {
  if (bundleFile.endsWith('.map')) continue;
  const code = readFileSync(bundleFile, 'utf8').replace(/\bimport\(("(?:[^"\\\n]|\\.)*")\)/g, '__mdIm($1)');
  writeFileSync(bundleFile, `(function (exports, require, module, __filename, __dirname) {\n${code}\n})`);
}

// The code caches bin/minidock.js wrote for the bundles this build replaced go: V8 checks a cache
// against its script's length only (and its own version and flags), so the cache of an earlier
// bundle that happens to be as long as the new one would be taken, and the new bundle run with old
// code — lazily compiled functions then come from the new text at the old offsets (seen: a
// SyntaxError in gc after a rebuild that left gc.cjs's length unchanged). The next run writes them again.
for (const dir of [out, join(out, 'verbs'), join(out, 'more')]) {
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    continue;
  }
  for (const f of names) if (f.endsWith('.cache')) rmSync(join(dir, f), { force: true });
}
