// `minidock lesson check N id=answer ...`: checks a student's exercise answers. Numbers are compared
// with a value measured on this machine, within a tolerance; states (a container that must exist
// with some property) are tested with a command; words are compared by hash so that the rendered
// lesson does not give them away. A wrong answer never shows the right one: the student may try
// again, so a failed check says only that the answer is not it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fail } from '../errors.js';
import { type Check, type Lang, normalizeAnswer } from './parse.js';
import { type RunContext, runShell, unmetNeeds } from './runner.js';
import { strings } from './strings.js';

export type Verdict = 'pass' | 'fail' | 'unanswered' | 'skipped' | 'error';

export interface CheckResult {
  id: string;
  type: Check['type'];
  verdict: Verdict;
  answer?: string;
  /** what the answer was compared with (numbers, texts): set only when the answer passed */
  expected?: string;
  detail: string;
}

export function hashAnswer(answer: string): string {
  return createHash('sha256').update(normalizeAnswer(answer)).digest('hex');
}

/** The first number in a text (`50.0 MiB` -> 50, `-1` -> -1), or NaN. */
export function firstNumber(text: string): number {
  const match = /-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text);
  return match ? Number(match[0]) : NaN;
}

export function withinTolerance(answer: number, reference: number, tolerance: number, relative: boolean): boolean {
  const allowed = relative ? Math.abs(reference) * tolerance : tolerance;
  return Math.abs(answer - reference) <= allowed + 1e-9;
}

/** Answers from `id=value` arguments and an optional file of `id=value` (or `id: value`) lines. */
export function parseAnswers(args: string[], file?: string, lang: Lang = 'en'): Map<string, string> {
  const words = strings(lang);
  const out = new Map<string, string>();
  const add = (line: string, where: string) => {
    const match = /^\s*([a-z0-9][a-z0-9-]*)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (!match) fail(words.answerForm(where, line));
    out.set(match[1], match[2]);
  };
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      return fail(words.answersUnreadable(file, String((e as NodeJS.ErrnoException).code ?? e)));
    }
    text.split('\n').forEach((line, i) => {
      if (line.trim() && !line.trim().startsWith('#')) add(line, `${file}:${i + 1}`);
    });
  }
  for (const arg of args) add(arg, words.answerWord);
  return out;
}

function measure(check: Check, ctx: RunContext): { value?: string; error?: string } {
  const result = runShell(check.measure!, ctx);
  if (result.code !== 0)
    return {
      error: strings(ctx.lang ?? 'en').measureFailed(
        result.code,
        result.output.trim().split('\n').slice(-2).join(' / '),
      ),
    };
  return { value: result.output.trim() };
}

export function checkOne(check: Check, answer: string | undefined, ctx: RunContext): CheckResult {
  const words = strings(ctx.lang ?? 'en');
  const base = { id: check.id, type: check.type, answer };
  const unmet = unmetNeeds(check, ctx);
  if (unmet.length) return { ...base, verdict: 'skipped', detail: unmet.join('; ') };
  if (check.type === 'state') {
    const result = runShell(check.test!, ctx, answer === undefined ? {} : { ANSWER: answer });
    return result.code === 0
      ? { ...base, verdict: 'pass', detail: words.stateOk }
      : {
          ...base,
          verdict: 'fail',
          detail: result.output.trim().split('\n').slice(-1)[0] || words.testExited(result.code),
        };
  }
  if (answer === undefined || answer.trim() === '')
    return { ...base, verdict: 'unanswered', detail: words.answerWith(check.id) };
  if (check.type === 'word') {
    const hash = hashAnswer(answer);
    return check.sha256.some((prefix) => hash.startsWith(prefix))
      ? { ...base, verdict: 'pass', detail: words.right }
      : { ...base, verdict: 'fail', detail: words.wrongWord };
  }
  let reference: string;
  if (check.type === 'number' && check.value !== undefined) reference = String(check.value);
  else {
    const measured = measure(check, ctx);
    if (measured.error) return { ...base, verdict: 'error', detail: measured.error };
    reference = measured.value!;
  }
  if (check.type === 'text') {
    return normalizeAnswer(answer) === normalizeAnswer(reference)
      ? { ...base, verdict: 'pass', expected: reference, detail: words.matches }
      : { ...base, verdict: 'fail', detail: words.noMatch };
  }
  const want = firstNumber(reference);
  const got = firstNumber(answer.replace(/(\d),(\d)/g, '$1.$2')); // 2,25 is how Spanish writes 2.25
  // the measurement's output is the expected answer: an error shows it only when it holds no number
  if (Number.isNaN(want)) return { ...base, verdict: 'error', detail: words.measureNoNumber(reference) };
  if (Number.isNaN(got)) return { ...base, verdict: 'fail', detail: words.notANumber };
  if (!withinTolerance(got, want, check.tolerance, check.relative))
    return { ...base, verdict: 'fail', detail: words.notWithin };
  const expectedText =
    check.tolerance === 0
      ? `${want}`
      : check.relative
        ? `${want} ± ${+(check.tolerance * 100).toFixed(2)}%`
        : `${want} ± ${check.tolerance}`;
  return { ...base, verdict: 'pass', expected: String(want), detail: words.expectedValue(expectedText) };
}

export function checkAll(checks: Check[], answers: Map<string, string>, ctx: RunContext): CheckResult[] {
  const unknown = [...answers.keys()].filter((id) => !checks.some((check) => check.id === id));
  if (unknown.length)
    fail(
      strings(ctx.lang ?? 'en').unknownExercise(
        unknown.map((u) => `"${u}"`).join(', '),
        checks.map((check) => check.id).join(', '),
      ),
    );
  return checks.map((check) => checkOne(check, answers.get(check.id), ctx));
}
