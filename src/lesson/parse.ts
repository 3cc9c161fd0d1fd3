// Lessons are Markdown files that GitHub renders as they are, and that minidock can also execute.
// Two conventions make a file executable, both invisible or harmless when rendered:
//
//   ```sh step=pid1 needs=verb:doctor exit=0 timeout=60 slow
//   minidock run --rm ./rootfs sh -c 'echo $$'
//   ```
//   ```expect
//   ^1$
//   ```
//
// A fenced block whose info string holds `step=ID` is a step: its body is a bash script run from
// the project root, with this checkout's `minidock` first on PATH (runner.ts stepEnv; GitHub
// highlights it by the first word, `sh`). The fenced `expect` block right
// after it holds one pattern per line, all of which must match the step's output (stdout and stderr
// together): a JavaScript regex in multiline mode, or `/regex/flags`; a line starting with `! `
// must NOT match. A step whose output may rightly differ between kernels accepts each case as an
// alternative with a named group, e.g. `^int80: (?:(?<seccomp>SIGSYS)|(?<no_ia32>SIGSEGV))`: the
// runner reports which case it saw. The info string may also carry:
//   needs=a,b    what the step needs: root, docker, podman, runc, crun, cgroup-v1, cgroup-v2,
//                cmd:NAME (a program on PATH), file:PATH, verb:NAME or verb:NAME:--option (a minidock
//                verb that exists, with that option); an unmet need skips the step, by name
//   exit=N       the expected exit status (default 0), or `any`, or `nonzero`
//   timeout=S    seconds before the step is killed (default 60)
//   slow         takes minutes: run only when asked (--slow, MINIDOCK_LESSON_SLOW=1)
//
// Exercises are checked by `minidock lesson check N`; their checks hide in HTML comments so that
// the rendered page does not give the answers away:
//
//   <!-- check id=peak type=number tolerance=10%
//   measure: minidock run --stats=json -m 32M ./rootfs ... | ...
//   -->
//
// type=word   sha256=h1,h2      the answer, normalized (trimmed, lower case, spaces collapsed), hashes
//                               to one of these sha256 prefixes (`printf %s einval | sha256sum`)
// type=number value=N | measure: the answer is a number within tolerance (N or N%) of the value, or
//                               of the first number the measure command prints on this machine
// type=text   measure:          the answer equals (normalized) what the measure command prints
// type=state  test:             the test command exits 0 (the student's container is in the right
//                               state); $ANSWER holds the answer, if any. `solve:` and `cleanup:`
//                               lines let the lesson test prove that the check can pass.
// Checks may carry needs=... like steps.

export type Lang = 'en' | 'es';
export const LANGS: readonly Lang[] = ['en', 'es'];

export interface Pattern {
  /** the line as written */
  source: string;
  regex: RegExp;
  /** `! pattern`: must not match */
  negate: boolean;
}

export type ExitExpectation = number | 'any' | 'nonzero';

export interface Step {
  id: string;
  /** 0-based position in the lesson */
  index: number;
  /** the fence's language (sh, bash, console) */
  shell: string;
  command: string;
  expect: Pattern[];
  needs: string[];
  slow: boolean;
  exit: ExitExpectation;
  timeoutS: number;
  /** the heading the step sits under */
  section: string;
  /** all the Markdown between the previous step (or the title) and this step: prose, headings,
   * plain code blocks — nothing a student reading only the viewer may miss */
  intro: string;
  /** 1-based line of the opening fence */
  line: number;
}

export type CheckType = 'word' | 'number' | 'text' | 'state';

export interface Check {
  id: string;
  type: CheckType;
  needs: string[];
  sha256: string[];
  value?: number;
  /** absolute, or relative when `relative` */
  tolerance: number;
  relative: boolean;
  measure?: string;
  solve?: string;
  test?: string;
  cleanup?: string;
  line: number;
}

export interface Lesson {
  number: number;
  slug: string;
  lang: Lang;
  title: string;
  path: string;
  source: string;
  steps: Step[];
  /** the Markdown after the last step (its explanation, the Exercises), or the whole text when
   * there is no step */
  outro: string;
  checks: Check[];
}

export class LessonFormatError extends Error {
  constructor(readonly path: string, readonly line: number, message: string) {
    super(`${path}:${line}: ${message}`);
    this.name = 'LessonFormatError';
  }
}

