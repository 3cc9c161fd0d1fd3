// An internal error's stack trace, with each frame of a bundle (dist/**/*.cjs, minified: names and
// columns mean nothing to a reader) turned back into the src/ file and line it was built from, with
// the source map scripts/bundle.mjs writes beside each bundle (FILE.cjs.map). Run only when an
// internal error is reported; a frame whose map is missing stays as it is.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

type SourceMapClass = typeof import('node:module').SourceMap;

export function sourceStack(stack: string): string {
  let SourceMap: SourceMapClass | undefined;
  const maps = new Map<string, InstanceType<SourceMapClass> | undefined>();
  const mapOf = (file: string) => {
    if (!maps.has(file)) {
      let map: InstanceType<SourceMapClass> | undefined;
      if (existsSync(`${file}.map`)) {
        SourceMap ??= (createRequire(import.meta.url)('node:module') as typeof import('node:module')).SourceMap;
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      }
      maps.set(file, map);
    }
    return maps.get(file);
  };
  return stack.replace(/(\/[^\s():]+\.cjs):(\d+):(\d+)/g, (frame, file: string, line: string, col: string) => {
    // (a 1-based line and column; the map counts from 0, and from the line after the module wrapper
    // bundle.mjs put on a line of its own)
    const e = mapOf(file)?.findEntry(Number(line) - 2, Number(col) - 1) as
      | { originalSource?: string; originalLine: number; originalColumn: number }
      | undefined;
    if (!e?.originalSource) return frame;
    return `${e.originalSource.replace(/^(\.\.\/)+/, '')}:${e.originalLine + 1}:${e.originalColumn + 1}`;
  });
}
