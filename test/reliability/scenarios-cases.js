// Scenario cases for case-runner.js (scenarios.test.ts, scripts/test-asan.sh, scripts/valgrind.sh):
//   * NaN and Inf: the behaviour README.md documents under "NaN and Inf", checked under every
//     ISA this machine has:
//       - NaN/±Inf in something a query uses propagates (IEEE) to that query's row only;
//       - positions a query does not attend to (masked / padding, causal, outside the local
//         window, invalid global tokens, other blocks) never affect its row, whatever they hold;
//       - a row with nothing to attend to is exactly 0, even when every input is NaN;
//       - a -Inf bias excludes a key exactly like a mask; huge scores overflow without a crash.
//   * every entry point over a sweep of odd shapes (tails of every SIMD width), sync and async,
//     against the float64 reference (dense) or the scalar ISA (the rest): the workload the
//     sanitizer and valgrind runs need to see every kernel path.
'use strict';
const U = require('./util');

const { T, rand } = U;

function withIsa(lib, isa, f) {
  const keep = lib.info().isa;
  lib.setIsa(isa);
  const done = () => lib.setIsa(keep);
  try {
    const r = f();
    if (r && typeof r.then === 'function') return r.finally(done);
    done();
    return r;
  } catch (e) {
    done();
    throw e;
  }
}

/** Rows of a [rows, w] result that differ (bitwise, NaN = NaN) from the reference, among those `check(i)` selects. */
function rowDiffs(got, ref, w, check = () => true) {
  const bad = [];
  for (let i = 0; i * w < got.length; i++) {
    if (!check(i)) continue;
    for (let d = 0; d < w; d++) {
      const x = got[i * w + d], y = ref[i * w + d];
      if (x !== y && !(x !== x && y !== y)) {
        bad.push(i);
        break;
      }
    }
  }
  return bad;
}
const rowIs = (a, w, i, pred) => {
  for (let d = 0; d < w; d++) if (!pred(a[i * w + d])) return false;
  return true;
};
const isNaNRow = (a, w, i) => { for (let d = 0; d < w; d++) if (a[i * w + d] !== a[i * w + d]) return true; return false; };
const list = (xs) => (xs.length > 8 ? `${xs.slice(0, 8).join(', ')}, ... (${xs.length})` : xs.join(', '));

// ------------------------------------------------------------------------------------------
// NaN and Inf

