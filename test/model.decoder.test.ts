// The decoder's self-attention position bias and cache at lengths the fixtures do not reach (their
// decoders see at most 13 positions, all in the exact buckets): T5's unidirectional buckets against
// a plain-JS transcription of HF's formula, and the cached one-token-per-step path against the
// teacher-forced all-positions path over 150 positions (log-spaced buckets, several capacity
// doublings, beam reorders).
import { LongT5ForConditionalGeneration } from '../lib/index';
import { native } from '../lib/native';
import { mulberry32 } from '../lib/random';
import { loadModelCase } from './helpers/model-fixtures';

/** HF LongT5Attention._relative_position_bucket(bidirectional=False), float32 steps as torch does them. */
function hfCausalBucket(rel: number, numBuckets: number, maxDistance: number): number {
  const f = Math.fround;
  const n = rel < 0 ? -rel : 0;  // -min(rel, 0)
  const maxExact = Math.floor(numBuckets / 2);
  if (n < maxExact) return n;
  const logRatio = f(Math.log(f(f(n) / f(maxExact))));
  const scale = f(Math.log(maxDistance / maxExact));
  const large = maxExact + Math.trunc(f(f(logRatio / scale) * f(numBuckets - maxExact)));
  return Math.min(large, numBuckets - 1);
}

const buckets = (rel: Int32Array, numBuckets: number, maxDistance: number, bidirectional: boolean) => {
  const out = new Int32Array(rel.length);
  native.relativePositionBuckets({ relative: rel, numBuckets, maxDistance, out, bidirectional });
  return out;
};

test('unidirectional buckets: hand-computed values (32 buckets, max distance 128)', () => {
  const rel = Int32Array.from([5, 1, 0, -1, -15, -16, -31, -32, -64, -127, -128, -1000]);
  // keys after the query share bucket 0; 0..15 exact; then 16 + floor(log(n/16) / log(8) * 16), capped at 31
  expect(Array.from(buckets(rel, 32, 128, false))).toEqual([0, 0, 0, 1, 15, 16, 21, 21, 26, 31, 31, 31]);
});

test.each([
  [32, 128],
  [16, 64],
  [64, 256],
  [128, 512],
  [32, 64],
  [48, 100],
])('unidirectional buckets == HF formula for every distance up to 5000 (%i buckets, max distance %i)', (nb, md) => {
  const rel = Int32Array.from({ length: 5001 }, (_, i) => -i);
  const got = buckets(rel, nb, md, false);
  const want = Array.from(rel, (r) => hfCausalBucket(r, nb, md));
  expect(Array.from(got)).toEqual(want);
  // and bidirectional (the default) is unchanged by the flag's existence
  const bi = new Int32Array(rel.length);
  native.relativePositionBuckets({ relative: rel, numBuckets: nb, maxDistance: md, out: bi });
  expect(Array.from(buckets(rel, nb, md, true))).toEqual(Array.from(bi));
});

