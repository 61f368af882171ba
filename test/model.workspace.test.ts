// The encoder reuses its scratch between calls (a per-model workspace pool, ops/longt5_model.h):
// whatever ran before — a longer or shorter input, another mask, a concurrent call, an aborted
// one — every result must equal what a freshly loaded model gives for the same input.
import * as path from 'path';
import { LongT5EncoderModel, LongT5ForConditionalGeneration } from '../lib/index';
import { mulberry32 } from '../lib/random';
import { loadModelCase } from './helpers/model-fixtures';

const c = loadModelCase('tglobal_tiny_pad');
const load = (precision: 'fp32' | 'bf16' = 'fp32') =>
  LongT5EncoderModel.fromSafetensors(path.join(c.dir, 'model.safetensors'), c.config as any, { precision });
const vocab = c.config.vocab_size as number;

/** B rows of N seeded ids; with `pad`, row b keeps its first N - 3b tokens. */
function input(seed: number, B: number, N: number, pad: boolean) {
  const r = mulberry32(seed);
  const ids = new Int32Array(B * N);
  const mask = new Int32Array(B * N);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < N; i++) {
      const keep = !pad || i < N - 3 * b;
      ids[b * N + i] = keep ? 2 + Math.floor(r() * (vocab - 2)) : 0;
      mask[b * N + i] = keep ? 1 : 0;
    }
  return { ids: { data: ids, dims: [B, N] }, mask: { data: mask, dims: [B, N] } };
}

// Lengths that grow, shrink and grow again, with and without padding, across global-block edges.
const CASES = [
  { seed: 1, B: 1, N: 300, pad: false },
  { seed: 2, B: 2, N: 17, pad: true },
  { seed: 3, B: 3, N: 129, pad: true },
  { seed: 4, B: 1, N: 5, pad: false },
  { seed: 5, B: 2, N: 420, pad: true },
];

// Each case on a model that never ran anything else.
const fresh = CASES.map((k) => {
  const m = load();
  const { ids, mask } = input(k.seed, k.B, k.N, k.pad);
  const out = Array.from(m.encode(ids, { attentionMask: mask }).data);
  m.dispose();
  return out;
});

const run = (m: LongT5EncoderModel, i: number, options: { signal?: AbortSignal } = {}) => {
  const k = CASES[i];
  const { ids, mask } = input(k.seed, k.B, k.N, k.pad);
  return m.encodeAsync(ids, { attentionMask: mask, ...options });
};

test('one model, one call after another: every result equals a fresh model', async () => {
  const m = load();
  for (let round = 0; round < 2; round++)
    for (let i = 0; i < CASES.length; i++) expect(Array.from((await run(m, i)).data)).toEqual(fresh[i]);
  m.dispose();
});

test('concurrent async calls on one model never share scratch', async () => {
  const m = load();
  const order = [4, 0, 2, 1, 3, 4, 2, 0];
  const outs = await Promise.all(order.map((i) => run(m, i)));
  outs.forEach((o, j) => expect(Array.from(o.data)).toEqual(fresh[order[j]]));
  m.dispose();
});

test('an aborted call leaves the model right for the next', async () => {
  const m = load();
  expect(Array.from((await run(m, 0)).data)).toEqual(fresh[0]);
  for (let i = 0; i < 6; i++) {
    const ac = new AbortController();
    const p = run(m, 4, { signal: ac.signal });
    if (i % 2) ac.abort();
    else setTimeout(() => ac.abort(), i);
    const got = await p.then((o) => Array.from(o.data), (e: Error) => e.name);
    if (got !== 'AbortError') expect(got).toEqual(fresh[4]);
    expect(Array.from((await run(m, i % CASES.length)).data)).toEqual(fresh[i % CASES.length]);
  }
  m.dispose();
});

test('bf16 products reuse the workspace the same way', async () => {
  const want = CASES.map((k) => {
    const ref = load('bf16');
    const { ids, mask } = input(k.seed, k.B, k.N, k.pad);
    const out = Array.from(ref.encode(ids, { attentionMask: mask }).data);
    ref.dispose();
    return out;
  });
  const m = load('bf16');
  for (const i of [4, 1, 0, 3, 2, 4]) expect(Array.from((await run(m, i)).data)).toEqual(want[i]);
  m.dispose();
});

test('scratchBytes: none before a call, the largest call\'s kept after, none after releaseScratch', async () => {
  const m = load();
  expect(m.scratchBytes).toBe(0);
  expect(Array.from((await run(m, 3)).data)).toEqual(fresh[3]);  // B 1, N 5
  const small = m.scratchBytes;
  expect(small).toBeGreaterThan(0);
  expect(Array.from((await run(m, 4)).data)).toEqual(fresh[4]);  // B 2, N 420
  const large = m.scratchBytes;
  // At least the FF's normed input of one row set: [B*N, d_model] floats.
  expect(large).toBeGreaterThanOrEqual(2 * 420 * (c.config.d_model as number) * 4);
  expect(large).toBeGreaterThan(small);
  expect(Array.from((await run(m, 3)).data)).toEqual(fresh[3]);
  expect(m.scratchBytes).toBe(large);  // the larger one is kept
  m.releaseScratch();
  expect(m.scratchBytes).toBe(0);
  m.releaseScratch();  // twice is fine
  for (const i of [4, 0]) expect(Array.from((await run(m, i)).data)).toEqual(fresh[i]);
  expect(m.scratchBytes).toBe(large);
  // A release while a call runs frees only the idle scratch; the call keeps its own.
  const p = run(m, 4);
  m.releaseScratch();
  expect(Array.from((await p).data)).toEqual(fresh[4]);
  m.dispose();
  expect(() => m.scratchBytes).toThrow(/disposed/);
  expect(() => m.releaseScratch()).toThrow(/disposed/);
});

test('the generation model keeps and releases its encoder scratch the same way', () => {
  const m = LongT5ForConditionalGeneration.fromPretrained(c.dir);
  const { ids, mask } = input(5, 2, 420, true);
  const want = m.generate(ids, { attentionMask: mask, maxNewTokens: 4 });
  expect(m.scratchBytes).toBeGreaterThan(0);
  m.releaseScratch();
  expect(m.scratchBytes).toBe(0);
  expect(m.generate(ids, { attentionMask: mask, maxNewTokens: 4 }).data).toEqual(want.data);
  m.dispose();
});
