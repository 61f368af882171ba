// attentionAsync(): same results as attention(); many calls in flight at once; the event loop
// keeps running during a long call; thread settings (setThreads, per-call threads); and inputs
// the caller drops while a call runs (with a real garbage collection when one can be triggered).
import { attention, attentionAsync, AttentionOptions, info, setThreads } from '../lib/index';
import { native } from '../lib/native';
import { firstMismatch, maxAbsDiff, mulberry32, randomMask, randomTensor, referenceAttention } from './helpers/fixtures';
import { findGc } from './helpers/gc';

const gc = findGc();

interface Problem {
  q: { data: Float32Array; dims: number[] };
  k: { data: Float32Array; dims: number[] };
  v: { data: Float32Array; dims: number[] };
  options: AttentionOptions;
  mask?: Uint8Array;
}

function problem(seed: number, B: number, H: number, Hk: number, Nq: number, Nk: number, D: number, Dv: number, extra: { causal?: boolean; mask?: boolean; bias?: boolean } = {}): Problem {
  const rng = mulberry32(seed);
  const p: Problem = {
    q: randomTensor(rng, [B, H, Nq, D]),
    k: randomTensor(rng, [B, Hk, Nk, D]),
    v: randomTensor(rng, [B, Hk, Nk, Dv]),
    options: {},
  };
  if (extra.causal) p.options.causal = true;
  if (extra.mask) {
    p.mask = randomMask(rng, B * Nk, 0.7);
    p.options.keyMask = p.mask;
  }
  if (extra.bias) p.options.bias = randomTensor(rng, [1, H, Nq, Nk]);
  return p;
}

const reference = (p: Problem) =>
  referenceAttention(p.q, p.k, p.v, { causal: p.options.causal, keyMask: p.mask, bias: p.options.bias });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label: string): void {
  const err = maxAbsDiff(actual, expected);
  if (!(err <= tol)) throw new Error(`${label}: max abs diff ${err} > ${tol}; first at ${firstMismatch(actual, expected, tol)}`);
}

const savedThreads = info().threads;
afterAll(() => {
  setThreads(savedThreads);
});

describe('async equals sync', () => {
  const cases: [string, Problem][] = [
    ['plain', problem(1, 2, 4, 4, 33, 33, 64, 64)],
    ['GQA + causal + mask + bias, Nq != Nk, Dv != D', problem(2, 2, 6, 3, 17, 129, 80, 17, { causal: true, mask: true, bias: true })],
    ['N 1000, D 128', problem(3, 1, 2, 2, 1000, 1000, 128, 128)],
    ['tiny', problem(4, 1, 1, 1, 1, 1, 1, 1)],
  ];
  test.each(cases)('%s', async (_n, p) => {
    const s = attention(p.q, p.k, p.v, p.options);
    const a = await attentionAsync(p.q, p.k, p.v, p.options);
    expect(a.dims).toEqual(s.dims);
    expect(a.data).not.toBe(s.data);
    // Same kernel, same ISA, same thread budget: identical bits.
    expect(maxAbsDiff(a.data, s.data)).toBe(0);
    expectClose(a.data, reference(p), 1e-5, 'vs reference');
  });

  test('async writes into a preallocated out and resolves with it', async () => {
    const p = problem(5, 1, 2, 1, 9, 20, 17, 5);
    const out = new Float32Array(2 * 9 * 5).fill(NaN);
    const a = await attentionAsync(p.q, p.k, p.v, { out });
    expect(a.data).toBe(out);
    expectClose(out, reference(p), 1e-5, 'out');
  });
});

