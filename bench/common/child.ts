// Runs a measurement in a fresh Node process (e.g. peak memory, which an earlier call in the
// same process would hide: freed memory stays resident in malloc's and ORT's arenas).
import { spawn } from 'child_process';

/**
 * Runs `node script ...args`; the child prints one JSON line (the last line of its stdout).
 * Rejects with the child's stderr when it fails or prints no JSON.
 */
export function runJsonChild<T>(script: string, args: readonly string[], timeoutMs = 300_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0) {
        try {
          resolve(JSON.parse(last) as T);
          return;
        } catch {
          /* fall through */
        }
      }
      reject(new Error(`child ${script} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${err.trim().slice(-2000) || last}`));
    });
  });
}
