// Packed mixed-length batches for the TGlobal core (transientGlobalAttention with seqStarts) and
// the LongT5 layers (forward(hidden [T, d_model], undefined, { seqStarts })): every sequence's rows
// are the same bits as a call with that sequence alone, sync and async (with a signal), and bad
// offsets or options that mean nothing for a packed batch are clear errors.
import {
  LongT5Attention, LongT5LocalAttention, LongT5TransientGlobalAttention, transientGlobalAttention, transientGlobalAttentionAsync,
} from '../lib/index';
import { maxAbsDiff, mulberry32, randomTensor } from './helpers/fixtures';
import { availableIsas, withIsa } from './helpers/isa';
import { native } from '../lib/native';

const rng = mulberry32(31);
const t = (dims: number[]) => randomTensor(rng, dims);
const LENS = [5, 0, 33, 100, 1, 64, 17];
const seqStarts = Int32Array.from([0, ...LENS.map(((s) => (x: number) => (s += x))(0))]);
const T = seqStarts[seqStarts.length - 1];

describe('LongT5 layers with seqStarts', () => {
  const CFG = { d_model: 32, d_kv: 8, num_heads: 4, local_radius: 6, global_block_size: 8, relative_attention_num_buckets: 16, relative_attention_max_distance: 64 };
  const W = {
    'q.weight': t([32, 32]), 'k.weight': t([32, 32]), 'v.weight': t([32, 32]), 'o.weight': t([32, 32]),
    'relative_attention_bias.weight': t([16, 4]), 'global_relative_attention_bias.weight': t([16, 4]), 'global_input_layer_norm.weight': t([32]),
  };
  const layers = [
    ['tglobal', new LongT5TransientGlobalAttention(CFG, W)],
    ['local', new LongT5LocalAttention(CFG, W)],
    ['full', new LongT5Attention(CFG, W)],
  ] as const;
  const hidden = t([T, 32]);

  const perSequence = (layer: (typeof layers)[number][1]) => {
    const out = new Float32Array(T * 32);
    for (let s = 0; s < LENS.length; s++) {
      if (LENS[s] === 0) continue;
      const h = { data: hidden.data.subarray(seqStarts[s] * 32, seqStarts[s + 1] * 32), dims: [1, LENS[s], 32] };
      out.set(layer.forward(h).data, seqStarts[s] * 32);
    }
    return out;
  };

  test.each(layers)('%s: same bits as per-sequence forward(), sync and async', async (_n, layer) => {
    const want = perSequence(layer);
    const got = layer.forward(hidden, undefined, { seqStarts, threads: 2 });
    expect(got.dims).toEqual([T, 32]);
    expect(maxAbsDiff(got.data, want)).toBe(0);
    const a = await layer.forwardAsync(hidden, undefined, { seqStarts, signal: new AbortController().signal });
    expect(maxAbsDiff(a.data, want)).toBe(0);
  });

  test('bad input', () => {
    const layer = layers[0][1];
    expect(() => layer.forward(t([1, T, 32]), undefined, { seqStarts })).toThrow(/hidden must have 2 dims/);
    expect(() => layer.forward(hidden, new Uint8Array(T).fill(1), { seqStarts })).toThrow(/mask is not supported with options.seqStarts/);
    expect(() => layer.forward(hidden, undefined, { seqStarts: Int32Array.from([0, 5, T - 1]) })).toThrow(/must end at/);
    expect(() => layer.forward(hidden, undefined, { seqStarts: [0, T] as never })).toThrow(TypeError);
  });
});