describe('many calls in flight', () => {
  test('16 concurrent attentionAsync calls of different shapes all give the right answer', async () => {
    const problems: Problem[] = [];
    for (let i = 0; i < 16; i++) {
      const D = [1, 3, 17, 64, 80, 128][i % 6];
      const Nk = [7, 129, 300, 1000][i % 4];
      const Nq = [1, 64, 129][i % 3];
      const H = i % 2 ? 4 : 2;
      problems.push(problem(100 + i, 1 + (i % 3), H, i % 4 === 0 ? 1 : H, Nq, Nk, D, 1 + ((i * 7) % 40), { causal: i % 3 === 0, mask: i % 2 === 0, bias: i % 5 === 0 }));
    }
    const expected = problems.map((p) => attention(p.q, p.k, p.v, p.options).data);
    const pending = problems.map((p) => attentionAsync(p.q, p.k, p.v, p.options));
    // A synchronous call while the others run must not disturb them (or be disturbed).
    const mid = attention(problems[3].q, problems[3].k, problems[3].v, problems[3].options);
    expect(maxAbsDiff(mid.data, expected[3])).toBe(0);
    const results = await Promise.all(pending);
    results.forEach((r, i) => {
      expectClose(r.data, expected[i], 1e-6, `call ${i} vs its sync result`);
      expectClose(r.data, reference(problems[i]), 1e-5, `call ${i} vs reference`);
    });
  });

  test('64 calls on the same inputs (shared read-only arrays) into separate outputs', async () => {
    const p = problem(7, 2, 4, 2, 129, 129, 64, 64, { mask: true });
    const expected = attention(p.q, p.k, p.v, p.options).data;
    const results = await Promise.all(Array.from({ length: 64 }, () => attentionAsync(p.q, p.k, p.v, p.options)));
    for (const r of results) expectClose(r.data, expected, 1e-6, 'shared-input call');
  });

  test('one bad call among good ones rejects alone', async () => {
    const p = problem(8, 1, 2, 2, 16, 16, 16, 16);
    const calls = [
      attentionAsync(p.q, p.k, p.v),
      attentionAsync(p.q, p.k, p.v, { scale: NaN }),
      attentionAsync(p.q, p.k, p.v, { threads: 1 }),
    ];
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
  });
});

describe('the event loop stays responsive', () => {
  test('a setInterval keeps ticking during a long call', async () => {
    // Grow the problem until one synchronous call takes >= 300 ms (or the size cap).
    let N = 512;
    let p = problem(9, 1, 4, 4, N, N, 64, 64);
    let syncMs = 0;
    for (;;) {
      const t0 = performance.now();
      attention(p.q, p.k, p.v);
      syncMs = performance.now() - t0;
      if (syncMs >= 300 || N >= 16384) break;
      N *= 2;
      p = problem(9, 1, 4, 4, N, N, 64, 64);
    }
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 5);
    const t0 = performance.now();
    const call = attentionAsync(p.q, p.k, p.v);
    let settledAt = 0;
    call.then(() => (settledAt = performance.now()));
    await call;
    clearInterval(timer);
    const asyncMs = settledAt - t0;
    const during = ticks.filter((t) => t < settledAt);
    const gaps = during.map((t, i) => t - (i ? during[i - 1] : t0));
    const maxGap = Math.max(...gaps, 0);
    const msg = `N ${N}: sync ${syncMs.toFixed(0)} ms, async ${asyncMs.toFixed(0)} ms, ${during.length} ticks, max gap ${maxGap.toFixed(0)} ms`;
    // A blocked loop would give 0 ticks and one gap as long as the call.
    if (!(during.length >= Math.min(10, asyncMs / 20))) throw new Error(`too few ticks: ${msg}`);
    if (!(maxGap < Math.max(100, asyncMs / 4))) throw new Error(`event loop blocked: ${msg}`);
  });
});

describe('threads', () => {
  test('setThreads changes info().threads; 0 means all hardware threads', () => {
    const hw = info().hardwareThreads;
    expect(hw).toBeGreaterThanOrEqual(1);
    expect(setThreads(1)).toBe(1);
    expect(info().threads).toBe(1);
    const two = setThreads(2);
    expect(info().threads).toBe(two);
    expect(two).toBe(2);
    const all = setThreads(0);
    expect(all).toBe(hw);
    expect(info().threads).toBe(hw);
    setThreads(savedThreads);
    expect(info().threads).toBe(savedThreads);
  });

  test('results do not depend on the thread budget (setThreads 1 vs 2 vs all)', async () => {
    const p = problem(10, 2, 3, 3, 200, 300, 64, 32, { mask: true, causal: true });
    const ref = reference(p);
    const outs: Float32Array[] = [];
    for (const n of [1, 2, 0]) {
      setThreads(n);
      outs.push(attention(p.q, p.k, p.v, p.options).data, (await attentionAsync(p.q, p.k, p.v, p.options)).data);
    }
    setThreads(savedThreads);
    for (const o of outs) expectClose(o, ref, 1e-5, 'vs reference');
    for (const o of outs) expectClose(o, outs[0], 1e-6, 'vs threads 1');
  });

  test('per-call threads option: correct results, the process budget unchanged', async () => {
    const p = problem(11, 2, 4, 2, 129, 1000, 17, 80, { mask: true, bias: true });
    const ref = reference(p);
    const before = info().threads;
    for (const threads of [0, 1, 2, 3, 64]) {
      const s = attention(p.q, p.k, p.v, { ...p.options, threads });
      const a = await attentionAsync(p.q, p.k, p.v, { ...p.options, threads });
      expectClose(s.data, ref, 1e-5, `sync threads ${threads}`);
      expectClose(a.data, ref, 1e-5, `async threads ${threads}`);
      expect(info().threads).toBe(before);
    }
    // concurrently, with different per-call counts
    const all = await Promise.all([1, 2, 1, 2, 0, 3].map((threads) => attentionAsync(p.q, p.k, p.v, { ...p.options, threads })));
    for (const r of all) expectClose(r.data, ref, 1e-5, 'concurrent per-call threads');
  });
});

