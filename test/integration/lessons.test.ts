// Runs every runnable step of every lesson, in both languages' files, against the real kernel, and
// checks the expected patterns: a lesson cannot drift from the code. Steps whose needs are unmet
// here (Docker not running, a minidock verb not built yet, cgroup v2 on a v1 host, slow steps) are
// reported as skipped, by name, with the reason. Each lesson must leave the host as it found it.
// A step that accepts one of several outcomes (named groups in its patterns: a kernel with or without
// a 32-bit syscall entry, a peer runtime installed or not) is listed with the case it saw here.
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileFor, listLessons, loadLesson, projectRoot } from '../../src/lesson/catalog';
import { firstNumber } from '../../src/lesson/check';
import { LANGS } from '../../src/lesson/parse';
import { type RunContext, plain, runShell, runStep, unmetNeeds } from '../../src/lesson/runner';
import {
  built,
  canRun,
  cgroupParentFor,
  hostSnapshot,
  minidock,
  removeStateRoot,
  skipReason,
  tempStateRoot,
} from '../helpers';

const d = canRun ? describe : describe.skip;
if (!canRun) console.warn(`SKIPPED test/integration/lessons.test.ts: ${skipReason}`);

/** Things the lessons create by hand (outside minidock): cgroups and mounts named lesson* (or
 * minidock-oci-lesson*, an OCI container's default cgroup), and containers of the OCI runtimes
 * (lesson 13) named lesson* or made from a bundle under /tmp/lesson* (Podman's, named by their id). */
function lessonLeftovers(): string[] {
  const out: string[] = [];
  for (const c of readdirSync('/sys/fs/cgroup', { withFileTypes: true })) {
    const dir = `/sys/fs/cgroup/${c.name}`;
    if (c.name.includes('lesson')) out.push(dir);
    if (!c.isDirectory()) continue;
    try {
      for (const e of readdirSync(dir)) if (e.includes('lesson')) out.push(`${dir}/${e}`);
    } catch {
      /* not a directory we can read */
    }
  }
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n'))
    if (/\blesson/.test(l.split(' ')[4] ?? '')) out.push(l);
  for (const dir of ['/run/runc', '/run/crun', '/run/minidock-oci']) {
    for (const id of existsSync(dir) ? readdirSync(dir) : []) {
      let state = '';
      try {
        state = readFileSync(`${dir}/${id}/state.json`, 'utf8');
      } catch {
        /* crun keeps no state.json; an entry being removed meanwhile */
      }
      if (id.includes('lesson') || state.includes('/tmp/lesson')) out.push(`${dir}/${id}`);
    }
  }
  return out;
}

const skipped: string[] = [];
const seen: string[] = [];

