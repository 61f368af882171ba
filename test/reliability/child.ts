// Child processes for the reliability suites: every scenario that could crash, hang or exhaust
// memory runs in its own `node`, so a crash fails a test instead of killing jest.
import { spawn } from 'child_process';
import * as path from 'path';

export const RELIABILITY_DIR = __dirname;
export const ROOT = path.resolve(__dirname, '..', '..');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by us: no output for `idleMs`, or past `timeoutMs`. */
  timedOut: boolean;
  ms: number;
}

export interface ChildOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Kill the child after this long in all. */
  timeoutMs?: number;
  /** Kill the child after this long without a line on stdout (a hang). */
  idleMs?: number;
  /** Address-space limit (ulimit -v, KiB): an absurd allocation then fails instead of waking the OOM killer. */
  memLimitKiB?: number;
  /** Extra node flags. */
  nodeArgs?: string[];
  /** Called with each complete stdout line as it arrives. */
  onLine?: (line: string) => void;
}

/** Runs `node <script>` (a file in test/reliability unless absolute) and collects its output. */
export function runNode(script: string, opts: ChildOptions = {}): Promise<ChildResult> {
  const file = path.isAbsolute(script) ? script : path.join(RELIABILITY_DIR, script);
  const nodeArgv = [...(opts.nodeArgs ?? []), file, ...(opts.args ?? [])];
  const [cmd, argv] = opts.memLimitKiB
    ? ['bash', ['-c', `ulimit -v ${opts.memLimitKiB} && exec "$0" "$@"`, process.execPath, ...nodeArgv]]
    : [process.execPath, nodeArgv];
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd as string, argv as string[], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '', pending = '', timedOut = false;
    let idle: NodeJS.Timeout | undefined;
    const kill = () => {
      timedOut = true;
      child.kill('SIGKILL');
    };
    const arm = () => {
      if (!opts.idleMs) return;
      if (idle) clearTimeout(idle);
      idle = setTimeout(kill, opts.idleMs);
    };
    arm();
    const total = opts.timeoutMs ? setTimeout(kill, opts.timeoutMs) : undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      if (lines.length) arm();
      if (opts.onLine) lines.forEach(opts.onLine);
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
    });
    child.on('close', (code, signal) => {
      if (idle) clearTimeout(idle);
      if (total) clearTimeout(total);
      if (pending && opts.onLine) opts.onLine(pending);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
  });
}

/** The last `n` characters of a child's stderr, for failure messages. */
export const tail = (s: string, n = 1500): string => (s.length > n ? `...${s.slice(-n)}` : s);

/** A one-line summary of how a child ended. */
export function howItEnded(r: ChildResult): string {
  if (r.timedOut) return `killed after ${r.ms} ms (hang or timeout)`;
  if (r.signal) return `died of ${r.signal}`;
  return `exit code ${r.code}`;
}
