// Generation: greedy vs beam search semantics, checked against an independent plain-JS beam search
// (Hugging Face's BeamSearchScorer, length_penalty 1.0, early_stopping false) driven by the
// model's teacher-forced forward() logits — no decoder cache, no reordering, a different code path.
// Then abort, progress, batches with padding, and concurrent generations.
import * as path from 'path';
import { LongT5ForConditionalGeneration } from '../lib/index';
import { loadModelCase, ModelCase } from './helpers/model-fixtures';

const tiny = loadModelCase('tglobal_tiny_pad');
const small = loadModelCase('tglobal_n_lt_g');
const tied = loadModelCase('tied_relu_tglobal_leftpad');

const load = (c: ModelCase, overrides: Record<string, unknown> = {}) =>
  LongT5ForConditionalGeneration.fromSafetensors(path.join(c.dir, 'model.safetensors'), { ...c.config, ...overrides } as any);

/** HF beam search, re-running the decoder over every full prefix with forward(). */
function referenceBeamSearch(
  m: LongT5ForConditionalGeneration,
  c: ModelCase,
  beams: number,
  maxNewTokens: number,
): { data: number[]; dims: number[] } {
  const cfg = m.config;
  const [B, N] = c.inputIds.dims;
  const V = cfg.vocab_size;
  const D = cfg.d_model;
  const eos = cfg.eos_token_ids;
  const enc = m.encode(c.inputIds, { attentionMask: c.attentionMask });
  // Every beam gets a copy of its row's encoder output and mask.
  const R = B * beams;
  const encR = new Float32Array(R * N * D);
  const maskR = new Int32Array(R * N);
  for (let r = 0; r < R; r++) {
    const b = Math.floor(r / beams);
    encR.set(enc.data.subarray(b * N * D, (b + 1) * N * D), r * N * D);
    maskR.set(c.attentionMask.data.subarray(b * N, (b + 1) * N), r * N);
  }
  type Beam = { tokens: number[]; score: number };
  type Hyp = { tokens: number[]; score: number; order: number };
  let live: Beam[][] = Array.from({ length: B }, () =>
    Array.from({ length: beams }, (_, k) => ({ tokens: [cfg.decoder_start_token_id], score: k === 0 ? 0 : -1e9 })),
  );
  const finished: Hyp[][] = Array.from({ length: B }, () => []);
  const worst = new Array<number>(B).fill(1e9);
  const done = new Array<boolean>(B).fill(false);
  let order = 0;
  const addHyp = (b: number, tokens: number[], sum: number) => {
    const score = sum / tokens.length;
    const list = finished[b];
    if (list.length < beams || score > worst[b]) {
      list.push({ tokens, score, order: order++ });
      if (list.length > beams) {
        const sorted = [...list].sort((x, y) => x.score - y.score || x.order - y.order);
        list.splice(list.indexOf(sorted[0]), 1);
        worst[b] = sorted[1].score;
      } else worst[b] = Math.min(worst[b], score);
    }
  };
  const maxLength = 1 + maxNewTokens;
  let curLen = 1;
  while (curLen < maxLength) {
    const ids = new Int32Array(R * curLen);
    live.forEach((row, b) => row.forEach((beam, k) => ids.set(beam.tokens, (b * beams + k) * curLen)));
    const logits = m.forward({
      encoderOutput: { data: encR, dims: [R, N, D] },
      attentionMask: { data: maskR, dims: [R, N] },
      decoderInputIds: { data: ids, dims: [R, curLen] },
    }).data;
    const next: Beam[][] = [];
    for (let b = 0; b < B; b++) {
      if (done[b]) {
        next.push(live[b].map(() => ({ tokens: [...live[b][0].tokens, cfg.pad_token_id], score: 0 })));
        continue;
      }
      const cands: { score: number; k: number; tok: number }[] = [];
      for (let k = 0; k < beams; k++) {
        const off = ((b * beams + k) * curLen + curLen - 1) * V;
        const row = Array.from(logits.subarray(off, off + V), Number);
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((s, x) => s + Math.exp(x - mx), 0));
        row.forEach((x, tok) => cands.push({ score: x - lse + live[b][k].score, k, tok }));
      }
      // JS sort is stable: equal scores stay in (beam, token) order.
      cands.sort((x, y) => y.score - x.score);
      const top = cands.slice(0, 2 * beams);
      const kept: Beam[] = [];
      for (let rank = 0; rank < top.length && kept.length < beams; rank++) {
        const t = top[rank];
        if (eos.includes(t.tok)) {
          if (rank < beams) addHyp(b, [...live[b][t.k].tokens], t.score);
        } else kept.push({ tokens: [...live[b][t.k].tokens, t.tok], score: t.score });
      }
      next.push(kept);
      if (finished[b].length >= beams && worst[b] >= top[0].score / curLen) done[b] = true;
    }
    live = next;
    curLen++;
    if (done.every(Boolean)) break;
  }
  const best: number[][] = [];
  for (let b = 0; b < B; b++) {
    if (!done[b]) for (const beam of live[b]) addHyp(b, beam.tokens, beam.score);
    const sorted = [...finished[b]].sort((x, y) => x.score - y.score || x.order - y.order);
    best.push(sorted[sorted.length - 1].tokens);
  }
  const S = Math.min(Math.max(...best.map((t) => t.length)) + 1, maxLength);
  const data: number[] = [];
  for (const t of best) {
    const row = new Array<number>(S).fill(cfg.pad_token_id);
    t.slice(0, S).forEach((x, i) => (row[i] = x));
    if (t.length < S) row[t.length] = eos[0];
    data.push(...row);
  }
  return { data, dims: [B, S] };
}

