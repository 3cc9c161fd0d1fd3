// Every lesson exists in English and Spanish with the same steps (same ids, commands, expected
// patterns, needs) in the same order, and the same exercise checks: the translation is of the prose,
// never of what runs. Also: the lessons the issue asks for exist, and they call minidock one way:
// plain `minidock`, which the runner resolves to this checkout's (src/lesson/runner.ts stepEnv).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileFor, listLessons, loadLesson } from '../../src/lesson/catalog';
import type { Lesson } from '../../src/lesson/parse';

const DIR = join(__dirname, '..', '..', 'lessons');
const entries = listLessons(DIR);

const what = (l: Lesson) => ({
  steps: l.steps.map((s) => ({
    id: s.id,
    command: s.command,
    expect: s.expect.map((p) => p.source),
    needs: s.needs,
    slow: s.slow,
    exit: s.exit,
    timeoutS: s.timeoutS,
  })),
  checks: l.checks.map(({ line: _line, ...c }) => c),
});

describe('lessons', () => {
  it('cover 00 to 14', () => {
    expect(entries.map((e) => e.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  for (const e of entries) {
    describe(`${String(e.number).padStart(2, '0')}-${e.slug}`, () => {
      it('exists in English and Spanish', () => {
        expect(e.langs).toEqual(['en', 'es']);
      });

      it(`${fileFor('es')} has the same steps and checks as ${fileFor('en')}, in the same order`, () => {
        const en = loadLesson(e, 'en');
        const es = loadLesson(e, 'es');
        expect(what(es)).toEqual(what(en));
        // the prose is translated, not copied
        expect(es.title).not.toBe(en.title);
      });

      it('has runnable steps with expectations, and exercises', () => {
        const en = loadLesson(e, 'en');
        expect(en.steps.length).toBeGreaterThanOrEqual(3);
        expect(en.checks.length).toBeGreaterThanOrEqual(1);
        // a step that checks nothing teaches nothing: patterns, or an exit status that is not 0
        for (const s of en.steps) expect(s.expect.length > 0 || s.exit !== 0, `step ${s.id}`).toBe(true);
      });

      it('calls plain `minidock`, as a student types it (never ./bin/minidock.js, npx or sudo)', () => {
        const l = loadLesson(e, 'en');
        const commands = [
          ...l.steps.map((s) => [`step ${s.id}`, s.command]),
          ...l.checks.flatMap((c) =>
            [c.measure, c.solve, c.test, c.cleanup].filter(Boolean).map((x) => [`check ${c.id}`, x!]),
          ),
        ];
        for (const [what, cmd] of commands) expect(cmd, what).not.toMatch(/bin\/minidock\.js|\bnpx\b|\bsudo\b/);
        // a command position: line start, after ; | & ( or $( — not an argument like `--runtimes minidock`
        if (l.steps.some((s) => /\bminidock\b/.test(s.command)))
          expect(l.steps.some((s) => /(^|[;|&(]|\$\()\s*minidock\s/m.test(s.command))).toBe(true);
      });
    });
  }
});