describe('LongT5 layers with seqStarts: long sequences, work shared across them', () => {
  // Sequences long enough to be cut into row chunks (>= 2 x 96 rows), others just above and below
  // the 96-row line under which a sequence's products run whole, empty and one-token ones: the
  // packed layer spreads their projections and query blocks over the threads, and must still give
  // each sequence the bits of a call with it alone, under every ISA and thread count.
  const LONG = [700, 97, 0, 95, 250, 1, 48, 420];
  const starts = Int32Array.from([0, ...LONG.map(((s) => (x: number) => (s += x))(0))]);
  const TL = starts[starts.length - 1];
  const CFG = { d_model: 48, d_kv: 8, num_heads: 4, local_radius: 20, global_block_size: 16, relative_attention_num_buckets: 16, relative_attention_max_distance: 64 };
  const W = {
    'q.weight': t([32, 48]), 'k.weight': t([32, 48]), 'v.weight': t([32, 48]), 'o.weight': t([48, 32]),
    'relative_attention_bias.weight': t([16, 4]), 'global_relative_attention_bias.weight': t([16, 4]), 'global_input_layer_norm.weight': t([48]),
  };
  const hidden = t([TL, 48]);
  const layers = [['tglobal', new LongT5TransientGlobalAttention(CFG, W)], ['local', new LongT5LocalAttention(CFG, W)]] as const;

  test.each(layers)('%s: same bits as per-sequence forward() under every ISA, 1 and 2 threads', (_n, layer) => {
    for (const isa of availableIsas())
      withIsa(isa, () => {
        const want = new Float32Array(TL * 48);
        for (let s = 0; s < LONG.length; s++)
          if (LONG[s] > 0)
            want.set(layer.forward({ data: hidden.data.subarray(starts[s] * 48, starts[s + 1] * 48), dims: [1, LONG[s], 48] }).data, starts[s] * 48);
        for (const threads of [1, 2]) {
          const got = layer.forward(hidden, undefined, { seqStarts: starts, threads });
          expect([isa, threads, maxAbsDiff(got.data, want)]).toEqual([isa, threads, 0]);
        }
      });
  });

  test('accumulates nothing between calls and aborts cleanly', async () => {
    const layer = layers[0][1];
    const first = layer.forward(hidden, undefined, { seqStarts: starts }).data.slice();
    const ac = new AbortController();
    ac.abort();
    await expect(layer.forwardAsync(hidden, undefined, { seqStarts: starts, signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(maxAbsDiff(layer.forward(hidden, undefined, { seqStarts: starts }).data, first)).toBe(0);
  });
});

describe('TGlobal core with seqStarts', () => {
  const H = 3, D = 8, Dv = 5, g = 8;
  const Gs = LENS.map((n) => Math.floor(n / g));
  const Gt = Gs.reduce((a, b) => a + b, 0);
  const q = t([T, H, D]), k = t([T, H, D]), v = t([T, H, Dv]), gk = t([Gt, H, D]), gv = t([Gt, H, Dv]);
  const tables = { relativeAttentionBias: t([16, H]), globalRelativeAttentionBias: t([16, H]), maxDistance: 64 };
  const opts = { localRadius: 6, globalBlockSize: g, ...tables };

  test('same bits as per-sequence calls, sync and async', async () => {
    const want = new Float32Array(T * H * Dv);
    let g0 = 0;
    for (let s = 0; s < LENS.length; s++) {
      const N = LENS[s], t0 = seqStarts[s];
      const view = (x: Float32Array, at: number, n: number, d: number) => ({ data: x.subarray(at * H * d, (at + n) * H * d), dims: [1, n, H, d] });
      if (N > 0)
        want.set(transientGlobalAttention(view(q.data, t0, N, D), view(k.data, t0, N, D), view(v.data, t0, N, Dv),
          view(gk.data, g0, Gs[s], D), view(gv.data, g0, Gs[s], Dv), { ...opts, layout: 'bnhd' }).data, t0 * H * Dv);
      g0 += Gs[s];
    }
    const got = transientGlobalAttention(q, k, v, gk, gv, { ...opts, seqStarts });
    expect(got.dims).toEqual([T, H, Dv]);
    expect(maxAbsDiff(got.data, want)).toBe(0);
    const a = await transientGlobalAttentionAsync(q, k, v, gk, gv, { ...opts, seqStarts, signal: new AbortController().signal });
    expect(maxAbsDiff(a.data, want)).toBe(0);
    const ac = new AbortController();
    ac.abort();
    await expect(transientGlobalAttentionAsync(q, k, v, gk, gv, { ...opts, seqStarts, signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('long sequences share the threads (one native job): same bits as per-sequence calls under every ISA, 1 and 2 threads', () => {
    const LONG = [500, 0, 97, 3, 260, 16];
    const st = Int32Array.from([0, ...LONG.map(((s) => (x: number) => (s += x))(0))]);
    const TL = st[st.length - 1];
    const GL = LONG.map((n) => Math.floor(n / 16));
    const GLt = GL.reduce((a, b) => a + b, 0);
    const lq = t([TL, H, D]), lk = t([TL, H, D]), lv = t([TL, H, Dv]), lgk = t([GLt, H, D]), lgv = t([GLt, H, Dv]);
    const o = { localRadius: 30, globalBlockSize: 16, ...tables };
    for (const isa of availableIsas())
      withIsa(isa, () => {
        const want = new Float32Array(TL * H * Dv);
        let g0 = 0;
        for (let s = 0; s < LONG.length; s++) {
          const N = LONG[s], t0 = st[s];
          const view = (x: Float32Array, at: number, n: number, d: number) => ({ data: x.subarray(at * H * d, (at + n) * H * d), dims: [1, n, H, d] });
          if (N > 0)
            want.set(transientGlobalAttention(view(lq.data, t0, N, D), view(lk.data, t0, N, D), view(lv.data, t0, N, Dv),
              view(lgk.data, g0, GL[s], D), view(lgv.data, g0, GL[s], Dv), { ...o, layout: 'bnhd' }).data, t0 * H * Dv);
          g0 += GL[s];
        }
        for (const threads of [1, 2]) {
          const got = transientGlobalAttention(lq, lk, lv, lgk, lgv, { ...o, seqStarts: st, threads });
          expect([isa, threads, maxAbsDiff(got.data, want)]).toEqual([isa, threads, 0]);
        }
      });
  });

  test('the native batch entry point checks its calls', () => {
    const one = (d: number) => ({
      q: new Float32Array(4 * d), k: new Float32Array(4 * d), v: new Float32Array(4 * d), out: new Float32Array(4 * d),
      globalK: new Float32Array(0), globalV: new Float32Array(0), B: 1, H: 1, N: 4, D: d, Dv: d, G: 0, radius: 1, scale: 1,
    });
    expect(() => native.tglobalAttentionBatch({ calls: 'x' as never })).toThrow(/calls must be an array/);
    expect(() => native.tglobalAttentionBatch({ calls: [one(4), one(8)] })).toThrow(/same D and Dv/);
    expect(() => native.tglobalAttentionBatch({ calls: [{ ...one(4), q: new Float32Array(3) }] })).toThrow(/q has 3 elements, expected 16/);
    expect(() => native.tglobalAttentionBatch({ calls: [] })).not.toThrow();
    // Empty calls anywhere in the batch: the others still get their own rows.
    const empty = { ...one(4), N: 0, q: new Float32Array(0), k: new Float32Array(0), v: new Float32Array(0), out: new Float32Array(0) };
    const a = { ...one(4), q: Float32Array.from({ length: 16 }, (_, i) => i / 16), v: Float32Array.from({ length: 16 }, (_, i) => i) };
    const alone = new Float32Array(16);
    native.tglobalAttention({ ...a, out: alone });
    const b = { ...a, out: new Float32Array(16) };
    native.tglobalAttentionBatch({ calls: [empty, b, empty] });
    expect(maxAbsDiff(b.out, alone)).toBe(0);
    expect(alone.some((x) => x !== 0)).toBe(true);
  });

  test('bad input', () => {
    expect(() => transientGlobalAttention(q, k, v, t([Gt + 1, H, D]), gv, { ...opts, seqStarts })).toThrow(/globalK has dims/);
    expect(() => transientGlobalAttention(q, k, v, gk, gv, { ...opts, seqStarts, mask: new Uint8Array(T) })).toThrow(/mask is not supported/);
    expect(() => transientGlobalAttention(q, k, v, gk, gv, { ...opts, seqStarts, layout: 'bnhd' })).toThrow(/layout is not supported/);
    expect(() => transientGlobalAttention(q, k, v, gk, gv, { ...opts, seqStarts: Int32Array.from([1, T]) })).toThrow(/seqStarts\[0\] must be 0/);
  });
});