describe('greedy and beam search', () => {
  test('numBeams 1 is greedy (HF generate token for token)', () => {
    for (const c of [tiny, small, tied]) {
      const m = load(c);
      const g = m.generate(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens: c.meta.max_new_tokens, numBeams: 1 });
      expect(Array.from(g.data)).toEqual(Array.from(c.greedy.data));
      expect(g.dims).toEqual(c.greedy.dims);
    }
  });

  // eos_token_id overridden to a token these random models produce often, so hypotheses finish
  // at different lengths and rows finish at different steps (the fixtures' eos 1 is rare).
  const variants: [string, ModelCase, Record<string, unknown>][] = [
    ['tglobal_tiny_pad', tiny, {}],
    ['tglobal_tiny_pad, eos = 55', tiny, { eos_token_id: 55 }],
    ['tglobal_tiny_pad, eos = 4', tiny, { eos_token_id: 4 }],
    ['tglobal_n_lt_g', small, {}],
    ['tied_relu_tglobal_leftpad, eos = 29', tied, { eos_token_id: 29 }],
    ['tied_relu_tglobal_leftpad, eos = 49', tied, { eos_token_id: 49 }],
  ];
  test.each(variants)('beam search == the plain-JS reference over forward() logits: %s', (_, c, overrides) => {
    const m = load(c, overrides);
    let sawEos = false;
    for (const beams of [2, 3, 4]) {
      for (const maxNewTokens of [1, 12]) {
        const got = m.generate(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens, numBeams: beams });
        const want = referenceBeamSearch(m, c, beams, maxNewTokens);
        expect({ beams, maxNewTokens, dims: got.dims, data: Array.from(got.data) }).toEqual({ beams, maxNewTokens, dims: want.dims, data: want.data });
        const eos = m.config.eos_token_id;
        if (Array.from(got.data).some((x, i) => i % got.dims[1] > 0 && x === eos)) sawEos = true;
      }
    }
    if (Object.keys(overrides).length) expect(sawEos).toBe(true);  // a finished hypothesis won somewhere
  });

  test('beam search async == sync', async () => {
    const m = load(tiny, { eos_token_id: 55 });
    const a = m.generate(tiny.inputIds, { attentionMask: tiny.attentionMask, maxNewTokens: 10, numBeams: 3 });
    const b = await m.generateAsync(tiny.inputIds, { attentionMask: tiny.attentionMask, maxNewTokens: 10, numBeams: 3 });
    expect(b).toEqual(a);
  });

  test('a padded batch gives each row what it gets alone (greedy and beams)', async () => {
    const m = load(tiny, { eos_token_id: 55 });
    const [B, N] = tiny.inputIds.dims;
    for (const numBeams of [1, 3]) {
      const batch = m.generate(tiny.inputIds, { attentionMask: tiny.attentionMask, maxNewTokens: 8, numBeams });
      const S = batch.dims[1];
      for (let b = 0; b < B; b++) {
        const valid = tiny.attentionMask.data.subarray(b * N, (b + 1) * N).reduce((s, x) => s + x, 0);
        const alone = await m.generateAsync(tiny.inputIds.data.slice(b * N, b * N + valid), { maxNewTokens: 8, numBeams });
        const row = Array.from(batch.data.subarray(b * S, (b + 1) * S));
        const a = Array.from(alone.data);
        // The batch pads shorter rows to S with pad_token_id.
        expect(row.slice(0, a.length)).toEqual(a);
        expect(row.slice(a.length).every((x) => x === m.config.pad_token_id)).toBe(true);
      }
    }
  });

  test('without attentionMask, pad tokens in the input are padding (as HF generate infers it); encode/forward do not infer', () => {
    const m = load(tiny);
    // the fixture pads with pad_token_id 0 and has no other 0 in its inputs
    const withMask = m.generate(tiny.inputIds, { attentionMask: tiny.attentionMask, maxNewTokens: 12 });
    expect(m.generate(tiny.inputIds, { maxNewTokens: 12 })).toEqual(withMask);
    expect(m.generate(tiny.inputIds, { maxNewTokens: 6, numBeams: 2 })).toEqual(m.generate(tiny.inputIds, { attentionMask: tiny.attentionMask, maxNewTokens: 6, numBeams: 2 }));
    const ones = { data: new Int32Array(tiny.attentionMask.data.length).fill(1), dims: tiny.attentionMask.dims };
    expect(m.encode(tiny.inputIds).data).toEqual(m.encode(tiny.inputIds, { attentionMask: ones }).data);
    // pad == eos: nothing is inferred
    const padEos = load(tiny, { pad_token_id: 1 });
    const ids1 = { data: tiny.inputIds.data.map((x) => (x === 0 ? 1 : x)), dims: tiny.inputIds.dims };
    expect(padEos.generate(ids1, { maxNewTokens: 3 })).toEqual(padEos.generate(ids1, { attentionMask: ones, maxNewTokens: 3 }));
  });

  test('maxNewTokens 0 returns the start column; rows stop at eos then pad', () => {
    const m = load(tiny);
    expect(m.generate(tiny.inputIds, { attentionMask: tiny.attentionMask, maxNewTokens: 0 })).toEqual({ data: new Int32Array([0, 0]), dims: [2, 1] });
    const g = m.generate(tiny.inputIds, { attentionMask: tiny.attentionMask, maxNewTokens: 12 });
    const S = g.dims[1];
    const row1 = Array.from(g.data.subarray(S, 2 * S));
    const e = row1.indexOf(1);
    expect(e).toBeGreaterThan(0);
    expect(row1.slice(e + 1).every((x) => x === 0)).toBe(true);
  });

  test('an eos list (HF allows several) stops a row at any of them', () => {
    const m = load(tiny, { eos_token_id: [13, 1] });
    const g = m.generate(tiny.inputIds, { attentionMask: tiny.attentionMask, maxNewTokens: 12 });
    const S = g.dims[1];
    for (let b = 0; b < 2; b++) {
      const row = Array.from(g.data.subarray(b * S, (b + 1) * S)).slice(1);
      const stop = row.findIndex((x) => x === 13 || x === 1);
      if (stop >= 0) expect(row.slice(stop + 1).every((x) => x === 0)).toBe(true);
    }
  });
});

