// Where results go. By default into the CURRENT folder (./global-attention-<bench>-<date>.json):
// a run from any folder — a linked or installed global-attention included — leaves its files
// where it was started, never in the clone's bench/results/, which holds the documented results
// (tracked in git). Only an explicit --json FILE, or --latest run inside the clone, writes there.
import * as fs from 'fs';
import * as path from 'path';

/**
 * The clone this code runs from — the nearest folder above this file with global-attention's
 * package.json and bench/run.ts (from dist/bench/common or, under ts-jest, bench/common) — or null
 * when it runs from an installed package (which ships no bench sources).
 */
export function repositoryRoot(): string | null {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'bench', 'run.ts')) && packageName(dir) === 'global-attention') return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

function packageName(dir: string): string | null {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name ?? null;
  } catch {
    return null;
  }
}

/** Whether `dir` (default: the current folder) is the clone or inside it. */
export function inRepository(dir = process.cwd()): boolean {
  const root = repositoryRoot();
  if (root === null) return false;
  const rel = path.relative(fs.realpathSync(root), fs.realpathSync(dir));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The clone's bench/results folder (the documented results), or null outside a clone. */
export function resultsDir(): string | null {
  const root = repositoryRoot();
  return root === null ? null : path.join(root, 'bench', 'results');
}

/** YYYY-MM-DD (local date). */
export function dateStamp(date = new Date()): string {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
}

/** ./global-attention-<name>-YYYY-MM-DD[-quick].json in the current folder. */
export function defaultResultPath(name: string, quick = false, date = new Date()): string {
  return path.resolve(`global-attention-${name}-${dateStamp(date)}${quick ? '-quick' : ''}.json`);
}

/** Where --latest copies latest.json/.svg: the clone's bench/results when run inside the clone, else next to `file`. */
export function latestDir(file: string): string {
  const dir = resultsDir();
  return dir !== null && inRepository() ? dir : path.dirname(path.resolve(file));
}

/** Writes `value` as indented JSON (atomically: a temp file, then rename); returns the path. */
export function writeJson(file: string, value: unknown): string {
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  fs.renameSync(tmp, abs);
  return abs;
}