describe('cached decoding == teacher forcing over 150 positions', () => {
  const c = loadModelCase('tglobal_tiny_pad');
  const m = LongT5ForConditionalGeneration.fromPretrained(c.dir);
  const handle = (m as any).handle;
  const [B, N] = c.inputIds.dims;
  const V = m.config.vocab_size;
  const T = 150;
  const rng = mulberry32(7);
  const dec = new Int32Array(B * T).map((_, i) => (i % T === 0 ? 0 : Math.floor(rng() * V)));
  const enc = m.encode(c.inputIds, { attentionMask: c.attentionMask });
  const mask = Uint8Array.from(c.attentionMask.data);

  const forced = m.forward({ encoderOutput: enc, attentionMask: c.attentionMask, decoderInputIds: { data: dec, dims: [B, T] } });
  const scale = forced.data.reduce((s, x) => Math.max(s, Math.abs(x)), 0);

  test.each([[false], [true]])('one token per step (async: %s)', async (async) => {
    const session = native.decoderCreate({ model: handle, B, N, beams: 1 });
    if (async) await native.decoderStartAsync({ session, encoderOutput: enc.data, mask });
    else native.decoderStart({ session, encoderOutput: enc.data, mask });
    let maxDiff = 0;
    for (let t = 0; t < T; t++) {
      const ids = Int32Array.from({ length: B }, (_, b) => dec[b * T + t]);
      const logits = new Float32Array(B * V);
      const args = { session, ids, T: 1, logits, lastOnly: true };
      if (async) await native.decoderStepAsync(args);
      else native.decoderStep(args);
      for (let b = 0; b < B; b++)
        for (let v = 0; v < V; v++) maxDiff = Math.max(maxDiff, Math.abs(logits[b * V + v] - forced.data[(b * T + t) * V + v]));
    }
    expect(native.decoderLength(session)).toBe(T);
    native.decoderDispose(session);
    expect(maxDiff / scale).toBeLessThan(1e-5);
  });

  test('uneven chunks (7, 1, 60, 82 positions per call) give the same logits', () => {
    const session = native.decoderCreate({ model: handle, B, N, beams: 1 });
    native.decoderStart({ session, encoderOutput: enc.data, mask });
    let t0 = 0;
    let maxDiff = 0;
    for (const len of [7, 1, 60, 82]) {
      const ids = new Int32Array(B * len);
      for (let b = 0; b < B; b++) ids.set(dec.subarray(b * T + t0, b * T + t0 + len), b * len);
      const logits = new Float32Array(B * len * V);
      native.decoderStep({ session, ids, T: len, logits });
      for (let b = 0; b < B; b++)
        for (let t = 0; t < len; t++)
          for (let v = 0; v < V; v++)
            maxDiff = Math.max(maxDiff, Math.abs(logits[(b * len + t) * V + v] - forced.data[(b * T + t0 + t) * V + v]));
      t0 += len;
    }
    native.decoderDispose(session);
    expect(maxDiff / scale).toBeLessThan(1e-5);
  });

  test('beam rows and reorders: each row follows the history of the row it was copied from', () => {
    // 2 encoder rows x 3 beams; after a few steps, reorder rows (within each encoder row) and check
    // every row's next logits equal the teacher-forced logits of the sequence it now holds.
    const beams = 3;
    const R = B * beams;
    const session = native.decoderCreate({ model: handle, B, N, beams });
    native.decoderStart({ session, encoderOutput: enc.data, mask });
    const seqs: number[][] = Array.from({ length: R }, () => []);
    const steps = 40;
    let lastLogits = new Float32Array(R * V);
    for (let s = 0; s < steps; s++) {
      const ids = Int32Array.from({ length: R }, () => (s === 0 ? 0 : Math.floor(rng() * V)));
      ids.forEach((x, r) => seqs[r].push(x));
      lastLogits = new Float32Array(R * V);
      native.decoderStep({ session, ids, T: 1, logits: lastLogits, lastOnly: true });
      if (s % 9 === 8) {
        const rows = Int32Array.from({ length: R }, (_, r) => Math.floor(r / beams) * beams + Math.floor(rng() * beams));
        native.decoderReorder({ session, rows });
        const copied = Array.from(rows, (src) => [...seqs[src]]);
        copied.forEach((q, r) => (seqs[r] = q));
        lastLogits = Float32Array.from(Array.from(rows).flatMap((src) => Array.from(lastLogits.subarray(src * V, (src + 1) * V))));
      }
    }
    native.decoderDispose(session);
    // Reference: each row's whole sequence teacher-forced, with its encoder row's output.
    const D = m.config.d_model;
    const encR = new Float32Array(R * N * D);
    const maskR = new Int32Array(R * N);
    for (let r = 0; r < R; r++) {
      const b = Math.floor(r / beams);
      encR.set(enc.data.subarray(b * N * D, (b + 1) * N * D), r * N * D);
      maskR.set(c.attentionMask.data.subarray(b * N, (b + 1) * N), r * N);
    }
    const ref = m.forward({
      encoderOutput: { data: encR, dims: [R, N, D] },
      attentionMask: { data: maskR, dims: [R, N] },
      decoderInputIds: { data: Int32Array.from(seqs.flat()), dims: [R, steps] },
    });
    let maxDiff = 0;
    for (let r = 0; r < R; r++)
      for (let v = 0; v < V; v++) maxDiff = Math.max(maxDiff, Math.abs(lastLogits[r * V + v] - ref.data[(r * steps + steps - 1) * V + v]));
    expect(maxDiff / scale).toBeLessThan(1e-5);
  });
});