d('lessons (every step, both languages)', () => {
  afterAll(() => {
    if (skipped.length) console.warn(`SKIPPED lesson steps (${skipped.length}):\n  ${skipped.join('\n  ')}`);
    if (seen.length)
      console.warn(`CASES seen on this machine (steps that accept several outcomes):\n  ${seen.join('\n  ')}`);
  });

  for (const entry of canRun ? listLessons() : []) {
    for (const lang of LANGS) {
      const lesson = loadLesson(entry, lang);
      const name = `${String(entry.number).padStart(2, '0')}-${entry.slug}/${fileFor(lang)}`;
      describe(name, () => {
        let root: string;
        let before: ReturnType<typeof hostSnapshot>;
        const ctx: RunContext = { cwd: projectRoot(), env: {} };
        beforeAll(() => {
          root = tempStateRoot();
          chmodSync(root, 0o711); // as minidock makes /var/lib/minidock: lesson 12's mapped root must pass through it
          ctx.env = { MINIDOCK_ROOT: root, MINIDOCK_CGROUP_PARENT: cgroupParentFor(root) };
          before = hostSnapshot(root);
        });
        afterAll(() => removeStateRoot(root));

        for (const step of lesson.steps) {
          // needs are decided while collecting, so that a skipped step is listed by name
          const why = unmetNeeds(step, { cwd: projectRoot() });
          if (why.length) {
            skipped.push(`${name} step ${step.id}: ${why.join('; ')}`);
            it.skip(`step ${step.id} — skipped: ${why.join('; ')}`, () => {});
            continue;
          }
          it(
            `step ${step.id}`,
            async () => {
              const r = await runStep(step, ctx);
              const cases = r.patterns.flatMap((p) => p.cases);
              if (cases.length) {
                seen.push(`${name} step ${step.id}: ${cases.join(', ')}`);
                console.info(`${name} step ${step.id}: case ${cases.join(', ')}`);
              }
              const report = [
                `step ${step.id} (${name}:${step.line})`,
                `$ ${step.command}`,
                plain(r.output),
                ...r.patterns.filter((p) => !p.ok).map((p) => `${p.negate ? 'unexpected' : 'missing'}: ${p.pattern}`),
                r.exitOk ? '' : `exit: wanted ${step.exit}, got ${r.timedOut ? 'timeout' : (r.signal ?? r.code)}`,
              ].join('\n');
              expect(r.ok, report).toBe(true);
            },
            step.timeoutS * 1000 + 10_000,
          );
        }

        // Steps that make cgroups by hand must not collide when two students share the host: two
        // copies at once both pass (a fixed name made the second mkdir fail with EEXIST).
        for (const step of lesson.steps.filter(
          (s) => /\/sys\/fs\/cgroup/.test(s.command) && /\bmkdir\b/.test(s.command),
        )) {
          if (unmetNeeds(step, { cwd: projectRoot() }).length) continue;
          it(
            `step ${step.id}, twice at once (two students on one host)`,
            async () => {
              const [a, b] = await Promise.all([runStep(step, ctx), runStep(step, ctx)]);
              expect(a.ok, plain(a.output)).toBe(true);
              expect(b.ok, plain(b.output)).toBe(true);
            },
            step.timeoutS * 1000 + 10_000,
          );
        }

        for (const check of lesson.checks) {
          const why = unmetNeeds(check, { cwd: projectRoot() });
          if (why.length) {
            skipped.push(`${name} check ${check.id}: ${why.join('; ')}`);
            it.skip(`check ${check.id} — skipped: ${why.join('; ')}`, () => {});
            continue;
          }
          if (check.measure) {
            it(`check ${check.id}: its measurement works here`, () => {
              const r = runShell(check.measure!, ctx);
              expect(r.code, r.output).toBe(0);
              if (check.type === 'number') expect(firstNumber(r.output), r.output).not.toBeNaN();
              else expect(r.output.trim()).not.toBe('');
            }, 180_000);
          }
          if (check.type === 'state' && check.solve) {
            it(`check ${check.id}: fails before, passes once solved`, () => {
              try {
                expect(runShell(check.test!, ctx).code).not.toBe(0);
                const s = runShell(check.solve!, ctx);
                expect(s.code, s.output).toBe(0);
                const t = runShell(check.test!, ctx);
                expect(t.code, t.output).toBe(0);
              } finally {
                if (check.cleanup) runShell(check.cleanup, ctx);
              }
            }, 180_000);
          }
        }

        it('leaves nothing behind: mounts, cgroups, containers, cgroups made by hand', () => {
          expect(hostSnapshot(root)).toEqual(before);
          expect(lessonLeftovers()).toEqual([]);
        });
      });
    }
  }
});

// The lesson verbs read lessons and run shell commands; none of them may assume that the state root
// exists (a fresh machine has none until the first container).
describe.skipIf(!built)(
  `lesson verbs with a state root that does not exist yet${built ? '' : ' — skipped: needs `npm run build` first'}`,
  () => {
    const env = {
      ...process.env,
      MINIDOCK_ROOT: `/tmp/minidock-lesson-noroot-${process.pid}/x/y/root`,
      LANG: 'C',
      LC_ALL: 'C',
      LC_MESSAGES: 'C',
    };
    const cases: [string[], number, RegExp][] = [
      [['lesson', 'list'], 0, /^11\s+\S/m],
      [['lesson', '0', '--plain'], 0, /# step 1: node-version/],
      [
        ['lesson', 'check', '0', 'cgroups=v3', 'applets=1'],
        1,
        /^✗ cgroups = v3: not yet — [^\n]*\n✗ applets = 1: not yet — not the expected number\n0 of 2 exercises passed$/m,
      ],
      [
        ['lesson', 'check', '0', 'cgroups=v3', 'applets=1', '--lang', 'es'],
        1,
        /^✗ cgroups = v3: todavía no — no coincide[^\n]*\n✗ applets = 1: todavía no — no es el número esperado\n0 de 2 ejercicios bien$/m,
      ],
    ];
    for (const [args, code, out] of cases) {
      it(`minidock ${args.join(' ')}`, () => {
        const r = minidock(args, { env });
        expect(r.stderr).toBe('');
        expect(r.code, r.stdout).toBe(code); // wrong answers: exit 1
        expect(r.stdout).toMatch(out);
        // a read-only verb creates nothing
        expect(existsSync(`/tmp/minidock-lesson-noroot-${process.pid}`)).toBe(false);
      });
    }

    it('errors are one line in the chosen language, exit 125', () => {
      const r = minidock(['lesson', 'check', '99', '--lang', 'es'], { env });
      expect(r.code).toBe(125);
      expect(r.stderr).toBe('minidock: no hay lección 99: mira `minidock lesson list --lang es`\n');
    });
  },
);
