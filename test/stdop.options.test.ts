// attention()'s standard-operator options (softcap, causalOffset, window, keyLengths,
// returnScores, returnLogSumExp, relativeBias) against the plain float64 reference, under every ISA; their
// bad values; and the properties that tie them to the older options.
import { attention, attentionAsync, AttentionOptions } from '../lib/index';
import { availableIsas, withIsa } from './helpers/isa';
import { firstMismatch, maxAbsDiff, mulberry32, randomMask, randomTensor, Rng } from './helpers/fixtures';
import { referenceStandardAttention, StandardRefOptions } from './helpers/standard-reference';
import { addBias, relativeBiasTensor, t5UnidirectionalBucket } from './helpers/t5-relative-bias';

const TOL = 2e-5;

interface Case {
  name: string;
  B: number; H: number; Hk: number; Nq: number; Nk: number; D: number; Dv: number;
  opts: AttentionOptions;
  mask?: boolean;
  biasDims?: number[];
}

const c = (name: string, dims: [number, number, number, number, number, number, number], opts: AttentionOptions, extra: Partial<Case> = {}): Case => {
  const [B, H, Hk, Nq, Nk, D, Dv] = dims;
  return { name, B, H, Hk, Nq, Nk, D, Dv, opts, ...extra };
};

const CASES: Case[] = [
  c('softcap', [2, 2, 2, 7, 9, 5, 5], { softcap: 0.7, scale: 2 }),
  c('softcap + causal + bias + mask', [2, 4, 2, 9, 9, 8, 6], { softcap: 3, causal: true }, { mask: true, biasDims: [2, 1, 9, 9] }),
  c('causalOffset 0 (top-left), Nq < Nk', [1, 2, 2, 5, 13, 7, 7], { causal: true, causalOffset: 0 }),
  c('causalOffset negative: leading rows empty', [2, 2, 1, 8, 8, 4, 4], { causal: true, causalOffset: -3 }),
  c('causalOffset beyond Nk', [1, 1, 1, 6, 5, 4, 4], { causal: true, causalOffset: 9 }),
  c('causalOffset per batch', [3, 2, 2, 6, 10, 4, 4], { causal: true, causalOffset: new Int32Array([0, 4, -2]) }),
  c('window both sides, no causal', [2, 2, 2, 40, 40, 8, 8], { window: [3, 2] }),
  c('window left + causal', [1, 3, 3, 40, 50, 8, 8], { window: [5, Infinity], causal: true }),
  c('window right only', [1, 2, 2, 20, 20, 3, 3], { window: [Infinity, 0] }),
  c('window [0, 0]: the diagonal only', [1, 2, 2, 11, 11, 4, 4], { window: [0, 0] }),
  c('window + offset per batch', [2, 2, 1, 12, 30, 6, 6], { window: [4, 1], causalOffset: new Int32Array([3, 15]) }),
  c('keyLengths', [3, 2, 2, 7, 12, 5, 5], { keyLengths: new Int32Array([12, 5, 0]) }),
  c('keyLengths + causal offset + mask', [2, 2, 2, 6, 9, 5, 5], { keyLengths: new Int32Array([9, 4]), causal: true, causalOffset: 2 }, { mask: true }),
  c('everything, tiles of 128 keys crossed', [2, 4, 2, 150, 300, 16, 12], {
    softcap: 2, window: [70, 30], causal: true, causalOffset: new Int32Array([100, 0]), keyLengths: new Int32Array([300, 200]),
  }, { mask: true, biasDims: [1, 4, 150, 300] }),
  c('long window, bnhd layout', [1, 2, 2, 200, 260, 8, 8], { window: [130, 5], layout: 'bnhd', causal: true }),
  c('Nk = 0', [1, 2, 2, 3, 0, 4, 4], { causal: true, causalOffset: 1 }),
  c('Dv = 0 with scores and lse', [1, 1, 1, 3, 4, 2, 0], { causal: true }),
];

interface Inputs {
  q: { data: Float32Array; dims: number[] };
  k: { data: Float32Array; dims: number[] };
  v: { data: Float32Array; dims: number[] };
  mask?: Uint8Array;
  bias?: { data: Float32Array; dims: number[] };
}

