// The bodies of `minidock lesson ...` (src/cli/lesson.ts registers them and loads this file on use):
// what they print; the lessons themselves (reading, running a step, checking answers) are in
// src/lesson/. The ink viewer is imported only when a lesson is shown on a terminal.
import { fail } from '../errors.js';
import { chooseLang, findLesson, listLessons, loadLesson, projectRoot } from '../lesson/catalog.js';
import { checkAll, parseAnswers } from '../lesson/check.js';
import type { Lang, Lesson } from '../lesson/parse.js';
import { renderPlain } from '../lesson/plain.js';
import { describeExit, plain, type RunContext, runStep, showPattern, unmetNeeds } from '../lesson/runner.js';
import { strings } from '../lesson/strings.js';
import { writeOut } from '../sys/output.js';

/** The lesson a command names, in the language chosen. */
function lessonFor(lessonNumber: string, lang: Lang): Lesson {
  if (!/^\d{1,2}$/.test(lessonNumber)) fail(strings(lang).notALessonNumber(lessonNumber));
  return loadLesson(findLesson(Number(lessonNumber), undefined, lang), lang);
}

function context(lang: Lang, flags: { slow?: boolean }): RunContext {
  return { cwd: projectRoot(), slow: !!flags.slow, lang };
}

export function listCommand(flags: { lang?: string }): number {
  const lang = chooseLang(flags.lang);
  const rows = listLessons().map((entry) => {
    const lesson = loadLesson(entry, entry.langs.includes(lang) ? lang : entry.langs[0]);
    return [
      String(entry.number).padStart(2, '0'),
      lesson.title,
      String(lesson.steps.length),
      String(lesson.checks.length),
      entry.langs.join(' '),
    ];
  });
  const words = strings(lang);
  const head = words.listHead;
  const all = [head, ...rows];
  const widths = head.map((_, column) => Math.max(...all.map((row) => row[column].length)));
  for (const row of all)
    writeOut(
      row
        .map((cell, column) =>
          column >= 2 && column <= 3 ? cell.padStart(widths[column]) : cell.padEnd(widths[column]),
        )
        .join('  ')
        .trimEnd() + '\n',
    );
  writeOut(`\n${words.listFoot}\n`);
  return 0;
}

/** Run every step in order, without the viewer (for teachers, CI, and terminals without a TTY). */
async function runAll(lesson: Lesson, ctx: RunContext): Promise<number> {
  const words = strings(lesson.lang);
  let failed = 0;
  let skipped = 0;
  for (const step of lesson.steps) {
    const why = unmetNeeds(step, ctx);
    const tag = `[${step.index + 1}/${lesson.steps.length}] ${step.id}`;
    if (why.length) {
      skipped++;
      writeOut(`- ${tag}: ${words.skipped}: ${why.join('; ')}\n`);
      continue;
    }
    const result = await runStep(step, ctx);
    if (!result.ok) failed++;
    const cases = result.patterns.flatMap((match) => match.cases);
    writeOut(
      `${result.ok ? '✓' : '✗'} ${tag} (${Math.round(result.ms)} ms)${cases.length ? ` · ${words.seenCase}: ${cases.join(', ')}` : ''}\n`,
    );
    if (!result.ok) {
      writeOut(plain(result.output).replace(/^/gm, '    | ') + '\n');
      for (const missed of result.patterns.filter((match) => !match.ok))
        writeOut(`    ${missed.negate ? words.unexpected : words.missing}: ${showPattern(missed.pattern)}\n`);
      if (!result.exitOk)
        writeOut(
          `    ${words.expectedGot(describeExit(step.exit, lesson.lang), result.timedOut ? words.aTimeout : (result.signal ?? words.exitN(result.code ?? -1)))}\n`,
        );
    }
  }
  writeOut(`${words.runSummary(lesson.steps.length - failed - skipped, failed, skipped)}\n`);
  return failed ? 1 : 0;
}

export async function showCommand(
  lessonNumber: string,
  flags: { lang?: string; plain?: boolean; run?: boolean; slow?: boolean },
): Promise<number> {
  const lesson = lessonFor(lessonNumber, chooseLang(flags.lang));
  const ctx = context(lesson.lang, flags);
  if (flags.run) return runAll(lesson, ctx);
  if (flags.plain || !process.stdout.isTTY || !process.stdin.isTTY) {
    writeOut(renderPlain(lesson));
    return 0;
  }
  const { runViewer } = await import('./lesson-viewer.js');
  const summary = await runViewer({
    lesson,
    run: (step, onOutput) => runStep(step, ctx, onOutput),
    unmet: (step) => unmetNeeds(step, ctx),
  });
  return summary.failed.length ? 1 : 0;
}

export function checkCommand(
  lessonNumber: string,
  answers: string[],
  flags: { lang?: string; answers?: string },
): number {
  const lang = chooseLang(flags.lang);
  const lesson = lessonFor(lessonNumber, lang);
  const words = strings(lang);
  if (lesson.checks.length === 0) {
    writeOut(`${words.noExercises(lessonNumber)}\n`);
    return 0;
  }
  const results = checkAll(lesson.checks, parseAnswers(answers, flags.answers, lang), context(lang, {}));
  const mark = { pass: '✓', fail: '✗', unanswered: '?', skipped: '-', error: '!' } as const;
  for (const result of results) {
    const shownAnswer = result.answer !== undefined ? ` = ${result.answer}` : '';
    writeOut(
      `${mark[result.verdict]} ${result.id}${shownAnswer}: ${words.verdicts[result.verdict]} — ${result.detail}\n`,
    );
  }
  const passed = results.filter((result) => result.verdict === 'pass').length;
  writeOut(`${words.checkSummary(passed, results.length)}\n`);
  return passed === results.length ? 0 : 1;
}
