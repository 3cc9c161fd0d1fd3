// The event journal (minidock events): minidock has no daemon to hear what happens to containers,
// so whoever makes it happen writes it down. One JSON line per event in <root>/events.log, appended
// by the verb that caused it (create, start, kill, stop, pause, unpause, rename, destroy, restart,
// attach) and by the C monitor for what only it sees (die, oom, destroy of --rm, a policy's restart;
// native/monitor.c, journal_event), and by gc for the containers it settles (the die nobody wrote,
// the destroy of what it removes: container-store/gc.ts). The line:
//
//   {"time":"2026-12-05T14:00:00.123456789Z","type":"container","action":"die","id":"<64 hex>",
//    "attributes":{"exitCode":"0","image":"/srv/rootfs","name":"web"}}
//
// Kept small on purpose: every launch imports this module (the reading side, with filters and
// --since/--until, is events-query.ts, loaded only by `minidock events`).
import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { mdFlock } from '../../sys/native.js';
import { isoNow } from '../../sys/time.js';

export const EVENTS_FILE = 'events.log';
/** The journal is rotated once it reaches this size: events.log -> events.log.1 (the one before is dropped). */
export const EVENTS_MAX_BYTES = 1 << 20;
/** A line longer than this loses its labels (then its image path is cut): one write() of a few
 * hundred bytes is what keeps a line whole among concurrent writers (see appendEvent). */
const MAX_LINE = 4000;

export type EventAction =
  | 'create'
  | 'start'
  | 'restart'
  | 'die'
  | 'oom'
  | 'kill'
  | 'stop'
  | 'pause'
  | 'unpause'
  | 'rename'
  | 'destroy'
  | 'attach'
  /** the monitor's health keeper, as Docker's: `health_status: healthy` (lifecycle/health.ts) */
  | 'health_status'
  | `health_status: ${'starting' | 'healthy' | 'unhealthy'}`;

export interface JournalEvent {
  /** RFC 3339, UTC, nanoseconds */
  time: string;
  type: 'container';
  action: EventAction;
  id: string;
  /** Docker's Actor.Attributes: image, name, the container's labels, and the action's own (exitCode, signal, oldName) */
  attributes: Record<string, string>;
}

/** What an event says of its container: anything with an id and, if known, its config (an Entry, a spec). */
export interface EventSubject {
  id: string;
  config?: { name?: string; spec?: { rootfs?: string; labels?: Record<string, string> } };
}

export function eventsPath(root: string): string {
  return `${root}/${EVENTS_FILE}`;
}

