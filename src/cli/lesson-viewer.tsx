// The interactive lesson viewer (ink): one step at a time. Enter runs the step's command on the
// host (in a real container, when the step starts one), its output appears beside the expected
// patterns, and Enter again moves on. ↑/↓ scroll the text, PgUp/PgDn the output; after the last
// step comes the text that follows it (and the Exercises). Only `minidock lesson N` on a terminal
// loads this file, so ink and React never slow down any other verb.
import type * as Ink from 'ink';
import { useEffect, useRef, useState, type ReactElement } from 'react';
import type { Lang, Lesson, Step } from '../lesson/parse.js';
import { describeExit, matchPatterns, plain, showPattern, type StepResult } from '../lesson/runner.js';
import { strings } from '../lesson/strings.js';

// ink is an ES module with top-level await: the CommonJS bundle cannot require() it, so it is
// loaded with import() when the viewer starts, and handed to the component here (tests do the same).
let inkModule: typeof Ink | undefined;
export function useInkModule(ink: typeof Ink): void {
  inkModule = ink;
}

/** The ink module handed to useInkModule(). */
function loadedInk(): typeof Ink {
  if (!inkModule) throw new Error('LessonViewer: call useInkModule(await import("ink")) first');
  return inkModule;
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
  const first = Math.max(0, Math.min(top, all.length - rows));
  const lines = all.slice(first, first + rows);
  return { lines, top: first, above: first, below: all.length - first - lines.length };
}

function lineCount(text: string): number {
  return text.replace(/\n$/, '').split('\n').length;
}

export function LessonViewer({ lesson, run, unmet, onExit, introLines = 14, outputLines = 14 }: ViewerProps) {
  const { useApp, useInput } = loadedInk();
  const { exit } = useApp();
  const words = strings(lesson.lang);
  const viewer = useViewerState(lesson, run, () => exit(), onExit);
  const { index, results, running, live, finished, textTop, outBack } = viewer;

  const steps = lesson.steps;
  const step = steps[index] as Step | undefined;
  const result = step ? results[index] : undefined;
  const text = terminalProse(finished || !step ? lesson.outro : step.intro);
  const shownOutput = step ? (result ? result.output : running === index ? live : '') : '';
  const textRows = finished || !step ? Math.max(introLines, outputLines) : introLines;
  const maxTextTop = Math.max(0, lineCount(text) - textRows);
  const maxOutBack = Math.max(0, lineCount(plain(shownOutput)) - outputLines);

  useInput((input, key) => handleKey(input, key, { viewer, step, maxTextTop, maxOutBack, outputLines }));

  const header = viewerHeader(
    lesson,
    finished || !step ? words.done : `${words.step} ${index + 1}/${steps.length} · ${step.id}`,
  );
  const textPane = text ? scrolledText(scrollWindow(text, textTop, textRows), lesson.lang) : null;
  if (finished || !step) return finishedScreen(lesson, header, textPane, viewer.summary());

  const outputWindow = scrollWindow(
    plain(shownOutput),
    lineCount(plain(shownOutput)) - outputLines - outBack,
    outputLines,
  );
  const status = result
    ? ` (${result.timedOut ? words.timeout : result.signal ? result.signal : words.exitN(result.code ?? -1)}, ${Math.round(result.ms)} ms)`
    : running === index
      ? ` — ${words.running}`
      : '';
  return stepScreen({
    lesson,
    step,
    result,
    header,
    textPane,
    sectionShown: text.includes(`── ${step.section} ──`),
    reasons: unmet(step),
    outputWindow,
    shownOutput,
    status,
  });
}

