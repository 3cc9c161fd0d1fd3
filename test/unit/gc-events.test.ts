// gc's share of the event journal (issue 19): when gcEntries settles a stale container it journals
// what rm and the monitor would have — the die nobody wrote (a start with no die after it), then
// destroy for one it removed; a kept one (recorded dead) gets the die only; one whose die is in the
// journal gets no second. Plain files in a temp state root, no root needed: the keepers are pids
// above pid_max's ceiling, which cannot exist.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gcEntries } from '../../src/runtime/container-store/gc';
import { listEntries } from '../../src/runtime/container-store/listing';
import { bootId, containersDir, type ContainerState } from '../../src/runtime/container-store/records';
import { appendEvent, eventsPath, journaledRun } from '../../src/runtime/lifecycle/events';

const base = mkdtempSync(join(tmpdir(), 'minidock-unit-gc-events-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const DEAD = 2 ** 22 + 1; // above pid_max's ceiling: no such process
const idOf = (c: string): string => c.repeat(64);

function container(root: string, c: string, state: ContainerState, o: { autoRemove?: boolean; name?: string } = {}) {
  const id = idOf(c);
  const dir = join(containersDir(root), id);
  mkdirSync(join(dir, 'upper'), { recursive: true });
  const config = { id, name: o.name, created: '2026-01-01T00:00:00Z', detached: true, autoRemove: !!o.autoRemove };
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ ...config, spec: { rootfs: '/srv/rootfs', labels: { team: 'a' } } }),
  );
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
  return { id, config: { name: o.name, spec: { rootfs: '/srv/rootfs', labels: { team: 'a' } } } };
}

const running = (over: Partial<ContainerState> = {}): ContainerState => ({
  status: 'running',
  pid: DEAD,
  monitorPid: DEAD,
  monitorStart: 1,
  startedAt: '2026-01-01T00:00:01Z',
  bootId: bootId(),
  ...over,
});

const journal = (root: string) =>
  readFileSync(eventsPath(root), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { action: string; id: string; attributes: Record<string, string> });

describe('gc journals what it settles', () => {
  const root = join(base, 'r');
  mkdirSync(containersDir(root), { recursive: true });
  mkdirSync(join(root, 'names'));
  // kept: ran without --rm, its monitor killed while it ran (start journaled, no die)
  const kept = container(root, 'a', running(), { name: 'kept' });
  // --rm, its monitor killed: start journaled, no die; gc removes it
  const withRm = container(root, 'b', running({ autoRemove: true }), { autoRemove: true, name: 'tmp' });
  // --rm whose die the monitor journaled before it was killed: no second die, only destroy
  const diedRm = container(root, 'c', running({ autoRemove: true }), { autoRemove: true });
  // a launch that never ran (no start in the journal): destroy only
  const half = container(root, 'd', { status: 'created', launcherPid: DEAD, launcherStart: 1, bootId: bootId() });
  for (const s of [kept, withRm, diedRm]) {
    appendEvent(root, 'create', s);
    appendEvent(root, 'start', s);
  }
  appendEvent(root, 'die', diedRm, { exitCode: '3' });
  const before = journal(root).length;

  it('journaledRun: a start without a die after it, and what the journal never named', () => {
    expect(journaledRun(root, kept.id)).toEqual({ known: true, dieMissing: true });
    expect(journaledRun(root, diedRm.id)).toEqual({ known: true, dieMissing: false });
    expect(journaledRun(root, half.id)).toEqual({ known: false, dieMissing: false });
  });

  it('die for the runs nobody ended, destroy for what gc removed, nothing twice', () => {
    const reports = gcEntries(root, listEntries(root));
    expect(reports.map((r) => r.id).sort()).toEqual([kept.id, withRm.id, diedRm.id, half.id].sort());
    const added = journal(root)
      .slice(before)
      .map((e) => `${e.action} ${e.id[0]}`)
      .sort();
    expect(added).toEqual(['destroy b', 'destroy c', 'destroy d', 'die a', 'die b'].sort());
    const dieA = journal(root).find((e) => e.action === 'die' && e.id === kept.id)!;
    // the container's attributes, as rm's and the monitor's lines carry them; no exit code is known
    // (state.json has none and gc found no cgroup of it to kill)
    expect(dieA.attributes).toEqual({ team: 'a', image: '/srv/rootfs', name: 'kept' });
    expect(journaledRun(root, kept.id).dieMissing).toBe(false);
  });

  it('an exit code state.json recorded is the die line’s; a second gc adds nothing', () => {
    const root2 = join(base, 'r2');
    mkdirSync(containersDir(root2), { recursive: true });
    const s = container(root2, 'e', running({ exitCode: 42 }));
    appendEvent(root2, 'start', s);
    gcEntries(root2, listEntries(root2));
    expect(journal(root2).at(-1)).toMatchObject({ action: 'die', attributes: { exitCode: '42' } });
    const n = journal(root).length;
    expect(gcEntries(root, listEntries(root))).toEqual([]);
    expect(journal(root)).toHaveLength(n);
  });
});
