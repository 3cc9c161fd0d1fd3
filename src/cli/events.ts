// `minidock events [--since T] [--until T] [--filter KEY=VALUE]... [--format json]`: the container
// events of the state root's journal (src/runtime/lifecycle/events.ts writes it, events-query.ts
// reads it), as Docker's lines or its `{{json .}}` objects. Without --until it follows new events
// until ^C (exit 0); with --until it prints the range and exits.
import type { Command } from 'commander';
import type { RootFlag } from '../runtime/lifecycle/common.js';

export interface EventsFlags extends RootFlag {
  since?: string;
  until?: string;
  filter?: string[];
  format?: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('events')
    .description('print container events (create, start, die, kill, stop, oom, destroy...) from the journal')
    .option('--since <time>', 'events since this time: RFC 3339, a Unix timestamp, or a duration before now (10m)')
    .option('--until <time>', 'events until this time, then exit (without it: follow new events until ^C)')
    .option(
      '-f, --filter <key=value>',
      'container=NAME|ID, event=die, image=ROOTFS, label=K[=V], type=container (repeatable)',
      collect,
      [],
    )
    .option('--format <format>', "json: one Docker '{{json .}}' object per line")
    .option('--root <dir>', 'state root (default $MINIDOCK_ROOT or /var/lib/minidock)')
    .action(async (flags: Record<string, unknown>) => {
      process.exitCode = await events(flags);
    });
}

async function events(flags: EventsFlags): Promise<number> {
  const [{ fail }, { writeAll }, { rootOf }, q] = await Promise.all([
    import('../errors.js'),
    import('../sys/output.js'),
    import('../runtime/lifecycle/common.js'),
    import('../runtime/lifecycle/events-query.js'),
  ]);
  const format = flags.format;
  if (format !== undefined && format !== 'json' && format.replace(/\s+/g, '') !== '{{json.}}')
    fail(
      `--format ${format}: use --format json (Docker's '{{json .}}'), or none for text lines; minidock takes no other templates`,
    );
  const now = BigInt(Date.now()) * 1_000_000n;
  const since = flags.since === undefined ? undefined : q.parseTimeArg(flags.since, '--since', now);
  const until = flags.until === undefined ? undefined : q.parseTimeArg(flags.until, '--until', now);
  if (since !== undefined && until !== undefined && until < since)
    fail(`--until ${flags.until} comes before --since ${flags.since}: give a range that ends after it starts`);
  const filters = q.parseFilters(flags.filter ?? []);
  const root = rootOf(flags);
  // ^C (or SIGTERM) ends a follow, as it ends docker events
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  const show = format === undefined ? q.formatText : q.formatDockerJson;
  for await (const batch of q.readEvents(root, { since, until, filters, signal: stop.signal }))
    if (!writeAll(1, batch.map((ev) => `${show(ev)}\n`).join(''))) break; // (the reader went away: EPIPE)
  return 0;
}
