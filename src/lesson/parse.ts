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
  constructor(
    readonly path: string,
    readonly line: number,
    message: string,
  ) {
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
  const regex = slashed
    ? new RegExp(slashed[1], slashed[2].includes('m') ? slashed[2] : slashed[2] + 'm')
    : new RegExp(text, 'm');
  return { source: line, regex, negate };
}

function parseInfo(
  info: string,
  path: string,
  line: number,
): Omit<Step, 'command' | 'expect' | 'index' | 'section' | 'intro' | 'line'> | undefined {
  const tokens = info.trim().split(/\s+/).filter(Boolean);
  if (!tokens.some((token) => token.startsWith('step='))) return undefined;
  const step = {
    id: '',
    shell: tokens[0] ?? 'sh',
    needs: [] as string[],
    slow: false,
    exit: 0 as ExitExpectation,
    timeoutS: 60,
  };
  for (const token of tokens.slice(1)) {
    const [key, value] = splitKeyValue(token);
    if (key === 'step' && /^[a-z0-9][a-z0-9-]*$/.test(value)) step.id = value;
    else if (key === 'needs' && value) step.needs = value.split(',');
    else if (key === 'slow' && !value) step.slow = true;
    else if (key === 'exit' && /^(\d+|any|nonzero)$/.test(value))
      step.exit = /^\d+$/.test(value) ? Number(value) : (value as 'any' | 'nonzero');
    else if (key === 'timeout' && /^\d+$/.test(value)) step.timeoutS = Number(value);
    else
      throw new LessonFormatError(
        path,
        line,
        `step info: cannot read "${token}" (step=ID with a-z0-9-, needs=a,b, exit=N|any|nonzero, timeout=S, slow)`,
      );
  }
  if (tokens[0].includes('='))
    throw new LessonFormatError(path, line, 'a step fence starts with its language, e.g. ```sh step=ID');
  return step;
}

/** "key=value" as [key, value]; a bare "key" as [key, ""]. */
function splitKeyValue(token: string): [string, string] {
  const eq = token.indexOf('=');
  return eq < 0 ? [token, ''] : [token.slice(0, eq), token.slice(eq + 1)];
}

function parseCheck(head: string, body: string[], path: string, line: number): Check {
  const check: Check = { id: '', type: 'word', needs: [], sha256: [], tolerance: 0, relative: false, line };
  let typeSeen = false;
  for (const token of head.trim().split(/\s+/).filter(Boolean)) {
    const [key, value] = splitKeyValue(token);
    if (key === 'id' && /^[a-z0-9][a-z0-9-]*$/.test(value)) check.id = value;
    else if (key === 'type' && /^(word|number|text|state)$/.test(value)) {
      check.type = value as CheckType;
      typeSeen = true;
    } else if (key === 'needs' && value) check.needs = value.split(',');
    else if (key === 'sha256' && /^[0-9a-f]{8,64}(,[0-9a-f]{8,64})*$/.test(value)) check.sha256 = value.split(',');
    else if (key === 'value' && Number.isFinite(Number(value))) check.value = Number(value);
    else if (key === 'tolerance' && /^\d+(\.\d+)?%?$/.test(value)) {
      check.relative = value.endsWith('%');
      check.tolerance = parseFloat(value) / (check.relative ? 100 : 1);
    } else
      throw new LessonFormatError(
        path,
        line,
        `check: cannot read "${token}" (id=ID, type=word|number|text|state, sha256=, value=, tolerance=N or N%, needs=)`,
      );
  }
  for (const bodyLine of body) {
    if (!bodyLine.trim()) continue;
    const command = /^(measure|solve|test|cleanup):\s*(.*)$/.exec(bodyLine.trim());
    if (!command)
      throw new LessonFormatError(
        path,
        line,
        `check ${check.id}: a body line is "measure: CMD", "solve: CMD", "test: CMD" or "cleanup: CMD", not "${bodyLine.trim()}"`,
      );
    check[command[1] as 'measure' | 'solve' | 'test' | 'cleanup'] = command[2];
  }
  if (!check.id) throw new LessonFormatError(path, line, 'check without id=');
  if (!typeSeen) throw new LessonFormatError(path, line, `check ${check.id}: type= is required`);
  if (check.type === 'word' && check.sha256.length === 0)
    throw new LessonFormatError(path, line, `check ${check.id}: type=word needs sha256=`);
  if (check.type === 'number' && check.value === undefined && !check.measure)
    throw new LessonFormatError(path, line, `check ${check.id}: type=number needs value= or measure:`);
  if (check.type === 'text' && !check.measure)
    throw new LessonFormatError(path, line, `check ${check.id}: type=text needs measure:`);
  if (check.type === 'state' && !check.test)
    throw new LessonFormatError(path, line, `check ${check.id}: type=state needs test:`);
  return check;
}

/** Parse a lesson file's text. `path` is only used in error messages. */
export function parseLesson(source: string, meta: { number: number; slug: string; lang: Lang; path: string }): Lesson {
  const reader = new LessonReader(source.split('\n'), meta.path);
  reader.readAll();
  if (!reader.title) throw new LessonFormatError(meta.path, 1, 'a lesson starts with a "# Title" heading');
  return {
    ...meta,
    title: reader.title,
    source,
    steps: reader.steps,
    outro: joinProse(reader.prose),
    checks: reader.checks,
  };
}