const FENCE = /^(`{3,}|~{3,})\s*(.*)$/;

/** Parse one expect line into a pattern (throws on an invalid regex). */
export function parsePattern(line: string): Pattern {
  let text = line;
  let negate = false;
  if (text.startsWith('! ')) {
    negate = true;
    text = text.slice(2);
  }
  const slashed = /^\/(.*)\/([dgimsuy]*)$/.exec(text);
  const regex = slashed ? new RegExp(slashed[1], slashed[2].includes('m') ? slashed[2] : slashed[2] + 'm') : new RegExp(text, 'm');
  return { source: line, regex, negate };
}

function parseInfo(info: string, path: string, line: number): Omit<Step, 'command' | 'expect' | 'index' | 'section' | 'intro' | 'line'> | undefined {
  const tokens = info.trim().split(/\s+/).filter(Boolean);
  if (!tokens.some((t) => t.startsWith('step='))) return undefined;
  const step = { id: '', shell: tokens[0] ?? 'sh', needs: [] as string[], slow: false, exit: 0 as ExitExpectation, timeoutS: 60 };
  for (const t of tokens.slice(1)) {
    const [k, v] = t.includes('=') ? [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)] : [t, ''];
    if (k === 'step' && /^[a-z0-9][a-z0-9-]*$/.test(v)) step.id = v;
    else if (k === 'needs' && v) step.needs = v.split(',');
    else if (k === 'slow' && !v) step.slow = true;
    else if (k === 'exit' && /^(\d+|any|nonzero)$/.test(v)) step.exit = /^\d+$/.test(v) ? Number(v) : (v as 'any' | 'nonzero');
    else if (k === 'timeout' && /^\d+$/.test(v)) step.timeoutS = Number(v);
    else throw new LessonFormatError(path, line, `step info: cannot read "${t}" (step=ID with a-z0-9-, needs=a,b, exit=N|any|nonzero, timeout=S, slow)`);
  }
  if (tokens[0].includes('=')) throw new LessonFormatError(path, line, 'a step fence starts with its language, e.g. ```sh step=ID');
  return step;
}

function parseCheck(head: string, body: string[], path: string, line: number): Check {
  const check: Check = { id: '', type: 'word', needs: [], sha256: [], tolerance: 0, relative: false, line };
  let typeSeen = false;
  for (const t of head.trim().split(/\s+/).filter(Boolean)) {
    const eq = t.indexOf('=');
    const [k, v] = eq < 0 ? [t, ''] : [t.slice(0, eq), t.slice(eq + 1)];
    if (k === 'id' && /^[a-z0-9][a-z0-9-]*$/.test(v)) check.id = v;
    else if (k === 'type' && /^(word|number|text|state)$/.test(v)) {
      check.type = v as CheckType;
      typeSeen = true;
    } else if (k === 'needs' && v) check.needs = v.split(',');
    else if (k === 'sha256' && /^[0-9a-f]{8,64}(,[0-9a-f]{8,64})*$/.test(v)) check.sha256 = v.split(',');
    else if (k === 'value' && Number.isFinite(Number(v))) check.value = Number(v);
    else if (k === 'tolerance' && /^\d+(\.\d+)?%?$/.test(v)) {
      check.relative = v.endsWith('%');
      check.tolerance = parseFloat(v) / (check.relative ? 100 : 1);
    } else throw new LessonFormatError(path, line, `check: cannot read "${t}" (id=ID, type=word|number|text|state, sha256=, value=, tolerance=N or N%, needs=)`);
  }
  for (const l of body) {
    if (!l.trim()) continue;
    const m = /^(measure|solve|test|cleanup):\s*(.*)$/.exec(l.trim());
    if (!m) throw new LessonFormatError(path, line, `check ${check.id}: a body line is "measure: CMD", "solve: CMD", "test: CMD" or "cleanup: CMD", not "${l.trim()}"`);
    check[m[1] as 'measure' | 'solve' | 'test' | 'cleanup'] = m[2];
  }
  if (!check.id) throw new LessonFormatError(path, line, 'check without id=');
  if (!typeSeen) throw new LessonFormatError(path, line, `check ${check.id}: type= is required`);
  if (check.type === 'word' && check.sha256.length === 0) throw new LessonFormatError(path, line, `check ${check.id}: type=word needs sha256=`);
  if (check.type === 'number' && check.value === undefined && !check.measure) throw new LessonFormatError(path, line, `check ${check.id}: type=number needs value= or measure:`);
  if (check.type === 'text' && !check.measure) throw new LessonFormatError(path, line, `check ${check.id}: type=text needs measure:`);
  if (check.type === 'state' && !check.test) throw new LessonFormatError(path, line, `check ${check.id}: type=state needs test:`);
  return check;
}