function nanInfCases(isa) {
  const cases = [];
  const add = (name, run, quick = false) => cases.push({ id: `NaN and Inf [${isa}] | ${name}`, expect: 'ok', quick, run: (lib) => withIsa(lib, isa, () => run(lib)) });

  // dense: B 1, H 2, Hk 1, N 40 (more than one SIMD tile), D 8, Dv 8
  const N = 40, D = 8;
  const dq = () => T([1, 2, N, D], 1), dk = () => T([1, 1, N, D], 2), dv = () => T([1, 1, N, D], 3);
  const rowsH = 2 * N;  // output rows [h][i]
  add('dense: NaN in one query row makes that row NaN and no other', (lib) => {
    const q = dq(), k = dk(), v = dv();
    const ref = lib.attention(q, k, v).data;
    q.data[(0 * N + 7) * D + 3] = NaN;
    const got = lib.attention(q, k, v).data;
    if (!isNaNRow(got, D, 7)) return 'row 7 is not NaN';
    const bad = rowDiffs(got, ref, D, (r) => r !== 7);
    return bad.length ? `rows ${list(bad)} changed` : '';
  }, true);
  for (const [what, val] of [['NaN', NaN], ['+Inf', Infinity], ['-Inf', -Infinity]]) {
    add(`dense: ${what} in k and v of a key excluded by keyMask has no effect`, (lib) => {
      const q = dq(), k = dk(), v = dv();
      const keyMask = new Uint8Array(N).fill(1);
      keyMask[9] = 0;
      const ref = lib.attention(q, k, v, { keyMask }).data;
      k.data.fill(val, 9 * D, 10 * D);
      v.data.fill(val, 9 * D, 10 * D);
      const bad = rowDiffs(lib.attention(q, k, v, { keyMask }).data, ref, D);
      return bad.length ? `rows ${list(bad)} changed (of ${rowsH})` : '';
    }, val !== val);
  }
  add('dense: NaN in k and v of key 30 leaves the rows before it (causal) unchanged', (lib) => {
    const q = dq(), k = dk(), v = dv();
    const ref = lib.attention(q, k, v, { causal: true }).data;
    k.data[30 * D] = NaN;
    v.data[30 * D + 1] = NaN;
    const got = lib.attention(q, k, v, { causal: true }).data;
    const bad = rowDiffs(got, ref, D, (r) => r % N < 30);
    const notNaN = [];
    for (let r = 0; r < rowsH; r++) if (r % N >= 30 && !isNaNRow(got, D, r)) notNaN.push(r);
    return bad.length ? `rows before key 30 changed: ${list(bad)}` : notNaN.length ? `rows that see key 30 are not NaN: ${list(notNaN)}` : '';
  }, true);
  add('dense: every key excluded, every input NaN: exactly zero', (lib) => {
    const q = dq(), k = dk(), v = dv();
    for (const t of [q, k, v]) t.data.fill(NaN);
    const out = lib.attention(q, k, v, { keyMask: new Uint8Array(N) }).data;
    return out.every((x) => x === 0) ? '' : 'not all zero';
  }, true);
  add('dense: causal with Nk < Nq leaves the first rows with no key: exactly zero, even with NaN inputs', (lib) => {
    const q = T([1, 2, N, D], 1), k = T([1, 1, 10, D], 2), v = T([1, 1, 10, D], 3);
    const out = lib.attention(q, k, v, { causal: true }).data;
    // key j is excluded for query i when j > i + (Nk - Nq) = i - 30: rows 0..29 have no key
    const bad = [];
    for (let r = 0; r < rowsH; r++) if (r % N < 30 && !rowIs(out, D, r, (x) => x === 0)) bad.push(r);
    return bad.length ? `rows ${list(bad)} not zero` : '';
  });
  add('dense: bias -Inf on one key equals masking it; on a whole row gives a zero row', (lib) => {
    const q = dq(), k = dk(), v = dv();
    const bias = { data: new Float32Array(N * N), dims: [N, N] };
    for (let i = 0; i < N; i++) bias.data[i * N + 5] = -Infinity;
    bias.data.fill(-Infinity, 12 * N, 13 * N);
    const keyMask = new Uint8Array(N).fill(1);
    keyMask[5] = 0;
    const got = lib.attention(q, k, v, { bias }).data;
    const ref = lib.attention(q, k, v, { keyMask }).data;
    const zeroRows = [12, N + 12];
    const bad = rowDiffs(got, ref, D, (r) => !zeroRows.includes(r));
    if (bad.length) return `rows ${list(bad)} differ from keyMask`;
    return zeroRows.every((r) => rowIs(got, D, r, (x) => x === 0)) ? '' : 'the all -Inf row is not zero';
  });
  add('dense: NaN in one bias entry makes only that row NaN', (lib) => {
    const q = dq(), k = dk(), v = dv();
    const bias = { data: rand(N * N, 4), dims: [1, 1, N, N] };
    const ref = lib.attention(q, k, v, { bias }).data;
    bias.data[3 * N + 17] = NaN;
    const got = lib.attention(q, k, v, { bias }).data;
    const bad = rowDiffs(got, ref, D, (r) => r % N !== 3);
    return !isNaNRow(got, D, 3) ? 'row 3 not NaN' : bad.length ? `rows ${list(bad)} changed` : '';
  });
  add('dense: +Inf in an attended value gives non-finite rows, no crash', (lib) => {
    const q = dq(), k = dk(), v = dv();
    v.data[4 * D] = Infinity;
    const out = lib.attention(q, k, v).data;
    return out.some((x) => !Number.isFinite(x)) ? '' : 'Inf vanished';
  });
  add('dense: scores that overflow float32 (q, k ~ 1e20) neither crash nor hang', (lib) => {
    const q = dq(), k = dk(), v = dv();
    q.data.fill(1e20);
    k.data.fill(-1e20);
    const t0 = Date.now();
    lib.attention(q, k, v, { scale: 1 });
    return Date.now() - t0 < 5000 ? '' : 'took over 5 s';
  });
  add('dense: subnormal inputs give finite results', (lib) => {
    const q = dq(), k = dk(), v = dv();
    for (const t of [q, k, v]) for (let i = 0; i < t.data.length; i++) t.data[i] *= 1e-39;
    return lib.attention(q, k, v).data.every(Number.isFinite) ? '' : 'non-finite output';
  });
  add('dense: async with NaN inputs is bitwise the sync result', async (lib) => {
    const q = dq(), k = dk(), v = dv();
    q.data[5] = NaN;
    k.data[100] = Infinity;
    v.data[33] = NaN;
    const s = lib.attention(q, k, v, { causal: true });
    const a = await lib.attentionAsync(q, k, v, { causal: true });
    return U.diff(a.data, s.data);
  });

  // TGlobal core: B 1, H 1, N 64, D 8, r 3, g 8 (G 8)
  const tn = 64, tr = 3, tgs = 8, tG = 8;
  const tgArgs = () => ({ q: T([1, 1, tn, D], 1), k: T([1, 1, tn, D], 2), v: T([1, 1, tn, D], 3), gk: T([1, 1, tG, D], 4), gv: T([1, 1, tG, D], 5) });
  const tgCall = (lib, a, o = {}) => lib.transientGlobalAttention(a.q, a.k, a.v, a.gk, a.gv, { localRadius: tr, globalBlockSize: tgs, ...o }).data;
  add('TGlobal: NaN in k and v of token 20 leaves rows outside its window unchanged', (lib) => {
    const a = tgArgs();
    const ref = tgCall(lib, a);
    a.k.data[20 * D] = NaN;
    a.v.data[20 * D] = NaN;
    const got = tgCall(lib, a);
    const bad = rowDiffs(got, ref, D, (i) => Math.abs(i - 20) > tr);
    const notNaN = [];
    for (let i = 20 - tr; i <= 20 + tr; i++) if (!isNaNRow(got, D, i)) notNaN.push(i);
    return bad.length ? `rows outside the window changed: ${list(bad)}` : notNaN.length ? `rows in the window not NaN: ${list(notNaN)}` : '';
  }, true);
  add('TGlobal: padded tokens holding NaN do not affect valid rows; padded rows are 0', (lib) => {
    const a = tgArgs();
    const mask = new Uint8Array(tn).fill(1);
    for (let i = 50; i < tn; i++) mask[i] = 0;
    const ref = tgCall(lib, a, { mask });
    for (const t of [a.q, a.k, a.v]) t.data.fill(NaN, 50 * D);
    const got = tgCall(lib, a, { mask });
    const bad = rowDiffs(got, ref, D, (i) => i < 50);
    const nz = [];
    for (let i = 50; i < tn; i++) if (!rowIs(got, D, i, (x) => x === 0)) nz.push(i);
    return bad.length ? `valid rows changed: ${list(bad)}` : nz.length ? `padded rows not 0: ${list(nz)}` : '';
  }, true);
  add('TGlobal: a global token invalid for the row (its block is padding) holding NaN has no effect', (lib) => {
    const a = tgArgs();
    const mask = new Uint8Array(tn).fill(1);
    for (let i = 40; i < tn; i++) mask[i] = 0;  // blocks 5..7 have no token: globals 5..7 invalid
    const ref = tgCall(lib, a, { mask });
    a.gk.data.fill(NaN, 6 * D);
    a.gv.data.fill(NaN, 6 * D);
    const bad = rowDiffs(tgCall(lib, a, { mask }), ref, D);
    return bad.length ? `rows ${list(bad)} changed` : '';
  });
  add('TGlobal: every token padded, every input NaN: exactly zero', (lib) => {
    const a = tgArgs();
    for (const t of Object.values(a)) t.data.fill(NaN);
    return tgCall(lib, a, { mask: new Uint8Array(tn) }).every((x) => x === 0) ? '' : 'not all zero';
  }, true);

  // seed block-global: block c attends to block c and its global token only
  add('block-global: NaN in block 2 leaves the other blocks unchanged', (lib) => {
    const q = T([1, 1, 40, D], 1), k = T([1, 1, 40, D], 2), v = T([1, 1, 40, D], 3);
    const ref = lib.blockGlobalAttention(q, k, v, { blockSize: 8 }).data;
    v.data[18 * D] = NaN;
    k.data[19 * D] = NaN;
    const got = lib.blockGlobalAttention(q, k, v, { blockSize: 8 }).data;
    const bad = rowDiffs(got, ref, D, (i) => Math.floor(i / 8) !== 2);
    return bad.length ? `rows ${list(bad)} outside block 2 changed` : '';
  });

  // linear and aggregates
  add('linear: NaN in one input row makes only that output row NaN', (lib) => {
    const x = T([9, 13], 1), w = T([7, 13], 2);
    const ref = lib.linear(x, w).data;
    x.data[4 * 13 + 6] = NaN;
    const got = lib.linear(x, w).data;
    const bad = rowDiffs(got, ref, 7, (i) => i !== 4);
    return !isNaNRow(got, 7, 4) ? 'row 4 not NaN' : bad.length ? `rows ${list(bad)} changed` : '';
  });
  add('globalAggregates: NaN in a padded token has no effect', (lib) => {
    const h = T([1, 24, 5], 1);
    const mask = new Uint8Array(24).fill(1);
    mask[9] = 0;
    const ref = lib.globalAggregates(h, mask, 4, { normWeight: rand(5, 2) }).data;
    h.data.fill(NaN, 9 * 5, 10 * 5);
    return U.diff(lib.globalAggregates(h, mask, 4, { normWeight: rand(5, 2) }).data, ref);
  });

  // layers
  const CFG = { d_model: 8, d_kv: 3, num_heads: 2, local_radius: 2, global_block_size: 4, relative_attention_num_buckets: 8, relative_attention_max_distance: 16 };
  const weights = () => ({
    'q.weight': T([6, 8], 1), 'k.weight': T([6, 8], 2), 'v.weight': T([6, 8], 3), 'o.weight': T([8, 6], 4), 'relative_attention_bias.weight': T([8, 2], 5),
    'global_relative_attention_bias.weight': T([8, 2], 6), 'global_input_layer_norm.weight': T([8], 7),
  });
  for (const cls of ['LongT5TransientGlobalAttention', 'LongT5LocalAttention', 'LongT5Attention']) {
    // Padded query rows: 0 for the local and TGlobal layers; the full layer keeps Hugging Face's
    // values there (the dense_t5layer fixtures check every row), computed from the padded token's
    // own hidden state, so a NaN there may make that row NaN (README, "NaN and Inf").
    const paddedRowsZero = cls !== 'LongT5Attention';
    add(`${cls}: padded tokens holding NaN do not affect valid rows${paddedRowsZero ? '; padded rows are finite' : ''}`, (lib) => {
      const layer = new lib[cls](CFG, weights());
      const n = 40;
      const h = T([2, n, 8], 9);
      const mask = new Uint8Array(2 * n).fill(1);
      for (let i = 30; i < n; i++) mask[n + i] = 0;
      mask[n + 3] = 0;
      const ref = layer.forward(h, mask).data;
      for (let i = 0; i < 2 * n; i++) if (!mask[i]) h.data.fill(NaN, i * 8, i * 8 + 8);
      const got = layer.forward(h, mask).data;
      const bad = rowDiffs(got, ref, 8, (r) => mask[r] === 1);
      const nonFinite = [];
      if (paddedRowsZero) for (let r = 0; r < 2 * n; r++) if (!mask[r] && !rowIs(got, 8, r, Number.isFinite)) nonFinite.push(r);
      return bad.length ? `valid rows changed: ${list(bad)}` : nonFinite.length ? `padded rows not finite: ${list(nonFinite)}` : '';
    }, cls === 'LongT5Attention');
    add(`${cls}: every token padded, hidden all NaN: finite (zero) output`, (lib) => {
      const layer = new lib[cls](CFG, weights());
      const h = T([1, 12, 8]);
      h.data.fill(NaN);
      return layer.forward(h, new Uint8Array(12)).data.every((x) => x === 0) ? '' : 'not all zero';
    });
  }
  add('LongT5LocalAttention: NaN in token 20 leaves rows outside its window unchanged', (lib) => {
    const layer = new lib.LongT5LocalAttention(CFG, weights());
    const h = T([1, 40, 8], 3);
    const ref = layer.forward(h).data;
    h.data[20 * 8] = NaN;
    const bad = rowDiffs(layer.forward(h).data, ref, 8, (i) => Math.abs(i - 20) > CFG.local_radius);
    return bad.length ? `rows ${list(bad)} changed` : '';
  });
  return cases;
}

