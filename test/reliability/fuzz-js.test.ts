// Short runs of the JS fuzz loops (fuzz-js.js; scripts/fuzz.sh runs them longer, with the native
// libFuzzer target): the safetensors header parser on mutated files, and the raw addon on
// consistent-or-off-by-one argument objects. Fixed seeds, so a failure here reproduces with
// `node test/reliability/fuzz-js.js --seed <seed> --iterations <n>`. In a child process with an
// address-space limit.
import { howItEnded, runNode, tail } from './child';

test.each([
  ['safetensors', 20240601, 15000],
  ['binding', 20240602, 20000],
])('fuzz %s: seed %i, %i iterations, no violation', async (target, seed, iterations) => {
  const r = await runNode('fuzz-js.js', {
    args: ['--only', String(target), '--seed', String(seed), '--iterations', String(iterations)],
    memLimitKiB: 6 * 1024 * 1024,
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`fuzz-js ${target}: ${howItEnded(r)}\n${tail(r.stdout, 4000)}\n${tail(r.stderr)}`);
  expect(r.stdout).toMatch(new RegExp(`fuzz ${target}: ${iterations} `));
}, 150_000);