/** Parse a lesson file's text. `path` is only used in error messages. */
export function parseLesson(source: string, meta: { number: number; slug: string; lang: Lang; path: string }): Lesson {
  const lines = source.split('\n');
  const steps: Step[] = [];
  const checks: Check[] = [];
  let title = '';
  let section = '';
  let prose: string[] = [];
  let i = 0;
  const ids = new Set<string>();
  while (i < lines.length) {
    const line = lines[i];
    // exercise checks, hidden in HTML comments
    const cm = /^<!--\s*check\b(.*)$/.exec(line);
    if (cm) {
      const start = i;
      const body: string[] = [];
      let head = cm[1];
      let closed = head.includes('-->');
      if (closed) head = head.slice(0, head.indexOf('-->'));
      i++;
      while (!closed && i < lines.length) {
        if (lines[i].includes('-->')) {
          const before = lines[i].slice(0, lines[i].indexOf('-->'));
          if (before.trim()) body.push(before);
          closed = true;
        } else body.push(lines[i]);
        i++;
      }
      if (!closed) throw new LessonFormatError(meta.path, start + 1, 'check comment without -->');
      const check = parseCheck(head, body, meta.path, start + 1);
      if (checks.some((c) => c.id === check.id)) throw new LessonFormatError(meta.path, start + 1, `duplicate check id ${check.id}`);
      checks.push(check);
      continue;
    }
    if (/^<!--/.test(line)) {
      // any other comment: skip it whole
      while (i < lines.length && !lines[i].includes('-->')) i++;
      i++;
      continue;
    }
    const h = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      // the title is held apart (the viewer's header shows it); every other heading stays in the
      // prose, so that a step's intro says which sections it crossed
      if (h[1].length === 1 && !title) title = h[2].replace(/^\d+\s*[·.:-]\s*/, '');
      else prose.push(line);
      section = h[2];
      i++;
      continue;
    }
    const f = FENCE.exec(line);
    if (f) {
      const fence = f[1];
      const info = f[2];
      const start = i;
      const body: string[] = [];
      i++;
      while (i < lines.length && !(lines[i].startsWith(fence[0].repeat(fence.length)) && lines[i].trim().replace(new RegExp(`^\\${fence[0]}+`), '') === '')) {
        body.push(lines[i]);
        i++;
      }
      if (i >= lines.length) throw new LessonFormatError(meta.path, start + 1, 'unclosed code fence');
      i++;
      const head = parseInfo(info, meta.path, start + 1);
      if (info.trim().split(/\s+/)[0] === 'expect') throw new LessonFormatError(meta.path, start + 1, 'an expect block must follow a step block');
      if (!head) {
        prose.push(line, ...body, lines[i - 1]);
        continue;
      }
      if (ids.has(head.id) || !head.id) throw new LessonFormatError(meta.path, start + 1, head.id ? `duplicate step id ${head.id}` : 'step= needs an id (a-z, 0-9, -)');
      ids.add(head.id);
      // the expect block, if any, comes right after (blank lines allowed)
      let j = i;
      while (j < lines.length && lines[j].trim() === '') j++;
      const expect: Pattern[] = [];
      const ef = j < lines.length ? FENCE.exec(lines[j]) : null;
      if (ef && ef[2].trim() === 'expect') {
        j++;
        while (j < lines.length && !FENCE.test(lines[j])) {
          if (lines[j].trim()) {
            try {
              expect.push(parsePattern(lines[j].trim()));
            } catch (e) {
              throw new LessonFormatError(meta.path, j + 1, `step ${head.id}: invalid pattern: ${(e as Error).message}`);
            }
          }
          j++;
        }
        if (j >= lines.length) throw new LessonFormatError(meta.path, j, 'unclosed expect block');
        i = j + 1;
      }
      steps.push({
        ...head,
        index: steps.length,
        command: body.join('\n').trim(),
        expect,
        section,
        intro: joinProse(prose),
        line: start + 1,
      });
      prose = [];
      continue;
    }
    prose.push(line);
    i++;
  }
  if (!title) throw new LessonFormatError(meta.path, 1, 'a lesson starts with a "# Title" heading');
  return { ...meta, title, source, steps, outro: joinProse(prose), checks };
}

function joinProse(lines: string[]): string {
  return lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

/** The normalized form of a free-text answer: what type=word hashes. */
export function normalizeAnswer(s: string): string {
  return s.trim().toLowerCase().replace(/\s+/g, ' ');
}
