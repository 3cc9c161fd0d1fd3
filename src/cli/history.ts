// `minidock history IMAGE`: the steps that made an image, newest first, from its config's history
// (imageHistory() in src/image/describe.ts), as `docker history` prints them.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('history')
    .description("show an image's history (its config's history entries and the size of each layer)")
    .argument('<image>', 'NAME[:TAG], image ID or ID prefix')
    .helpOption('--help', 'display help for history')
    .option('--no-trunc', 'do not truncate IDs and commands')
    .option('-q, --quiet', 'only image IDs')
    .option('--format <fmt>', 'table (default) or json')
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (ref: string, flags: Record<string, unknown>) => {
      process.exitCode = await history(ref, flags);
    });
}

async function history(
  ref: string,
  flags: { root?: string; trunc?: boolean; quiet?: boolean; format?: string },
): Promise<number> {
  const [
    { fail, MinidockError },
    { writeOut },
    { stateRoot },
    { findImage },
    { imageHistory },
    { fmtBytes },
    { humanDuration },
    { formatTable },
  ] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/state-root.js'),
    import('../image/store.js'),
    import('../image/describe.js'),
    import('../image/source.js'),
    import('../runtime/lifecycle/common.js'),
    import('./format-table.js'),
  ]);
  if (flags.format && flags.format !== 'table' && flags.format !== 'json')
    fail(`--format ${flags.format}: use table or json`);
  const root = stateRoot(flags.root);
  const img = findImage(root, ref);
  if (!img) throw new MinidockError(`history: no such image: ${ref} (see minidock images)`, 1);
  const rows = imageHistory(root, img);
  const full = flags.trunc === false;
  const id = (s: string): string => (s.startsWith('sha256:') ? (full ? s : s.slice(7, 19)) : s);
  if (flags.quiet) {
    writeOut(rows.map((r) => `${id(r.image)}\n`).join(''));
    return 0;
  }
  if (flags.format === 'json') {
    writeOut(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const cut = (s: string, n: number): string => (full || s.length <= n ? s : `${s.slice(0, n - 1)}…`);
  const ago = (iso?: string): string => {
    const t = iso ? Date.parse(iso) : Number.NaN;
    return Number.isFinite(t) ? `${humanDuration(Date.now() - t)} ago` : '-';
  };
  const table = [['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']];
  for (const r of rows) table.push([id(r.image), ago(r.created), cut(r.createdBy, 45), fmtBytes(r.size), r.comment]);
  writeOut(formatTable(table));
  return 0;
}
