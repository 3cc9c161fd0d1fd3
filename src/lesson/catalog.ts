// Where the lessons are, and which exist: lessons/NN-slug/README.md (English) and README.es.md
// (Spanish). The directory is found from this file's own location (src/lesson in tests, dist/ in the
// bundle), or from $MINIDOCK_LESSONS_DIR.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../errors.js';
import { type Lang, type Lesson, LessonFormatError, parseLesson } from './parse.js';
import { strings } from './strings.js';

export interface LessonEntry {
  number: number;
  slug: string;
  dir: string;
  /** the languages that have a file */
  langs: Lang[];
}

/** The project root: the directory that holds lessons/ (steps run from there). */
export function projectRoot(): string {
  if (process.env.MINIDOCK_LESSONS_DIR) return dirname(resolve(process.env.MINIDOCK_LESSONS_DIR));
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let k = 0; k < 6; k++) {
    if (existsSync(join(dir, 'lessons')) && existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return fail('cannot find the lessons/ directory next to minidock; set MINIDOCK_LESSONS_DIR');
}

export function lessonsDir(): string {
  return process.env.MINIDOCK_LESSONS_DIR ? resolve(process.env.MINIDOCK_LESSONS_DIR) : join(projectRoot(), 'lessons');
}

export function fileFor(lang: Lang): string {
  return lang === 'en' ? 'README.md' : `README.${lang}.md`;
}

export function listLessons(dir = lessonsDir()): LessonEntry[] {
  const out: LessonEntry[] = [];
  for (const name of readdirSync(dir).sort()) {
    const match = /^(\d{2})-([a-z0-9-]+)$/.exec(name);
    if (!match) continue;
    const langs = (['en', 'es'] as Lang[]).filter((lang) => existsSync(join(dir, name, fileFor(lang))));
    if (langs.length) out.push({ number: Number(match[1]), slug: match[2], dir: join(dir, name), langs });
  }
  return out;
}

export function findLesson(lessonNumber: number, dir = lessonsDir(), lang: Lang = 'en'): LessonEntry {
  const entry = listLessons(dir).find((listed) => listed.number === lessonNumber);
  if (!entry) fail(strings(lang).noLesson(lessonNumber));
  return entry;
}

export function loadLesson(entry: LessonEntry, lang: Lang): Lesson {
  if (!entry.langs.includes(lang)) fail(strings(lang).noLangVersion(entry.number, lang, entry.langs.join(', ')));
  const path = join(entry.dir, fileFor(lang));
  try {
    return parseLesson(readFileSync(path, 'utf8'), { number: entry.number, slug: entry.slug, lang, path });
  } catch (e) {
    // a broken lesson file is one line naming the file and line, not a stack trace
    if (e instanceof LessonFormatError) fail(`${e.message} (fix the lesson file)`);
    throw e;
  }
}

/** `--lang`, else Spanish when $LANG / $LC_ALL say so, else English. */
export function chooseLang(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Lang {
  if (flag !== undefined) {
    if (flag !== 'en' && flag !== 'es') fail(`--lang ${flag}: the lessons exist in en and es`);
    return flag;
  }
  return /^es([_.-]|$)/.test(env.LC_ALL || env.LC_MESSAGES || env.LANG || '') ? 'es' : 'en';
}