describe('async generation: abort, progress, concurrency', () => {
  const m = load(tiny);
  const opts = { attentionMask: tiny.attentionMask, maxNewTokens: 12 };

  test('progress reports 1, 2, ... tokens so far', async () => {
    const seen: number[] = [];
    const g = await m.generateAsync(tiny.inputIds, { ...opts, onProgress: (n) => seen.push(n) });
    expect(seen).toEqual(Array.from({ length: g.dims[1] - 1 }, (_, i) => i + 1));
    const seenSync: number[] = [];
    m.generate(tiny.inputIds, { ...opts, numBeams: 2, onProgress: (n) => seenSync.push(n) });
    expect(seenSync[0]).toBe(1);
    expect(seenSync).toEqual(seenSync.map((_, i) => i + 1));
  });

  test('an already-aborted signal rejects at once with AbortError (sync: throws)', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(m.generateAsync(tiny.inputIds, { ...opts, signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(() => m.generate(tiny.inputIds, { ...opts, signal: ac.signal })).toThrow(expect.objectContaining({ name: 'AbortError' }));
  });

  test('aborting mid-generation rejects with AbortError and stops the steps', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    let abortedAt = 0;
    const p = m.generateAsync(tiny.inputIds, {
      ...opts,
      signal: ac.signal,
      onProgress: (n) => {
        seen.push(n);
        if (n === 3) {
          abortedAt = Date.now();
          ac.abort();
        }
      },
    });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(seen).toEqual([1, 2, 3]);
  });

  test('aborting while a step is in flight rejects without waiting for the rest', async () => {
    const ac = new AbortController();
    const p = m.generateAsync(tiny.inputIds, { ...opts, numBeams: 3, signal: ac.signal });
    ac.abort(new Error('stop'));
    const err = await p.catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AbortError');
    // The model is still usable afterwards.
    expect(Array.from((await m.generateAsync(tiny.inputIds, opts)).data)).toEqual(Array.from(tiny.greedy.data));
  });

  test('encodeAsync and forwardAsync take a signal too', async () => {
    const ac = new AbortController();
    ac.abort();
    const fwd = { inputIds: tiny.inputIds, attentionMask: tiny.attentionMask, decoderInputIds: tiny.decoderInputIds };
    await expect(m.encodeAsync(tiny.inputIds, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(m.forwardAsync({ ...fwd, signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(() => m.encode(tiny.inputIds, { signal: ac.signal })).toThrow(expect.objectContaining({ name: 'AbortError' }));
    expect(() => m.forward({ ...fwd, signal: ac.signal })).toThrow(expect.objectContaining({ name: 'AbortError' }));
    // aborted while the native job runs: rejects without waiting for it
    const live = new AbortController();
    const p = m.forwardAsync({ ...fwd, signal: live.signal });
    const q = m.encodeAsync(tiny.inputIds, { signal: live.signal });
    live.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await expect(q).rejects.toMatchObject({ name: 'AbortError' });
    // a signal that never fires changes nothing
    const idle = new AbortController();
    expect((await m.forwardAsync({ ...fwd, signal: idle.signal })).data).toEqual(m.forward(fwd).data);
    await expect(m.encodeAsync(tiny.inputIds, { signal: 'x' as any })).rejects.toMatchObject({ name: 'TypeError' });
  });

  test('concurrent generations on one model do not interfere', async () => {
    const runs = await Promise.all([
      m.generateAsync(tiny.inputIds, opts),
      m.generateAsync(tiny.inputIds, { ...opts, numBeams: 2 }),
      m.generateAsync(tiny.inputIds, opts),
      m.forwardAsync({ inputIds: tiny.inputIds, attentionMask: tiny.attentionMask, decoderInputIds: tiny.decoderInputIds }),
    ]);
    expect(Array.from(runs[0].data)).toEqual(Array.from(tiny.greedy.data));
    expect(Array.from(runs[2].data)).toEqual(Array.from(tiny.greedy.data));
    expect(runs[1]).toEqual(m.generate(tiny.inputIds, { ...opts, numBeams: 2 }));
  });

  test('the event loop keeps running during generateAsync', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      for (let i = 0; i < 3; i++) await m.generateAsync(tiny.inputIds, { ...opts, numBeams: 2 });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });
});
