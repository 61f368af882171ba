// Packed mixed-length batches: attention(q [T,H,D], k [Tk,Hk,D], v [Tk,Hk,Dv], { layout: 'packed',
// seqStarts, keySeqStarts? }). Each sequence's rows must be the same bits as a call with that
// sequence alone (its slice of the packed tensors is exactly a [1, N, H, D] 'bnhd' tensor), under
// every ISA, with 1 and 2 threads, causal or not, GQA, sequences of 0 ... 1000 tokens (the short
// ones take the decode kernel, as the per-sequence call does), and the float64 reference agrees.
// Bad offsets are TypeErrors/RangeErrors that name the argument.
import { attention, attentionAsync } from '../lib/index';
import { maxAbsDiff, mulberry32, randomData, referenceAttention } from './helpers/fixtures';
import { availableIsas, withIsa } from './helpers/isa';

interface Batch {
  q: Float32Array; k: Float32Array; v: Float32Array;
  H: number; Hk: number; D: number; Dv: number;
  qLens: number[]; kLens: number[];
  seqStarts: Int32Array; keySeqStarts: Int32Array;
}

const starts = (lens: number[]) => Int32Array.from([0, ...lens.map(((s) => (x: number) => (s += x))(0))]);

function makeBatch(seed: number, qLens: number[], kLens: number[], H: number, Hk: number, D: number, Dv: number): Batch {
  const rng = mulberry32(seed);
  const T = qLens.reduce((a, b) => a + b, 0), Tk = kLens.reduce((a, b) => a + b, 0);
  return {
    q: randomData(rng, T * H * D), k: randomData(rng, Tk * Hk * D), v: randomData(rng, Tk * Hk * Dv),
    H, Hk, D, Dv, qLens, kLens, seqStarts: starts(qLens), keySeqStarts: starts(kLens),
  };
}

/** The batch's sequences one call each ('bnhd' views of the packed tensors), concatenated: [T, H, Dv]. */
function perSequence(b: Batch, causal: boolean, threads: number): Float32Array {
  const { H, Hk, D, Dv } = b;
  const T = b.seqStarts[b.seqStarts.length - 1];
  const out = new Float32Array(T * H * Dv);
  for (let s = 0; s < b.qLens.length; s++) {
    const q0 = b.seqStarts[s], nq = b.qLens[s], k0 = b.keySeqStarts[s], nk = b.kLens[s];
    if (nq === 0) continue;
    const r = attention(
      { data: b.q.subarray(q0 * H * D, (q0 + nq) * H * D), dims: [1, nq, H, D] },
      { data: b.k.subarray(k0 * Hk * D, (k0 + nk) * Hk * D), dims: [1, nk, Hk, D] },
      { data: b.v.subarray(k0 * Hk * Dv, (k0 + nk) * Hk * Dv), dims: [1, nk, Hk, Dv] },
      { layout: 'bnhd', causal, threads },
    );
    out.set(r.data, q0 * H * Dv);
  }
  return out;
}

function packed(b: Batch, causal: boolean, threads: number, self = false) {
  const T = b.seqStarts[b.seqStarts.length - 1], Tk = b.keySeqStarts[b.keySeqStarts.length - 1];
  return attention({ data: b.q, dims: [T, b.H, b.D] }, { data: b.k, dims: [Tk, b.Hk, b.D] }, { data: b.v, dims: [Tk, b.Hk, b.Dv] },
    self ? { layout: 'packed', seqStarts: b.seqStarts, causal, threads }
      : { layout: 'packed', seqStarts: b.seqStarts, keySeqStarts: b.keySeqStarts, causal, threads });
}

const LENS = [5, 1, 0, 300, 4, 97, 1000, 3, 129, 2];
const BATCHES: [string, Batch, boolean][] = [
  ['self-attention, H4 D64, lengths 0..1000', makeBatch(1, LENS, LENS, 4, 4, 64, 64), true],
  ['cross (keys of other lengths, one empty), GQA H6 Hk2, D17 Dv9', makeBatch(2, LENS, [7, 300, 4, 0, 1, 2000, 33, 65, 5, 1], 6, 2, 17, 9), false],
  ['decode batch: one query per sequence, MQA H8 Hk1, D128', makeBatch(3, [1, 1, 1, 1, 1, 1], [4000, 17, 1, 600, 0, 257], 8, 1, 128, 128), false],
];

describe.each(availableIsas())('packed dense attention, ISA %s', (isa) => {
  test.each(BATCHES)('%s: same bits as per-sequence calls (causal and not, 1 and 2 threads)', (_n, b, self) => {
    withIsa(isa, () => {
      for (const causal of [false, true])
        for (const threads of [1, 2]) {
          const got = packed(b, causal, threads, self);
          expect(got.dims).toEqual([b.seqStarts[b.seqStarts.length - 1], b.H, b.Dv]);
          expect(maxAbsDiff(got.data, perSequence(b, causal, threads))).toBe(0);
        }
    });
  });
});

