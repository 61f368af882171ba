// worker_threads: the addon loads in 4 workers at once and computes correctly in parallel;
// terminating a worker, exiting the process or a worker with calls in flight, and ending the
// script with calls pending, and aborting calls (AbortSignal) in many threads at once are clean
// (no crash, no hang). Each scenario runs in its own child
// process (workers-runner.js) with a timeout.
import { howItEnded, runNode, tail } from './child';

const MODES: [string, string][] = [
  ['parallel', '4 workers load the addon at once; every result bitwise equal to the main thread'],
  ['terminate', 'terminating workers with long async calls in flight (12 rounds) is clean; the process stays correct'],
  ['exit', 'process.exit(0) with calls in flight in the main thread and 2 workers exits 0'],
  ['worker-exit', 'process.exit() inside a worker with calls in flight ends only the worker'],
  ['drain', 'a script that ends with async calls pending waits for them; results correct'],
  ['abort', 'abort/restart cycles in 3 workers and the main thread at once; terminating workers while aborted calls unwind'],
];

describe('worker_threads and shutdown with calls in flight', () => {
  test.each(MODES)('%s: %s', async (mode) => {
    const r = await runNode('workers-runner.js', { args: [mode], timeoutMs: 180_000 });
    const ok = r.code === 0 && !r.signal && r.stdout.includes(`OK ${mode}`);
    if (!ok) throw new Error(`${mode}: ${howItEnded(r)}\nstdout: ${tail(r.stdout)}\nstderr: ${tail(r.stderr)}`);
  }, 200_000);
});
