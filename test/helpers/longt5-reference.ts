// A plain float64 JavaScript reference of LongT5's attention layers, written from
// test/fixtures/README.md and docs/ARCHITECTURE.md §1.2 (Hugging Face transformers modeling_longt5.py at commit
// fd365f0f5165c04aec1be34359d0c37d13a4c413). It shares no code with lib/ or native/: block ids by
// the README's integer rule, T5's bidirectional bucket function with HF's float32 log arithmetic,
// projections, global aggregates (block SUMS + T5 RMS norm), the local window |i - j| <= r with
// both tokens valid, global tokens valid iff their segment id is 1, relative biases, softmax and
// the output projection. Everything but the bucket arithmetic is float64.

// Module-level copies: under jest every global lookup (Math, Number) goes through the vm context
// and is much slower than a closure variable.
const exp = Math.exp;
const sqrt = Math.sqrt;
const log = Math.log;
const fround = Math.fround;
const trunc = Math.trunc;
const floor = Math.floor;
const abs = Math.abs;
const min = Math.min;
const isFinite = Number.isFinite;

export type Layout = 'bhnd' | 'bnhd';
export type LayerKind = 'tglobal' | 'local' | 'full';

// ---------------------------------------------------------------------------------------------
// Block ids (README, "Equivalent integer rule")

export interface RefBlockIds {
  /** [B, N]: min(i // g, F_b - 1) for valid tokens, -1 for padding (and everywhere when F_b == 0). */
  blockIds: Int32Array;
  /** [B, G]: 1 iff m <= max_i blockIds[b, i]. */
  segmentIds: Int32Array;
  G: number;
}

/** HF `_make_global_fixed_block_ids` by the README's integer rule; mask [B, N], nonzero = token. */
export function refBlockIds(mask: ArrayLike<number> | undefined, B: number, N: number, g: number): RefBlockIds {
  if (!(g >= 1)) throw new Error('refBlockIds: g must be >= 1');
  const G = floor(N / g);
  const blockIds = new Int32Array(B * N);
  const segmentIds = new Int32Array(B * G);
  for (let b = 0; b < B; b++) {
    const valid = (i: number) => mask === undefined || mask[b * N + i] !== 0;
    // F_b: valid positions that end a block (i % g == g - 1)
    let F = 0;
    for (let i = 0; i < N; i++) if (i % g === g - 1 && valid(i)) F++;
    let maxId = -1;
    for (let i = 0; i < N; i++) {
      const id = valid(i) && F > 0 ? min(floor(i / g), F - 1) : -1;
      blockIds[b * N + i] = id;
      if (id > maxId) maxId = id;
    }
    for (let m = 0; m < G; m++) segmentIds[b * G + m] = m <= maxId ? 1 : 0;
  }
  return { blockIds, segmentIds, G };
}

// ---------------------------------------------------------------------------------------------
// T5 relative-position buckets

/**
 * HF `_relative_position_bucket(relative_position, bidirectional=True, num_buckets, max_distance)` for
 * relative = key - query. The large-distance branch is float32 in HF (`relative_position.float()`,
 * then `torch.log`, a division by the Python float `math.log(max_distance / max_exact)` and a
 * multiplication by an int, all float32 tensor ops, truncated by `.to(torch.long)`); each step is
 * rounded to float32 here as well, which decides the distances where the exact value is an integer
 * (16, 32, 64 for the default 32 buckets / 128).
 */
export function refBucket(relative: number, numBuckets = 32, maxDistance = 128): number {
  const half = floor(numBuckets / 2); // num_buckets //= 2
  let bucket = relative > 0 ? half : 0;
  const n = abs(relative);
  const maxExact = floor(half / 2);
  if (n < maxExact) return bucket + n;
  const ratio = fround(fround(n) / maxExact);
  const lg = fround(log(ratio));
  const denom = fround(log(maxDistance / maxExact)); // Python float, cast to float32 by the tensor op
  const large = maxExact + trunc(fround(fround(lg / denom) * (half - maxExact)));
  bucket += min(large, half - 1);
  return bucket;
}