/** Reads a lesson's lines top to bottom, one block (check, comment, heading, fence, prose line) at a time. */
class LessonReader {
  readonly steps: Step[] = [];
  readonly checks: Check[] = [];
  title = '';
  /** the Markdown read since the last step */
  prose: string[] = [];
  /** the heading the reader is under */
  private section = '';
  /** index of the next line to read */
  private next = 0;
  private readonly stepIds = new Set<string>();

  constructor(
    private readonly lines: string[],
    private readonly path: string,
  ) {}

  readAll(): void {
    while (this.next < this.lines.length) {
      const line = this.lines[this.next];
      // exercise checks, hidden in HTML comments
      const checkComment = /^<!--\s*check\b(.*)$/.exec(line);
      if (checkComment) {
        this.readCheck(checkComment[1]);
        continue;
      }
      if (/^<!--/.test(line)) {
        this.skipComment();
        continue;
      }
      const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
      if (heading) {
        this.readHeading(line, heading[1].length, heading[2]);
        continue;
      }
      const fence = FENCE.exec(line);
      if (fence) {
        this.readFence(line, fence[1], fence[2]);
        continue;
      }
      this.prose.push(line);
      this.next++;
    }
  }

  /** `<!-- check HEAD` up to `-->`: one exercise check. */
  private readCheck(headText: string): void {
    const start = this.next;
    const body: string[] = [];
    let head = headText;
    let closed = head.includes('-->');
    if (closed) head = head.slice(0, head.indexOf('-->'));
    this.next++;
    while (!closed && this.next < this.lines.length) {
      const line = this.lines[this.next];
      if (line.includes('-->')) {
        const before = line.slice(0, line.indexOf('-->'));
        if (before.trim()) body.push(before);
        closed = true;
      } else body.push(line);
      this.next++;
    }
    if (!closed) throw new LessonFormatError(this.path, start + 1, 'check comment without -->');
    const check = parseCheck(head, body, this.path, start + 1);
    if (this.checks.some((other) => other.id === check.id))
      throw new LessonFormatError(this.path, start + 1, `duplicate check id ${check.id}`);
    this.checks.push(check);
  }

  /** any other comment: skip it whole */
  private skipComment(): void {
    while (this.next < this.lines.length && !this.lines[this.next].includes('-->')) this.next++;
    this.next++;
  }

  private readHeading(line: string, level: number, text: string): void {
    // the title is held apart (the viewer's header shows it); every other heading stays in the
    // prose, so that a step's intro says which sections it crossed
    if (level === 1 && !this.title) this.title = text.replace(/^\d+\s*[·.:-]\s*/, '');
    else this.prose.push(line);
    this.section = text;
    this.next++;
  }

  /** A fenced code block: a step (with the expect block after it) or plain Markdown. */
  private readFence(line: string, fence: string, info: string): void {
    const start = this.next;
    const body: string[] = [];
    this.next++;
    while (this.next < this.lines.length && !closesFence(this.lines[this.next], fence)) {
      body.push(this.lines[this.next]);
      this.next++;
    }
    if (this.next >= this.lines.length) throw new LessonFormatError(this.path, start + 1, 'unclosed code fence');
    this.next++;
    const head = parseInfo(info, this.path, start + 1);
    if (info.trim().split(/\s+/)[0] === 'expect')
      throw new LessonFormatError(this.path, start + 1, 'an expect block must follow a step block');
    if (!head) {
      this.prose.push(line, ...body, this.lines[this.next - 1]);
      return;
    }
    if (this.stepIds.has(head.id) || !head.id)
      throw new LessonFormatError(
        this.path,
        start + 1,
        head.id ? `duplicate step id ${head.id}` : 'step= needs an id (a-z, 0-9, -)',
      );
    this.stepIds.add(head.id);
    const expect = this.readExpect(head.id);
    this.steps.push({
      ...head,
      index: this.steps.length,
      command: body.join('\n').trim(),
      expect,
      section: this.section,
      intro: joinProse(this.prose),
      line: start + 1,
    });
    this.prose = [];
  }

  /** the expect block, if any, comes right after (blank lines allowed) */
  private readExpect(stepId: string): Pattern[] {
    let cursor = this.next;
    while (cursor < this.lines.length && this.lines[cursor].trim() === '') cursor++;
    const expect: Pattern[] = [];
    const expectFence = cursor < this.lines.length ? FENCE.exec(this.lines[cursor]) : null;
    if (!expectFence || expectFence[2].trim() !== 'expect') return expect;
    cursor++;
    while (cursor < this.lines.length && !FENCE.test(this.lines[cursor])) {
      if (this.lines[cursor].trim()) {
        try {
          expect.push(parsePattern(this.lines[cursor].trim()));
        } catch (e) {
          throw new LessonFormatError(
            this.path,
            cursor + 1,
            `step ${stepId}: invalid pattern: ${(e as Error).message}`,
          );
        }
      }
      cursor++;
    }
    if (cursor >= this.lines.length) throw new LessonFormatError(this.path, cursor, 'unclosed expect block');
    this.next = cursor + 1;
    return expect;
  }
}

/** Does `line` close a block opened by `fence` (the same character, at least as many, nothing else)? */
function closesFence(line: string, fence: string): boolean {
  return (
    line.startsWith(fence[0].repeat(fence.length)) && line.trim().replace(new RegExp(`^\\${fence[0]}+`), '') === ''
  );
}

function joinProse(lines: string[]): string {
  return lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The normalized form of a free-text answer: what type=word hashes. */
export function normalizeAnswer(s: string): string {
  return s.trim().toLowerCase().replace(/\s+/g, ' ');
}
