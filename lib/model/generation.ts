// Generation as Hugging Face's `generate` does it for an encoder-decoder model, written once as
// generators over decoder requests so that the sync and async drivers share every decision:
//  * greedy (num_beams 1): start from decoder_start_token_id, append the argmax of the last
//    position's logits (first index on ties), a row that produced eos gets pad afterwards, stop
//    once every row has finished or after maxNewTokens steps;
//  * beam search (num_beams > 1): HF's BeamSearchScorer with length_penalty 1.0 and
//    early_stopping false (transformers at commit fd365f0f, generation/beam_search.py): per row the
//    top 2·num_beams of (beam score + log_softmax) over num_beams x vocab candidates, finished
//    hypotheses scored sum_logprobs / length, a row done when its worst kept hypothesis beats the
//    best open one, and the output laid out as BeamSearchScorer.finalize does (best hypothesis,
//    eos appended when it fits, rows padded with pad_token_id).
// Scores are summed in float64 (HF: float32); the two can only differ on exact ties.

/** What a search asks of the decoder: one step (ids [R] of the new token per row, answered with last-position logits [R, vocab]), or a cache reorder. */
export type DecoderRequest = { kind: 'step'; ids: Int32Array } | { kind: 'reorder'; rows: Int32Array };

export interface SearchParams {
  B: number;
  beams: number;
  vocab: number;
  maxNewTokens: number;
  startId: number;
  padId: number;
  eosIds: readonly number[];
}

export interface GeneratedIds {
  data: Int32Array;
  dims: [number, number];
}

export type Search = Generator<DecoderRequest, GeneratedIds, Float32Array | undefined>;

/** Greedy search over B rows. */
export function* greedySearch(p: SearchParams): Search {
  const { B, vocab: V } = p;
  const seqs: number[][] = Array.from({ length: B }, () => [p.startId]);
  const unfinished = new Array<boolean>(B).fill(true);
  let cur = new Int32Array(B).fill(p.startId);
  for (let step = 0; step < p.maxNewTokens; step++) {
    const logits = (yield { kind: 'step', ids: cur })!;
    const next = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      let best = 0;
      let bestV = logits[b * V];
      for (let v = 1; v < V; v++) {
        const x = logits[b * V + v];
        if (x > bestV || (Number.isNaN(x) && !Number.isNaN(bestV))) {
          bestV = x;
          best = v;
        }
      }
      const tok = unfinished[b] ? best : p.padId;
      if (unfinished[b] && p.eosIds.includes(tok)) unfinished[b] = false;
      next[b] = tok;
      seqs[b].push(tok);
    }
    cur = next;
    if (!unfinished.some(Boolean)) break;
  }
  const S = seqs[0].length;
  const data = new Int32Array(B * S);
  seqs.forEach((s, b) => data.set(s, b * S));
  return { data, dims: [B, S] };
}

interface Hypothesis {
  score: number;
  tokens: number[];
}

/** HF BeamHypotheses (length_penalty 1.0, early_stopping false). */
class BeamHypotheses {
  readonly beams: Hypothesis[] = [];
  private worst = 1e9;
  constructor(private readonly numBeams: number) {}

  add(tokens: number[], sumLogprobs: number): void {
    const score = sumLogprobs / tokens.length;
    if (this.beams.length < this.numBeams || score > this.worst) {
      this.beams.push({ score, tokens });
      if (this.beams.length > this.numBeams) {
        // sorted([(s, idx)]): by score, then by insertion index
        const order = this.beams.map((h, i) => ({ s: h.score, i })).sort((a, b) => a.s - b.s || a.i - b.i);
        this.beams.splice(order[0].i, 1);
        this.worst = order[1].s;
      } else {
        this.worst = Math.min(score, this.worst);
      }
    }
  }

  isDone(bestSumLogprobs: number, curLen: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    return this.worst >= bestSumLogprobs / curLen;
  }
}

/** log_softmax of one row, in float64. */
function logSoftmax(logits: Float32Array, off: number, V: number, out: Float64Array): void {
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[off + v] > max) max = logits[off + v];
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[off + v] - max);
  const lse = max + Math.log(sum);
  for (let v = 0; v < V; v++) out[v] = logits[off + v] - lse;
}