/** Float64 version of the same formula (no float32 rounding); differs only at a few borderline distances. */
export function refBucketF64(relative: number, numBuckets = 32, maxDistance = 128): number {
  const half = floor(numBuckets / 2);
  const n = abs(relative);
  const maxExact = floor(half / 2);
  const base = relative > 0 ? half : 0;
  if (n < maxExact) return base + n;
  return base + min(maxExact + trunc((log(n / maxExact) / log(maxDistance / maxExact)) * (half - maxExact)), half - 1);
}

/** bias[h][x] = table[bucket(x - offset), h] for x in [0, len): a per-head lookup by distance. */
function biasByDistance(table: ArrayLike<number>, H: number, numBuckets: number, maxDistance: number, len: number, offset: number): Float64Array {
  const out = new Float64Array(H * len);
  for (let x = 0; x < len; x++) {
    const bk = refBucket(x - offset, numBuckets, maxDistance);
    for (let h = 0; h < H; h++) out[h * len + x] = table[bk * H + h];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Linear algebra

/** y = x · wᵀ in float64: x [M, K] row-major, w [Nout, K] (PyTorch nn.Linear) → [M, Nout]. */
export function refLinear(x: ArrayLike<number>, M: number, K: number, w: ArrayLike<number>, Nout: number): Float64Array {
  if (x.length !== M * K || w.length !== Nout * K) throw new Error('refLinear: sizes disagree');
  const y = new Float64Array(M * Nout);
  // w as float64 once (cheap) for a tighter inner loop
  const wd = Float64Array.from(w);
  const xr = new Float64Array(K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) xr[k] = x[m * K + k];
    for (let n = 0; n < Nout; n++) {
      let s = 0;
      const o = n * K;
      for (let k = 0; k < K; k++) s += xr[k] * wd[o + k];
      y[m * Nout + n] = s;
    }
  }
  return y;
}

/**
 * HF `_create_global_aggregates` + `global_input_layer_norm`: a[b,m] = Σ_{i: id(i) = m} x[b,i] (a SUM),
 * then w · a / sqrt(mean(a²) + eps) when `normWeight` is given. x [B, N, C] → [B, G, C].
 */
export function refGlobalAggregates(x: ArrayLike<number>, B: number, N: number, C: number, blockIds: ArrayLike<number>, G: number,
                                    normWeight?: ArrayLike<number>, eps = 1e-6): Float64Array {
  const a = new Float64Array(B * G * C);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < N; i++) {
      const id = blockIds[b * N + i];
      if (id < 0 || id >= G) continue;
      const o = (b * G + id) * C;
      const xo = (b * N + i) * C;
      for (let c = 0; c < C; c++) a[o + c] += x[xo + c];
    }
  if (normWeight === undefined) return a;
  for (let r = 0; r < B * G; r++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += a[r * C + c] * a[r * C + c];
    const inv = 1 / sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) a[r * C + c] = normWeight[c] * (a[r * C + c] * inv);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// The attention core

export interface RefCoreArgs {
  /** [B,H,N,D] ('bhnd') or [B,N,H,D] ('bnhd'); v with Dv instead of D. */
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  /** [B,H,G,D] / [B,G,H,D]; may be omitted when G == 0. */
  globalK?: ArrayLike<number>;
  globalV?: ArrayLike<number>;
  B: number; H: number; N: number; D: number; Dv: number; G: number;
  layout: Layout;
  /** Local window radius r (|i - j| <= r); Infinity for full attention. */
  radius: number;
  /** Global block size (for the block ids of the global bias and the segment ids). Needed when G > 0. */
  globalBlockSize?: number;
  /** [B, N], nonzero = token; absent = all tokens. */
  mask?: ArrayLike<number>;
  /** [numBuckets, H] tables (HF weight layout); absent = no bias. */
  relBias?: ArrayLike<number>;
  globalRelBias?: ArrayLike<number>;
  numBuckets?: number;
  maxDistance?: number;
  /** Score scale (LongT5: 1). */
  scale?: number;
  /** Padded query rows give 0 (TGlobal/local); false: they attend like any row (full T5 attention). */
  zeroPaddedQueries?: boolean;
}

/**
 * out[b,h,i] = Σ p v over local keys j (|i - j| <= r, key valid) and valid global tokens m
 * (segment id 1), scores scale·q·k + relBias[bucket(j - i), h] / globalRelBias[bucket(m - blockId(i)), h].
 * A row with no admissible key (or a padded query with zeroPaddedQueries) is 0. Returns float64 in the
 * same layout as q (with Dv).
 */
export function refTGlobalCore(a: RefCoreArgs): Float64Array {
  const { B, H, N, D, Dv, G } = a;
  const r = a.radius;
  const scale = a.scale ?? 1;
  const zeroPadded = a.zeroPaddedQueries ?? true;
  const mask = a.mask;
  const numBuckets = a.numBuckets ?? (a.relBias ? a.relBias.length / H : a.globalRelBias ? a.globalRelBias.length / H : 32);
  const maxDistance = a.maxDistance ?? 128;
  const bnhd = a.layout === 'bnhd';
  // element offset of row (b, h, i) of a [B, H, n, d] tensor in the chosen layout
  const off = (b: number, h: number, i: number, n: number, d: number) => (bnhd ? ((b * n + i) * H + h) * d : ((b * H + h) * n + i) * d);
  if (a.q.length !== B * H * N * D || a.k.length !== B * H * N * D || a.v.length !== B * H * N * Dv) throw new Error('refTGlobalCore: q/k/v sizes');
  if (G > 0 && (a.globalK === undefined || a.globalV === undefined || a.globalK.length !== B * H * G * D || a.globalV.length !== B * H * G * Dv))
    throw new Error('refTGlobalCore: globalK/globalV sizes');
  const W = isFinite(r) ? min(r, N) : N; // the window never reaches beyond N - 1
  const lbias = a.relBias ? biasByDistance(a.relBias, H, numBuckets, maxDistance, 2 * W + 1, W) : undefined;
  let ids: RefBlockIds | undefined;
  let gbias: Float64Array | undefined;
  if (G > 0) {
    if (a.globalBlockSize === undefined) throw new Error('refTGlobalCore: globalBlockSize needed when G > 0');
    ids = refBlockIds(mask, B, N, a.globalBlockSize);
    if (ids.G !== G) throw new Error(`refTGlobalCore: G = ${G} but floor(N / g) = ${ids.G}`);
    // distance m - id ranges over [-(G-1) - 0, G - 1 + 1]
    if (a.globalRelBias) gbias = biasByDistance(a.globalRelBias, H, numBuckets, maxDistance, 2 * G + 1, G);
  }
  const q = a.q, k = a.k, v = a.v, gk = a.globalK, gv = a.globalV;
  const out = new Float64Array(B * H * N * Dv);
  const cap = 2 * W + 1 + G;
  const s = new Float64Array(cap);
  const src = new Int32Array(cap); // key index j >= 0 (local) or -(m + 1) (global)
  const acc = new Float64Array(Dv);
  const L = 2 * W + 1;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < N; i++) {
        const qValid = mask === undefined || mask[b * N + i] !== 0;
        if (!qValid && zeroPadded) continue;
        const qo = off(b, h, i, N, D);
        let n = 0;
        let max = -Infinity;
        const lo = i - W < 0 ? 0 : i - W;
        const hi = i + W > N - 1 ? N - 1 : i + W;
        for (let j = lo; j <= hi; j++) {
          if (mask !== undefined && mask[b * N + j] === 0) continue;
          const ko = off(b, h, j, N, D);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          let x = scale * dot;
          if (lbias) x += lbias[h * L + (j - i + W)];
          s[n] = x;
          src[n++] = j;
          if (x > max) max = x;
        }
        if (G > 0 && qValid) {
          const id = ids!.blockIds[b * N + i];
          for (let m = 0; m < G; m++) {
            if (ids!.segmentIds[b * G + m] !== 1) continue;
            const ko = off(b, h, m, G, D);
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[qo + d] * gk![ko + d];
            let x = scale * dot;
            if (gbias) x += gbias[h * (2 * G + 1) + (m - id + G)];
            s[n] = x;
            src[n++] = -(m + 1);
            if (x > max) max = x;
          }
        }
        if (n === 0) continue;
        acc.fill(0);
        let sum = 0;
        for (let t = 0; t < n; t++) {
          const p = exp(s[t] - max);
          sum += p;
          const j = src[t];
          if (j >= 0) {
            const vo = off(b, h, j, N, Dv);
            for (let d = 0; d < Dv; d++) acc[d] += p * v[vo + d];
          } else {
            const vo = off(b, h, -j - 1, G, Dv);
            for (let d = 0; d < Dv; d++) acc[d] += p * gv![vo + d];
          }
        }
        const oo = off(b, h, i, N, Dv);
        for (let d = 0; d < Dv; d++) out[oo + d] = acc[d] / sum;
      }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Whole layers

/** The Hugging Face LongT5Config fields the layers read. */
export interface RefLayerConfig {
  d_model: number;
  d_kv: number;
  num_heads: number;
  local_radius?: number;
  global_block_size?: number;
  relative_attention_num_buckets?: number;
  relative_attention_max_distance?: number;
  layer_norm_epsilon?: number;
}

export interface RefLayerResult {
  /** [B, N, d_model] */
  out: Float64Array;
  /** [B, N, H*D] (= [B, N, H, D]), heads concatenated, before o */
  context: Float64Array;
  /** [B, N, H, D] */
  query: Float64Array;
  key: Float64Array;
  value: Float64Array;
  /** TGlobal only: [B, G, C] after the layer norm, and [B, G, H, D] side keys/values */
  globalInputs?: Float64Array;
  sideKey?: Float64Array;
  sideValue?: Float64Array;
  blockIds?: Int32Array;
  segmentIds?: Int32Array;
  G: number;
}

/**
 * One LongT5 attention layer in float64. kind 'tglobal' = LongT5TransientGlobalAttention, 'local' =
 * LongT5LocalAttention, 'full' = LongT5Attention (encoder, relative bias). hidden [B, N, d_model],
 * mask [B, N] (nonzero = token; absent = all tokens); weights by HF name in [out, in] layout.
 * TGlobal/local padded rows are 0 (HF's values there are meaningless); full attention computes every row.
 */
export function refLayer(kind: LayerKind, config: RefLayerConfig, weights: Record<string, ArrayLike<number>>,
                         hidden: { data: ArrayLike<number>; dims: readonly number[] }, mask?: ArrayLike<number>): RefLayerResult {
  const [B, N, C] = hidden.dims;
  if (C !== config.d_model) throw new Error('refLayer: hidden last dim != d_model');
  const H = config.num_heads, D = config.d_kv, HD = H * D;
  const numBuckets = config.relative_attention_num_buckets ?? 32;
  const maxDistance = config.relative_attention_max_distance ?? 128;
  const w = (name: string) => {
    const t = weights[name];
    if (t === undefined) throw new Error(`refLayer: weight ${name} missing`);
    return t;
  };
  const x = hidden.data;
  const query = refLinear(x, B * N, C, w('q.weight'), HD);
  const key = refLinear(x, B * N, C, w('k.weight'), HD);
  const value = refLinear(x, B * N, C, w('v.weight'), HD);
  const res: Partial<RefLayerResult> = { query, key, value, G: 0 };
  let G = 0;
  let sideKey: Float64Array | undefined, sideValue: Float64Array | undefined;
  let g: number | undefined;
  if (kind === 'tglobal') {
    g = config.global_block_size!;
    const ids = refBlockIds(mask, B, N, g);
    G = ids.G;
    const agg = refGlobalAggregates(x, B, N, C, ids.blockIds, G, w('global_input_layer_norm.weight'), config.layer_norm_epsilon ?? 1e-6);
    sideKey = refLinear(agg, B * G, C, w('k.weight'), HD);
    sideValue = refLinear(agg, B * G, C, w('v.weight'), HD);
    Object.assign(res, { globalInputs: agg, sideKey, sideValue, blockIds: ids.blockIds, segmentIds: ids.segmentIds, G });
  }
  const context = refTGlobalCore({
    q: query, k: key, v: value, globalK: sideKey, globalV: sideValue, B, H, N, D, Dv: D, G, layout: 'bnhd',
    radius: kind === 'full' ? Infinity : config.local_radius!, globalBlockSize: g, mask,
    relBias: w('relative_attention_bias.weight'),
    globalRelBias: kind === 'tglobal' ? w('global_relative_attention_bias.weight') : undefined,
    numBuckets, maxDistance, scale: 1, zeroPaddedQueries: kind !== 'full',
  });
  res.context = context;
  res.out = refLinear(context, B * N, HD, w('o.weight'), C);
  return res as RefLayerResult;
}

// ---------------------------------------------------------------------------------------------
// The seed's block-global variant (README, seed_variant_*)

/**
 * q, k, v [B,H,N,D]: query i in block c (blocks of g, the incomplete last block merged into the last
 * complete one) attends to the keys of block c plus the block's global token (key/value = block mean),
 * softmax with `scale`. Needs N >= g. Returns [B,H,N,Dv].
 */
export function refBlockGlobal(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, B: number, H: number, N: number, D: number,
                               Dv: number, g: number, scale: number): Float64Array {
  const nb = floor(N / g);
  if (nb === 0) throw new Error('refBlockGlobal: N < g');
  const out = new Float64Array(B * H * N * Dv);
  const gk = new Float64Array(D), gvv = new Float64Array(Dv), acc = new Float64Array(Dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * N;
      for (let c = 0; c < nb; c++) {
        const lo = c * g, hi = c === nb - 1 ? N : lo + g;
        gk.fill(0);
        gvv.fill(0);
        for (let j = lo; j < hi; j++) {
          for (let d = 0; d < D; d++) gk[d] += k[(base + j) * D + d];
          for (let d = 0; d < Dv; d++) gvv[d] += v[(base + j) * Dv + d];
        }
        for (let d = 0; d < D; d++) gk[d] /= hi - lo;
        for (let d = 0; d < Dv; d++) gvv[d] /= hi - lo;
        const s = new Float64Array(hi - lo + 1);
        for (let i = lo; i < hi; i++) {
          const qo = (base + i) * D;
          let max = -Infinity;
          for (let j = lo; j <= hi; j++) {
            let dot = 0;
            if (j < hi) for (let d = 0; d < D; d++) dot += q[qo + d] * k[(base + j) * D + d];
            else for (let d = 0; d < D; d++) dot += q[qo + d] * gk[d];
            s[j - lo] = scale * dot;
            if (s[j - lo] > max) max = s[j - lo];
          }
          acc.fill(0);
          let sum = 0;
          for (let j = lo; j <= hi; j++) {
            const p = exp(s[j - lo] - max);
            sum += p;
            if (j < hi) for (let d = 0; d < Dv; d++) acc[d] += p * v[(base + j) * Dv + d];
            else for (let d = 0; d < Dv; d++) acc[d] += p * gvv[d];
          }
          for (let d = 0; d < Dv; d++) out[(base + i) * Dv + d] = acc[d] / sum;
        }
      }
    }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparing row by row

/**
 * max |a - b| and max |b| over the rows (of `rowLen` elements, row r = position r of a [B, N, ...]
 * tensor flattened to B·N rows) that `keep(r)` selects. NaN anywhere in a kept row counts as Infinity.
 */
export function rowError(a: ArrayLike<number>, b: ArrayLike<number>, rowLen: number, keep: (row: number) => boolean): { err: number; scale: number; rows: number } {
  if (a.length !== b.length) return { err: Infinity, scale: 0, rows: 0 };
  const R = rowLen === 0 ? 0 : a.length / rowLen;
  let err = 0, scale = 0, rows = 0;
  for (let r = 0; r < R; r++) {
    if (!keep(r)) continue;
    rows++;
    for (let c = 0; c < rowLen; c++) {
      const x = a[r * rowLen + c], y = b[r * rowLen + c];
      const d = abs(x - y);
      if (!(d <= err)) err = d !== d ? Infinity : d;
      const m = abs(y);
      if (m > scale) scale = m;
    }
  }
  return { err, scale, rows };
}

/** [B, X, Y, D] → [B, Y, X, D] (bhnd <-> bnhd), any numeric array type. */
export function swap12<T extends Float32Array | Float64Array>(a: T, B: number, X: number, Y: number, D: number): T {
  const out = new (a.constructor as { new (n: number): T })(a.length);
  for (let b = 0; b < B; b++)
    for (let x = 0; x < X; x++)
      for (let y = 0; y < Y; y++) {
        const src = ((b * X + x) * Y + y) * D, dst = ((b * Y + y) * X + x) * D;
        for (let d = 0; d < D; d++) out[dst + d] = a[src + d];
      }
  return out;
}
