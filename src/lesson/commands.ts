// The work behind `minidock lesson ...` (src/cli/lesson.ts is the commander wiring). The ink viewer
// is imported only when a lesson is shown on a terminal.
import { fail } from '../errors.js';
import { chooseLang, findLesson, listLessons, loadLesson, projectRoot } from './catalog.js';
import { checkAll, parseAnswers } from './check.js';
import type { Lang, Lesson } from './parse.js';
import { renderPlain } from './plain.js';
import { describeExit, plain, type RunContext, runStep, showPattern, unmetNeeds } from './runner.js';
import { strings } from './strings.js';

/** The lesson a command names, in the language chosen. */
function lessonFor(s: string, lang: Lang): Lesson {
  if (!/^\d{1,2}$/.test(s)) fail(strings(lang).notALessonNumber(s));
  return loadLesson(findLesson(Number(s), undefined, lang), lang);
}

function context(lang: Lang, flags: { slow?: boolean }): RunContext {
  return { cwd: projectRoot(), slow: !!flags.slow, lang };
}

export function listCommand(flags: { lang?: string }): number {
  const lang = chooseLang(flags.lang);
  const rows = listLessons().map((e) => {
    const l = loadLesson(e, e.langs.includes(lang) ? lang : e.langs[0]);
    return [String(e.number).padStart(2, '0'), l.title, String(l.steps.length), String(l.checks.length), e.langs.join(' ')];
  });
  const t = strings(lang);
  const head = t.listHead;
  const all = [head, ...rows];
  const w = head.map((_, k) => Math.max(...all.map((r) => r[k].length)));
  for (const r of all) process.stdout.write(r.map((c, k) => (k >= 2 && k <= 3 ? c.padStart(w[k]) : c.padEnd(w[k]))).join('  ').trimEnd() + '\n');
  process.stdout.write(`\n${t.listFoot}\n`);
  return 0;
}

/** Run every step in order, without the viewer (for teachers, CI, and terminals without a TTY). */
async function runAll(lesson: Lesson, ctx: RunContext): Promise<number> {
  const t = strings(lesson.lang);
  let failed = 0;
  let skipped = 0;
  for (const s of lesson.steps) {
    const why = unmetNeeds(s, ctx);
    const tag = `[${s.index + 1}/${lesson.steps.length}] ${s.id}`;
    if (why.length) {
      skipped++;
      process.stdout.write(`- ${tag}: ${t.skipped}: ${why.join('; ')}\n`);
      continue;
    }
    const r = await runStep(s, ctx);
    if (!r.ok) failed++;
    const cases = r.patterns.flatMap((p) => p.cases);
    process.stdout.write(`${r.ok ? '✓' : '✗'} ${tag} (${Math.round(r.ms)} ms)${cases.length ? ` · ${t.seenCase}: ${cases.join(', ')}` : ''}\n`);
    if (!r.ok) {
      process.stdout.write(plain(r.output).replace(/^/gm, '    | ') + '\n');
      for (const p of r.patterns.filter((x) => !x.ok)) process.stdout.write(`    ${p.negate ? t.unexpected : t.missing}: ${showPattern(p.pattern)}\n`);
      if (!r.exitOk) process.stdout.write(`    ${t.expectedGot(describeExit(s.exit, lesson.lang), r.timedOut ? t.aTimeout : r.signal ?? t.exitN(r.code ?? -1))}\n`);
    }
  }
  process.stdout.write(`${t.runSummary(lesson.steps.length - failed - skipped, failed, skipped)}\n`);
  return failed ? 1 : 0;
}

export async function showCommand(n: string, flags: { lang?: string; plain?: boolean; run?: boolean; slow?: boolean }): Promise<number> {
  const lesson = lessonFor(n, chooseLang(flags.lang));
  const ctx = context(lesson.lang, flags);
  if (flags.run) return runAll(lesson, ctx);
  if (flags.plain || !process.stdout.isTTY || !process.stdin.isTTY) {
    process.stdout.write(renderPlain(lesson));
    return 0;
  }
  const { runViewer } = await import('./viewer.js');
  const summary = await runViewer({
    lesson,
    run: (step, onOutput) => runStep(step, ctx, onOutput),
    unmet: (step) => unmetNeeds(step, ctx),
  });
  return summary.failed.length ? 1 : 0;
}

export function checkCommand(n: string, answers: string[], flags: { lang?: string; answers?: string }): number {
  const lang = chooseLang(flags.lang);
  const lesson = lessonFor(n, lang);
  const t = strings(lang);
  if (lesson.checks.length === 0) {
    process.stdout.write(`${t.noExercises(n)}\n`);
    return 0;
  }
  const results = checkAll(lesson.checks, parseAnswers(answers, flags.answers, lang), context(lang, {}));
  const mark = { pass: '✓', fail: '✗', unanswered: '?', skipped: '-', error: '!' } as const;
  for (const r of results) {
    const ans = r.answer !== undefined ? ` = ${r.answer}` : '';
    process.stdout.write(`${mark[r.verdict]} ${r.id}${ans}: ${t.verdicts[r.verdict]} — ${r.detail}\n`);
  }
  const passed = results.filter((r) => r.verdict === 'pass').length;
  process.stdout.write(`${t.checkSummary(passed, results.length)}\n`);
  return passed === results.length ? 0 : 1;
}
