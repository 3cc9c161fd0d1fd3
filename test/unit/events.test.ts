// The event journal's pure parts (src/runtime/lifecycle/events.ts, events-query.ts): the line the
// verbs and the monitor append, its parsing, --since/--until, --filter and their refusals, Docker's
// text and JSON forms, rotation, and a read of a range and a follow over a journal in a temp dir.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendEvent,
  eventTime,
  formatJournalLine,
  journal,
  monitorEventArgs,
  type JournalEvent,
} from '../../src/runtime/lifecycle/events.js';
import {
  eventNs,
  formatDockerJson,
  formatText,
  matches,
  parseEventLine,
  parseFilters,
  parseTimeArg,
  readEvents,
} from '../../src/runtime/lifecycle/events-query.js';
import { minidockError } from '../helpers';

const ID = 'a'.repeat(64);
const OTHER = `b${'0'.repeat(63)}`;
const web = { id: ID, config: { name: 'web', spec: { rootfs: '/srv/rootfs', labels: { tier: 'front' } } } };
const ev = (action: JournalEvent['action'], time: string, id = ID, attributes: Record<string, string> = {}) =>
  ({
    time,
    type: 'container',
    action,
    id,
    attributes: { image: '/srv/rootfs', name: 'web', ...attributes },
  }) as JournalEvent;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'md-events-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = (): JournalEvent[] =>
  readFileSync(join(dir, 'events.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('the journal line', () => {
  it('appendEvent writes one JSON line: time (ns, UTC), type, action, id, image/name/labels and the action’s own attributes', () => {
    appendEvent(dir, 'die', web, { exitCode: '3' });
    const text = readFileSync(join(dir, 'events.log'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(2);
    const [line] = lines();
    expect(line).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/),
      type: 'container',
      action: 'die',
      id: ID,
      attributes: { tier: 'front', image: '/srv/rootfs', name: 'web', exitCode: '3' },
    });
    expect(Math.abs(Number(eventNs(line.time)! / 1_000_000n) - Date.now())).toBeLessThan(5000);
    expect(statSync(join(dir, 'events.log')).mode & 0o777).toBe(0o600);
  });

  it('journal() finds the root two levels above the container directory; an unnamed container has no name attribute', () => {
    journal({ id: ID, dir: join(dir, 'containers', ID), config: { spec: { rootfs: '/r' } } }, 'stop');
    expect(lines()[0]).toMatchObject({ action: 'stop', id: ID, attributes: { image: '/r' } });
    expect(lines()[0].attributes).not.toHaveProperty('name');
  });

  it('never creates a missing root, and never throws (a best-effort write)', () => {
    const missing = join(dir, 'no', 'such', 'root');
    expect(() => appendEvent(missing, 'start', web)).not.toThrow();
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  it('a line stays under 4000 bytes: kilobytes of labels are dropped first, then the image path is cut', () => {
    const labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`label${i}`, 'x'.repeat(40)]));
    const big = formatJournalLine({ ...ev('start', eventTime()), attributes: { ...labels, image: '/r', name: 'web' } });
    expect(Buffer.byteLength(big)).toBeLessThan(4000);
    expect(JSON.parse(big).attributes).toEqual({ image: '/r', name: 'web' });
    const huge = formatJournalLine({ ...ev('start', eventTime()), attributes: { image: `/${'p'.repeat(5000)}` } });
    expect(Buffer.byteLength(huge)).toBeLessThan(4000);
  });

  it('the monitor gets the attributes as the inside of a JSON object (it adds exitCode before them)', () => {
    const [flag, path, attrs] = monitorEventArgs(dir, web);
    expect([flag, path]).toEqual(['--events', join(dir, 'events.log')]);
    expect(JSON.parse(`{"exitCode":"0",${attrs}}`)).toEqual({
      exitCode: '0',
      tier: 'front',
      image: '/srv/rootfs',
      name: 'web',
    });
  });

  it('rotates at the size given: events.log -> events.log.1 once, the older one dropped', () => {
    for (let i = 0; i < 11; i++) appendEvent(dir, 'start', web, { n: String(i) }, 1000);
    const cur = lines(); // (the 11th line began a new file: the 10th filled the last one)
    const old = readFileSync(join(dir, 'events.log.1'), 'utf8').split('\n').filter(Boolean);
    expect(statSync(join(dir, 'events.log.1')).size).toBeGreaterThanOrEqual(1000);
    expect(old.length + cur.length).toBeLessThan(11); // the first rotated file was dropped at the second rotation
    expect(JSON.parse(old.at(-1)!).attributes.n).toBe('9');
    expect(cur.map((l) => l.attributes.n)).toEqual(['10']);
  });
});