describe('packed dense attention: reference, async, edge cases', () => {
  test('agrees with the float64 reference per sequence', () => {
    const b = BATCHES[1][1];
    const got = packed(b, true, 2).data;
    const { H, Hk, D, Dv } = b;
    const tr = (x: Float32Array, n: number, h: number, d: number) => {  // [n, h, d] -> [1, h, n, d]
      const y = new Float64Array(x.length);
      for (let i = 0; i < n; i++) for (let j = 0; j < h; j++) for (let c = 0; c < d; c++) y[(j * n + i) * d + c] = x[(i * h + j) * d + c];
      return y;
    };
    for (let s = 0; s < b.qLens.length; s++) {
      const q0 = b.seqStarts[s], nq = b.qLens[s], k0 = b.keySeqStarts[s], nk = b.kLens[s];
      if (nq === 0) continue;
      const ref = referenceAttention(
        { data: tr(b.q.subarray(q0 * H * D, (q0 + nq) * H * D), nq, H, D), dims: [1, H, nq, D] },
        { data: tr(b.k.subarray(k0 * Hk * D, (k0 + nk) * Hk * D), nk, Hk, D), dims: [1, Hk, nk, D] },
        { data: tr(b.v.subarray(k0 * Hk * Dv, (k0 + nk) * Hk * Dv), nk, Hk, Dv), dims: [1, Hk, nk, Dv] }, { causal: true });
      const mine = tr(got.subarray(q0 * H * Dv, (q0 + nq) * H * Dv), nq, H, Dv);
      expect(maxAbsDiff(mine, ref)).toBeLessThan(1e-5);
    }
  });

  test('attentionAsync gives the same bits, and takes a signal', async () => {
    const b = BATCHES[0][1];
    const T = b.seqStarts[b.seqStarts.length - 1];
    const t = (x: Float32Array) => ({ data: x, dims: [T, b.H, b.D] });
    const sync = packed(b, true, 2, true);
    const r = await attentionAsync(t(b.q), t(b.k), t(b.v), { layout: 'packed', seqStarts: b.seqStarts, causal: true, threads: 2, signal: new AbortController().signal });
    expect(maxAbsDiff(r.data, sync.data)).toBe(0);
    const ac = new AbortController();
    ac.abort();
    await expect(attentionAsync(t(b.q), t(b.k), t(b.v), { layout: 'packed', seqStarts: b.seqStarts, signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('empty batches and an out buffer', () => {
    const e = { data: new Float32Array(0), dims: [0, 2, 4] };
    expect(attention(e, e, e, { layout: 'packed', seqStarts: new Int32Array([0]) }).dims).toEqual([0, 2, 4]);
    expect(attention(e, e, e, { layout: 'packed', seqStarts: new Int32Array([0, 0, 0]) }).data.length).toBe(0);
    const b = BATCHES[0][1];
    const T = b.seqStarts[b.seqStarts.length - 1];
    const out = new Float32Array(T * b.H * b.Dv);
    const t = (x: Float32Array) => ({ data: x, dims: [T, b.H, b.D] });
    const r = attention(t(b.q), t(b.k), t(b.v), { layout: 'packed', seqStarts: b.seqStarts, out });
    expect(r.data).toBe(out);
    expect(maxAbsDiff(out, packed(b, false, 1, true).data)).toBe(0);
  });
});

describe('packed dense attention: bad input', () => {
  const T = 10, H = 2, D = 4;
  const x = { data: new Float32Array(T * H * D), dims: [T, H, D] };
  const call = (o: Record<string, unknown>, q: unknown = x) => () => attention(q as never, x, x, { layout: 'packed', ...o } as never);
  test.each([
    ['seqStarts missing', {}, TypeError, /options\.seqStarts must be an Int32Array/],
    ['seqStarts a plain array', { seqStarts: [0, 10] }, TypeError, /options\.seqStarts must be an Int32Array/],
    ['seqStarts a Uint32Array', { seqStarts: new Uint32Array([0, 10]) }, TypeError, /Int32Array/],
    ['seqStarts empty', { seqStarts: new Int32Array(0) }, RangeError, /at least 1 entry/],
    ['seqStarts not starting at 0', { seqStarts: new Int32Array([1, 10]) }, RangeError, /options\.seqStarts\[0\] must be 0/],
    ['seqStarts decreasing', { seqStarts: new Int32Array([0, 6, 5, 10]) }, RangeError, /non-decreasing/],
    ['seqStarts not ending at T', { seqStarts: new Int32Array([0, 4, 9]) }, RangeError, /must end at 10/],
    ['keySeqStarts of another length', { seqStarts: new Int32Array([0, 4, 10]), keySeqStarts: new Int32Array([0, 10]) }, RangeError, /must have 3 entries/],
    ['keySeqStarts not ending at Tk', { seqStarts: new Int32Array([0, 4, 10]), keySeqStarts: new Int32Array([0, 4, 11]) }, RangeError, /options\.keySeqStarts must end at 10/],
    ['keyMask with packed', { seqStarts: new Int32Array([0, 10]), keyMask: new Uint8Array(10) }, RangeError, /keyMask is not supported with layout 'packed'/],
    ['bias with packed', { seqStarts: new Int32Array([0, 10]), bias: x }, RangeError, /bias is not supported/],
    ['returnWeights with packed', { seqStarts: new Int32Array([0, 10]), returnWeights: true }, RangeError, /returnWeights is not supported/],
    ['an unknown option', { seqStarts: new Int32Array([0, 10]), seqstarts: 1 }, TypeError, /unknown option 'seqstarts'/],
  ])('%s', (_n, o, type, msg) => {
    expect(call(o as Record<string, unknown>)).toThrow(type as ErrorConstructor);
    expect(call(o as Record<string, unknown>)).toThrow(msg as RegExp);
  });

  test('q of rank 4 with packed, and seqStarts without packed', () => {
    expect(call({ seqStarts: new Int32Array([0, 10]) }, { data: x.data, dims: [1, T, H, D] })).toThrow(/q must have 3 dims/);
    const q4 = { data: x.data, dims: [1, H, T, D] };
    expect(() => attention(q4, q4, q4, { seqStarts: new Int32Array([0, 10]) } as never)).toThrow(/options\.seqStarts needs options\.layout 'packed'/);
  });

  test('a detached seqStarts is a TypeError', () => {
    const s = new Int32Array([0, 10]);
    structuredClone(s.buffer, { transfer: [s.buffer] });
    expect(call({ seqStarts: s })).toThrow(TypeError);
  });
});
