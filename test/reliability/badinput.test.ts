// The generated bad-input suite (test/reliability/badinput-cases.js): every public entry point,
// sync and async, crossed with families of bad arguments, corrupted and truncated safetensors
// files, and valid-but-unusual inputs that must compute correctly. The cases run in a child
// process (badinput-runner.js) under an address-space limit; if one crashes or hangs the child,
// that case fails with the child's stderr and the runner is restarted after it, so one crash
// neither kills jest nor hides the other cases.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { howItEnded, runNode, tail } from './child';

interface CaseResult {
  i: number;
  id: string;
  pass: boolean;
  why?: string;
  got?: string;
  note?: string;
  skipped?: boolean;
  ms?: number;
}

const RUNNER = path.join(__dirname, 'badinput-runner.js');
const listing = spawnSync(process.execPath, [RUNNER, '--list'], { encoding: 'utf8' });
if (listing.status !== 0) throw new Error(`badinput-runner --list failed: ${listing.stderr}`);
const IDS: string[] = JSON.parse(listing.stdout);

/** 6 GiB of address space: plenty for every case, far below what would disturb the machine. */
const MEM_LIMIT_KIB = 6 * 1024 * 1024;

const results = new Map<number, CaseResult>();
const crashes: string[] = [];

/** Runs cases [from, to) in children, restarting after a crash or hang; fills `into`, returns the crashes. */
async function runCases(into: Map<number, CaseResult>, from = 0, to = IDS.length, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const crashed: string[] = [];
  for (let restarts = 0; from < to && restarts < 25; restarts++) {
    let current = -1;
    const r = await runNode(RUNNER, {
      args: ['--from', String(from), '--to', String(to)],
      env,
      memLimitKiB: MEM_LIMIT_KIB,
      idleMs: 30_000,
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
    into.set(current, { i: current, id: IDS[current], pass: false, why: `the child process ${why}` });
    crashed.push(`${IDS[current]}: ${howItEnded(r)}`);
    from = current + 1;
  }
  return crashed;
}

beforeAll(async () => {
  crashes.push(...(await runCases(results)));
}, 600_000);

test('the harness survives a crashing case: it fails that case and runs the rest', async () => {
  const got = new Map<number, CaseResult>();
  const crashed = await runCases(got, 10, 14, { GA_BADINPUT_CRASH_AT: '11' });
  expect(crashed).toHaveLength(1);
  expect(crashed[0]).toMatch(/SIGABRT/);
  expect(got.get(11)?.pass).toBe(false);
  expect([...got.keys()].sort()).toEqual([10, 11, 12, 13]);
}, 120_000);

test(`the generated suite has at least 300 cases (${IDS.length}) and every one ran`, () => {
  expect(IDS.length).toBeGreaterThanOrEqual(300);
  const missing = IDS.filter((_, i) => !results.has(i));
  expect(missing.slice(0, 10)).toEqual([]);
});

test('no case crashed or hung the child process', () => {
  expect(crashes).toEqual([]);
});

test('notes: errors of the other accepted class, misleading messages (informational)', () => {
  const notes = [...results.values()].filter((r) => r.note).map((r) => `${r.id}: ${r.note}`);
  if (notes.length) console.log(`${notes.length} notes:\n${notes.join('\n')}`);
});

describe.each(
  [...new Set(IDS.map((id) => id.split(' | ')[0]))].map((entry) => [entry] as const),
)('%s', (entry) => {
  const mine = IDS.map((id, i) => [id.slice(entry.length + 3), i] as const).filter(([, i]) => IDS[i].split(' | ')[0] === entry);
  test.each(mine)('%s', (_name, i) => {
    const r = results.get(i);
    if (!r) throw new Error('not run (the runner stopped before this case)');
    if (!r.pass) throw new Error(r.why);
  });
});
