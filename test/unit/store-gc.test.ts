// Which containers are stale, and what gc does with each (container-store: staleReason, effectiveStatus,
// gcEntries), on a state root of plain files in a temp directory: containers/<id>/{config,state}.json
// as minidock writes them, names/<name> symlinks, staging directories. No root, no cgroups: the
// keepers are pids that do not exist (above the default pid_max ceiling) or this process itself.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gcEntries } from '../../src/runtime/container-store/gc';
import { listEntries } from '../../src/runtime/container-store/listing';
import { bootId, containersDir, type ContainerState, type Entry } from '../../src/runtime/container-store/records';
import { effectiveStatus, staleReason } from '../../src/runtime/container-store/staleness';
import { procStart } from '../../src/sys/proc';

const base = mkdtempSync(join(tmpdir(), 'minidock-unit-gc-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const DEAD = 2 ** 22 + 1; // above pid_max's ceiling: no such process
const ME = process.pid;
const MY_START = procStart('self')!;
const idOf = (c: string): string => c.repeat(64);

function makeRoot(name: string): string {
  const root = join(base, name);
  mkdirSync(containersDir(root), { recursive: true });
  mkdirSync(join(root, 'names'), { recursive: true });
  return root;
}

function container(
  root: string,
  c: string,
  state: ContainerState | undefined,
  o: { detached?: boolean; autoRemove?: boolean; name?: string } = {},
): string {
  const id = idOf(c);
  const dir = join(containersDir(root), id);
  mkdirSync(join(dir, 'upper'), { recursive: true });
  writeFileSync(join(dir, 'container.log'), 'hello\n');
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      id,
      name: o.name,
      created: '2026-01-01T00:00:00Z',
      detached: o.detached ?? true,
      autoRemove: !!o.autoRemove,
      spec: {},
    }),
  );
  if (state) writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
  if (o.name) symlinkSync(id, join(root, 'names', o.name));
  return dir;
}

const ran = (over: Partial<ContainerState> = {}): ContainerState => ({
  status: 'running',
  pid: DEAD,
  monitorPid: DEAD,
  monitorStart: 1,
  startedAt: '2026-01-01T00:00:01Z',
  bootId: bootId(),
  ...over,
});

describe('staleReason and effectiveStatus', () => {
  const root = makeRoot('stale');
  const entry = (c: string): Entry => listEntries(root).find((e) => e.id === idOf(c))!;

  it('a directory without state.json is stale (a live launch writes it before the directory is visible)', () => {
    container(root, 'a', undefined);
    expect(staleReason(entry('a'))).toBe('no state.json');
    expect(effectiveStatus(entry('a'))).toBe('dead');
  });

  it('a state.json that cannot be parsed is unknown, never stale: it may be running', () => {
    const dir = container(root, 'b', undefined);
    writeFileSync(join(dir, 'state.json'), '{"status":"runn');
    expect(entry('b').stateError).toMatch(/state\.json: cannot be parsed/);
    expect(staleReason(entry('b'))).toBeUndefined();
    expect(effectiveStatus(entry('b'))).toBe('unknown');
  });

  it('a foreground run whose minidock is gone is told apart from a detached one whose monitor is gone', () => {
    container(root, 'c', ran(), { detached: false });
    expect(staleReason(entry('c'))).toBe(
      `the minidock running it in the foreground (pid ${DEAD}) is gone; exit status unknown`,
    );
  });

  it('a live keeper (same pid and start time) is not stale; the same pid with another start time is a reused pid', () => {
    container(root, 'd', ran({ monitorPid: ME, monitorStart: MY_START }));
    expect(staleReason(entry('d'))).toBeUndefined();
    expect(effectiveStatus(entry('d'))).toBe('running');
    container(root, 'e', ran({ monitorPid: ME, monitorStart: MY_START + 1 }));
    expect(staleReason(entry('e'))).toBe(`its monitor (pid ${ME}) is gone; exit status unknown`);
  });

  it('a launch in progress is looked after by its launcher while that one lives', () => {
    container(root, 'f', { status: 'created', launcherPid: ME, launcherStart: MY_START, bootId: bootId() });
    expect(staleReason(entry('f'))).toBeUndefined();
    expect(effectiveStatus(entry('f'))).toBe('created');
  });
});

