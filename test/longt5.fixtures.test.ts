// Every tglobal_layer_*, local_layer_* and dense_t5layer_* reference vector (Hugging Face LongT5 in
// float64, test/fixtures/README.md) through the LongT5 layer classes, built both with
// fromSafetensors(file) (config from the file's metadata) and with new Cls(config, weights), run with
// forward and forwardAsync under every ISA this CPU offers: max abs error <= 1e-4 · max|truth| on the
// rows that count (attention_mask == 1; every row for dense_t5layer), and finite padded rows.
// The intermediates the fixtures store are checked through the public helpers (linear,
// globalAggregates, transientGlobalAttention on the fixture's own states), and the float64 JS
// reference (helpers/longt5-reference.ts) is itself validated against out_f64 and every intermediate.
import {
  LongT5Attention, LongT5LocalAttention, LongT5TransientGlobalAttention, Tensor, globalAggregates, globalBlockIds, info, linear,
  linearAsync, transientGlobalAttention, transientGlobalAttentionAsync,
} from '../lib/index';
import { native } from '../lib/native';
import { Fixture, allFinite, listFixtures, loadFixture } from './helpers/fixtures';
import { availableIsas, withIsa, withIsaAsync } from './helpers/isa';
import { LayerKind, refBlockIds, refBucket, refLayer, rowError, swap12 } from './helpers/longt5-reference';

const LAYER_TOL = 1e-4; // × max|truth| over the rows that count
const LINEAR_TOL = 1e-5; // projections and aggregates: one float32 GEMM / sum, no softmax
const CORE_TOL = 1e-4;
const REF_TOL = 1e-9; // the float64 JS reference vs HF float64

const CASES = [...listFixtures('tglobal_layer_'), ...listFixtures('local_layer_'), ...listFixtures('dense_t5layer_')];
const ISAS = availableIsas();
const KIND: Record<string, LayerKind> = { tglobal_layer: 'tglobal', local_layer: 'local', dense_t5layer: 'full' };
const CLASSES = { tglobal: LongT5TransientGlobalAttention, local: LongT5LocalAttention, full: LongT5Attention };
const WEIGHT_NAMES: Record<LayerKind, string[]> = {
  full: ['q.weight', 'k.weight', 'v.weight', 'o.weight', 'relative_attention_bias.weight'],
  local: ['q.weight', 'k.weight', 'v.weight', 'o.weight', 'relative_attention_bias.weight'],
  tglobal: ['q.weight', 'k.weight', 'v.weight', 'o.weight', 'relative_attention_bias.weight', 'global_relative_attention_bias.weight',
    'global_input_layer_norm.weight'],
};