describe('parsing and times', () => {
  it('parses its lines, and gives undefined for a torn or foreign one', () => {
    const good = formatJournalLine(ev('die', '2026-12-05T14:00:00.123456789Z', ID, { exitCode: '0' })).trim();
    expect(parseEventLine(good)).toMatchObject({ action: 'die', id: ID });
    expect(parseEventLine(good.slice(0, 40))).toBeUndefined();
    expect(parseEventLine('{"log":"hello\\n"}')).toBeUndefined();
    expect(parseEventLine('{"time":"yesterday","action":"die","id":"x"}')).toBeUndefined();
  });

  it('reads RFC 3339 to the nanosecond, with Z or an offset', () => {
    expect(eventNs('1970-01-01T00:00:01.000000002Z')).toBe(1_000_000_002n);
    expect(eventNs('2026-12-05T15:00:00+01:00')).toBe(eventNs('2026-12-05T14:00:00Z'));
    expect(eventNs('2026-13-05T14:00:00Z')).toBeUndefined();
  });

  it("--since/--until: Docker's forms (RFC 3339, a date, a Unix timestamp, a duration before now)", () => {
    const now = 1_800_000_000_000_000_000n;
    expect(parseTimeArg('2026-12-05T14:00:00Z', '--since', now)).toBe(eventNs('2026-12-05T14:00:00Z'));
    expect(parseTimeArg('1733407200', '--since', now)).toBe(1_733_407_200_000_000_000n);
    expect(parseTimeArg('1733407200.5', '--since', now)).toBe(1_733_407_200_500_000_000n);
    expect(parseTimeArg('10m', '--since', now)).toBe(now - 600_000_000_000n);
    expect(parseTimeArg('1h30m', '--since', now)).toBe(now - 5_400_000_000_000n);
    expect(parseTimeArg('0s', '--until', now)).toBe(now);
    expect(typeof parseTimeArg('2026-12-05', '--since', now)).toBe('bigint');
  });

  it('refuses anything else with one line naming the flag, exit 125', () => {
    for (const bad of ['yesterday', '10 minutes', '-5m', '2026-12-05T25:00:00Z', '']) {
      const e = minidockError(() => parseTimeArg(bad, '--since', 0n));
      expect(e.code).toBe(125);
      expect(e.message).toMatch(/^--since .*: use a time/);
      expect(e.message).not.toContain('\n');
    }
  });
});

