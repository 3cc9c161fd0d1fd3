// `minidock images`: the imported images, as a table (one row per name) or JSON.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('images')
    .description('list imported images')
    .helpOption('--help', 'display help for images')
    .option('-q, --quiet', 'only image IDs')
    .option('--format <fmt>', 'table (default) or json')
    .option(
      '-f, --filter <filter>',
      'label=KEY or label=KEY=VALUE: only images with that label (config.Labels); repeatable, all must match',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      process.exitCode = await images(flags);
    });
}

async function images(flags: { root?: string; quiet?: boolean; format?: string; filter?: string[] }): Promise<number> {
  const [{ fail }, { stateRoot }, { fmtBytes }, { containersOf, listImages }, { imageSize }, labels] =
    await Promise.all([
      import('../errors.js'),
      import('../runtime/state-root.js'),
      import('../image/source.js'),
      import('../image/store.js'),
      import('../image/remove.js'),
      import('../image/raw-config.js'),
    ]);
  const filters = labels.parseImageFilters(flags.filter ?? []);
  const root = stateRoot(flags.root);
  const images = listImages(root).filter((i) => labels.labelsMatch(labels.imageLabels(root, i), filters));
  if (flags.quiet) {
    for (const i of images) process.stdout.write(i.id.slice(7, 19) + '\n');
    return 0;
  }
  if (flags.format === 'json') {
    const out = images.map((i) => ({
      ...i,
      size: imageSize(root, i),
      containers: containersOf(root, i).map((c) => c.id),
    }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  if (flags.format && flags.format !== 'table') fail(`--format ${flags.format}: use table or json`);
  const rows: string[][] = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'LAYERS']];
  for (const i of images) {
    const names = i.names.length ? i.names : ['<none>:<none>'];
    for (const n of names) {
      const [repo, tag] = n === '<none>:<none>' ? ['<none>', '<none>'] : split(n);
      rows.push([
        repo,
        tag,
        i.id.slice(7, 19),
        ago(i.created ?? i.imported),
        fmtBytes(imageSize(root, i)),
        String(i.layers.length),
      ]);
    }
  }
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows)
    process.stdout.write(
      r
        .map((v, c) => (c === r.length - 1 ? v : v.padEnd(w[c] + 3)))
        .join('')
        .trimEnd() + '\n',
    );
  return 0;
}

function ago(iso: string | undefined): string {
  if (!iso) return '-';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (!Number.isFinite(s)) return '-';
  if (s < 60) return 'less than a minute ago';
  for (const [n, u] of [
    [86400 * 365, 'year'],
    [86400 * 30, 'month'],
    [86400 * 7, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ] as const) {
    if (s >= n) {
      const k = Math.floor(s / n);
      return `${k} ${u}${k > 1 ? 's' : ''} ago`;
    }
  }
  return '-';
}

function split(name: string): [string, string] {
  const i = name.lastIndexOf(':');
  return i > name.lastIndexOf('/') ? [name.slice(0, i), name.slice(i + 1)] : [name, 'latest'];
}
