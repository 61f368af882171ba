// Result files: bench/results/<name>-<date>.json by default.
import * as fs from 'fs';
import * as path from 'path';

/** The repository's bench/results folder (this file runs from dist/bench/common). */
export function resultsDir(): string {
  return path.resolve(__dirname, '..', '..', '..', 'bench', 'results');
}

/** bench/results/<name>-YYYY-MM-DD.json (local date). */
export function defaultResultPath(name: string, date = new Date()): string {
  const d = `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
  return path.join(resultsDir(), `${name}-${d}.json`);
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
