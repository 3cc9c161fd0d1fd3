// The interactive lesson viewer (ink): one step at a time. Enter runs the step's command on the
// host (in a real container, when the step starts one), its output appears beside the expected
// patterns, and Enter again moves on. ↑/↓ scroll the text, PgUp/PgDn the output; after the last
// step comes the text that follows it (and the Exercises). Only `minidock lesson N` on a terminal
// loads this file, so ink and React never slow down any other verb.
import type * as Ink from 'ink';
import { useEffect, useRef, useState } from 'react';
import type { Lesson, Step } from './parse.js';
import { describeExit, matchPatterns, plain, showPattern, type StepResult } from './runner.js';
import { strings } from './strings.js';

// ink is an ES module with top-level await: the CommonJS bundle cannot require() it, so it is
// loaded with import() when the viewer starts, and handed to the component here (tests do the same).
let I: typeof Ink | undefined;
export function useInkModule(ink: typeof Ink): void {
  I = ink;
}

export interface ViewerSummary {
  passed: string[];
  failed: string[];
  skipped: string[];
}

export interface ViewerProps {
  lesson: Lesson;
  /** run a step (the real runner, or a fake in tests) */
  run: (step: Step, onOutput: (chunk: string) => void) => Promise<StepResult>;
  /** why a step cannot run here (empty: it can) */
  unmet: (step: Step) => string[];
  /** called once when the student quits */
  onExit?: (summary: ViewerSummary) => void;
  /** how many lines of prose and output to show (the terminal's height decides in the CLI) */
  introLines?: number;
  outputLines?: number;
}

/** Light clean-up of Markdown for a terminal: headings become rules, links keep their text,
 * emphasis marks and code fences go. */
