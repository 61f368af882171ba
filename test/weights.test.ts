// options.returnWeights: the probabilities come from a separate scalar pass, the outputs from the
// SIMD kernels, so checking out == weights · values ties the two independent paths together.
import { attention, blockGlobalAttention, transientGlobalAttention } from '../lib/index';
import { mulberry32, randomMask, randomTensor } from './helpers/fixtures';

/** out[r, :] vs sum_j w[r, j] * vals(r, j)[:], in float64. */
function checkMix(out: Float32Array, w: Float32Array, rows: number, cols: number, dv: number,
                  value: (row: number, col: number) => ArrayLike<number>): number {
  let err = 0;
  for (let r = 0; r < rows; r++) {
    const acc = new Float64Array(dv);
    for (let c = 0; c < cols; c++) {
      const p = w[r * cols + c];
      if (p === 0) continue;
      const val = value(r, c);
      for (let d = 0; d < dv; d++) acc[d] += p * val[d];
    }
    for (let d = 0; d < dv; d++) err = Math.max(err, Math.abs(acc[d] - out[r * dv + d]));
  }
  return err;
}

function rowSums(w: Float32Array, rows: number, cols: number): number[] {
  const s: number[] = [];
  for (let r = 0; r < rows; r++) {
    let t = 0;
    for (let c = 0; c < cols; c++) t += w[r * cols + c];
    s.push(t);
  }
  return s;
}

test('dense: weights are softmax rows that reproduce the output (mask, causal, GQA)', () => {
  const rng = mulberry32(7);
  const [B, H, Hk, Nq, Nk, D, Dv] = [2, 4, 2, 9, 13, 5, 3];
  const q = randomTensor(rng, [B, H, Nq, D]), k = randomTensor(rng, [B, Hk, Nk, D]), v = randomTensor(rng, [B, Hk, Nk, Dv]);
  const keyMask = randomMask(rng, B * Nk, 0.7);
  keyMask.fill(0, Nk, 2 * Nk);  // batch row 1: no admissible key at all
  const res = attention(q, k, v, { causal: true, keyMask, returnWeights: true });
  expect(res.weights!.dims).toEqual([B, H, Nq, Nk]);
  const w = res.weights!.data;
  const sums = rowSums(w, B * H * Nq, Nk);
  for (let r = 0; r < B * H * Nq; r++) {
    const b = Math.floor(r / (H * Nq)), i = r % Nq;
    const any = Array.from({ length: Nk }, (_, j) => keyMask[b * Nk + j] === 1 && j <= i + (Nk - Nq)).some(Boolean);
    expect(sums[r]).toBeCloseTo(any ? 1 : 0, 5);
    for (let j = 0; j < Nk; j++)
      if (!(keyMask[b * Nk + j] === 1 && j <= i + (Nk - Nq))) expect(w[r * Nk + j]).toBe(0);
  }
  const err = checkMix(res.data, w, B * H * Nq, Nk, Dv, (r, j) => {
    const b = Math.floor(r / (H * Nq)), h = Math.floor(r / Nq) % H, hk = Math.floor(h / (H / Hk));
    return v.data.subarray(((b * Hk + hk) * Nk + j) * Dv, ((b * Hk + hk) * Nk + j + 1) * Dv);
  });
  expect(err).toBeLessThan(1e-5);
});

test('transientGlobalAttention: zero outside the window and for invalid globals; reproduces the output', () => {
  const rng = mulberry32(11);
  const [B, H, N, D, r, g] = [2, 2, 23, 6, 3, 5];
  const G = Math.floor(N / g);
  const q = randomTensor(rng, [B, H, N, D]), k = randomTensor(rng, [B, H, N, D]), v = randomTensor(rng, [B, H, N, D]);
  const gk = randomTensor(rng, [B, H, G, D]), gv = randomTensor(rng, [B, H, G, D]);
  const mask = new Uint8Array(B * N).fill(1);
  mask.fill(0, N + 12, 2 * N);  // row 1: 12 tokens, so globals 2..3 are invalid
  const bias = randomTensor(rng, [32, H]), gbias = randomTensor(rng, [32, H]);
  const res = transientGlobalAttention(q, k, v, gk, gv, {
    localRadius: r, globalBlockSize: g, mask, relativeAttentionBias: bias, globalRelativeAttentionBias: gbias, returnWeights: true,
  });
  const cols = N + G;
  const w = res.weights!.data;
  expect(res.weights!.dims).toEqual([B, H, N, cols]);
  for (let row = 0; row < B * H * N; row++) {
    const b = Math.floor(row / (H * N)), i = row % N;
    for (let j = 0; j < N; j++)
      if (Math.abs(i - j) > r || !mask[b * N + j] || !mask[b * N + i]) expect(w[row * cols + j]).toBe(0);
    if (b === 1) for (let m = 2; m < G; m++) expect(w[row * cols + N + m]).toBe(0);
  }
  const err = checkMix(res.data, w, B * H * N, cols, D, (row, c) => {
    const bh = Math.floor(row / N);
    return c < N ? v.data.subarray((bh * N + c) * D, (bh * N + c + 1) * D) : gv.data.subarray((bh * G + c - N) * D, (bh * G + c - N + 1) * D);
  });
  expect(err).toBeLessThan(1e-5);
});

test('blockGlobalAttention: own block and own global only; reproduces the output', () => {
  const rng = mulberry32(3);
  const [B, H, N, D, g] = [1, 2, 16, 4, 5];
  const nb = Math.floor(N / g);
  const q = randomTensor(rng, [B, H, N, D]), k = randomTensor(rng, [B, H, N, D]), v = randomTensor(rng, [B, H, N, D]);
  const res = blockGlobalAttention(q, k, v, { blockSize: g, returnWeights: true });
  const cols = N + nb;
  const w = res.weights!.data;
  const blockOf = (i: number) => Math.min(Math.floor(i / g), nb - 1);
  const means = new Float64Array(B * H * nb * D);
  for (let bh = 0; bh < B * H; bh++)
    for (let c = 0; c < nb; c++) {
      const lo = c * g, hi = c === nb - 1 ? N : lo + g;
      for (let i = lo; i < hi; i++) for (let d = 0; d < D; d++) means[(bh * nb + c) * D + d] += v.data[(bh * N + i) * D + d] / (hi - lo);
    }
  for (let row = 0; row < B * H * N; row++) {
    const i = row % N;
    for (let j = 0; j < N; j++) if (blockOf(j) !== blockOf(i)) expect(w[row * cols + j]).toBe(0);
    for (let c = 0; c < nb; c++) if (c !== blockOf(i)) expect(w[row * cols + N + c]).toBe(0);
  }
  const err = checkMix(res.data, w, B * H * N, cols, D, (row, c) => {
    const bh = Math.floor(row / N);
    return c < N ? v.data.subarray((bh * N + c) * D, (bh * N + c + 1) * D) : means.subarray((bh * nb + c - N) * D, (bh * nb + c - N + 1) * D);
  });
  expect(err).toBeLessThan(1e-5);
});

test('returnWeights must be a boolean; false returns no weights', () => {
  const rng = mulberry32(1);
  const q = randomTensor(rng, [1, 1, 3, 2]);
  expect(() => attention(q, q, q, { returnWeights: 1 as any })).toThrow(/returnWeights/);
  expect(attention(q, q, q, { returnWeights: false }).weights).toBeUndefined();
});