// ------------------------------------------------------------------------------------------
// every entry point over odd shapes

/**
 * A copy of `src` placed right before 16 NaN floats (and after 16 more) in a larger buffer: a sync
 * call reads the caller's memory in place, so a kernel that reads past the end (or before the
 * start) of an input picks up NaN, which survives even a multiplication by a zero weight.
 */
function canaried(src) {
  const C = src.constructor;
  const pad = 16;
  const buf = new ArrayBuffer((src.length + 2 * pad) * C.BYTES_PER_ELEMENT);
  new Uint8Array(buf).fill(0xff);
  const v = new C(buf, pad * C.BYTES_PER_ELEMENT, src.length);
  v.set(src);
  return v;
}
/** Every Float32Array inside `args` (not dims) replaced by a canaried copy. */
function canaryArgs(x) {
  if (x instanceof Float32Array) return canaried(x);
  if (Array.isArray(x)) return x.map(canaryArgs);
  if (x && typeof x === 'object' && !ArrayBuffer.isView(x) && Object.getPrototypeOf(x) === Object.prototype) {
    const o = {};
    for (const [k, v] of Object.entries(x)) o[k] = k === 'dims' ? v : canaryArgs(v);
    return o;
  }
  return x;
}

function sweepCases(isa) {
  const cases = [];
  const add = (name, run, quick = false) => cases.push({ id: `shape sweep [${isa}] | ${name}`, expect: 'ok', quick, run: (lib) => withIsa(lib, isa, () => run(lib)) });
  // reads past an input (NaN canaries around every input: the result must be the plain one)
  const canary = (name, call, quick = false) => cases.push({
    id: `no reads past an input [${isa}] | ${name}`, expect: 'ok', quick,
    run: (lib) => withIsa(lib, isa, () => {
      const plain = call(lib, (a) => a);
      const fenced = call(lib, canaryArgs);
      return U.diff(fenced, plain);
    }),
  });
  for (const [N, D, Dv, r, g] of [[1, 3, 2, 0, 1], [5, 1, 1, 1, 2], [13, 5, 7, 2, 4], [37, 16, 16, 5, 8], [9, 8, 8, 100, 16], [33, 3, 3, 4, 11]]) {
    canary(`transientGlobalAttention N ${N} D ${D} Dv ${Dv} r ${r} g ${g}`, (lib, f) => {
      const H = 2, G = Math.floor(N / g);
      const a = f({ q: T([2, H, N, D], 1), k: T([2, H, N, D], 2), v: T([2, H, N, Dv], 3), gk: T([2, H, G, D], 4), gv: T([2, H, G, Dv], 5), rb: T([8, H], 6), grb: T([8, H], 7) });
      const mask = Uint8Array.from({ length: 2 * N }, (_, i) => (i % 7 === 3 ? 0 : 1));
      return lib.transientGlobalAttention(a.q, a.k, a.v, a.gk, a.gv, { localRadius: r, globalBlockSize: g, mask, relativeAttentionBias: a.rb, globalRelativeAttentionBias: a.grb }).data;
    }, N < 20);
  }
  for (const [B, H, Hk, Nq, Nk, D, Dv] of [[1, 1, 1, 1, 1, 1, 1], [2, 3, 1, 7, 5, 3, 5], [1, 2, 2, 33, 17, 31, 33], [1, 1, 1, 3, 130, 2, 2]]) {
    canary(`attention q [${B},${H},${Nq},${D}] k [${B},${Hk},${Nk},${D}] Dv ${Dv}, causal, mask, bias`, (lib, f) => {
      const a = f({ q: T([B, H, Nq, D], 1), k: T([B, Hk, Nk, D], 2), v: T([B, Hk, Nk, Dv], 3), bias: T([H, Nq, Nk], 4) });
      const keyMask = Uint8Array.from({ length: B * Nk }, (_, i) => (i % 5 === 2 ? 0 : 1));
      return lib.attention(a.q, a.k, a.v, { causal: true, keyMask, bias: a.bias }).data;
    }, Nq * Nk < 200);
  }
  for (const [N, D, Dv, bs] of [[1, 1, 1, 1], [10, 3, 5, 3], [33, 16, 17, 8]]) {
    canary(`blockGlobalAttention N ${N} D ${D} Dv ${Dv} blockSize ${bs}`, (lib, f) => {
      const a = f({ q: T([2, 2, N, D], 1), k: T([2, 2, N, D], 2), v: T([2, 2, N, Dv], 3) });
      return lib.blockGlobalAttention(a.q, a.k, a.v, { blockSize: bs }).data;
    }, N < 20);
  }
  for (const [M, K, Nn] of [[1, 1, 1], [3, 5, 7], [17, 33, 9], [5, 130, 3]]) {
    canary(`linear [${M},${K}] x [${Nn},${K}]ᵀ`, (lib, f) => {
      const a = f({ x: T([M, K], 1), w: T([Nn, K], 2) });
      return lib.linear(a.x, a.w).data;
    }, M * K < 100);
  }
  for (const cls of ['LongT5TransientGlobalAttention', 'LongT5LocalAttention', 'LongT5Attention']) {
    canary(`${cls} N 19, padding`, (lib, f) => {
      const CFG = { d_model: 12, d_kv: 5, num_heads: 3, local_radius: 3, global_block_size: 4, relative_attention_num_buckets: 8, relative_attention_max_distance: 16 };
      const w = f({
        'q.weight': T([15, 12], 1), 'k.weight': T([15, 12], 2), 'v.weight': T([15, 12], 3), 'o.weight': T([12, 15], 4), 'relative_attention_bias.weight': T([8, 3], 5),
        'global_relative_attention_bias.weight': T([8, 3], 6), 'global_input_layer_norm.weight': T([12], 7),
      });
      const h = f({ t: T([2, 19, 12], 8) }).t;
      const mask = Uint8Array.from({ length: 38 }, (_, i) => (i > 30 ? 0 : 1));
      return new lib[cls](CFG, w).forward(h, mask).data;
    }, true);
  }
  const denseShapes = [
    // B, H, Hk, Nq, Nk, D, Dv
    [1, 1, 1, 1, 1, 1, 1], [2, 3, 1, 7, 5, 3, 5], [1, 4, 2, 17, 33, 16, 9], [1, 2, 2, 33, 17, 31, 33], [2, 2, 1, 65, 129, 8, 8], [1, 1, 1, 130, 3, 64, 64],
  ];
  for (const [B, H, Hk, Nq, Nk, D, Dv] of denseShapes) {
    add(`attention q [${B},${H},${Nq},${D}] k [${B},${Hk},${Nk},${D}] Dv ${Dv}, plain / causal+mask+bias / async`, async (lib) => {
      const q = T([B, H, Nq, D], 1), k = T([B, Hk, Nk, D], 2), v = T([B, Hk, Nk, Dv], 3);
      const keyMask = Uint8Array.from({ length: B * Nk }, (_, i) => (i % 5 === 2 ? 0 : 1));
      const bias = T([H, Nq, Nk], 4);
      const full = new Float32Array(B * H * Nq * Nk);
      for (let b = 0; b < B; b++) full.set(bias.data, b * H * Nq * Nk);
      for (const [o, ro] of [[{}, {}], [{ causal: true, keyMask, bias }, { causal: true, keyMask, bias: full }]]) {
        const ref = U.refAttention(q, k, v, ro);
        const s = lib.attention(q, k, v, o).data;
        const err = U.maxAbsDiff(s, ref);
        if (!(err < 2e-4)) return `sync error ${err} vs the float64 reference`;
        const a = (await lib.attentionAsync(q, k, v, o)).data;
        const d = U.diff(a, s);
        if (d) return `async differs from sync: ${d}`;
      }
      return '';
    }, B * H * Nq * Nk < 3000);
  }
  const near = (got, ref, tol = 2e-4) => {
    const e = U.maxAbsDiff(got, ref);
    return e <= tol ? '' : `max |diff| ${e} vs scalar`;
  };
  const scalarOf = (lib, f) => withIsa(lib, 'scalar', f);
  for (const [N, D, Dv, r, g] of [[1, 3, 2, 0, 1], [13, 5, 7, 2, 4], [37, 16, 16, 5, 8], [70, 12, 20, 31, 16], [9, 8, 8, 100, 16]]) {
    add(`transientGlobalAttention N ${N} D ${D} Dv ${Dv} r ${r} g ${g}, bias tables, padding, bnhd, async`, async (lib) => {
      const H = 2, G = Math.floor(N / g);
      const a = { q: T([2, H, N, D], 1), k: T([2, H, N, D], 2), v: T([2, H, N, Dv], 3), gk: T([2, H, G, D], 4), gv: T([2, H, G, Dv], 5) };
      const mask = Uint8Array.from({ length: 2 * N }, (_, i) => (i >= N && i % N >= N - 3 ? 0 : 1));
      const o = { localRadius: r, globalBlockSize: g, mask, relativeAttentionBias: T([8, H], 6), globalRelativeAttentionBias: T([8, H], 7), maxDistance: 16 };
      const call = () => lib.transientGlobalAttention(a.q, a.k, a.v, a.gk, a.gv, o).data;
      const got = call();
      const ref = scalarOf(lib, call);
      const e = near(got, ref);
      if (e) return e;
      const asy = (await lib.transientGlobalAttentionAsync(a.q, a.k, a.v, a.gk, a.gv, o)).data;
      return U.diff(asy, got);
    }, N < 40);
  }
  for (const [N, D, Dv, bs] of [[1, 1, 1, 1], [10, 3, 5, 3], [33, 16, 17, 8], [100, 8, 8, 16]]) {
    add(`blockGlobalAttention N ${N} D ${D} Dv ${Dv} blockSize ${bs}, async`, async (lib) => {
      const q = T([2, 2, N, D], 1), k = T([2, 2, N, D], 2), v = T([2, 2, N, Dv], 3);
      const call = () => lib.blockGlobalAttention(q, k, v, { blockSize: bs }).data;
      const got = call();
      const e = near(got, scalarOf(lib, call));
      if (e) return e;
      return U.diff((await lib.blockGlobalAttentionAsync(q, k, v, { blockSize: bs })).data, got);
    }, N < 40);
  }
  for (const [M, K, Nn] of [[1, 1, 1], [3, 5, 7], [17, 33, 9], [64, 64, 64], [5, 130, 3]]) {
    add(`linear [${M},${K}] x [${Nn},${K}]ᵀ, async`, async (lib) => {
      const x = T([M, K], 1), w = T([Nn, K], 2);
      const got = lib.linear(x, w).data;
      const ref = new Float64Array(M * Nn);
      for (let i = 0; i < M; i++) for (let j = 0; j < Nn; j++) { let s = 0; for (let c = 0; c < K; c++) s += x.data[i * K + c] * w.data[j * K + c]; ref[i * Nn + j] = s; }
      const e = U.maxAbsDiff(got, ref);
      if (!(e < 1e-4)) return `max |diff| ${e} vs float64`;
      return U.diff((await lib.linearAsync(x, w)).data, got);
    }, M * K < 200);
  }
  add('globalBlockIds, relativePositionBuckets, globalAggregates', async (lib) => {
    const mask = Uint8Array.from({ length: 3 * 37 }, (_, i) => (i % 37 < 30 || i < 37 ? 1 : 0));
    const ids = lib.globalBlockIds({ data: mask, dims: [3, 37] }, 5);
    if (ids.G !== 7 || ids.blockIds.length !== 111 || ids.segmentIds.length !== 21) return 'wrong sizes';
    const b = lib.relativePositionBuckets(Int32Array.from({ length: 300 }, (_, i) => (i - 150) * 3), 32, 128);
    if (!b.every((x) => x >= 0 && x < 32)) return 'bucket out of range';
    const h = T([3, 37, 6], 2);
    const call = () => lib.globalAggregates(h, { data: mask, dims: [3, 37] }, 5, { normWeight: rand(6, 3) }).data;
    return near(call(), scalarOf(lib, call));
  }, true);
  const CFG = { d_model: 12, d_kv: 5, num_heads: 3, local_radius: 3, global_block_size: 4, relative_attention_num_buckets: 8, relative_attention_max_distance: 16 };
  const weights = () => ({
    'q.weight': T([15, 12], 1), 'k.weight': T([15, 12], 2), 'v.weight': T([15, 12], 3), 'o.weight': T([12, 15], 4), 'relative_attention_bias.weight': T([8, 3], 5),
    'global_relative_attention_bias.weight': T([8, 3], 6), 'global_input_layer_norm.weight': T([12], 7),
  });
  for (const cls of ['LongT5TransientGlobalAttention', 'LongT5LocalAttention', 'LongT5Attention']) {
    for (const N of [1, 3, 19, 70]) {
      add(`${cls} N ${N}, padding, async`, async (lib) => {
        const layer = new lib[cls](CFG, weights());
        const h = T([2, N, 12], 8);
        const mask = Uint8Array.from({ length: 2 * N }, (_, i) => (i >= N && i % N >= Math.ceil(N / 2) ? 0 : 1));
        const call = () => layer.forward(h, mask).data;
        const got = call();
        const e = near(got, scalarOf(lib, call), 5e-4);
        if (e) return e;
        return U.diff((await layer.forwardAsync(h, mask)).data, got);
      }, N < 20);
    }
  }
  return cases;
}

function allCases({ quick = false } = {}) {
  // The ISAs are only known once the addon loads; list the x86 / arm ones and let a case skip when absent.
  const isas = ['scalar', 'avx2', 'avx512', 'neon'];
  const cases = [];
  for (const isa of isas) {
    for (const c of [...nanInfCases(isa), ...sweepCases(isa)]) {
      const run = c.run;
      cases.push({
        ...c,
        run: async (lib) => (lib.info().availableIsas.includes(isa) ? run(lib) : ''),
      });
    }
  }
  return quick ? cases.filter((c) => c.quick) : cases;
}

function makeContext() {
  return { cleanup() {} };
}

module.exports = { allCases, makeContext };
