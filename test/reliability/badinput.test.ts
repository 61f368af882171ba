// The generated bad-input suite (test/reliability/badinput-cases.js): every public entry point,
// sync and async, crossed with families of bad arguments, corrupted and truncated safetensors
// files, the raw binding fed garbage, and valid-but-unusual inputs that must compute correctly.
// The cases run in a child process (case-runner.js) under an address-space limit; if one crashes
// or hangs the child, that case fails with the child's stderr and the runner restarts after it,
// so one crash neither kills jest nor hides the other cases.
import { CaseResult, defineCaseTests, listCases, runCaseSuite } from './child';

const IDS = listCases('badinput');
/** 6 GiB of address space: plenty for every case, far below what would disturb the machine. */
const MEM_LIMIT_KIB = 6 * 1024 * 1024;
const results = new Map<number, CaseResult>();
const crashes: string[] = [];

beforeAll(async () => {
  // idleMs: no case needs more than ~1 s; one that hangs is killed after 15 s and fails alone.
  crashes.push(...(await runCaseSuite('badinput', IDS, results, { memLimitKiB: MEM_LIMIT_KIB, idleMs: 15_000 })));
}, 600_000);

test(`the generated suite has at least 300 cases (${IDS.length}) and every one ran`, () => {
  expect(IDS.length).toBeGreaterThanOrEqual(300);
  const missing = IDS.filter((_, i) => !results.has(i));
  expect(missing.slice(0, 10)).toEqual([]);
});

test('no case crashed or hung the child process', () => {
  expect(crashes).toEqual([]);
});

test('the harness survives a crashing case: it fails that case and runs the rest', async () => {
  const got = new Map<number, CaseResult>();
  const crashed = await runCaseSuite('badinput', IDS, got, { from: 10, to: 14, env: { GA_CASE_RUNNER_CRASH_AT: '11' }, memLimitKiB: MEM_LIMIT_KIB });
  expect(crashed).toHaveLength(1);
  expect(crashed[0]).toMatch(/SIGABRT/);
  expect(got.get(11)?.pass).toBe(false);
  expect([...got.keys()].sort((a, b) => a - b)).toEqual([10, 11, 12, 13]);
}, 120_000);

test('notes: errors of the other accepted class, misleading messages (informational)', () => {
  const notes = [...results.values()].filter((r) => r.note).map((r) => `${r.id}: ${r.note}`);
  if (notes.length) console.log(`${notes.length} notes:\n${notes.join('\n')}`);
});

defineCaseTests(IDS, results);