function inputs(cs: Case, rng: Rng): Inputs {
  const { B, H, Hk, Nq, Nk, D, Dv } = cs;
  const r: Inputs = { q: randomTensor(rng, [B, H, Nq, D]), k: randomTensor(rng, [B, Hk, Nk, D]), v: randomTensor(rng, [B, Hk, Nk, Dv]) };
  if (cs.mask) r.mask = randomMask(rng, B * Nk, 0.8);
  if (cs.biasDims) r.bias = randomTensor(rng, cs.biasDims, -2, 2);
  return r;
}

/** [B, H, N, X] -> [B, N, H, X]. */
function toBnhd(t: { data: Float32Array; dims: number[] }): { data: Float32Array; dims: number[] } {
  const [B, H, N, X] = t.dims;
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let n = 0; n < N; n++)
        for (let x = 0; x < X; x++) out[((b * N + n) * H + h) * X + x] = t.data[((b * H + h) * N + n) * X + x];
  return { data: out, dims: [B, N, H, X] };
}

function refOptions(cs: Case, inp: Inputs): StandardRefOptions {
  const o = cs.opts;
  return {
    scale: o.scale, causal: o.causal, keyMask: inp.mask, bias: inp.bias, softcap: o.softcap,
    causalOffset: o.causalOffset, window: o.window, keyLengths: o.keyLengths,
  };
}