describe('filters', () => {
  const f = (...raw: string[]) => parseFilters(raw);

  it("container= matches the ID or the name, or a prefix of either (Docker's fuzzy match)", () => {
    const e = ev('start', '2026-12-05T14:00:00Z');
    expect(matches(e, f('container=web'))).toBe(true);
    expect(matches(e, f('container=we'))).toBe(true);
    expect(matches(e, f(`container=${ID.slice(0, 12)}`))).toBe(true);
    expect(matches(e, f('container=db'))).toBe(false);
    expect(matches(ev('start', '2026-12-05T14:00:00Z', OTHER, { name: '' }), f('container=a'))).toBe(false);
  });

  it('values of one key are alternatives; different keys must all match', () => {
    const die = ev('die', '2026-12-05T14:00:00Z', ID, { exitCode: '1' });
    expect(matches(die, f('event=start', 'event=die'))).toBe(true);
    expect(matches(die, f('event=die', 'container=db'))).toBe(false);
    expect(matches(die, f('event=die', 'image=/srv/rootfs', 'type=container'))).toBe(true);
    expect(matches(ev('start', 'x', ID, { tier: 'front' }), f('label=tier'))).toBe(true);
    expect(matches(ev('start', 'x', ID, { tier: 'front' }), f('label=tier=back'))).toBe(false);
  });

  it('refuses an unknown key, an event minidock never journals, another type, a filter without =: one line, 125', () => {
    const cases: Array<[string, RegExp]> = [
      ['volume=x', /^--filter volume=x: minidock's events take container=, event=, image=, label=, type= filters$/],
      ['event=strat', /^--filter event=strat: minidock journals no such event; its events are create, start/],
      ['type=image', /^--filter type=image: minidock journals container events only/],
      ['container', /^--filter container: use KEY=VALUE/],
    ];
    for (const [raw, re] of cases) {
      const e = minidockError(() => parseFilters([raw]));
      expect(e.code).toBe(125);
      expect(e.message).toMatch(re);
    }
  });
});

describe("Docker's two forms", () => {
  const e = ev('die', '2026-12-05T14:00:00.000000042Z', ID, { exitCode: '3', tier: 'front' });

  it('text: time, type, action, ID, attributes sorted by key', () => {
    expect(formatText(e)).toBe(
      `2026-12-05T14:00:00.000000042Z container die ${ID} (exitCode=3, image=/srv/rootfs, name=web, tier=front)`,
    );
  });

  it("json: the object of docker events --format '{{json .}}', timeNano exact", () => {
    const text = formatDockerJson(e);
    expect(text.endsWith(`"timeNano":${Date.UTC(2026, 11, 5, 14)}000042}`)).toBe(true);
    expect(JSON.parse(text)).toEqual({
      status: 'die',
      id: ID,
      from: '/srv/rootfs',
      Type: 'container',
      Action: 'die',
      Actor: { ID, Attributes: { exitCode: '3', image: '/srv/rootfs', name: 'web', tier: 'front' } },
      scope: 'local',
      time: Date.UTC(2026, 11, 5, 14) / 1000,
      timeNano: expect.any(Number),
    });
  });
});

describe('reading the journal', () => {
  const write = (file: string, evs: JournalEvent[]) =>
    writeFileSync(join(dir, file), evs.map((x) => formatJournalLine(x)).join(''));
  const all = async (q: Parameters<typeof readEvents>[1]) => {
    const out: JournalEvent[] = [];
    for await (const b of readEvents(dir, q)) out.push(...b);
    return out;
  };

  it('a range: the rotated file first, then the current one; --since/--until inclusive; torn lines skipped', async () => {
    write('events.log.1', [ev('create', '2026-12-05T13:00:00Z'), ev('start', '2026-12-05T13:00:01Z')]);
    write('events.log', [
      ev('die', '2026-12-05T13:00:02Z', ID, { exitCode: '0' }),
      ev('destroy', '2026-12-05T14:00:00Z'),
    ]);
    appendFileSync(join(dir, 'events.log'), '{"time":"2026-12-05T14:00:01Z","ty\n');
    const range = await all({ filters: new Map(), since: 0n, until: eventNs('2026-12-05T13:00:02Z') });
    expect(range.map((x) => x.action)).toEqual(['create', 'start', 'die']);
    const since = await all({
      filters: new Map(),
      since: eventNs('2026-12-05T13:00:01Z'),
      until: BigInt(Date.now()) * 1_000_000n,
    });
    expect(since.map((x) => x.action)).toEqual(['start', 'die', 'destroy']);
    expect(await all({ filters: parseFilters(['event=die']), until: BigInt(Date.now()) * 1_000_000n })).toHaveLength(1);
  });

  it('no journal yet: an empty range, and a follow that waits for the file to appear', async () => {
    expect(await all({ filters: new Map(), until: 0n })).toEqual([]);
    const stop = new AbortController();
    const seen: string[] = [];
    const follow = (async () => {
      for await (const b of readEvents(dir, { filters: new Map(), signal: stop.signal, pollMs: 10 }))
        seen.push(...b.map((x) => x.action));
    })();
    await new Promise((r) => setTimeout(r, 50));
    appendEvent(dir, 'create', web);
    await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    await follow;
    expect(seen).toEqual(['create']);
  });

  it('a follow: only what comes after it began, across a rotation, a half-written line completed later; ends on abort', async () => {
    write('events.log', [ev('create', '2026-12-05T13:00:00Z')]); // before: not shown
    const stop = new AbortController();
    const seen: string[] = [];
    const follow = (async () => {
      for await (const b of readEvents(dir, { filters: new Map(), signal: stop.signal, pollMs: 10 }))
        seen.push(...b.map((x) => x.action));
    })();
    await new Promise((r) => setTimeout(r, 50));
    appendEvent(dir, 'start', web);
    const half = formatJournalLine(ev('kill', eventTime()));
    appendFileSync(join(dir, 'events.log'), half.slice(0, 30));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(['start']);
    appendFileSync(join(dir, 'events.log'), half.slice(30));
    appendEvent(dir, 'die', web, { exitCode: '0' }, 1); // full: rotated after this line
    expect(existsSync(join(dir, 'events.log.1'))).toBe(true);
    for (let i = 0; i < 5; i++) appendEvent(dir, 'die', web, { exitCode: '0' });
    await new Promise((r) => setTimeout(r, 100));
    appendEvent(dir, 'destroy', web);
    await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    await follow;
    expect(seen).toEqual(['start', 'kill', ...Array(6).fill('die'), 'destroy']);
  });
});
