// Cancellation: every `…Async` entry point takes options.signal. An already-aborted signal
// rejects at once (no work, no allocation); aborting a running call stops the native work within
// a tile or an item and rejects with an Error named 'AbortError'; its memory is freed, its threads
// go back to the budget, and other calls in flight are unaffected. Timing bounds are generous
// (the test machine is shared) but far below the calls' own running time.
import {
  LongT5TransientGlobalAttention, attention, attentionAsync, blockGlobalAttentionAsync, info, linearAsync, onnxAttentionAsync, setThreads,
  transientGlobalAttentionAsync,
} from '../lib/index';
import { maxAbsDiff, mulberry32, randomTensor } from './helpers/fixtures';
import { findGc } from './helpers/gc';

/** The abort must be seen within this long (the native poll is per tile / item: a few ms unloaded). */
const REJECT_WITHIN_MS = 150;

const rng = mulberry32(1234);
const t = (dims: number[]) => randomTensor(rng, dims);

// Calls that take far longer than the 100 ms after which they are aborted, one per entry point
// (~70-140 GFLOP each: 0.5-1 s on two threads of an AVX-512 core with two FMA ports, ~0.3 s on the
// fastest two-vCPU host seen; at the earlier ~35 GFLOP a fast host finished some before the abort).
const N = 8192;
const big = { q: t([1, 8, N, 64]), k: t([1, 8, N, 64]), v: t([1, 8, N, 64]) };
const LAYER_CFG = { d_model: 256, d_kv: 32, num_heads: 8, local_radius: 1023, global_block_size: 16,
  relative_attention_num_buckets: 32, relative_attention_max_distance: 128 };
const layer = new LongT5TransientGlobalAttention(LAYER_CFG, {
  'q.weight': t([256, 256]), 'k.weight': t([256, 256]), 'v.weight': t([256, 256]), 'o.weight': t([256, 256]),
  'relative_attention_bias.weight': t([32, 8]), 'global_relative_attention_bias.weight': t([32, 8]), 'global_input_layer_norm.weight': t([256]),
});
const hidden = t([4, 8192, 256]);
const gk = t([1, 8, N / 16, 64]);
const radius = 4095;  // a wide window: the TGlobal core must run long
const x = t([8192, 2048]);
// Packed batches of mixed lengths: 8 sequences of 64 to 8192 tokens (q = k = v), and the layer's
// hidden [4 * 8192, 256] cut into 5 sequences.
const packedStarts = Int32Array.from([0, 64, 192, 448, 960, 1984, 4032, 8128, 16320]);
const packedQ = t([16320, 8, 64]);
const packedHidden = { data: hidden.data, dims: [4 * 8192, 256] };
const layerStarts = Int32Array.from([0, 100, 8292, 16484, 24676, 32768]);
const w = t([4096, 2048]);

type Start = (signal?: AbortSignal) => Promise<unknown>;
const ENTRY_POINTS: [string, Start][] = [
  ['attentionAsync', (signal) => attentionAsync(big.q, big.k, big.v, { signal })],
  ['onnxAttentionAsync', (signal) => onnxAttentionAsync({ Q: big.q, K: big.k, V: big.v }, { is_causal: 0 }, { signal, outputs: ['Y'] })],
  ['transientGlobalAttentionAsync', (signal) => transientGlobalAttentionAsync(big.q, big.k, big.v, gk, gk, { localRadius: radius, globalBlockSize: 16, signal })],
  ['blockGlobalAttentionAsync', (signal) => blockGlobalAttentionAsync(big.q, big.k, big.v, { blockSize: N, signal })],
  ['linearAsync', (signal) => linearAsync(x, w, { signal })],
  ['layer.forwardAsync', (signal) => layer.forwardAsync(hidden, undefined, { signal })],
  ['attentionAsync (packed batch)', (signal) => attentionAsync(packedQ, packedQ, packedQ, { layout: 'packed', seqStarts: packedStarts, signal })],
  ['layer.forwardAsync (packed batch)', (signal) => layer.forwardAsync(packedHidden, undefined, { seqStarts: layerStarts, signal })],
];

