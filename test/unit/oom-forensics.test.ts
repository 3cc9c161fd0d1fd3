// OOM forensics (report.ts) and the verdict (native/oom.c, md_oom_killed): kernel log lines as the
// kernel prints them (mm/oom_kill.c on 6.1: the rate-limited "oom-kill:" summary and the
// "Memory cgroup out of memory: Killed process" line), records as /dev/kmsg returns them.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cgroup } from '../../src/runtime/cgroups/index';
import type { LaunchOutcome } from '../../src/runtime/launch';
import { oomTruth, oomVictims, parseKmsgRecord, parseOomKill, type OomVictim } from '../../src/runtime/oom-forensics';
import type { ContainerSpec } from '../../src/runtime/spec';
import { mdOomKilled, packageRoot } from '../../src/sys/native';

const NAME = 'minidock-0123456789ab';
const MEMCG = `/minidock/${NAME}`;
const oomKillText = (memcg: string, task: string, pid: number): string =>
  `oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=${NAME},mems_allowed=0,oom_memcg=${memcg},task_memcg=${memcg},task=${task},pid=${pid},uid=0`;
const killedText = (task: string, pid: number): string =>
  `Memory cgroup out of memory: Killed process ${pid} (${task}) total-vm:53860kB, anon-rss:51200kB, file-rss:4kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0`;
/** a /dev/kmsg record: "prio,seq,usec,flags;text\n", then continuation lines " KEY=value" */
const record = (seq: number, usec: number, text: string): string => `6,${seq},${usec},-;${text}\n SUBSYSTEM=memory\n`;

