// The ink viewer: keys in, screens out (ink-testing-library). Commands are run by a fake runner
// here; test/integration/lessons.test.ts runs the real ones.
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import * as ink from 'ink';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseLesson, type Step } from '../../src/lesson/parse';
import { judge, type StepResult } from '../../src/lesson/runner';
import { LessonViewer, useInkModule, type ViewerSummary } from '../../src/cli/lesson-viewer';

const SRC = `# 01 · Demo

Opening paragraph.

## Namespaces

Look at the PID.

\`\`\`sh step=pid
./bin/minidock.js run --rm ./rootfs sh -c 'echo $$'
\`\`\`

\`\`\`expect
^1$
\`\`\`

## Docker

\`\`\`sh step=docker needs=docker
docker run --rm bb echo ok
\`\`\`

\`\`\`expect
/^ok$/i
\`\`\`

Text after the last step.

## Exercises

1. **pid** — What is the PID?
`;

const ENTER = '\r';
const RIGHT = '\u001B[C';
const LEFT = '\u001B[D';
const UP = '\u001B[A';
const DOWN = '\u001B[B';
const PGUP = '\u001B[5~';
const PGDN = '\u001B[6~';
const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
/** ink throttles its renders: wait until the screen shows `text` (or give up after 2 s). */
async function screen(text: string): Promise<string> {
  for (let k = 0; k < 100; k++) {
    const f = app?.lastFrame() ?? '';
    if (f.includes(text)) {
      await tick(20); // let React attach the new key handler before the next key
      return f;
    }
    await tick(20);
  }
  return app?.lastFrame() ?? '';
}

function fakeRun(outputs: Record<string, [string, number]>) {
  const calls: string[] = [];
  const run = async (step: Step, onOutput: (c: string) => void): Promise<StepResult> => {
    calls.push(step.id);
    const [output, code] = outputs[step.id];
    onOutput(output);
    await tick(5);
    return { code, signal: null, output, ms: 12, timedOut: false, ...judge(step, output, code) };
  };
  return { run, calls };
}

let app: ReturnType<typeof render> | undefined;
beforeAll(() => useInkModule(ink));
afterEach(() => app?.unmount());

function start(
  lang: 'en' | 'es',
  outputs: Record<string, [string, number]>,
  unmet: (s: Step) => string[] = () => [],
  src = SRC,
  rows: { introLines?: number; outputLines?: number } = {},
) {
  const lesson = parseLesson(src, { number: 1, slug: 'demo', lang, path: 'x.md' });
  const fake = fakeRun(outputs);
  let summary: ViewerSummary | undefined;
  app = render(
    createElement(LessonViewer, { lesson, run: fake.run, unmet, onExit: (s: ViewerSummary) => (summary = s), ...rows }),
  );
  return { app, calls: fake.calls, summary: () => summary };
}

