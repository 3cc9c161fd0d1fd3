// The work behind `minidock lesson ...` (src/cli/lesson.ts is the commander wiring). The ink viewer
// is imported only when a lesson is shown on a terminal.
import { fail } from '../errors.js';
import { chooseLang, findLesson, listLessons, loadLesson, projectRoot } from './catalog.js';
import { checkAll, parseAnswers } from './check.js';
import type { Lesson } from './parse.js';
import { renderPlain } from './plain.js';
import { describeExit, plain, type RunContext, runStep, unmetNeeds } from './runner.js';

function lessonNumber(s: string): number {
  if (!/^\d{1,2}$/.test(s)) fail(`lesson "${s}": give its number, e.g. \`minidock lesson 1\` (see \`minidock lesson list\`)`);
  return Number(s);
}

function context(flags: { slow?: boolean }): RunContext {
  return { cwd: projectRoot(), slow: !!flags.slow };
}

export function listCommand(flags: { lang?: string }): number {
  const lang = chooseLang(flags.lang);
  const rows = listLessons().map((e) => {
    const l = loadLesson(e, e.langs.includes(lang) ? lang : e.langs[0]);
    return [String(e.number).padStart(2, '0'), l.title, String(l.steps.length), String(l.checks.length), e.langs.join(' ')];
  });
  const head = lang === 'es' ? ['nº', 'lección', 'pasos', 'ejercicios', 'idiomas'] : ['#', 'lesson', 'steps', 'exercises', 'languages'];
  const all = [head, ...rows];
  const w = head.map((_, k) => Math.max(...all.map((r) => r[k].length)));
  for (const r of all) process.stdout.write(r.map((c, k) => (k >= 2 && k <= 3 ? c.padStart(w[k]) : c.padEnd(w[k]))).join('  ').trimEnd() + '\n');
  process.stdout.write(lang === 'es' ? '\nminidock lesson N [--lang es] [--plain] · minidock lesson check N id=respuesta\n' : '\nminidock lesson N [--lang es] [--plain] · minidock lesson check N id=answer\n');
  return 0;
}

/** Run every step in order, without the viewer (for teachers, CI, and terminals without a TTY). */
async function runAll(lesson: Lesson, ctx: RunContext): Promise<number> {
  let failed = 0;
  let skipped = 0;
  for (const s of lesson.steps) {
    const why = unmetNeeds(s, ctx);
    const tag = `[${s.index + 1}/${lesson.steps.length}] ${s.id}`;
    if (why.length) {
      skipped++;
      process.stdout.write(`- ${tag}: skipped: ${why.join('; ')}\n`);
      continue;
    }
    const r = await runStep(s, ctx);
    if (!r.ok) failed++;
    process.stdout.write(`${r.ok ? '✓' : '✗'} ${tag} (${Math.round(r.ms)} ms)\n`);
    if (!r.ok) {
      process.stdout.write(plain(r.output).replace(/^/gm, '    | ') + '\n');
      for (const p of r.patterns.filter((x) => !x.ok)) process.stdout.write(`    ${p.negate ? 'unexpected' : 'missing'}: /${p.negate ? p.pattern.slice(2) : p.pattern}/\n`);
      if (!r.exitOk) process.stdout.write(`    expected ${describeExit(s.exit)}, got ${r.timedOut ? 'a timeout' : r.signal ?? `exit ${r.code}`}\n`);
    }
  }
  process.stdout.write(`${lesson.steps.length - failed - skipped} passed, ${failed} failed, ${skipped} skipped\n`);
  return failed ? 1 : 0;
}

export async function showCommand(n: string, flags: { lang?: string; plain?: boolean; run?: boolean; slow?: boolean }): Promise<number> {
  const lesson = loadLesson(findLesson(lessonNumber(n)), chooseLang(flags.lang));
  const ctx = context(flags);
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
  const lesson = loadLesson(findLesson(lessonNumber(n)), lang);
  if (lesson.checks.length === 0) {
    process.stdout.write(lang === 'es' ? `La lección ${n} no tiene ejercicios que comprobar.\n` : `Lesson ${n} has no exercises to check.\n`);
    return 0;
  }
  const results = checkAll(lesson.checks, parseAnswers(answers, flags.answers), context({}));
  const mark = { pass: '✓', fail: '✗', unanswered: '?', skipped: '-', error: '!' } as const;
  const words = lang === 'es'
    ? { pass: 'bien', fail: 'todavía no', unanswered: 'sin respuesta', skipped: 'omitido', error: 'error' }
    : { pass: 'pass', fail: 'not yet', unanswered: 'unanswered', skipped: 'skipped', error: 'error' };
  for (const r of results) {
    const ans = r.answer !== undefined ? ` = ${r.answer}` : '';
    process.stdout.write(`${mark[r.verdict]} ${r.id}${ans}: ${words[r.verdict]} — ${r.detail}\n`);
  }
  const passed = results.filter((r) => r.verdict === 'pass').length;
  process.stdout.write(lang === 'es' ? `${passed} de ${results.length} ejercicios bien\n` : `${passed} of ${results.length} exercises passed\n`);
  return passed === results.length ? 0 : 1;
}
