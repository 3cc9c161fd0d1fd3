// What the lessons say, checked against what the engine holds and what the code does: a student who
// uses only the viewer sees every line of prose; the string tables agree; facts the prose states
// (how many namespaces a launch creates) come from the launch code; the answers the exercises ask
// for are accepted; commands are written the way a student types them.
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileFor, listLessons, loadLesson } from '../../src/lesson/catalog';
import { checkOne } from '../../src/lesson/check';
import { LANGS, type Lesson } from '../../src/lesson/parse';
import { renderPlain } from '../../src/lesson/plain';
import { describeExit, runShell, unmetNeeds } from '../../src/lesson/runner';
import { strings } from '../../src/lesson/strings';
import { buildPlan, cloneFlags } from '../../src/runtime/build-plan';
import { DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities';
import { Op } from '../../src/runtime/plan';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, type ContainerSpec } from '../../src/runtime/spec';
import { CLONE } from '../../src/sys/constants';

const DIR = join(__dirname, '..', '..', 'lessons');
const entries = listLessons(DIR);

/**
 * The prose lines of a lesson file, found without the engine's parser: everything outside step
 * blocks, their expect blocks and HTML comments (the hidden checks).
 */
function proseLines(source: string): string[] {
  const out: string[] = [];
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith('<!--')) {
      while (i < lines.length && !lines[i].includes('-->')) i++;
      continue;
    }
    const f = /^(`{3,}|~{3,})\s*(.*)$/.exec(l);
    if (f && (/\bstep=/.test(f[2]) || f[2].trim() === 'expect')) {
      i++;
      while (i < lines.length && lines[i].trim() !== f[1]) i++;
      continue;
    }
    if (l.trim()) out.push(l.trim());
  }
  return out;
}

/** Everything the viewer shows of a lesson: its title, each step's intro, the text after the last step. */
const held = (l: Lesson) => [l.title, ...l.steps.map((s) => s.intro), l.outro].join('\n');

describe('the viewer holds every line of every lesson', () => {
  for (const e of entries) {
    for (const lang of LANGS) {
      it(`${String(e.number).padStart(2, '0')}-${e.slug}/${fileFor(lang)}`, () => {
        const lesson = loadLesson(e, lang);
        const text = held(lesson);
        const lines = proseLines(lesson.source);
        expect(lines.length).toBeGreaterThan(10);
        const missing = lines.filter((l) => (l.startsWith('# ') ? !l.endsWith(lesson.title) : !text.includes(l)));
        expect(missing).toEqual([]);
        // the Exercises section is part of it
        expect(lesson.outro).toMatch(lang === 'en' ? /^## Exercises$/m : /^## Ejercicios$/m);
      });
    }
  }
});

describe('the string tables', () => {
  const en = strings('en');
  const es = strings('es');

  it('have the same keys, and the same kinds of value', () => {
    expect(Object.keys(es).sort()).toEqual(Object.keys(en).sort());
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      expect(typeof es[k], k).toBe(typeof en[k]);
      if (typeof en[k] === 'object') expect(Object.keys(es[k] as object), k).toEqual(Object.keys(en[k] as object));
    }
  });

  it('are translated: every Spanish entry differs from the English one', () => {
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      const show = (v: unknown) => (typeof v === 'function' ? String(v(3, 'x')) : JSON.stringify(v));
      expect(show(es[k]), k).not.toBe(show(en[k]));
    }
  });

  it('speak Spanish in the runner, the checker and --plain for a Spanish lesson', () => {
    const ctx = { cwd: process.cwd(), lang: 'es' as const };
    expect(unmetNeeds({ needs: ['cmd:no-such-program-xyz', 'podman-nope'] }, ctx)).toEqual([
      'hace falta el programa no-such-program-xyz',
      'requisito desconocido «podman-nope»',
    ]);
    expect(describeExit('nonzero', 'es')).toBe('código ≠ 0');
    const l11 = loadLesson(entries.find((x) => x.number === 11)!, 'es');
    const layer = l11.checks.find((c) => c.id === 'layer')!;
    expect(checkOne(layer, 'chroot', ctx).detail).toBe(es.wrongWord);
    const plain = renderPlain(loadLesson(entries[0], 'es'));
    expect(plain).toMatch(/# paso 1: node-version/);
    expect(plain).not.toMatch(/# step \d|expect:/);
  });
});

describe('facts in the prose', () => {
  it('lesson 00 says how many namespaces a launch creates, counted from the launch itself', () => {
    const spec: ContainerSpec = {
      id: 'f'.repeat(64),
      rootfs: '/r',
      args: ['true'],
      env: [],
      cwd: '/',
      hostname: 'h',
      uid: 0,
      gid: 0,
      additionalGids: [],
      tty: false,
      interactive: false,
      readonlyRootfs: false,
      mounts: [],
      capabilities: DOCKER_DEFAULT_CAPS,
      noNewPrivileges: true,
      seccomp: new Uint8Array(8),
      privileged: false,
      maskedPaths: DEFAULT_MASKED_PATHS,
      readonlyPaths: DEFAULT_READONLY_PATHS,
      rlimits: [],
      limits: {},
      stopTimeoutSec: 10,
    };
    // the clone() flags, plus every namespace the child unshares afterwards (the cgroup one)
    let flags = cloneFlags();
    for (const s of buildPlan(spec, { merged: '/m', upper: '/u', work: '/w' }))
      if (s.op === Op.UNSHARE) flags |= s.ints![0];
    const kinds = Object.entries(CLONE)
      .filter(([k, v]) => k.startsWith('CLONE_NEW') && (flags & v) !== 0)
      .map(([k]) => k);
    expect(kinds.length).toBe(6); // PID, NS, UTS, IPC, NET, CGROUP: if this changes, so must lesson 00
    const words = {
      en: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'],
      es: ['cero', 'uno', 'dos', 'tres', 'cuatro', 'cinco', 'seis', 'siete', 'ocho'],
    };
    const e0 = entries.find((x) => x.number === 0)!;
    expect(loadLesson(e0, 'en').source.replace(/\s+/g, ' ')).toContain(
      `crossed ${words.en[kinds.length]} new namespaces`,
    );
    expect(loadLesson(e0, 'es').source.replace(/\s+/g, ' ')).toContain(
      `atravesado ${words.es[kinds.length]} espacios de nombres nuevos`,
    );
  });
});

describe('exercise answers', () => {
  const ctx = { cwd: process.cwd() };
  it('lesson 03 accepts the two-word name of a whiteout it asks for, and the full one', () => {
    for (const lang of LANGS) {
      const check = loadLesson(entries.find((x) => x.number === 3)!, lang).checks.find((c) => c.id === 'whiteout')!;
      for (const a of [
        'character special',
        'Character special file',
        'character device',
        'dispositivo de caracteres',
        'fichero especial de caracteres',
      ]) {
        expect(checkOne(check, a, ctx).verdict, `${lang}: ${a}`).toBe('pass');
      }
      expect(checkOne(check, 'regular file', ctx).verdict).toBe('fail');
    }
  });
});

describe('commands as a student types them', () => {
  const files = [join(DIR, 'README.md'), ...entries.flatMap((e) => e.langs.map((l) => join(e.dir, fileFor(l))))];

  it('never `npx minidock` nor `sudo npx minidock`', () => {
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(/\bnpx\s+minidock\b/);
  });

  it("steps' plain `minidock` is this checkout's, even when another one is first on PATH", () => {
    const root = join(__dirname, '..', '..');
    const other = mkdtempSync(join(tmpdir(), 'other-minidock-'));
    try {
      writeFileSync(join(other, 'minidock'), '#!/bin/sh\necho other\n', { mode: 0o755 });
      const r = runShell('realpath "$(command -v minidock)"', {
        cwd: root,
        env: { PATH: `${other}:${process.env.PATH}` },
      });
      expect(r.output.trim()).toBe(realpathSync(join(root, 'bin', 'minidock.js')));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('lessons/README.md says, in both languages, that minidock needs root: sudo minidock', () => {
    const index = readFileSync(join(DIR, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(index).toMatch(/minidock needs root[^.]*`sudo minidock \.\.\.` where sudo exists/);
    expect(index).toMatch(/minidock necesita ser root[^.]*`sudo minidock \.\.\.` donde haya sudo/);
  });
});
