// NaN and Inf (the behaviour README.md documents under "NaN and Inf") and a sweep of odd shapes
// over every entry point, under every ISA this machine has: scenarios-cases.js, run in a child
// process (case-runner.js) so that a crash or hang fails a test instead of killing jest.
import { CaseResult, defineCaseTests, listCases, runCaseSuite } from './child';

const IDS = listCases('scenarios');
const results = new Map<number, CaseResult>();
const crashes: string[] = [];

beforeAll(async () => {
  crashes.push(...(await runCaseSuite('scenarios', IDS, results, { memLimitKiB: 6 * 1024 * 1024 })));
}, 600_000);

test('no scenario crashed or hung the child process', () => {
  expect(crashes).toEqual([]);
  expect(IDS.filter((_, i) => !results.has(i))).toEqual([]);
});

defineCaseTests(IDS, results);