describe('where an async call works (native/binding/call_buffers.h)', () => {
  const onShared = (a: Float32Array): Float32Array => {
    const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
    s.set(a);
    return s;
  };
  const bytes = (...xs: { byteLength: number }[]) => xs.reduce((n, x) => n + x.byteLength, 0);

  test('ordinary buffers are copied (inputs and out), and the caller\'s out is written when the call ends', async () => {
    const p = problem(71, 2, 4, 2, 37, 53, 24, 20, { causal: true });
    const out = new Float32Array(2 * 4 * 37 * 20);
    const before = native.asyncCopiedBytes();
    const r = await attentionAsync(p.q, p.k, p.v, { ...p.options, out });
    expect(native.asyncCopiedBytes() - before).toBe(bytes(p.q.data, p.k.data, p.v.data, out));
    expect(r.data).toBe(out);
    expect(firstMismatch(out, attention(p.q, p.k, p.v, p.options).data, 0)).toBe('none');
  });

  test('SharedArrayBuffer inputs and out are used in place: nothing copied, the same bits as sync', async () => {
    const p = problem(72, 2, 4, 2, 37, 53, 24, 20, { causal: true });
    const want = attention(p.q, p.k, p.v, p.options).data;
    const q = { data: onShared(p.q.data), dims: p.q.dims }, k = { data: onShared(p.k.data), dims: p.k.dims };
    const v = { data: onShared(p.v.data), dims: p.v.dims };
    const out = new Float32Array(new SharedArrayBuffer(want.byteLength));
    const before = native.asyncCopiedBytes();
    const r = await attentionAsync(q, k, v, { ...p.options, out });
    expect(native.asyncCopiedBytes() - before).toBe(0);
    expect(r.data).toBe(out);
    expect(firstMismatch(out, want, 0)).toBe('none');
    // Mixed: only the ordinary ones are copied.
    const out2 = new Float32Array(want.length);
    const before2 = native.asyncCopiedBytes();
    await attentionAsync(p.q, k, v, { ...p.options, out: out2 });
    expect(native.asyncCopiedBytes() - before2).toBe(bytes(p.q.data, out2));
    expect(firstMismatch(out2, want, 0)).toBe('none');
  });

  test('without options.out the addon allocates the output: only the inputs are copied, the result has the sync bits', async () => {
    for (const [seed, opts] of [[74, { causal: true }], [75, { layout: 'bnhd' as const }], [76, { returnLogSumExp: true }]] as const) {
      const p = problem(seed, 2, 4, 2, 37, 53, 24, 20);
      const q = opts.layout === 'bnhd' ? { data: p.q.data, dims: [2, 37, 4, 24] } : p.q;
      const k = opts.layout === 'bnhd' ? { data: p.k.data, dims: [2, 53, 2, 24] } : p.k;
      const v = opts.layout === 'bnhd' ? { data: p.v.data, dims: [2, 53, 2, 20] } : p.v;
      const want = attention(q, k, v, opts);
      const before = native.asyncCopiedBytes();
      const r = await attentionAsync(q, k, v, opts);
      // q, k, v, and the logSumExp array when asked for (copied back as before): not the output.
      const lse = (want as { logSumExp?: { data: Float32Array } }).logSumExp?.data;
      expect(native.asyncCopiedBytes() - before).toBe(bytes(p.q.data, p.k.data, p.v.data, ...(lse ? [lse] : [])));
      expect(Object.prototype.toString.call(r.data)).toBe('[object Float32Array]');
      expect(Object.prototype.toString.call(r.data.buffer)).toBe('[object ArrayBuffer]');
      expect(r.dims).toEqual(want.dims);
      expect(firstMismatch(r.data, want.data, 0)).toBe('none');
      // Each call gets its own array.
      const again = await attentionAsync(q, k, v, opts);
      expect(again.data).not.toBe(r.data);
      expect(firstMismatch(again.data, want.data, 0)).toBe('none');
    }
  });

  test('the binding with allocateOutputs: resolves with { out } and leaves the argument object alone; sync still needs out', async () => {
    const p = problem(77, 1, 2, 2, 19, 23, 8, 8);
    const want = attention(p.q, p.k, p.v).data;
    const args = { q: p.q.data, k: p.k.data, v: p.v.data, B: 1, H: 2, Hk: 2, Nq: 19, Nk: 23, D: 8, Dv: 8, scale: 1 / Math.sqrt(8), causal: false, allocateOutputs: true as const };
    const made = await native.denseAttentionAsync(args);
    expect(Object.keys(made)).toEqual(['out']);
    expect(made.out!.length).toBe(2 * 19 * 8);
    expect(firstMismatch(made.out!, want, 0)).toBe('none');
    expect('out' in args).toBe(false);
    // Given an out, the call writes it and resolves with nothing, as before.
    const out = new Float32Array(want.length);
    await expect(native.denseAttentionAsync({ ...args, allocateOutputs: undefined as unknown as true, out })).resolves.toBeUndefined();
    expect(firstMismatch(out, want, 0)).toBe('none');
    await expect(native.denseAttentionAsync({ ...args, out })).resolves.toBeUndefined();
    expect(() => native.denseAttention(args as never)).toThrow(/out must be a Float32Array/);
    // (The raw binding checks its arguments before it returns the promise: a bad one throws.)
    expect(() => native.denseAttentionAsync({ ...args, allocateOutputs: 'yes' } as never)).toThrow(/allocateOutputs must be a boolean/);
    expect(() => native.denseAttentionAsync({ ...args, out, allocateOutputs: 1 } as never)).toThrow(/allocateOutputs must be a boolean/);
    // An aborted call hands nothing over.
    const token = native.newCancelToken();
    native.cancelToken(token);
    await expect(native.denseAttentionAsync({ ...args, cancel: token })).rejects.toMatchObject({ name: 'AbortError' });
    // An output longer than a typed array can be is a RangeError before anything runs (V8 would end the process).
    const E = new Float32Array(0);
    const huge = { q: E, k: E, v: E, B: 1, H: 1, Hk: 1, Nq: 2 ** 33, Nk: 0, D: 0, Dv: 1, scale: 1, causal: false, allocateOutputs: true as const };
    let err: Error | undefined;
    try {
      void native.denseAttentionAsync(huge);
    } catch (e) {
      err = e as Error;
    }
    expect([err?.name, err?.message]).toEqual(['RangeError', expect.stringMatching(/out would have 8589934592 elements, more than a typed array holds/)]);
    // An empty output: a zero-length array.
    const none = await native.denseAttentionAsync({ ...huge, Nq: 0 });
    expect(none.out!.length).toBe(0);
  });

  test('a batch of TGlobal calls cannot have the addon allocate their outputs (all would be `out`)', async () => {
    const one = () => ({
      q: new Float32Array(16), k: new Float32Array(16), v: new Float32Array(16), allocateOutputs: true,
      globalK: new Float32Array(0), globalV: new Float32Array(0), B: 1, H: 1, N: 4, D: 4, Dv: 4, G: 0, radius: 1, scale: 1,
    });
    expect(() => native.tglobalAttentionBatchAsync({ calls: [one(), one()] } as never)).toThrow(/more than one output named out/);
    // One call alone is fine: it resolves with its output.
    const made = (await native.tglobalAttentionBatchAsync({ calls: [one()] } as never)) as unknown as { out: Float32Array };
    expect(made.out.length).toBe(16);
  });

  test('each array field is read once: the array checked is the array the call keeps', async () => {
    // A getter that hands out an ordinary array, then the same values on a SharedArrayBuffer: the
    // call must copy the ordinary one it checked (a second read once gave the shared one's pin and
    // the ordinary one's pointer, which the caller could then detach while the job ran).
    const p = problem(78, 1, 2, 2, 9, 11, 8, 8);
    const want = attention(p.q, p.k, p.v).data;
    let reads = 0;
    const plain = Float32Array.from(p.q.data);
    const args = {
      get q() { reads++; return reads === 1 ? plain : onShared(p.q.data); },
      k: onShared(p.k.data), v: onShared(p.v.data), out: new Float32Array(new SharedArrayBuffer(want.byteLength)),
      B: 1, H: 2, Hk: 2, Nq: 9, Nk: 11, D: 8, Dv: 8, scale: 1 / Math.sqrt(8), causal: false,
    };
    const before = native.asyncCopiedBytes();
    const pending = native.denseAttentionAsync(args as never);
    expect(native.asyncCopiedBytes() - before).toBe(plain.byteLength);
    structuredClone(plain.buffer, { transfer: [plain.buffer] });  // detached while the job runs
    await pending;
    expect(firstMismatch(args.out, want, 0)).toBe('none');
  });

  test('many concurrent calls on the same SharedArrayBuffer inputs, outputs on both kinds of buffer', async () => {
    const p = problem(73, 1, 8, 8, 96, 300, 64, 64);
    const want = attention(p.q, p.k, p.v).data;
    const q = { data: onShared(p.q.data), dims: p.q.dims }, k = { data: onShared(p.k.data), dims: p.k.dims };
    const v = { data: onShared(p.v.data), dims: p.v.dims };
    const outs = Array.from({ length: 16 }, (_, i) => (i % 2 ? new Float32Array(new SharedArrayBuffer(want.byteLength)) : new Float32Array(want.length)));
    await Promise.all(outs.map((out) => attentionAsync(q, k, v, { out })));
    for (const out of outs) expect(firstMismatch(out, want, 0)).toBe('none');
  });
});

