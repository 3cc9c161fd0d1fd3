// Bundles src/cli/main.ts into dist/minidock.cjs with esbuild. Why bundle at all: Node pays ~1-2 ms per ES module file it loads, and a CLI that
// every container launch starts must start fast (see docs/performance.md).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { build, transform } from 'esbuild';

// Node built-ins that cost time to load and that the launch path rarely or never uses, replaced by
// stand-ins that load them on first use:
// - node:child_process alone costs ~5 ms to load (Node compiles its internals: net, streams, dgram).
//   commander requires it at load time (for git-style executable subcommands, which minidock does not
//   use), and minidock's own modules import it for rare paths that a plain launch never takes
//   (newuidmap in handshake.ts, nft in network/nft.ts): every importer gets a proxy that loads it on
//   first use. (esbuild reads an imported function at each call, `(0, m.spawnSync)(...)`, so the proxy
//   sees the first call, not the import.)
// - `node:module` (for createRequire) pulls in Node's ES module loader and source maps: ~0.4 ms.
//   Inside a bundle, `module.constructor` is that same Module class, already loaded.
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      // (the stand-in's own require is the real builtin)
      args.namespace === 'lazy-builtin'
        ? { path: 'node:child_process', external: true }
        : { path: 'child_process', namespace: 'lazy-builtin' },
    );
    b.onResolve({ filter: /^node:module$/ }, (args) =>
      args.importer.includes('/src/') ? { path: 'module', namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents:
        args.path === 'module'
          ? 'export const createRequire = (from) => module.constructor.createRequire(from);'
          : // a getter per export: esbuild's ESM interop copies an importer's names as getters onto its own
            // object, so each name reads the builtin on first use (a Proxy with no keys would copy nothing)
            "let m; for (const k of ['ChildProcess', 'exec', 'execFile', 'execFileSync', 'execSync', 'fork', 'spawn', 'spawnSync'])" +
            " Object.defineProperty(module.exports, k, { enumerable: true, get: () => (m ??= require('node:child_process'))[k] });",
      loader: 'js',
    }));
  },
};

// Code that only some launches run — the network (--network, -p), user namespaces (--userns,
// rootless), shared namespaces (--ipc/--pid/--uts), the storage and kernel flags (--tmpfs, --mount,
// named volumes; --device, --sysctl, --init, --cgroupns), --restart and --cidfile — is bundled as
// CommonJS: each module inside a function of its own, run when first
// imported. Why: in a bundle of ES modules esbuild puts every module's functions at the top level of
// the file, and V8 makes an entry for each top-level function (with its scope data) in the compiled
// script and its code cache, used or not. Measured with `minidock run --trace` (imports + argument
// parsing): ~3 ms of a plain run's start-up went to these 38 kB that it never calls; as closures
// the plain run pays only for their bytes. (Done for all of src/ this made run.cjs a third larger
// from CommonJS's interop: only these.) Their importers load them with `await import()` (launch.ts,
// options.ts, run.ts), never statically, so that a plain run does not run them either
// (test/unit/architecture.test.ts checks both).
const ONLY_SOME_LAUNCHES =
  /\/src\/runtime\/(network\/[a-z-]+|userns|namespaces|mount-flags|kernel-flags|volumes|restart-policy|cidfile)\.ts$/;
const closures = {
  name: 'closures',
  setup(b) {
    b.onResolve({ filter: /^\./ }, async (args) => {
      if (args.pluginData?.resolving) return undefined;
      const r = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { resolving: true },
      });
      // (outside the file namespace, package.json's "type": "module" does not make them ES modules)
      return r.errors.length || !ONLY_SOME_LAUNCHES.test(r.path)
        ? undefined
        : { path: relative(process.cwd(), r.path), namespace: 'closure', pluginData: { file: r.path } };
    });
    b.onLoad({ filter: /.*/, namespace: 'closure' }, async (args) => ({
      contents: (await transform(readFileSync(args.pluginData.file, 'utf8'), { loader: 'ts', format: 'cjs' })).code,
      loader: 'js',
      resolveDir: dirname(args.pluginData.file),
    }));
  },
};

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
const entryPoints = { minidock: 'src/cli/main.ts' };
for (const v of verbs) entryPoints[`verbs/${v}`] = `verb:${v}`;
const result = await build({
  entryPoints,
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
  plugins: [closures, lazyBuiltins, verbEntries],
  // Whitespace and syntax are minified (less to read at every start); identifiers are not, so stack
  // traces stay readable without esbuild's keepNames, which wraps every function in a __name() call
  // made at every start (~400 in `run`'s bundle, and 140 kB of garbage).
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  logLevel: 'warning',
});

// What is left of `import("x")` in the bundle are imports of external packages (ink, vega, ...) and of
// Node built-ins. Node 20 loses a vm.Script's dynamic-import hook when the script comes from V8's code
// cache ("A dynamic import callback was not specified"), so these go through globalThis.__mdImport,
// which bin/minidock.js defines in its own (ordinary) module scope, where import() always works.
//
// Each file is also written already wrapped in CommonJS's module function, so bin/minidock.js
// compiles it as it is: Module.wrap() would join the wrapper to the source, and V8 would then copy
// the joined string (~200 kB more garbage at every start, enough for a garbage collection).
for (const bundleFile of Object.keys(result.metafile.outputs)) {
  const code = readFileSync(bundleFile, 'utf8').replace(
    /\bimport\(("(?:[^"\\\n]|\\.)*")\)/g,
    'globalThis.__mdImport($1)',
  );
  writeFileSync(bundleFile, `(function (exports, require, module, __filename, __dirname) {${code}\n})`);
}
