// The interactive lesson viewer (ink): one step at a time. Enter runs the step's command on the
// host (in a real container, when the step starts one), its output appears beside the expected
// patterns, and Enter again moves on. Only `minidock lesson N` on a terminal loads this file, so
// ink and React never slow down any other verb.
import type * as Ink from 'ink';
import { useEffect, useRef, useState } from 'react';
import type { Lesson, Step } from './parse.js';
import { describeExit, matchPatterns, plain, type StepResult } from './runner.js';

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

const KEYS = {
  en: { run: 'run', next: 'next', back: 'back', again: 'run again', quit: 'quit', running: 'running…', output: 'output', expected: 'expected', asExpected: 'as expected', notExpected: 'not as expected', cannot: 'cannot run here', anyway: 'Enter runs it anyway', step: 'step', done: 'end of the lesson', passed: 'passed', failed: 'failed', skipped: 'skipped', notRun: 'not run', exercises: 'exercises: minidock lesson check', noOutput: '(no output)' },
  es: { run: 'ejecutar', next: 'siguiente', back: 'anterior', again: 'repetir', quit: 'salir', running: 'ejecutando…', output: 'salida', expected: 'esperado', asExpected: 'como se esperaba', notExpected: 'no es lo esperado', cannot: 'no se puede ejecutar aquí', anyway: 'Enter lo ejecuta de todos modos', step: 'paso', done: 'fin de la lección', passed: 'bien', failed: 'mal', skipped: 'omitidos', notRun: 'sin ejecutar', exercises: 'ejercicios: minidock lesson check', noOutput: '(sin salida)' },
} as const;

/** Light clean-up of Markdown for a terminal: links keep their text, emphasis marks go. */
export function terminalProse(md: string): string {
  return md
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|\s)\*([^*\s][^*]*)\*/g, '$1$2')
    .replace(/^```.*$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function tail(text: string, n: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return (lines.length > n ? [`… (${lines.length - n} more lines above)`, ...lines.slice(-n)] : lines).join('\n');
}

export function LessonViewer({ lesson, run, unmet, onExit, introLines = 14, outputLines = 14 }: ViewerProps) {
  if (!I) throw new Error('LessonViewer: call useInkModule(await import("ink")) first');
  const { Box, Text, useApp, useInput } = I;
  const { exit } = useApp();
  const t = KEYS[lesson.lang];
  const [index, setIndex] = useState(0);
  const [results, setResults] = useState<Record<number, StepResult>>({});
  const [running, setRunning] = useState<number | undefined>(undefined);
  const [live, setLive] = useState('');
  const [finished, setFinished] = useState(false);
  const mounted = useRef(true);
  useEffect(() => () => {
    mounted.current = false;
  }, []);

  const steps = lesson.steps;
  const step = steps[index] as Step | undefined;
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
    run(s, (c) => mounted.current && setLive((prev) => prev + c)).then((r) => {
      if (!mounted.current) return;
      setResults((prev) => ({ ...prev, [s.index]: r }));
      setRunning(undefined);
    });
  };
  const next = () => {
    if (index + 1 < steps.length) setIndex(index + 1);
    else setFinished(true);
  };

  useInput((input, key) => {
    if (input === 'q' || key.escape || (key.ctrl && input === 'c')) return quit();
    if (running !== undefined) return; // one command at a time
    if (finished) {
      if (key.leftArrow || input === 'p') setFinished(false);
      else if (key.return) quit();
      return;
    }
    if (!step) return;
    if (key.return) {
      if (results[index]) next();
      else start(step);
    } else if (input === 'r') start(step);
    else if (key.rightArrow || input === 'n') next();
    else if (key.leftArrow || input === 'p') setIndex(Math.max(0, index - 1));
  });

  const header = (
    <Box justifyContent="space-between">
      <Text bold>minidock lesson {String(lesson.number).padStart(2, '0')} · {lesson.title}</Text>
      <Text dimColor>{finished || !step ? t.done : `${t.step} ${index + 1}/${steps.length} · ${step.id}`}</Text>
    </Box>
  );

  if (finished || !step) {
    const s = summary();
    return (
      <Box flexDirection="column">
        {header}
        <Text> </Text>
        <Text color="green">✓ {t.passed}: {s.passed.length}{s.passed.length ? ` (${s.passed.join(', ')})` : ''}</Text>
        <Text color={s.failed.length ? 'red' : undefined}>✗ {t.failed}: {s.failed.length}{s.failed.length ? ` (${s.failed.join(', ')})` : ''}</Text>
        <Text dimColor>· {t.notRun}: {s.skipped.length}{s.skipped.length ? ` (${s.skipped.join(', ')})` : ''}</Text>
        <Text> </Text>
        <Text>{t.exercises} {lesson.number}{lesson.lang === 'es' ? ' --lang es' : ''}</Text>
        <Text dimColor>[←] {t.back}  [Enter/q] {t.quit}</Text>
      </Box>
    );
  }

  const result = results[index];
  const reasons = unmet(step);
  const shownOutput = result ? result.output : running === index ? live : '';
  const patterns = result ? result.patterns : matchPatterns(step.expect, '').map((p) => ({ ...p, ok: undefined as boolean | undefined }));
  return (
    <Box flexDirection="column">
      {header}
      <Text color="yellow">── {step.section} ──</Text>
      {step.intro ? <Text>{tail(terminalProse(step.intro), introLines)}</Text> : null}
      <Text> </Text>
      <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1}>
        {step.command.split('\n').map((l, k) => (
          <Text key={k} color="cyan">{k === 0 ? '$ ' : '  '}{l}</Text>
        ))}
      </Box>
      {reasons.length > 0 && !result ? <Text color="yellow">⚠ {t.cannot}: {reasons.join('; ')} — {t.anyway}</Text> : null}
      <Box flexDirection="row">
        <Box flexDirection="column" width="60%" paddingRight={1}>
          <Text bold>
            {t.output}
            {result ? ` (${result.timedOut ? 'timeout' : result.signal ? result.signal : `exit ${result.code}`}, ${Math.round(result.ms)} ms)` : running === index ? ` — ${t.running}` : ''}
          </Text>
          <Text>{shownOutput ? tail(plain(shownOutput), outputLines) : result ? t.noOutput : ' '}</Text>
        </Box>
        <Box flexDirection="column" width="40%">
          <Text bold>{t.expected}</Text>
          {patterns.map((p, k) => (
            <Text key={k} color={p.ok === undefined ? undefined : p.ok ? 'green' : 'red'}>
              {p.ok === undefined ? '·' : p.ok ? '✓' : '✗'} {p.negate ? `not /${p.pattern.slice(2)}/` : `/${p.pattern}/`}
            </Text>
          ))}
          <Text color={result ? (result.exitOk ? 'green' : 'red') : undefined}>
            {result ? (result.exitOk ? '✓' : '✗') : '·'} {describeExit(step.exit)}
          </Text>
        </Box>
      </Box>
      {result ? <Text color={result.ok ? 'green' : 'red'} bold>{result.ok ? `✓ ${t.asExpected}` : `✗ ${t.notExpected}`}</Text> : null}
      <Text dimColor>
        [Enter] {result ? t.next : t.run}  [r] {t.again}  [→/n] {t.next}  [←/p] {t.back}  [q] {t.quit}
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