describe('gcEntries: what gc does with each container', () => {
  const root = makeRoot('gc');
  const kept = container(root, '1', ran(), { name: 'kept' });
  const neverRan = container(
    root,
    '2',
    { status: 'created', launcherPid: DEAD, launcherStart: 1, bootId: bootId() },
    { name: 'half' },
  );
  const withRm = container(root, '3', ran({ autoRemove: true }), { autoRemove: true });
  const exited = container(root, '4', {
    status: 'exited',
    exitCode: 0,
    startedAt: 'x',
    finishedAt: 'y',
    monitorPid: DEAD,
  });
  const alive = container(root, '5', ran({ monitorPid: ME, monitorStart: MY_START }));
  const earlierBoot = container(root, '6', ran({ monitorPid: ME, monitorStart: MY_START, bootId: 'another boot' }));
  const staleStaging = join(containersDir(root), `.new-${DEAD}-1-${idOf('7')}`);
  const liveStaging = join(containersDir(root), `.new-${ME}-${MY_START}-${idOf('8')}`);
  mkdirSync(staleStaging);
  mkdirSync(liveStaging);

  const reports = gcEntries(root, listEntries(root));
  const report = (c: string) => reports.find((r) => r.id === idOf(c));

  it('a container that ran without --rm is recorded dead, with the reason, and keeps its data and name', () => {
    expect(report('1')).toMatchObject({
      kept: true,
      why: `its monitor (pid ${DEAD}) is gone; exit status unknown`,
      removed: [],
    });
    const s = JSON.parse(readFileSync(join(kept, 'state.json'), 'utf8')) as ContainerState;
    expect(s).toMatchObject({
      status: 'dead',
      error: `its monitor (pid ${DEAD}) is gone; exit status unknown`,
      startedAt: '2026-01-01T00:00:01Z',
    });
    expect(readFileSync(join(kept, 'container.log'), 'utf8')).toBe('hello\n');
    expect(existsSync(join(kept, 'upper'))).toBe(true);
    expect(readlinkSync(join(root, 'names', 'kept'))).toBe(idOf('1'));
  });

  it('a launch that never ran, and a --rm container, are removed, with their names', () => {
    expect(report('2')).toMatchObject({
      kept: false,
      why: `the minidock that launched it (pid ${DEAD}) is gone`,
      removed: ['directory'],
    });
    expect(existsSync(neverRan)).toBe(false);
    expect(existsSync(join(root, 'names', 'half'))).toBe(false);
    expect(report('3')).toMatchObject({ kept: false, removed: ['directory'] });
    expect(existsSync(withRm)).toBe(false);
  });

  it('exited and looked-after containers are not touched; a state from an earlier boot is stale whatever its pids', () => {
    expect(report('4')).toBeUndefined();
    expect(existsSync(join(exited, 'state.json'))).toBe(true);
    expect(report('5')).toBeUndefined();
    expect(JSON.parse(readFileSync(join(alive, 'state.json'), 'utf8')).status).toBe('running');
    expect(report('6')).toMatchObject({ kept: true, why: 'left from an earlier boot' });
    expect(JSON.parse(readFileSync(join(earlierBoot, 'state.json'), 'utf8')).status).toBe('dead');
  });

  it('a staging directory is removed only when its creator is dead', () => {
    expect(report('7')).toMatchObject({
      why: 'half-created (its minidock died before the directory was complete)',
      removed: ['directory'],
    });
    expect(existsSync(staleStaging)).toBe(false);
    expect(report('8')).toBeUndefined();
    expect(existsSync(liveStaging)).toBe(true);
  });

  it('a second gc finds nothing left to do', () => {
    expect(gcEntries(root, listEntries(root))).toEqual([]);
  });
});
