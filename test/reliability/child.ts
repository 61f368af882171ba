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

// ------------------------------------------------------------------------------------------
// Case suites run by case-runner.js (badinput-cases.js, scenarios-cases.js)

export interface CaseResult {
  i: number;
  id: string;
  pass: boolean;
  why?: string;
  got?: string;
  note?: string;
  skipped?: boolean;
  ms?: number;
}

const CASE_RUNNER = path.join(RELIABILITY_DIR, 'case-runner.js');

/** The ids of a suite's cases (the runner lists them without loading the addon). */
export function listCases(suite: string): string[] {
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const r = spawnSync(process.execPath, [CASE_RUNNER, '--cases', suite, '--list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`case-runner --cases ${suite} --list failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

export interface SuiteOptions {
  from?: number;
  to?: number;
  env?: NodeJS.ProcessEnv;
  memLimitKiB?: number;
  args?: string[];
  idleMs?: number;
}

/**
 * Runs cases [from, to) of a suite in child processes, restarting after the case that crashed or
 * hung; fills `into` with every case's result and returns one line per crash.
 */
export async function runCaseSuite(suite: string, ids: string[], into: Map<number, CaseResult>, o: SuiteOptions = {}): Promise<string[]> {
  const crashed: string[] = [];
  let from = o.from ?? 0;
  const to = o.to ?? ids.length;
  for (let restarts = 0; from < to && restarts < 25; restarts++) {
    let current = -1;
    const r = await runNode(CASE_RUNNER, {
      args: ['--cases', suite, '--from', String(from), '--to', String(to), ...(o.args ?? [])],
      env: o.env,
      memLimitKiB: o.memLimitKiB,
      idleMs: o.idleMs ?? 30_000,
      onLine: (line) => {
        if (line.startsWith('@@START ')) current = Number(line.slice(8));
        else if (line.startsWith('@@RESULT ')) {
          const res = JSON.parse(line.slice(9)) as CaseResult;
          into.set(res.i, res);
          current = -1;
        }
      },
    });
    if (r.stdout.includes('@@DONE') && r.code === 0) break;
    const why = `${howItEnded(r)}\n${tail(r.stderr)}`;
    if (current < 0) {
      crashed.push(`runner failed outside a case: ${why}`);
      break;
    }
    into.set(current, { i: current, id: ids[current], pass: false, why: `the child process ${why}` });
    crashed.push(`${ids[current]}: ${howItEnded(r)}`);
    from = current + 1;
  }
  return crashed;
}

/** One jest test per case, grouped by the part of the id before ' | '. */
export function defineCaseTests(ids: string[], results: Map<number, CaseResult>): void {
  const groups = [...new Set(ids.map((id) => id.split(' | ')[0]))];
  describe.each(groups.map((g) => [g] as const))('%s', (group) => {
    const mine = ids.map((id, i) => [id.slice(group.length + 3), i] as const).filter(([, i]) => ids[i].split(' | ')[0] === group);
    test.each(mine)('%s', (_name, i) => {
      const r = results.get(i);
      if (!r) throw new Error('not run (the runner stopped before this case)');
      if (!r.pass) throw new Error(r.why);
    });
  });
}