export function terminalProse(md: string): string {
  return md
    .replace(/^#{2,6}[ \t]+(.*?)[ \t#]*$/gm, '── $1 ──')
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|\s)\*([^*\s][^*]*)\*/g, '$1$2')
    .replace(/^```.*$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export interface Window {
  lines: string[];
  /** the first line shown, clamped */
  top: number;
  above: number;
  below: number;
}

/** `rows` lines of `text` starting at line `top` (clamped so that the window stays full). */
export function scrollWindow(text: string, top: number, rows: number): Window {
  const all = text.replace(/\n$/, '').split('\n');
  const t = Math.max(0, Math.min(top, all.length - rows));
  const lines = all.slice(t, t + rows);
  return { lines, top: t, above: t, below: all.length - t - lines.length };
}

function lineCount(text: string): number {
  return text.replace(/\n$/, '').split('\n').length;
}

export function LessonViewer({ lesson, run, unmet, onExit, introLines = 14, outputLines = 14 }: ViewerProps) {
  if (!I) throw new Error('LessonViewer: call useInkModule(await import("ink")) first');
  const { Box, Text, useApp, useInput } = I;
  const { exit } = useApp();
  const t = strings(lesson.lang);
  const [index, setIndex] = useState(0);
  const [results, setResults] = useState<Record<number, StepResult>>({});
  const [running, setRunning] = useState<number | undefined>(undefined);
  const [live, setLive] = useState('');
  const [finished, setFinished] = useState(false);
  // scrolling: the text from its top (read from the start), the output from its bottom (the
  // newest lines first, as a terminal shows them)
  const [textTop, setTextTop] = useState(0);
  const [outBack, setOutBack] = useState(0);
  const mounted = useRef(true);
  useEffect(() => () => {
    mounted.current = false;
  }, []);

  const steps = lesson.steps;
  const step = steps[index] as Step | undefined;
  const result = step ? results[index] : undefined;
  const text = terminalProse(finished || !step ? lesson.outro : step.intro);
  const shownOutput = step ? (result ? result.output : running === index ? live : '') : '';
  const textRows = finished || !step ? Math.max(introLines, outputLines) : introLines;
  const maxTextTop = Math.max(0, lineCount(text) - textRows);
  const maxOutBack = Math.max(0, lineCount(plain(shownOutput)) - outputLines);

  const summary = (): ViewerSummary => ({
    passed: steps.filter((s) => results[s.index]?.ok).map((s) => s.id),
    failed: steps.filter((s) => results[s.index] && !results[s.index].ok).map((s) => s.id),
    skipped: steps.filter((s) => !results[s.index]).map((s) => s.id),
  });
  const quit = () => {
    onExit?.(summary());
    exit();
  };
  const start = (s: Step) => {
    setRunning(s.index);
    setLive('');
    setOutBack(0);
    run(s, (c) => mounted.current && setLive((prev) => prev + c)).then((r) => {
      if (!mounted.current) return;
      setResults((prev) => ({ ...prev, [s.index]: r }));
      setRunning(undefined);
    });
  };
  const go = (i: number) => {
    setIndex(i);
    setTextTop(0);
    setOutBack(0);
  };
  const next = () => {
    if (index + 1 < steps.length) go(index + 1);
    else {
      setFinished(true);
      setTextTop(0);
    }
  };

  useInput((input, key) => {
    if (input === 'q' || key.escape || (key.ctrl && input === 'c')) return quit();
    // scrolling works while a command runs too
    // (updates from the previous value: keys can arrive faster than the screen is redrawn)
    if (key.upArrow || input === 'k') return setTextTop((v) => Math.max(0, Math.min(v, maxTextTop) - 1));
    if (key.downArrow || input === 'j') return setTextTop((v) => Math.min(maxTextTop, v + 1));
    if (key.pageUp || input === 'u') return setOutBack((v) => Math.min(maxOutBack, v + outputLines));
    if (key.pageDown || input === 'd') return setOutBack((v) => Math.max(0, Math.min(v, maxOutBack) - outputLines));
    if (running !== undefined) return; // one command at a time
    if (finished) {
      if (key.leftArrow || input === 'p') {
        setFinished(false);
        setTextTop(0);
      } else if (key.return) quit();
      return;
    }
    if (!step) return;
    if (key.return) {
      if (results[index]) next();
      else start(step);
    } else if (input === 'r') start(step);
    else if (key.rightArrow || input === 'n') next();
    else if (key.leftArrow || input === 'p') go(Math.max(0, index - 1));
  });

  const header = (
    <Box justifyContent="space-between">
      <Text bold>minidock lesson {String(lesson.number).padStart(2, '0')} · {lesson.title}</Text>
      <Text dimColor>{finished || !step ? t.done : `${t.step} ${index + 1}/${steps.length} · ${step.id}`}</Text>
    </Box>
  );
  const textWin = scrollWindow(text, textTop, textRows);
  const textPane = text ? (
    <Box flexDirection="column">
      {textWin.above ? <Text dimColor>{t.moreAbove(textWin.above, '↑/k')}</Text> : null}
      <Text>{textWin.lines.join('\n')}</Text>
      {textWin.below ? <Text dimColor>{t.moreBelow(textWin.below, '↓/j')}</Text> : null}
    </Box>
  ) : null;

  if (finished || !step) {
    const s = summary();
    return (
      <Box flexDirection="column">
        {header}
        {textPane}
        <Text> </Text>
        <Text color="green">✓ {t.passed}: {s.passed.length}{s.passed.length ? ` (${s.passed.join(', ')})` : ''}</Text>
        <Text color={s.failed.length ? 'red' : undefined}>✗ {t.failed}: {s.failed.length}{s.failed.length ? ` (${s.failed.join(', ')})` : ''}</Text>
        <Text dimColor>· {t.notRun}: {s.skipped.length}{s.skipped.length ? ` (${s.skipped.join(', ')})` : ''}</Text>
        <Text> </Text>
        <Text>{t.exercises} {lesson.number}{lesson.lang === 'es' ? ' --lang es' : ''}</Text>
        <Text dimColor>[↑/↓] {t.scrollText}  [←] {t.back}  [{t.enter}/q] {t.quit}</Text>
      </Box>
    );
  }

  const reasons = unmet(step);
  const outWin = scrollWindow(plain(shownOutput), lineCount(plain(shownOutput)) - outputLines - outBack, outputLines);
  const patterns = result ? result.patterns : matchPatterns(step.expect, '').map((p) => ({ ...p, ok: undefined as boolean | undefined }));
  const status = result ? ` (${result.timedOut ? t.timeout : result.signal ? result.signal : t.exitN(result.code ?? -1)}, ${Math.round(result.ms)} ms)` : running === index ? ` — ${t.running}` : '';
  return (
    <Box flexDirection="column">
      {header}
      {text.includes(`── ${step.section} ──`) ? null : <Text color="yellow">── {step.section} ──</Text>}
      {textPane}
      <Text> </Text>
      <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1}>
        {step.command.split('\n').map((l, k) => (
          <Text key={k} color="cyan">{k === 0 ? '$ ' : '  '}{l}</Text>
        ))}
      </Box>
      {reasons.length > 0 && !result ? <Text color="yellow">⚠ {t.cannot}: {reasons.join('; ')} — {t.anyway}</Text> : null}
      <Box flexDirection="row">
        <Box flexDirection="column" width="60%" paddingRight={1}>
          <Text bold>{t.output}{status}</Text>
          {outWin.above ? <Text dimColor>{t.moreAbove(outWin.above, t.pageUpKeys)}</Text> : null}
          <Text>{shownOutput ? outWin.lines.join('\n') : result ? t.noOutput : ' '}</Text>
          {outWin.below && shownOutput ? <Text dimColor>{t.moreBelow(outWin.below, t.pageDownKeys)}</Text> : null}
        </Box>
        <Box flexDirection="column" width="40%">
          <Text bold>{t.expected}</Text>
          {patterns.map((p, k) => (
            <Text key={k} color={p.ok === undefined ? undefined : p.ok ? 'green' : 'red'}>
              {p.ok === undefined ? '·' : p.ok ? '✓' : '✗'} {p.negate ? `${t.not} ` : ''}{showPattern(p.pattern)}{p.cases.length ? ` (${t.seenCase}: ${p.cases.join(', ')})` : ''}
            </Text>
          ))}
          <Text color={result ? (result.exitOk ? 'green' : 'red') : undefined}>
            {result ? (result.exitOk ? '✓' : '✗') : '·'} {describeExit(step.exit, lesson.lang)}
          </Text>
        </Box>
      </Box>
      {result ? <Text color={result.ok ? 'green' : 'red'} bold>{result.ok ? `✓ ${t.asExpected}` : `✗ ${t.notExpected}`}</Text> : null}
      <Text dimColor>
        [{t.enter}] {result ? t.next : t.run}  [r] {t.again}  [→/n] {t.next}  [←/p] {t.back}  [↑/↓] {t.scrollText}  [{t.pageKeys}] {t.scrollOutput}  [q] {t.quit}
      </Text>
    </Box>
  );
}

/** Draw the viewer on the terminal until the student quits. */
export async function runViewer(props: Omit<ViewerProps, 'onExit'>): Promise<ViewerSummary> {
  const ink = await import('ink');
  useInkModule(ink);
  let summary: ViewerSummary = { passed: [], failed: [], skipped: [] };
  const rows = process.stdout.rows || 40;
  const app = ink.render(
    <LessonViewer {...props} introLines={props.introLines ?? Math.max(4, Math.floor(rows / 3))} outputLines={props.outputLines ?? Math.max(4, Math.floor(rows / 3))} onExit={(s) => (summary = s)} />,
    { exitOnCtrlC: false },
  );
  await app.waitUntilExit();
  return summary;
}
