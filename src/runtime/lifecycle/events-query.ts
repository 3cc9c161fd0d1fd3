// Reading the event journal (minidock events; the journal and who writes it: events.ts): its lines
// parsed, --since/--until as Docker takes them, --filter, the two ways of printing an event
// (Docker's text line and its `{{json .}}` object), and the read itself: a range that ends, or a
// follow that waits for new lines until the caller stops it. Reads only: never creates or deletes.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { fail } from '../../errors.js';
import { eventsPath, type EventAction, type JournalEvent } from './events.js';

/** Every action the journal holds, in the order a container meets them. */
export const EVENT_ACTIONS: EventAction[] = [
  'create',
  'start',
  'attach',
  'kill',
  'oom',
  'die',
  'stop',
  'restart',
  'pause',
  'unpause',
  'rename',
  'destroy',
  'health_status',
];
const FILTER_KEYS = ['container', 'event', 'image', 'label', 'type'];

/** A journal line, or undefined for one that is not (a line torn by a full disk, a stray edit). */
export function parseEventLine(line: string): JournalEvent | undefined {
  try {
    const ev = JSON.parse(line) as JournalEvent;
    if (typeof ev?.time !== 'string' || typeof ev.action !== 'string' || typeof ev.id !== 'string') return undefined;
    if (eventNs(ev.time) === undefined) return undefined;
    return { ...ev, type: ev.type ?? 'container', attributes: ev.attributes ?? {} };
  } catch {
    return undefined;
  }
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** "2026-12-05T14:00:00.123456789Z" (or an offset, or less precise) as nanoseconds since 1970; a
 * time without a zone is local time, as Docker reads it. */
export function eventNs(time: string): bigint | undefined {
  const m = RFC3339.exec(time);
  if (!m) return undefined;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1, 7);
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  let ms: number;
  if (m[8] === undefined) {
    ms = new Date(...fields).getTime();
  } else {
    ms = Date.UTC(...fields);
    if (m[8].toUpperCase() !== 'Z') {
      const off = /^([+-])(\d{2}):?(\d{2})$/.exec(m[8])!;
      ms -= (off[1] === '-' ? -1 : 1) * (Number(off[2]) * 60 + Number(off[3])) * 60_000;
    }
  }
  if (Number.isNaN(ms) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * --since/--until as Docker takes them: an RFC 3339 time or date (2026-12-05T14:00:00Z,
 * 2026-12-05), a Unix timestamp (1733407200, 1733407200.5), or a Go duration before now (10m,
 * 1h30m, 90s). Nanoseconds since 1970; one line and exit 125 otherwise.
 */
export function parseTimeArg(raw: string, flag: string, nowNs: bigint): bigint {
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(raw)) {
    let ns = 0;
    for (const [, n, unit] of raw.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ns += Number(n) * UNITS[unit];
    return nowNs - BigInt(Math.round(ns));
  }
  const unix = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(raw);
  if (unix) return BigInt(unix[1]) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0'));
  const ns = eventNs(raw);
  if (ns !== undefined) return ns;
  return fail(
    `${flag} ${raw}: use a time (2026-12-05T14:00:00Z, 2026-12-05), a Unix timestamp (1733407200) or a duration before now (10m, 1h30m)`,
  );
}

/** The filters, by key: values of one key are alternatives, different keys must all match (Docker's rule). */
export type EventFilters = Map<string, string[]>;

/** --filter KEY=VALUE, each checked: one line and exit 125 for a key or an event minidock does not know. */
export function parseFilters(raw: string[]): EventFilters {
  const filters: EventFilters = new Map();
  for (const f of raw) {
    const eq = f.indexOf('=');
    if (eq <= 0) fail(`--filter ${f}: use KEY=VALUE, e.g. container=web or event=die`);
    const key = f.slice(0, eq).toLowerCase();
    const value = f.slice(eq + 1);
    if (!FILTER_KEYS.includes(key))
      fail(`--filter ${f}: minidock's events take ${FILTER_KEYS.map((k) => `${k}=`).join(', ')} filters`);
    if (key === 'event' && !EVENT_ACTIONS.includes(value as EventAction) && !/^health_status: /.test(value))
      fail(`--filter ${f}: minidock journals no such event; its events are ${EVENT_ACTIONS.join(', ')}`);
    if (key === 'type' && value !== 'container')
      fail(`--filter ${f}: minidock journals container events only (type=container)`);
    filters.set(key, [...(filters.get(key) ?? []), value]);
  }
  return filters;
}

/** Does the event pass every filter? container= is Docker's fuzzy match: the ID or the name, or a prefix of either. */
export function matches(ev: JournalEvent, filters: EventFilters): boolean {
  const one = (key: string, test: (v: string) => boolean): boolean => {
    const values = filters.get(key);
    return !values || values.some(test);
  };
  const name = ev.attributes.name ?? '';
  return (
    one('container', (v) => ev.id.startsWith(v) || (name !== '' && name.startsWith(v))) &&
    // (health_status matches `health_status: healthy` too, as Docker's fuzzy match of that one)
    one('event', (v) => ev.action === v || (v === 'health_status' && ev.action.startsWith('health_status: '))) &&
    one('image', (v) => ev.attributes.image === v) &&
    one('type', (v) => ev.type === v) &&
    one('label', (v) => {
      const eq = v.indexOf('=');
      return eq < 0 ? v in ev.attributes : ev.attributes[v.slice(0, eq)] === v.slice(eq + 1);
    })
  );
}

const sortedAttributes = (ev: JournalEvent): Array<[string, string]> =>
  Object.entries(ev.attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Docker's text line: `2026-12-05T14:00:00.000000000Z container die ID (exitCode=0, image=…, name=…)`. */
export function formatText(ev: JournalEvent): string {
  const ns = eventNs(ev.time) ?? 0n;
  const ms = Number(ns / 1_000_000n);
  const time = `${new Date(ms).toISOString().slice(0, 19)}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`;
  const attrs = sortedAttributes(ev).map(([k, v]) => `${k}=${v}`);
  return `${time} ${ev.type} ${ev.action} ${ev.id}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}

/** Docker's `--format '{{json .}}'` object (status, id and from are its older names, still printed). */
export function formatDockerJson(ev: JournalEvent): string {
  const ns = eventNs(ev.time) ?? 0n;
  const text = JSON.stringify({
    status: ev.action,
    id: ev.id,
    from: ev.attributes.image ?? '',
    Type: ev.type,
    Action: ev.action,
    Actor: { ID: ev.id, Attributes: Object.fromEntries(sortedAttributes(ev)) },
    scope: 'local',
    time: Number(ns / 1_000_000_000n),
    timeNano: 0,
  });
  // (nanoseconds since 1970 do not fit a double exactly: written from the bigint)
  return text.replace(/"timeNano":0}$/, `"timeNano":${ns}}`);
}

/** What to read: the range (nanoseconds; until absent: follow), the filters, and when to stop following. */
export interface EventQuery {
  since?: bigint;
  until?: bigint;
  filters: EventFilters;
  /** a follow ends when this is aborted (^C) */
  signal?: AbortSignal;
  /** how often a follow looks for new lines (ms) */
  pollMs?: number;
}

/** One file of the journal being read: where we are in it, and the start of a line not complete yet. */
class JournalReader {
  pos = 0;
  private pending = Buffer.alloc(0);
  private constructor(
    readonly fd: number,
    readonly ino: number,
  ) {}

  static open(path: string): JournalReader | undefined {
    try {
      const fd = openSync(path, 'r');
      return new JournalReader(fd, fstatSync(fd).ino);
    } catch {
      return undefined; // none yet: nothing happened, or nothing since the root was made
    }
  }

  /** The complete lines written since the last read (a line being written stays for the next). */
  read(): JournalEvent[] {
    const chunks = [this.pending];
    const buf = Buffer.alloc(1 << 16);
    for (
      let n = readSync(this.fd, buf, 0, buf.length, this.pos);
      n > 0;
      n = readSync(this.fd, buf, 0, buf.length, this.pos)
    ) {
      this.pos += n;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    const all = Buffer.concat(chunks);
    const cut = all.lastIndexOf(0x0a) + 1;
    this.pending = all.subarray(cut);
    const out: JournalEvent[] = [];
    for (const line of all.toString('utf8', 0, cut).split('\n')) {
      const ev = line ? parseEventLine(line) : undefined;
      if (ev) out.push(ev);
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/**
 * The journal's events that pass the query, a batch at a time. With `until`, the range (waiting
 * for it to come if it lies ahead, as Docker does) and the end; without, what came since `since`
 * (or nothing old) and then each new line as it is appended, until `signal` is aborted. The
 * rotated file (events.log.1) is read first; a rotation while following is noticed by the inode
 * at events.log changing: the old file is read to its end, then the new one from its start.
 */
export async function* readEvents(root: string, q: EventQuery): AsyncGenerator<JournalEvent[]> {
  const path = eventsPath(root);
  const inRange = (ev: JournalEvent): boolean => {
    const t = eventNs(ev.time)!;
    return (q.since === undefined || t >= q.since) && (q.until === undefined || t <= q.until) && matches(ev, q.filters);
  };
  const history = q.since !== undefined || q.until !== undefined;
  if (history) {
    const old = JournalReader.open(`${path}.1`);
    if (old) {
      const batch = old.read().filter(inRange);
      old.close();
      if (batch.length) yield batch;
    }
  }
  let cur = JournalReader.open(path);
  try {
    if (cur && !history) cur.pos = fstatSync(cur.fd).size; // from now on
    for (;;) {
      const ended = q.signal?.aborted || (q.until !== undefined && nowNs() > q.until);
      const batch = (cur?.read() ?? []).filter(inRange);
      if (batch.length) yield batch;
      if (ended) return;
      const ino = inodeOf(path);
      if (ino !== undefined && ino !== cur?.ino) {
        // rotated (or made): the old file's last lines are read above; the new one from its start
        const next = JournalReader.open(path);
        if (next) {
          const last = (cur?.read() ?? []).filter(inRange);
          if (last.length) yield last;
          cur?.close();
          cur = next;
          continue;
        }
      }
      await sleepOrAbort(q.pollMs ?? 100, q.signal);
    }
  } finally {
    cur?.close();
  }
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

function sleepOrAbort(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