/** appendEvent for a container of the store: its root is two levels above its directory (<root>/containers/<id>). */
export function journal(
  e: EventSubject & { dir: string },
  action: EventAction,
  extra: Record<string, string> = {},
): void {
  appendEvent(e.dir.replace(/\/+[^/]+\/+[^/]+\/*$/, ''), action, e, extra);
}

/** The container's attributes: image (its rootfs: minidock keeps no image reference), name, labels. */
export function subjectAttributes(s: EventSubject): Record<string, string> {
  const name = s.config?.name;
  return { ...(s.config?.spec?.labels ?? {}), image: s.config?.spec?.rootfs ?? '', ...(name ? { name } : {}) };
}

/** Now, as the journal writes it: RFC 3339 with Docker's nine fraction digits, of which Date.now()
 * gives the first three. (The global `performance` would give finer ones, but Node builds it on first
 * use: ~1.6 ms of every launch, measured. The journal's order is its line order anyway.) */
export function eventTime(ms = Date.now()): string {
  const whole = Math.floor(ms);
  const ns = Math.min(999_999, Math.floor((ms - whole) * 1e6));
  return isoNow(whole).replace('Z', `${String(ns).padStart(6, '0')}Z`);
}

/** One journal line (with its newline), at most MAX_LINE bytes. */
export function formatJournalLine(ev: JournalEvent): string {
  let line = JSON.stringify(ev);
  if (Buffer.byteLength(line) > MAX_LINE) {
    const { image, name, exitCode, signal, oldName } = ev.attributes;
    const keep = Object.fromEntries(
      Object.entries({ exitCode, image, name, oldName, signal }).filter(([, v]) => v !== undefined),
    );
    line = JSON.stringify({ ...ev, attributes: keep });
    if (Buffer.byteLength(line) > MAX_LINE)
      line = JSON.stringify({ ...ev, attributes: { ...keep, image: (image ?? '').slice(0, 1024), name } });
  }
  return `${line}\n`;
}

/**
 * Append one event to the state root's journal, best effort: a verb never fails because its event
 * could not be written (a full disk, a read-only root), and a root that does not exist yet is not
 * made for it (the journal is created on first use, inside a root a writing verb made).
 *
 * Several processes append at once (verbs, monitors). O_APPEND makes each write() move to the end
 * and write in one step, and Linux holds the file's inode lock for the whole write() of a regular
 * file (ext4, xfs, tmpfs, btrfs), so two lines never interleave as long as each is one write():
 * a line is a few hundred bytes, and a write that small to a regular file is never cut short
 * except by a full disk (readers skip a torn line).
 */
export function appendEvent(
  root: string,
  action: EventAction,
  subject: EventSubject,
  extra: Record<string, string> = {},
  maxBytes = EVENTS_MAX_BYTES,
): void {
  appendEvents(root, subject, [{ action, extra }], maxBytes);
}

/** appendEvent for several events of one subject, in order, in one write() (the same guarantees: a
 * write of a few lines is as indivisible as one of a line), and one open: a foreground `run --rm`
 * journals create+start, then die+destroy. */
export function appendEvents(
  root: string,
  subject: EventSubject,
  events: Array<{ action: EventAction; extra?: Record<string, string> }>,
  maxBytes = EVENTS_MAX_BYTES,
): void {
  const path = eventsPath(root);
  const time = eventTime();
  const attributes = subjectAttributes(subject);
  const lines = events.map(({ action, extra }) =>
    formatJournalLine({ time, type: 'container', action, id: subject.id, attributes: { ...attributes, ...extra } }),
  );
  let fd: number;
  try {
    // (libuv opens every file O_CLOEXEC: a container clone()d later never inherits it)
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  } catch {
    return; // no root (yet), or none we may write: no journal
  }
  try {
    writeSync(fd, lines.join(''));
    if (fstatSync(fd).size >= maxBytes) rotate(fd, path);
  } catch {
    /* best effort (see above) */
  } finally {
    closeSync(fd);
  }
}

/**
 * What the journal knows of container `id` (both files, oldest first): whether it names it at all,
 * and whether its last start has no die after it — a run whose end nobody journaled
 * (its monitor, or the launching minidock, was killed first). gc reads it before it settles one.
 */
export function journaledRun(root: string, id: string): { known: boolean; dieMissing: boolean } {
  let known = false;
  let running = false;
  for (const file of [`${eventsPath(root)}.1`, eventsPath(root)]) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes(id)) continue;
      let ev: Partial<JournalEvent>;
      try {
        ev = JSON.parse(line) as Partial<JournalEvent>;
      } catch {
        continue; // a torn line
      }
      if (ev.id !== id) continue;
      known = true;
      if (ev.action === 'start') running = true;
      else if (ev.action === 'die' || ev.action === 'destroy') running = false;
    }
  }
  return { known, dieMissing: running };
}

/**
 * events.log -> events.log.1, once. Two appenders may both find the file full: each takes
 * flock(LOCK_EX) on the file it wrote to and renames only if that file is still events.log, so the
 * second finds a new file there (or none) and leaves it. A writer that opened the old file before
 * the rename (a monitor) appends its line to events.log.1, which `events` reads too.
 */
function rotate(fd: number, path: string): void {
  if (mdFlock(fd, 2 /* LOCK_EX */) < 0) return;
  let current: number | undefined;
  try {
    current = statSync(path).ino;
  } catch {
    return; // rotated and not made again yet
  }
  const mine = fstatSync(fd);
  if (current === mine.ino && mine.size > 0) renameSync(path, `${path}.1`);
}

/**
 * The monitor's share of the journal (die, oom, destroy, restart: native/monitor.c): its arguments
 * `--events PATH ATTRS`, ATTRS being the attributes every line it writes carries, as the inside of a
 * JSON object ("image":"...","name":"..."). The monitor adds the id (its directory's name), the
 * time and the action's own attributes (exitCode).
 */
export function monitorEventArgs(root: string, subject: EventSubject): string[] {
  const inner = (o: Record<string, string>): string => JSON.stringify(o).slice(1, -1);
  let attrs = inner(subjectAttributes(subject));
  // (the monitor's line buffer is 4 KiB: a container with kilobytes of labels keeps image and name)
  if (attrs.length > 2000)
    attrs = inner({
      ...subjectAttributes({ id: subject.id, config: { ...subject.config, spec: {} } }),
      image: (subject.config?.spec?.rootfs ?? '').slice(0, 1024),
    });
  return ['--events', eventsPath(root), attrs];
}