describe('LessonViewer', () => {
  it('shows the first step with its prose, command and expectation, not yet run', () => {
    const { app } = start('en', { pid: ['1\n', 0] });
    const f = app.lastFrame()!;
    expect(f).toContain('minidock lesson 01 · Demo');
    expect(f).toContain('step 1/2 · pid');
    expect(f).toContain('Opening paragraph.'); // the text before the first heading is not lost
    expect(f).toContain('── Namespaces ──');
    expect(f).toContain('Look at the PID.');
    expect(f).toContain("$ ./bin/minidock.js run --rm ./rootfs sh -c 'echo $$'");
    expect(f).toContain('· /^1$/');
    expect(f).toContain('[Enter] run');
  });

  it('Enter runs the step and shows its output beside the expected patterns', async () => {
    const { app, calls } = start('en', { pid: ['1\n', 0] });
    app.stdin.write(ENTER);
    const f = await screen('as expected');
    expect(calls).toEqual(['pid']);
    expect(f).toMatch(/output \(exit 0, 12 ms\)\s+expected/);
    expect(f).toMatch(/^1\s+✓ \/\^1\$\/$/m); // output and verdict on the same row
    expect(f).toContain('✓ exit 0');
    expect(f).toContain('✓ as expected');
    expect(f).toContain('[Enter] next');
  });

  it('marks a wrong output, and Enter moves on to the next step', async () => {
    const { app } = start('en', { pid: ['42\n', 0] });
    app.stdin.write(ENTER);
    expect(await screen('not as expected')).toContain('✗ /^1$/');
    app.stdin.write(ENTER);
    expect(await screen('step 2/2')).toContain('step 2/2 · docker');
  });

  it('says why a step cannot run here, and arrows move back and forth without running', async () => {
    const { app, calls } = start('en', { pid: ['1\n', 0], docker: ['ok\n', 0] }, (s) =>
      s.needs.includes('docker') ? ['needs a running Docker daemon (dockerd)'] : [],
    );
    app.stdin.write(RIGHT);
    expect(await screen('step 2/2')).toContain('⚠ cannot run here: needs a running Docker daemon (dockerd)');
    app.stdin.write(LEFT);
    expect(await screen('step 1/2')).toContain('step 1/2 · pid');
    expect(calls).toEqual([]);
  });

  it('ends with a summary, and q reports what passed, failed and was not run', async () => {
    const { app, summary } = start('en', { pid: ['1\n', 0], docker: ['ok\n', 0] });
    app.stdin.write(ENTER); // run pid
    await screen('as expected');
    app.stdin.write(ENTER); // next
    await screen('step 2/2');
    app.stdin.write(RIGHT); // skip docker: the end
    const f = await screen('end of the lesson');
    expect(f).toContain('end of the lesson');
    // what follows the last step, Exercises included, is shown at the end
    expect(f).toContain('Text after the last step.');
    expect(f).toContain('── Exercises ──');
    expect(f).toContain('1. pid — What is the PID?');
    expect(f).toContain('✓ passed: 1 (pid)');
    expect(f).toContain('· not run: 1 (docker)');
    expect(f).toContain('exercises: minidock lesson check 1');
    app.stdin.write('q');
    for (let k = 0; k < 50 && !summary(); k++) await tick(20);
    expect(summary()).toEqual({ passed: ['pid'], failed: [], skipped: ['docker'] });
  });

  it('shows a /regex/flags pattern with its own slashes, not doubled', async () => {
    const { app } = start('en', { pid: ['1\n', 0] });
    app.stdin.write(RIGHT);
    const f = await screen('step 2/2');
    expect(f).toContain('· /^ok$/i');
    expect(f).not.toContain('//');
  });

  it('scrolls long text with ↑/↓ and long output with PgUp/PgDn', async () => {
    const prose = Array.from({ length: 30 }, (_, k) => `prose line ${k + 1}`).join('\n');
    const src = `# 01 · Long\n\n## One\n\n${prose}\n\n\`\`\`sh step=many\nseq 40\n\`\`\`\n\n\`\`\`expect\n^40$\n\`\`\`\n`;
    const out = Array.from({ length: 40 }, (_, k) => `out ${k + 1}`).join('\n') + '\n';
    const { app } = start('en', { many: [out, 0] }, () => [], src, { introLines: 5, outputLines: 6 });
    // the text starts at its top; what does not fit is announced, and reachable
    let f = app.lastFrame()!;
    expect(f).toContain('── One ──');
    expect(f).toContain('↓ 27 more lines below (↓/j)');
    expect(f).not.toContain('prose line 30');
    for (let k = 0; k < 40; k++) app.stdin.write(DOWN);
    f = await screen('prose line 30');
    expect(f).toContain('↑ 27 more lines above (↑/k)');
    expect(f).not.toContain('more lines below');
    app.stdin.write(UP);
    f = await screen('↓ 1 more line below');
    expect(f).toContain('prose line 29');
    expect(f).not.toContain('prose line 30');
    // the output shows its newest lines; PgUp goes back a page, PgDn forward
    app.stdin.write(ENTER);
    f = await screen('as expected');
    expect(f).toContain('out 40');
    expect(f).not.toMatch(/\bout 34\b/);
    expect(f).toContain('↑ 34 more lines above (PgUp/u)');
    app.stdin.write(PGUP);
    f = await screen('↓ 6 more lines below');
    expect(f).toMatch(/\bout 34\b/);
    expect(f).not.toContain('out 40');
    for (let k = 0; k < 10; k++) app.stdin.write(PGUP);
    f = await screen('out 1\n');
    expect(f).not.toContain('more lines above (PgUp');
    for (let k = 0; k < 10; k++) app.stdin.write(PGDN);
    f = await screen('out 40');
    expect(f).not.toContain('more lines below (PgDn');
  });

  it('speaks Spanish for a Spanish lesson, with no English word left', async () => {
    const { app } = start('es', { pid: ['1\n', 0], docker: ['ok\n', 0] }, (s) =>
      s.needs.includes('docker') ? ['x'] : [],
    );
    expect(app.lastFrame()).toContain('paso 1/2 · pid');
    app.stdin.write(ENTER);
    expect(await screen('como se esperaba')).toContain('✓ como se esperaba');
    const frames = [app.lastFrame()!];
    expect(frames[0]).toContain('salida (código 0, 12 ms)');
    app.stdin.write(ENTER);
    frames.push(await screen('paso 2/2'));
    app.stdin.write(RIGHT);
    frames.push(await screen('fin de la lección'));
    // the words of the English table must not appear (the lesson's own text here is English)
    const own =
      /Opening paragraph|Look at the PID|Text after the last step|Exercises|What is the PID|Namespaces|Docker|Demo|^.*\$ .*$/gm;
    for (const f of frames) {
      expect(f.replace(own, '')).not.toMatch(
        /\b(run|next|back|quit|output|expected|passed|failed|skipped|not run|more lines?|above|below|exit|cannot|anyway|step)\b/,
      );
    }
  });
});