/** lse: -Infinity where the reference has it, close elsewhere. */
function checkLse(got: Float32Array, want: Float64Array): void {
  for (let i = 0; i < want.length; i++) {
    if (want[i] === -Infinity) expect(got[i]).toBe(-Infinity);
    else if (Math.abs(got[i] - want[i]) > 1e-4 * Math.max(1, Math.abs(want[i]))) throw new Error(`lse[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

/** Scores: -Infinity exactly where the reference has it, close elsewhere. */
function checkScores(got: Float32Array, want: Float64Array, tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (want[i] === -Infinity) {
      if (got[i] !== -Infinity) throw new Error(`scores[${i}]: ${got[i]}, want -Infinity`);
    } else if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) throw new Error(`scores[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

function run(cs: Case, inp: Inputs, extra: AttentionOptions = {}) {
  const bnhd = cs.opts.layout === 'bnhd';
  const [q, k, v] = bnhd ? [toBnhd(inp.q), toBnhd(inp.k), toBnhd(inp.v)] : [inp.q, inp.k, inp.v];
  const o: AttentionOptions = { ...cs.opts, ...extra };
  if (inp.mask) o.keyMask = inp.mask;
  if (inp.bias) o.bias = inp.bias;
  const r = attention(q, k, v, o);
  return { ...r, out: bnhd ? toBnhd({ data: r.data, dims: [cs.B, cs.Nq, cs.H, cs.Dv] }).data : r.data };
}

describe('standard options vs the float64 reference', () => {
  for (const isa of availableIsas())
    describe(isa, () => {
      CASES.forEach((cs, n) =>
        test(cs.name, () =>
          withIsa(isa, () => {
            const inp = inputs(cs, mulberry32(1000 + n));
            const ref = referenceStandardAttention(inp.q, inp.k, inp.v, refOptions(cs, inp));
            const r = run(cs, inp, { returnLogSumExp: true, returnScores: 'masked' });
            expect(firstMismatch(r.out, ref.out, TOL)).toBe('none');
            checkLse(r.logSumExp!.data, ref.lse);
            expect(r.logSumExp!.dims).toEqual([cs.B, cs.H, cs.Nq]);
            checkScores(r.scores!.data, ref.masked, 1e-5);
            for (const stage of ['matmul', 'softcapped', 'softmax'] as const) {
              const s = run(cs, inp, { returnScores: stage });
              checkScores(s.scores!.data, ref[stage], 1e-5);
              expect(s.scores!.dims).toEqual([cs.B, cs.H, cs.Nq, cs.Nk]);
            }
          }),
        ),
      );
    });
});

describe('properties', () => {
  const rng = mulberry32(77);
  const q = randomTensor(rng, [2, 3, 37, 8]);
  const k = randomTensor(rng, [2, 3, 301, 8]);
  const v = randomTensor(rng, [2, 3, 301, 8]);

  test("causalOffset = Nk - Nq is today's causal, bit for bit", () => {
    const a = attention(q, k, v, { causal: true });
    const b = attention(q, k, v, { causal: true, causalOffset: 301 - 37 });
    const c2 = attention(q, k, v, { causal: true, causalOffset: new Int32Array([264, 264]) });
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    expect(Buffer.from(c2.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
  });

  test('window and keyLengths equal the same exclusions written as a -Infinity bias', () => {
    const [B, H, Nq, Nk] = [2, 3, 37, 301];
    const lens = new Int32Array([250, 120]);
    const bias = new Float32Array(B * Nq * Nk);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < Nq; i++)
        for (let j = 0; j < Nk; j++) {
          const p = i + 200;
          bias[(b * Nq + i) * Nk + j] = j < p - 40 || j > p + 7 || j >= lens[b] ? -Infinity : 0;
        }
    const a = attention(q, k, v, { window: [40, 7], causalOffset: 200, keyLengths: lens });
    const b = attention(q, k, v, { bias: { data: bias, dims: [B, 1, Nq, Nk] } });
    expect(maxAbsDiff(a.data, b.data)).toBeLessThan(1e-6);
    expect(H).toBe(3);
  });

  test('softmax scores equal returnWeights', () => {
    const a = attention(q, k, v, { softcap: 1.5, returnScores: 'softmax', returnWeights: true, window: [9, 9] });
    expect(Buffer.from(a.scores!.data.buffer).equals(Buffer.from(a.weights!.data.buffer))).toBe(true);
  });

  test('log-sum-exp merges two halves of the keys into the whole (flash-decoding)', () => {
    const half = (from: number, to: number) => {
      const sl = (t: { data: Float32Array; dims: number[] }) => {
        const [B, H, , D] = t.dims;
        const out = new Float32Array(B * H * (to - from) * D);
        for (let bh = 0; bh < B * H; bh++) out.set(t.data.subarray((bh * 301 + from) * D, (bh * 301 + to) * D), bh * (to - from) * D);
        return { data: out, dims: [B, H, to - from, D] };
      };
      return attention(q, sl(k), sl(v), { returnLogSumExp: true });
    };
    const a = half(0, 150);
    const b = half(150, 301);
    const whole = attention(q, k, v, { returnLogSumExp: true });
    const merged = new Float32Array(whole.data.length);
    for (let r = 0; r < 2 * 3 * 37; r++) {
      const la = a.logSumExp!.data[r];
      const lb = b.logSumExp!.data[r];
      const m = Math.max(la, lb);
      const l = m + Math.log(Math.exp(la - m) + Math.exp(lb - m));
      expect(Math.abs(l - whole.logSumExp!.data[r])).toBeLessThan(1e-4);
      for (let d = 0; d < 8; d++)
        merged[r * 8 + d] = Math.exp(la - l) * a.data[r * 8 + d] + Math.exp(lb - l) * b.data[r * 8 + d];
    }
    expect(maxAbsDiff(merged, whole.data)).toBeLessThan(1e-5);
  });

  test('attentionAsync gives the same bits', async () => {
    const o: AttentionOptions = { softcap: 2, window: [20, 3], causal: true, keyLengths: new Int32Array([280, 77]), returnLogSumExp: true, returnScores: 'softcapped' };
    const a = attention(q, k, v, o);
    const b = await attentionAsync(q, k, v, o);
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    expect(Buffer.from(b.logSumExp!.data.buffer).equals(Buffer.from(a.logSumExp!.data.buffer))).toBe(true);
    expect(Buffer.from(b.scores!.data.buffer).equals(Buffer.from(a.scores!.data.buffer))).toBe(true);
  });
});

describe('bad values name the option', () => {
  const rng = mulberry32(5);
  const q = randomTensor(rng, [2, 2, 4, 4]);
  const k = randomTensor(rng, [2, 2, 6, 4]);
  const v = randomTensor(rng, [2, 2, 6, 4]);
  const bad: [string, unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    ['softcap', 0, RangeError, /options\.softcap.*> 0/],
    ['softcap', -1, RangeError, /options\.softcap/],
    ['softcap', NaN, RangeError, /options\.softcap/],
    ['softcap', Infinity, RangeError, /options\.softcap/],
    ['softcap', '2', TypeError, /options\.softcap/],
    ['causalOffset', 1.5, RangeError, /options\.causalOffset.*integer/],
    ['causalOffset', NaN, RangeError, /options\.causalOffset/],
    ['causalOffset', 2 ** 50, RangeError, /options\.causalOffset/],
    ['causalOffset', new Float32Array([1, 2]), TypeError, /options\.causalOffset/],
    ['causalOffset', new Int32Array(3), RangeError, /options\.causalOffset.*B = 2/],
    ['window', [-1, 2], RangeError, /options\.window\[0\] \(left\)/],
    ['window', [2, -3], RangeError, /options\.window\[1\] \(right\)/],
    ['window', [NaN, 2], RangeError, /options\.window\[0\]/],
    ['window', [1.5, 2], RangeError, /options\.window\[0\]/],
    ['window', [2], TypeError, /options\.window/],
    ['window', 3, TypeError, /options\.window/],
    ['window', ['1', 2], TypeError, /options\.window\[0\]/],
    ['keyLengths', new Int32Array([6, 7]), RangeError, /options\.keyLengths\[1\] = 7.*\[0, Nk = 6\]/],
    ['keyLengths', new Int32Array([-1, 2]), RangeError, /options\.keyLengths\[0\]/],
    ['keyLengths', new Int32Array([1]), RangeError, /options\.keyLengths.*B = 2/],
    ['keyLengths', new Float32Array([1, 2]), TypeError, /options\.keyLengths.*Int32Array/],
    ['keyLengths', [1, 2], TypeError, /options\.keyLengths/],
    ['returnScores', 'raw', RangeError, /options\.returnScores.*'matmul'/],
    ['returnScores', 1, TypeError, /options\.returnScores/],
    ['returnLogSumExp', 1, TypeError, /options\.returnLogSumExp/],
  ];
  for (const [name, value, Err, msg] of bad)
    test(`${name} = ${String(value)}`, async () => {
      const o = { [name]: value } as AttentionOptions;
      expect(() => attention(q, k, v, o)).toThrow(Err);
      expect(() => attention(q, k, v, o)).toThrow(msg);
      await expect(attentionAsync(q, k, v, o)).rejects.toThrow(msg);
    });
});

describe('relativeBias (T5 buckets in the kernel)', () => {
  test('unidirectional buckets of the test helper: hand values (32 buckets, max distance 128)', () => {
    // keys after the query: bucket 0; exact up to 15; log-spaced to the last bucket at 128.
    expect([5, 1, 0, -1, -15, -16, -31, -32, -64, -127, -128, -1000].map((r) => t5UnidirectionalBucket(r, 32, 128))).toEqual([
      0, 0, 0, 1, 15, 16, 21, 21, 26, 31, 31, 31,
    ]);
  });

  const cases: { name: string; dims: [number, number, number, number, number, number]; bidirectional: boolean; opts: AttentionOptions; bias?: number[] }[] = [
    { name: 'encoder self-attention', dims: [2, 4, 4, 40, 40, 8], bidirectional: true, opts: {} },
    { name: 'decoder self-attention, causal', dims: [2, 4, 4, 40, 40, 8], bidirectional: false, opts: { causal: true } },
    { name: 'decode step against a cache (Nq < Nk)', dims: [2, 3, 3, 3, 300, 8], bidirectional: false, opts: { causal: true } },
    { name: 'GQA, moved diagonal, window, + bias', dims: [1, 4, 2, 33, 150, 6], bidirectional: true, opts: { causalOffset: 60, window: [40, 20], scale: 1 }, bias: [1, 4, 33, 150] },
    { name: 'per-batch offsets, keyLengths, softcap', dims: [3, 2, 1, 17, 29, 5], bidirectional: false, opts: { causal: true, causalOffset: new Int32Array([0, 12, -2]), keyLengths: new Int32Array([29, 20, 9]), softcap: 3 } },
    { name: 'Nq > Nk, bnhd', dims: [1, 2, 2, 50, 7, 4], bidirectional: true, opts: { layout: 'bnhd' } },
  ];
  for (const cs of cases)
    for (const isa of availableIsas())
      test(`${cs.name} (${isa})`, () =>
        withIsa(isa, () => {
          const [B, H, Hk, Nq, Nk, D] = cs.dims;
          const rng = mulberry32(4242);
          const numBuckets = 32;
          const maxDistance = 64;
          const rel = { table: randomTensor(rng, [numBuckets, H], -3, 3).data, numBuckets, maxDistance, bidirectional: cs.bidirectional };
          const q = randomTensor(rng, [B, H, Nq, D]);
          const k = randomTensor(rng, [B, Hk, Nk, D]);
          const v = randomTensor(rng, [B, Hk, Nk, D]);
          const userBias = cs.bias ? randomTensor(rng, cs.bias, -1, 1) : undefined;
          let full = relativeBiasTensor(rel, B, H, Nq, Nk, cs.opts.causalOffset);
          if (userBias) full = addBias(full, userBias);
          const bnhd = cs.opts.layout === 'bnhd';
          const [qi, ki, vi] = bnhd ? [toBnhd(q), toBnhd(k), toBnhd(v)] : [q, k, v];
          const base = { ...cs.opts, returnScores: 'masked' as const, returnLogSumExp: true };
          const got = attention(qi, ki, vi, { ...base, relativeBias: rel, ...(userBias ? { bias: userBias } : {}) });
          const viaTensor = attention(qi, ki, vi, { ...base, bias: full });
          expect(maxAbsDiff(got.data, viaTensor.data)).toBeLessThan(1e-5);
          const ref = referenceStandardAttention(q, k, v, {
            scale: cs.opts.scale, causal: cs.opts.causal, softcap: cs.opts.softcap, causalOffset: cs.opts.causalOffset,
            window: cs.opts.window, keyLengths: cs.opts.keyLengths, bias: full,
          });
          const want = bnhd ? toBnhd({ data: Float32Array.from(ref.out), dims: [B, H, Nq, D] }).data : ref.out;
          expect(firstMismatch(got.data, want, TOL)).toBe('none');
          checkScores(got.scores!.data, ref.masked, 1e-5);
          checkLse(got.logSumExp!.data, ref.lse);
        }),
      );

  test('bad values name the field', () => {
    const rng = mulberry32(1);
    const q = randomTensor(rng, [1, 2, 3, 4]);
    const table = new Float32Array(8 * 2);
    const bad: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
      [5, TypeError, /options\.relativeBias must be an object/],
      [{ table, numBuckets: 8 }, TypeError, /options\.relativeBias\.maxDistance/],
      [{ table, numBuckets: 0, maxDistance: 8 }, RangeError, /options\.relativeBias\.numBuckets/],
      [{ table, numBuckets: 8, maxDistance: NaN }, RangeError, /options\.relativeBias\.maxDistance/],
      [{ table, numBuckets: 8, maxDistance: 8, bidirectional: 'yes' }, TypeError, /options\.relativeBias\.bidirectional/],
      [{ table: new Float32Array(15), numBuckets: 8, maxDistance: 8 }, RangeError, /options\.relativeBias\.table has 15 elements/],
      [{ table: { data: table, dims: [2, 8] }, numBuckets: 8, maxDistance: 8 }, RangeError, /options\.relativeBias\.table must have dims \[numBuckets, H\]/],
      [{ table: new Int32Array(16), numBuckets: 8, maxDistance: 8 }, TypeError, /options\.relativeBias\.table/],
      [{ table, numBuckets: 8, maxDistance: 8, buckets: 3 }, TypeError, /unknown option 'buckets'/],
    ];
    for (const [value, Err, msg] of bad) {
      expect(() => attention(q, q, q, { relativeBias: value as never })).toThrow(Err);
      expect(() => attention(q, q, q, { relativeBias: value as never })).toThrow(msg);
    }
  });
});

describe('non-finite inputs keep their semantics under the new options', () => {
  for (const isa of availableIsas())
    test(`softcap, window and keyLengths with NaN and Infinity inputs (${isa})`, () =>
      withIsa(isa, () => {
        const rng = mulberry32(31);
        const [B, H, Nq, Nk, D] = [1, 2, 9, 140, 8];
        const q = randomTensor(rng, [B, H, Nq, D]);
        const k = randomTensor(rng, [B, H, Nk, D]);
        const v = randomTensor(rng, [B, H, Nk, D]);
        q.data[3 * D + 1] = NaN; // head 0, query 3
        const mask = new Uint8Array(Nk).fill(1);
        mask[5] = 0;
        for (let h = 0; h < H; h++) {
          k.data[(h * Nk + 5) * D] = NaN; // an excluded key's k and v
          v.data[(h * Nk + 5) * D + 2] = Infinity;
          k.data[(h * Nk + 130) * D] = Infinity; // past keyLengths: never read as a score
        }
        const o: AttentionOptions = { softcap: 2.5, keyMask: mask, keyLengths: new Int32Array([120]), window: [Infinity, 100], causalOffset: 0 };
        const r = attention(q, k, v, o);
        const ref = referenceStandardAttention(q, k, v, { ...o, keyMask: mask } as StandardRefOptions);
        for (let row = 0; row < H * Nq; row++)
          for (let d = 0; d < D; d++) {
            const got = r.data[row * D + d];
            if (row === 3) expect(Number.isNaN(got)).toBe(true);
            else expect(Math.abs(got - ref.out[row * D + d])).toBeLessThan(TOL);
          }
      }),
    );
});