// Worst relative errors seen, printed at the end when GA_REPORT is set.
const worst = new Map<string, number>();
function note(what: string, rel: number): void {
  if (!(rel <= (worst.get(what) ?? -1))) worst.set(what, rel);
}
afterAll(() => {
  if (process.env.GA_REPORT) console.log([...worst].map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'));
});

interface Case {
  fx: Fixture;
  kind: LayerKind;
  config: Record<string, any>;
  B: number;
  N: number;
  C: number;
  H: number;
  D: number;
  hidden: Tensor;
  mask: Int32Array;
  truth: Float64Array;
  /** whether row (b·N + i) counts */
  keep: (row: number) => boolean;
}

function prepare(name: string): Case {
  const fx = loadFixture(name);
  const kind = KIND[fx.kind];
  expect(kind).toBeDefined();
  const c = fx.config;
  const hidden = fx.tensor('hidden_states');
  const [B, N, C] = hidden.dims;
  expect([B, N, C]).toEqual([c.batch, c.seq_len, c.d_model]);
  const mask = fx.i32('attention_mask');
  expect(mask.length).toBe(B * N);
  // the mask really has the valid lengths the config claims
  for (let b = 0; b < B; b++) expect(mask.subarray(b * N, (b + 1) * N).reduce((s, x) => s + x, 0)).toBe(c.valid_lengths[b]);
  const truth = fx.f64('out_f64');
  expect(fx.get('out_f64').shape).toEqual([B, N, C]);
  const keep = kind === 'full' ? () => true : (row: number) => mask[row] === 1;
  return { fx, kind, config: c, B, N, C, H: c.num_heads, D: c.d_kv, hidden, mask, truth, keep };
}

/** Fails with a readable message unless err <= tol · scale; returns the relative error. */
function within(label: string, e: { err: number; scale: number; rows: number }, tol: number): number {
  expect(e.rows).toBeGreaterThan(0);
  const rel = e.scale > 0 ? e.err / e.scale : e.err;
  if (!(e.err <= tol * (e.scale > 0 ? e.scale : 1)))
    throw new Error(`${label}: max abs error ${e.err} > ${tol} × max|truth| ${e.scale} (relative ${rel})`);
  return rel;
}

function checkLayerOut(p: Case, out: Tensor, label: string): void {
  expect(out.dims).toEqual([p.B, p.N, p.C]);
  const rel = within(label, rowError(out.data, p.truth, p.C, p.keep), LAYER_TOL);
  note(`layer out (${p.kind})`, rel);
  // padded rows: finite (their value is unspecified by HF)
  expect(allFinite(out.data)).toBe(true);
}

function weightsOf(p: Case, asTensor: (n: string) => boolean): Record<string, Float32Array | Tensor> {
  const w: Record<string, Float32Array | Tensor> = {};
  for (const n of WEIGHT_NAMES[p.kind]) w[n] = asTensor(n) ? p.fx.tensor(n) : p.fx.f32(n);
  return w;
}

test('the fixture set and the ISA list are what this file expects', () => {
  expect(CASES.filter((n) => n.startsWith('tglobal_layer_')).length).toBe(11);
  expect(CASES.filter((n) => n.startsWith('local_layer_')).length).toBe(2);
  expect(CASES.filter((n) => n.startsWith('dense_t5layer_')).length).toBe(1);
  expect(ISAS).toContain('scalar');
  expect(ISAS).toContain(info().isa);
});

describe.each(CASES)('%s', (name) => {
  let p: Case;
  beforeAll(() => {
    p = prepare(name);
  });

  test('the float64 JS reference reproduces out_f64 and the stored intermediates (validates the helper)', () => {
    const w: Record<string, Float32Array> = {};
    for (const n of WEIGHT_NAMES[p.kind]) w[n] = p.fx.f32(n);
    const ref = refLayer(p.kind, p.config as never, w, p.hidden, p.mask);
    note('JS reference out', within('reference out', rowError(ref.out, p.truth, p.C, p.keep), REF_TOL));
    // F32 'out' is out_f64 rounded to nearest
    within('fixture out vs out_f64', rowError(p.fx.f32('out'), p.truth, p.C, () => true), 1e-6);
    const { B, N, H, D } = p;
    if (!p.fx.has('context_f64')) return; // *_outonly
    // The context is defined on the rows that count (padded TGlobal/local rows are HF's arbitrary values).
    within('reference context', rowError(ref.context, p.fx.f64('context_f64'), H * D, p.keep), REF_TOL);
    const bhnd = p.kind === 'full'; // dense_t5layer stores [B,H,N,D]
    const asStored = (x: Float64Array) => (bhnd ? swap12(x, B, N, H, D) : x);
    for (const [t, mine] of [['query_states_f64', ref.query], ['key_states_f64', ref.key], ['value_states_f64', ref.value]] as const)
      within(`reference ${t}`, rowError(asStored(mine), p.fx.f64(t), D, () => true), REF_TOL);
    if (p.kind === 'tglobal') {
      expect(ref.G).toBe(p.config.global_seq_len);
      if (ref.G > 0) {
        within('reference global_inputs', rowError(ref.globalInputs!, p.fx.f64('global_inputs_f64'), p.C, () => true), REF_TOL);
        within('reference side_key_states', rowError(ref.sideKey!, p.fx.f64('side_key_states_f64'), D, () => true), REF_TOL);
        within('reference side_value_states', rowError(ref.sideValue!, p.fx.f64('side_value_states_f64'), D, () => true), REF_TOL);
      } else expect(p.fx.f64('global_inputs_f64').length).toBe(0);
    }
  });

  test('block ids, segment ids and bucket tensors: fixture == JS reference == library', () => {
    const { B, N, config: c } = p;
    if (p.kind === 'tglobal') {
      const ref = refBlockIds(p.mask, B, N, c.global_block_size);
      expect(ref.G).toBe(c.global_seq_len);
      expect(Array.from(ref.blockIds)).toEqual(Array.from(p.fx.i32('global_block_ids')));
      expect(Array.from(ref.segmentIds)).toEqual(Array.from(p.fx.i32('global_segment_ids')));
      const lib = globalBlockIds({ data: p.mask, dims: [B, N] }, c.global_block_size);
      expect([lib.B, lib.N, lib.G]).toEqual([B, N, ref.G]);
      expect(Array.from(lib.blockIds)).toEqual(Array.from(ref.blockIds));
      expect(Array.from(lib.segmentIds)).toEqual(Array.from(ref.segmentIds));
    }
    const nb = c.relative_attention_num_buckets, md = c.relative_attention_max_distance;
    let checked = 0;
    if (p.fx.has('local_relative_position_bucket')) {
      const bl = c.block_len;
      expect(bl).toBe(c.local_radius + 1);
      const t = p.fx.i32('local_relative_position_bucket');
      expect(p.fx.get('local_relative_position_bucket').shape).toEqual([bl, 3 * bl]);
      for (let r = 0; r < bl; r++) for (let s = 0; s < 3 * bl; s++, checked++) expect(refBucket(s - bl - r, nb, md)).toBe(t[r * 3 * bl + s]);
    }
    if (p.fx.has('side_relative_position_bucket')) {
      const G = c.global_seq_len;
      const ids = p.fx.i32('global_block_ids');
      const t = p.fx.i32('side_relative_position_bucket');
      for (let bi = 0; bi < B * N; bi++) for (let m = 0; m < G; m++, checked++) expect(refBucket(m - ids[bi], nb, md)).toBe(t[bi * G + m]);
    }
    if (p.fx.has('relative_position_bucket')) {
      const t = p.fx.i32('relative_position_bucket');
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++, checked++) expect(refBucket(j - i, nb, md)).toBe(t[i * N + j]);
    }
    if (!/outonly/.test(name)) expect(checked).toBeGreaterThan(0);
  });

  test('the stored HF bias tensors follow the masking rules the reference implements', () => {
    // local_position_bias[b,n,h,t,s]: key j = (n-1)·bl + s of query i = n·bl + t is unmasked iff
    // 0 <= j < N, both valid and |j - i| <= r; then it is table[bucket(j - i), h], else <= -1e9.
    // side_position_bias[b,n,h,t,m]: unmasked iff query valid and segment id 1 (valid rows only).
    if (!p.fx.has('local_position_bias')) return;
    const { B, N, H, config: c } = p;
    const bl = c.block_len, nbk = c.num_blocks, r = c.local_radius;
    const table = p.fx.f32('relative_attention_bias.weight');
    const lpb = p.fx.f32('local_position_bias');
    let bad = 0;
    for (let b = 0; b < B; b++)
      for (let n = 0; n < nbk; n++)
        for (let h = 0; h < H; h++)
          for (let t = 0; t < bl; t++) {
            const i = n * bl + t;
            if (i >= N) continue;
            for (let s = 0; s < 3 * bl; s++) {
              const j = (n - 1) * bl + s;
              const x = lpb[((((b * nbk + n) * H + h) * bl + t) * 3 * bl) + s];
              const open = j >= 0 && j < N && p.mask[b * N + i] === 1 && p.mask[b * N + j] === 1 && Math.abs(j - i) <= r;
              if (open ? x !== table[refBucket(j - i, c.relative_attention_num_buckets, c.relative_attention_max_distance) * H + h] : !(x <= -1e9)) bad++;
            }
          }
    expect(bad).toBe(0);
    if (!p.fx.has('side_position_bias') || p.kind !== 'tglobal') return;
    const G = c.global_seq_len;
    const spb = p.fx.f32('side_position_bias');
    const gtable = p.fx.f32('global_relative_attention_bias.weight');
    const ids = refBlockIds(p.mask, B, N, c.global_block_size);
    for (let b = 0; b < B; b++)
      for (let n = 0; n < nbk; n++)
        for (let h = 0; h < H; h++)
          for (let t = 0; t < bl; t++) {
            const i = n * bl + t;
            if (i >= N || p.mask[b * N + i] !== 1) continue;
            for (let m = 0; m < G; m++) {
              const x = spb[((((b * nbk + n) * H + h) * bl + t) * G) + m];
              const open = ids.segmentIds[b * G + m] === 1;
              const want = gtable[refBucket(m - ids.blockIds[b * N + i], c.relative_attention_num_buckets, c.relative_attention_max_distance) * H + h];
              if (open ? x !== want : !(x <= -1e9)) bad++;
            }
          }
    expect(bad).toBe(0);
  });

  test.each(ISAS)('fromSafetensors(file) (config from metadata): forward and forwardAsync, isa %s', async (isa) => {
    const Cls = CLASSES[p.kind];
    const layer = Cls.fromSafetensors(p.fx.file);
    expect(layer).toBeInstanceOf(Cls);
    expect(layer.config.d_model).toBe(p.C);
    expect(layer.config.num_heads).toBe(p.H);
    if (p.kind !== 'full') expect(layer.config.local_radius).toBe(p.config.local_radius);
    if (p.kind === 'tglobal') {
      expect(layer.config.global_block_size).toBe(p.config.global_block_size);
      expect(layer.config.layer_norm_epsilon).toBe(p.config.layer_norm_epsilon);
    }
    withIsa(isa, () => checkLayerOut(p, layer.forward(p.hidden, p.mask), `${name} fromSafetensors sync ${isa}`));
    const out = await withIsaAsync(isa, () => layer.forwardAsync(p.hidden, { data: p.mask, dims: [p.B, p.N] }));
    checkLayerOut(p, out, `${name} fromSafetensors async ${isa}`);
  });

  test.each(ISAS)('new Cls(config, weights): forward, forwardAsync, out= and a Uint8Array mask, isa %s', async (isa) => {
    const Cls = CLASSES[p.kind];
    // the fixture's config as HF writes it (with fields the layer ignores); weights half as Tensors, half as Float32Arrays
    let k = 0;
    const layer = new Cls(p.config as never, weightsOf(p, () => k++ % 2 === 0));
    const outBuf = new Float32Array(p.B * p.N * p.C).fill(NaN);
    withIsa(isa, () => {
      const o = layer.forward(p.hidden, Uint8Array.from(p.mask), { out: outBuf, threads: 2 });
      expect(o.data).toBe(outBuf);
      checkLayerOut(p, o, `${name} ctor sync out= ${isa}`);
    });
    const out = await withIsaAsync(isa, () => layer.forwardAsync(p.hidden, p.mask, { threads: 1 }));
    checkLayerOut(p, out, `${name} ctor async ${isa}`);
    // both runs agree closely (threads 1 vs 2, sync vs async)
    expect(rowError(out.data, outBuf, p.C, p.keep).err).toBeLessThanOrEqual(1e-6 * Math.max(1, rowError(outBuf, p.truth, p.C, p.keep).scale));
    // Without options.out the addon allocates the output and writes it in place: the call copies
    // exactly the output's bytes fewer than the same call given an out; the same bits as sync.
    const sync1 = withIsa(isa, () => layer.forward(p.hidden, p.mask, { threads: 1 })).data;
    const given = new Float32Array(sync1.length);
    const c0 = native.asyncCopiedBytes();
    await withIsaAsync(isa, () => layer.forwardAsync(p.hidden, p.mask, { threads: 1, out: given }));
    const c1 = native.asyncCopiedBytes();
    const made = await withIsaAsync(isa, () => layer.forwardAsync(p.hidden, p.mask, { threads: 1 }));
    const c2 = native.asyncCopiedBytes();
    expect((c1 - c0) - (c2 - c1)).toBe(given.byteLength);
    expect(Object.prototype.toString.call(made.data.buffer)).toBe('[object ArrayBuffer]');
    expect(Array.from(made.data)).toEqual(Array.from(sync1));
    expect(Array.from(given)).toEqual(Array.from(sync1));
  });

  test.each(ISAS)('intermediates through the public helpers, isa %s', async (isa) => {
    if (!p.fx.has('query_states_f64')) return; // *_outonly
    const { B, N, H, D, C, fx } = p;
    const bhnd = p.kind === 'full';
    await withIsaAsync(isa, async () => {
      // projections: linear(hidden, W) is [B, N, H·D] = [B, N, H, D]
      for (const [w, t] of [['q.weight', 'query_states_f64'], ['k.weight', 'key_states_f64'], ['v.weight', 'value_states_f64']]) {
        const y = w === 'v.weight' ? await linearAsync(p.hidden, fx.tensor(w)) : linear(p.hidden, fx.tensor(w));
        expect(y.dims).toEqual([B, N, H * D]);
        const got = bhnd ? swap12(y.data, B, N, H, D) : y.data;
        note('linear (projections)', within(`${name} linear ${w} ${isa}`, rowError(got, fx.f64(t), D, () => true), LINEAR_TOL));
      }
      if (p.kind === 'tglobal') {
        const c = p.config;
        const agg = globalAggregates(p.hidden, p.mask, c.global_block_size, { normWeight: fx.f32('global_input_layer_norm.weight'), eps: c.layer_norm_epsilon });
        expect(agg.dims).toEqual([B, c.global_seq_len, C]);
        if (c.global_seq_len > 0) {
          note('globalAggregates', within(`${name} globalAggregates ${isa}`, rowError(agg.data, fx.f64('global_inputs_f64'), C, () => true), LINEAR_TOL));
          const gi = fx.tensor('global_inputs');
          for (const [w, t] of [['k.weight', 'side_key_states_f64'], ['v.weight', 'side_value_states_f64']]) {
            const y = linear(gi, fx.tensor(w));
            note('linear (side k/v)', within(`${name} side ${w} ${isa}`, rowError(y.data, fx.f64(t), D, () => true), LINEAR_TOL));
          }
        } else expect(agg.data.length).toBe(0);
      }
      // the core on the fixture's own (F32) states and bias tables, vs context_f64 on valid query rows
      const G = p.kind === 'tglobal' ? p.config.global_seq_len : 0;
      const empty = { data: new Float32Array(0), dims: bhnd ? [B, H, 0, D] : [B, 0, H, D] };
      const gk = G > 0 ? fx.tensor('side_key_states') : empty;
      const gv = G > 0 ? fx.tensor('side_value_states') : empty;
      const opts = {
        localRadius: p.kind === 'full' ? N : p.config.local_radius,
        globalBlockSize: p.kind === 'tglobal' ? p.config.global_block_size : N + 1,
        mask: { data: p.mask, dims: [B, N] },
        relativeAttentionBias: fx.tensor('relative_attention_bias.weight'),
        globalRelativeAttentionBias: p.kind === 'tglobal' ? fx.tensor('global_relative_attention_bias.weight') : undefined,
        maxDistance: p.config.relative_attention_max_distance,
        layout: (bhnd ? 'bhnd' : 'bnhd') as 'bhnd' | 'bnhd',
      };
      const q = fx.tensor('query_states'), k = fx.tensor('key_states'), v = fx.tensor('value_states');
      const qValid = (row: number) => p.mask[row] === 1;
      for (const asy of [false, true]) {
        const ctx = asy ? await transientGlobalAttentionAsync(q, k, v, gk, gv, opts) : transientGlobalAttention(q, k, v, gk, gv, opts);
        expect(ctx.dims).toEqual(bhnd ? [B, H, N, D] : [B, N, H, D]);
        const got = bhnd ? swap12(ctx.data, B, H, N, D) : ctx.data;
        note(`transientGlobalAttention (${p.kind})`,
          within(`${name} core ${asy ? 'async' : 'sync'} ${isa}`, rowError(got, fx.f64('context_f64'), H * D, qValid), CORE_TOL));
        // padded queries output exactly 0
        for (let row = 0; row < B * N; row++) if (!qValid(row)) for (let x = 0; x < H * D; x++) if (got[row * H * D + x] !== 0) throw new Error(`padded query row ${row} not 0`);
      }
    });
  });
});

test('the ISA in use is restored after the tests above', () => {
  expect(ISAS).toContain(info().isa);
});