/** The viewer's state (which step, the results so far, what runs, the scroll positions) and what changes it. */
function useViewerState(lesson: Lesson, run: ViewerProps['run'], exit: () => void, onExit: ViewerProps['onExit']) {
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
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const steps = lesson.steps;
  const summary = (): ViewerSummary => ({
    passed: steps.filter((s) => results[s.index]?.ok).map((s) => s.id),
    failed: steps.filter((s) => results[s.index] && !results[s.index].ok).map((s) => s.id),
    skipped: steps.filter((s) => !results[s.index]).map((s) => s.id),
  });
  const quit = () => {
    onExit?.(summary());
    exit();
  };
  const start = (step: Step) => {
    setRunning(step.index);
    setLive('');
    setOutBack(0);
    run(step, (chunk) => mounted.current && setLive((prev) => prev + chunk)).then((stepResult) => {
      if (!mounted.current) return;
      setResults((prev) => ({ ...prev, [step.index]: stepResult }));
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
  return {
    index,
    results,
    running,
    live,
    finished,
    textTop,
    outBack,
    setFinished,
    setTextTop,
    setOutBack,
    summary,
    quit,
    start,
    go,
    next,
  };
}

/** What a key press acts on: the viewer's state and how far each pane can scroll. */
interface KeyContext {
  viewer: ReturnType<typeof useViewerState>;
  step: Step | undefined;
  maxTextTop: number;
  maxOutBack: number;
  outputLines: number;
}

/** One key press: quit, scroll, or (when no command runs) run, move between steps, go back from the end. */
function handleKey(
  input: string,
  key: Ink.Key,
  { viewer, step, maxTextTop, maxOutBack, outputLines }: KeyContext,
): void {
  const { index, results, running, finished, setFinished, setTextTop, setOutBack, quit, start, go, next } = viewer;
  if (input === 'q' || key.escape || (key.ctrl && input === 'c')) return quit();
  // scrolling works while a command runs too
  // (updates from the previous value: keys can arrive faster than the screen is redrawn)
  if (key.upArrow || input === 'k') return setTextTop((top) => Math.max(0, Math.min(top, maxTextTop) - 1));
  if (key.downArrow || input === 'j') return setTextTop((top) => Math.min(maxTextTop, top + 1));
  if (key.pageUp || input === 'u') return setOutBack((back) => Math.min(maxOutBack, back + outputLines));
  if (key.pageDown || input === 'd') return setOutBack((back) => Math.max(0, Math.min(back, maxOutBack) - outputLines));
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
}

/** The top line: the lesson's number and title, and where the student is. */
function viewerHeader(lesson: Lesson, position: string) {
  const { Box, Text } = loadedInk();
  return (
    <Box justifyContent="space-between">
      <Text bold>
        minidock lesson {String(lesson.number).padStart(2, '0')} · {lesson.title}
      </Text>
      <Text dimColor>{position}</Text>
    </Box>
  );
}

/** The lesson text's visible window, with how many lines are above and below it. */
function scrolledText(textWindow: Window, lang: Lang) {
  const { Box, Text } = loadedInk();
  const words = strings(lang);
  return (
    <Box flexDirection="column">
      {textWindow.above ? <Text dimColor>{words.moreAbove(textWindow.above, '↑/k')}</Text> : null}
      <Text>{textWindow.lines.join('\n')}</Text>
      {textWindow.below ? <Text dimColor>{words.moreBelow(textWindow.below, '↓/j')}</Text> : null}
    </Box>
  );
}

/** After the last step: the closing text, the steps passed, failed and not run, and how to check the exercises. */
function finishedScreen(lesson: Lesson, header: ReactElement, textPane: ReactElement | null, summary: ViewerSummary) {
  const { Box, Text } = loadedInk();
  const words = strings(lesson.lang);
  return (
    <Box flexDirection="column">
      {header}
      {textPane}
      <Text> </Text>
      <Text color="green">
        ✓ {words.passed}: {summary.passed.length}
        {summary.passed.length ? ` (${summary.passed.join(', ')})` : ''}
      </Text>
      <Text color={summary.failed.length ? 'red' : undefined}>
        ✗ {words.failed}: {summary.failed.length}
        {summary.failed.length ? ` (${summary.failed.join(', ')})` : ''}
      </Text>
      <Text dimColor>
        · {words.notRun}: {summary.skipped.length}
        {summary.skipped.length ? ` (${summary.skipped.join(', ')})` : ''}
      </Text>
      <Text> </Text>
      <Text>
        {words.exercises} {lesson.number}
        {lesson.lang === 'es' ? ' --lang es' : ''}
      </Text>
      <Text dimColor>
        [↑/↓] {words.scrollText} [←] {words.back} [{words.enter}/q] {words.quit}
      </Text>
    </Box>
  );
}

/** Everything one step's screen shows. */
interface StepScreen {
  lesson: Lesson;
  step: Step;
  result: StepResult | undefined;
  header: ReactElement;
  textPane: ReactElement | null;
  /** the text already shows the step's section heading */
  sectionShown: boolean;
  /** why the step cannot run here */
  reasons: string[];
  outputWindow: Window;
  shownOutput: string;
  /** exit status and time, or "running" */
  status: string;
}

/** One step: its text, its command, its output beside the expected patterns, the keys. */
function stepScreen(screen: StepScreen) {
  const { Box, Text } = loadedInk();
  const { lesson, step, result, reasons } = screen;
  const words = strings(lesson.lang);
  return (
    <Box flexDirection="column">
      {screen.header}
      {screen.sectionShown ? null : <Text color="yellow">── {step.section} ──</Text>}
      {screen.textPane}
      <Text> </Text>
      <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1}>
        {step.command.split('\n').map((line, lineNo) => (
          <Text key={lineNo} color="cyan">
            {lineNo === 0 ? '$ ' : '  '}
            {line}
          </Text>
        ))}
      </Box>
      {reasons.length > 0 && !result ? (
        <Text color="yellow">
          ⚠ {words.cannot}: {reasons.join('; ')} — {words.anyway}
        </Text>
      ) : null}
      <Box flexDirection="row">
        {outputColumn(screen)}
        {expectedColumn(lesson, step, result)}
      </Box>
      {result ? (
        <Text color={result.ok ? 'green' : 'red'} bold>
          {result.ok ? `✓ ${words.asExpected}` : `✗ ${words.notExpected}`}
        </Text>
      ) : null}
      <Text dimColor>
        [{words.enter}] {result ? words.next : words.run} [r] {words.again} [→/n] {words.next} [←/p] {words.back} [↑/↓]{' '}
        {words.scrollText} [{words.pageKeys}] {words.scrollOutput} [q] {words.quit}
      </Text>
    </Box>
  );
}

/** The left column: the step's output (live while it runs), scrolled from the bottom. */
function outputColumn({ lesson, result, outputWindow, shownOutput, status }: StepScreen) {
  const { Box, Text } = loadedInk();
  const words = strings(lesson.lang);
  return (
    <Box flexDirection="column" width="60%" paddingRight={1}>
      <Text bold>
        {words.output}
        {status}
      </Text>
      {outputWindow.above ? <Text dimColor>{words.moreAbove(outputWindow.above, words.pageUpKeys)}</Text> : null}
      <Text>{shownOutput ? outputWindow.lines.join('\n') : result ? words.noOutput : ' '}</Text>
      {outputWindow.below && shownOutput ? (
        <Text dimColor>{words.moreBelow(outputWindow.below, words.pageDownKeys)}</Text>
      ) : null}
    </Box>
  );
}

/** The right column: each expected pattern and the expected exit, marked once the step has run. */
function expectedColumn(lesson: Lesson, step: Step, result: StepResult | undefined) {
  const { Box, Text } = loadedInk();
  const words = strings(lesson.lang);
  const patterns = result
    ? result.patterns
    : matchPatterns(step.expect, '').map((match) => ({ ...match, ok: undefined as boolean | undefined }));
  return (
    <Box flexDirection="column" width="40%">
      <Text bold>{words.expected}</Text>
      {patterns.map((match, i) => (
        <Text key={i} color={match.ok === undefined ? undefined : match.ok ? 'green' : 'red'}>
          {match.ok === undefined ? '·' : match.ok ? '✓' : '✗'} {match.negate ? `${words.not} ` : ''}
          {showPattern(match.pattern)}
          {match.cases.length ? ` (${words.seenCase}: ${match.cases.join(', ')})` : ''}
        </Text>
      ))}
      <Text color={result ? (result.exitOk ? 'green' : 'red') : undefined}>
        {result ? (result.exitOk ? '✓' : '✗') : '·'} {describeExit(step.exit, lesson.lang)}
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
    <LessonViewer
      {...props}
      introLines={props.introLines ?? Math.max(4, Math.floor(rows / 3))}
      outputLines={props.outputLines ?? Math.max(4, Math.floor(rows / 3))}
      onExit={(done) => (summary = done)}
    />,
    { exitOnCtrlC: false },
  );
  await app.waitUntilExit();
  return summary;
}
