// The race between reading state.json and finding its keeper gone (container-store/staleness.ts staleReason): a keeper
// writes its last state.json and only then exits, so an entry read just before that write, judged
// just after the exit, looked dead — `minidock wait` printed "is dead" instead of the exit code, and
// gc (stop of a container that had just ended) wrote "dead" over the exit code. Each test builds
// that exact interleaving on plain files: the entry as read before the write, state.json as written
// after it, the keeper a pid that does not exist. No root, no timing.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gcEntries } from '../../src/runtime/container-store/gc';
import { listEntries } from '../../src/runtime/container-store/listing';
import { bootId, containersDir, type ContainerState, type Entry } from '../../src/runtime/container-store/records';
import { effectiveStatus, isStale, staleReason } from '../../src/runtime/container-store/staleness';
import { procStart } from '../../src/sys/proc';

const base = mkdtempSync(join(tmpdir(), 'minidock-unit-stale-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const DEAD = 2 ** 22 + 1; // above pid_max's ceiling: no such process
const root = join(base, 'root');
mkdirSync(join(root, 'names'), { recursive: true });

/** The container as a verb read it (`before`), then state.json as its keeper left it (`after`). */
function raced(c: string, before: ContainerState, after?: ContainerState | string): Entry {
  const id = c.repeat(64);
  const dir = join(containersDir(root), id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ id, created: '2026-01-01T00:00:00Z', detached: true, autoRemove: false, spec: {} }),
  );
  writeFileSync(join(dir, 'state.json'), JSON.stringify(before));
  const e = listEntries(root).find((x) => x.id === id)!;
  expect(e.state).toEqual(before);
  if (after !== undefined)
    writeFileSync(join(dir, 'state.json'), typeof after === 'string' ? after : JSON.stringify(after));
  return e;
}

const running: ContainerState = {
  status: 'running',
  pid: DEAD,
  pidStart: 1,
  monitorPid: DEAD,
  monitorStart: 1,
  startedAt: '2026-01-01T00:00:01Z',
  bootId: bootId(),
  cgroupPaths: [],
};
const exited: ContainerState = {
  ...running,
  status: 'exited',
  finishedAt: '2026-01-01T00:00:02Z',
  exitCode: 137,
  signal: 9,
  oomKilled: false,
};

describe('a keeper that wrote its last state.json and exited between a read and the staleness check', () => {
  it('the monitor wrote "exited" with the exit code: not stale, never "dead" (wait then reads the code)', () => {
    const e = raced('a', running, exited);
    expect(staleReason(e)).toBeUndefined();
    expect(isStale(e)).toBe(false);
    // as of the earlier read it was running; what waitExit must not see is "dead"
    expect(effectiveStatus(e)).toBe('running');
  });

  it('gc given that entry leaves the exit code alone', () => {
    const e = raced('b', running, exited);
    expect(gcEntries(root, [e]).filter((r) => r.id === e.id)).toEqual([]);
    expect(JSON.parse(readFileSync(join(e.dir, 'state.json'), 'utf8'))).toEqual(exited);
  });

  it('the launcher handed over to a live monitor and exited: not stale', () => {
    const me = { monitorPid: process.pid, monitorStart: procStart('self')! };
    const e = raced(
      'c',
      { status: 'created', launcherPid: DEAD, launcherStart: 1, bootId: bootId() },
      { ...running, ...me },
    );
    expect(staleReason(e)).toBeUndefined();
  });

  it('the launcher handed over to a monitor that is gone too: stale, for the monitor', () => {
    const e = raced('d', { status: 'created', launcherPid: DEAD, launcherStart: 1, bootId: bootId() }, running);
    expect(staleReason(e)).toBe(`its monitor (pid ${DEAD}) is gone; exit status unknown`);
  });

  it('nothing newer was written (the monitor really died): still stale, and gc records it dead', () => {
    const e = raced('e', running);
    expect(staleReason(e)).toBe(`its monitor (pid ${DEAD}) is gone; exit status unknown`);
    expect(gcEntries(root, [e]).find((r) => r.id === e.id)).toMatchObject({ kept: true });
    expect(JSON.parse(readFileSync(join(e.dir, 'state.json'), 'utf8'))).toMatchObject({
      status: 'dead',
      error: `its monitor (pid ${DEAD}) is gone; exit status unknown`,
    });
  });

  it('state.json unreadable on the second read: unknown, never stale', () => {
    const e = raced('f', running, '{"status":"exi');
    expect(staleReason(e)).toBeUndefined();
  });
});