describe('inputs dropped by the caller during an async call', () => {
  /** Starts a call on fresh inputs and keeps no reference to them; returns the promise and the expected result. */
  function startAndForget(seed: number): { pending: Promise<{ data: Float32Array }>; expected: Float32Array; refs: WeakRef<object>[] } {
    const p = problem(seed, 2, 4, 2, 300, 700, 64, 48, { mask: true, bias: true });
    const expected = attention(p.q, p.k, p.v, p.options).data;
    const refs = [p.q, p.k, p.v, p.q.data, p.k.data, p.v.data, p.options, p.options.bias!.data, p.mask!].map((x) => new WeakRef(x as object));
    // Inline objects, then nothing left pointing at them once this function returns.
    const pending = attentionAsync(
      { data: p.q.data, dims: [...p.q.dims] },
      { data: p.k.data, dims: [...p.k.dims] },
      { data: p.v.data, dims: [...p.v.dims] },
      { keyMask: p.mask, bias: { data: p.options.bias!.data, dims: [...p.options.bias!.dims] } },
    );
    return { pending, expected, refs };
  }

  /** Churns the heap (and runs a full GC when possible) a few times while calls run. */
  async function pressure(rounds: number): Promise<void> {
    for (let r = 0; r < rounds; r++) {
      let junk: unknown[] = [];
      for (let i = 0; i < 200; i++) junk.push(new Float32Array(4096), { i });
      junk = [];
      void junk;
      gc?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  test(`results stay correct${gc ? ' (with forced full GCs)' : ' (allocation pressure only; no gc available)'}`, async () => {
    const calls = Array.from({ length: 8 }, (_, i) => startAndForget(200 + i));
    await pressure(5);
    const results = await Promise.all(calls.map((c) => c.pending));
    results.forEach((r, i) => expectClose(r.data, calls[i].expected, 1e-6, `dropped-input call ${i}`));
  });

  (gc ? test : test.skip)('nothing is retained after the call settles (inputs become collectable)', async () => {
    const { pending, refs } = startAndForget(300);
    await pending;
    for (let i = 0; i < 10 && refs.some((r) => r.deref() !== undefined); i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc!();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const alive = refs.map((r, i) => (r.deref() === undefined ? -1 : i)).filter((i) => i >= 0);
    expect(alive).toEqual([]);
  });
});

test('info() threads is back to what it was', () => {
  setThreads(savedThreads);
  expect(info().threads).toBe(savedThreads);
});

