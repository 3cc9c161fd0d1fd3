// Bundles src/cli/main.ts into dist/ with esbuild: dist/minidock.js plus one chunk per lazily
// loaded verb. Why bundle at all: Node pays ~1-2 ms per ES module file it loads, and a CLI that
// every container launch starts must start fast (see docs/performance.md).
import { build } from 'esbuild';

// commander requires node:child_process at load time (for git-style executable subcommands,
// which minidock does not use); that builtin alone costs ~5 ms to load. Give commander a proxy
// that loads it on first use instead.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/') ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: process.argv[2] ?? 'dist',
  entryNames: 'minidock',
  chunkNames: 'chunks/[name]-[hash]',
  // native bindings and the UI libraries stay outside: only the verbs that draw load ink/React
  external: ['ffi-rs', '@yuuang/*', 'ink', 'react', 'react/*', 'ink-testing-library', '@resvg/*', 'vega', 'vega-lite'],
  banner: { js: "import { createRequire as __mdRequire } from 'node:module'; const require = __mdRequire(import.meta.url);" },
  plugins: [lazyChildProcess],
  logLevel: 'warning',
});