const dir = mkdtempSync(join(tmpdir(), 'minidock-oom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const logFile = (text: string): string => {
  const f = join(dir, `kmsg-${files++}`);
  writeFileSync(f, text);
  return f;
};

describe('parseOomKill', () => {
  it('reads the victim and both cgroups from the oom-kill summary', () => {
    expect(parseOomKill(oomKillText(MEMCG, 'tail', 12345))).toEqual({
      task: 'tail',
      pid: 12345,
      memcg: MEMCG,
      limitMemcg: MEMCG,
    });
  });

  it('finds the summary after a prefix, with a different limit cgroup (a parent hit its limit)', () => {
    const text = 'kernel: ' + oomKillText(MEMCG, 'sh', 7).replace(`oom_memcg=${MEMCG}`, 'oom_memcg=/minidock');
    expect(parseOomKill(text)).toMatchObject({ task: 'sh', pid: 7, memcg: MEMCG, limitMemcg: '/minidock' });
  });

  it('is undefined for any other line, and for a summary without a task or a numeric pid', () => {
    expect(parseOomKill(killedText('tail', 12345))).toBeUndefined();
    expect(
      parseOomKill('tail invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0'),
    ).toBeUndefined();
    expect(parseOomKill(oomKillText(MEMCG, 'tail', 1).replace(',task=tail', ''))).toBeUndefined();
    expect(parseOomKill(oomKillText(MEMCG, 'tail', 1).replace('pid=1', 'pid=x'))).toBeUndefined();
  });
});

describe('parseKmsgRecord', () => {
  it('takes the timestamp (third field) and the first line of the text', () => {
    expect(parseKmsgRecord(record(881, 5123456789, killedText('tail', 42)))).toEqual({
      usec: 5123456789,
      message: killedText('tail', 42),
    });
  });

  it('keeps the timestamp with a caller field (CONFIG_PRINTK_CALLER) and a semicolon in the text', () => {
    expect(parseKmsgRecord('4,12,3000000,-,caller=T301;a; b\n')).toEqual({ usec: 3000000, message: 'a; b' });
  });

  it('a record without a header has no timestamp (NaN) and is all message', () => {
    const r = parseKmsgRecord('no header here');
    expect(r.usec).toBeNaN();
    expect(r.message).toBe('no header here');
  });
});

describe('oomVictims (one record per read, as /dev/kmsg gives them)', () => {
  it("counts an oom-kill summary naming this container's cgroup", () => {
    expect(oomVictims(NAME, {}, logFile(record(1, 10, oomKillText(MEMCG, 'tail', 900))))).toEqual([
      { task: 'tail', pid: 900, memcg: MEMCG, limitMemcg: MEMCG },
    ]);
  });

  it("ignores another container whose name starts with this one's, and records before sinceUs", () => {
    expect(oomVictims(NAME, {}, logFile(record(1, 10, oomKillText(`${MEMCG}0`, 'tail', 900))))).toEqual([]);
    expect(oomVictims(NAME, { sinceUs: 11 }, logFile(record(1, 10, oomKillText(MEMCG, 'tail', 900))))).toEqual([]);
  });

  it('names the init from its unlimited "Killed process" line when the summary was rate-limited', () => {
    const f = logFile(record(2, 20, killedText('sh', 4242)));
    expect(oomVictims(NAME, { initPid: 4242 }, f)).toEqual([{ task: 'sh', pid: 4242, memcg: '', limitMemcg: '' }]);
    expect(oomVictims(NAME, { initPid: 4243 }, f)).toEqual([]);
  });

  it('finds nothing, and does not throw, without a log', () => {
    expect(oomVictims(NAME, { initPid: 1 }, join(dir, 'absent'))).toEqual([]);
  });
});

describe('oomTruth: the line minidock prints', () => {
  const spec = { args: ['sh', '-c', 'x'], limits: { memory: 50 * 1048576 } } as unknown as ContainerSpec;
  const cgroup = { name: NAME } as Cgroup;
  const outcome = (over: Partial<LaunchOutcome>): LaunchOutcome => ({
    exitCode: 137,
    signal: 9,
    oomKilled: false,
    steps: [],
    records: [],
    pid: 4242,
    cgroup,
    stats: { oomKills: 1, memoryLimitBytes: 52428800, memoryPeakBytes: 52428800 },
    ...over,
  });
  const victims =
    (...v: OomVictim[]) =>
    () =>
      v;
  const tail: OomVictim = { task: 'tail', pid: 900, memcg: MEMCG, limitMemcg: MEMCG };
  const init: OomVictim = { task: 'sh', pid: 4242, memcg: '', limitMemcg: '' };

  it('says nothing when the cgroup counted no OOM kill (and asks no verdict)', () => {
    const t = oomTruth(outcome({ stats: { oomKills: 0 } }), spec, victims(tail), () => {
      throw new Error('asked');
    });
    expect(t).toEqual({ initKilled: false, kills: 0, victims: [] });
  });

  it('the init killed: the container line, with the other victims named', () => {
    const t = oomTruth(
      outcome({ stats: { oomKills: 2, memoryLimitBytes: 52428800, memoryPeakBytes: 52428800 } }),
      spec,
      victims(init, tail),
      () => 1,
    );
    expect(t.initKilled).toBe(true);
    expect(t.message).toBe(
      'container killed: out of memory (limit 50.0 MiB, peak 50.0 MiB); the kernel also killed "tail" (host pid 900)',
    );
  });

  it("passes the init's pid, its signal and the cgroup's count to the verdict", () => {
    const seen: number[][] = [];
    oomTruth(
      outcome({ stats: { oomKills: 3 } }),
      spec,
      victims(),
      (pid, signal, kills) => (seen.push([pid, signal, kills]), 0),
    );
    expect(seen).toEqual([[4242, 9, 3]]);
  });

  it('a side process killed: named, the rest counted, and how the init really ended', () => {
    const t = oomTruth(
      outcome({
        exitCode: 0,
        signal: undefined,
        stats: { oomKills: 3, memoryLimitBytes: 52428800, memoryPeakBytes: 52428800 },
      }),
      spec,
      victims(tail),
      () => 0,
    );
    expect(t.initKilled).toBe(false);
    expect(t.message).toBe(
      'out of memory inside the container (limit 50.0 MiB, peak 50.0 MiB): the kernel killed "tail" (host pid 900) and 2 more processes (not named in the kernel log, which rate-limits OOM reports); the container itself was not OOM-killed: its first process "sh" exited with 0',
    );
  });

  it('no victim named at all, the init SIGKILLed by someone else', () => {
    const t = oomTruth(outcome({}), spec, victims(), () => 0);
    expect(t.message).toBe(
      'out of memory inside the container (limit 50.0 MiB, peak 50.0 MiB): the kernel killed 1 process (not named in the kernel log, which rate-limits OOM reports); the container itself was not OOM-killed: its first process "sh" died of signal 9',
    );
  });
});

const lib = join(packageRoot(), 'native', 'build', 'libminidock.so');
describe.skipIf(!existsSync(lib))(
  `the verdict, md_oom_killed (native/oom.c${existsSync(lib) ? '' : `: skipped, ${lib} is not built`})`,
  () => {
    const INIT = 4242;
    const log = (...lines: string[]) => logFile(lines.join(''));

    it('no SIGKILL, or no OOM kill counted: not OOM-killed, whatever the log says', () => {
      const f = log(record(1, 100, killedText('sh', INIT)));
      expect(mdOomKilled(INIT, 15, 1, 0, f)).toBe(0);
      expect(mdOomKilled(INIT, 0, 1, 0, f)).toBe(0);
      expect(mdOomKilled(INIT, 9, 0, 0, f)).toBe(0);
    });

    it('SIGKILL and a count: killed when the log names the init', () => {
      expect(
        mdOomKilled(
          INIT,
          9,
          2,
          50,
          log(
            record(1, 100, killedText('tail', 900)),
            record(2, 101, oomKillText(MEMCG, 'sh', INIT)),
            record(3, 102, killedText('sh', INIT)),
          ),
        ),
      ).toBe(1);
    });

    it("not killed when the log has kills since the start and none is the init's (a side process, then kill -9 from the host)", () => {
      expect(mdOomKilled(INIT, 9, 1, 50, log(record(1, 100, killedText('tail', 900))))).toBe(0);
      // a pid that only starts with the init's is another process
      expect(mdOomKilled(INIT, 9, 1, 50, log(record(1, 100, killedText('tail', INIT * 10 + 1))))).toBe(0);
    });

    it("records older than the container do not count: the pid may have been another process's", () => {
      expect(
        mdOomKilled(
          INIT,
          9,
          1,
          1000,
          log(record(1, 999, killedText('sh', INIT)), record(2, 1001, killedText('tail', 900))),
        ),
      ).toBe(0);
    });

    it("Docker's rule when the log cannot tell: no log, or no kill logged since the start", () => {
      expect(mdOomKilled(INIT, 9, 1, 0, join(dir, 'absent'))).toBe(1);
      expect(
        mdOomKilled(INIT, 9, 1, 1000, log(record(1, 999, killedText('tail', 900)), record(2, 1500, 'eth0: link up'))),
      ).toBe(1);
    });
  },
);