// One thread, one huge head: the abort must still be seen within a tile of keys, not after a whole
// query block (~1.6 GFLOP each here: many ms on a loaded core). ~1.1 TFLOP per call.
const HUGE = 65536;
const huge = t([1, 1, HUGE, 64]);
const hugeG = t([1, 1, HUGE / 16, 64]);
const ONE_THREAD_HUGE: [string, Start][] = [
  ['attentionAsync', (signal) => attentionAsync(huge, huge, huge, { threads: 1, signal })],
  ['attentionAsync (packed batch)', (signal) => attentionAsync({ data: huge.data, dims: [HUGE, 1, 64] }, { data: huge.data, dims: [HUGE, 1, 64] },
    { data: huge.data, dims: [HUGE, 1, 64] }, { layout: 'packed', seqStarts: Int32Array.from([0, HUGE]), threads: 1, signal })],
  ['transientGlobalAttentionAsync', (signal) => transientGlobalAttentionAsync(huge, huge, huge, hugeG, hugeG,
    { localRadius: HUGE, globalBlockSize: 16, threads: 1, signal })],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a call, aborts it after `after` ms; resolves with how long after the abort it rejected (or throws). */
async function abortAfter(start: Start, after: number): Promise<{ error: unknown; ms: number; ranMs: number }> {
  const ac = new AbortController();
  const t0 = performance.now();
  let settled = -1;
  const p = start(ac.signal).then(
    () => ({ error: undefined }),
    (error) => ({ error }),
  ).finally(() => { settled = performance.now(); });
  await sleep(after);
  const ta = performance.now();
  if (settled >= 0) throw new Error(`the call finished before it was aborted (${(settled - t0).toFixed(0)} ms): make it longer`);
  ac.abort();
  const { error } = await p;
  return { error, ms: settled - ta, ranMs: ta - t0 };
}

describe('an already-aborted signal', () => {
  test.each(ENTRY_POINTS)('%s rejects at once with an AbortError', async (_name, start) => {
    const ac = new AbortController();
    const reason = new Error('stop');
    ac.abort(reason);
    const t0 = performance.now();
    const err = await start(ac.signal).then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AbortError');
    expect(err.code).toBe('ABORT_ERR');
    expect(err.cause).toBe(reason);
    expect(performance.now() - t0).toBeLessThan(50);  // no work ran (each call takes seconds)
  });

  test('rejects even when the other arguments are bad (nothing is validated or allocated)', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(attentionAsync({ data: new Float32Array(1), dims: [9, 9, 9, 9] }, big.k, big.v, { signal: ac.signal }))
      .rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('aborting a running call', () => {
  test.each(ENTRY_POINTS)(`%s rejects with an AbortError within ${REJECT_WITHIN_MS} ms`, async (_name, start) => {
    const r = await abortAfter(start, 100);
    expect(r.error).toBeInstanceOf(Error);
    expect((r.error as Error).name).toBe('AbortError');
    expect(r.ms).toBeLessThan(REJECT_WITHIN_MS);
  });

  test.each(ONE_THREAD_HUGE)(`%s on one thread, B=1 H=1 N=${HUGE}: rejects within ${REJECT_WITHIN_MS} ms`, async (_name, start) => {
    const r = await abortAfter(start, 100);
    expect((r.error as Error).name).toBe('AbortError');
    expect(r.ms).toBeLessThan(REJECT_WITHIN_MS);
  });

  test('a signal that is not an AbortSignal is a TypeError; sync calls have no signal option', async () => {
    await expect(attentionAsync(big.q, big.k, big.v, { signal: {} as AbortSignal })).rejects.toThrow(TypeError);
    await expect(attentionAsync(big.q, big.k, big.v, { signal: 'stop' as unknown as AbortSignal })).rejects.toThrow(/options\.signal must be an AbortSignal/);
    const small = t([1, 1, 4, 8]);
    expect(() => attention(small, small, small, { signal: new AbortController().signal } as never)).toThrow(/unknown option 'signal'/);
  });

  test('aborting after the call finished changes nothing', async () => {
    const small = { q: t([1, 2, 64, 16]), k: t([1, 2, 64, 16]), v: t([1, 2, 64, 16]) };
    const ac = new AbortController();
    const r = await attentionAsync(small.q, small.k, small.v, { signal: ac.signal });
    ac.abort();
    expect(maxAbsDiff(r.data, attention(small.q, small.k, small.v).data)).toBe(0);
  });

  test('other calls in flight are unaffected, and the threads go back to the budget', async () => {
    const keep = info().threads;
    setThreads(2);
    try {
      const mid = { q: t([1, 4, 1024, 64]), k: t([1, 4, 1024, 64]), v: t([1, 4, 1024, 64]) };
      const expected = attention(mid.q, mid.k, mid.v).data;
      const ac = new AbortController();
      const long = attentionAsync(big.q, big.k, big.v, { signal: ac.signal, threads: 1 }).then(() => 'resolved', (e) => e.name);
      const other = attentionAsync(mid.q, mid.k, mid.v, { threads: 1 });
      await sleep(50);
      ac.abort();
      expect(await long).toBe('AbortError');
      expect(maxAbsDiff((await other).data, expected)).toBe(0);
      // The aborted call's lease is back: a call that wants the whole budget runs (it would wait forever otherwise).
      let timer: NodeJS.Timeout | undefined;
      const all = await Promise.race([attentionAsync(mid.q, mid.k, mid.v, { threads: 2 }),
        new Promise<undefined>((r) => { timer = setTimeout(r, 60_000); })]);
      clearTimeout(timer);
      expect(all).toBeDefined();
      expect(maxAbsDiff(all!.data, expected)).toBe(0);
      expect(info().threads).toBe(2);
    } finally {
      setThreads(keep);
    }
  });

  test('a call waiting for threads behind a long one stops waiting when aborted', async () => {
    const keep = info().threads;
    setThreads(1);
    try {
      // The first call is aborted too once the waiting one is done with (it would run ~1 s on one
      // thread, far longer under the sanitizers): it must still settle, either way.
      const firstAc = new AbortController();
      const first = attentionAsync(big.q, big.k, big.v, { signal: firstAc.signal }).then(() => 'resolved', (e) => e.name);
      await sleep(20);
      const r = await abortAfter((signal) => attentionAsync(big.q, big.k, big.v, { signal }), 50);
      expect((r.error as Error).name).toBe('AbortError');
      expect(r.ms).toBeLessThan(REJECT_WITHIN_MS);
      firstAc.abort();
      expect(['resolved', 'AbortError']).toContain(await first);
    } finally {
      setThreads(keep);
    }
  });
});

describe('memory', () => {
  const rssMB = () => process.memoryUsage().rss / 2 ** 20;

  test('the private copies of an aborted call are freed (RSS returns)', async () => {
    // 3 x 64 MiB inputs; the async call copies them (and its output) off the JS heap.
    const M = 16384;
    const q = t([1, 16, M, 64]), k = t([1, 16, M, 64]), v = t([1, 16, M, 64]);
    const out = new Float32Array(q.data.length);
    // Earlier tests' garbage (their inputs and results) collected inside the window below would
    // hide the copies: collect it first (seen: RSS growth 143 MB instead of ~250, 92 MB freed).
    findGc()?.();
    await sleep(10);
    const before = rssMB();
    const ac = new AbortController();
    const p = attentionAsync(q, k, v, { signal: ac.signal, out }).then(() => 'resolved', (e) => e.name);
    await sleep(150);
    const during = rssMB();
    ac.abort();
    expect(await p).toBe('AbortError');
    await sleep(50);
    const after = rssMB();
    expect(during - before).toBeGreaterThan(150);  // the copies were there (the test measures something)
    // (Under AddressSanitizer freed blocks sit in its quarantine, so RSS cannot return there.)
    if (!/asan/.test(process.env.LD_PRELOAD ?? '')) expect(after - before).toBeLessThan(40);
  });

  test('1000 abort/restart cycles leave RSS flat and every completed result right', async () => {
    const mid = { q: t([1, 4, 512, 64]), k: t([1, 4, 512, 64]), v: t([1, 4, 512, 64]) };
    const expected = attention(mid.q, mid.k, mid.v).data;
    const cycle = async (i: number) => {
      const ac = new AbortController();
      const p = attentionAsync(mid.q, mid.k, mid.v, { signal: ac.signal });
      if (i % 3 === 0) ac.abort();
      else setTimeout(() => ac.abort(), i % 3);
      try {
        const r = await p;
        expect(maxAbsDiff(r.data, expected)).toBe(0);
        return 'done';
      } catch (e) {
        expect((e as Error).name).toBe('AbortError');
        return 'aborted';
      }
    };
    for (let i = 0; i < 100; i++) await cycle(i);  // warm-up (allocator arenas, JIT)
    const before = rssMB();
    const counts = { done: 0, aborted: 0 };
    for (let i = 0; i < 1000; i++) counts[await cycle(i)]++;
    const after = rssMB();
    expect(counts.aborted).toBeGreaterThan(300);
    expect(after - before).toBeLessThan(30);
    // And the next call runs normally.
    expect(maxAbsDiff((await attentionAsync(mid.q, mid.k, mid.v)).data, expected)).toBe(0);
  }, 120_000);
});
