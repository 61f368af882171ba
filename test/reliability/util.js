// Small helpers shared by the reliability child scripts (plain Node, no jest).
'use strict';

// The project's one seeded generator (lib/random.ts), loaded the way load-lib.js loads the library:
// the TypeScript source by default, dist/lib/random.js with GA_RELIABILITY_LIB=dist.
const { mulberry32, uniform } = require('./load-lib').loadLibModule('random');

const prod = (dims) => dims.reduce((a, b) => a * b, 1);

/** Float32Array of n values in [-1, 1) from a seed. */
function rand(n, seed = 1) {
  return uniform(mulberry32(seed), n);
}

/** A float32 Tensor of the given dims. */
const T = (dims, seed = 1) => ({ data: rand(prod(dims), seed), dims: dims.slice() });

/** Detaches (transfers away) an ArrayBuffer, as postMessage with a transfer list does. */
function detach(buf) {
  structuredClone(buf, { transfer: [buf] });
}

const TYPED = [
  'Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array',
];
const isTyped = (x) => ArrayBuffer.isView(x) && !(x instanceof DataView);

/** Elementwise identity of two typed arrays (NaN equals NaN, +0 equals -0). */
function sameArray(a, b) {
  if (!isTyped(a) || !isTyped(b) || a.length !== b.length || a.constructor.name !== b.constructor.name) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x !== y && !(x !== x && y !== y)) return false;
  }
  return true;
}

/** Deep comparison of results (typed arrays by value, objects by own enumerable keys). Returns '' or a reason. */
function diff(a, b, where = 'result') {
  if (isTyped(a) || isTyped(b)) {
    if (!isTyped(a) || !isTyped(b)) return `${where}: one is a typed array, the other not`;
    if (a.constructor.name !== b.constructor.name) return `${where}: ${a.constructor.name} vs ${b.constructor.name}`;
    if (a.length !== b.length) return `${where}: length ${a.length} vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const x = a[i], y = b[i];
      if (x !== y && !(x !== x && y !== y)) return `${where}[${i}]: ${x} vs ${y}`;
    }
    return '';
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return `${where}: arrays differ`;
    for (let i = 0; i < a.length; i++) {
      const d = diff(a[i], b[i], `${where}[${i}]`);
      if (d) return d;
    }
    return '';
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    if (ka.join() !== kb.join()) return `${where}: keys [${ka}] vs [${kb}]`;
    for (const k of ka) {
      const d = diff(a[k], b[k], `${where}.${k}`);
      if (d) return d;
    }
    return '';
  }
  if (a === b || (a !== a && b !== b)) return '';
  return `${where}: ${String(a)} vs ${String(b)}`;
}

/** Max |a - b| over two numeric arrays (Infinity when lengths differ or a NaN meets a number). */
function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x !== x || y !== y) {
      if (x !== x && y !== y) continue;
      return Infinity;
    }
    const d = Math.abs(x - y);
    if (d > m) m = d;
  }
  return m;
}

/**
 * Float64 reference of dense attention (docs/ARCHITECTURE.md §1.1): q [B,H,Nq,D], k [B,Hk,Nk,D], v [B,Hk,Nk,Dv];
 * opts: scale, causal, keyMask [B*Nk], bias full [B,H,Nq,Nk] (flat) or undefined.
 */
function refAttention(q, k, v, opts = {}) {
  const [B, H, Nq, D] = q.dims;
  const [, Hk, Nk] = k.dims;
  const Dv = v.dims[3];
  const scale = opts.scale ?? 1 / Math.sqrt(D || 1);
  const out = new Float64Array(B * H * Nq * Dv);
  const s = new Float64Array(Nk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hk));
      for (let i = 0; i < Nq; i++) {
        let mx = -Infinity;
        for (let j = 0; j < Nk; j++) {
          let keep = !opts.keyMask || opts.keyMask[b * Nk + j] !== 0;
          if (opts.causal && j > i + (Nk - Nq)) keep = false;
          if (!keep) {
            s[j] = -Infinity;
            continue;
          }
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[((b * H + h) * Nq + i) * D + d] * k.data[((b * Hk + hk) * Nk + j) * D + d];
          s[j] = dot * scale + (opts.bias ? opts.bias[((b * H + h) * Nq + i) * Nk + j] : 0);
          if (s[j] > mx) mx = s[j];
        }
        const o = ((b * H + h) * Nq + i) * Dv;
        if (mx === -Infinity) continue;  // all keys excluded: zeros
        let den = 0;
        for (let j = 0; j < Nk; j++) {
          if (s[j] === -Infinity) continue;
          const e = Math.exp(s[j] - mx);
          den += e;
          for (let d = 0; d < Dv; d++) out[o + d] += e * v.data[((b * Hk + hk) * Nk + j) * Dv + d];
        }
        for (let d = 0; d < Dv; d++) out[o + d] /= den;
      }
    }
  return out;
}

/** Short description of a thrown value, for reports. */
function describeError(e) {
  if (e instanceof Error || (e && typeof e === 'object' && 'message' in e)) return `${e.name}: ${e.message}`;
  return `non-Error thrown: ${String(e)}`;
}

module.exports = { mulberry32, prod, rand, T, detach, TYPED, isTyped, sameArray, diff, maxAbsDiff, refAttention, describeError };