/** Beam search over B rows x `beams` beams (row r = b * beams + k). */
export function* beamSearch(p: SearchParams): Search {
  const { B, beams: K, vocab: V } = p;
  const R = B * K;
  const maxLength = 1 + p.maxNewTokens;
  let seqs: number[][] = Array.from({ length: R }, () => [p.startId]);
  // Only the first beam of each row is live at the start (the others are copies of it).
  let scores = new Float64Array(R);
  for (let r = 0; r < R; r++) scores[r] = r % K === 0 ? 0 : -1e9;
  const hyps = Array.from({ length: B }, () => new BeamHypotheses(K));
  const done = new Array<boolean>(B).fill(false);
  let cur = new Int32Array(R).fill(p.startId);
  let curLen = 1;
  const lp = new Float64Array(V);
  const topN = 2 * K;
  while (curLen < maxLength) {
    const logits = (yield { kind: 'step', ids: cur })!;
    const nextScores = new Float64Array(R);
    const nextTokens = new Int32Array(R);
    const nextRows = new Int32Array(R);
    for (let b = 0; b < B; b++) {
      if (done[b]) {
        for (let k = 0; k < K; k++) {
          nextScores[b * K + k] = 0;
          nextTokens[b * K + k] = p.padId;
          nextRows[b * K + k] = b * K;
        }
        continue;
      }
      // Top 2K of score + log_softmax over the K x V candidates, best first; equal scores keep
      // the lower flat index (beam * V + token) first.
      const topS = new Float64Array(topN).fill(-Infinity);
      const topI = new Int32Array(topN).fill(-1);
      for (let k = 0; k < K; k++) {
        const r = b * K + k;
        logSoftmax(logits, r * V, V, lp);
        for (let v = 0; v < V; v++) {
          const s = lp[v] + scores[r];
          if (!(s > topS[topN - 1]) && topI[topN - 1] >= 0) continue;
          let j = topN - 1;
          while (j > 0 && (s > topS[j - 1] || topI[j - 1] < 0)) {
            topS[j] = topS[j - 1];
            topI[j] = topI[j - 1];
            j--;
          }
          topS[j] = s;
          topI[j] = k * V + v;
        }
      }
      let beamIdx = 0;
      for (let rank = 0; rank < topN && topI[rank] >= 0; rank++) {
        const k = Math.floor(topI[rank] / V), tok = topI[rank] % V;
        const src = b * K + k;
        if (p.eosIds.includes(tok)) {
          if (rank >= K) continue;  // an eos outside the top K beams is not a finished hypothesis
          hyps[b].add(seqs[src].slice(), topS[rank]);
        } else {
          nextScores[b * K + beamIdx] = topS[rank];
          nextTokens[b * K + beamIdx] = tok;
          nextRows[b * K + beamIdx] = src;
          beamIdx++;
        }
        if (beamIdx === K) break;
      }
      if (beamIdx < K) throw new RangeError(`beam search: fewer than numBeams ${K} non-eos candidates among the top ${topN} (vocab_size ${V} too small for ${K} beams?)`);
      done[b] = done[b] || hyps[b].isDone(topS[0], curLen);
    }
    seqs = Array.from({ length: R }, (_, r) => [...seqs[nextRows[r]], nextTokens[r]]);
    scores = nextScores;
    cur = nextTokens;
    curLen++;
    if (done.every(Boolean) || curLen >= maxLength) break;
    yield { kind: 'reorder', rows: nextRows };
  }
  // finalize: open beams of unfinished rows join their hypotheses; the best of each row is output.
  const best: number[][] = [];
  for (let b = 0; b < B; b++) {
    if (!done[b]) for (let k = 0; k < K; k++) hyps[b].add(seqs[b * K + k], scores[b * K + k]);
    // sorted by score (stable), then pop(): the last of the best-scoring ones.
    const sorted = hyps[b].beams.map((h, i) => ({ h, i })).sort((x, y) => x.h.score - y.h.score || x.i - y.i);
    best.push(sorted[sorted.length - 1].h.tokens);
  }
  const lengths = best.map((t) => t.length);
  const S = Math.min(Math.max(...lengths) + 1, maxLength);
  const data = new Int32Array(B * S).fill(p.padId);
  best.forEach((t, b) => {
    data.set(t.slice(0, S), b * S);
    if (t.length < S) data[b * S + t.length] = p.eosIds[0];
  });
  return { data, dims: [B, S] };
}

/** A decoder as the drivers see it: one step, after reordering the cache rows when `reorder` is given. */
export interface SyncDecoder {
  step(ids: Int32Array, reorder: Int32Array | undefined): Float32Array;
}
export interface AsyncDecoder {
  step(ids: Int32Array, reorder: Int32Array | undefined): Promise<Float32Array>;
}

/** Runs a search with a synchronous decoder (a reorder is folded into the next step's call). */
export function runSearch(search: Search, decoder: SyncDecoder, onStep: (tokensSoFar: number) => void): GeneratedIds {
  let answer: Float32Array | undefined;
  let reorder: Int32Array | undefined;
  let steps = 0;
  for (;;) {
    const r = search.next(answer);
    if (r.done) return r.value;
    answer = undefined;
    if (r.value.kind === 'reorder') {
      reorder = r.value.rows;
      continue;
    }
    answer = decoder.step(r.value.ids, reorder);
    reorder = undefined;
    onStep(++steps);
  }
}

/** Runs a search with an asynchronous decoder; onStep may throw (abort) between steps. */
export async function runSearchAsync(search: Search, decoder: AsyncDecoder, onStep: (tokensSoFar: number) => void): Promise<GeneratedIds> {
  let answer: Float32Array | undefined;
  let reorder: Int32Array | undefined;
  let steps = 0;
  for (;;) {
    const r = search.next(answer);
    if (r.done) return r.value;
    answer = undefined;
    if (r.value.kind === 'reorder') {
      reorder = r.value.rows;
      continue;
    }
    answer = await decoder.step(r.value.ids, reorder);
    reorder = undefined;
    onStep(++steps);
  }
}
